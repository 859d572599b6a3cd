/**
 * training: every message's happy path, one test per error code, params, queries, the
 * worker's pure functions. Other modules are fakes (test/helpers/training-testbed.ts); subnet is real.
 */
import t, { type Test } from 'tap';
import { sha256 } from '@noble/hashes/sha2.js';
import { CID } from 'multiformats/cid';
import { create as createDigest } from 'multiformats/hashes/digest';
import { base58btc } from 'multiformats/bases/base58';
import { ChainError, type ErrorKind } from '../../app/core/errors.ts';
import { toHex, utf8 } from '../../app/core/bytes.ts';
import { decodeAddress } from '../../app/core/address.ts';
import type { Context } from '../../app/core/context.ts';
import { emptyState, testContext } from '../helpers/module-context.ts';
import { GenesisState as SubnetGenesis } from '../../proto/gen/r3mes/subnet/v1/genesis.ts';
import { GenesisState } from '../../proto/gen/r3mes/training/v1/genesis.ts';
import {
  QueryAggregationRequest, QueryAggregationResponse, QueryAssignmentRequest, QueryAssignmentResponse, QueryCurrentWindowResponse,
  QueryParamsResponse, QuerySubmissionRequest, QuerySubmissionResponse, QueryWindowRequest, QueryWindowResponse,
  QueryWindowSubmissionsRequest, QueryWindowSubmissionsResponse, QueryLatestCheckpointRequest,
} from '../../proto/gen/r3mes/training/v1/query.ts';
import {
  MsgCommitAggregation, MsgRevealAggregation, MsgSubmitGradient, MsgSubmitGradientResponse,
} from '../../proto/gen/r3mes/training/v1/tx.ts';
import { type Exclusion, ExclusionReason, type Params, SubmissionStatus, WindowStatus } from '../../proto/gen/r3mes/training/v1/types.ts';
import { assignedSubnet } from '../../modules/subnet/assignment.ts';
import { assignedChunk, commitHash } from '../../modules/training/assignment.ts';
import { trainingErrors } from '../../modules/training/errors.ts';
import { defaultGenesis } from '../../modules/training/genesis.ts';
import { trainingInterface } from '../../modules/training/interface.ts';
import { QUERY_PATHS } from '../../modules/training/module.ts';
import { TYPE_URLS } from '../../modules/training/msgs.ts';
import { defaultParams } from '../../modules/training/params.ts';
import { testAddress, testCid, trainingTestbed } from '../helpers/training-testbed.ts';

/** Window 1 opens at height 1: collect [1,11), challenge [11,13), commit [13,16), reveal [16,19), tally at 19. */
const TEST_PARAMS: Partial<Params> = {
  windowBlocks: 10n, chunkCount: 16n, maxSubmissionsPerMinerPerWindow: 2n, minMinerStake: '100', baseReward: '500',
  challengePeriodBlocks: 2n, aggregationProposers: 3n, commitPeriodBlocks: 3n, revealPeriodBlocks: 3n,
};
const MINERS = ['alice', 'bob', 'carol'].map((name) => testAddress(`miner-${name}`));
const VALIDATORS = ['v1', 'v2', 'v3', 'v4'].map((name) => testAddress(`validator-${name}`));

function setup(params: Partial<Params> = {}) {
  const bed = trainingTestbed();
  const store = emptyState();
  bed.subnetModule.initGenesis(store, SubnetGenesis.toJSON({ params: { subnetCount: 4n }, activations: [] }));
  bed.trainingModule.initGenesis(store, GenesisState.toJSON({ ...defaultGenesis(), params: { ...defaultParams(), ...TEST_PARAMS, ...params } }));
  for (const miner of MINERS) bed.staking.minersByAddress.set(miner, { stake: 1000n, jailed: false, backend: 'webgpu' });
  bed.staking.validators = VALIDATORS.map((address, i) => ({ address, stake: BigInt(100 * (i + 1)) }));
  let height = 0n;
  /** Runs beginBlock for every height up to `target`; returns a deliver context at `target`. */
  const runTo = (target: bigint): Context => {
    let ctx = testContext(store, { height: target });
    while (height < target) {
      height += 1n;
      ctx = testContext(store, { height });
      bed.training.beginBlock(ctx);
    }
    return ctx;
  };
  const at = (h: bigint) => testContext(store, { height: h });
  const handlers = Object.fromEntries(bed.trainingModule.msgs.map((handler) => [handler.typeUrl, handler]));
  return { ...bed, store, runTo, at, handlers };
}
type Setup = ReturnType<typeof setup>;

/** A valid gradient for the miner's next submission in the window, with overrides. */
function gradient(s: Setup, miner: string, windowId = 1n, overrides: Partial<MsgSubmitGradient> = {}): MsgSubmitGradient {
  const next = s.training.assignment(s.store, windowId, miner);
  return MsgSubmitGradient.fromPartial({
    miner, windowId, subnet: next.subnet, modelVersion: 1n,
    gradientCid: testCid(`gradient/${miner}/${windowId}/${next.nextOrdinal}`),
    gradientHash: Buffer.from(sha256(utf8(`hash/${miner}/${next.nextOrdinal}`))), traceRoot: Buffer.from(sha256(utf8(`trace/${miner}/${next.nextOrdinal}`))),
    chunkIndex: next.chunkIndex, lossBefore: 52_000n, lossAfter: 49_500n, backend: 'webgpu', ...overrides,
  });
}

function submit(s: Setup, ctx: Context, msg: MsgSubmitGradient) {
  const handler = s.handlers[TYPE_URLS.submitGradient];
  handler.signers(msg);
  return handler.execute(ctx, msg);
}

const covered = new Set<number>();

function rejects(t: Test, fn: () => unknown, kind: ErrorKind, what: string): void {
  try {
    fn();
    t.fail(`${what}: expected ${kind.codespace}/${kind.code} (${kind.description})`);
  } catch (error) {
    t.ok(error instanceof ChainError, `${what}: a ChainError`);
    const chain = error as ChainError;
    t.equal(`${chain.codespace}/${chain.code}`, `${kind.codespace}/${kind.code}`, `${what}: ${chain.message}`);
    if (chain.codespace === 'training') covered.add(chain.code);
  }
}

/** Runs to the commit phase of window 1 with one submission per miner; returns the drawn proposers. */
function toCommitPhase(s: Setup): string[] {
  const ctx = s.runTo(2n);
  for (const miner of MINERS) submit(s, ctx, gradient(s, miner));
  s.runTo(13n);
  return s.training.window(s.store, 1n)!.proposers;
}

const RESULT_CID = testCid('aggregate-1');
const RESULT_HASH = sha256(utf8('aggregate-1'));
const nonceOf = (proposer: string) => sha256(utf8(`nonce/${proposer}`));

function commitMsg(proposer: string, windowId = 1n, cid = RESULT_CID, hash = RESULT_HASH): MsgCommitAggregation {
  return MsgCommitAggregation.fromPartial({ proposer, windowId, commitment: Buffer.from(commitHash(cid, hash, nonceOf(proposer))) });
}

