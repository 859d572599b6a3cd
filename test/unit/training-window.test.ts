/**
 * training: the window state machine in-process, block by block: open (seed = hash of the
 * opening block) → submissions → accepted set + proposer draw → commit → reveal → finalized
 * (rewards hook) or failed; penalties for missing and minority reveals; genesis round trip.
 */
import t from 'tap';
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex, utf8 } from '../../app/core/bytes.ts';
import type { Context } from '../../app/core/context.ts';
import { emptyState, testContext } from '../helpers/module-context.ts';
import { draw } from '../../modules/randomness/draw.ts';
import { GenesisState as SubnetGenesis } from '../../proto/gen/r3mes/subnet/v1/genesis.ts';
import { GenesisState } from '../../proto/gen/r3mes/training/v1/genesis.ts';
import { MsgSubmitGradient } from '../../proto/gen/r3mes/training/v1/tx.ts';
import { type Exclusion, ExclusionReason, type Params, SubmissionStatus, WindowStatus } from '../../proto/gen/r3mes/training/v1/types.ts';
import { commitHash, type CommittedLosses, evalChunkSample, NO_LOSSES } from '../../modules/training/assignment.ts';
import { defaultGenesis } from '../../modules/training/genesis.ts';
import { PROPOSER_DRAW_PURPOSE } from '../../modules/training/keeper.ts';
import { defaultParams, validateParams } from '../../modules/training/params.ts';
import { testAddress, testCid, trainingTestbed } from '../helpers/training-testbed.ts';
import {
  QueryCheckpointsRequest, QueryCheckpointsResponse, QueryLatestCheckpointRequest, QueryLatestCheckpointResponse,
} from '../../proto/gen/r3mes/training/v1/query.ts';
import { QUERY_PATHS } from '../../modules/training/module.ts';
import { trainingInterface } from '../../modules/training/interface.ts';

/** A reveal without a checkpoint (README "Checkpoints"). */
const NO_CKPT = { checkpointCid: '', checkpointHash: Buffer.alloc(0) };

/** Window 1 opens at height 1: collect [1,11), challenge [11,13), commit [13,16), reveal [16,19), tally at 19. */
const TEST_PARAMS: Partial<Params> = {
  windowBlocks: 10n, chunkCount: 16n, maxSubmissionsPerMinerPerWindow: 2n, minMinerStake: '100', baseReward: '500',
  challengePeriodBlocks: 2n, aggregationProposers: 3n, commitPeriodBlocks: 3n, revealPeriodBlocks: 3n,
};
const MINERS = ['alice', 'bob', 'carol'].map((name) => testAddress(`miner-${name}`));
const VALIDATORS = ['v1', 'v2', 'v3', 'v4'].map((name) => testAddress(`validator-${name}`));

function setup(params: Partial<Params> = {}, store = emptyState(), init = true, held: Set<bigint> = new Set()) {
  const bed = trainingTestbed(undefined, { isHeld: (_store, id) => held.has(id) });
  if (init) {
    bed.subnetModule.initGenesis(store, SubnetGenesis.toJSON({ params: { subnetCount: 4n }, activations: [] }));
    bed.trainingModule.initGenesis(store, GenesisState.toJSON({ ...defaultGenesis(), params: { ...defaultParams(), ...TEST_PARAMS, ...params } }));
  }
  for (const miner of MINERS) bed.staking.minersByAddress.set(miner, { stake: 1000n, jailed: false, backend: 'webgpu' });
  bed.staking.validators = VALIDATORS.map((address, i) => ({ address, stake: BigInt(100 * (i + 1)) }));
  let height = 0n;
  const contexts: Context[] = [];
  const runTo = (target: bigint): Context => {
    while (height < target) {
      height += 1n;
      const ctx = testContext(store, { height });
      bed.training.beginBlock(ctx);
      contexts.push(ctx);
    }
    return testContext(store, { height: target });
  };
  const events = (type: string) => contexts.flatMap((ctx) => ctx.events.events.filter((e) => e.type === type));
  return { ...bed, store, runTo, events, setHeight: (h: bigint) => { height = h; } };
}
type Setup = ReturnType<typeof setup>;

function submit(s: Setup, ctx: Context, miner: string, windowId = 1n): void {
  const next = s.training.assignment(s.store, windowId, miner);
  s.training.submitGradient(ctx, MsgSubmitGradient.fromPartial({
    miner, windowId, subnet: next.subnet, modelVersion: 1n,
    gradientCid: testCid(`gradient/${miner}/${windowId}/${next.nextOrdinal}`),
    gradientHash: Buffer.from(sha256(utf8(`h/${miner}/${next.nextOrdinal}`))), traceRoot: Buffer.alloc(32, 1),
    chunkIndex: next.chunkIndex, lossBefore: 100n, lossAfter: 90n, backend: 'cpu',
  }));
}

const nonceOf = (proposer: string) => Buffer.from(sha256(utf8(`nonce/${proposer}`)));
const resultOf = (label: string) => ({ cid: testCid(label), hash: Buffer.from(sha256(utf8(label))) });

/** "Nothing to aggregate": the empty result a proposer reveals when it excludes every input. */
const NOTHING = { cid: '', hash: Buffer.alloc(0) };

/**
 * Each proposer → the result (and exclusions) it commits and reveals; `undefined` result = commits
 * nothing; reveal false = commits, never reveals.
 */
function aggregate(
  s: Setup,
  plan: Array<{ proposer: string; result?: { cid: string; hash: Buffer }; excluded?: Exclusion[]; reveal?: boolean; losses?: CommittedLosses; checkpoint?: typeof NO_CKPT }>,
  windowId = 1n, beforeTally: () => void = () => {},
): void {
  const window = s.training.window(s.store, windowId)!;
  const commitCtx = s.runTo(window.commitStartHeight);
  for (const { proposer, result, excluded = [], losses = NO_LOSSES, checkpoint = NO_CKPT } of plan) {
    if (result === undefined) continue;
    s.training.commitAggregation(commitCtx, { proposer, windowId, commitment: Buffer.from(commitHash(result.cid, result.hash, nonceOf(proposer), excluded, losses, checkpoint)) });
  }
  const revealCtx = s.runTo(window.revealStartHeight);
  for (const { proposer, result, excluded = [], reveal, losses = NO_LOSSES, checkpoint = NO_CKPT } of plan) {
    if (result === undefined || reveal === false) continue;
    s.training.revealAggregation(revealCtx, { proposer, windowId, resultCid: result.cid, resultHash: result.hash, nonce: nonceOf(proposer), excluded, ...losses, ...checkpoint });
  }
  beforeTally();
  s.runTo(window.revealEndHeight);
}

/** Window 1 with submissions from every miner (alice twice), proposers drawn. */
function withSubmissions(params: Partial<Params> = {}) {
  const s = setup(params);
  const ctx = s.runTo(2n);
  submit(s, ctx, MINERS[0]);
  submit(s, ctx, MINERS[0]);
  submit(s, ctx, MINERS[1]);
  submit(s, ctx, MINERS[2]);
  s.runTo(13n);
  return { s, proposers: s.training.window(s.store, 1n)!.proposers };
}

