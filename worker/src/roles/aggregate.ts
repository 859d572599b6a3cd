// The proposer: for each window in AGGREGATING that drew this key, in the commit phase fetch the
// ACCEPTED deltas (CID-checked; a bounded timeout and a few retries each), exclude those that are
// unavailable, undecodable or of another model than the window's, aggregate the rest (src/aggregate)
// with the rule of the chain's training params (`aggregation_rule`, read at that moment), store the
// result, and commit sha256(result_cid ‖ result_hash ‖ nonce ‖ exclusions); in the reveal phase
// reveal it with the exclusions. When every input is excluded it commits "nothing to aggregate"
// (empty result, every submission excluded). The nonce, the result and the exclusions are
// journaled before the commit is broadcast, so a restart reveals exactly what was committed.

import { randomBytes } from 'node:crypto';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { commitHash, type CommittedCheckpoint, type CommittedLosses, type Exclusion, ExclusionReason, type Submission, SubmissionStatus, WindowStatus } from '@r3mes/client';
import { type Evaluate, heldOutLosses } from '../aggregate/evaluate.ts';
import { aggregateDeltas, type AggregateInput, sameModel } from '../aggregate/file.ts';
import { type AggregationRule, parseRule, ruleName } from '../aggregate/rules.ts';
import type { ChainReader, ChainWriter, Window } from '../chain/client.ts';
import { ChainError, ChainErrorCode } from '../chain/errors.ts';
import { decodeDelta, type DeltaFile, type LoraPairs } from '../output/delta.ts';
import type { ModelIdentity } from '../output/metadata.ts';
import { encodeHeadCheckpoint } from '../output/head-checkpoint.ts';
import { parseCid } from '../storage/cid.ts';
import type { ContentStore } from '../storage/content-store.ts';
import { isStorageError, StorageErrorCode } from '../storage/errors.ts';
import type { Journal, JournalEntry, JournalExclusion } from './journal.ts';
import type { BaseStates } from './base-state.ts';
import { identityOfVersion, type LoadedModel } from './model.ts';
import type { ChunkTokens } from '../data/chunk.ts';
import type { WorkerStats } from './stats.ts';

export interface ProposerDeps {
  readonly chain: ChainReader;
  readonly writer: ChainWriter;
  readonly store: ContentStore;
  readonly journal: Journal;
  /**
   * Overrides the chain's rule (testing, experiments): a proposer that applies another rule than
   * the others reveals a minority result and is penalised. Absent: the chain's `aggregation_rule`.
   */
  readonly ruleOverride?: AggregationRule;
  readonly stats: WorkerStats;
  readonly log: (line: string) => void;
  /** How each accepted delta is fetched (default DEFAULT_FETCH). */
  readonly fetch?: FetchPolicy;
  /**
   * The held-out losses of a window's base and base + aggregate (SPEC §16): needed for every
   * window with `eval_chunks`; without it such a window gets no commit from this proposer.
   */
  readonly evaluator?: WindowEvaluator;
  /**
   * The checkpoint of a window that carries one (`checkpoint_through`, training README
   * "Checkpoints"): computed, stored, and committed with the aggregate. Absent: this proposer
   * commits none (a minority reveal when the others publish it).
   */
  readonly checkpointer?: WindowCheckpointer;
}

/** The checkpoint a proposer of window `w` publishes: stored under `checkpointCid`. */
export type WindowCheckpointer = (w: Window) => Promise<CommittedCheckpoint>;

/**
 * The checkpointer of training README "Checkpoints": the head of the window's model version
 * through `checkpoint_through` as of the window's aggregation start (BaseStates.checkpointState,
 * itself starting from the previous checkpoint), encoded as a head-checkpoint file and stored.
 */
export function headCheckpointer(deps: {
  readonly bases: BaseStates;
  readonly loadModel: (version: bigint) => Promise<LoadedModel>;
  readonly store: ContentStore;
  readonly log?: (line: string) => void;
}): WindowCheckpointer {
  return async (w) => {
    const model = await deps.loadModel(w.modelVersion);
    const head = await deps.bases.checkpointState(model, w.checkpointThrough, w.commitStartHeight);
    const enc = await encodeHeadCheckpoint(head.state.params, { model: model.identity, throughWindow: w.checkpointThrough, windows: head.windows });
    const stored = await deps.store.put(enc.bytes);
    if (!stored.equals(enc.cid)) throw new Error(`the store answered ${stored} for checkpoint ${enc.cid}`);
    deps.log?.(`window ${w.id}: checkpoint of model version ${w.modelVersion} through window ${w.checkpointThrough}: ${enc.cid} (${head.windows.length} applied windows)`);
    return { checkpointCid: enc.cid.toString(), checkpointHash: enc.stateHash };
  };
}