function revealMsg(proposer: string, windowId = 1n, cid = RESULT_CID, hash = RESULT_HASH): MsgRevealAggregation {
  return MsgRevealAggregation.fromPartial({ proposer, windowId, resultCid: cid, resultHash: Buffer.from(hash), nonce: Buffer.from(nonceOf(proposer)) });
}

// ------------------------------------------------------------------ happy paths

t.test('MsgSubmitGradient: stored, indexed events, response, assignment advances', (t) => {
  const s = setup();
  const ctx = s.runTo(2n);
  const window = s.training.window(s.store, 1n)!;
  const miner = MINERS[0];
  // The assignment query agrees with the pure functions the worker uses.
  const next = s.training.assignment(s.store, 1n, miner);
  t.equal(next.subnet, assignedSubnet(window.seed, miner, window.subnetCount));
  t.equal(next.chunkIndex, assignedChunk(window.seed, miner, 0n, 16n));
  t.equal(next.nextOrdinal, 0n);
  t.equal(next.remaining, 2n);

  const msg = gradient(s, miner);
  const response = submit(s, ctx, msg);
  t.equal(response.typeUrl, '/r3mes.training.v1.MsgSubmitGradientResponse');
  t.same(MsgSubmitGradientResponse.decode(response.value), { submissionId: 1n, ordinal: 0n });
  const stored = s.training.submission(s.store, 1n)!;
  t.equal(stored.miner, miner);
  t.equal(stored.gradientCid, msg.gradientCid);
  t.equal(stored.chunkIndex, next.chunkIndex);
  t.equal(stored.status, SubmissionStatus.SUBMISSION_STATUS_PENDING);
  t.equal(stored.height, 2n);
  t.equal(s.training.window(s.store, 1n)!.submissionCount, 1n);

  const event = ctx.events.events.find((e) => e.type === 'submission')!;
  const attrs = Object.fromEntries(event.attributes.map((a) => [a.key, a]));
  t.equal(attrs.miner.value, miner);
  t.equal(attrs.window.value, '1');
  t.equal(attrs.cid.value, msg.gradientCid);
  t.equal(attrs.subnet.value, next.subnet.toString());
  for (const key of ['miner', 'window', 'subnet', 'cid']) t.equal(attrs[key].index, true, `${key} is indexed for tx_search`);

  // The second submission gets ordinal 1 and the chunk of ordinal 1.
  const second = s.training.assignment(s.store, 1n, miner);
  t.equal(second.nextOrdinal, 1n);
  t.equal(second.chunkIndex, assignedChunk(window.seed, miner, 1n, 16n));
  t.same(MsgSubmitGradientResponse.decode(submit(s, ctx, gradient(s, miner)).value), { submissionId: 2n, ordinal: 1n });
  t.same(s.training.windowSubmissions(s.store, 1n).map((x) => x.id), [1n, 2n]);
  t.end();
});

t.test('signers: the miner / the proposer', (t) => {
  const s = setup();
  s.runTo(2n);
  t.same(toHex(s.handlers[TYPE_URLS.submitGradient].signers(gradient(s, MINERS[0]))[0]), toHex(decodeAddress(MINERS[0])));
  t.same(toHex(s.handlers[TYPE_URLS.commitAggregation].signers(commitMsg(VALIDATORS[0]))[0]), toHex(decodeAddress(VALIDATORS[0])));
  t.same(toHex(s.handlers[TYPE_URLS.revealAggregation].signers(revealMsg(VALIDATORS[1]))[0]), toHex(decodeAddress(VALIDATORS[1])));
  t.throws(() => s.handlers[TYPE_URLS.submitGradient].signers({ ...gradient(s, MINERS[0]), miner: 'cosmos1xyz' }), { codespace: 'sdk', code: 7 });
  t.end();
});

t.test('MsgCommitAggregation and MsgRevealAggregation: stored, events', (t) => {
  const s = setup();
  const proposers = toCommitPhase(s);
  t.equal(proposers.length, 3);
  const ctx = s.at(13n);
  const commitResponse = s.handlers[TYPE_URLS.commitAggregation].execute(ctx, commitMsg(proposers[0]));
  t.equal(commitResponse.typeUrl, '/r3mes.training.v1.MsgCommitAggregationResponse');
  const commit = s.training.commit(s.store, 1n, proposers[0])!;
  t.same(toHex(commit.commitment), toHex(commitHash(RESULT_CID, RESULT_HASH, nonceOf(proposers[0]))));
  t.equal(commit.revealed, false);
  t.ok(ctx.events.events.some((e) => e.type === 'aggregation_commit' && e.attributes.some((a) => a.key === 'proposer' && a.value === proposers[0])));

  const revealCtx = s.at(16n);
  const revealResponse = s.handlers[TYPE_URLS.revealAggregation].execute(revealCtx, revealMsg(proposers[0]));
  t.equal(revealResponse.typeUrl, '/r3mes.training.v1.MsgRevealAggregationResponse');
  const revealed = s.training.commit(s.store, 1n, proposers[0])!;
  t.equal(revealed.revealed, true);
  t.equal(revealed.resultCid, RESULT_CID);
  t.equal(revealed.revealHeight, 16n);
  t.ok(revealCtx.events.events.some((e) => e.type === 'aggregation_reveal'));
  t.end();
});

t.test('rejectSubmission (for verification): a pending submission leaves the accepted set', (t) => {
  const s = setup();
  const ctx = s.runTo(2n);
  submit(s, ctx, gradient(s, MINERS[0]));
  submit(s, ctx, gradient(s, MINERS[1]));
  s.training.rejectSubmission(s.at(12n), 1n, 'L2 challenge upheld');
  t.equal(s.training.submission(s.store, 1n)!.status, SubmissionStatus.SUBMISSION_STATUS_REJECTED);
  s.runTo(13n);
  t.equal(s.training.submission(s.store, 2n)!.status, SubmissionStatus.SUBMISSION_STATUS_ACCEPTED);
  t.equal(s.training.window(s.store, 1n)!.acceptedCount, 1n);
  t.end();
});

// ------------------------------------------------------------------ one test per error code

t.test('2 invalid params: governance set rejects a bad value and changes nothing', (t) => {
  const s = setup();
  const params = s.trainingModule.params!;
  const before = params.get(s.store) as Record<string, string>;
  t.equal(before.windowBlocks, '10');
  rejects(t, () => params.set(s.store, { ...before, windowBlocks: '0' }), trainingErrors.invalidParams, 'window_blocks 0');
  rejects(t, () => params.set(s.store, { ...before, minMinerStake: '-1' }), trainingErrors.invalidParams, 'negative stake');
  rejects(t, () => params.set(s.store, { ...before, extra: '1' }), trainingErrors.invalidParams, 'unknown key');
  const { revealPeriodBlocks: _, ...missing } = before;
  rejects(t, () => params.set(s.store, missing), trainingErrors.invalidParams, 'missing key');
  t.same(params.get(s.store), before, 'unchanged');
  params.set(s.store, { ...before, windowBlocks: '20', aggregationProposers: 5 });
  t.equal(s.training.params(s.store).windowBlocks, 20n);
  t.equal(s.training.params(s.store).aggregationProposers, 5n);
  t.end();
});

