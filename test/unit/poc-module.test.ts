/**
 * poc: the batch root vector, sampling, every message's happy path and one test per error code
 * (state untouched on refusal), the epoch state machine, verifier commit-reveal on sampled claims
 * and traps → dispute → L3 panel → slash of a cheater (miner or lazy verifier) and of nobody else, missed duties, compute weight → chunk quota and reward share,
 * epochs without PoC activity, genesis round trip, params. Real auth/bank/staking and the real
 * verification keeper's settings (test/helpers/verification-testbed.ts); the block-hash drawer.
 */
import { claimsRoot as workerClaimsRoot } from '../../worker/src/poc/claims.ts';
import t, { type Test } from 'tap';
import { createHash } from 'node:crypto';
import { ChainError, type ErrorKind } from '../../app/core/errors.ts';
import { toHex } from '../../app/core/bytes.ts';
import { CacheStore } from '../../app/core/store/cache.ts';
import { blockHashDrawer } from '../../modules/randomness/drawer.ts';
import { PocKeeper } from '../../modules/poc/keeper.ts';
import { pocModule, QUERY_PATHS } from '../../modules/poc/module.ts';
import { pocErrors } from '../../modules/poc/errors.ts';
import { defaultGenesis } from '../../modules/poc/genesis.ts';
import { defaultParams, paramsFromJson, paramsToJson } from '../../modules/poc/params.ts';
import { batchRoot, claimHash, type PocClaim, pocCommitment, samplePositions, trapNonces } from '../../modules/poc/claims.ts';
import { chunkQuota } from '../../modules/poc/weights.ts';
import { pocInterface } from '../../modules/poc/interface.ts';
import { blendComputeWeights } from '../../modules/rewards/compute-weight.ts';
import { computeWeightSource, disputeSettings, pocStaking, rewardsHook } from '../../app/adapters.ts';
import { GenesisState } from '../../proto/gen/r3mes/poc/v1/genesis.ts';
import { QueryEpochRequest, QueryEpochResponse } from '../../proto/gen/r3mes/poc/v1/query.ts';
import { MsgPocArbiterVote, MsgPocCommit, MsgPocVerdict, MsgPocVerdictResponse, MsgSubmitPocBatch } from '../../proto/gen/r3mes/poc/v1/tx.ts';
import {
  type Check, CheckStatus, DisputeStatus, EpochPhase, MinerEpochStatus, type Params,
} from '../../proto/gen/r3mes/poc/v1/types.ts';
import { POC_ARBITER_VOTE_TYPE_URL, POC_COMMIT_TYPE_URL, POC_VERDICT_TYPE_URL, SUBMIT_POC_BATCH_TYPE_URL } from '../../modules/poc/msgs.ts';
import { verificationTestbed } from '../helpers/verification-testbed.ts';
import { emptyState } from '../helpers/module-context.ts';
import { buildModules } from '../../app/modules.ts';

/** Epoch 1 opens at height 1: submissions [1, 11), verdicts [11, 21), epoch 2 opens at 21. */
const TEST_PARAMS: Partial<Params> = { epochBlocks: 20n, submitBlocks: 10n, rTarget: 1000n, sampleSize: 2n, maxClaimsPerBatch: 8n };

function setup(params: Partial<Params> = {}, voteBlocks = 5n) {
  const h = verificationTestbed({ params: { l3VoteBlocks: voteBlocks, maxRedraws: 2n } });
  const poc = new PocKeeper({ staking: pocStaking(h.staking), disputes: disputeSettings(h.keeper), drawer: blockHashDrawer });
  const module = pocModule(poc);
  module.initGenesis(h.state, GenesisState.toJSON({ ...defaultGenesis(), params: { ...defaultParams(), ...TEST_PARAMS, ...params } }));
  const handlers = Object.fromEntries(module.msgs.map((handler) => [handler.typeUrl, handler]));
  let last = 0n;
  /** beginBlock of poc (then staking's endBlock) at every height up to `target`; stays at `target`. */
  const runTo = (target: bigint) => {
    while (last < target) {
      last += 1n;
      h.height = last;
      poc.beginBlock(h.ctx());
      h.staking.endBlock(h.ctx());
    }
    h.height = target;
  };
  /** A message as the app delivers it: stateless checks, then execute on a cache layer kept only on success. */
  const deliver = (typeUrl: string, msg: unknown): unknown => h.tx((ctx) => {
    handlers[typeUrl].signers(msg);
    return handlers[typeUrl].execute(ctx, msg);
  });
  const submit = (miner: string, claims: PocClaim[], epoch = 1n) => deliver(SUBMIT_POC_BATCH_TYPE_URL, MsgSubmitPocBatch.fromPartial({ miner, epoch, claims }));
  /** The test salt of an answer: fixed per (verifier, miner, nonce), so a reveal opens its commitment. */
  const saltOf = (verifier: string, miner: string, nonce: bigint) => Buffer.from(createHash('sha256').update(`salt/${verifier}/${miner}/${nonce}`).digest());
  const commit = (verifier: string, miner: string, nonce: bigint, distance: bigint, commitment?: Uint8Array, epoch = 1n) =>
    deliver(POC_COMMIT_TYPE_URL, MsgPocCommit.fromPartial({
      verifier, epoch, miner, nonce, commitment: Buffer.from(commitment ?? pocCommitment(verifier, epoch, miner, nonce, distance, saltOf(verifier, miner, nonce))),
    }));
  const reveal = (verifier: string, miner: string, nonce: bigint, distance: bigint, salt?: Uint8Array, epoch = 1n) =>
    deliver(POC_VERDICT_TYPE_URL, MsgPocVerdict.fromPartial({ verifier, epoch, miner, nonce, distanceRecomputed: distance, salt: Buffer.from(salt ?? saltOf(verifier, miner, nonce)) }));
  const vote = (arbiter: string, disputeId: bigint, distance: bigint) =>
    deliver(POC_ARBITER_VOTE_TYPE_URL, MsgPocArbiterVote.fromPartial({ arbiter, disputeId, distanceRecomputed: distance }));
  /** The whole poc state as JSON: what "state untouched" compares. */
  const snapshot = () => JSON.stringify(module.exportGenesis(h.state));
  return { h, poc, module, runTo, submit, commit, reveal, vote, snapshot };
}
type Setup = ReturnType<typeof setup>;

