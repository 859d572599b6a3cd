/**
 * Proof-of-Compute end to end on a real node (CometBFT + r3mesd) with the worker's PoC roles
 * (worker/src/roles/poc.ts) against it through its chain client: two miners compute SPEC §14
 * distances for their nonces and submit them; one forges the distance of one claim. The drawn
 * verifiers recompute every sampled claim: the forged one is a mismatch, a PoC dispute opens, the
 * L3 panel (the other validator) recomputes and the forger is slashed; the honest miner's claims
 * are confirmed and become its compute weight for the next epoch, the forger's epoch is void.
 */
import t from 'tap';
import { generateKeyPairSync } from 'node:crypto';
import { DirectSecp256k1Wallet } from '@cosmjs/proto-signing';
import { GasPrice, SigningStargateClient } from '@cosmjs/stargate';
import { DEFAULT_GAS_PRICE, pocQuery, r3mesRegistry } from '@r3mes/client';
import { RpcChainReader, RpcChainWriter } from '../../worker/src/chain/client.ts';
import { pocDistance } from '../../worker/src/poc/compute.ts';
import { type DistanceFn, type PocDeps, type PocJournal, pocArbitratePass, pocMinerPass, pocVerifyPass } from '../../worker/src/roles/poc.ts';
import { startDevNode } from '../helpers/devnode.ts';
import { testKey } from '../helpers/txs.ts';

const distances: DistanceFn = async (seed, dims, nonces) => nonces.map((n) => pocDistance(seed, dims, n));
const memoryJournal = (): PocJournal => {
  const m = new Map<string, { txhash: string; status: string }>();
  return { get: (k) => m.get(k), put: async (k, e) => void m.set(k, e) };
};
const ed25519Pubkey = (): Uint8Array => {
  const der = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' });
  return new Uint8Array(der.subarray(der.length - 32));
};