t.test('2 invalid params: the aggregation rule — malformed or out of range is refused, state unchanged; a valid change is read back', (t) => {
  const s = setup();
  const params = s.trainingModule.params!;
  const before = params.get(s.store) as Record<string, string>;
  t.equal(before.aggregationRule, 'median', 'default rule in the governance JSON');
  const bad: unknown[] = [
    '', 'mean', 'Median', 'median:1', 'median ', 'trimmed-mean', 'trimmed-mean:', 'trimmed-mean:-1', 'trimmed-mean:01', 'trimmed-mean:1.5',
    'trimmed-mean:10001', 'trimmed-mean:1:2', 'krum', 'krum:x', 'krum:1:0', 'krum:10001', 'krum:1:10001', 'krum:1:2:3', 'krum:1:', 'krum::1',
    'trimmed-mean:99999999999', 7, null,
  ];
  for (const rule of bad) rejects(t, () => params.set(s.store, { ...before, aggregationRule: rule }), trainingErrors.invalidParams, `rule ${JSON.stringify(rule)}`);
  t.match(String((() => { try { params.set(s.store, { ...before, aggregationRule: 'krum:1:0' }); } catch (e) { return (e as Error).message; } })()), /aggregationRule "krum:1:0": M must be in \[1, 10000\]/, 'the reason names the rule and the range');
  t.same(params.get(s.store), before, 'unchanged after every refusal');
  t.equal(s.training.params(s.store).aggregationRule, 'median');
  for (const rule of ['trimmed-mean:0', 'trimmed-mean:10000', 'krum:0', 'krum:2', 'krum:2:3', 'krum:10000:10000', 'median']) {
    params.set(s.store, { ...before, aggregationRule: rule });
    t.equal(s.training.params(s.store).aggregationRule, rule, `${rule} accepted and stored as spelled`);
  }
  params.set(s.store, { ...before, aggregationRule: 'trimmed-mean:1' });
  const q = s.trainingModule.queries!;
  t.equal(QueryParamsResponse.decode(q[QUERY_PATHS.params](s.store, new Uint8Array())).params!.aggregationRule, 'trimmed-mean:1', 'the Params query shows it');
  t.equal((params.get(s.store) as Record<string, string>).aggregationRule, 'trimmed-mean:1');
  t.end();
});

t.test('3 invalid genesis', (t) => {
  const s = setup();
  const fresh = () => emptyState();
  const base = GenesisState.toJSON(defaultGenesis()) as Record<string, unknown>;
  rejects(t, () => s.trainingModule.initGenesis(fresh(), { ...base, nextWindowId: '0' }), trainingErrors.invalidGenesis, 'next_window_id 0');
  rejects(t, () => s.trainingModule.initGenesis(fresh(), { ...base, params: undefined }), trainingErrors.invalidGenesis, 'no params');
  rejects(t, () => s.trainingModule.initGenesis(fresh(), { ...base, nextWindowId: 'x' }), trainingErrors.invalidGenesis, 'not a number');
  const badRule = { ...base, params: { ...(base.params as object), aggregationRule: 'krum:1:0' } };
  const target = fresh();
  rejects(t, () => s.trainingModule.initGenesis(target, badRule), trainingErrors.invalidParams, 'genesis with a bad aggregation rule');
  t.equal([...target.iterate(new Uint8Array())].length, 0, 'nothing written');
  s.runTo(1n);
  const exported = GenesisState.toJSON({ ...defaultGenesis(), nextWindowId: 2n, windows: [{ ...s.training.window(s.store, 1n)!, id: 5n }] });
  rejects(t, () => s.trainingModule.initGenesis(fresh(), exported), trainingErrors.invalidGenesis, 'window id above next_window_id');
  t.end();
});

t.test('4 miner not registered', (t) => {
  const s = setup();
  const ctx = s.runTo(2n);
  const stranger = testAddress('stranger');
  rejects(t, () => submit(s, ctx, gradient(s, stranger)), trainingErrors.minerNotRegistered, 'unknown miner');
  t.end();
});

t.test('5 miner jailed', (t) => {
  const s = setup();
  const ctx = s.runTo(2n);
  s.staking.minersByAddress.set(MINERS[0], { stake: 1000n, jailed: true, backend: 'webgpu' });
  rejects(t, () => submit(s, ctx, gradient(s, MINERS[0])), trainingErrors.minerJailed, 'jailed miner');
  t.end();
});

t.test('6 miner stake below min_miner_stake', (t) => {
  const s = setup();
  const ctx = s.runTo(2n);
  s.staking.minersByAddress.set(MINERS[0], { stake: 99n, jailed: false, backend: 'webgpu' });
  rejects(t, () => submit(s, ctx, gradient(s, MINERS[0])), trainingErrors.insufficientMinerStake, '99 < 100');
  s.staking.minersByAddress.set(MINERS[0], { stake: 100n, jailed: false, backend: 'webgpu' });
  t.doesNotThrow(() => submit(s, ctx, gradient(s, MINERS[0])), 'exactly the minimum is enough');
  t.end();
});

t.test('7 window not found', (t) => {
  const s = setup();
  const ctx = s.runTo(2n);
  const msg = { ...gradient(s, MINERS[0]), windowId: 9n };
  rejects(t, () => submit(s, ctx, msg), trainingErrors.windowNotFound, 'window 9');
  rejects(t, () => s.trainingModule.queries[QUERY_PATHS.window](s.store, QueryWindowRequest.encode({ windowId: 9n }).finish()), trainingErrors.windowNotFound, 'query');
  t.end();
});

t.test('8 window not collecting', (t) => {
  const s = setup();
  s.runTo(2n);
  const msg = gradient(s, MINERS[0]);
  const ctx = s.runTo(11n);
  t.equal(s.training.window(s.store, 1n)!.status, WindowStatus.WINDOW_STATUS_AGGREGATING);
  rejects(t, () => submit(s, ctx, msg), trainingErrors.windowNotCollecting, 'window 1 aggregating at 11');
  t.doesNotThrow(() => submit(s, ctx, gradient(s, MINERS[0], 2n)), 'window 2 opened at 11 and collects');
  t.end();
});

t.test('9 wrong subnet (checked through the subnet module)', (t) => {
  const s = setup();
  const ctx = s.runTo(2n);
  const msg = gradient(s, MINERS[0]);
  rejects(t, () => submit(s, ctx, { ...msg, subnet: (msg.subnet + 1n) % 4n }), trainingErrors.wrongSubnet, 'another subnet');
  t.end();
});

t.test('10 wrong chunk', (t) => {
  const s = setup();
  const ctx = s.runTo(2n);
  const msg = gradient(s, MINERS[0]);
  rejects(t, () => submit(s, ctx, { ...msg, chunkIndex: (msg.chunkIndex + 1n) % 16n }), trainingErrors.wrongChunk, 'next chunk');
  t.end();
});