const covered = new Set<number>();

/** The call fails with `kind` and leaves the poc state as it was. */
function rejects(t: Test, s: Setup, fn: () => unknown, kind: ErrorKind, what: string): void {
  const before = s.snapshot();
  try {
    fn();
    t.fail(`${what}: expected ${kind.codespace}/${kind.code} (${kind.description})`);
  } catch (error) {
    t.ok(error instanceof ChainError, `${what}: a ChainError`);
    const chain = error as ChainError;
    t.equal(`${chain.codespace}/${chain.code}`, `${kind.codespace}/${kind.code}`, `${what}: ${chain.message}`);
    if (chain.codespace === 'poc') covered.add(chain.code);
  }
  t.equal(s.snapshot(), before, `${what}: state untouched`);
}

/** Claims nonce = start, start+step, … with distance = 10 + nonce mod 900 (all below r_target 1000). */
function claims(start: bigint, count: number, step = 1n): PocClaim[] {
  return Array.from({ length: count }, (_, i) => {
    const nonce = start + BigInt(i) * step;
    return { nonce, distance: 10n + (nonce % 900n) };
  });
}

// ---------------------------------------------------------------- pure functions

t.test('batch root: the chain and the worker (worker/src/poc/claims.ts) compute the same root for random batches', (t) => {
  let state = 12345n;
  const next = () => (state = (state * 6364136223846793005n + 1442695040888963407n) & ((1n << 64n) - 1n));
  for (let n = 1; n <= 20; n++) {
    const claims = Array.from({ length: n }, (_, i) => ({ nonce: BigInt(i) * 1000n + (next() % 1000n), distance: next() % 110_000n }));
    t.equal(toHex(batchRoot(claims)), toHex(workerClaimsRoot(claims)), `${n} claims`);
  }
  t.end();
});

t.test('batch root: the published vector, and an independent implementation of SPEC §6', (t) => {
  const vector = [{ nonce: 0n, distance: 5n }, { nonce: 1n, distance: 17n }, { nonce: 7n, distance: 123456789n }];
  t.equal(toHex(claimHash(vector[0])), '7981e7599b0b7dae8c21c2b6a889839051fae196b2ffd5dcc6c6827432704625', 'x of (0, 5)');
  t.equal(toHex(batchRoot(vector)), '77a89c880763465c11165389910f1a5ee9586701dfa69df648cb004a36aad096', 'root of the 3-claim vector (README)');
  t.equal(toHex(batchRoot([vector[0], vector[1], { nonce: 7n, distance: 12345n }])), '407ff68ce30e6753e9f3784039689c1b5479efb35e0bcef673007fbc4a6fd88b', 'root of the 3-claim vector below r_target (README)');
  t.equal(toHex(batchRoot([{ nonce: 42n, distance: 1000n }])), 'ec0fcfc8cf0d5eaf4beda22c2fbf687ad84d2e881c78be7237ffe7ffd2ec5597', 'root of one claim (README)');
  t.equal(toHex(batchRoot([])), '0'.repeat(64), 'root of nothing');
  // node:crypto, written from the README's words, for 1..9 claims (odd counts carry a node up).
  const sha = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();
  const le = (n: bigint) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(n); return b; };
  for (let n = 1; n <= 9; n++) {
    const list = claims(3n, n, 5n);
    let level: Buffer[] = list.map((c) => sha(Buffer.from([0]), sha(Buffer.from('r3mes/poc/claim/v1'), le(c.nonce), le(c.distance))));
    while (level.length > 1) {
      const next: Buffer[] = [];
      for (let i = 0; i + 1 < level.length; i += 2) next.push(sha(Buffer.from([1]), level[i], level[i + 1]));
      if (level.length % 2 === 1) next.push(level[level.length - 1]);
      level = next;
    }
    t.equal(toHex(batchRoot(list)), level[0].toString('hex'), `${n} claims`);
  }
  t.end();
});

t.test('sampling: deterministic, distinct, in range, equal to a plain Fisher–Yates', (t) => {
  const seed = new Uint8Array(32).fill(7);
  const miner = 'r3mes1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq';
  t.same(samplePositions(seed, miner, 100n, 5n), [27n, 28n, 32n, 51n, 87n], 'the README vector');
  t.same(samplePositions(seed, miner, 100n, 5n), samplePositions(seed, miner, 100n, 5n), 'same inputs, same sample');
  t.same(samplePositions(seed, miner, 3n, 8n), [0n, 1n, 2n], 'k ≥ count: every claim');
  t.same(samplePositions(seed, miner, 0n, 8n), [], 'no claims');
  t.notSame(samplePositions(seed, `${miner}x`, 100n, 5n), samplePositions(seed, miner, 100n, 5n), 'another miner, another sample');
  t.notSame(samplePositions(new Uint8Array(32).fill(8), miner, 100n, 5n), samplePositions(seed, miner, 100n, 5n), 'another seed, another sample');
  for (const count of [1n, 2n, 7n, 50n]) {
    for (const k of [1n, 3n, 10n]) {
      const got = samplePositions(seed, miner, count, k);
      // Reference: the full array, swapped as the README says.
      const arr = Array.from({ length: Number(count) }, (_, i) => BigInt(i));
      const picked: bigint[] = [];
      for (let j = 0; j < Math.min(Number(k), Number(count)); j++) {
        const digest = createHash('sha256').update(Buffer.concat([
          Buffer.from('r3mes/poc/sample/v1'), Buffer.from(seed), Buffer.from([0, 0, 0, miner.length]), Buffer.from(miner),
          (() => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(j)); return b; })(),
        ])).digest();
        const r = BigInt(`0x${digest.toString('hex')}`);
        const other = j + Number(r % (count - BigInt(j)));
        [arr[j], arr[other]] = [arr[other], arr[j]];
        picked.push(arr[j]);
      }
      t.same(got, picked.sort((a, b) => (a < b ? -1 : 1)), `count ${count}, k ${k}`);
      t.equal(new Set(got).size, got.length, 'distinct');
    }
  }
  t.end();
});

