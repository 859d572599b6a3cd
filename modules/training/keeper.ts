import { type Page, type PageRequest, paginate, underPrefix } from '../../app/core/pagination.ts';
import type { Context } from '../../app/core/context.ts';
import type { EventLog } from '../../app/core/events.ts';
import type { KVStore } from '../../app/core/store/types.ts';
import { prefixStore } from '../../app/core/store/prefix.ts';
import { bytesEqual, concatBytes, readU64be, toHex, u64be, utf8 } from '../../app/core/bytes.ts';
import type { MsgCommitAggregation, MsgRevealAggregation, MsgSubmitGradient } from '../../proto/gen/r3mes/training/v1/tx.ts';
import {
  AggregationCommit, Checkpoint, type Exclusion, ExclusionReason, Params, Schedule, Submission, SubmissionStatus, Window, WindowStatus,
} from '../../proto/gen/r3mes/training/v1/types.ts';
import { assignedChunk, commitHash, evalChunkSample, gateApplies } from './assignment.ts';
import { trainingErrors } from './errors.ts';
import type {
  AggregatorFault, AggregatorSlasher, MinerReader, ModelReader, RewardsHook, SubnetReader, ValidatorReader, WeightedAddress,
  SubmissionHoldReader,
  Drawer, ChunkQuotaReader,
} from './expected-keepers.ts';
import { AGGREGATION_LOOKBACK_WINDOWS, defaultParams, parseAmountString } from './params.ts';
import {
  EXCLUSION_REASON_NAMES, isNothingToAggregate, validateCommitAggregation, validateRevealAggregation, validateSubmitGradient,
} from './validate.ts';

/** Key layout inside the module's prefix "training/" (see README). */
const keys = {
  params: utf8('p'),
  schedule: utf8('s'),
  window: (id: bigint) => concatBytes(utf8('w/'), u64be(id)),
  windowPrefix: utf8('w/'),
  aggregating: (id: bigint) => concatBytes(utf8('g/'), u64be(id)),
  aggregatingPrefix: utf8('g/'),
  submission: (id: bigint) => concatBytes(utf8('u/'), u64be(id)),
  submissionPrefix: utf8('u/'),
  windowSubmission: (windowId: bigint, id: bigint) => concatBytes(utf8('x/'), u64be(windowId), u64be(id)),
  windowSubmissionPrefix: (windowId: bigint) => concatBytes(utf8('x/'), u64be(windowId)),
  minerCount: (windowId: bigint, miner: string) => concatBytes(utf8('m/'), u64be(windowId), utf8(miner)),
  cid: (cid: string) => concatBytes(utf8('c/'), utf8(cid)),
  /** Submissions by miner: u8(len) ‖ utf8(miner) ‖ u64be(id) → empty. */
  byMiner: (miner: string, id: bigint) => concatBytes(keys.byMinerPrefix(miner), u64be(id)),
  byMinerPrefix: (miner: string) => {
    const address = utf8(miner);
    return concatBytes(utf8('n/'), Uint8Array.of(address.length), address);
  },
  commit: (windowId: bigint, proposer: string) => concatBytes(utf8('a/'), u64be(windowId), utf8(proposer)),
  commitPrefix: (windowId: bigint) => concatBytes(utf8('a/'), u64be(windowId)),
  commitAllPrefix: utf8('a/'),
  /** Checkpoints: u64be(model version) ‖ u64be(through window) → Checkpoint. */
  checkpoint: (version: bigint, through: bigint) => concatBytes(utf8('k/'), u64be(version), u64be(through)),
  checkpointPrefix: (version: bigint) => concatBytes(utf8('k/'), u64be(version)),
  checkpointAllPrefix: utf8('k/'),
  /** The latest checkpoint of a version not rolled back: u64be(version) → u64be(through window); derived. */
  latestCheckpoint: (version: bigint) => concatBytes(utf8('l/'), u64be(version)),
};

export const PROPOSER_DRAW_PURPOSE = 'aggregation-proposer';

/** Identity of an exclusion list, for grouping reveals: "id:reason,…" in the revealed (ascending) order. */
function exclusionKey(excluded: readonly Exclusion[]): string {
  return excluded.map((x) => `${x.submissionId}:${x.reason}`).join(',');
}

const ID_KEY = { keyLength: 8, keyMeaning: 'a u64be submission id' };

export type WindowStatusName = 'collecting' | 'aggregating' | 'finalized' | 'failed' | 'not-applied';

const STATUS_NAMES: Record<number, WindowStatusName> = {
  [WindowStatus.WINDOW_STATUS_COLLECTING]: 'collecting',
  [WindowStatus.WINDOW_STATUS_AGGREGATING]: 'aggregating',
  [WindowStatus.WINDOW_STATUS_FINALIZED]: 'finalized',
  [WindowStatus.WINDOW_STATUS_FAILED]: 'failed',
  [WindowStatus.WINDOW_STATUS_NOT_APPLIED]: 'not-applied',
};

const SUBMISSION_STATUS_NAMES: Record<number, string> = {
  [SubmissionStatus.SUBMISSION_STATUS_ACCEPTED]: 'accepted',
  [SubmissionStatus.SUBMISSION_STATUS_REJECTED]: 'rejected',
  [SubmissionStatus.SUBMISSION_STATUS_EXCLUDED]: 'excluded',
};

/** What subnet (and later verification) reads of a window: see subnet's WindowReader. */
export interface WindowInfo {
  readonly status: WindowStatusName;
  readonly seed: Uint8Array;
  readonly modelVersion: bigint;
  readonly subnetCount: bigint;
}

export interface MinerAssignment {
  readonly subnet: bigint;
  readonly nextOrdinal: bigint;
  readonly chunkIndex: bigint;
  readonly remaining: bigint;
}

export function emptySchedule(): Schedule {
  return { nextWindowId: 1n, nextSubmissionId: 1n, nextOpenHeight: 1n, collectingWindowId: 0n };
}

/** Read-only layer: params, windows, submissions, commitments. */
export class TrainingViewKeeper {
  static readonly storePrefix = utf8('training/');

  protected view(store: KVStore): KVStore {
    return prefixStore(store, TrainingViewKeeper.storePrefix);
  }

  params(store: KVStore): Params {
    const raw = this.view(store).get(keys.params);
    return raw === undefined ? defaultParams() : Params.decode(raw);
  }

  schedule(store: KVStore): Schedule {
    const raw = this.view(store).get(keys.schedule);
    return raw === undefined ? emptySchedule() : Schedule.decode(raw);
  }