t.test('a window opens at height 1 with the hash of its opening block as seed; the next at collect end', (t) => {
  const s = setup();
  s.runTo(1n);
  const window = s.training.window(s.store, 1n)!;
  t.equal(window.status, WindowStatus.WINDOW_STATUS_COLLECTING);
  t.equal(toHex(window.seed), toHex(testContext(s.store, { height: 1n }).block.hash), 'seed = hash of block 1');
  t.equal(window.openHeight, 1n);
  t.equal(window.modelVersion, 1n);
  t.equal(window.subnetCount, 4n, 'min(subnet_count 4, 8 layers)');
  t.equal(window.chunkCount, 16n);
  t.same(
    [window.collectEndHeight, window.commitStartHeight, window.revealStartHeight, window.revealEndHeight],
    [11n, 13n, 16n, 19n],
  );
  t.equal(s.training.currentWindow(s.store)!.id, 1n);
  const opened = s.events('window_opened')[0];
  t.same(Object.fromEntries(opened.attributes.map((a) => [a.key, a.value])), {
    window: '1', open_height: '1', model_version: '1', subnet_count: '4', chunk_count: '16', dataset_id: '0', collect_end_height: '11', seed: toHex(window.seed),
  });

  s.runTo(10n);
  t.equal(s.training.window(s.store, 2n), undefined, 'no second window while the first collects');
  s.runTo(11n);
  t.equal(s.training.window(s.store, 1n)!.status, WindowStatus.WINDOW_STATUS_AGGREGATING);
  const second = s.training.window(s.store, 2n)!;
  t.equal(second.status, WindowStatus.WINDOW_STATUS_COLLECTING);
  t.equal(second.openHeight, 11n);
  t.equal(toHex(second.seed), toHex(testContext(s.store, { height: 11n }).block.hash), 'seed = hash of block 11');
  t.not(toHex(second.seed), toHex(window.seed));
  t.equal(s.events('window_collected').length, 1);
  t.end();
});

t.test('without an active model version no window opens; one opens the block a version is active', (t) => {
  const s = setup();
  s.models.versions = [];
  s.runTo(5n);
  t.equal(s.training.currentWindow(s.store), undefined);
  s.models.versions.push({ number: 3n, status: 'active', nLayers: 2 });
  s.runTo(6n);
  const window = s.training.currentWindow(s.store)!;
  t.equal(window.id, 1n);
  t.equal(window.openHeight, 6n);
  t.equal(window.modelVersion, 3n);
  t.equal(window.subnetCount, 2n, 'subnet_count capped at 2 layers');
  t.end();
});

t.test('full window: submissions → accepted set → proposers drawn → commit → reveal → finalized, rewards paid', (t) => {
  const s = setup();
  const ctx = s.runTo(2n);
  submit(s, ctx, MINERS[0]);
  submit(s, ctx, MINERS[0]);
  submit(s, ctx, MINERS[1]);
  submit(s, ctx, MINERS[2]);
  s.training.rejectSubmission(s.runTo(12n), 4n, 'challenge upheld'); // carol's, during the challenge period
  t.same(s.training.window(s.store, 1n)!.proposers, [], 'no proposers before the commit phase');

  s.runTo(13n);
  const window = s.training.window(s.store, 1n)!;
  t.equal(window.acceptedCount, 3n);
  t.same(s.training.windowSubmissions(s.store, 1n).map((x) => x.status), [
    SubmissionStatus.SUBMISSION_STATUS_ACCEPTED, SubmissionStatus.SUBMISSION_STATUS_ACCEPTED,
    SubmissionStatus.SUBMISSION_STATUS_ACCEPTED, SubmissionStatus.SUBMISSION_STATUS_REJECTED,
  ]);
  const expected = draw({
    seed: testContext(s.store, { height: 13n }).block.hash, purpose: PROPOSER_DRAW_PURPOSE, subjectId: '1',
    candidates: s.staking.validators.map((v) => ({ id: v.address, stake: v.stake })), k: 3,
  }).map((c) => c.id);
  t.same(window.proposers, expected, 'stake-weighted draw among bonded validators, seeded by block 13');
  t.equal(s.events('aggregation_proposer').length, 3);

  const result = resultOf('update-1');
  aggregate(s, window.proposers.map((proposer) => ({ proposer, result })));
  const done = s.training.window(s.store, 1n)!;
  t.equal(done.status, WindowStatus.WINDOW_STATUS_FINALIZED);
  t.equal(done.resultCid, result.cid);
  t.equal(toHex(done.resultHash), toHex(result.hash));
  t.equal(done.closedHeight, 19n);
  t.same(s.staking.penalties, [], 'nobody penalised');
  t.equal(s.rewards.calls.length, 1);
  const call = s.rewards.calls[0];
  t.equal(call.windowId, 1n);
  t.equal(call.height, 19n);
  t.equal(call.baseReward, 500n);
  const miners = [{ address: MINERS[0], weight: 2n }, { address: MINERS[1], weight: 1n }].sort((a, b) => (a.address < b.address ? -1 : 1));
  t.same(call.miners, miners, 'accepted submissions per miner, sorted by address; the rejected one is left out');
  t.same(call.aggregators, window.proposers.map((address) => ({ address, weight: 1n })));
  t.match(s.events('window_finalized')[0].attributes.find((a) => a.key === 'result_cid'), { value: result.cid, index: true });

  s.runTo(40n);
  t.equal(s.rewards.calls.filter((c) => c.windowId === 1n).length, 1, 'a finalized window is not processed again');
  t.end();
});

t.test('minority reveal: the majority finalizes, the minority proposer is penalised and unpaid', (t) => {
  const { s, proposers } = withSubmissions();
  const honest = resultOf('honest');
  aggregate(s, [
    { proposer: proposers[0], result: honest },
    { proposer: proposers[1], result: resultOf('lazy') },
    { proposer: proposers[2], result: honest },
  ]);
  const window = s.training.window(s.store, 1n)!;
  t.equal(window.status, WindowStatus.WINDOW_STATUS_FINALIZED);
  t.equal(window.resultCid, honest.cid);
  t.same(s.staking.penalties, [{ address: proposers[1], windowId: 1n, fault: 'minority-reveal', height: 19n }]);
  t.same(s.rewards.calls[0].aggregators.map((a) => a.address), [proposers[0], proposers[2]]);
  t.equal(s.events('aggregator_penalized').length, 1);
  t.end();
});

t.test('missing reveals (no commit, or commit without reveal) are penalised; 2 of 3 still finalize', (t) => {
  const { s, proposers } = withSubmissions();
  const honest = resultOf('honest');
  aggregate(s, [
    { proposer: proposers[0], result: honest },
    { proposer: proposers[1], result: honest },
    { proposer: proposers[2], result: honest, reveal: false },
  ]);
  t.equal(s.training.window(s.store, 1n)!.status, WindowStatus.WINDOW_STATUS_FINALIZED);
  t.same(s.staking.penalties.map((p) => [p.address, p.fault]), [[proposers[2], 'missing-reveal']]);

  const second = withSubmissions();
  aggregate(second.s, [
    { proposer: second.proposers[0], result: honest },
    { proposer: second.proposers[1], result: honest },
    { proposer: second.proposers[2] },
  ]);
  t.equal(second.s.training.window(second.s.store, 1n)!.status, WindowStatus.WINDOW_STATUS_FINALIZED);
  t.same(second.s.staking.penalties.map((p) => [p.address, p.fault]), [[second.proposers[2], 'missing-reveal']]);
  t.end();
});