/** The losses a proposer commits for window `w`'s aggregate `delta` (Q16 nats per byte). */
export type WindowEvaluator = (w: Window, delta: LoraPairs) => Promise<CommittedLosses>;

/**
 * The evaluator of SPEC §16: the window's base (BaseStates, the same base its miners trained
 * from), the held-out chunks the window names, evaluated by `evaluate` (a backend's: the compute
 * thread for the CPU, off the event loop).
 */
export function heldOutEvaluator(deps: {
  readonly bases: BaseStates;
  readonly loadModel: (version: bigint) => Promise<LoadedModel>;
  readonly evaluate: Evaluate;
  /** held-out chunk `index` of the window's dataset (data/window-chunks.ts with split 'heldout') */
  readonly heldoutChunk: (index: bigint, windowId: bigint) => ChunkTokens | Promise<ChunkTokens>;
  readonly log?: (line: string) => void;
}): WindowEvaluator {
  return async (w, delta) => {
    const model = await deps.loadModel(w.modelVersion);
    const base = await deps.bases.forWindow(w.id, model);
    const chunks: ChunkTokens[] = [];
    for (const i of w.evalChunks) chunks.push(await deps.heldoutChunk(i, w.id));
    const { base: before, aggregate: after } = await heldOutLosses(deps.evaluate, model.backbone, base.state, delta, chunks);
    deps.log?.(`window ${w.id}: held-out loss on chunks ${w.evalChunks.join(',')}: base ${before.loss}, base + aggregate ${after.loss} (Q16 nats/byte; ${before.tokens} tokens)`);
    return { lossBase: before.loss, lossAggregate: after.loss };
  };
}

/**
 * Fetching one accepted delta: each try bounded by `timeoutMs`, `attempts` tries in all, waiting
 * backoffMs, 2·backoffMs, … between them; still failing → excluded as unavailable. Every honest
 * proposer must finish within the commit phase, so attempts × timeout should stay well inside it.
 */
export interface FetchPolicy {
  readonly timeoutMs: number;
  readonly attempts: number;
  readonly backoffMs: number;
  /** deltas fetched at once */
  readonly parallel: number;
}

export const DEFAULT_FETCH: FetchPolicy = { timeoutMs: 10_000, attempts: 3, backoffMs: 500, parallel: 4 };

/** An accepted submission left out of the aggregate, and why (logged; `reason` goes on chain). */
export interface ExcludedInput {
  readonly submissionId: bigint;
  readonly miner: string;
  readonly cid: string;
  readonly reason: ExclusionReason;
  readonly cause: string;
}

export interface WindowInputs {
  /** the included deltas, in submission-id order */
  readonly included: AggregateInput[];
  /** the excluded submissions, ascending by id */
  readonly excluded: ExcludedInput[];
}

export const REASON_NAMES: Record<number, string> = {
  [ExclusionReason.EXCLUSION_REASON_UNAVAILABLE]: 'unavailable',
  [ExclusionReason.EXCLUSION_REASON_UNDECODABLE]: 'undecodable',
  [ExclusionReason.EXCLUSION_REASON_WRONG_MODEL]: 'wrong-model',
};