  window(store: KVStore, windowId: bigint): Window | undefined {
    if (windowId < 0n || windowId >= 1n << 64n) return undefined;
    const raw = this.view(store).get(keys.window(windowId));
    return raw === undefined ? undefined : Window.decode(raw);
  }

  /** The window now collecting submissions, if any. */
  currentWindow(store: KVStore): Window | undefined {
    const id = this.schedule(store).collectingWindowId;
    return id === 0n ? undefined : this.window(store, id);
  }

  /** subnet's WindowReader. */
  windowInfo(store: KVStore, windowId: bigint): WindowInfo | undefined {
    const window = this.window(store, windowId);
    if (window === undefined) return undefined;
    return { status: STATUS_NAMES[window.status], seed: window.seed, modelVersion: window.modelVersion, subnetCount: window.subnetCount };
  }

  *windows(store: KVStore): IterableIterator<Window> {
    for (const [, value] of this.view(store).iterate(keys.windowPrefix)) yield Window.decode(value);
  }

  /** Ids of the windows in `AGGREGATING`, ascending (the `g/` index: no scan of all windows). */
  aggregatingWindowIds(store: KVStore): bigint[] {
    return [...this.view(store).iterate(keys.aggregatingPrefix)].map(([key]) => readU64be(key.subarray(keys.aggregatingPrefix.length)));
  }

  submission(store: KVStore, submissionId: bigint): Submission | undefined {
    if (submissionId < 0n || submissionId >= 1n << 64n) return undefined;
    const raw = this.view(store).get(keys.submission(submissionId));
    return raw === undefined ? undefined : Submission.decode(raw);
  }

  *submissions(store: KVStore): IterableIterator<Submission> {
    for (const [, value] of this.view(store).iterate(keys.submissionPrefix)) yield Submission.decode(value);
  }

  /** A window's submissions in id order. */
  windowSubmissions(store: KVStore, windowId: bigint): Submission[] {
    const prefix = keys.windowSubmissionPrefix(windowId);
    const ids = [...this.view(store).iterate(prefix)].map(([key]) => readU64be(key.subarray(prefix.length)));
    return ids.map((id) => this.requireSubmission(store, id));
  }

  /** A page of a window's submissions, by id (key: u64be submission id). */
  windowSubmissionsPage(store: KVStore, windowId: bigint, page: PageRequest | undefined): Page<Submission> {
    return paginate(underPrefix(this.view(store), keys.windowSubmissionPrefix(windowId)), page, (key) => this.requireSubmission(store, readU64be(key)), ID_KEY);
  }

  /** A page of a miner's submissions in every window, by id (key: u64be submission id). */
  minerSubmissionsPage(store: KVStore, miner: string, page: PageRequest | undefined): Page<Submission> {
    return paginate(underPrefix(this.view(store), keys.byMinerPrefix(miner)), page, (key) => this.requireSubmission(store, readU64be(key)), ID_KEY);
  }

  /** A page of the windows with `status` (undefined: all), by id (key: u64be window id; `reverse`: newest first). */
  windowsPage(store: KVStore, status: WindowStatus | undefined, page: PageRequest | undefined): Page<Window> {
    return paginate(underPrefix(this.view(store), keys.windowPrefix), page, (_, value) => {
      const window = Window.decode(value);
      return status === undefined || window.status === status ? window : undefined;
    }, { keyLength: 8, keyMeaning: 'a u64be window id' });
  }

  /** A page of a window's commitments, by proposer (key: the proposer's bech32 address, UTF-8). */
  commitsPage(store: KVStore, windowId: bigint, page: PageRequest | undefined): Page<AggregationCommit> {
    return paginate(underPrefix(this.view(store), keys.commitPrefix(windowId)), page, (_, value) => AggregationCommit.decode(value));
  }

  /** How many submissions `miner` made in the window: the ordinal of its next one. */
  minerSubmissionCount(store: KVStore, windowId: bigint, miner: string): bigint {
    const raw = this.view(store).get(keys.minerCount(windowId, miner));
    return raw === undefined ? 0n : readU64be(raw);
  }

  submissionByCid(store: KVStore, cid: string): bigint | undefined {
    const raw = this.view(store).get(keys.cid(cid));
    return raw === undefined ? undefined : readU64be(raw);
  }

  /** A window's commitments, ordered by proposer address bytes. */
  commits(store: KVStore, windowId: bigint): AggregationCommit[] {
    return [...this.view(store).iterate(keys.commitPrefix(windowId))].map(([, value]) => AggregationCommit.decode(value));
  }

  *allCommits(store: KVStore): IterableIterator<AggregationCommit> {
    for (const [, value] of this.view(store).iterate(keys.commitAllPrefix)) yield AggregationCommit.decode(value);
  }

  commit(store: KVStore, windowId: bigint, proposer: string): AggregationCommit | undefined {
    const raw = this.view(store).get(keys.commit(windowId, proposer));
    return raw === undefined ? undefined : AggregationCommit.decode(raw);
  }

  /**
   * If windows were `windowBlocks` long from now on, would a window already open (collecting or
   * aggregating, with the phases it was opened with) still be in its reveal phase when more than
   * AGGREGATION_LOOKBACK_WINDOWS windows after it have opened? Windows open back to back from
   * `next_open_height`, so window `next_window_id + k` collects from `next_open_height + k·windowBlocks`.
   * Returns the reason, or undefined when every open window ends in time.
   */
  lookbackProblem(store: KVStore, windowBlocks: bigint): string | undefined {
    const schedule = this.schedule(store);
    const ids = this.aggregatingWindowIds(store);
    if (schedule.collectingWindowId !== 0n) ids.push(schedule.collectingWindowId);
    for (const id of ids) {
      const window = this.window(store, id);
      if (window === undefined) continue;
      const last = window.revealEndHeight - 1n;
      const collecting = last < schedule.nextOpenHeight ? schedule.nextWindowId - 1n : schedule.nextWindowId + (last - schedule.nextOpenHeight) / windowBlocks;
      if (collecting - id > AGGREGATION_LOOKBACK_WINDOWS) {
        return `window ${id} reveals until height ${last}: with windowBlocks ${windowBlocks}, window ${collecting} would be collecting by then, more than ${AGGREGATION_LOOKBACK_WINDOWS} windows after it`;
      }
    }
    return undefined;
  }

  checkpoint(store: KVStore, modelVersion: bigint, throughWindow: bigint): Checkpoint | undefined {
    if (modelVersion < 0n || modelVersion >= 1n << 64n || throughWindow < 0n || throughWindow >= 1n << 64n) return undefined;
    const raw = this.view(store).get(keys.checkpoint(modelVersion, throughWindow));
    return raw === undefined ? undefined : Checkpoint.decode(raw);
  }