t.test('11 invalid CID', (t) => {
  const s = setup();
  const ctx = s.runTo(2n);
  const msg = gradient(s, MINERS[0]);
  const digest = createDigest(0x12, sha256(utf8('x')));
  const variants: Record<string, string> = {
    empty: '',
    garbage: 'not-a-cid',
    'CIDv0': CID.createV0(digest).toString(),
    'dag-cbor codec': CID.createV1(0x71, digest).toString(),
    'dag-pb base58 spelling': CID.createV1(0x70, digest).toString(base58btc),
    'base58 spelling': CID.createV1(0x55, digest).toString(base58btc),
    'identity hash': CID.createV1(0x55, createDigest(0x00, utf8('short'))).toString(),
  };
  for (const [what, gradientCid] of Object.entries(variants)) rejects(t, () => submit(s, ctx, { ...msg, gradientCid }), trainingErrors.invalidCid, what);
  rejects(t, () => s.handlers[TYPE_URLS.revealAggregation].signers({ ...revealMsg(VALIDATORS[0]), resultCid: 'bafy' }), trainingErrors.invalidCid, 'result CID');
  t.equal(s.training.windowSubmissions(s.store, 1n).length, 0, 'nothing stored');
  t.end();
});

t.test('11b a UnixFS root CID (dag-pb, content over 1 MiB) is a content CID', (t) => {
  const s = setup();
  const ctx = s.runTo(2n);
  // The root `ipfs add --cid-version=1 --raw-leaves --chunker=size-1048576` gives for a 2 MiB file.
  const gradientCid = CID.createV1(0x70, createDigest(0x12, sha256(utf8('a UnixFS file node')))).toString();
  t.match(gradientCid, /^bafybei[a-z2-7]{52}$/);
  t.doesNotThrow(() => submit(s, ctx, { ...gradient(s, MINERS[0]), gradientCid }), 'accepted');
  t.equal(s.training.windowSubmissions(s.store, 1n)[0]?.gradientCid, gradientCid, 'stored under its CID');
  t.doesNotThrow(() => s.handlers[TYPE_URLS.revealAggregation].signers({ ...revealMsg(VALIDATORS[0]), resultCid: gradientCid }), 'as a result CID too');
  t.end();
});

t.test('12 model version not active or in migration', (t) => {
  const s = setup();
  const ctx = s.runTo(2n);
  s.models.versions.push({ number: 2n, status: 'migration', nLayers: 8 }, { number: 0n, status: 'deprecated', nLayers: 8 });
  rejects(t, () => submit(s, ctx, gradient(s, MINERS[0], 1n, { modelVersion: 0n })), trainingErrors.modelVersionNotUsable, 'deprecated');
  rejects(t, () => submit(s, ctx, gradient(s, MINERS[0], 1n, { modelVersion: 7n })), trainingErrors.modelVersionNotUsable, 'unknown');
  t.end();
});

t.test('27 wrong model version: a submission names its window\'s version', (t) => {
  const s = setup();
  const ctx = s.runTo(2n);
  s.models.versions.push({ number: 2n, status: 'migration', nLayers: 8 });
  t.equal(s.training.window(s.store, 1n)?.modelVersion, 1n, 'window 1 trains version 1');
  // Version 2 is usable (in migration), but a delta trained on it cannot join window 1's aggregate.
  rejects(t, () => submit(s, ctx, gradient(s, MINERS[0], 1n, { modelVersion: 2n })), trainingErrors.wrongModelVersion, 'another usable version');
  t.equal(s.training.windowSubmissions(s.store, 1n).length, 0, 'nothing stored');
  t.doesNotThrow(() => submit(s, ctx, gradient(s, MINERS[0], 1n, { modelVersion: 1n })), 'the window\'s version is accepted');
  t.end();
});

t.test('13 rate limit: max_submissions_per_miner_per_window', (t) => {
  const s = setup();
  const ctx = s.runTo(2n);
  submit(s, ctx, gradient(s, MINERS[0]));
  submit(s, ctx, gradient(s, MINERS[0]));
  t.equal(s.training.assignment(s.store, 1n, MINERS[0]).remaining, 0n);
  rejects(t, () => submit(s, ctx, gradient(s, MINERS[0])), trainingErrors.rateLimited, 'third of 2');
  t.doesNotThrow(() => submit(s, ctx, gradient(s, MINERS[1])), 'other miners unaffected');
  t.end();
});

t.test('14 duplicate submission (same gradient CID)', (t) => {
  const s = setup();
  const ctx = s.runTo(2n);
  const first = gradient(s, MINERS[0]);
  submit(s, ctx, first);
  rejects(t, () => submit(s, ctx, gradient(s, MINERS[0], 1n, { gradientCid: first.gradientCid })), trainingErrors.duplicateSubmission, 'same miner');
  rejects(t, () => submit(s, ctx, gradient(s, MINERS[1], 1n, { gradientCid: first.gradientCid })), trainingErrors.duplicateSubmission, 'copied by another miner');
  t.end();
});

t.test('15 invalid hash length', (t) => {
  const s = setup();
  const ctx = s.runTo(2n);
  rejects(t, () => submit(s, ctx, gradient(s, MINERS[0], 1n, { gradientHash: Buffer.alloc(31) })), trainingErrors.invalidHash, 'gradient hash 31 bytes');
  rejects(t, () => submit(s, ctx, gradient(s, MINERS[0], 1n, { traceRoot: Buffer.alloc(0) })), trainingErrors.invalidHash, 'no trace root');
  rejects(t, () => s.handlers[TYPE_URLS.commitAggregation].signers({ ...commitMsg(VALIDATORS[0]), commitment: Buffer.alloc(33) }), trainingErrors.invalidHash, 'commitment 33 bytes');
  t.end();
});

t.test('16 invalid backend', (t) => {
  const s = setup();
  const ctx = s.runTo(2n);
  for (const backend of ['', 'Web GPU', 'x'.repeat(33)]) rejects(t, () => submit(s, ctx, gradient(s, MINERS[0], 1n, { backend })), trainingErrors.invalidBackend, JSON.stringify(backend));
  t.end();
});

t.test('17 commit outside the commit phase', (t) => {
  const s = setup();
  const ctx = s.runTo(2n);
  for (const miner of MINERS) submit(s, ctx, gradient(s, miner));
  rejects(t, () => s.training.commitAggregation(s.at(2n), commitMsg(VALIDATORS[0])), trainingErrors.notCommitPhase, 'collecting');
  s.runTo(12n);
  rejects(t, () => s.training.commitAggregation(s.at(12n), commitMsg(VALIDATORS[0])), trainingErrors.notCommitPhase, 'challenge period');
  const proposers = (s.runTo(13n), s.training.window(s.store, 1n)!.proposers);
  s.runTo(16n);
  rejects(t, () => s.training.commitAggregation(s.at(16n), commitMsg(proposers[0])), trainingErrors.notCommitPhase, 'reveal phase');
  t.end();
});