t.test('chunk quota from compute weight', (t) => {
  t.equal(chunkQuota(4n, 1n, 0n, 0n), 4n, 'nobody has weight: the window cap, as without PoC');
  t.equal(chunkQuota(4n, 1n, 7n, 0n), 4n, 'weightMax 0 wins');
  t.equal(chunkQuota(4n, 1n, 0n, 10n), 1n, 'no weight while others have some: the unweighted quota');
  t.equal(chunkQuota(4n, 1n, 10n, 10n), 4n, 'the heaviest: the cap');
  t.equal(chunkQuota(4n, 1n, 5n, 10n), 3n, 'half the heaviest: 1 + ⌈3·5/10⌉');
  t.equal(chunkQuota(4n, 1n, 1n, 10n), 2n, 'any weight beats none');
  t.equal(chunkQuota(2n, 5n, 0n, 10n), 2n, 'the unweighted quota is capped at the window cap');
  t.equal(chunkQuota(4n, 0n, 0n, 10n), 0n, 'unweighted 0: only miners with weight train');
  t.end();
});

t.test('reward share: blend of accepted submissions and compute weight', (t) => {
  const miners = [{ address: 'a', weight: 3n }, { address: 'b', weight: 1n }];
  t.same(blendComputeWeights(miners, () => 0n, 5000n), miners, 'no compute weight: unchanged');
  t.same(blendComputeWeights(miners, (m) => (m === 'a' ? 1n : 0n), 0n), miners, 'bps 0: unchanged');
  // A = 4, C = 4 (a: 1, b: 3); b = 50%: a → 0.5·3/4 + 0.5·1/4 = 1/2, b → 0.5·1/4 + 0.5·3/4 = 1/2.
  const blended = blendComputeWeights(miners, (m) => (m === 'a' ? 1n : 3n), 5000n);
  t.equal(blended[0].weight, blended[1].weight, 'equal shares in the worked example');
  t.equal(blended[0].weight + blended[1].weight, 10_000n * 4n * 4n, 'Σ = 10⁴·A·C');
  const all = blendComputeWeights(miners, (m) => (m === 'a' ? 1n : 3n), 10_000n);
  t.same(all.map((m) => m.weight), [10_000n * 1n * 4n, 10_000n * 3n * 4n], 'bps 10⁴: by compute only');
  t.end();
});

t.test('rewardsHook: miners reach distributeWindow blended only when compute weights exist', (t) => {
  const seen: Array<Array<{ weight: bigint }>> = [];
  const fake = { distributeWindow: (_ctx: unknown, _id: bigint, c: { miners: Array<{ weight: bigint }> }) => { seen.push(c.miners); return undefined as never; } };
  const s = setup();
  const [alice, bob] = [s.h.registerMiner('alice', 1000n).address, s.h.registerMiner('bob', 1000n).address];
  const miners = [{ address: alice, weight: 2n }, { address: bob, weight: 2n }];
  const hook = rewardsHook(fake as never, () => undefined, () => computeWeightSource(s.poc));
  hook.distributeWindow(s.h.ctx(), 1n, { baseReward: 0n, miners, aggregators: [] });
  t.same(seen[0].map((m) => m.weight), [2n, 2n], 'no weights in force: the accepted counts');
  s.poc.setWeight(s.h.state, alice, 3n);
  hook.distributeWindow(s.h.ctx(), 2n, { baseReward: 0n, miners, aggregators: [] });
  // A = 4, C = 3, b = 50%: alice 5000·2·3 + 5000·3·4, bob 5000·2·3.
  t.same(seen[1].map((m) => m.weight), [5000n * 2n * 3n + 5000n * 3n * 4n, 5000n * 2n * 3n], 'alice gains the compute share');
  t.end();
});

// ---------------------------------------------------------------- epochs and batches

t.test('epoch state machine: seed from the block beacon, phases, heights, query', (t) => {
  const s = setup();
  s.runTo(1n);
  const epoch = s.poc.epoch(s.h.state, 1n)!;
  t.equal(epoch.phase, EpochPhase.EPOCH_PHASE_SUBMISSION);
  t.same([epoch.startHeight, epoch.submitEndHeight, epoch.endHeight], [1n, 11n, 21n]);
  t.equal(epoch.seed, toHex(s.h.blockHash(1n)), 'seed = the drawer seed of the opening block');
  t.equal(epoch.rTarget, 1000n);
  t.equal(epoch.model?.vocabSize, 256n);
  s.runTo(11n);
  t.equal(s.poc.epoch(s.h.state, 1n)!.phase, EpochPhase.EPOCH_PHASE_VERIFICATION);
  t.equal(s.poc.epoch(s.h.state, 1n)!.sampleSeed, toHex(s.h.blockHash(11n)), 'samples from the beacon at submit_end_height');
  s.runTo(21n);
  t.equal(s.poc.epoch(s.h.state, 1n)!.phase, EpochPhase.EPOCH_PHASE_ENDED);
  t.equal(s.poc.epoch(s.h.state, 2n)!.startHeight, 21n, 'epoch 2 opens where epoch 1 ends');
  const query = s.module.queries[QUERY_PATHS.epoch];
  t.equal(QueryEpochResponse.decode(query(s.h.state, QueryEpochRequest.encode({ epoch: 0n }).finish())).epoch?.id, 2n, 'epoch 0 = the current one');
  const json = pocInterface.queries.find((q) => q.name === 'epoch')!.decodeResponse(query(s.h.state, QueryEpochRequest.encode({ epoch: 1n }).finish())) as { epoch: { seed: string; phase: string } };
  t.match(json.epoch.seed, /^[0-9a-f]{64}$/, 'seed as hex in JSON');
  t.equal(json.epoch.phase, 'EPOCH_PHASE_ENDED');
  t.end();
});

