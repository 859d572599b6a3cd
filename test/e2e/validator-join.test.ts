/**
 * A validator created on a running chain gains voting power in CometBFT: the four-node localnet
 * runs (its validators are CometBFT genesis validators); a fifth full node with its own home
 * (`r3mesd init`, which runs `cometbft init`: a fresh consensus key), the localnet's genesis and
 * the four as persistent peers syncs; then a funded key sends MsgCreateValidator through the CLI
 * with that node's consensus pubkey (priv_validator_key.json) and VRF pubkey. Staking's end block
 * sends the update: `/validators` on every node lists the new validator with its power, and the
 * fifth node signs (its address in a later block's last_commit) and proposes blocks whose beacon
 * its VRF key proves.
 */
import t from 'tap';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, copyFileSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { R3MESD, cometbftBinary, freePort } from '../helpers/devnode.ts';
import { createLocalnet, latestHeight, removeLocalnet, rpcCall, sleep, waitFor, type Localnet } from '../helpers/localnet.ts';
import { setTomlValues } from '../../app/node/comet-config.ts';
import { nodeHome } from '../../app/node/home.ts';
import { readValidatorKeys } from '../../app/node/validator-keys.ts';

const run = promisify(execFile);
// Without tap's NODE_OPTIONS (its process-info loader costs every r3mesd process a second).
const { NODE_OPTIONS: _tapLoader, ...cleanEnv } = process.env;
const env = { ...cleanEnv, COMETBFT: cometbftBinary() };
const FUNDS = 1_000_000_000_000n;
const POWER_REDUCTION = 1_000_000n; // staking's default power_reduction: ur3mes per unit of voting power
const TIMEOUTS = { commit: '500ms', propose: '2s', vote: '1s' };

interface RpcValidator {
  address: string;
  pub_key: { type: string; value: string };
  voting_power: string;
}

interface RpcCommitBlock {
  block: {
    header: { height: string; proposer_address: string };
    last_commit: { height: string; signatures: Array<{ block_id_flag: number; validator_address: string }> };
  };
}

/** The process group still has a member (kill(-pgid, 0) probes without signalling). */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM to a detached child's process group (r3mesd and its cometbft), SIGKILL after `timeoutMs`. */
async function killGroup(child: ChildProcess | undefined, timeoutMs = 15_000): Promise<void> {
  const pgid = child?.pid;
  if (child === undefined || pgid === undefined) return;
  const exited = child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((done) => child.once('exit', done));
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    if (!groupAlive(pgid)) break;
    try {
      process.kill(-pgid, signal);
    } catch {
      // gone in between
    }
    const deadline = Date.now() + timeoutMs;
    while (groupAlive(pgid) && Date.now() < deadline) await sleep(50);
  }
  await exited;
}