  /** Every checkpoint, by (model version, through window). */
  *checkpoints(store: KVStore): IterableIterator<Checkpoint> {
    for (const [, value] of this.view(store).iterate(keys.checkpointAllPrefix)) yield Checkpoint.decode(value);
  }

  /** The latest checkpoint of `modelVersion` not rolled back (README "Checkpoints"), if any. */
  latestCheckpoint(store: KVStore, modelVersion: bigint): Checkpoint | undefined {
    if (modelVersion < 0n || modelVersion >= 1n << 64n) return undefined;
    const raw = this.view(store).get(keys.latestCheckpoint(modelVersion));
    return raw === undefined ? undefined : this.checkpoint(store, modelVersion, readU64be(raw));
  }

  /** A page of the checkpoints of `modelVersion` (0: every version), by (version, through window); key: u64be(version) ‖ u64be(through). */
  checkpointsPage(store: KVStore, modelVersion: bigint, page: PageRequest | undefined): Page<Checkpoint> {
    if (modelVersion === 0n) {
      return paginate(underPrefix(this.view(store), keys.checkpointAllPrefix), page, (_, value) => Checkpoint.decode(value), { keyLength: 16, keyMeaning: 'u64be model version ‖ u64be through window' });
    }
    return paginate(underPrefix(this.view(store), keys.checkpointPrefix(modelVersion)), page, (_, value) => Checkpoint.decode(value), { keyLength: 8, keyMeaning: 'a u64be through window' });
  }

  protected requireSubmission(store: KVStore, submissionId: bigint): Submission {
    const submission = this.submission(store, submissionId);
    if (submission === undefined) throw trainingErrors.submissionNotFound(`submission ${submissionId}`);
    return submission;
  }

  protected requireWindow(store: KVStore, windowId: bigint): Window {
    const window = this.window(store, windowId);
    if (window === undefined) throw trainingErrors.windowNotFound(`window ${windowId}`);
    return window;
  }
}

export interface TrainingDeps {
  readonly miners: MinerReader;
  readonly validators: ValidatorReader;
  readonly models: ModelReader;
  readonly subnets: SubnetReader;
  readonly rewards: RewardsHook;
  readonly slasher: AggregatorSlasher;
  readonly drawer: Drawer;
  /** Disputes that hold submissions out of aggregation; none when verification is not wired. */
  readonly holds?: SubmissionHoldReader;
  /** Compute weights (poc) that set each miner's chunks per window; none: every miner gets the window's cap. */
  readonly compute?: ChunkQuotaReader;
}

/** Full layer: submissions, commit-reveal, the window state machine (beginBlock). */
export class TrainingKeeper extends TrainingViewKeeper {
  constructor(private readonly deps: TrainingDeps) {
    super();
  }

  /** What a miner's next submission in a window must carry (query `Assignment`). */
  assignment(store: KVStore, windowId: bigint, miner: string): MinerAssignment {
    const window = this.requireWindow(store, windowId);
    const nextOrdinal = this.minerSubmissionCount(store, windowId, miner);
    const quota = this.chunkQuota(store, window, miner);
    return {
      subnet: this.deps.subnets.assignedSubnet(window, miner),
      nextOrdinal,
      chunkIndex: assignedChunk(window.seed, miner, nextOrdinal, window.chunkCount),
      remaining: nextOrdinal >= quota ? 0n : quota - nextOrdinal,
    };
  }

  /** Chunks `miner` may train in the window: its cap, or less by compute weight (README "Rate limit"). */
  chunkQuota(store: KVStore, window: Window, miner: string): bigint {
    return this.deps.compute?.chunkQuota(store, miner, window.maxSubmissionsPerMiner) ?? window.maxSubmissionsPerMiner;
  }

  setParams(store: KVStore, params: Params): void {
    this.view(store).set(keys.params, Params.encode(params).finish());
  }

  setSchedule(store: KVStore, schedule: Schedule): void {
    this.view(store).set(keys.schedule, Schedule.encode(schedule).finish());
  }

  /** Writes a window and keeps the aggregating index in step with its status. */
  setWindow(store: KVStore, window: Window): void {
    const view = this.view(store);
    view.set(keys.window(window.id), Window.encode(window).finish());
    if (window.status === WindowStatus.WINDOW_STATUS_AGGREGATING) view.set(keys.aggregating(window.id), new Uint8Array());
    else view.delete(keys.aggregating(window.id));
  }

  /** Writes a submission; `isNew` also writes its indexes (by window, miner count, CID). */
  setSubmission(store: KVStore, submission: Submission, isNew: boolean): void {
    const view = this.view(store);
    view.set(keys.submission(submission.id), Submission.encode(submission).finish());
    if (!isNew) return;
    view.set(keys.windowSubmission(submission.windowId, submission.id), new Uint8Array());
    const count = this.minerSubmissionCount(store, submission.windowId, submission.miner);
    view.set(keys.minerCount(submission.windowId, submission.miner), u64be(count + 1n));
    view.set(keys.cid(submission.gradientCid), u64be(submission.id));
    view.set(keys.byMiner(submission.miner, submission.id), new Uint8Array());
  }

  setCommit(store: KVStore, commit: AggregationCommit): void {
    this.view(store).set(keys.commit(commit.windowId, commit.proposer), AggregationCommit.encode(commit).finish());
  }

  /** Writes a checkpoint and keeps the version's latest-checkpoint pointer in step. */
  setCheckpoint(store: KVStore, checkpoint: Checkpoint): void {
    this.view(store).set(keys.checkpoint(checkpoint.modelVersion, checkpoint.throughWindow), Checkpoint.encode(checkpoint).finish());
    this.refreshLatestCheckpoint(store, checkpoint.modelVersion);
  }

  /** The latest checkpoint pointer of a version: the highest through window not rolled back (a scan: at writes only). */
  private refreshLatestCheckpoint(store: KVStore, modelVersion: bigint): void {
    let latest: bigint | undefined;
    for (const [, value] of this.view(store).iterate(keys.checkpointPrefix(modelVersion))) {
      const checkpoint = Checkpoint.decode(value);
      if (checkpoint.rolledBackHeight === 0n) latest = checkpoint.throughWindow;
    }
    if (latest === undefined) this.view(store).delete(keys.latestCheckpoint(modelVersion));
    else this.view(store).set(keys.latestCheckpoint(modelVersion), u64be(latest));
  }

  // ---------------------------------------------------------------- messages