t.test('submit batch: stored root, claims, counters; CLI builds the message', (t) => {
  const s = setup();
  const alice = s.h.registerMiner('alice', 1000n).address;
  s.runTo(2n);
  s.submit(alice, claims(0n, 3));
  s.submit(alice, claims(10n, 2));
  const batches = s.poc.batchesPage(s.h.state, 1n, alice, undefined).items;
  t.equal(batches.length, 2);
  t.equal(toHex(batches[0].root), toHex(batchRoot(claims(0n, 3))), 'root of batch 0');
  t.same([batches[1].index, batches[1].firstNonce, batches[1].lastNonce], [1n, 10n, 11n]);
  t.same(s.poc.minerEpoch(s.h.state, 1n, alice), { epoch: 1n, miner: alice, batchCount: 2n, claimCount: 5n, status: MinerEpochStatus.MINER_EPOCH_STATUS_ACTIVE, openDisputes: 0n, weight: 0n });
  t.same([...s.poc.claims(s.h.state, 1n, alice)].map((c) => c.nonce), [0n, 1n, 2n, 10n, 11n]);
  const built = pocInterface.txs.find((x) => x.name === 'submit-batch')!.build(alice, { epoch: '1', claims: '5:17,9:3' }, {});
  t.same(built, MsgSubmitPocBatch.fromPartial({ miner: alice, epoch: 1n, claims: [{ nonce: 5n, distance: 17n }, { nonce: 9n, distance: 3n }] }));
  t.end();
});

t.test('submit batch refusals: each its own code, state untouched', (t) => {
  const s = setup();
  const alice = s.h.registerMiner('alice', 1000n).address;
  const jailed = s.h.registerMiner('jailed', 1000n);
  s.runTo(2n);
  s.h.staking.slashMiner(s.h.ctx(), jailed.bytes, 0n, 1n, 'test jail', true);
  s.submit(alice, claims(0n, 2));
  const validator = s.h.validators[0];
  rejects(t, s, () => s.submit(validator, claims(100n, 1)), pocErrors.minerNotRegistered, 'a validator, not a miner');
  rejects(t, s, () => s.submit(jailed.address, claims(100n, 1)), pocErrors.minerJailed, 'jailed miner');
  rejects(t, s, () => s.submit(alice, claims(100n, 1), 9n), pocErrors.epochNotFound, 'unknown epoch');
  rejects(t, s, () => s.submit(alice, []), pocErrors.emptyBatch, 'no claims');
  rejects(t, s, () => s.submit(alice, claims(100n, 9)), pocErrors.tooManyClaims, '9 > max_claims_per_batch 8');
  rejects(t, s, () => s.submit(alice, [{ nonce: 5n, distance: 1n }, { nonce: 4n, distance: 1n }]), pocErrors.claimsNotAscending, 'descending nonces');
  rejects(t, s, () => s.submit(alice, [{ nonce: 5n, distance: 1n }, { nonce: 5n, distance: 2n }]), pocErrors.duplicateClaim, 'a nonce twice in the batch');
  rejects(t, s, () => s.submit(alice, [{ nonce: 1n, distance: 11n }]), pocErrors.duplicateClaim, 'a nonce of an earlier batch');
  rejects(t, s, () => s.submit(alice, [{ nonce: 50n, distance: 999n }, { nonce: 51n, distance: 1000n }]), pocErrors.distanceNotBelowTarget, 'distance = r_target');
  t.throws(() => s.submit('cosmos1xyz', claims(0n, 1)), { codespace: 'sdk', code: 7 }, 'malformed miner address');
  s.runTo(11n);
  rejects(t, s, () => s.submit(alice, claims(200n, 1)), pocErrors.notSubmissionPhase, 'after submit_end_height');
  t.end();
});

// ---------------------------------------------------------------- verification

/** Alice and bob submit; the run reaches the verification phase; returns the checks. */
function toVerification(s: Setup) {
  const alice = s.h.registerMiner('alice', 1000n);
  const bob = s.h.registerMiner('bob', 1000n);
  s.runTo(2n);
  s.submit(alice.address, claims(0n, 5));
  s.submit(bob.address, claims(1000n, 3, 7n));
  s.runTo(11n);
  return { alice, bob, checks: s.poc.checks(s.h.state, 1n) };
}

/** The "true" distance of a trap nonce in these tests (any fixed function: the chain never computes one). */
const trapTruth = (nonce: bigint) => 3n + (nonce % 997n);
/** What an honest verifier answers. */
const honest = (c: Check) => (c.trap ? trapTruth(c.nonce) : c.claimedDistance);

/**
 * Every pending check of epoch 1: each verifier answers `answer(check, verifier)` (undefined:
 * silent) — committed at the current height (< reveal height 16), revealed at 16.
 */
function answerAll(s: Setup, answer: (check: Check, verifier: string) => bigint | undefined) {
  const plan: Array<[Check, string, bigint]> = [];
  for (const check of s.poc.checks(s.h.state, 1n)) {
    if (check.status !== CheckStatus.CHECK_STATUS_PENDING) continue;
    for (const a of check.answers) {
      const distance = answer(check, a.verifier);
      if (distance !== undefined) plan.push([check, a.verifier, distance]);
    }
  }
  for (const [c, v, d] of plan) s.commit(v, c.miner, c.nonce, d);
  s.runTo(16n);
  for (const [c, v, d] of plan) s.reveal(v, c.miner, c.nonce, d);
}

t.test('traps and commitments: the README formulas, checked against node:crypto', (t) => {
  const seed = new Uint8Array(32).fill(7);
  const miner = 'r3mes1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq';
  const sha = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();
  const be64 = (n: bigint) => { const b = Buffer.alloc(8); b.writeBigUInt64BE(n); return b; };
  const be32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; };
  const candidate = (j: bigint) => sha(Buffer.from('r3mes/poc/trap/v1'), Buffer.from(seed), be32(miner.length), Buffer.from(miner), be64(j)).readBigUInt64BE(0);
  const traps = trapNonces(seed, miner, 3n, () => false);
  t.same(traps, [candidate(0n), candidate(1n), candidate(2n)], 'candidates j = 0, 1, 2');
  t.same(trapNonces(seed, miner, 3n, (n) => n === candidate(1n)), [candidate(0n), candidate(2n), candidate(3n)], 'a claimed nonce is skipped');
  t.same(trapNonces(seed, miner, 2n, () => true), [], 'gives up after k + 64 candidates');
  t.same(trapNonces(seed, miner, 0n, () => false), []);
  const v = 'r3mes1verifier';
  const salt = Buffer.from('salt');
  t.equal(toHex(pocCommitment(v, 4n, miner, 9n, 1234n, salt)),
    sha(Buffer.from('r3mes/poc/commit/v1'), be32(v.length), Buffer.from(v), be64(4n), be32(miner.length), Buffer.from(miner), be64(9n), be64(1234n), salt).toString('hex'));
  t.notSame(pocCommitment(`${v}x`, 4n, miner, 9n, 1234n, salt), pocCommitment(v, 4n, miner, 9n, 1234n, salt), 'bound to the verifier');
  t.end();
});