t.test('18 reveal outside the reveal phase', (t) => {
  const s = setup();
  const proposers = toCommitPhase(s);
  s.training.commitAggregation(s.at(13n), commitMsg(proposers[0]));
  rejects(t, () => s.training.revealAggregation(s.at(15n), revealMsg(proposers[0])), trainingErrors.notRevealPhase, 'still committing');
  s.runTo(19n);
  rejects(t, () => s.training.revealAggregation(s.at(19n), revealMsg(proposers[0])), trainingErrors.notRevealPhase, 'after the tally');
  t.end();
});

t.test('19 not a drawn proposer', (t) => {
  const s = setup();
  const proposers = toCommitPhase(s);
  const outsider = VALIDATORS.find((v) => !proposers.includes(v))!;
  rejects(t, () => s.training.commitAggregation(s.at(13n), commitMsg(outsider)), trainingErrors.notProposer, 'undrawn validator');
  t.end();
});

t.test('20 already committed', (t) => {
  const s = setup();
  const proposers = toCommitPhase(s);
  s.training.commitAggregation(s.at(13n), commitMsg(proposers[0]));
  rejects(t, () => s.training.commitAggregation(s.at(14n), commitMsg(proposers[0], 1n, testCid('other'))), trainingErrors.alreadyCommitted, 'second commit');
  t.end();
});

t.test('21 reveal without commitment', (t) => {
  const s = setup();
  const proposers = toCommitPhase(s);
  s.runTo(16n);
  rejects(t, () => s.training.revealAggregation(s.at(16n), revealMsg(proposers[1])), trainingErrors.noCommitment, 'never committed');
  t.end();
});

t.test('22 already revealed', (t) => {
  const s = setup();
  const proposers = toCommitPhase(s);
  s.training.commitAggregation(s.at(13n), commitMsg(proposers[0]));
  s.runTo(16n);
  s.training.revealAggregation(s.at(16n), revealMsg(proposers[0]));
  rejects(t, () => s.training.revealAggregation(s.at(17n), revealMsg(proposers[0])), trainingErrors.alreadyRevealed, 'second reveal');
  t.end();
});

t.test('23 reveal does not match the commitment', (t) => {
  const s = setup();
  const proposers = toCommitPhase(s);
  s.training.commitAggregation(s.at(13n), commitMsg(proposers[0]));
  s.runTo(16n);
  rejects(t, () => s.training.revealAggregation(s.at(16n), revealMsg(proposers[0], 1n, testCid('changed my mind'))), trainingErrors.commitmentMismatch, 'other cid');
  rejects(t, () => s.training.revealAggregation(s.at(16n), { ...revealMsg(proposers[0]), nonce: Buffer.alloc(32) }), trainingErrors.commitmentMismatch, 'other nonce');
  t.end();
});

t.test('24 invalid nonce', (t) => {
  const s = setup();
  rejects(t, () => s.handlers[TYPE_URLS.revealAggregation].signers({ ...revealMsg(VALIDATORS[0]), nonce: Buffer.alloc(16) }), trainingErrors.invalidNonce, '16-byte nonce');
  t.end();
});

t.test('25 submission not found', (t) => {
  const s = setup();
  s.runTo(2n);
  rejects(t, () => s.training.rejectSubmission(s.at(2n), 42n, 'x'), trainingErrors.submissionNotFound, 'reject unknown');
  rejects(t, () => s.trainingModule.queries[QUERY_PATHS.submission](s.store, QuerySubmissionRequest.encode({ submissionId: 42n }).finish()), trainingErrors.submissionNotFound, 'query');
  t.end();
});

t.test('26 submission not pending', (t) => {
  const s = setup();
  const ctx = s.runTo(2n);
  submit(s, ctx, gradient(s, MINERS[0]));
  submit(s, ctx, gradient(s, MINERS[1]));
  s.training.rejectSubmission(s.at(3n), 1n, 'bad');
  rejects(t, () => s.training.rejectSubmission(s.at(3n), 1n, 'again'), trainingErrors.submissionNotPending, 'already rejected');
  s.runTo(13n);
  rejects(t, () => s.training.rejectSubmission(s.at(13n), 2n, 'late'), trainingErrors.submissionNotPending, 'accepted set fixed');
  t.end();
});

// ------------------------------------------------------------------ exclusions (28, 29, 30; 23 binds them)

const UNAVAILABLE = ExclusionReason.EXCLUSION_REASON_UNAVAILABLE;
const ex = (submissionId: bigint, reason: number = UNAVAILABLE): Exclusion => ({ submissionId, reason });

function commitX(proposer: string, excluded: Exclusion[], cid = RESULT_CID, hash: Uint8Array = RESULT_HASH): MsgCommitAggregation {
  return MsgCommitAggregation.fromPartial({ proposer, windowId: 1n, commitment: Buffer.from(commitHash(cid, hash, nonceOf(proposer), excluded)) });
}

function revealX(proposer: string, excluded: Exclusion[], cid = RESULT_CID, hash: Uint8Array = RESULT_HASH): MsgRevealAggregation {
  return MsgRevealAggregation.fromPartial({ proposer, windowId: 1n, resultCid: cid, resultHash: Buffer.from(hash), nonce: Buffer.from(nonceOf(proposer)), excluded });
}

/** Every key and value of the state, for "a refused tx changes nothing". */
function snapshot(s: Setup): string {
  return [...s.store.iterate(new Uint8Array())].map(([k, v]) => `${toHex(k)}=${toHex(v)}`).join('\n');
}

/** A refused reveal, through the handler (stateless checks, then execution): error `kind`, state untouched. */
function refusedReveal(t: Test, s: Setup, height: bigint, msg: MsgRevealAggregation, kind: ErrorKind, what: string): void {
  const before = snapshot(s);
  const handler = s.handlers[TYPE_URLS.revealAggregation];
  rejects(t, () => {
    handler.signers(msg);
    handler.execute(s.at(height), msg);
  }, kind, what);
  t.equal(snapshot(s), before, `${what}: state untouched`);
}

t.test('28 invalid exclusion list: unsorted, duplicate, unspecified or unknown reason', (t) => {
  const s = setup();
  const proposers = toCommitPhase(s);
  s.training.commitAggregation(s.at(13n), commitX(proposers[0], [ex(1n)]));
  s.runTo(16n);
  refusedReveal(t, s, 16n, revealX(proposers[0], [ex(2n), ex(1n)]), trainingErrors.invalidExclusions, 'unsorted');
  refusedReveal(t, s, 16n, revealX(proposers[0], [ex(1n), ex(1n, ExclusionReason.EXCLUSION_REASON_UNDECODABLE)]), trainingErrors.invalidExclusions, 'duplicate id');
  refusedReveal(t, s, 16n, revealX(proposers[0], [ex(1n, ExclusionReason.EXCLUSION_REASON_UNSPECIFIED)]), trainingErrors.invalidExclusions, 'unspecified reason');
  refusedReveal(t, s, 16n, revealX(proposers[0], [ex(1n, 7)]), trainingErrors.invalidExclusions, 'unknown reason');
  t.equal(s.training.commit(s.store, 1n, proposers[0])!.revealed, false);
  s.training.revealAggregation(s.at(16n), revealX(proposers[0], [ex(1n)]));
  t.same(s.training.commit(s.store, 1n, proposers[0])!.excluded, [ex(1n)], 'the committed list is accepted and stored');
  t.end();
});

