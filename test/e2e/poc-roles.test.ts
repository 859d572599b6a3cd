/**
 * Proof-of-Compute end to end on a real node (CometBFT + r3mesd) with the worker's PoC roles
 * (worker/src/roles/poc.ts) against it through its chain client: two miners compute SPEC §14
 * distances for their nonces and submit them; one forges the distance of one claim. Each sampled
 * claim and each beacon-drawn trap nonce (one the miner did not claim) goes to two of the three
 * validators, who commit to their distance and then reveal it; one validator is LAZY: it copies
 * the miner's claimed distance and, on a trap, where there is nothing to copy, answers 0. The
 * forged claim and every trap the lazy validator answered disagree between the two verifiers (or
 * with the claim) and go to the L3 panel (the third validator), which recomputes: the forger is
 * slashed and its epoch void, the lazy validator pays the wrong-result penalty for each wrong
 * answer, the honest validators nothing; the honest miner's claims become its compute weight.
 */
import t from 'tap';
import { generateKeyPairSync } from 'node:crypto';
import { DirectSecp256k1Wallet } from '@cosmjs/proto-signing';
import { GasPrice, SigningStargateClient } from '@cosmjs/stargate';
import { DEFAULT_GAS_PRICE, pocQuery, pocTypes, r3mesRegistry, stakingQuery } from '@r3mes/client';
import { RpcChainReader, RpcChainWriter } from '../../worker/src/chain/client.ts';
import { pocDistance } from '../../worker/src/poc/compute.ts';
import { type DistanceFn, type PocDeps, type PocJournal, type PocJournalEntry, pocArbitratePass, pocMinerPass, pocVerifyPass } from '../../worker/src/roles/poc.ts';
import { startDevNode } from '../helpers/devnode.ts';
import { testKey } from '../helpers/txs.ts';

const distances: DistanceFn = async (seed, dims, nonces) => nonces.map((n) => pocDistance(seed, dims, n));
const memoryJournal = (): PocJournal => {
  const m = new Map<string, PocJournalEntry>();
  return { get: (k) => m.get(k), put: async (k, e) => void m.set(k, e) };
};
const ed25519Pubkey = (): Uint8Array => {
  const der = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' });
  return new Uint8Array(der.subarray(der.length - 32));
};
const NONCES = 5;