t.test('sampling on chain: sampled claims and as many traps per miner, two verifiers each, reveal height', (t) => {
  const s = setup();
  const { alice, bob, checks } = toVerification(s);
  t.equal(checks.length, 8, 'two sampled claims and two traps per miner');
  t.equal(s.poc.epoch(s.h.state, 1n)!.revealHeight, 16n, 'commit [11, 16), reveal [16, 21)');
  const seed = s.h.blockHash(11n);
  for (const [miner, list] of [[alice.address, claims(0n, 5)], [bob.address, claims(1000n, 3, 7n)]] as const) {
    const expected = samplePositions(seed, miner, BigInt(list.length), 2n).map((p) => list[Number(p)]);
    const mine = checks.filter((c) => c.miner === miner && !c.trap);
    t.same(mine.map((c) => [c.nonce, c.claimedDistance]), expected.map((c) => [c.nonce, c.distance]), `${miner}: sampled claims`);
    const traps = checks.filter((c) => c.miner === miner && c.trap).map((c) => c.nonce).sort((a, b) => (a < b ? -1 : 1));
    t.same(traps, trapNonces(seed, miner, 2n, (n) => list.some((c) => c.nonce === n)).sort((a, b) => (a < b ? -1 : 1)), `${miner}: trap nonces`);
    for (const check of checks.filter((c) => c.miner === miner)) {
      t.equal(check.answers.length, 2, 'two verifiers');
      t.not(check.answers[0].verifier, check.answers[1].verifier, 'distinct');
      t.equal(check.verifier, check.answers[0].verifier);
      t.ok(check.answers.every((a) => s.h.validators.includes(a.verifier) && a.verifier !== miner), 'bonded validators, not the miner');
      t.equal(check.status, CheckStatus.CHECK_STATUS_PENDING);
      t.equal(check.deadlineHeight, 20n);
    }
  }
  const again = setup();
  toVerification(again);
  t.same(again.poc.checks(again.h.state, 1n), checks, 'deterministic');
  t.end();
});

t.test('commit then reveal: agreement confirms; refusals each their own code, state untouched', (t) => {
  const s = setup();
  const { alice } = toVerification(s);
  const check = s.poc.checks(s.h.state, 1n).find((c) => c.miner === alice.address && !c.trap)!;
  const [v1, v2] = check.answers.map((a) => a.verifier);
  const outsider = s.h.validators.find((v) => v !== v1 && v !== v2)!;
  const d = check.claimedDistance;
  rejects(t, s, () => s.commit(v1, alice.address, check.nonce, d, new Uint8Array(31)), pocErrors.invalidCommitment, 'a 31-byte commitment');
  rejects(t, s, () => s.commit(v1, alice.address, 999_999n, d), pocErrors.checkNotFound, 'an unsampled nonce');
  rejects(t, s, () => s.commit(outsider, alice.address, check.nonce, d), pocErrors.notAssignedVerifier, 'a validator not drawn');
  s.commit(v1, alice.address, check.nonce, d);
  t.equal(s.poc.check(s.h.state, 1n, alice.address, check.nonce)!.answers[0].commitHeight, 11n, 'committed');
  rejects(t, s, () => s.commit(v1, alice.address, check.nonce, d), pocErrors.alreadyCommitted, 'a second commitment');
  rejects(t, s, () => s.reveal(v1, alice.address, check.nonce, d), pocErrors.notRevealWindow, 'a reveal in the commit window');
  s.runTo(16n);
  rejects(t, s, () => s.commit(v2, alice.address, check.nonce, d), pocErrors.notCommitWindow, 'a commitment at the reveal height');
  rejects(t, s, () => s.reveal(v2, alice.address, check.nonce, d), pocErrors.notCommitted, 'a reveal without commitment');
  rejects(t, s, () => s.reveal(v1, alice.address, check.nonce, d + 1n), pocErrors.revealMismatch, 'another distance than committed');
  rejects(t, s, () => s.reveal(v1, alice.address, check.nonce, d, Buffer.from('other salt')), pocErrors.revealMismatch, 'another salt');
  const response = s.reveal(v1, alice.address, check.nonce, d) as { value: Uint8Array };
  t.same(MsgPocVerdictResponse.decode(response.value), { match: true, disputeId: 0n }, 'a revealed match');
  t.equal(s.poc.check(s.h.state, 1n, alice.address, check.nonce)!.status, CheckStatus.CHECK_STATUS_PENDING, 'open until every verifier revealed or the epoch ends');
  rejects(t, s, () => s.reveal(v1, alice.address, check.nonce, d), pocErrors.checkNotPending, 'a second reveal');
  const tokens = s.h.validatorTokens(v2);
  s.runTo(21n);
  const closed = s.poc.check(s.h.state, 1n, alice.address, check.nonce)!;
  t.equal(closed.status, CheckStatus.CHECK_STATUS_CONFIRMED, 'the claim and the one reveal agree');
  t.same(closed.answers.map((a) => [a.revealed, a.missed]), [[true, false], [false, true]]);
  t.ok(s.h.validatorTokens(v2) < tokens, 'the silent verifier pays the liveness penalty');
  rejects(t, s, () => s.reveal(v2, alice.address, check.nonce, d), pocErrors.checkNotPending, 'a closed check');
  t.end();
});

t.test('both verifiers agree: confirmed at the second reveal; traps too', (t) => {
  const s = setup();
  const { alice } = toVerification(s);
  answerAll(s, honest);
  const checks = s.poc.checks(s.h.state, 1n);
  t.ok(checks.every((c) => c.status === CheckStatus.CHECK_STATUS_CONFIRMED), 'every check confirmed before the epoch ends');
  t.same(s.poc.openDisputeIds(s.h.state), [], 'no dispute');
  s.runTo(21n);
  t.equal(s.poc.computeWeight(s.h.state, alice.address), 5n);
  t.end();
});