t.test('no majority → failed: all different, or one reveal of three; missing reveals still penalised', (t) => {
  const { s, proposers } = withSubmissions();
  aggregate(s, proposers.map((proposer, i) => ({ proposer, result: resultOf(`r${i}`) })));
  const window = s.training.window(s.store, 1n)!;
  t.equal(window.status, WindowStatus.WINDOW_STATUS_FAILED);
  t.equal(window.failureReason, 'no majority');
  t.equal(window.resultCid, '');
  t.equal(window.closedHeight, 19n);
  t.same(s.rewards.calls, [], 'no rewards');
  t.same(s.staking.penalties, [], 'everyone revealed: nobody can be called the minority');
  t.match(s.events('window_failed')[0].attributes, [{ key: 'window', value: '1' }, { key: 'reason', value: 'no majority' }]);

  const lone = withSubmissions();
  aggregate(lone.s, [{ proposer: lone.proposers[0], result: resultOf('x') }, { proposer: lone.proposers[1] }, { proposer: lone.proposers[2] }]);
  t.equal(lone.s.training.window(lone.s.store, 1n)!.status, WindowStatus.WINDOW_STATUS_FAILED, '1 of 3 is no majority');
  t.same(lone.s.staking.penalties.map((p) => p.address), [lone.proposers[1], lone.proposers[2]]);

  const silent = withSubmissions();
  aggregate(silent.s, silent.proposers.map((proposer) => ({ proposer })));
  t.equal(silent.s.training.window(silent.s.store, 1n)!.failureReason, 'no reveals');
  t.equal(silent.s.staking.penalties.length, 3);
  t.end();
});

t.test('an even split of 4 proposers is no majority', (t) => {
  const { s, proposers } = withSubmissions({ aggregationProposers: 4n });
  t.equal(proposers.length, 4);
  const a = resultOf('a');
  const b = resultOf('b');
  aggregate(s, proposers.map((proposer, i) => ({ proposer, result: i < 2 ? a : b })));
  t.equal(s.training.window(s.store, 1n)!.status, WindowStatus.WINDOW_STATUS_FAILED);
  t.end();
});

t.test('fewer bonded validators than aggregation_proposers: all of them are drawn', (t) => {
  const s = setup();
  s.staking.validators = s.staking.validators.slice(0, 2);
  const ctx = s.runTo(2n);
  submit(s, ctx, MINERS[0]);
  s.runTo(13n);
  const proposers = s.training.window(s.store, 1n)!.proposers;
  t.same([...proposers].sort(), VALIDATORS.slice(0, 2).sort());
  aggregate(s, proposers.map((proposer) => ({ proposer, result: resultOf('ok') })));
  t.equal(s.training.window(s.store, 1n)!.status, WindowStatus.WINDOW_STATUS_FINALIZED);
  t.end();
});

t.test('a window without accepted submissions, or without validators, fails when aggregation would start', (t) => {
  const s = setup();
  s.runTo(13n);
  let window = s.training.window(s.store, 1n)!;
  t.equal(window.status, WindowStatus.WINDOW_STATUS_FAILED);
  t.equal(window.failureReason, 'no accepted submissions');
  t.equal(window.closedHeight, 13n);
  t.same(window.proposers, []);

  const v = setup();
  v.staking.validators = [];
  submit(v, v.runTo(2n), MINERS[0]);
  v.runTo(13n);
  window = v.training.window(v.store, 1n)!;
  t.equal(window.status, WindowStatus.WINDOW_STATUS_FAILED);
  t.equal(window.failureReason, 'no bonded validators to aggregate');
  t.end();
});

t.test('with challenge_period_blocks 0, proposers are drawn in the block collection ends', (t) => {
  const s = setup({ challengePeriodBlocks: 0n });
  submit(s, s.runTo(2n), MINERS[0]);
  s.runTo(11n);
  const window = s.training.window(s.store, 1n)!;
  t.equal(window.status, WindowStatus.WINDOW_STATUS_AGGREGATING);
  t.equal(window.proposers.length, 3);
  t.equal(window.commitStartHeight, 11n);
  t.end();
});

t.test('parameter changes apply to windows opened after them', (t) => {
  const s = setup();
  s.runTo(2n);
  s.trainingModule.params!.set(s.store, { ...(s.trainingModule.params!.get(s.store) as object), windowBlocks: '5' });
  s.runTo(11n);
  t.equal(s.training.window(s.store, 1n)!.collectEndHeight, 11n, 'window 1 keeps its heights');
  t.equal(s.training.window(s.store, 2n)!.collectEndHeight, 16n, 'window 2 has 5 blocks');
  t.end();
});

t.test('genesis: default round trip; mid-window export → import → export is identical and the chain continues identically', (t) => {
  const fresh = setup({}, emptyState(), false);
  const g0 = GenesisState.toJSON(defaultGenesis());
  fresh.trainingModule.initGenesis(fresh.store, g0);
  t.same(fresh.trainingModule.exportGenesis(fresh.store), g0);
  t.same(fresh.trainingModule.defaultGenesis(), g0);
  t.equal(((g0 as { params: Record<string, unknown> }).params).aggregationRule, 'median', 'the default rule is in the default genesis');
  const krum = GenesisState.toJSON({ ...defaultGenesis(), params: { ...defaultParams(), aggregationRule: 'krum:1:2' } });
  const other = setup({}, emptyState(), false);
  other.trainingModule.initGenesis(other.store, JSON.parse(JSON.stringify(krum)));
  t.same(other.trainingModule.exportGenesis(other.store), krum, 'a non-default rule survives the round trip');
  t.equal(other.training.params(other.store).aggregationRule, 'krum:1:2');

  // Window 1 in its reveal phase with commits and one reveal; window 2 collecting with submissions.
  const s = setup();
  const early = s.runTo(2n);
  for (const miner of [MINERS[0], MINERS[0], MINERS[1], MINERS[2]]) submit(s, early, miner);
  s.training.rejectSubmission(s.runTo(12n), 3n, 'x');
  const commitCtx = s.runTo(13n);
  const proposers = s.training.window(s.store, 1n)!.proposers;
  const result = resultOf('r');
  for (const proposer of proposers) {
    s.training.commitAggregation(commitCtx, { proposer, windowId: 1n, commitment: Buffer.from(commitHash(result.cid, result.hash, nonceOf(proposer))) });
  }
  submit(s, commitCtx, MINERS[1], 2n);
  const revealCtx = s.runTo(16n);
  s.training.revealAggregation(revealCtx, { proposer: proposers[0], windowId: 1n, resultCid: result.cid, resultHash: result.hash, nonce: nonceOf(proposers[0]), excluded: [], lossBase: 0n, lossAggregate: 0n, ...NO_CKPT });

  const g = s.trainingModule.exportGenesis(s.store);
  const json = JSON.parse(JSON.stringify(g));
  const copy = setup({}, emptyState(), false);
  copy.subnetModule.initGenesis(copy.store, SubnetGenesis.toJSON({ params: { subnetCount: 4n }, activations: [] }));
  copy.trainingModule.initGenesis(copy.store, json);
  t.same(copy.trainingModule.exportGenesis(copy.store), g, 'exportGenesis(initGenesis(g)) = g');
  t.equal(copy.training.schedule(copy.store).collectingWindowId, 2n, 'collecting window derived');
  t.equal(copy.training.assignment(copy.store, 2n, MINERS[1]).nextOrdinal, 1n, 'per-miner counts derived');

  // Both continue: the same reveals, the same blocks, the same state.
  copy.setHeight(16n);
  for (const target of [s, copy]) {
    const ctx = testContext(target.store, { height: 17n });
    target.training.revealAggregation(ctx, { proposer: proposers[1], windowId: 1n, resultCid: result.cid, resultHash: result.hash, nonce: nonceOf(proposers[1]), excluded: [], lossBase: 0n, lossAggregate: 0n, ...NO_CKPT });
    target.runTo(25n);
  }
  t.same(copy.trainingModule.exportGenesis(copy.store), s.trainingModule.exportGenesis(s.store));
  t.equal(copy.training.window(copy.store, 1n)!.status, WindowStatus.WINDOW_STATUS_FINALIZED);
  t.same(copy.rewards.calls, s.rewards.calls);
  t.end();
});