t.test('a validator created on a running localnet gains voting power in CometBFT and signs', async (t) => {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'r3mes-join-'));
  let net: Localnet | undefined;
  let joiner: ChildProcess | undefined;
  t.teardown(async () => {
    await killGroup(joiner);
    await net?.stopAll();
    if (process.env.R3MES_KEEP_TEST_HOMES === undefined) removeLocalnet(dir);
  });

  net = await createLocalnet({
    dir, chainId: 'r3mes-join-e2e', keys: [{ name: 'operator', coins: `${FUNDS}ur3mes` }],
    timeoutCommit: TIMEOUTS.commit, timeoutPropose: TIMEOUTS.propose, timeoutVote: TIMEOUTS.vote,
  });
  net.startAll();
  const [node0] = net.nodes;
  const operator = net.keys[0];
  const genesisValidators = await waitFor('the localnet to produce blocks', 90_000, async () => {
    if ((await latestHeight(node0.rpcUrl)) < 2n) return undefined;
    return (await rpcCall<{ validators: RpcValidator[] }>(node0.rpcUrl, 'validators', {})).validators;
  }, 500);
  t.equal(genesisValidators.length, 4, 'four genesis validators');
  // The new validator gets the power of one of them: the four keep 4/5 > 2/3 of the power, so the
  // chain goes on even before the fifth signs, and the fifth proposes about every fifth block.
  const power = BigInt(genesisValidators[0].voting_power);
  t.ok(genesisValidators.every((v) => BigInt(v.voting_power) === power), `each with power ${power}`);
  const selfStake = power * POWER_REDUCTION;

  // --- The fifth node: its own home and keys, the network's genesis, the four as peers.
  const home = join(dir, 'node4');
  const [p2pPort, rpcPort, abciPort, restPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const rpcUrl = `http://127.0.0.1:${rpcPort}`;
  const abci = `tcp://127.0.0.1:${abciPort}`;
  await run(R3MESD, ['init', 'node4', '--home', home, '--chain-id', net.chainId, '--abci', abci, '--rpc-laddr', `tcp://127.0.0.1:${rpcPort}`,
    '--p2p-laddr', `tcp://127.0.0.1:${p2pPort}`, '--timeout-commit', TIMEOUTS.commit], { env });
  copyFileSync(nodeHome(node0.home).genesisJson, nodeHome(home).genesisJson);
  const configPath = nodeHome(home).configToml;
  writeFileSync(configPath, setTomlValues(readFileSync(configPath, 'utf8'), [
    ['p2p', 'persistent_peers', net.nodes.map((node) => `${node.nodeId}@127.0.0.1:${node.p2pPort}`).join(',')],
    ['p2p', 'addr_book_strict', false],
    ['p2p', 'allow_duplicate_ip', true],
    ['consensus', 'timeout_propose', TIMEOUTS.propose],
    ['consensus', 'timeout_prevote', TIMEOUTS.vote],
    ['consensus', 'timeout_precommit', TIMEOUTS.vote],
  ]));
  const keys = readValidatorKeys(home); // also writes config/vrf_key.json, which `r3mesd start` proves the beacon with
  const out = openSync(join(home, 'app.log'), 'a');
  joiner = spawn(R3MESD, ['start', '--home', home, '--abci', abci, '--rest', `127.0.0.1:${restPort}`, '--rpc', rpcUrl], {
    detached: true, stdio: ['ignore', out, out], env,
  });
  closeSync(out);

  const target = await latestHeight(node0.rpcUrl);
  await waitFor(`node4 to sync to height ${target} (logs: ${home}/app.log, cometbft.log)`, 60_000, async () => ((await latestHeight(rpcUrl)) >= target ? true : undefined), 500);
  const synced = await rpcCall<{ sync_info: { catching_up: boolean }; validator_info: { address: string; voting_power: string } }>(rpcUrl, 'status', {});
  t.equal(synced.validator_info.address, keys.consensusAddressHex, 'node4 runs with the key of its priv_validator_key.json');
  t.equal(synced.validator_info.voting_power, '0', 'and is not a validator yet');

  // --- MsgCreateValidator through the CLI, with node4's consensus and VRF pubkeys.
  const consensusPubkey = Buffer.from(keys.consensusPubkey).toString('base64');
  const { stdout } = await run(R3MESD, ['tx', 'staking', 'create-validator', operator.name, consensusPubkey, Buffer.from(keys.vrfPubkey).toString('hex'),
    `${selfStake}ur3mes`, 'node4', '--commission-rate', '0.05', '--home', node0.home, '--keyring-backend', 'test', '--node', node0.rpcUrl, '-o', 'json'],
  { env });
  const created = JSON.parse(stdout) as { code: number; height: string; events: Array<{ type: string; attributes: Array<{ key: string; value: string }> }> };
  t.equal(created.code, 0, 'create-validator');
  const createdAt = BigInt(created.height);
  t.ok(created.events.some((e) => e.type === 'create_validator'), 'create_validator event');

  const staked = JSON.parse((await run(R3MESD, ['query', 'staking', 'validator', operator.address, '--node', node0.rpcUrl, '-o', 'json'], { env })).stdout) as {
    validator: { validator: { operatorAddress: string; consensusPubkey: string; vrfPubkey: string; tokens: string }; power?: string };
  };
  t.match(staked.validator.validator, { operatorAddress: operator.address, consensusPubkey, vrfPubkey: Buffer.from(keys.vrfPubkey).toString('base64'), tokens: selfStake.toString() },
    'staking holds the validator with both keys and its self-stake');
  t.equal(staked.validator.power, power.toString(), `staking reports power ${power}`);

  // --- Every node's CometBFT lists it with the power staking gave it (tokens / power_reduction),
  // two blocks after the end block that sent the update (staking README).
  const expectedPower = (selfStake / POWER_REDUCTION).toString();
  const nodes = [...net.nodes.map((node) => ({ name: node.name, rpcUrl: node.rpcUrl })), { name: 'node4', rpcUrl }];
  const listed = await Promise.all(nodes.map((node) => waitFor(`${node.name} /validators to list node4`, 30_000, async () => {
    const { validators } = await rpcCall<{ validators: RpcValidator[] }>(node.rpcUrl, 'validators', {});
    const found = validators.find((v) => v.address === keys.consensusAddressHex);
    return found === undefined ? undefined : { validators, found };
  }, 300)));
  for (const [i, { validators, found }] of listed.entries()) {
    t.equal(found.voting_power, expectedPower, `${nodes[i].name}: node4 has power ${expectedPower}`);
    t.equal(found.pub_key.value, consensusPubkey, `${nodes[i].name}: with its consensus key`);
    t.equal(validators.length, 5, `${nodes[i].name}: five validators`);
  }

  // --- node4 signs: its address in a later block's last_commit, with a commit vote.
  const signedIn = await waitFor('a block whose last_commit holds node4\'s signature', 30_000, async () => {
    const latest = await latestHeight(node0.rpcUrl);
    for (let h = createdAt + 1n; h <= latest; h++) {
      const { block } = await rpcCall<RpcCommitBlock>(node0.rpcUrl, 'block', { height: h.toString() });
      if (block.last_commit.signatures.some((s) => s.validator_address === keys.consensusAddressHex && s.block_id_flag === 2)) return h;
    }
    return undefined;
  }, 500);
  t.ok(signedIn > createdAt, `node4 signed the commit carried by block ${signedIn} (created at ${createdAt})`);

  // --- and proposes: CometBFT rotates the proposer; node4's blocks carry a beacon its VRF key proves.
  const proposed = await waitFor('a block proposed by node4', 45_000, async () => {
    const latest = await latestHeight(node0.rpcUrl);
    for (let h = signedIn; h <= latest; h++) {
      const { block } = await rpcCall<RpcCommitBlock>(node0.rpcUrl, 'block', { height: h.toString() });
      if (block.header.proposer_address === keys.consensusAddressHex) return h;
    }
    return undefined;
  }, 500);
  t.ok(proposed >= signedIn, `node4 proposed block ${proposed}`);
  const after = await latestHeight(node0.rpcUrl);
  await net.waitForHeight(after + 2n, 30_000);
  t.ok((await latestHeight(rpcUrl)) >= after, 'node4 keeps up');
  t.comment(`validator-join: ${((Date.now() - started) / 1000).toFixed(1)} s`);
});