export type DutyOutcome = { window: bigint; action: 'committed' | 'revealed' | 'waiting' | 'done' | 'not-drawn' };

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `promise`, or a rejection naming `what` after `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The bytes of `cid` from the store (re-hashed by it), with the policy's timeout and retries; the
 * last error when every try failed. A block over the store's size limit is not tried again.
 */
async function fetchDelta(store: ContentStore, cid: string, policy: FetchPolicy): Promise<Uint8Array> {
  const parsed = parseCid(cid);
  for (let attempt = 1; ; attempt++) {
    try {
      return await within(store.get(parsed), policy.timeoutMs, `fetching ${cid}`);
    } catch (err) {
      if (attempt >= policy.attempts || isStorageError(err, StorageErrorCode.TooLarge)) throw err;
      await sleep(policy.backoffMs * 2 ** (attempt - 1));
    }
  }
}

type Judged = { ok: true; input: AggregateInput } | { ok: false; reason: ExclusionReason; cause: string };

/** One accepted submission: fetched, decoded, and of the window's model — or why not. */
async function judge(store: ContentStore, sub: Submission, model: ModelIdentity, policy: FetchPolicy): Promise<Judged> {
  let bytes: Uint8Array;
  try {
    bytes = await fetchDelta(store, sub.gradientCid, policy);
  } catch (err) {
    const tooLarge = isStorageError(err, StorageErrorCode.TooLarge);
    const tries = tooLarge ? '' : ` (${policy.attempts} tries, ${policy.timeoutMs} ms each)`;
    // Over the size limit: no delta of any model is that large, so it cannot decode.
    return { ok: false, reason: tooLarge ? ExclusionReason.EXCLUSION_REASON_UNDECODABLE : ExclusionReason.EXCLUSION_REASON_UNAVAILABLE, cause: `${(err as Error).message}${tries}` };
  }
  let file: DeltaFile;
  try {
    file = await decodeDelta(bytes, { cid: sub.gradientCid });
  } catch (err) {
    return { ok: false, reason: ExclusionReason.EXCLUSION_REASON_UNDECODABLE, cause: (err as Error).message };
  }
  if (!sameModel(file.info.model, model)) {
    const m = file.info.model;
    return {
      ok: false, reason: ExclusionReason.EXCLUSION_REASON_WRONG_MODEL,
      cause: `the delta was trained on model version ${m.version} (${m.cfg.nLayers} layers, d_model ${m.cfg.dModel}, rank ${m.cfg.loraRank}), not the window's version ${model.version} (${model.cfg.nLayers} layers, d_model ${model.cfg.dModel}, rank ${model.cfg.loraRank})`,
    };
  }
  return { ok: true, input: { cid: sub.gradientCid, file } };
}

/**
 * The window's ACCEPTED submissions in id order, each fetched (timeout, retries) and checked
 * against its CID and the window's model version: the included deltas, and the excluded
 * submissions with their reason (UNAVAILABLE: not served; UNDECODABLE: not a delta file;
 * WRONG_MODEL: a delta of another model than the window's). Each exclusion is logged.
 */
export async function acceptedDeltas(
  chain: ChainReader, store: ContentStore, w: Pick<Window, 'id' | 'modelVersion'>,
  options: { fetch?: FetchPolicy; log?: (line: string) => void } = {},
): Promise<WindowInputs> {
  const policy = options.fetch ?? DEFAULT_FETCH;
  const model = identityOfVersion(await chain.modelVersion(w.modelVersion));
  const subs = (await chain.windowSubmissions(w.id))
    .filter((s) => s.status === SubmissionStatus.SUBMISSION_STATUS_ACCEPTED)
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const judged: Judged[] = new Array(subs.length);
  let next = 0;
  const worker = async () => {
    while (next < subs.length) {
      const i = next++;
      judged[i] = await judge(store, subs[i], model, policy);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(policy.parallel, subs.length)) }, worker));
  const included: AggregateInput[] = [];
  const excluded: ExcludedInput[] = [];
  subs.forEach((sub, i) => {
    const j = judged[i];
    if (j.ok) {
      included.push(j.input);
      return;
    }
    excluded.push({ submissionId: sub.id, miner: sub.miner, cid: sub.gradientCid, reason: j.reason, cause: j.cause });
    options.log?.(`window ${w.id}: excluding submission ${sub.id} of ${sub.miner} (${sub.gradientCid}) as ${REASON_NAMES[j.reason]}: ${j.cause}`);
  });
  return { included, excluded };
}

async function send(deps: ProposerDeps, entry: JournalEntry, tx: { txBytes: Uint8Array; txhash: string }): Promise<void> {
  await deps.journal.record(entry);
  const out = await deps.writer.broadcast(tx);
  deps.stats.recordSubmission(out.code !== 0 ? 'refused' : 'accepted');
  if (out.code !== 0) {
    await deps.journal.update(entry, { status: 'failed', error: out.rawLog });
    throw new ChainError(ChainErrorCode.TxFailed, `${entry.kind} for window ${entry.window} refused (code ${out.code}): ${out.rawLog}`, { abciCode: out.code, txhash: tx.txhash });
  }
  deps.stats.lastTxhash = tx.txhash;
  await deps.journal.update(entry, { status: 'included', height: out.height.toString() });
}