// ------------------------------------------------------------------ exclusions

const UNAVAILABLE = ExclusionReason.EXCLUSION_REASON_UNAVAILABLE;
const WRONG_MODEL = ExclusionReason.EXCLUSION_REASON_WRONG_MODEL;
const attrs = (e: { attributes: Array<{ key: string; value: string }> }) => Object.fromEntries(e.attributes.map((a) => [a.key, a.value]));

/** Window 1 with alice's submission (id 1, honest) and bob's (id 2, the bad one), proposers drawn. */
function honestAndBad() {
  const s = setup();
  const ctx = s.runTo(2n);
  submit(s, ctx, MINERS[0]);
  submit(s, ctx, MINERS[1]);
  s.runTo(13n);
  const window = s.training.window(s.store, 1n)!;
  return { s, proposers: window.proposers, accepted: window.acceptedCount };
}

t.test('one honest and one bad submission: every proposer reveals the result with the exclusion → finalized, the bad one EXCLUDED and unpaid, nobody penalised', (t) => {
  const { s, proposers, accepted } = honestAndBad();
  t.equal(accepted, 2n);
  const update = resultOf('update-of-alice-only');
  const excluded = [{ submissionId: 2n, reason: WRONG_MODEL }];
  aggregate(s, proposers.map((proposer) => ({ proposer, result: update, excluded })));

  const window = s.training.window(s.store, 1n)!;
  t.equal(window.status, WindowStatus.WINDOW_STATUS_FINALIZED);
  t.equal(window.resultCid, update.cid, 'the honest update is the window\'s');
  t.equal(window.excludedCount, 1n);
  t.same(s.training.commit(s.store, 1n, proposers[0])!.excluded, excluded, 'the reveal\'s exclusions are stored');
  const [alice, bob] = [s.training.submission(s.store, 1n)!, s.training.submission(s.store, 2n)!];
  t.equal(alice.status, SubmissionStatus.SUBMISSION_STATUS_ACCEPTED);
  t.equal(alice.exclusionReason, ExclusionReason.EXCLUSION_REASON_UNSPECIFIED);
  t.equal(bob.status, SubmissionStatus.SUBMISSION_STATUS_EXCLUDED);
  t.equal(bob.exclusionReason, WRONG_MODEL);
  const events = s.events('submission_excluded');
  t.equal(events.length, 1);
  t.same(attrs(events[0]), { window: '1', submission: '2', miner: MINERS[1], reason: 'wrong-model' });
  t.same(s.staking.penalties, [], 'no proposer penalised for a miner\'s fault');
  t.equal(s.rewards.calls.length, 1);
  t.same(s.rewards.calls[0].miners, [{ address: MINERS[0], weight: 1n }], 'the excluded miner has no reward weight');
  t.same(s.rewards.calls[0].aggregators.map((a) => a.address), proposers);
  t.equal(attrs(s.events('window_finalized')[0]).excluded, '1');
  t.end();
});

t.test('the same result with other exclusions is another reveal: the minority is penalised, the majority\'s exclusions apply', (t) => {
  const { s, proposers } = honestAndBad();
  const update = resultOf('u');
  const excluded = [{ submissionId: 2n, reason: UNAVAILABLE }];
  aggregate(s, [
    { proposer: proposers[0], result: update, excluded },
    { proposer: proposers[1], result: update, excluded: [{ submissionId: 2n, reason: WRONG_MODEL }] },
    { proposer: proposers[2], result: update, excluded },
  ]);
  t.equal(s.training.window(s.store, 1n)!.status, WindowStatus.WINDOW_STATUS_FINALIZED);
  t.same(s.staking.penalties.map((p) => [p.address, p.fault]), [[proposers[1], 'minority-reveal']]);
  t.equal(s.training.submission(s.store, 2n)!.exclusionReason, UNAVAILABLE, 'the majority\'s reason');

  // Without a majority nothing is excluded: the submissions stay ACCEPTED.
  const split = honestAndBad();
  aggregate(split.s, [
    { proposer: split.proposers[0], result: update, excluded },
    { proposer: split.proposers[1], result: update },
    { proposer: split.proposers[2], result: resultOf('other'), excluded },
  ]);
  t.equal(split.s.training.window(split.s.store, 1n)!.failureReason, 'no majority');
  t.same(split.s.training.windowSubmissions(split.s.store, 1n).map((x) => x.status), [SubmissionStatus.SUBMISSION_STATUS_ACCEPTED, SubmissionStatus.SUBMISSION_STATUS_ACCEPTED]);
  t.same(split.s.events('submission_excluded'), []);
  t.end();
});

t.test('all inputs excluded: a majority of "nothing to aggregate" reveals fails the window without penalising them; the submissions are EXCLUDED', (t) => {
  const { s, proposers } = honestAndBad();
  const all = [{ submissionId: 1n, reason: UNAVAILABLE }, { submissionId: 2n, reason: UNAVAILABLE }];
  aggregate(s, proposers.map((proposer) => ({ proposer, result: NOTHING, excluded: all })));
  const window = s.training.window(s.store, 1n)!;
  t.equal(window.status, WindowStatus.WINDOW_STATUS_FAILED);
  t.equal(window.failureReason, 'all inputs excluded');
  t.equal(window.resultCid, '');
  t.equal(window.excludedCount, 2n);
  t.same(s.staking.penalties, [], 'honest proposers are not penalised when no input could be fetched');
  t.same(s.rewards.calls, [], 'no rewards');
  t.same(s.training.windowSubmissions(s.store, 1n).map((x) => [x.status, x.exclusionReason]), [
    [SubmissionStatus.SUBMISSION_STATUS_EXCLUDED, UNAVAILABLE], [SubmissionStatus.SUBMISSION_STATUS_EXCLUDED, UNAVAILABLE],
  ]);
  t.same(s.events('submission_excluded').map((e) => attrs(e).submission), ['1', '2']);
  t.same(attrs(s.events('window_failed')[0]), { window: '1', reason: 'all inputs excluded', phase: 'tally' });

  // It is a majority like any other: a proposer that did not reveal is still missing-reveal.
  const two = honestAndBad();
  aggregate(two.s, two.proposers.map((proposer, i) => ({ proposer, result: i < 2 ? NOTHING : undefined, excluded: all })));
  t.equal(two.s.training.window(two.s.store, 1n)!.failureReason, 'all inputs excluded');
  t.same(two.s.staking.penalties.map((p) => [p.address, p.fault]), [[two.proposers[2], 'missing-reveal']]);

  // Whereas before this reveal existed, a window whose inputs nobody could fetch got no reveal at all:
  const silent = honestAndBad();
  aggregate(silent.s, silent.proposers.map((proposer) => ({ proposer })));
  t.equal(silent.s.training.window(silent.s.store, 1n)!.failureReason, 'no reveals');
  t.equal(silent.s.staking.penalties.length, 3, 'nobody revealed: every drawn proposer is missing-reveal');
  t.end();
});