t.test('PoC: a forged distance and a lazy verifier that copies claims are both caught at L3; honest claims become compute weight', async (t) => {
  const [cheater, validator, honest, second, lazy] = await Promise.all([testKey(1), testKey(2), testKey(3), testKey(4), testKey(5)]);
  const node = await startDevNode({
    accounts: [cheater, validator, honest, second, lazy].map((k) => ({ address: k.address, coins: '1000000000ur3mes' })),
    validator: { address: validator.address, selfStake: '500000000ur3mes' },
    moduleParams: {
      // Submissions [1, 41), commitments [41, 71), reveals [71, 101).
      poc: { epochBlocks: '100', submitBlocks: '40', sampleSize: '8', rTarget: '262144', maxClaimsPerBatch: '100', dModel: '32', nLayers: '1', nHeads: '2', dFf: '64', seqLen: '16' },
      // A vote window long enough for a loaded test machine: a silent seat would be missed and penalised.
      verification: { l1ResponseBlocks: '20', l3VoteBlocks: '60' },
    },
  });
  t.teardown(() => node.stop());
  const wallet = (k: { privkey: Uint8Array }) => DirectSecp256k1Wallet.fromKey(k.privkey, 'r3mes');
  const client = async (k: { privkey: Uint8Array }) => SigningStargateClient.connectWithSigner(node.rpcUrl, await wallet(k), { registry: r3mesRegistry(), gasPrice: GasPrice.fromString(DEFAULT_GAS_PRICE) });

  // Two more validators (small stakes: the node's own key keeps > 2/3 of the power) so that two
  // verifiers and an arbiter are three different validators; and two registered miners.
  for (const [k, moniker] of [[second, 'second'], [lazy, 'lazy']] as const) {
    const c = await client(k);
    const created = await c.signAndBroadcast(k.address, [{ typeUrl: '/r3mes.staking.v1.MsgCreateValidator', value: {
      operatorAddress: k.address, consensusPubkey: ed25519Pubkey(), vrfPubkey: ed25519Pubkey(), moniker, commissionRate: '0.1', selfStake: '50000000',
    } }], 'auto');
    t.equal(created.code, 0, `create-validator ${moniker}: ${created.rawLog ?? ''}`);
    c.disconnect();
  }
  for (const k of [cheater, honest]) {
    const c = await client(k);
    const r = await c.signAndBroadcast(k.address, [{ typeUrl: '/r3mes.staking.v1.MsgRegisterMiner', value: { minerAddress: k.address, stake: '2000000', backend: 2, gpuArch: 'cpu' } }], 'auto');
    t.equal(r.code, 0, `register-miner: ${r.rawLog ?? ''}`);
    c.disconnect();
  }

  const chain = await RpcChainReader.connect(node.rpcUrl);
  t.teardown(() => chain.disconnect());
  const lines: string[] = [];
  const depsFor = async (k: { privkey: Uint8Array }, who: string): Promise<PocDeps> => ({
    chain, writer: await RpcChainWriter.connect(node.rpcUrl, await wallet(k)), journal: memoryJournal(), distances, log: (l) => lines.push(`${who}: ${l}`),
  });
  const [cheaterDeps, honestDeps, validatorDeps, secondDeps, lazyDeps] = await Promise.all([
    depsFor(cheater, 'cheater'), depsFor(honest, 'honest'), depsFor(validator, 'validator'), depsFor(second, 'second'), depsFor(lazy, 'lazy'),
  ]);
  t.teardown(() => [cheaterDeps, honestDeps, validatorDeps, secondDeps, lazyDeps].forEach((d) => (d.writer as RpcChainWriter).disconnect()));
  const tokens = async (address: string) => {
    const r = await node.rpc<{ response: { value: string } }>('abci_query', {
      path: '/r3mes.staking.v1.Query/Validator', data: Buffer.from(stakingQuery.QueryValidatorRequest.encode({ validatorAddress: address }).finish()).toString('hex'),
    });
    return BigInt(stakingQuery.QueryValidatorResponse.decode(Buffer.from(r.response.value, 'base64')).validator?.validator?.tokens ?? '0');
  };
  const before = { validator: await tokens(validator.address), second: await tokens(second.address), lazy: await tokens(lazy.address) };

  // Submission phase of epoch 1: NONCES nonces each (two nodes of the nonce space), all below r_target.
  const epoch = (await chain.pocEpoch())!;
  t.equal(epoch.phase, 1, 'epoch 1 takes submissions');
  const forged = await pocMinerPass(cheaterDeps, { nodeId: 0, nNodes: 2, count: NONCES, forgeFirst: 7n });
  const fair = await pocMinerPass(honestDeps, { nodeId: 1, nNodes: 2, count: NONCES });
  t.match(forged, { kind: 'submitted', claims: NONCES });
  t.match(fair, { kind: 'submitted', claims: NONCES });
  t.match(await pocMinerPass(honestDeps, { nodeId: 1, nNodes: 2, count: NONCES }), { kind: 'already-sent' }, 'one batch per epoch, never signed twice');

  // Commit window: every check (NONCES sampled claims and NONCES traps per miner) has two verifiers; each commits.
  await node.waitForHeight(epoch.submitEndHeight + 1n, 120_000);
  const checks = await chain.pocChecks(epoch.id);
  t.equal(checks.length, 4 * NONCES, 'every claim sampled, as many traps');
  t.equal(checks.filter((c) => c.trap).length, 2 * NONCES);
  t.ok(checks.every((c) => c.answers.length === 2 && c.answers.every((a) => a.verifier !== c.miner)), 'two verifiers per check');
  const lazyTraps = checks.filter((c) => c.trap && c.answers.some((a) => a.verifier === lazy.address));
  t.ok(lazyTraps.length > 0, `the lazy validator was drawn to ${lazyTraps.length} traps`);
  const duties = (address: string) => checks.filter((c) => c.answers.some((a) => a.verifier === address)).length;
  const commits = await Promise.all([pocVerifyPass(validatorDeps), pocVerifyPass(secondDeps), pocVerifyPass(lazyDeps, { lazyCopy: true })]);
  t.same(commits.map((list) => list.length), [duties(validator.address), duties(second.address), duties(lazy.address)], 'one commitment per duty');
  t.ok(commits.flat().every((c) => c.kind === 'commit' && c.action === 'sent'), 'all committed');
  t.same(await pocVerifyPass(validatorDeps), [], 'nothing more to do before the reveal window');

  // Reveal window: every commitment opened; disagreements open disputes.
  await node.waitForHeight(epoch.revealHeight, 120_000);
  const reveals = await Promise.all([pocVerifyPass(validatorDeps), pocVerifyPass(secondDeps), pocVerifyPass(lazyDeps)]);
  t.ok(reveals.flat().every((c) => c.kind === 'verdict' && c.action === 'sent'), 'all revealed');
  t.equal(reveals.flat().length, commits.flat().length);
  const settled = await chain.pocChecks(epoch.id);
  const forgedCheck = settled.find((c) => c.miner === cheater.address && c.nonce === 0n)!;
  t.equal(forgedCheck.status, 3, 'the forged claim: MISMATCH');
  for (const c of settled.filter((x) => x.trap && x.answers.some((a) => a.verifier === lazy.address))) t.equal(c.status, 3, `trap ${c.nonce}: the lazy 0 disagrees → MISMATCH`);
  for (const c of settled.filter((x) => x.miner === honest.address && !x.trap)) t.equal(c.status, 2, `honest claim ${c.nonce}: CONFIRMED (a copy of a true claim is harmless)`);
  const disputeIds = settled.filter((c) => c.disputeId > 0n).map((c) => c.disputeId);
  t.equal(disputeIds.length, 1 + lazyTraps.length, 'disputes: the forged claim and each trap the lazy validator answered');

  // L3: the panel (the validator that verified neither side) recomputes: each arbiter's role loop
  // in small, until every dispute is decided.
  const votes = [];
  let disputes: pocTypes.Dispute[] = [];
  for (let i = 0; i < 120; i++) {
    votes.push(...(await Promise.all([pocArbitratePass(validatorDeps), pocArbitratePass(secondDeps), pocArbitratePass(lazyDeps)])).flat());
    disputes = (await Promise.all(disputeIds.map((id) => chain.pocDispute(id)))).map((d) => d!);
    if (disputes.every((d) => d.status !== 1)) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  t.equal(votes.length, disputeIds.length, 'one seat per dispute votes');
  for (const d of disputes) t.comment(JSON.stringify(pocTypes.Dispute.toJSON(d)));
  const fraud = disputes.find((d) => !d.trap)!;
  t.equal(fraud.status, 2, 'the forged claim: FRAUD');
  t.not(fraud.decidedDistance, 7n);
  t.ok(BigInt(fraud.slashed || '0') > 0n, `the forger was slashed ${fraud.slashed} ur3mes`);
  for (const d of disputes.filter((x) => x.trap)) {
    t.equal(d.status, 5, `trap dispute ${d.id}: SETTLED`);
    const lazyAnswer = d.answers.find((a) => a.verifier === lazy.address)!;
    const other = d.answers.find((a) => a.verifier !== lazy.address)!;
    t.ok(lazyAnswer.distance === 0n && d.decidedDistance !== 0n, 'the lazy guess is not the distance the panel recomputed');
    t.equal(other.distance, d.decidedDistance, 'the honest co-verifier recomputed it');
  }
  t.ok(await tokens(lazy.address) < before.lazy, `the lazy validator paid the wrong-result penalty (${before.lazy - await tokens(lazy.address)} ur3mes)`);
  t.equal(await tokens(second.address), before.second, 'the honest second validator paid nothing');
  t.equal(await tokens(validator.address), before.validator, 'the honest validator paid nothing');

  // Epoch end: the honest miner's confirmed claims are its compute weight; the forger's epoch is void.
  await node.waitForHeight(epoch.endHeight + 1n, 120_000);
  const weights = await node.rpc<{ response: { value: string } }>('abci_query', { path: '/r3mes.poc.v1.Query/Weights', data: '' });
  const w = pocQuery.QueryWeightsResponse.decode(Buffer.from(weights.response.value, 'base64'));
  t.same(w.weights.map((x) => [x.miner, x.weight]), [[honest.address, BigInt(NONCES)]], 'only the honest miner has compute weight');
  t.comment(lines.join('\n'));
});