/**
 * The rule to aggregate with now: the chain's training param `aggregation_rule` (empty: `median`,
 * the default of worker/SPEC.md §11), or the override — logged as a warning when it differs.
 */
export async function aggregationRuleNow(deps: Pick<ProposerDeps, 'chain' | 'ruleOverride' | 'log'>, windowId: bigint): Promise<AggregationRule> {
  const text = (await deps.chain.trainingParams()).aggregationRule;
  let chainRule: AggregationRule;
  try {
    chainRule = parseRule(text === '' ? 'median' : text);
  } catch (cause) {
    if (deps.ruleOverride === undefined) throw new ChainError(ChainErrorCode.QueryFailed, `the chain's aggregation_rule "${text}" is not one this worker knows (${(cause as Error).message}); nothing committed for window ${windowId}`, {}, { cause });
    deps.log(`warning: window ${windowId}: the chain's aggregation_rule "${text}" is unknown to this worker; using --rule ${ruleName(deps.ruleOverride)}`);
    return deps.ruleOverride;
  }
  if (deps.ruleOverride !== undefined && ruleName(deps.ruleOverride) !== ruleName(chainRule)) {
    deps.log(`warning: window ${windowId}: aggregating with --rule ${ruleName(deps.ruleOverride)}, not the chain's aggregation_rule ${ruleName(chainRule)}: the other proposers will reveal another result, and a minority reveal is penalised`);
    return deps.ruleOverride;
  }
  return chainRule;
}