t.test('genesis round trip keeps EXCLUDED submissions and revealed exclusions', (t) => {
  const { s, proposers } = honestAndBad();
  aggregate(s, proposers.map((proposer) => ({ proposer, result: resultOf('u'), excluded: [{ submissionId: 2n, reason: WRONG_MODEL }] })));
  const g = s.trainingModule.exportGenesis(s.store);
  const copy = setup({}, emptyState(), false);
  copy.subnetModule.initGenesis(copy.store, SubnetGenesis.toJSON({ params: { subnetCount: 4n }, activations: [] }));
  copy.trainingModule.initGenesis(copy.store, JSON.parse(JSON.stringify(g)));
  t.same(copy.trainingModule.exportGenesis(copy.store), g);
  t.equal(copy.training.submission(copy.store, 2n)!.status, SubmissionStatus.SUBMISSION_STATUS_EXCLUDED);

  const bad = JSON.parse(JSON.stringify(g)) as { submissions: Array<{ exclusionReason: string }> };
  bad.submissions[1].exclusionReason = 'EXCLUSION_REASON_UNSPECIFIED';
  const other = setup({}, emptyState(), false);
  other.subnetModule.initGenesis(other.store, SubnetGenesis.toJSON({ params: { subnetCount: 4n }, activations: [] }));
  t.throws(() => other.trainingModule.initGenesis(other.store, bad), { codespace: 'training', code: 3 }, 'an EXCLUDED submission without a reason');
  t.end();
});

t.test('a submission held by an open dispute is left PENDING at aggregation start, out of the aggregate', (t) => {
  const held = new Set<bigint>([3n]);
  const s = setup({}, emptyState(), true, held);
  const ctx = s.runTo(2n);
  submit(s, ctx, MINERS[0]);
  submit(s, ctx, MINERS[1]);
  submit(s, ctx, MINERS[2]);
  s.runTo(13n);
  const window = s.training.window(s.store, 1n)!;
  t.equal(window.acceptedCount, 2n, 'the held submission is not counted');
  t.same(s.training.windowSubmissions(s.store, 1n).map((x) => [x.id, x.status]), [
    [1n, SubmissionStatus.SUBMISSION_STATUS_ACCEPTED], [2n, SubmissionStatus.SUBMISSION_STATUS_ACCEPTED], [3n, SubmissionStatus.SUBMISSION_STATUS_PENDING],
  ]);
  // The dispute ends against the miner after aggregation started: rejectSubmission still applies.
  held.delete(3n);
  s.training.rejectSubmission(s.runTo(14n), 3n, 'verification dispute 1: miner at fault');
  t.equal(s.training.submission(s.store, 3n)!.status, SubmissionStatus.SUBMISSION_STATUS_REJECTED);
  const result = resultOf('held-out');
  aggregate(s, window.proposers.map((proposer) => ({ proposer, result })));
  t.equal(s.training.window(s.store, 1n)!.status, WindowStatus.WINDOW_STATUS_FINALIZED);
  t.same(s.rewards.calls[0]!.miners.map((m) => m.address).sort(), [MINERS[0], MINERS[1]].sort(), 'only the accepted miners are paid');
  t.end();
});

t.test('chunkTokens: only 2048, the chunk the worker trains, is a valid value', (t) => {
  t.doesNotThrow(() => validateParams({ ...defaultParams(), chunkTokens: 2048n }));
  for (const bad of [1n, 1024n, 4096n]) t.throws(() => validateParams({ ...defaultParams(), chunkTokens: bad }), /chunk/i, `chunkTokens ${bad} refused`);
  t.end();
});

t.test('a window names the dataset of its model version; its chunks never exceed the dataset', (t) => {
  const s = setup({ chunkCount: 16n });
  s.models.datasets.set(1n, { id: 7n, chunkCount: 5n, heldOutChunkCount: 2n });
  s.runTo(1n);
  const window = s.training.window(s.store, 1n)!;
  t.equal(window.datasetId, 7n, 'the version\'s dataset, recorded at opening');
  t.equal(window.chunkCount, 5n, 'min(chunk_count param 16, the dataset\'s 5 train chunks)');
  t.match(Object.fromEntries(s.events('window_opened')[0].attributes.map((a) => [a.key, a.value])), { dataset_id: '7', chunk_count: '5' });
  // A later registration changes the next window, not the open one.
  s.models.datasets.set(1n, { id: 8n, chunkCount: 4096n, heldOutChunkCount: 0n });
  s.runTo(11n);
  t.equal(s.training.window(s.store, 1n)!.datasetId, 7n);
  const second = s.training.window(s.store, 2n)!;
  t.equal(second.datasetId, 8n);
  t.equal(second.chunkCount, 16n, 'a dataset larger than the param: the param');
  const first = s.training.window(s.store, 1n)!;
  for (const miner of MINERS) t.ok(s.training.assignment(s.store, 2n, miner).chunkIndex < 16n);
  t.ok(MINERS.every((miner) => s.training.assignment(s.store, 1n, miner).chunkIndex < first.chunkCount), 'window 1 draws from the dataset\'s 5 chunks');
  t.end();
});

// ---------------------------------------------------------------- Proof of Learning

const losses = (lossBase: bigint, lossAggregate: bigint): CommittedLosses => ({ lossBase, lossAggregate });

/** Window 1 (4 submissions), every proposer revealing `result` with the given losses; min_improvement 5. */
function gated(all: CommittedLosses, params: Partial<Params> = {}) {
  const { s, proposers } = withSubmissions({ minImprovement: 5n, ...params });
  const result = resultOf('gated');
  aggregate(s, proposers.map((proposer) => ({ proposer, result, losses: all })));
  return { s, proposers, result, window: s.training.window(s.store, 1n)! };
}

t.test('PoL: the evaluation sample is drawn at aggregation start from that block\'s beacon: distinct held-out chunks, ascending', (t) => {
  const { s } = withSubmissions();
  const window = s.training.window(s.store, 1n)!;
  t.equal(window.evalChunkCount, 4n, 'eval_chunks fixed at opening from the params');
  t.equal(window.heldoutChunkCount, 303n);
  const expected = evalChunkSample(testContext(s.store, { height: 13n }).block.hash, 1n, 4n, 303n);
  t.same(window.evalChunks, expected, 'seeded by block 13 (aggregation start), not by the opening block');
  t.not(toHex(testContext(s.store, { height: 13n }).block.hash), toHex(window.seed));
  t.equal(new Set(window.evalChunks).size, 4);
  t.ok(window.evalChunks.every((c, i) => c < 303n && (i === 0 || c > window.evalChunks[i - 1])), 'distinct, ascending, in the held-out split');
  t.same(evalChunkSample(Buffer.alloc(32, 7), 9n, 303n, 303n), Array.from({ length: 303 }, (_, i) => BigInt(i)), 'drawing the whole split gives every chunk once');
  t.throws(() => evalChunkSample(Buffer.alloc(32), 1n, 4n, 3n), /distinct/);
  t.end();
});

t.test('PoL gate: an aggregate that improves the held-out loss by at least min_improvement is applied, losses on chain', (t) => {
  const { s, window, result } = gated(losses(1000n, 990n));
  t.equal(window.status, WindowStatus.WINDOW_STATUS_FINALIZED);
  t.equal(window.lossBase, 1000n);
  t.equal(window.lossAggregate, 990n);
  t.equal(window.resultCid, result.cid);
  const event = attrs(s.events('window_finalized')[0]);
  t.equal(event.loss_base, '1000');
  t.equal(event.loss_aggregate, '990');
  t.equal(s.events('window_not_applied').length, 0);
  t.equal(s.rewards.calls.length, 1);
  t.end();
});

t.test('PoL gate: an improvement of exactly min_improvement is applied (tie at the threshold), one less is not', (t) => {
  t.equal(gated(losses(1000n, 995n)).window.status, WindowStatus.WINDOW_STATUS_FINALIZED, '1000 − 995 = 5 = min_improvement: applied');
  t.equal(gated(losses(1000n, 996n)).window.status, WindowStatus.WINDOW_STATUS_NOT_APPLIED, '4 < 5: not applied');
  t.equal(gated(losses(1000n, 1000n), { minImprovement: 0n }).window.status, WindowStatus.WINDOW_STATUS_FINALIZED, 'min_improvement 0: an unchanged loss is applied');
  t.end();
});