  submitGradient(ctx: Context, msg: MsgSubmitGradient): { submissionId: bigint; ordinal: bigint } {
    validateSubmitGradient(msg);
    const { store } = ctx;
    const params = this.params(store);

    const miner = this.deps.miners.miner(store, msg.miner);
    if (miner === undefined) throw trainingErrors.minerNotRegistered(`${msg.miner}`);
    if (miner.jailed) throw trainingErrors.minerJailed(`${msg.miner}`);
    const minStake = parseAmountString(params.minMinerStake, 'min_miner_stake', trainingErrors.invalidParams);
    if (miner.stake < minStake) throw trainingErrors.insufficientMinerStake(`${msg.miner} has ${miner.stake}ur3mes staked, needs ${minStake}ur3mes`);

    const window = this.requireWindow(store, msg.windowId);
    if (window.status !== WindowStatus.WINDOW_STATUS_COLLECTING) {
      throw trainingErrors.windowNotCollecting(`window ${window.id} is ${STATUS_NAMES[window.status]}`);
    }

    const version = this.deps.models.version(store, msg.modelVersion);
    if (version === undefined || (version.status !== 'active' && version.status !== 'migration')) {
      throw trainingErrors.modelVersionNotUsable(`model version ${msg.modelVersion} is ${version === undefined ? 'unknown' : version.status}`);
    }
    // A delta trained on another base cannot be aggregated with the window's (it would poison the update).
    if (msg.modelVersion !== window.modelVersion) {
      throw trainingErrors.wrongModelVersion(`window ${window.id} trains model version ${window.modelVersion}, not ${msg.modelVersion}`);
    }

    const subnet = this.deps.subnets.assignedSubnet(window, msg.miner);
    if (msg.subnet !== subnet) throw trainingErrors.wrongSubnet(`window ${window.id} assigns ${msg.miner} to subnet ${subnet}, not ${msg.subnet}`);

    const ordinal = this.minerSubmissionCount(store, window.id, msg.miner);
    const quota = this.chunkQuota(store, window, msg.miner);
    if (ordinal >= quota) {
      const why = quota === window.maxSubmissionsPerMiner ? '' : ` (its compute weight allows ${quota} of the window's ${window.maxSubmissionsPerMiner})`;
      throw trainingErrors.rateLimited(`${msg.miner} already made ${ordinal} of ${quota} submissions in window ${window.id}${why}`);
    }

    const chunk = assignedChunk(window.seed, msg.miner, ordinal, window.chunkCount);
    if (msg.chunkIndex !== chunk) {
      throw trainingErrors.wrongChunk(`submission ${ordinal} of ${msg.miner} in window ${window.id} must train chunk ${chunk}, not ${msg.chunkIndex}`);
    }

    const earlier = this.submissionByCid(store, msg.gradientCid);
    if (earlier !== undefined) throw trainingErrors.duplicateSubmission(`gradient ${msg.gradientCid} is already submission ${earlier}`);

    const schedule = this.schedule(store);
    const submission: Submission = {
      id: schedule.nextSubmissionId, miner: msg.miner, windowId: window.id, subnet, modelVersion: msg.modelVersion,
      gradientCid: msg.gradientCid, gradientHash: Buffer.from(msg.gradientHash), traceRoot: Buffer.from(msg.traceRoot),
      chunkIndex: chunk, ordinal, lossBefore: msg.lossBefore, lossAfter: msg.lossAfter, backend: msg.backend,
      height: ctx.height, status: SubmissionStatus.SUBMISSION_STATUS_PENDING, rejectReason: '',
      exclusionReason: ExclusionReason.EXCLUSION_REASON_UNSPECIFIED,
    };
    schedule.nextSubmissionId += 1n;
    this.setSchedule(store, schedule);
    this.setSubmission(store, submission, true);
    window.submissionCount += 1n;
    this.setWindow(store, window);
    ctx.events.emit('submission', [
      ['id', submission.id.toString()],
      ['miner', submission.miner],
      ['window', window.id.toString()],
      ['subnet', subnet.toString()],
      ['cid', submission.gradientCid],
      ['chunk', chunk.toString()],
      ['ordinal', ordinal.toString()],
      ['model_version', msg.modelVersion.toString()],
      ['backend', msg.backend, false],
    ]);
    return { submissionId: submission.id, ordinal };
  }

  commitAggregation(ctx: Context, msg: MsgCommitAggregation): void {
    validateCommitAggregation(msg);
    const { store } = ctx;
    const window = this.requireWindow(store, msg.windowId);
    if (!this.inPhase(window, ctx.height, window.commitStartHeight, window.revealStartHeight)) {
      throw trainingErrors.notCommitPhase(`window ${window.id} is ${STATUS_NAMES[window.status]}; commits are accepted at heights [${window.commitStartHeight}, ${window.revealStartHeight}), now ${ctx.height}`);
    }
    if (!window.proposers.includes(msg.proposer)) throw trainingErrors.notProposer(`${msg.proposer} in window ${window.id}`);
    if (this.commit(store, window.id, msg.proposer) !== undefined) throw trainingErrors.alreadyCommitted(`${msg.proposer} in window ${window.id}`);
    this.setCommit(store, {
      windowId: window.id, proposer: msg.proposer, commitment: Buffer.from(msg.commitment), commitHeight: ctx.height,
      revealed: false, resultCid: '', resultHash: Buffer.alloc(0), revealHeight: 0n, excluded: [], lossBase: 0n, lossAggregate: 0n,
      checkpointCid: '', checkpointHash: Buffer.alloc(0),
    });
    ctx.events.emit('aggregation_commit', [
      ['window', window.id.toString()],
      ['proposer', msg.proposer],
      ['commitment', toHex(msg.commitment), false],
    ]);
  }