t.test('answers before the verification phase are refused (16)', (t) => {
  const s = setup();
  const { alice, checks } = toVerification(s);
  const epoch = s.poc.epoch(s.h.state, 1n)!;
  s.poc.setEpoch(s.h.state, { ...epoch, phase: EpochPhase.EPOCH_PHASE_SUBMISSION });
  const check = checks.find((c) => c.miner === alice.address)!;
  rejects(t, s, () => s.commit(check.verifier, alice.address, check.nonce, 1n), pocErrors.notVerificationPhase, 'epoch not verifying');
  t.end();
});

/** Alice forged her first sampled claim: its true distance is 4242. */
function forgedAnswers(s: Setup, alice: string, lazy?: string) {
  const forged = s.poc.checks(s.h.state, 1n).find((c) => c.miner === alice && !c.trap)!;
  answerAll(s, (c, v) => (c.nonce === forged.nonce && c.miner === alice ? (v === lazy ? c.claimedDistance : 4242n) : honest(c)));
  const check = s.poc.check(s.h.state, 1n, alice, forged.nonce)!;
  return { check, dispute: s.poc.dispute(s.h.state, check.disputeId)! };
}

t.test('fraud: forged distance → both verifiers recompute another → L3 → miner slashed and void; honest miner untouched', (t) => {
  const s = setup();
  const { alice, bob } = toVerification(s);
  const { check, dispute } = forgedAnswers(s, alice.address);
  t.equal(check.status, CheckStatus.CHECK_STATUS_MISMATCH);
  t.equal(dispute.status, DisputeStatus.DISPUTE_STATUS_OPEN);
  t.same(dispute.answers.map((a) => a.distance), [4242n, 4242n]);
  t.equal(dispute.panel.length, 3, 'verification panel_size arbiters');
  const excluded = new Set([alice.address, ...check.answers.map((a) => a.verifier)]);
  t.ok(dispute.panel.every((seat) => !excluded.has(seat.arbiter)), 'neither the miner nor a verifier sits');
  t.equal(s.poc.minerEpoch(s.h.state, 1n, alice.address)!.status, MinerEpochStatus.MINER_EPOCH_STATUS_DISPUTED);
  t.equal(s.h.minerStake(alice.bytes), 1000n, 'no slash before L3 decides');
  const verifierTokens = check.answers.map((a) => s.h.validatorTokens(a.verifier));
  const [first, second, third] = dispute.panel.map((seat) => seat.arbiter);
  s.vote(first, dispute.id, 4242n);
  t.equal(s.h.minerStake(alice.bytes), 1000n, 'one vote decides nothing');
  const dissenterTokens = s.h.validatorTokens(second);
  s.vote(second, dispute.id, check.claimedDistance);
  s.vote(third, dispute.id, 4242n);
  const resolved = s.poc.dispute(s.h.state, dispute.id)!;
  t.equal(resolved.status, DisputeStatus.DISPUTE_STATUS_FRAUD, '2 of 3 recomputed 4242');
  t.equal(resolved.decidedDistance, 4242n);
  t.equal(s.h.minerStake(alice.bytes), 900n, 'verification miner_slash_fraction 0.1 burned');
  t.equal(resolved.slashed, '100');
  t.equal(s.h.staking.miner(s.h.state, alice.bytes)!.jailed, true, 'jailed from mining');
  t.ok(s.h.validatorTokens(second) < dissenterTokens, 'the arbiter who sided with the forger pays the wrong-result penalty');
  t.same(check.answers.map((a) => s.h.validatorTokens(a.verifier)), verifierTokens, 'the honest verifiers pay nothing');
  t.equal(s.poc.minerEpoch(s.h.state, 1n, alice.address)!.status, MinerEpochStatus.MINER_EPOCH_STATUS_VOID);
  rejects(t, s, () => s.vote(third, dispute.id, 1n), pocErrors.disputeClosed, 'a vote after the decision');
  s.runTo(21n);
  t.equal(s.poc.computeWeight(s.h.state, alice.address), 0n, 'the void miner has no weight');
  t.equal(s.poc.computeWeight(s.h.state, bob.address), 3n, 'the honest miner: its 3 claims');
  t.equal(s.h.minerStake(bob.bytes), 1000n, 'the honest miner is not slashed');
  t.same(s.poc.schedule(s.h.state).weightMax, 3n);
  t.end();
});

t.test('a lazy verifier that copies the forged claim: the other verifier disagrees → L3 → miner slashed AND the copier penalised', (t) => {
  const s = setup();
  const { alice } = toVerification(s);
  const target = s.poc.checks(s.h.state, 1n).find((c) => c.miner === alice.address && !c.trap)!;
  const [fair, lazy] = target.answers.map((a) => a.verifier);
  const tokens = [s.h.validatorTokens(fair), s.h.validatorTokens(lazy)];
  const { check, dispute } = forgedAnswers(s, alice.address, lazy);
  t.equal(check.status, CheckStatus.CHECK_STATUS_MISMATCH, 'the copy agrees with the claim, the honest answer does not');
  for (const seat of dispute.panel.slice(0, 2)) s.vote(seat.arbiter, dispute.id, 4242n);
  t.equal(s.poc.dispute(s.h.state, dispute.id)!.status, DisputeStatus.DISPUTE_STATUS_FRAUD);
  t.equal(s.h.minerStake(alice.bytes), 900n, 'the forger is slashed');
  t.ok(s.h.validatorTokens(lazy) < tokens[1], 'the copier pays the wrong-result penalty');
  t.equal(s.h.validatorTokens(fair), tokens[0], 'the honest verifier pays nothing');
  t.end();
});