t.test('29 excluded submission not accepted in the window: rejected, unknown, or another window\'s', (t) => {
  const s = setup();
  const ctx = s.runTo(2n);
  for (const miner of MINERS) submit(s, ctx, gradient(s, miner));
  s.runTo(12n); // window 2 opened at 11
  s.training.rejectSubmission(s.at(12n), 3n, 'challenge upheld');
  submit(s, s.at(12n), gradient(s, MINERS[0], 2n)); // submission 4, window 2
  s.runTo(13n);
  const proposers = s.training.window(s.store, 1n)!.proposers;
  const lists = [[ex(3n)], [ex(99n)], [ex(4n)]];
  lists.forEach((list, i) => s.training.commitAggregation(s.at(13n), commitX(proposers[i], list)));
  s.runTo(16n);
  refusedReveal(t, s, 16n, revealX(proposers[0], lists[0]), trainingErrors.exclusionNotAccepted, 'a rejected submission');
  refusedReveal(t, s, 16n, revealX(proposers[1], lists[1]), trainingErrors.exclusionNotAccepted, 'no such submission');
  refusedReveal(t, s, 16n, revealX(proposers[2], lists[2]), trainingErrors.exclusionNotAccepted, 'a submission of window 2');
  t.end();
});

t.test('30 exclusions do not fit the result: a result with every input excluded, a "nothing" reveal that includes one', (t) => {
  const s = setup();
  const proposers = toCommitPhase(s);
  const all = [ex(1n), ex(2n), ex(3n)];
  s.training.commitAggregation(s.at(13n), commitX(proposers[0], all));
  s.training.commitAggregation(s.at(13n), commitX(proposers[1], [ex(1n), ex(2n)], '', new Uint8Array()));
  s.training.commitAggregation(s.at(13n), commitX(proposers[2], all, '', new Uint8Array()));
  s.runTo(16n);
  refusedReveal(t, s, 16n, revealX(proposers[0], all), trainingErrors.exclusionSetMismatch, 'a result with all excluded');
  refusedReveal(t, s, 16n, revealX(proposers[1], [ex(1n), ex(2n)], '', new Uint8Array()), trainingErrors.exclusionSetMismatch, 'nothing to aggregate, one included');
  refusedReveal(t, s, 16n, revealX(proposers[2], [], '', new Uint8Array()), trainingErrors.exclusionSetMismatch, 'nothing to aggregate, nothing excluded');
  // Half-empty results stay what they were: an empty CID with a hash (11), a CID without one (15).
  refusedReveal(t, s, 16n, revealX(proposers[2], all, '', RESULT_HASH), trainingErrors.invalidCid, 'empty CID, 32-byte hash');
  refusedReveal(t, s, 16n, revealX(proposers[2], all, RESULT_CID, new Uint8Array()), trainingErrors.invalidHash, 'CID, empty hash');
  s.training.revealAggregation(s.at(16n), revealX(proposers[2], all, '', new Uint8Array()));
  const stored = s.training.commit(s.store, 1n, proposers[2])!;
  t.same([stored.revealed, stored.resultCid, stored.resultHash.length, stored.excluded], [true, '', 0, all], 'a valid "nothing to aggregate" reveal');
  t.end();
});

t.test('23 the commitment binds the exclusions: a reveal with other exclusions than committed is refused', (t) => {
  const s = setup();
  const proposers = toCommitPhase(s);
  s.training.commitAggregation(s.at(13n), commitX(proposers[0], [ex(2n)]));
  s.training.commitAggregation(s.at(13n), commitMsg(proposers[1]));
  s.runTo(16n);
  refusedReveal(t, s, 16n, revealX(proposers[0], []), trainingErrors.commitmentMismatch, 'committed an exclusion, reveals none');
  refusedReveal(t, s, 16n, revealX(proposers[0], [ex(3n)]), trainingErrors.commitmentMismatch, 'another submission');
  refusedReveal(t, s, 16n, revealX(proposers[0], [ex(2n, ExclusionReason.EXCLUSION_REASON_WRONG_MODEL)]), trainingErrors.commitmentMismatch, 'another reason');
  refusedReveal(t, s, 16n, revealX(proposers[1], [ex(2n)]), trainingErrors.commitmentMismatch, 'committed none, reveals one');
  s.training.revealAggregation(s.at(16n), revealX(proposers[0], [ex(2n)]));
  s.training.revealAggregation(s.at(16n), revealMsg(proposers[1]));
  t.equal(s.training.commit(s.store, 1n, proposers[1])!.excluded.length, 0);
  t.end();
});

t.test('reveal-aggregation --excluded ID:REASON,… builds the exclusions; "" "" is the nothing-to-aggregate reveal', (t) => {
  const spec = trainingInterface.txs.find((x) => x.name === 'reveal-aggregation')!;
  const args = { 'window-id': '1', 'result-cid': RESULT_CID, 'result-hash': toHex(RESULT_HASH), nonce: toHex(nonceOf(VALIDATORS[0])) };
  const built = spec.build(VALIDATORS[0], args, { excluded: '3:unavailable,7:undecodable,9:wrong-model' }) as MsgRevealAggregation;
  t.same(built.excluded, [ex(3n), ex(7n, ExclusionReason.EXCLUSION_REASON_UNDECODABLE), ex(9n, ExclusionReason.EXCLUSION_REASON_WRONG_MODEL)]);
  t.same((spec.build(VALIDATORS[0], args, {}) as MsgRevealAggregation).excluded, []);
  const nothing = spec.build(VALIDATORS[0], { ...args, 'result-cid': '', 'result-hash': '' }, { excluded: '1:unavailable' }) as MsgRevealAggregation;
  t.same([nothing.resultCid, nothing.resultHash.length], ['', 0]);
  t.throws(() => spec.build(VALIDATORS[0], args, { excluded: '3:lost' }), /not ID:REASON/, 'unknown reason word');
  t.throws(() => spec.build(VALIDATORS[0], args, { excluded: '3' }), /not ID:REASON/, 'no reason');
  t.end();
});