  revealAggregation(ctx: Context, msg: MsgRevealAggregation): void {
    validateRevealAggregation(msg);
    const { store } = ctx;
    const window = this.requireWindow(store, msg.windowId);
    if (!this.inPhase(window, ctx.height, window.revealStartHeight, window.revealEndHeight)) {
      throw trainingErrors.notRevealPhase(`window ${window.id} is ${STATUS_NAMES[window.status]}; reveals are accepted at heights [${window.revealStartHeight}, ${window.revealEndHeight}), now ${ctx.height}`);
    }
    if (!window.proposers.includes(msg.proposer)) throw trainingErrors.notProposer(`${msg.proposer} in window ${window.id}`);
    const commit = this.commit(store, window.id, msg.proposer);
    if (commit === undefined) throw trainingErrors.noCommitment(`${msg.proposer} did not commit in window ${window.id}`);
    if (commit.revealed) throw trainingErrors.alreadyRevealed(`${msg.proposer} in window ${window.id}`);
    if (!bytesEqual(commitHash(msg.resultCid, msg.resultHash, msg.nonce, msg.excluded, msg, msg), commit.commitment)) {
      throw trainingErrors.commitmentMismatch(`sha256(result_cid ‖ result_hash ‖ nonce ‖ exclusions ‖ losses ‖ checkpoint) of ${msg.proposer} in window ${window.id}`);
    }
    this.checkExclusions(store, window, msg);
    this.checkLosses(window, msg);
    if (msg.checkpointCid !== '' && window.checkpointThrough === 0n) {
      throw trainingErrors.unexpectedCheckpoint(`window ${window.id} carries no checkpoint: reveal it without checkpoint_cid and checkpoint_hash`);
    }
    const excluded: Exclusion[] = msg.excluded.map(({ submissionId, reason }) => ({ submissionId, reason }));
    this.setCommit(store, {
      ...commit, revealed: true, resultCid: msg.resultCid, resultHash: Buffer.from(msg.resultHash), revealHeight: ctx.height, excluded,
      lossBase: msg.lossBase, lossAggregate: msg.lossAggregate, checkpointCid: msg.checkpointCid, checkpointHash: Buffer.from(msg.checkpointHash),
    });
    ctx.events.emit('aggregation_reveal', [
      ['window', window.id.toString()],
      ['proposer', msg.proposer],
      ['result_cid', msg.resultCid],
      ['result_hash', toHex(msg.resultHash), false],
      ['excluded', excluded.map((x) => `${x.submissionId}:${EXCLUSION_REASON_NAMES[x.reason]}`).join(','), false],
      ['loss_base', msg.lossBase.toString(), false],
      ['loss_aggregate', msg.lossAggregate.toString(), false],
      ['checkpoint_cid', msg.checkpointCid, false],
    ]);
  }

  /**
   * A reveal's held-out losses against the window (31): none (both 0) with a "nothing to
   * aggregate" reveal or in a window that evaluates nothing. Their values the chain cannot check:
   * the majority decides them, as it decides the result.
   */
  private checkLosses(window: Window, msg: MsgRevealAggregation): void {
    if (msg.lossBase === 0n && msg.lossAggregate === 0n) return;
    if (window.evalChunks.length === 0 || isNothingToAggregate(msg)) {
      const why = window.evalChunks.length === 0 ? `window ${window.id} evaluates no held-out chunks` : 'a "nothing to aggregate" reveal has no aggregate to evaluate';
      throw trainingErrors.lossesMismatch(`${why}: loss_base and loss_aggregate must be 0, got ${msg.lossBase} and ${msg.lossAggregate}`);
    }
  }

  /**
   * A reveal's exclusions against the window (the stateless part, order and reasons, is in
   * validate.ts): each names an ACCEPTED submission of this window (29); a reveal with a result
   * leaves at least one included, a reveal without one excludes them all (30).
   */
  private checkExclusions(store: KVStore, window: Window, msg: MsgRevealAggregation): void {
    for (const { submissionId } of msg.excluded) {
      const submission = this.submission(store, submissionId);
      if (submission === undefined || submission.windowId !== window.id || submission.status !== SubmissionStatus.SUBMISSION_STATUS_ACCEPTED) {
        const what = submission === undefined ? 'does not exist' : submission.windowId !== window.id ? `belongs to window ${submission.windowId}` : 'is not accepted';
        throw trainingErrors.exclusionNotAccepted(`excluded submission ${submissionId} ${what}; window ${window.id} can exclude only its accepted submissions`);
      }
    }
    const excluded = BigInt(msg.excluded.length);
    if (isNothingToAggregate(msg)) {
      if (excluded !== window.acceptedCount) {
        throw trainingErrors.exclusionSetMismatch(`a reveal without a result must exclude all ${window.acceptedCount} accepted submissions of window ${window.id}, not ${excluded}`);
      }
    } else if (excluded >= window.acceptedCount) {
      throw trainingErrors.exclusionSetMismatch(`a result of window ${window.id} must aggregate at least one of its ${window.acceptedCount} accepted submissions; with all excluded, reveal no result`);
    }
  }

  /**
   * For verification (L1/L2): rejects a pending submission, so it is left out of the window's
   * accepted set. Possible until the window's commit phase starts.
   */
  rejectSubmission(ctx: Context, submissionId: bigint, reason: string): void {
    const submission = this.requireSubmission(ctx.store, submissionId);
    if (submission.status !== SubmissionStatus.SUBMISSION_STATUS_PENDING) {
      throw trainingErrors.submissionNotPending(`submission ${submissionId} is ${SUBMISSION_STATUS_NAMES[submission.status] ?? 'not pending'}`);
    }
    submission.status = SubmissionStatus.SUBMISSION_STATUS_REJECTED;
    submission.rejectReason = reason.slice(0, 256);
    this.setSubmission(ctx.store, submission, false);
    ctx.events.emit('submission_rejected', [
      ['id', submission.id.toString()],
      ['miner', submission.miner],
      ['window', submission.windowId.toString()],
      ['reason', submission.rejectReason, false],
    ]);
  }

  /**
   * Whether governance may roll the model head back to the base after window `toWindow`
   * (README "Rollback"): 0 (the active version's initial adapter), or a FINALIZED (applied)
   * window of the active model version that is still part of the head. Throws 32 otherwise.
   */
  checkHeadRollback(store: KVStore, toWindow: bigint): void {
    const active = this.deps.models.activeVersion(store);
    if (active === undefined) throw trainingErrors.invalidRollback('there is no active model version to roll back');
    if (toWindow === 0n) return;
    const window = this.window(store, toWindow);
    if (window === undefined) throw trainingErrors.invalidRollback(`window ${toWindow} does not exist`);
    if (window.status !== WindowStatus.WINDOW_STATUS_FINALIZED) {
      throw trainingErrors.invalidRollback(`window ${toWindow} is ${STATUS_NAMES[window.status] ?? 'unknown'}: the head can be rolled back only to an applied, finalized window`);
    }
    if (window.modelVersion !== active.number) throw trainingErrors.invalidRollback(`window ${toWindow} trained model version ${window.modelVersion}, not the active version ${active.number}`);
    if (window.rolledBackHeight !== 0n) throw trainingErrors.invalidRollback(`window ${toWindow} was itself rolled back at height ${window.rolledBackHeight}`);
  }

