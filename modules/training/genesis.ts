/**
 * Training genesis: the whole module state as the generated GenesisState's protobuf JSON.
 * Indexes (aggregating windows, submissions by window, per-miner counts, CIDs) and the
 * schedule's collecting window are derived, not stored in genesis.
 */
import type { KVStore } from '../../app/core/store/types.ts';
import { GenesisState } from '../../proto/gen/r3mes/training/v1/genesis.ts';
import { ExclusionReason, SubmissionStatus, WindowStatus, type Window } from '../../proto/gen/r3mes/training/v1/types.ts';
import { contentCidProblem } from '../../app/core/cid.ts';
import { trainingErrors } from './errors.ts';
import type { TrainingKeeper, TrainingViewKeeper } from './keeper.ts';
import { defaultParams, validateParams } from './params.ts';
import { EXCLUSION_REASON_NAMES, isNothingToAggregate, validateExclusions, validateRevealedCheckpoint } from './validate.ts';

export function defaultGenesis(): GenesisState {
  return {
    params: defaultParams(), nextWindowId: 1n, nextSubmissionId: 1n, nextOpenHeight: 1n, windows: [], submissions: [], commits: [], checkpoints: [],
  };
}

export function parseGenesis(json: unknown): GenesisState {
  try {
    return GenesisState.fromJSON(json);
  } catch (error) {
    throw trainingErrors.invalidGenesis(`not a training GenesisState: ${(error as Error).message}`);
  }
}

const bad = trainingErrors.invalidGenesis;