export async function proposerDutyForWindow(deps: ProposerDeps, w: Window, height: bigint): Promise<DutyOutcome> {
  const me = deps.writer.address;
  if (w.status !== WindowStatus.WINDOW_STATUS_AGGREGATING || !w.proposers.includes(me)) return { window: w.id, action: 'not-drawn' };
  const commits = await deps.chain.aggregation(w.id);
  const mine = commits.find((c) => c.proposer === me);
  const commitEntry = deps.journal.get('commit-aggregation', w.id, 0n);
  if (height >= w.commitStartHeight && height < w.revealStartHeight) {
    if (mine || (commitEntry && commitEntry.status !== 'failed')) return { window: w.id, action: 'waiting' };
    deps.stats.status = `aggregating window ${w.id}`;
    const rule = await aggregationRuleNow(deps, w.id);
    const { included, excluded } = await acceptedDeltas(deps.chain, deps.store, w, { fetch: deps.fetch, log: deps.log });
    const exclusions: Exclusion[] = excluded.map(({ submissionId, reason }) => ({ submissionId, reason }));
    // Every input excluded: "nothing to aggregate" (empty result), which the chain accepts only with all of them excluded.
    let resultCid = '';
    let resultHash: Uint8Array = new Uint8Array(0);
    let losses: CommittedLosses = { lossBase: 0n, lossAggregate: 0n };
    if (included.length > 0) {
      const agg = await aggregateDeltas(included, rule, w.id);
      // Proof of Learning: the held-out losses are committed with the result (a window without
      // eval_chunks — or one from before they existed — evaluates nothing).
      if ((w.evalChunks ?? []).length > 0) {
        if (deps.evaluator === undefined) throw new Error(`window ${w.id} evaluates ${w.evalChunks.length} held-out chunks and this proposer has no evaluator; nothing committed`);
        losses = await deps.evaluator(w, agg.delta);
      }
      const stored = await deps.store.put(agg.bytes);
      if (!stored.equals(agg.cid)) throw new ChainError(ChainErrorCode.TxFailed, `the store answered ${stored} for aggregate ${agg.cid}; nothing committed`);
      resultCid = agg.cid.toString();
      resultHash = agg.resultHash;
    }
    // A window that carries a checkpoint: its proposers publish the head through checkpoint_through
    // with the aggregate (README "Checkpoints"). A failure leaves it out, never the aggregate.
    let checkpoint: CommittedCheckpoint = { checkpointCid: '', checkpointHash: new Uint8Array(0) };
    if ((w.checkpointThrough ?? 0n) !== 0n) {
      if (deps.checkpointer === undefined) deps.log(`window ${w.id}: carries the checkpoint through window ${w.checkpointThrough}, and this proposer has no checkpointer; committing none`);
      else {
        try {
          checkpoint = await deps.checkpointer(w);
        } catch (err) {
          deps.log(`window ${w.id}: the checkpoint through window ${w.checkpointThrough} could not be built (${(err as Error).message}); committing none`);
        }
      }
    }
    const nonce = new Uint8Array(randomBytes(32));
    const commitment = commitHash(resultCid, resultHash, nonce, exclusions, losses, checkpoint);
    const tx = await deps.writer.signCommitAggregation(w.id, commitment);
    await send(deps, {
      kind: 'commit-aggregation', window: w.id.toString(), ordinal: '0', cid: resultCid, txhash: tx.txhash, txBytes: b64(tx.txBytes),
      status: 'signed', resultHash: bytesToHex(resultHash), nonce: bytesToHex(nonce),
      excluded: exclusions.map(({ submissionId, reason }) => ({ submission: submissionId.toString(), reason })),
      ...(losses.lossBase !== 0n || losses.lossAggregate !== 0n ? { lossBase: losses.lossBase.toString(), lossAggregate: losses.lossAggregate.toString() } : {}),
      ...(checkpoint.checkpointCid !== '' ? { checkpointCid: checkpoint.checkpointCid, checkpointHash: bytesToHex(checkpoint.checkpointHash) } : {}),
    }, tx);
    const listed = excluded.map((x) => `${x.submissionId} ${REASON_NAMES[x.reason]}`).join(', ');
    deps.log(included.length > 0
      ? `window ${w.id}: committed aggregate ${resultCid} (${included.length} inputs${excluded.length > 0 ? `, ${excluded.length} excluded: ${listed}` : ''}, rule ${ruleName(rule)}${losses.lossBase !== 0n ? `, held-out loss ${losses.lossBase} → ${losses.lossAggregate}` : ''})`
      : `window ${w.id}: committed "nothing to aggregate" (all ${excluded.length} accepted submissions excluded: ${listed})`);
    return { window: w.id, action: 'committed' };
  }
  if (height >= w.revealStartHeight && height < w.revealEndHeight) {
    if (mine?.revealed) return { window: w.id, action: 'done' };
    const revealEntry = deps.journal.get('reveal-aggregation', w.id, 0n);
    if (revealEntry && revealEntry.status !== 'failed') return { window: w.id, action: 'waiting' };
    if (!mine || !commitEntry?.nonce || commitEntry.resultHash === undefined) return { window: w.id, action: 'done' }; // nothing (of ours) to reveal
    const exclusions = journaledExclusions(commitEntry.excluded);
    const losses: CommittedLosses = { lossBase: BigInt(commitEntry.lossBase ?? '0'), lossAggregate: BigInt(commitEntry.lossAggregate ?? '0') };
    const checkpoint: CommittedCheckpoint = commitEntry.checkpointCid !== undefined && commitEntry.checkpointHash !== undefined
      ? { checkpointCid: commitEntry.checkpointCid, checkpointHash: hexToBytes(commitEntry.checkpointHash) }
      : { checkpointCid: '', checkpointHash: new Uint8Array(0) };
    const tx = await deps.writer.signRevealAggregation(w.id, commitEntry.cid, hexToBytes(commitEntry.resultHash), hexToBytes(commitEntry.nonce), exclusions, losses, checkpoint);
    await send(deps, {
      kind: 'reveal-aggregation', window: w.id.toString(), ordinal: '0', cid: commitEntry.cid, txhash: tx.txhash, txBytes: b64(tx.txBytes), status: 'signed',
    }, tx);
    const what = commitEntry.cid === '' ? '"nothing to aggregate"' : commitEntry.cid;
    deps.log(`window ${w.id}: revealed ${what}${exclusions.length > 0 ? ` with ${exclusions.length} exclusion(s)` : ''}`);
    return { window: w.id, action: 'revealed' };
  }
  return { window: w.id, action: height < w.commitStartHeight ? 'waiting' : 'done' };
}

/** The exclusions a commit entry journaled (none in entries written before exclusions existed). */
function journaledExclusions(list: readonly JournalExclusion[] | undefined): Exclusion[] {
  return (list ?? []).map(({ submission, reason }) => ({ submissionId: BigInt(submission), reason }));
}

/** Looks at the windows that can be aggregating now (the three before the collecting one). */
export async function proposerDuty(deps: ProposerDeps): Promise<DutyOutcome[]> {
  const height = await deps.chain.height();
  const current = await deps.chain.currentWindow();
  const top = current ? current.id : 0n;
  const out: DutyOutcome[] = [];
  for (let id = top - 1n; id >= 1n && id >= top - 3n; id--) out.push(await proposerDutyForWindow(deps, await deps.chain.window(id), height));
  return out;
}