  /**
   * Governance (modules/model, a passed head-rollback proposal, at `height`): every window of the
   * active version after `toWindow` that is open or applied and not yet rolled back gets
   * `rolled_back_height = height`, so bases of windows opened after this height leave its
   * aggregate out (an open one still finalizes and pays; its aggregate never enters a base).
   * Returns the windows marked. Throws 32 (nothing written) when `checkHeadRollback` refuses.
   */
  rollbackHead(store: KVStore, events: EventLog, height: bigint, toWindow: bigint, proposalId: bigint): bigint[] {
    this.checkHeadRollback(store, toWindow);
    const active = this.deps.models.activeVersion(store)!;
    const marked: bigint[] = [];
    const last = this.schedule(store).nextWindowId - 1n;
    for (let id = toWindow + 1n; id <= last; id++) {
      const window = this.window(store, id);
      if (window === undefined || window.modelVersion !== active.number || window.rolledBackHeight !== 0n) continue;
      if (window.status === WindowStatus.WINDOW_STATUS_FAILED || window.status === WindowStatus.WINDOW_STATUS_NOT_APPLIED) continue;
      window.rolledBackHeight = height;
      this.setWindow(store, window);
      marked.push(id);
    }
    // A checkpoint that includes a window after to_window would bring it back: it is rolled back
    // too, and the latest checkpoint becomes the newest one through ≤ to_window (README "Checkpoints").
    const markedCheckpoints: bigint[] = [];
    for (const [, value] of this.view(store).iterate(keys.checkpointPrefix(active.number))) {
      const checkpoint = Checkpoint.decode(value);
      if (checkpoint.throughWindow <= toWindow || checkpoint.rolledBackHeight !== 0n) continue;
      checkpoint.rolledBackHeight = height;
      this.view(store).set(keys.checkpoint(checkpoint.modelVersion, checkpoint.throughWindow), Checkpoint.encode(checkpoint).finish());
      markedCheckpoints.push(checkpoint.throughWindow);
    }
    if (markedCheckpoints.length > 0) this.refreshLatestCheckpoint(store, active.number);
    events.emit('head_rolled_back', [
      ['to_window', toWindow.toString()],
      ['proposal_id', proposalId.toString()],
      ['model_version', active.number.toString()],
      ['windows', marked.join(','), false],
      ['checkpoints', markedCheckpoints.join(','), false],
    ]);
    return marked;
  }

  private inPhase(window: Window, height: bigint, start: bigint, end: bigint): boolean {
    return window.status === WindowStatus.WINDOW_STATUS_AGGREGATING && window.proposers.length > 0 && height >= start && height < end;
  }

  // ---------------------------------------------------------------- window state machine

  /**
   * Advances every window by height, in this order (README "Window state machine"):
   * 1. the collecting window whose collect_end_height is reached becomes aggregating;
   * 2. each aggregating window, by id: at commit_start_height its accepted set is fixed and
   *    its proposers drawn; at reveal_end_height it is tallied (finalized or failed);
   * 3. if no window is collecting and next_open_height is reached, a window opens.
   */
  beginBlock(ctx: Context): void {
    const { store, height } = ctx;
    const schedule = this.schedule(store);
    const before = Schedule.encode(schedule).finish();

    if (schedule.collectingWindowId !== 0n) {
      const window = this.requireWindow(store, schedule.collectingWindowId);
      if (height >= window.collectEndHeight) {
        window.status = WindowStatus.WINDOW_STATUS_AGGREGATING;
        this.setWindow(store, window);
        schedule.collectingWindowId = 0n;
        ctx.events.emit('window_collected', [
          ['window', window.id.toString()],
          ['submissions', window.submissionCount.toString()],
        ]);
      }
    }

    for (const windowId of this.aggregatingWindowIds(store)) {
      const window = this.requireWindow(store, windowId);
      if (window.proposers.length === 0 && height >= window.commitStartHeight) this.startAggregation(ctx, window);
      if (window.status === WindowStatus.WINDOW_STATUS_AGGREGATING && height >= window.revealEndHeight) this.tally(ctx, window);
    }

    if (schedule.collectingWindowId === 0n && height >= schedule.nextOpenHeight) {
      const version = this.deps.models.activeVersion(store);
      // Without an active model version nothing can be trained: try again next block.
      if (version !== undefined) this.openWindow(ctx, schedule, version.number);
    }
    // Written only when it changed: most blocks touch no training state at all.
    if (!bytesEqual(before, Schedule.encode(schedule).finish())) this.setSchedule(store, schedule);
  }

  private openWindow(ctx: Context, schedule: Schedule, modelVersion: bigint): void {
    const params = this.params(ctx.store);
    const id = schedule.nextWindowId;
    const seed = Buffer.from(this.deps.drawer.seed(ctx));
    const collectEndHeight = ctx.height + params.windowBlocks;
    const commitStartHeight = collectEndHeight + params.challengePeriodBlocks;
    const revealStartHeight = commitStartHeight + params.commitPeriodBlocks;
    // The version's dataset: chunks are drawn from its train chunks (never more than it has).
    const dataset = this.deps.models.datasetFor(ctx.store, modelVersion);
    const chunkCount = dataset === undefined || dataset.chunkCount >= params.chunkCount ? params.chunkCount : dataset.chunkCount;
    const window: Window = {
      id, status: WindowStatus.WINDOW_STATUS_COLLECTING, openHeight: ctx.height, seed, modelVersion,
      subnetCount: this.deps.subnets.subnetCount(ctx.store, modelVersion),
      chunkCount, maxSubmissionsPerMiner: params.maxSubmissionsPerMinerPerWindow,
      collectEndHeight, commitStartHeight, revealStartHeight, revealEndHeight: revealStartHeight + params.revealPeriodBlocks,
      baseReward: params.baseReward, submissionCount: 0n, acceptedCount: 0n, proposers: [],
      resultCid: '', resultHash: Buffer.alloc(0), failureReason: '', closedHeight: 0n, excludedCount: 0n,
      datasetId: dataset?.id ?? 0n,
      // Evaluation draws from the held-out split of the window's dataset (the param when the
      // dataset states none: the Brown corpus's 303 chunks by default), never more than it has.
      evalChunkCount: params.evalChunks,
      heldoutChunkCount: dataset !== undefined && dataset.heldOutChunkCount > 0n && dataset.heldOutChunkCount < params.heldoutChunkCount ? dataset.heldOutChunkCount : params.heldoutChunkCount,
      minImprovement: params.minImprovement,
      evalChunks: [], lossBase: 0n, lossAggregate: 0n, rolledBackHeight: 0n, checkpointThrough: 0n,
    };
    this.setWindow(ctx.store, window);
    schedule.nextWindowId = id + 1n;
    schedule.collectingWindowId = id;
    schedule.nextOpenHeight = collectEndHeight;
    ctx.events.emit('window_opened', [
      ['window', id.toString()],
      ['open_height', ctx.height.toString()],
      ['model_version', modelVersion.toString()],
      ['subnet_count', window.subnetCount.toString()],
      ['chunk_count', window.chunkCount.toString()],
      ['dataset_id', window.datasetId.toString()],
      ['collect_end_height', collectEndHeight.toString()],
      ['seed', toHex(seed), false],
    ]);
  }