t.test('PoL gate: an aggregate that worsens the held-out loss finalizes NOT_APPLIED, both losses on chain, miners still paid', (t) => {
  const { s, window, result, proposers } = gated(losses(1000n, 1200n));
  t.equal(window.status, WindowStatus.WINDOW_STATUS_NOT_APPLIED);
  t.equal(window.resultCid, result.cid, 'the result is recorded (auditable), just not applied');
  t.equal(window.lossBase, 1000n);
  t.equal(window.lossAggregate, 1200n);
  t.equal(window.closedHeight, 19n);
  t.equal(s.events('window_finalized').length, 0);
  const event = attrs(s.events('window_not_applied')[0]);
  t.same([event.window, event.loss_base, event.loss_aggregate, event.min_improvement], ['1', '1000', '1200', '5']);
  t.equal(s.rewards.calls.length, 1, 'verified work is paid (README "Proof of Learning")');
  t.equal(s.rewards.calls[0].miners.reduce((sum, m) => sum + m.weight, 0n), 4n, 'every accepted submission, full weight');
  t.same(s.rewards.calls[0].aggregators.map((a) => a.address), proposers);
  t.same(s.staking.penalties, []);
  t.equal(s.training.windowInfo(s.store, 1n)!.status, 'not-applied');
  t.end();
});

t.test('PoL gate: proposers that agree on the result but not on the losses are different reveals', (t) => {
  {
    const { s, proposers } = withSubmissions();
    const result = resultOf('same');
    aggregate(s, proposers.map((proposer, i) => ({ proposer, result, losses: losses(1000n, 900n + BigInt(i)) })));
    const window = s.training.window(s.store, 1n)!;
    t.equal(window.status, WindowStatus.WINDOW_STATUS_FAILED, 'three different evaluations: no majority');
    t.equal(window.failureReason, 'no majority');
    t.equal(s.rewards.calls.length, 0);
  }
  {
    const { s, proposers } = withSubmissions();
    const result = resultOf('same');
    aggregate(s, [
      { proposer: proposers[0], result, losses: losses(1000n, 900n) },
      { proposer: proposers[1], result, losses: losses(1000n, 1100n) },
      { proposer: proposers[2], result, losses: losses(1000n, 900n) },
    ]);
    const window = s.training.window(s.store, 1n)!;
    t.equal(window.status, WindowStatus.WINDOW_STATUS_FINALIZED, '2 of 3 agree on result and losses');
    t.equal(window.lossAggregate, 900n);
    t.same(s.staking.penalties, [{ address: proposers[1], windowId: 1n, fault: 'minority-reveal', height: 19n }], 'the other evaluation is a minority reveal');
  }
  t.end();
});

t.test('PoL: the commitment binds the losses; losses that do not fit the reveal are refused (31)', (t) => {
  const cid = testCid('x');
  const hash = Buffer.from(sha256(utf8('x')));
  const nonce = nonceOf('p');
  t.equal(toHex(commitHash(cid, hash, nonce, [], NO_LOSSES)), toHex(sha256(Buffer.concat([Buffer.from(cid), hash, nonce]))), 'no losses: the original formula');
  const withLosses = commitHash(cid, hash, nonce, [], losses(1000n, 990n));
  const preimage = Buffer.concat([Buffer.from(cid), hash, nonce, Buffer.from('00000000000003e800000000000003de', 'hex')]);
  t.equal(toHex(withLosses), toHex(sha256(preimage)), 'losses: ‖ u64be(loss_base) ‖ u64be(loss_aggregate)');
  t.not(toHex(commitHash(cid, hash, nonce, [], losses(990n, 1000n))), toHex(withLosses), 'order matters');

  const { s, proposers } = withSubmissions();
  const result = resultOf('r');
  const commitCtx = s.runTo(13n);
  for (const proposer of proposers) {
    s.training.commitAggregation(commitCtx, { proposer, windowId: 1n, commitment: Buffer.from(commitHash(result.cid, result.hash, nonceOf(proposer), [], losses(1000n, 990n))) });
  }
  const revealCtx = s.runTo(16n);
  const reveal = (proposer: string, l: CommittedLosses) => () => s.training.revealAggregation(revealCtx, {
    proposer, windowId: 1n, resultCid: result.cid, resultHash: result.hash, nonce: nonceOf(proposer), excluded: [], ...l, ...NO_CKPT,
  });
  t.throws(reveal(proposers[0], losses(1000n, 980n)), { codespace: 'training', code: 23 }, 'other losses than committed');
  t.throws(reveal(proposers[0], NO_LOSSES), { codespace: 'training', code: 23 }, 'losses left out');
  t.equal(s.training.commit(s.store, 1n, proposers[0])!.revealed, false, 'a refused reveal changes nothing');
  reveal(proposers[0], losses(1000n, 990n))();
  t.same(s.training.commit(s.store, 1n, proposers[0]), { ...s.training.commit(s.store, 1n, proposers[0]), lossBase: 1000n, lossAggregate: 990n });

  // A window that evaluates nothing takes no losses.
  const off = withSubmissions({ evalChunks: 0n });
  t.same(off.s.training.window(off.s.store, 1n)!.evalChunks, [], 'eval_chunks 0: no sample');
  const offCommit = off.s.runTo(13n);
  const p = off.proposers[0];
  off.s.training.commitAggregation(offCommit, { proposer: p, windowId: 1n, commitment: Buffer.from(commitHash(result.cid, result.hash, nonceOf(p), [], losses(5n, 4n))) });
  t.throws(() => off.s.training.revealAggregation(off.s.runTo(16n), {
    proposer: p, windowId: 1n, resultCid: result.cid, resultHash: result.hash, nonce: nonceOf(p), excluded: [], ...losses(5n, 4n), ...NO_CKPT,
  }), { codespace: 'training', code: 31 }, 'losses in a window without evaluation');
  t.end();
});

t.test('PoL: "nothing to aggregate" carries no losses (31)', (t) => {
  const { s, proposers } = honestAndBad();
  const excluded = [{ submissionId: 1n, reason: UNAVAILABLE }, { submissionId: 2n, reason: UNAVAILABLE }];
  const commitCtx = s.runTo(13n);
  s.training.commitAggregation(commitCtx, { proposer: proposers[0], windowId: 1n, commitment: Buffer.from(commitHash('', Buffer.alloc(0), nonceOf(proposers[0]), excluded, losses(1n, 1n))) });
  t.throws(() => s.training.revealAggregation(s.runTo(16n), {
    proposer: proposers[0], windowId: 1n, resultCid: '', resultHash: Buffer.alloc(0), nonce: nonceOf(proposers[0]), excluded, ...losses(1n, 1n), ...NO_CKPT,
  }), { codespace: 'training', code: 31 });
  t.end();
});

t.test('PoL params: eval_chunks ≤ heldout_chunk_count and ≤ 64, min_improvement ≤ 2^32', (t) => {
  t.doesNotThrow(() => validateParams({ ...defaultParams(), evalChunks: 0n }));
  t.doesNotThrow(() => validateParams({ ...defaultParams(), evalChunks: 64n, minImprovement: 1n << 32n }));
  t.throws(() => validateParams({ ...defaultParams(), evalChunks: 65n }), { codespace: 'training', code: 2 });
  t.throws(() => validateParams({ ...defaultParams(), evalChunks: 5n, heldoutChunkCount: 4n }), /evalChunks \(5\) must be at most heldoutChunkCount \(4\)/);
  t.throws(() => validateParams({ ...defaultParams(), heldoutChunkCount: 0n }), { codespace: 'training', code: 2 });
  t.throws(() => validateParams({ ...defaultParams(), minImprovement: (1n << 32n) + 1n }), { codespace: 'training', code: 2 });
  t.end();
});