t.test('a lazy verifier on a trap (no claim to copy): its guess disagrees → L3 settles the distance → the guesser penalised, the miner untouched', (t) => {
  const s = setup();
  const { alice } = toVerification(s);
  const trap = s.poc.checks(s.h.state, 1n).find((c) => c.miner === alice.address && c.trap)!;
  const [fair, lazy] = trap.answers.map((a) => a.verifier);
  const tokens = [s.h.validatorTokens(fair), s.h.validatorTokens(lazy)];
  answerAll(s, (c, v) => (c.nonce === trap.nonce && c.miner === alice.address && v === lazy ? 0n : honest(c)));
  const check = s.poc.check(s.h.state, 1n, alice.address, trap.nonce)!;
  t.equal(check.status, CheckStatus.CHECK_STATUS_MISMATCH);
  const dispute = s.poc.dispute(s.h.state, check.disputeId)!;
  t.equal(dispute.trap, true);
  t.equal(s.poc.minerEpoch(s.h.state, 1n, alice.address)!.status, MinerEpochStatus.MINER_EPOCH_STATUS_ACTIVE, 'a trap dispute does not hold the miner');
  for (const seat of dispute.panel.slice(0, 2)) s.vote(seat.arbiter, dispute.id, trapTruth(trap.nonce));
  const resolved = s.poc.dispute(s.h.state, dispute.id)!;
  t.equal(resolved.status, DisputeStatus.DISPUTE_STATUS_SETTLED);
  t.equal(resolved.decidedDistance, trapTruth(trap.nonce));
  t.ok(s.h.validatorTokens(lazy) < tokens[1], 'the guesser pays the wrong-result penalty');
  t.equal(s.h.validatorTokens(fair), tokens[0], 'the honest verifier pays nothing');
  t.equal(s.h.minerStake(alice.bytes), 1000n, 'nobody slashes the miner');
  s.runTo(21n);
  t.equal(s.poc.computeWeight(s.h.state, alice.address), 5n, 'its claims count');
  t.end();
});

t.test('two forged claims caught in one epoch: one slash', (t) => {
  const s = setup();
  const { alice } = toVerification(s);
  const forged = s.poc.checks(s.h.state, 1n).filter((c) => c.miner === alice.address && !c.trap);
  t.equal(forged.length, 2);
  answerAll(s, (c) => (c.miner === alice.address && !c.trap ? c.claimedDistance + 1n : honest(c)));
  for (const f of forged) {
    const dispute = s.poc.dispute(s.h.state, s.poc.check(s.h.state, 1n, alice.address, f.nonce)!.disputeId)!;
    for (const seat of dispute.panel.slice(0, 2)) s.vote(seat.arbiter, dispute.id, f.claimedDistance + 1n);
    t.equal(s.poc.dispute(s.h.state, dispute.id)!.status, DisputeStatus.DISPUTE_STATUS_FRAUD);
  }
  t.equal(s.h.minerStake(alice.bytes), 900n, 'slashed once (10%), not twice');
  t.end();
});

t.test('false accusation: the panel recomputes the miner\'s distance → the lying verifier penalised, the other not, the miner keeps its weight', (t) => {
  const s = setup({}, 30n);
  const { alice } = toVerification(s);
  const target = s.poc.checks(s.h.state, 1n).find((c) => c.miner === alice.address && !c.trap)!;
  const [liar, fair] = target.answers.map((a) => a.verifier);
  const tokens = [s.h.validatorTokens(liar), s.h.validatorTokens(fair)];
  answerAll(s, (c, v) => (c.nonce === target.nonce && c.miner === alice.address && v === liar ? 1n : honest(c)));
  const dispute = s.poc.dispute(s.h.state, s.poc.check(s.h.state, 1n, alice.address, target.nonce)!.disputeId)!;
  s.runTo(21n);
  t.equal(s.poc.computeWeight(s.h.state, alice.address), 0n, 'weight held while the dispute is open');
  const [first, second] = dispute.panel.map((seat) => seat.arbiter);
  s.vote(first, dispute.id, target.claimedDistance);
  s.vote(second, dispute.id, target.claimedDistance);
  t.equal(s.poc.dispute(s.h.state, dispute.id)!.status, DisputeStatus.DISPUTE_STATUS_HONEST);
  t.equal(s.h.minerStake(alice.bytes), 1000n, 'the honest miner is not slashed');
  t.ok(s.h.validatorTokens(liar) < tokens[0], 'the lying verifier pays the wrong-result penalty');
  t.equal(s.h.validatorTokens(fair), tokens[1], 'the verifier that recomputed the claim pays nothing');
  t.equal(s.poc.computeWeight(s.h.state, alice.address), 5n, 'weight released into the table in force');
  t.equal(s.poc.minerEpoch(s.h.state, 1n, alice.address)!.status, MinerEpochStatus.MINER_EPOCH_STATUS_ACTIVE);
  t.equal(s.poc.schedule(s.h.state).weightMax, 5n);
  t.end();
});

t.test('arbiter vote refusals, and a silent panel: missed, penalised, redrawn, then expired', (t) => {
  const s = setup();
  const { alice } = toVerification(s);
  const { dispute } = forgedAnswers(s, alice.address);
  const verifiers = dispute.answers.map((a) => a.verifier);
  const outsider = s.h.validators.find((v) => !dispute.panel.some((seat) => seat.arbiter === v) && !verifiers.includes(v))!;
  rejects(t, s, () => s.vote(outsider, 99n, 1n), pocErrors.disputeNotFound, 'unknown dispute');
  rejects(t, s, () => s.vote(outsider, dispute.id, 1n), pocErrors.notArbiter, 'not on the panel');
  const [first] = dispute.panel.map((seat) => seat.arbiter);
  s.vote(first, dispute.id, 4242n);
  rejects(t, s, () => s.vote(first, dispute.id, 4242n), pocErrors.alreadyVoted, 'a second vote');
  const silent = dispute.panel.slice(1).map((seat) => seat.arbiter);
  const tokens = silent.map((a) => s.h.validatorTokens(a));
  // Opened at 16, l3VoteBlocks 5: votes until 21; at 22 the round times out.
  s.h.height = 22n;
  rejects(t, s, () => s.vote(silent[0], dispute.id, 4242n), pocErrors.late, 'after the deadline');
  s.runTo(22n);
  const redrawn = s.poc.dispute(s.h.state, dispute.id)!;
  t.equal(redrawn.panel.filter((seat) => seat.missed).length, 2, 'the silent seats are missed');
  silent.forEach((a, i) => t.ok(s.h.validatorTokens(a) < tokens[i], `${a}: liveness penalty`));
  t.equal(redrawn.round, 1n);
  t.equal(redrawn.panel.filter((seat) => !seat.missed).length, 2, 'one new seat (the only eligible validator left) beside the one that voted');
  // Nobody else votes: rounds run out (max_redraws 2), the dispute expires, nobody is slashed.
  s.runTo(60n);
  const end = s.poc.dispute(s.h.state, dispute.id)!;
  t.equal(end.status, DisputeStatus.DISPUTE_STATUS_EXPIRED);
  t.equal(s.h.minerStake(alice.bytes), 1000n, 'no slash without an L3 decision');
  t.equal(s.poc.minerEpoch(s.h.state, 1n, alice.address)!.status, MinerEpochStatus.MINER_EPOCH_STATUS_ACTIVE);
  t.end();
});