  /** Fixes the accepted set (every still-pending submission) and draws the proposers. */
  private startAggregation(ctx: Context, window: Window): void {
    const { store } = ctx;
    let accepted = 0n;
    for (const submission of this.windowSubmissions(store, window.id)) {
      if (submission.status !== SubmissionStatus.SUBMISSION_STATUS_PENDING) continue;
      if (this.deps.holds?.isHeld(store, submission.id) === true) continue;
      submission.status = SubmissionStatus.SUBMISSION_STATUS_ACCEPTED;
      this.setSubmission(store, submission, false);
      accepted += 1n;
    }
    window.acceptedCount = accepted;
    if (accepted === 0n) {
      this.fail(ctx, window, 'no accepted submissions', false);
      return;
    }
    const candidates = this.deps.validators.bondedValidators(store)
      .filter((validator) => validator.stake > 0n)
      .map((validator) => ({ id: validator.address, stake: validator.stake }));
    const wanted = Number(this.params(store).aggregationProposers);
    const k = Math.min(wanted, candidates.length);
    if (k === 0) {
      this.fail(ctx, window, 'no bonded validators to aggregate', false);
      return;
    }
    const drawn = this.deps.drawer.draw(ctx, PROPOSER_DRAW_PURPOSE, window.id.toString(), candidates, k);
    window.proposers = drawn.map((candidate) => candidate.id);
    // The evaluation sample, from this block's beacon: unknown while miners trained. Params are
    // validated (count ≤ held-out size); a hand-written genesis window that breaks it evaluates nothing.
    if (window.evalChunkCount > 0n && window.evalChunkCount <= window.heldoutChunkCount) {
      window.evalChunks = evalChunkSample(this.deps.drawer.seed(ctx), window.id, window.evalChunkCount, window.heldoutChunkCount);
    }
    window.checkpointThrough = this.dueCheckpoint(store, window);
    this.setWindow(store, window);
    ctx.events.emit('aggregation_started', [
      ['window', window.id.toString()],
      ['accepted', accepted.toString()],
      ['rejected', (window.submissionCount - accepted).toString()],
      ['proposers', window.proposers.join(',')],
      ['commit_start_height', window.commitStartHeight.toString()],
      ['reveal_start_height', window.revealStartHeight.toString()],
      ['reveal_end_height', window.revealEndHeight.toString()],
      ['eval_chunks', window.evalChunks.join(','), false],
      ['checkpoint_through', window.checkpointThrough.toString(), false],
    ]);
    for (const proposer of window.proposers) {
      ctx.events.emit('aggregation_proposer', [['window', window.id.toString()], ['proposer', proposer]]);
    }
  }

  /**
   * The checkpoint a window starting its aggregation carries (README "Checkpoints"): the window id
   * T of the `checkpoint_interval`-th applied (FINALIZED with a result, not rolled back) window of
   * its model version after the version's latest checkpoint, when every window of the version up
   * to T is closed and no other aggregating window already carries one of this version; else 0.
   * It reads the windows after the latest checkpoint only.
   */
  private dueCheckpoint(store: KVStore, carrier: Window): bigint {
    const interval = this.params(store).checkpointInterval;
    if (interval === 0n) return 0n;
    for (const id of this.aggregatingWindowIds(store)) {
      if (id === carrier.id) continue;
      const other = this.window(store, id);
      if (other !== undefined && other.checkpointThrough !== 0n && other.modelVersion === carrier.modelVersion) return 0n;
    }
    let applied = 0n;
    for (let id = (this.latestCheckpoint(store, carrier.modelVersion)?.throughWindow ?? 0n) + 1n; id < carrier.id; id++) {
      const window = this.window(store, id);
      if (window === undefined || window.modelVersion !== carrier.modelVersion) continue;
      if (window.status === WindowStatus.WINDOW_STATUS_COLLECTING || window.status === WindowStatus.WINDOW_STATUS_AGGREGATING) return 0n;
      if (window.status !== WindowStatus.WINDOW_STATUS_FINALIZED || window.resultCid === '' || window.rolledBackHeight !== 0n) continue;
      applied += 1n;
      if (applied === interval) return id;
    }
    return 0n;
  }

  /**
   * At the tally of a window that carries a checkpoint, with a majority (README "Checkpoints"):
   * the majority's checkpoint is recorded unless it is empty (the proposers published none: the
   * next window carries the duty again) or a governance rollback has since taken its through
   * window out of the head (event `checkpoint_dropped`; the duty is recomputed from the new head).
   */
  private recordCheckpoint(ctx: Context, window: Window, majority: { cid: string; checkpointCid: string; checkpointHash: Uint8Array }): void {
    const through = window.checkpointThrough;
    if (through === 0n || majority.checkpointCid === '') return;
    const last = this.window(ctx.store, through);
    if (last === undefined || last.rolledBackHeight !== 0n) {
      ctx.events.emit('checkpoint_dropped', [
        ['model_version', window.modelVersion.toString()],
        ['through_window', through.toString()],
        ['carrier_window', window.id.toString()],
        ['reason', `window ${through} was rolled back`, false],
      ]);
      return;
    }
    // Counted from the latest checkpoint below T (still not rolled back: its windows are all still
    // in the head), so a tally reads only the windows after it, never the chain's whole history.
    const previous = this.latestCheckpoint(ctx.store, window.modelVersion);
    const from = previous !== undefined && previous.throughWindow < through ? previous : undefined;
    let applied = from?.appliedWindows ?? 0n;
    for (let id = (from?.throughWindow ?? 0n) + 1n; id <= through; id++) {
      const v = this.window(ctx.store, id);
      if (v !== undefined && v.modelVersion === window.modelVersion && v.status === WindowStatus.WINDOW_STATUS_FINALIZED && v.resultCid !== '' && v.rolledBackHeight === 0n) applied += 1n;
    }
    const checkpoint: Checkpoint = {
      modelVersion: window.modelVersion, throughWindow: through, cid: majority.checkpointCid, stateHash: Buffer.from(majority.checkpointHash),
      height: ctx.height, carrierWindow: window.id, appliedWindows: applied, rolledBackHeight: 0n,
    };
    this.setCheckpoint(ctx.store, checkpoint);
    ctx.events.emit('checkpoint_recorded', [
      ['model_version', checkpoint.modelVersion.toString()],
      ['through_window', through.toString()],
      ['cid', checkpoint.cid],
      ['carrier_window', window.id.toString()],
      ['state_hash', toHex(checkpoint.stateHash), false],
      ['applied_windows', applied.toString(), false],
    ]);
  }

