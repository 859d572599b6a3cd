/**
 * The VRF beacon on four real nodes (test/helpers/localnet.ts: each a staking genesis validator
 * with its own VRF key), one of them started with `--test-forge-vrf`: its proposals carry a
 * forged proof. Checked: the chain goes on; every block is proposed by one of the honest three
 * (header proposer_address); the forger's proposals were seen and rejected; every node, the
 * forger included, stores the same beacon at every height, and each beacon is the ECVRF output
 * of the proof in that block's first tx under the proposer's registered key, over
 * previous beacon ‖ u64be(height).
 */
import t from 'tap';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { concatBytes, toHex, u64be } from '../../app/core/bytes.ts';
import { QueryBeaconRequest, QueryBeaconResponse } from '../../proto/gen/r3mes/randomness/v1/query.ts';
import type { Beacon } from '../../proto/gen/r3mes/randomness/v1/types.ts';
import { decodeBeaconTx } from '../../modules/randomness/beacon-tx.ts';
import { defaultGenesisBeacon } from '../../modules/randomness/keeper.ts';
import { verify, VRF_SUITE_ELL2 } from '../../modules/randomness/vrf.ts';
import { abciQuery, blockAt, createLocalnet, removeLocalnet, type Localnet, type LocalnetNode } from '../helpers/localnet.ts';

const TARGET_HEIGHT = 14n;

async function beaconOn(node: LocalnetNode, height: bigint): Promise<Beacon> {
  const answer = await abciQuery(node.rpcUrl, '/r3mes.randomness.v1.Query/Beacon', QueryBeaconRequest.encode({ height }).finish());
  if (answer.code !== 0) throw new Error(`${node.name}: beacon ${height}: code ${answer.code} ${answer.log}`);
  const { beacon } = QueryBeaconResponse.decode(answer.value);
  if (beacon === undefined) throw new Error(`${node.name}: beacon ${height}: empty answer`);
  return beacon;
}

t.test('four validators with distinct VRF keys agree on every beacon; a forging proposer is rejected and the chain goes on', async (t) => {
  const started = Date.now();
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
  const dir = mkdtempSync(join(tmpdir(), 'r3mes-beacon-localnet-'));
  let net: Localnet | undefined;
  t.teardown(async () => {
    await net?.stopAll('SIGTERM');
    if (process.env.R3MES_KEEP_TEST_HOMES === undefined) removeLocalnet(dir);
  });
  net = await createLocalnet({ dir, chainId: 'r3mes-beacon-e2e', timeoutCommit: '300ms', timeoutPropose: '1s', timeoutVote: '500ms' });
  const { nodes } = net;
  t.equal(new Set(nodes.map((node) => node.vrfPubkey)).size, 4, 'four distinct VRF keys');
  const validators = (net.genesis.app_state?.staking as { validators: Array<{ vrfPubkey: string; moniker: string }> }).validators;
  t.same(validators.map((v) => Buffer.from(v.vrfPubkey, 'base64').toString('hex')).sort(), nodes.map((node) => node.vrfPubkey).sort(), 'all four registered in staking genesis');
  t.equal((net.genesis.validators as unknown[]).length, 4, "CometBFT's genesis lists the same four");

  const forger = nodes[3];
  const honest = nodes.slice(0, 3);
  for (const node of honest) node.start();
  forger.start(['--test-forge-vrf']);
  await net.waitForHeight(TARGET_HEIGHT, 150_000);
  t.pass(`all four nodes past height ${TARGET_HEIGHT} (${elapsed()})`);

  const keyByAddress = new Map(nodes.map((node) => [node.consensusAddress, Buffer.from(node.vrfPubkey, 'hex')]));
  const honestAddresses = new Set(honest.map((node) => node.consensusAddress));
  const proposers = new Map<string, number>();
  let previous: Uint8Array = defaultGenesisBeacon(net.chainId);
  const problems: string[] = [];
  for (let height = 1n; height <= TARGET_HEIGHT; height++) {
    const { block } = await blockAt(honest[0].rpcUrl, height);
    const proposer = block.header.proposer_address.toUpperCase();
    proposers.set(proposer, (proposers.get(proposer) ?? 0) + 1);
    if (!honestAddresses.has(proposer)) problems.push(`height ${height}: proposed by ${proposer}, not an honest node`);
    const first = block.data.txs?.[0];
    const beaconTx = first === undefined ? undefined : decodeBeaconTx(Buffer.from(first, 'base64'));
    if (beaconTx === undefined || beaconTx.height !== height) {
      problems.push(`height ${height}: first tx is not the beacon tx of this height`);
      continue;
    }
    const checked = verify(keyByAddress.get(proposer) ?? new Uint8Array(32), beaconTx.proof, concatBytes(previous, u64be(height)), VRF_SUITE_ELL2);
    if (!checked.valid) {
      problems.push(`height ${height}: proof does not verify under the proposer's registered key (${checked.reason})`);
      continue;
    }
    const stored = await Promise.all(nodes.map((node) => beaconOn(node, height)));
    stored.forEach((beacon, i) => {
      if (toHex(beacon.value) !== toHex(checked.beta)) problems.push(`height ${height}: ${nodes[i].name} stores ${toHex(beacon.value).slice(0, 16)}…, expected ${toHex(checked.beta).slice(0, 16)}…`);
      if (toHex(beacon.proposer).toUpperCase() !== proposer) problems.push(`height ${height}: ${nodes[i].name} stores proposer ${toHex(beacon.proposer)}`);
    });
    previous = checked.beta;
  }
  t.same(problems, [], `heights 1..${TARGET_HEIGHT}: honest proposers only; each beacon = VRF output of the block's first tx, over previous ‖ height; identical on all 4 nodes`);
  t.comment(`proposers: ${[...proposers].map(([address, count]) => `${nodes.find((n) => n.consensusAddress === address)?.name ?? address}×${count}`).join(', ')}`);

  // The forger did get its turns (round-robin over equal power) and every one was rejected.
  const rejections = honest.flatMap((node) => readFileSync(join(node.home, 'app.log'), 'utf8').split('\n')
    .filter((line) => line.includes(`by ${forger.consensusAddress}: REJECT (VRF proof rejected`)));
  t.ok(rejections.length > 0, `honest nodes rejected ${rejections.length} forged proposals (e.g. "${rejections[0]?.replace(/^\S+ /, '') ?? ''}")`);
  t.notOk(readFileSync(join(forger.home, 'app.log'), 'utf8').includes('REJECT (internal error'), 'no internal errors in ProcessProposal');
  t.comment(`beacon localnet test done in ${elapsed()}`);
});