t.test('verifiers that send nothing pay the liveness penalty; the claims still count', (t) => {
  const s = setup();
  const { alice } = toVerification(s);
  const verifiers = [...new Set(s.poc.checks(s.h.state, 1n).flatMap((c) => c.answers.map((a) => a.verifier)))];
  const tokens = verifiers.map((v) => s.h.validatorTokens(v));
  s.runTo(21n);
  t.ok(s.poc.checks(s.h.state, 1n).every((c) => c.status === CheckStatus.CHECK_STATUS_MISSED && c.answers.every((a) => a.missed)));
  verifiers.forEach((v, i) => t.ok(s.h.validatorTokens(v) < tokens[i], `${v}: penalised`));
  t.equal(s.poc.computeWeight(s.h.state, alice.address), 5n);
  t.end();
});

// ---------------------------------------------------------------- weights, quiet epochs, genesis, params

t.test('compute weight → chunk quota of the keeper; replaced at the next epoch end', (t) => {
  const s = setup();
  const { alice, bob } = toVerification(s);
  const carol = s.h.registerMiner('carol', 1000n).address;
  t.equal(s.poc.chunkQuota(s.h.state, alice.address, 4n), 4n, 'before any epoch ended: the cap for all');
  s.runTo(21n);
  t.equal(s.poc.chunkQuota(s.h.state, alice.address, 4n), 4n, 'alice 5 claims: the heaviest');
  t.equal(s.poc.chunkQuota(s.h.state, bob.address, 4n), 1n + (3n * 3n + 4n) / 5n, 'bob 3 of 5');
  t.equal(s.poc.chunkQuota(s.h.state, carol, 4n), 1n, 'carol without weight: unweighted_chunk_quota');
  s.runTo(41n);
  t.same(s.poc.weights(s.h.state), [], 'epoch 2 had no claims: no weights in force');
  t.equal(s.poc.chunkQuota(s.h.state, carol, 4n), 4n, 'back to the cap for all');
  t.end();
});

t.test('epochs without PoC activity: no weights, no draws, no penalties, quota = the cap', (t) => {
  const s = setup();
  const supply = s.h.supply();
  s.runTo(100n);
  t.equal(s.poc.epoch(s.h.state, 4n)!.phase, EpochPhase.EPOCH_PHASE_ENDED, 'epochs cycle');
  t.equal(s.poc.epoch(s.h.state, 5n)!.phase, EpochPhase.EPOCH_PHASE_VERIFICATION);
  t.same(s.poc.weights(s.h.state), []);
  t.equal(s.poc.schedule(s.h.state).weightMax, 0n);
  t.equal(s.poc.chunkQuota(s.h.state, s.h.validators[0], 4n), 4n);
  t.same(s.poc.checks(s.h.state, 1n), []);
  t.equal(s.h.supply(), supply, 'nothing burned or minted');
  t.end();
});

t.test('genesis: export after activity imports to the same state', (t) => {
  const s = setup();
  const { alice } = toVerification(s);
  forgedAnswers(s, alice.address);
  s.runTo(21n);
  const exported = s.module.exportGenesis(s.h.state);
  const other = setup();
  const store = new CacheStore(other.h.state);
  other.module.initGenesis(store, exported);
  t.same(other.module.exportGenesis(store), exported, 'exportGenesis(initGenesis(g)) = g');
  t.same(s.module.exportGenesis(s.h.state), s.module.exportGenesis(s.h.state));
  const bad = structuredClone(exported) as { weights: unknown[] };
  bad.weights = [...bad.weights, ...bad.weights];
  t.throws(() => other.module.initGenesis(new CacheStore(other.h.state), bad), { codespace: 'poc', code: 3 }, 'duplicate weights refused');
  t.end();
});

t.test('params: JSON round trip and rules', (t) => {
  const s = setup();
  const json = paramsToJson(defaultParams());
  t.same(paramsFromJson(json), defaultParams());
  rejects(t, s, () => s.module.params!.set(s.h.state, { ...json, submitBlocks: json.epochBlocks }), pocErrors.invalidParams, 'submit phase fills the epoch');
  rejects(t, s, () => s.module.params!.set(s.h.state, { ...json, nHeads: '3' }), pocErrors.invalidParams, 'd_model not a multiple of n_heads');
  rejects(t, s, () => s.module.params!.set(s.h.state, { ...json, rewardWeightBps: '10001' }), pocErrors.invalidParams, 'bps above 10⁴');
  rejects(t, s, () => s.module.params!.set(s.h.state, { ...json, extra: '1' }), pocErrors.invalidParams, 'unknown key');
  t.end();
});

t.test('params rule across modules: the verification phase is at least l1_response_blocks', (t) => {
  const { params } = buildModules();
  const store = emptyState();
  const poc = params.get(store, 'poc') as Record<string, string>;
  const verification = params.get(store, 'verification') as Record<string, string>;
  t.equal(verification.l1ResponseBlocks, '400', 'the default this rule is checked against');
  t.throws(() => params.set(store, 'poc', { ...poc, epochBlocks: '600', submitBlocks: '201' }), { codespace: 'poc', code: 2, message: /l1ResponseBlocks/ }, 'a phase of 399 blocks is refused');
  params.set(store, 'poc', { ...poc, epochBlocks: '600', submitBlocks: '200' });
  t.equal((params.get(store, 'poc') as Record<string, string>).submitBlocks, '200', 'a phase of exactly 400 blocks is accepted');
  t.throws(() => params.set(store, 'verification', { ...verification, l1ResponseBlocks: '401' }), { codespace: 'verification', message: /poc verification phase/ }, 'verification cannot outgrow it either');
  t.end();
});

t.test('every poc error code has a test', (t) => {
  const all = Object.values(pocErrors).map((kind) => kind.code).filter((code) => code !== 3);
  t.same(all.filter((code) => !covered.has(code)), [], 'codes without a refusal test (3 invalid genesis is tested above)');
  t.end();
});