  /**
   * Majority = more than half of the drawn proposers revealed the identical
   * (result_cid, result_hash, exclusions). A majority with a result finalizes the window; a
   * majority of "nothing to aggregate" reveals fails it ("all inputs excluded"). Either way the
   * majority's exclusions become EXCLUDED submissions, and penalties are measured against it.
   */
  private tally(ctx: Context, window: Window): void {
    const commits = new Map(this.commits(ctx.store, window.id).map((commit) => [commit.proposer, commit]));
    const groups: Array<{
      cid: string; hash: Uint8Array; key: string; excluded: Exclusion[]; lossBase: bigint; lossAggregate: bigint;
      checkpointCid: string; checkpointHash: Uint8Array; proposers: string[];
    }> = [];
    for (const proposer of window.proposers) {
      const commit = commits.get(proposer);
      if (commit === undefined || !commit.revealed) continue;
      // Identical = same result, same exclusions AND same held-out losses.
      const key = `${exclusionKey(commit.excluded)}|${commit.lossBase}|${commit.lossAggregate}|${commit.checkpointCid}|${toHex(commit.checkpointHash)}`;
      const group = groups.find((g) => g.cid === commit.resultCid && bytesEqual(g.hash, commit.resultHash) && g.key === key);
      if (group === undefined) {
        groups.push({
          cid: commit.resultCid, hash: commit.resultHash, key, excluded: commit.excluded, lossBase: commit.lossBase, lossAggregate: commit.lossAggregate,
          checkpointCid: commit.checkpointCid, checkpointHash: commit.checkpointHash, proposers: [proposer],
        });
      } else group.proposers.push(proposer);
    }
    const drawn = window.proposers.length;
    const majority = groups.find((group) => group.proposers.length * 2 > drawn);

    for (const proposer of window.proposers) {
      const commit = commits.get(proposer);
      let fault: AggregatorFault | undefined;
      if (commit === undefined || !commit.revealed) fault = 'missing-reveal';
      else if (majority !== undefined && !majority.proposers.includes(proposer)) fault = 'minority-reveal';
      if (fault === undefined) continue;
      this.deps.slasher.penalizeAggregator(ctx, proposer, window.id, fault);
      ctx.events.emit('aggregator_penalized', [['window', window.id.toString()], ['proposer', proposer], ['fault', fault]]);
    }

    if (majority === undefined) {
      this.fail(ctx, window, groups.length === 0 ? 'no reveals' : 'no majority', true);
      return;
    }
    window.excludedCount = this.exclude(ctx, window, majority.excluded);
    this.recordCheckpoint(ctx, window, majority);
    if (isNothingToAggregate({ resultCid: majority.cid, resultHash: majority.hash })) {
      this.fail(ctx, window, 'all inputs excluded', true);
      return;
    }
    // The gate (README "Proof of Learning"): applied iff loss_aggregate + min_improvement ≤ loss_base.
    const applied = window.evalChunks.length === 0 || gateApplies(majority.lossBase, majority.lossAggregate, window.minImprovement);
    window.status = applied ? WindowStatus.WINDOW_STATUS_FINALIZED : WindowStatus.WINDOW_STATUS_NOT_APPLIED;
    window.resultCid = majority.cid;
    window.resultHash = Buffer.from(majority.hash);
    window.lossBase = majority.lossBase;
    window.lossAggregate = majority.lossAggregate;
    window.closedHeight = ctx.height;
    this.setWindow(ctx.store, window);
    ctx.events.emit(applied ? 'window_finalized' : 'window_not_applied', [
      ['window', window.id.toString()],
      ['result_cid', majority.cid],
      ['result_hash', toHex(majority.hash), false],
      ['votes', `${majority.proposers.length}/${drawn}`, false],
      ['accepted', window.acceptedCount.toString()],
      ['excluded', window.excludedCount.toString(), false],
      ['loss_base', majority.lossBase.toString(), false],
      ['loss_aggregate', majority.lossAggregate.toString(), false],
      ['min_improvement', window.minImprovement.toString(), false],
    ]);

    // Excluded submissions are EXCLUDED by now: only the included ones earn their miner weight.
    const perMiner = new Map<string, bigint>();
    for (const submission of this.windowSubmissions(ctx.store, window.id)) {
      if (submission.status !== SubmissionStatus.SUBMISSION_STATUS_ACCEPTED) continue;
      perMiner.set(submission.miner, (perMiner.get(submission.miner) ?? 0n) + 1n);
    }
    const miners: WeightedAddress[] = [...perMiner.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([address, weight]) => ({ address, weight }));
    const aggregators: WeightedAddress[] = majority.proposers.map((address) => ({ address, weight: 1n }));
    this.deps.rewards.distributeWindow(ctx, window.id, {
      baseReward: parseAmountString(window.baseReward, 'base_reward', trainingErrors.invalidParams), miners, aggregators,
    });
  }

  /**
   * Marks the majority's exclusions EXCLUDED (ascending id, as revealed), one `submission_excluded`
   * event each; returns how many. Each was checked at reveal to be an ACCEPTED submission of the
   * window, and nothing changes an accepted submission before the tally; one that is not (only a
   * hand-written genesis could do that) is skipped, never thrown on.
   */
  private exclude(ctx: Context, window: Window, excluded: readonly Exclusion[]): bigint {
    let count = 0n;
    for (const { submissionId, reason } of excluded) {
      const submission = this.submission(ctx.store, submissionId);
      if (submission === undefined || submission.windowId !== window.id || submission.status !== SubmissionStatus.SUBMISSION_STATUS_ACCEPTED) continue;
      submission.status = SubmissionStatus.SUBMISSION_STATUS_EXCLUDED;
      submission.exclusionReason = reason;
      this.setSubmission(ctx.store, submission, false);
      count += 1n;
      ctx.events.emit('submission_excluded', [
        ['window', window.id.toString()],
        ['submission', submission.id.toString()],
        ['miner', submission.miner],
        ['reason', EXCLUSION_REASON_NAMES[reason] ?? String(reason)],
      ]);
    }
    return count;
  }

  private fail(ctx: Context, window: Window, reason: string, afterTally: boolean): void {
    window.status = WindowStatus.WINDOW_STATUS_FAILED;
    window.failureReason = reason;
    window.closedHeight = ctx.height;
    this.setWindow(ctx.store, window);
    ctx.events.emit('window_failed', [
      ['window', window.id.toString()],
      ['reason', reason],
      ['phase', afterTally ? 'tally' : 'aggregation-start', false],
    ]);
  }
}