t.test('31 held-out losses do not fit: with "nothing to aggregate", or in a window without eval_chunks; 32 invalid head rollback', (t) => {
  const losses = { lossBase: 1000n, lossAggregate: 990n };
  const all = [ex(1n), ex(2n), ex(3n)];
  {
    const s = setup();
    const proposers = toCommitPhase(s);
    s.training.commitAggregation(s.at(13n), MsgCommitAggregation.fromPartial({
      proposer: proposers[0], windowId: 1n, commitment: Buffer.from(commitHash('', new Uint8Array(), nonceOf(proposers[0]), all, losses)),
    }));
    s.training.commitAggregation(s.at(13n), MsgCommitAggregation.fromPartial({
      proposer: proposers[1], windowId: 1n, commitment: Buffer.from(commitHash(RESULT_CID, RESULT_HASH, nonceOf(proposers[1]), [], losses)),
    }));
    s.runTo(16n);
    refusedReveal(t, s, 16n, { ...revealX(proposers[0], all, '', new Uint8Array()), ...losses }, trainingErrors.lossesMismatch, 'losses with "nothing to aggregate"');
    s.training.revealAggregation(s.at(16n), { ...revealX(proposers[1], []), ...losses });
    t.same([s.training.commit(s.store, 1n, proposers[1])!.lossBase, s.training.commit(s.store, 1n, proposers[1])!.lossAggregate], [1000n, 990n], 'stored with the reveal');
    rejects(t, () => s.training.checkHeadRollback(s.store, 1n), trainingErrors.invalidRollback, 'rollback to a window still aggregating');
  }
  {
    const s = setup({ evalChunks: 0n });
    const proposers = toCommitPhase(s);
    s.training.commitAggregation(s.at(13n), MsgCommitAggregation.fromPartial({
      proposer: proposers[0], windowId: 1n, commitment: Buffer.from(commitHash(RESULT_CID, RESULT_HASH, nonceOf(proposers[0]), [], losses)),
    }));
    s.runTo(16n);
    refusedReveal(t, s, 16n, { ...revealX(proposers[0], []), ...losses }, trainingErrors.lossesMismatch, 'losses in a window without evaluation');
  }
  const spec = trainingInterface.txs.find((tx) => tx.name === 'reveal-aggregation')!;
  const built = spec.build(VALIDATORS[0], { 'window-id': '1', 'result-cid': RESULT_CID, 'result-hash': toHex(RESULT_HASH), nonce: '00'.repeat(32) }, { 'loss-base': '1000', 'loss-aggregate': '990' }) as MsgRevealAggregation;
  t.same([built.lossBase, built.lossAggregate], [1000n, 990n], 'CLI reveal-aggregation --loss-base --loss-aggregate');
  t.end();
});

t.test('checkpoint fields of a reveal (README "Checkpoints"): 33 half a checkpoint or one in a window that carries none, 11/15 their syntax; state untouched', (t) => {
  const s = setup();
  const proposers = toCommitPhase(s);
  t.equal(s.training.window(s.store, 1n)!.checkpointThrough, 0n, 'window 1 carries no checkpoint (nothing applied before it)');
  const CKPT_CID = testCid('checkpoint-1');
  const CKPT_HASH = sha256(utf8('checkpoint-1'));
  const ckpt = { checkpointCid: CKPT_CID, checkpointHash: Buffer.from(CKPT_HASH) };
  // Committed with the checkpoint, so that the commitment matches and the window check is the one that refuses.
  s.training.commitAggregation(s.at(13n), MsgCommitAggregation.fromPartial({
    proposer: proposers[0], windowId: 1n, commitment: Buffer.from(commitHash(RESULT_CID, RESULT_HASH, nonceOf(proposers[0]), [], undefined, ckpt)),
  }));
  s.training.commitAggregation(s.at(13n), commitMsg(proposers[1]));
  s.runTo(16n);
  refusedReveal(t, s, 16n, { ...revealMsg(proposers[0]), ...ckpt }, trainingErrors.unexpectedCheckpoint, 'a checkpoint in a window that carries none');
  refusedReveal(t, s, 16n, { ...revealMsg(proposers[1]), checkpointCid: CKPT_CID }, trainingErrors.unexpectedCheckpoint, 'a CID without a hash');
  refusedReveal(t, s, 16n, { ...revealMsg(proposers[1]), checkpointHash: Buffer.from(CKPT_HASH) }, trainingErrors.unexpectedCheckpoint, 'a hash without a CID');
  refusedReveal(t, s, 16n, { ...revealMsg(proposers[1]), ...ckpt, checkpointCid: 'not-a-cid' }, trainingErrors.invalidCid, 'checkpoint_cid not a content CID');
  refusedReveal(t, s, 16n, { ...revealMsg(proposers[1]), ...ckpt, checkpointHash: Buffer.alloc(31) }, trainingErrors.invalidHash, 'checkpoint_hash not 32 bytes');
  // Committed without a checkpoint, revealed with one: the commitment binds it.
  refusedReveal(t, s, 16n, { ...revealMsg(proposers[1]), ...ckpt }, trainingErrors.commitmentMismatch, 'a checkpoint that was not committed');
  t.doesNotThrow(() => s.training.revealAggregation(s.at(16n), revealMsg(proposers[1])), 'the same reveal without it is accepted');
  // CLI: reveal-aggregation --checkpoint-cid --checkpoint-hash.
  const spec = trainingInterface.txs.find((tx) => tx.name === 'reveal-aggregation')!;
  const built = spec.build(VALIDATORS[0], { 'window-id': '1', 'result-cid': RESULT_CID, 'result-hash': toHex(RESULT_HASH), nonce: '00'.repeat(32) }, { 'checkpoint-cid': CKPT_CID, 'checkpoint-hash': toHex(CKPT_HASH) }) as MsgRevealAggregation;
  t.same([built.checkpointCid, toHex(built.checkpointHash)], [CKPT_CID, toHex(CKPT_HASH)]);
  t.end();
});

t.test('34 checkpoint not found: LatestCheckpoint of a version without one (query), state untouched', (t) => {
  const s = setup();
  s.runTo(3n);
  const before = snapshot(s);
  rejects(t, () => s.trainingModule.queries[QUERY_PATHS.latestCheckpoint](s.store, QueryLatestCheckpointRequest.encode({ modelVersion: 1n }).finish()), trainingErrors.checkpointNotFound, 'no checkpoint yet');
  rejects(t, () => s.trainingModule.queries[QUERY_PATHS.latestCheckpoint](s.store, QueryLatestCheckpointRequest.encode({ modelVersion: 99n }).finish()), trainingErrors.checkpointNotFound, 'unknown version');
  t.equal(snapshot(s), before, 'state untouched');
  t.end();
});

t.test('commitHash with a checkpoint: sha256(domain ‖ cid ‖ hash ‖ sha256(the preimage without it)), 151 bytes; half a checkpoint is a RangeError', (t) => {
  const nonce = new Uint8Array(32).fill(9);
  const cid = testCid('checkpoint-x');
  const hash = sha256(utf8('checkpoint-x'));
  const inner = sha256(Buffer.concat([Buffer.from(RESULT_CID), RESULT_HASH, nonce]));
  const preimage = Buffer.concat([Buffer.from('r3mes/training/checkpoint/v1'), Buffer.from(cid), hash, inner]);
  t.equal(preimage.length, 151, 'no length of the form without a checkpoint (123/139/32/48 + 9k)');
  t.ok([123, 139, 32, 48].every((base) => (151 - base) % 9 !== 0 || 151 < base));
  t.equal(toHex(commitHash(RESULT_CID, RESULT_HASH, nonce, [], undefined, { checkpointCid: cid, checkpointHash: hash })), toHex(sha256(preimage)));
  t.equal(toHex(commitHash(RESULT_CID, RESULT_HASH, nonce, [], undefined, { checkpointCid: '', checkpointHash: new Uint8Array() })), toHex(commitHash(RESULT_CID, RESULT_HASH, nonce)), 'no checkpoint: unchanged');
  t.throws(() => commitHash(RESULT_CID, RESULT_HASH, nonce, [], undefined, { checkpointCid: cid, checkpointHash: new Uint8Array() }), RangeError);
  t.end();
});