/** Windows 1 and 2 applied, window 3 NOT_APPLIED, window 4 collecting … (tallies at 19, 29, 39). */
function threeWindows() {
  const s = setup();
  const results: Array<{ cid: string; hash: Buffer }> = [];
  for (const [id, after] of [[1n, 900n], [2n, 800n], [3n, 850n]] as const) {
    const ctx = s.runTo(9n + (id - 1n) * 10n); // collecting id (opened at 1 + 10(id − 1)), the previous window tallied
    submit(s, ctx, MINERS[0], id);
    s.runTo(s.training.window(s.store, id)!.commitStartHeight);
    const result = resultOf(`w${id}`);
    results.push(result);
    aggregate(s, s.training.window(s.store, id)!.proposers.map((proposer) => ({ proposer, result, losses: losses(id === 3n ? 800n : 1000n, after) })), id);
  }
  return { s, results };
}

t.test('rollback: the head goes back to the base after an applied window; later windows (open ones too) are marked', (t) => {
  const { s } = threeWindows();
  t.same([1n, 2n, 3n].map((id) => s.training.window(s.store, id)!.status), [
    WindowStatus.WINDOW_STATUS_FINALIZED, WindowStatus.WINDOW_STATUS_FINALIZED, WindowStatus.WINDOW_STATUS_NOT_APPLIED,
  ]);
  const open = s.training.aggregatingWindowIds(s.store).concat(s.training.schedule(s.store).collectingWindowId);
  t.ok(open.length > 0, 'windows still open when the rollback passes');
  const height = 40n;
  s.runTo(height);
  const ctx = testContext(s.store, { height });

  t.throws(() => s.training.checkHeadRollback(s.store, 3n), { codespace: 'training', code: 32, message: /not-applied/ }, 'not to a not-applied window');
  t.throws(() => s.training.checkHeadRollback(s.store, 99n), { codespace: 'training', code: 32, message: /does not exist/ });
  t.throws(() => s.training.checkHeadRollback(s.store, open[0]), { codespace: 'training', code: 32 }, 'not to an open window');
  t.doesNotThrow(() => s.training.checkHeadRollback(s.store, 0n), 'to the initial adapter');

  const marked = s.training.rollbackHead(s.store, ctx.events, height, 1n, 7n);
  t.same(marked, [2n, ...open.filter((id) => id > 3n)], 'window 2 (applied) and the open windows; not the not-applied one');
  t.equal(s.training.window(s.store, 2n)!.rolledBackHeight, height);
  t.equal(s.training.window(s.store, 1n)!.rolledBackHeight, 0n, 'the target stays in the head');
  t.equal(s.training.window(s.store, 3n)!.rolledBackHeight, 0n);
  t.same(attrs(ctx.events.events.find((e) => e.type === 'head_rolled_back')!), { to_window: '1', proposal_id: '7', model_version: '1', windows: marked.join(','), checkpoints: '' });
  t.throws(() => s.training.checkHeadRollback(s.store, 2n), { codespace: 'training', code: 32, message: /rolled back at height 40/ }, 'not to a rolled-back window');

  // An open window marked by the rollback still finalizes and pays, its mark kept.
  const w4 = s.training.window(s.store, 4n)!;
  t.equal(w4.rolledBackHeight, height);
  s.runTo(w4.revealEndHeight + 1n);
  t.equal(s.training.window(s.store, 4n)!.rolledBackHeight, height, 'the mark survives the tally');

  // Genesis round trip keeps the marks.
  const g = s.trainingModule.exportGenesis(s.store);
  const copy = setup({}, emptyState(), false);
  copy.subnetModule.initGenesis(copy.store, SubnetGenesis.toJSON({ params: { subnetCount: 4n }, activations: [] }));
  copy.trainingModule.initGenesis(copy.store, JSON.parse(JSON.stringify(g)));
  t.same(copy.trainingModule.exportGenesis(copy.store), g);
  t.end();
});

// ------------------------------------------------------------------ checkpoints (README "Checkpoints")

const ckptOf = (label: string) => ({ checkpointCid: testCid(`checkpoint/${label}`), checkpointHash: Buffer.from(sha256(utf8(`checkpoint/${label}`))) });

/**
 * Runs windows 1..count (checkpoint_interval 2 unless given), each with one submission and every
 * proposer revealing the same result; a window that carries a checkpoint gets `checkpointFor(window)`
 * from each proposer (default: the same honest checkpoint). Window id opens at 1 + 10(id − 1) and
 * is tallied at 19 + 10(id − 1).
 */
function runWindows(
  count: bigint, params: Partial<Params> = {},
  checkpointFor: (through: bigint, proposer: number, carrier: bigint) => typeof NO_CKPT = (through) => ckptOf(`through-${through}`),
  beforeTally: (s: Setup, window: bigint) => void = () => {},
) {
  const s = setup({ checkpointInterval: 2n, evalChunks: 0n, ...params });
  for (let id = 1n; id <= count; id++) {
    const ctx = s.runTo(9n + (id - 1n) * 10n);
    submit(s, ctx, MINERS[0], id);
    const window = s.training.window(s.store, id)!;
    s.runTo(window.commitStartHeight);
    const carrier = s.training.window(s.store, id)!;
    aggregate(s, carrier.proposers.map((proposer, i) => ({
      proposer, result: resultOf(`w${id}`), checkpoint: carrier.checkpointThrough === 0n ? NO_CKPT : checkpointFor(carrier.checkpointThrough, i, id),
    })), id, () => beforeTally(s, id));
  }
  return s;
}