t.test('a forged PoC distance is caught by recomputation and slashed at L3; honest claims become compute weight', async (t) => {
  const [cheater, validator, honest, second] = await Promise.all([testKey(1), testKey(2), testKey(3), testKey(4)]);
  const node = await startDevNode({
    accounts: [cheater, validator, honest, second].map((k) => ({ address: k.address, coins: '1000000000ur3mes' })),
    validator: { address: validator.address, selfStake: '500000000ur3mes' },
    moduleParams: {
      poc: { epochBlocks: '80', submitBlocks: '40', sampleSize: '8', rTarget: '262144', maxClaimsPerBatch: '100', dModel: '32', nLayers: '1', nHeads: '2', dFf: '64', seqLen: '16' },
      verification: { l1ResponseBlocks: '20', l3VoteBlocks: '20' },
    },
  });
  t.teardown(() => node.stop());
  const wallet = (k: { privkey: Uint8Array }) => DirectSecp256k1Wallet.fromKey(k.privkey, 'r3mes');
  const client = async (k: { privkey: Uint8Array }) => SigningStargateClient.connectWithSigner(node.rpcUrl, await wallet(k), { registry: r3mesRegistry(), gasPrice: GasPrice.fromString(DEFAULT_GAS_PRICE) });

  // A second validator (small stake: the node's own key keeps > 2/3 of the power) so that a
  // verifier and an arbiter can be two different validators; and two registered miners.
  const secondClient = await client(second);
  const created = await secondClient.signAndBroadcast(second.address, [{ typeUrl: '/r3mes.staking.v1.MsgCreateValidator', value: {
    operatorAddress: second.address, consensusPubkey: ed25519Pubkey(), vrfPubkey: ed25519Pubkey(), moniker: 'second', commissionRate: '0.1', selfStake: '50000000',
  } }], 'auto');
  t.equal(created.code, 0, `create-validator: ${created.rawLog ?? ''}`);
  for (const k of [cheater, honest]) {
    const c = await client(k);
    const r = await c.signAndBroadcast(k.address, [{ typeUrl: '/r3mes.staking.v1.MsgRegisterMiner', value: { minerAddress: k.address, stake: '2000000', backend: 2, gpuArch: 'cpu' } }], 'auto');
    t.equal(r.code, 0, `register-miner: ${r.rawLog ?? ''}`);
    c.disconnect();
  }
  secondClient.disconnect();

  const chain = await RpcChainReader.connect(node.rpcUrl);
  t.teardown(() => chain.disconnect());
  const lines: string[] = [];
  const depsFor = async (k: { privkey: Uint8Array }): Promise<PocDeps> => ({
    chain, writer: await RpcChainWriter.connect(node.rpcUrl, await wallet(k)), journal: memoryJournal(), distances, log: (l) => lines.push(l),
  });
  const [cheaterDeps, honestDeps, validatorDeps, secondDeps] = await Promise.all([depsFor(cheater), depsFor(honest), depsFor(validator), depsFor(second)]);
  t.teardown(() => [cheaterDeps, honestDeps, validatorDeps, secondDeps].forEach((d) => (d.writer as RpcChainWriter).disconnect()));

  // Submission phase of epoch 1: three nonces each (two nodes of the nonce space).
  const epoch = (await chain.pocEpoch())!;
  t.equal(epoch.phase, 1, 'epoch 1 takes submissions');
  const forged = await pocMinerPass(cheaterDeps, { nodeId: 0, nNodes: 2, count: 3, forgeFirst: 7n });
  const fair = await pocMinerPass(honestDeps, { nodeId: 1, nNodes: 2, count: 3 });
  t.match(forged, { kind: 'submitted', claims: 3 });
  t.match(fair, { kind: 'submitted', claims: 3 });
  t.match(await pocMinerPass(honestDeps, { nodeId: 1, nNodes: 2, count: 3 }), { kind: 'already-sent' }, 'one batch per epoch, never signed twice');

  // Verification phase: every sampled claim (sample 8 ≥ 3 claims each) recomputed by its drawn verifier.
  await node.waitForHeight(epoch.submitEndHeight + 1n, 120_000);
  const verdicts = [...await pocVerifyPass(validatorDeps), ...await pocVerifyPass(secondDeps)];
  t.equal(verdicts.length, 6, 'six verdicts, each from the validator the claim was drawn to');
  const mismatches = verdicts.filter((v) => v.recomputed !== v.claimed);
  t.same(mismatches.map((v) => [v.miner, v.nonce, v.claimed]), [[cheater.address, 0n, 7n]], 'exactly the forged claim recomputes to another distance');
  t.ok(verdicts.filter((v) => v.miner === honest.address).every((v) => v.recomputed === v.claimed), 'every honest claim matches exactly');

  // L3: the panel (the validator that did not report it) recomputes; the forger is slashed.
  const checks = await chain.pocChecks(epoch.id);
  const disputeId = checks.find((c) => c.miner === cheater.address && c.nonce === 0n)!.disputeId;
  t.ok(disputeId > 0n, `dispute ${disputeId} opened`);
  const votes = [...await pocArbitratePass(validatorDeps), ...await pocArbitratePass(secondDeps)];
  t.equal(votes.length, 1, 'one seat on the panel votes');
  t.equal(votes[0].recomputed, mismatches[0].recomputed, 'and recomputes what the verifier did');
  let dispute = await chain.pocDispute(disputeId);
  for (let i = 0; i < 20 && dispute?.status === 1; i++) {
    await new Promise((r) => setTimeout(r, 500));
    dispute = await chain.pocDispute(disputeId);
  }
  t.equal(dispute?.status, 2, 'FRAUD');
  t.ok(BigInt(dispute?.slashed || '0') > 0n, `the forger was slashed ${dispute?.slashed} ur3mes`);

  // Epoch end: the honest miner's 3 confirmed claims are its compute weight; the forger's epoch is void.
  await node.waitForHeight(epoch.endHeight + 1n, 120_000);
  const weights = await node.rpc<{ response: { value: string } }>('abci_query', { path: '/r3mes.poc.v1.Query/Weights', data: '' });
  const w = pocQuery.QueryWeightsResponse.decode(Buffer.from(weights.response.value, 'base64'));
  t.same(w.weights.map((x) => [x.miner, x.weight]), [[honest.address, 3n]], 'only the honest miner has compute weight');
  t.comment(lines.join('\n'));
});