t.test('every training error code has its test', (t) => {
  const all = Object.values(trainingErrors).map((kind) => kind.code).sort((a, b) => a - b);
  t.same([...covered].sort((a, b) => a - b), all);
  t.end();
});

// ------------------------------------------------------------------ queries, interface, pure functions

t.test('queries answer what the keeper holds', (t) => {
  const s = setup();
  const ctx = s.runTo(2n);
  submit(s, ctx, gradient(s, MINERS[0]));
  const q = s.trainingModule.queries;
  t.equal(QueryParamsResponse.decode(q[QUERY_PATHS.params](s.store, new Uint8Array())).params!.windowBlocks, 10n);
  t.equal(QueryWindowResponse.decode(q[QUERY_PATHS.window](s.store, QueryWindowRequest.encode({ windowId: 1n }).finish())).window!.submissionCount, 1n);
  t.equal(QueryCurrentWindowResponse.decode(q[QUERY_PATHS.currentWindow](s.store, new Uint8Array())).window!.id, 1n);
  t.equal(QuerySubmissionResponse.decode(q[QUERY_PATHS.submission](s.store, QuerySubmissionRequest.encode({ submissionId: 1n }).finish())).submission!.miner, MINERS[0]);
  t.equal(QueryWindowSubmissionsResponse.decode(q[QUERY_PATHS.windowSubmissions](s.store, QueryWindowSubmissionsRequest.encode({ windowId: 1n, pagination: undefined }).finish())).submissions.length, 1);
  t.same(QueryAggregationResponse.decode(q[QUERY_PATHS.aggregation](s.store, QueryAggregationRequest.encode({ windowId: 1n, pagination: undefined }).finish())).commits, []);
  const assignment = QueryAssignmentResponse.decode(q[QUERY_PATHS.assignment](s.store, QueryAssignmentRequest.encode({ windowId: 1n, miner: MINERS[0] }).finish()));
  t.equal(assignment.nextOrdinal, 1n);
  t.equal(assignment.remaining, 1n);
  t.end();
});

t.test('ModuleInterface: commands build valid messages, routes encode and decode', (t) => {
  const s = setup();
  s.runTo(2n);
  const msg = gradient(s, MINERS[0]);
  const spec = trainingInterface.txs.find((x) => x.name === 'submit-gradient')!;
  const built = spec.build(MINERS[0], {
    'window-id': '1', subnet: msg.subnet.toString(), 'model-version': '1', 'gradient-cid': msg.gradientCid,
    'gradient-hash': toHex(msg.gradientHash), 'trace-root': toHex(msg.traceRoot), 'chunk-index': msg.chunkIndex.toString(),
  }, { 'loss-before': '52000', 'loss-after': '49500', backend: 'webgpu' });
  t.same(MsgSubmitGradient.encode(built as MsgSubmitGradient).finish(), MsgSubmitGradient.encode(msg).finish());
  t.throws(() => spec.build(MINERS[0], { 'window-id': 'one' }, {}), 'bad number');
  for (const txSpec of trainingInterface.txs) t.match(txSpec.typeUrl, /^\/r3mes\.training\.v1\.Msg/);
  const window = trainingInterface.queries.find((x) => x.name === 'window')!;
  t.equal(window.rest, '/r3mes/training/v1/windows/{window_id}');
  const answer = s.trainingModule.queries[window.path](s.store, window.encodeRequest({ window_id: '1' }));
  t.match(window.decodeResponse(answer), { window: { id: '1', status: 'WINDOW_STATUS_COLLECTING' } });
  for (const route of trainingInterface.queries) t.ok(s.trainingModule.queries[route.path], `${route.path} is served`);
  t.same(trainingInterface.registryTypes.map(([url]) => url), Object.values(TYPE_URLS));
  t.end();
});

t.test('assignedChunk and commitHash: pinned vectors for the worker', (t) => {
  const seed = sha256(utf8('seed'));
  const miner = testAddress('miner-alice');
  const chunks = [0n, 1n, 2n, 3n].map((ordinal) => assignedChunk(seed, miner, ordinal, 1024n));
  // Recomputed from the README formula, independently of the implementation:
  const expected = [0n, 1n, 2n, 3n].map((ordinal) => {
    const ord = Buffer.alloc(8);
    ord.writeBigUInt64BE(ordinal);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(Buffer.byteLength(miner));
    const digest = sha256(Buffer.concat([Buffer.from('r3mes/training/chunk/v1'), seed, len, Buffer.from(miner), ord]));
    return BigInt(`0x${toHex(digest)}`) % 1024n;
  });
  t.same(chunks, expected);
  t.ok(chunks.every((c) => c >= 0n && c < 1024n));
  t.throws(() => assignedChunk(seed.slice(1), miner, 0n, 4n), 'seed must be 32 bytes');
  t.throws(() => assignedChunk(seed, miner, 0n, 0n), 'chunk count positive');
  const nonce = new Uint8Array(32).fill(7);
  t.equal(toHex(commitHash(RESULT_CID, RESULT_HASH, nonce)), toHex(sha256(Buffer.concat([Buffer.from(RESULT_CID), RESULT_HASH, nonce]))));
  t.equal(toHex(commitHash(RESULT_CID, RESULT_HASH, nonce, [])), toHex(commitHash(RESULT_CID, RESULT_HASH, nonce)), 'no exclusions: the original formula');
  // With exclusions: ‖ u64be(id) ‖ u8(reason), ascending id.
  const tail = Buffer.from('0000000000000003' + '01' + '0000000000000101' + '03', 'hex');
  t.equal(RESULT_CID.length, 59, 'a content CID has one length');
  t.equal(
    toHex(commitHash(RESULT_CID, RESULT_HASH, nonce, [{ submissionId: 3n, reason: 1 }, { submissionId: 257n, reason: 3 }])),
    toHex(sha256(Buffer.concat([Buffer.from(RESULT_CID), RESULT_HASH, nonce, tail]))),
  );
  t.equal(toHex(commitHash('', new Uint8Array(), nonce, [{ submissionId: 3n, reason: 1 }])), toHex(sha256(Buffer.concat([nonce, tail.subarray(0, 9)]))), 'nothing to aggregate');
  t.throws(() => commitHash(RESULT_CID, RESULT_HASH, nonce, [{ submissionId: 5n, reason: 1 }, { submissionId: 5n, reason: 2 }]), RangeError, 'not strictly ascending');
  t.throws(() => commitHash(RESULT_CID, new Uint8Array(), nonce), RangeError, 'an empty hash only with an empty CID');
  t.end();
});