export function initGenesis(training: TrainingKeeper, store: KVStore, genesis: GenesisState): void {
  if (genesis.params === undefined) throw bad('params missing');
  validateParams(genesis.params);
  if (genesis.nextWindowId < 1n || genesis.nextSubmissionId < 1n) throw bad('next_window_id and next_submission_id start at 1');

  const windows = new Map<bigint, Window>();
  let previous = 0n;
  let collecting = 0n;
  for (const window of genesis.windows) {
    const at = `window ${window.id}`;
    if (window.id <= previous || window.id >= genesis.nextWindowId) throw bad(`${at}: windows must be sorted by id, unique, below next_window_id`);
    previous = window.id;
    if (window.status < WindowStatus.WINDOW_STATUS_COLLECTING || window.status > WindowStatus.WINDOW_STATUS_NOT_APPLIED) throw bad(`${at}: unknown status`);
    if (window.evalChunks.some((c, i) => c >= window.heldoutChunkCount || (i > 0 && c <= window.evalChunks[i - 1]))) {
      throw bad(`${at}: eval_chunks must be ascending, distinct, below heldout_chunk_count`);
    }
    if (window.seed.length !== 32) throw bad(`${at}: seed must be 32 bytes`);
    if (window.checkpointThrough >= window.id) throw bad(`${at}: checkpoint_through must be an earlier window (or 0)`);
    if (window.subnetCount < 1n || window.chunkCount < 1n || window.maxSubmissionsPerMiner < 1n) throw bad(`${at}: subnet_count, chunk_count and max_submissions_per_miner must be positive`);
    if (!(window.openHeight < window.collectEndHeight && window.collectEndHeight <= window.commitStartHeight
      && window.commitStartHeight < window.revealStartHeight && window.revealStartHeight < window.revealEndHeight)) {
      throw bad(`${at}: phase heights must satisfy open < collect_end <= commit_start < reveal_start < reveal_end`);
    }
    if (new Set(window.proposers).size !== window.proposers.length) throw bad(`${at}: duplicate proposer`);
    if (window.status === WindowStatus.WINDOW_STATUS_COLLECTING) {
      if (collecting !== 0n) throw bad('more than one window is collecting');
      collecting = window.id;
    }
    windows.set(window.id, { ...window, submissionCount: 0n });
    training.setWindow(store, window);
  }

  previous = 0n;
  const seenCids = new Set<string>();
  for (const submission of genesis.submissions) {
    const at = `submission ${submission.id}`;
    if (submission.id <= previous || submission.id >= genesis.nextSubmissionId) throw bad(`${at}: submissions must be sorted by id, unique, below next_submission_id`);
    previous = submission.id;
    const window = windows.get(submission.windowId);
    if (window === undefined) throw bad(`${at}: unknown window ${submission.windowId}`);
    if (submission.status < SubmissionStatus.SUBMISSION_STATUS_PENDING || submission.status > SubmissionStatus.SUBMISSION_STATUS_EXCLUDED) throw bad(`${at}: unknown status`);
    const excluded = submission.status === SubmissionStatus.SUBMISSION_STATUS_EXCLUDED;
    if (excluded !== (EXCLUSION_REASON_NAMES[submission.exclusionReason] !== undefined) || (!excluded && submission.exclusionReason !== ExclusionReason.EXCLUSION_REASON_UNSPECIFIED)) {
      throw bad(`${at}: an excluded submission has an exclusion reason (1–3), any other none`);
    }
    const problem = contentCidProblem(submission.gradientCid);
    if (problem !== undefined) throw bad(`${at}: ${problem}`);
    if (seenCids.has(submission.gradientCid)) throw bad(`${at}: duplicate gradient CID`);
    seenCids.add(submission.gradientCid);
    if (submission.gradientHash.length !== 32 || submission.traceRoot.length !== 32) throw bad(`${at}: gradient_hash and trace_root must be 32 bytes`);
    if (submission.ordinal !== training.minerSubmissionCount(store, submission.windowId, submission.miner)) {
      throw bad(`${at}: ordinal ${submission.ordinal} does not follow the miner's earlier submissions in window ${submission.windowId}`);
    }
    window.submissionCount += 1n;
    training.setSubmission(store, submission, true);
  }
  for (const declaredWindow of genesis.windows) {
    const { id, submissionCount: declared } = declaredWindow;
    const counted = windows.get(id) as Window;
    if (declared !== counted.submissionCount) throw bad(`window ${id}: submission_count ${declared} but ${counted.submissionCount} submissions`);
  }

  let previousKey = '';
  for (const commit of genesis.commits) {
    const at = `commit of ${commit.proposer} in window ${commit.windowId}`;
    const window = windows.get(commit.windowId);
    if (window === undefined) throw bad(`${at}: unknown window`);
    const key = `${commit.windowId.toString().padStart(20, '0')}/${commit.proposer}`;
    if (key <= previousKey) throw bad(`${at}: commits must be sorted by (window_id, proposer) and unique`);
    previousKey = key;
    if (!window.proposers.includes(commit.proposer)) throw bad(`${at}: not a proposer of the window`);
    if (commit.commitment.length !== 32) throw bad(`${at}: commitment must be 32 bytes`);
    if (commit.revealed) {
      const nothing = isNothingToAggregate(commit);
      if (!nothing && (contentCidProblem(commit.resultCid) !== undefined || commit.resultHash.length !== 32)) throw bad(`${at}: bad revealed result`);
      if (nothing && commit.excluded.length === 0) throw bad(`${at}: a reveal without a result must exclude the accepted submissions`);
      if (nothing && (commit.lossBase !== 0n || commit.lossAggregate !== 0n)) throw bad(`${at}: a reveal without a result has no held-out losses`);
      if (commit.checkpointCid !== '' && window.checkpointThrough === 0n) throw bad(`${at}: a checkpoint revealed in a window that carries none`);
      try {
        validateExclusions(commit.excluded);
        validateRevealedCheckpoint(commit);
      } catch (error) {
        throw bad(`${at}: ${(error as Error).message}`);
      }
    } else if (commit.excluded.length > 0 || commit.resultCid !== '' || commit.resultHash.length > 0 || commit.lossBase !== 0n || commit.lossAggregate !== 0n
      || commit.checkpointCid !== '' || commit.checkpointHash.length > 0) {
      throw bad(`${at}: an unrevealed commit has no result or exclusions`);
    }
    training.setCommit(store, commit);
  }

  let previousCheckpoint = '';
  for (const checkpoint of genesis.checkpoints) {
    const at = `checkpoint of model version ${checkpoint.modelVersion} through window ${checkpoint.throughWindow}`;
    const key = `${checkpoint.modelVersion.toString().padStart(20, '0')}/${checkpoint.throughWindow.toString().padStart(20, '0')}`;
    if (key <= previousCheckpoint) throw bad(`${at}: checkpoints must be sorted by (model_version, through_window) and unique`);
    previousCheckpoint = key;
    if (checkpoint.modelVersion < 1n || checkpoint.throughWindow < 1n || checkpoint.throughWindow >= genesis.nextWindowId) throw bad(`${at}: model_version ≥ 1 and a through_window below next_window_id`);
    const problem = contentCidProblem(checkpoint.cid);
    if (problem !== undefined) throw bad(`${at}: ${problem}`);
    if (checkpoint.stateHash.length !== 32) throw bad(`${at}: state_hash must be 32 bytes`);
    training.setCheckpoint(store, checkpoint);
  }

  training.setParams(store, genesis.params);
  training.setSchedule(store, {
    nextWindowId: genesis.nextWindowId, nextSubmissionId: genesis.nextSubmissionId,
    nextOpenHeight: genesis.nextOpenHeight, collectingWindowId: collecting,
  });
}

export function exportGenesis(training: TrainingViewKeeper, store: KVStore): GenesisState {
  const schedule = training.schedule(store);
  return {
    params: training.params(store),
    nextWindowId: schedule.nextWindowId,
    nextSubmissionId: schedule.nextSubmissionId,
    nextOpenHeight: schedule.nextOpenHeight,
    windows: [...training.windows(store)],
    submissions: [...training.submissions(store)],
    commits: [...training.allCommits(store)],
    checkpoints: [...training.checkpoints(store)],
  };
}