t.test('checkpoints: every checkpoint_interval applied windows the next window to aggregate carries one; its majority records it', (t) => {
  const s = runWindows(5n);
  t.same([1n, 2n, 3n, 4n, 5n].map((id) => s.training.window(s.store, id)!.checkpointThrough), [0n, 0n, 2n, 0n, 4n],
    'window 3 carries the checkpoint through window 2 (windows 1 and 2 applied), window 5 the one through 4');
  const checkpoints = [...s.training.checkpoints(s.store)];
  t.same(checkpoints.map((c) => [c.modelVersion, c.throughWindow, c.cid, c.carrierWindow, c.appliedWindows, c.height, c.rolledBackHeight]), [
    [1n, 2n, ckptOf('through-2').checkpointCid, 3n, 2n, 39n, 0n],
    [1n, 4n, ckptOf('through-4').checkpointCid, 5n, 4n, 59n, 0n],
  ]);
  t.equal(toHex(checkpoints[1].stateHash), toHex(ckptOf('through-4').checkpointHash));
  t.equal(s.training.latestCheckpoint(s.store, 1n)!.throughWindow, 4n);
  const recorded = s.events('checkpoint_recorded').map(attrs);
  t.same(recorded.map((a) => [a.through_window, a.carrier_window, a.applied_windows]), [['2', '3', '2'], ['4', '5', '4']]);
  t.same(s.events('aggregation_started').map(attrs).map((a) => a.checkpoint_through), ['0', '0', '2', '0', '4']);

  // Queries: Checkpoints (paginated, by version), LatestCheckpoint; the interface route (REST/CLI) is the same call.
  const q = s.trainingModule.queries;
  const page = QueryCheckpointsResponse.decode(q[QUERY_PATHS.checkpoints](s.store, QueryCheckpointsRequest.encode({ modelVersion: 1n, pagination: { key: Buffer.alloc(0), offset: 0n, limit: 1n, countTotal: true, reverse: true } }).finish()));
  t.same(page.checkpoints.map((c) => c.throughWindow), [4n], 'reverse, limit 1: the newest');
  t.equal(page.pagination!.total, 2n);
  const next = QueryCheckpointsResponse.decode(q[QUERY_PATHS.checkpoints](s.store, QueryCheckpointsRequest.encode({ modelVersion: 1n, pagination: { key: page.pagination!.nextKey, offset: 0n, limit: 1n, countTotal: false, reverse: true } }).finish()));
  t.same(next.checkpoints.map((c) => c.throughWindow), [2n], 'next page');
  t.same(QueryCheckpointsResponse.decode(q[QUERY_PATHS.checkpoints](s.store, QueryCheckpointsRequest.encode(QueryCheckpointsRequest.fromPartial({ modelVersion: 0n })).finish())).checkpoints.length, 2, 'version 0: every version');
  t.same(QueryCheckpointsResponse.decode(q[QUERY_PATHS.checkpoints](s.store, QueryCheckpointsRequest.encode(QueryCheckpointsRequest.fromPartial({ modelVersion: 2n })).finish())).checkpoints, [], 'another version: none');
  t.equal(QueryLatestCheckpointResponse.decode(q[QUERY_PATHS.latestCheckpoint](s.store, QueryLatestCheckpointRequest.encode({ modelVersion: 1n }).finish())).checkpoint!.throughWindow, 4n);
  const route = trainingInterface.queries.find((r) => r.name === 'checkpoints')!;
  t.equal(route.rest, '/r3mes/training/v1/checkpoints');
  t.same(QueryCheckpointsRequest.decode(route.encodeRequest({}, { filters: { model_version: '1' } })).modelVersion, 1n, '--model-version / ?model_version=');
  t.ok(trainingInterface.queries.some((r) => r.name === 'latest-checkpoint' && r.rest === '/r3mes/training/v1/models/{model_version}/latest_checkpoint'));

  // Genesis round trip keeps the checkpoints and the carrier marks; the latest pointer is derived.
  const g = s.trainingModule.exportGenesis(s.store);
  const copy = setup({}, emptyState(), false);
  copy.subnetModule.initGenesis(copy.store, SubnetGenesis.toJSON({ params: { subnetCount: 4n }, activations: [] }));
  copy.trainingModule.initGenesis(copy.store, JSON.parse(JSON.stringify(g)));
  t.same(copy.trainingModule.exportGenesis(copy.store), g);
  t.equal(copy.training.latestCheckpoint(copy.store, 1n)!.throughWindow, 4n);
  const unsorted = JSON.parse(JSON.stringify(g));
  unsorted.checkpoints.reverse();
  t.throws(() => setup({}, emptyState(), false).trainingModule.initGenesis(emptyState(), unsorted), { codespace: 'training', code: 3 }, 'genesis checkpoints must be sorted');
  t.end();
});

t.test('checkpoints: proposers that disagree on the checkpoint are different reveals; no checkpoint from the majority leaves the duty to the next window', (t) => {
  // Window 3's proposers: one reveals another checkpoint → minority-reveal, the majority's is recorded.
  const split = runWindows(3n, {}, (through, i) => ckptOf(i === 0 ? 'forged' : `through-${through}`));
  t.same([...split.training.checkpoints(split.store)].map((c) => c.cid), [ckptOf('through-2').checkpointCid]);
  const penalized = split.events('aggregator_penalized').map(attrs);
  t.same(penalized.map((a) => [a.window, a.fault]), [['3', 'minority-reveal']]);
  t.equal(split.training.window(split.store, 3n)!.status, WindowStatus.WINDOW_STATUS_FINALIZED, 'the window itself finalizes');

  // The majority publishes no checkpoint: nothing recorded; window 4 carries the same duty, and records it.
  const none = runWindows(4n, {}, (through, _, carrier) => (carrier === 3n ? NO_CKPT : ckptOf(`through-${through}`)));
  t.same([3n, 4n].map((id) => none.training.window(none.store, id)!.checkpointThrough), [2n, 2n], 'window 4 carries the checkpoint through 2 again');
  t.same([...none.training.checkpoints(none.store)].map((c) => [c.throughWindow, c.carrierWindow]), [[2n, 4n]]);

  // checkpoint_interval 0: no window carries one.
  const off = runWindows(4n, { checkpointInterval: 0n });
  t.same([1n, 2n, 3n, 4n].map((id) => off.training.window(off.store, id)!.checkpointThrough), [0n, 0n, 0n, 0n]);
  t.end();
});

t.test('checkpoints and head_rollback: a rollback before the through window rolls the checkpoint back (never the latest); one during the carrier\'s aggregation drops it', (t) => {
  const s = runWindows(3n);
  t.equal(s.training.latestCheckpoint(s.store, 1n)!.throughWindow, 2n);
  const height = s.training.window(s.store, 3n)!.revealEndHeight + 1n;
  s.runTo(height);
  const ctx = testContext(s.store, { height });
  s.training.rollbackHead(s.store, ctx.events, height, 1n, 9n);
  const rolled = s.training.checkpoint(s.store, 1n, 2n)!;
  t.equal(rolled.rolledBackHeight, height, 'the checkpoint through 2 includes rolled-back window 2');
  t.equal(s.training.latestCheckpoint(s.store, 1n), undefined, 'no checkpoint is the latest now');
  t.equal(attrs(ctx.events.events.find((e) => e.type === 'head_rolled_back')!).checkpoints, '2');
  // A rollback that keeps the through window keeps the checkpoint.
  const keep = runWindows(3n);
  const h2 = keep.training.window(keep.store, 3n)!.revealEndHeight + 1n;
  keep.runTo(h2);
  keep.training.rollbackHead(keep.store, testContext(keep.store, { height: h2 }).events, h2, 2n, 9n);
  t.equal(keep.training.latestCheckpoint(keep.store, 1n)!.throughWindow, 2n, 'rollback to window 2: the checkpoint through 2 stays');

  // Rollback while window 3 (carrier of the checkpoint through 2) reveals: its checkpoint is dropped.
  const d = runWindows(3n, {}, undefined, (ds, id) => {
    if (id !== 3n) return;
    const h = ds.training.window(ds.store, 3n)!.revealStartHeight;
    ds.training.rollbackHead(ds.store, testContext(ds.store, { height: h }).events, h, 1n, 9n);
  });
  t.equal(d.training.window(d.store, 3n)!.status, WindowStatus.WINDOW_STATUS_FINALIZED, 'the carrier still finalizes');
  t.same([...d.training.checkpoints(d.store)], [], 'nothing recorded');
  t.same(d.events('checkpoint_dropped').map(attrs).map((a) => [a.through_window, a.carrier_window]), [['2', '3']]);
  // The duty is recomputed from the new head: window 1 is the only applied one left, so window 4 carries none.
  const w4 = d.training.window(d.store, 4n)!;
  d.runTo(w4.commitStartHeight);
  t.equal(d.training.window(d.store, 4n)!.checkpointThrough, 0n);
  t.end();
});

t.test('checkpointInterval: 0 … 10^6, default 10; in the governance JSON', (t) => {
  t.equal(defaultParams().checkpointInterval, 10n);
  t.doesNotThrow(() => validateParams({ ...defaultParams(), checkpointInterval: 0n }));
  t.doesNotThrow(() => validateParams({ ...defaultParams(), checkpointInterval: 1_000_000n }));
  t.throws(() => validateParams({ ...defaultParams(), checkpointInterval: 1_000_001n }), { codespace: 'training', code: 2, message: /checkpointInterval/ });
  t.end();
});
