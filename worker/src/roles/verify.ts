// Re-execution, the work behind L1/L2 verification and L3 arbitration:
//   - verifyStep: one step K from a committed state checkpoint of step K − 1 → stateHash_K,
//     compared with an expected trace (the step a dispute narrowed down to);
//   - reexecuteSubmission: a whole job from the window's base adapter on the chunk a delta file names,
//     compared with the file's step hashes, trace root and gradient hash (and with the chain's).

import { randomBytes } from 'node:crypto';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import type { SignedTx, Submission, VerificationReader, VerificationWriter } from '../chain/client.ts';
import { commitDomain, DisputeStage, L1Status, UNAVAILABLE_RESULT, verificationCommitment } from '@r3mes/client';
import { decodeDelta } from '../output/delta.ts';
import type { ContentStore } from '../storage/content-store.ts';
import { parseCid } from '../storage/cid.ts';
import { readJournalFile, writeJsonAtomic } from './journal.ts';
import type { TrainBackend } from '../backend.ts';
import { type ChunkTokens, chunkHash } from '../data/chunk.ts';
import { adapterDelta, type DeltaFile, gradientHash, shapeOfModel } from '../output/delta.ts';
import { OutputError, OutputErrorCode } from '../output/errors.ts';
import type { StateCheckpoint } from '../output/state.ts';
import { firstDivergence, type Trace } from '../output/trace.ts';
import { traceRoot as traceRootOf } from '../train/trace.ts';
import { modelMetadata } from '../output/metadata.ts';
import { sameModel } from '../aggregate/file.ts';
import { runTrainingJob } from './job.ts';
import type { LoadedModel } from './model.ts';
import type { BaseStates } from './base-state.ts';
import type { AdapterState } from '../model/adapter.ts';
import type { WorkerStats } from './stats.ts';
import type { MissedDuties } from './missed-duties.ts';
import { type BisectView, reexecuteOneStep, rememberTrace } from './bisect.ts';

export interface StepVerdict {
  readonly step: number;
  readonly hash: string;
  /** the expected stateHash_K, when a trace was given */
  readonly expected?: string;
  readonly match?: boolean;
}

export async function verifyStep(args: {
  model: LoadedModel; checkpoint: StateCheckpoint; chunk: ChunkTokens; step: number; backend: TrainBackend; expected?: Trace;
}): Promise<StepVerdict> {
  const { checkpoint, step } = args;
  if (checkpoint.step !== step - 1) {
    throw new OutputError(OutputErrorCode.BadMetadata, `re-executing step ${step} needs the checkpoint of step ${step - 1}; this one is of step ${checkpoint.step}`);
  }
  if (args.expected) {
    const prev = args.expected.stepHashes[step - 1];
    if (!prev) throw new OutputError(OutputErrorCode.BadTrace, `the trace has ${args.expected.stepHashes.length} entries; step ${step} is not in it`);
    if (bytesToHex(prev) !== bytesToHex(checkpoint.hash)) {
      throw new OutputError(OutputErrorCode.BadTrace, `the checkpoint's state hash is not entry ${step - 1} of the trace: it is not the committed state`);
    }
  }
  const r = await args.backend.step(args.model.backbone, checkpoint.state, args.chunk, step, { lr: checkpoint.lr });
  const hash = bytesToHex(r.hash);
  if (!args.expected) return { step, hash };
  const want = args.expected.stepHashes[step];
  if (!want) return { step, hash };
  return { step, hash, expected: bytesToHex(want), match: bytesToHex(want) === hash };
}

export interface SubmissionVerdict {
  readonly match: boolean;
  /** first step whose state hash differs from the file's (−1: none) */
  readonly firstDivergentStep: number;
  readonly traceRoot: string;
  readonly gradientHash: string;
  readonly claimedTraceRoot: string;
  readonly claimedGradientHash?: string;
  readonly lossBefore: number;
  readonly lossAfter: number;
  readonly reasons: string[];
}

export async function reexecuteSubmission(args: {
  model: LoadedModel; delta: DeltaFile; chunk: ChunkTokens; backend: TrainBackend;
  /** the base of the delta's window (roles/base-state.ts); default the initial adapter */
  base?: AdapterState;
  /** what the chain recorded, when checking a submission */
  onChain?: { gradientHash: Uint8Array; traceRoot: Uint8Array; chunkIndex: bigint };
  onStep?: (s: number, n: number, tokens: number, seconds: number) => void;
}): Promise<SubmissionVerdict> {
  const { delta, chunk } = args;
  const reasons: string[] = [];
  if (chunkHash(chunk) !== delta.info.chunkHash) {
    throw new OutputError(OutputErrorCode.BadMetadata, `the delta was trained on chunk ${delta.info.chunkHash.slice(0, 16)}…, not on the chunk given (${chunkHash(chunk).slice(0, 16)}…)`);
  }
  // The model re-executed follows the backbone reference (roles/model.ts loadModel); a file whose
  // other metadata (lora_seed, config) disagrees with it claims a model it was not trained on.
  const claimed = modelMetadata(delta.info.model);
  const used = modelMetadata(args.model.identity);
  if (claimed.backbone === used.backbone && claimed.lora_seed !== used.lora_seed) {
    reasons.push(`the file's lora_seed ${claimed.lora_seed.slice(0, 16)}… is not the one its backbone ${claimed.backbone.slice(0, 20)}… gives (${used.lora_seed.slice(0, 16)}…)`);
  } else if (!sameModel(delta.info.model, args.model.identity)) {
    reasons.push(`the file names another model than the one re-executed (backbone ${claimed.backbone.slice(0, 20)}…, re-executed ${used.backbone.slice(0, 20)}…)`);
  }
  const job = await runTrainingJob({ model: args.model, chunk, steps: delta.steps, lr: delta.info.lr, backend: args.backend, base: args.base, onStep: args.onStep });
  const firstDivergentStep = firstDivergence(job.stepHashes, delta.info.stepHashes);
  if (firstDivergentStep >= 0) reasons.push(`state hash differs from step ${firstDivergentStep}`);
  const mine = gradientHash(adapterDelta(job.initial, job.final), shapeOfModel(args.model.identity));
  const theirs = gradientHash(delta.delta, shapeOfModel(delta.info.model));
  if (bytesToHex(mine) !== bytesToHex(theirs)) reasons.push('the delta tensors differ from the re-execution');
  const traceRoot = bytesToHex(args.delta.traceRoot);
  if (args.onChain) {
    if (bytesToHex(args.onChain.gradientHash) !== bytesToHex(mine)) reasons.push('the on-chain gradient_hash differs from the re-execution');
    if (bytesToHex(args.onChain.traceRoot) !== traceRoot) reasons.push('the on-chain trace_root differs from the file');
    if (args.onChain.chunkIndex !== delta.info.chunkIndex) reasons.push('the on-chain chunk_index differs from the file');
  }
  return {
    match: reasons.length === 0, firstDivergentStep, traceRoot: bytesToHex(traceRootOf(job.stepHashes)),
    gradientHash: bytesToHex(mine), claimedTraceRoot: traceRoot, claimedGradientHash: args.onChain ? bytesToHex(args.onChain.gradientHash) : undefined,
    lossBefore: job.lossBefore, lossAfter: job.lossAfter, reasons,
  };
}

// ---- Verification duties ---------------------------------------------------------------------
// `verify --key K` / `arbitrate --key K`: each pass asks the chain which duties are drawn to
// this key (the pending L1 checks from verification's ChecksByVerifier query, L2 answers and L3
// seats from the open disputes), fetches the delta by CID, re-executes the chunk on the chain's
// model version and answers with the recomputed gradient hash (or reports the CID unavailable).
//
// Commit, then reveal (verification README): the answer is first committed —
// sha256(domain ‖ result ‖ salt ‖ me) with a fresh 32-byte salt — and revealed on a later pass, once
// the chain shows the commitment (L3: once every active seat has committed or the commit deadline
// is reached). The result and the salt are journaled with the commit tx before it is broadcast, so
// a restarted worker reveals what it committed without re-executing.
//
// Never twice: a duty is taken only while the chain shows it unanswered, and every signed tx is
// written to `<home>/worker/verify-journal.json` (with its bytes) BEFORE it is broadcast. A duty
// with a journal entry is never signed again: a `signed` entry is looked up by tx hash and, when
// the node does not know it and the deadline has not passed, the same bytes are sent again.

export type DutyKind = 'l1' | 'l2' | 'l3';

export interface Duty {
  readonly kind: DutyKind;
  /** journal key: l1/{submission}/{drawn height}, l2/{dispute}/{round}, l3/{dispute} (a commit: the key + "/commit") */
  readonly key: string;
  readonly submissionId: bigint;
  readonly disputeId?: bigint;
  readonly miner: string;
  /** last height at which the answer (the reveal) counts (inclusive) */
  readonly deadline: bigint;
  /** last height at which a commitment counts (inclusive) */
  readonly commitDeadline: bigint;
  /** the commitment domain of this duty (verification README "Commit, then reveal") */
  readonly domain: string;
  /** the chain holds this key's commitment for the duty */
  readonly committed: boolean;
  /**
   * a reveal sent now lands where the chain accepts it: the commitment is in a block below the
   * current height (one block of margin over the chain's "later block" rule); L3: every active
   * seat has committed, or the commit deadline is reached
   */
  readonly revealOpen: boolean;
  /** L3: someone has already reported the CID unavailable (an `unavailable` vote needs it) */
  readonly unavailableReported?: boolean;
  /** L3 of a dispute bisected to one step (verification README "Bisection"): re-execute step lo → lo + 1 only */
  readonly oneStep?: BisectView;
}

export type DutyRole = 'verify' | 'arbitrate';

/**
 * The duties drawn to `me` that the chain still shows unanswered. `verify`: L1 checks (the
 * chain's index of pending checks by verifier: one query a pass, however many submissions there
 * are) and L2 answers; `arbitrate`: L3 panel seats.
 */
export async function selectDuties(
  chain: Pick<VerificationReader, 'height' | 'pendingL1Checks' | 'openDisputes'>, me: string, role: DutyRole,
): Promise<{ duties: Duty[]; height: bigint }> {
  const height = await chain.height();
  const duties: Duty[] = [];
  if (role === 'verify') {
    for (const check of await chain.pendingL1Checks(me)) {
      // The chain lists only this key's pending checks; the filter guards against a node that does not.
      if (check.verifier !== me || check.status !== L1Status.L1_STATUS_PENDING || height > check.deadlineHeight) continue;
      const committed = check.commitment.length > 0;
      // Keyed by submission and draw height: a later check on the same submission (a trap check looks like any other) is another duty.
      duties.push({
        kind: 'l1', key: `l1/${check.submissionId}/${check.drawnHeight}`, submissionId: check.submissionId, miner: check.miner, deadline: check.deadlineHeight,
        commitDeadline: check.commitDeadlineHeight === 0n ? check.deadlineHeight : check.commitDeadlineHeight,
        domain: commitDomain('l1', check.submissionId), committed, revealOpen: committed && height > check.commitHeight,
      });
    }
  }
  for (const d of await chain.openDisputes()) {
    const commitDeadline = d.commitDeadlineHeight === 0n ? d.nextActionHeight : d.commitDeadlineHeight;
    if (role === 'verify' && d.stage === DisputeStage.DISPUTE_STAGE_L2_ANSWER && d.l2Verifier === me && d.l2ResultHash.length === 0 && height <= d.nextActionHeight) {
      const committed = d.l2Commitment.length > 0;
      duties.push({
        kind: 'l2', key: `l2/${d.id}/${d.l2Round}`, submissionId: d.submissionId, disputeId: d.id, miner: d.miner, deadline: d.nextActionHeight,
        commitDeadline, domain: commitDomain('l2', d.id, d.l2Round), committed, revealOpen: committed && height > d.l2CommitHeight,
      });
    }
    if (role === 'arbitrate' && d.stage === DisputeStage.DISPUTE_STAGE_L3_VOTING && height <= d.nextActionHeight) {
      const seat = d.panel.find((s) => s.arbiter === me && !s.missed);
      if (seat && !seat.voted) {
        const committed = seat.commitment.length > 0;
        // The next block is past `height`: reveals are open there once every active seat has committed or the commit deadline is reached.
        const everyoneCommitted = d.panel.every((s) => s.missed || s.commitment.length > 0);
        duties.push({
          kind: 'l3', key: `l3/${d.id}`, submissionId: d.submissionId, disputeId: d.id, miner: d.miner, deadline: d.nextActionHeight,
          commitDeadline, domain: commitDomain('l3', d.id), committed,
          revealOpen: committed && height > seat.commitHeight && (everyoneCommitted || height >= commitDeadline),
          unavailableReported: d.unavailableReported,
          ...(d.bisectOneStep ? { oneStep: d } : {}),
        });
      }
    }
  }
  return { duties, height };
}

/** What re-execution of a submission gave: the recomputed gradient hash, or "could not fetch". */
export type Recomputed = { kind: 'hash'; resultHash: Uint8Array } | { kind: 'unavailable'; reason: string };

/** The result posted for a delta file that does not decode: never equal to a real gradient hash. */
export const UNDECODABLE_RESULT = sha256(new TextEncoder().encode('r3mes/verify/undecodable-delta'));

/**
 * Fetches the submission's delta by CID and re-executes its job on the chain's model version and
 * chunk (steps and learning rate from the file, which the chain does not record). A store that
 * cannot deliver the CID is "unavailable"; a file that does not decode is a wrong result.
 */
export async function recomputeSubmission(args: {
  submission: Submission; store: ContentStore; backend: TrainBackend;
  loadModel: (version: bigint) => Promise<LoadedModel>; chunkAt: (index: bigint, windowId: bigint) => ChunkTokens | Promise<ChunkTokens>;
  /** the windows' base adapters; without it jobs start from the initial adapter */
  bases?: BaseStates;
  onStep?: (s: number, n: number, tokens: number, seconds: number) => void;
}): Promise<Recomputed> {
  const { submission: sub } = args;
  let bytes: Uint8Array;
  try {
    bytes = await args.store.get(parseCid(sub.gradientCid));
  } catch (err) {
    return { kind: 'unavailable', reason: (err as Error).message };
  }
  let delta: DeltaFile;
  try {
    delta = await decodeDelta(bytes, { cid: sub.gradientCid });
  } catch {
    return { kind: 'hash', resultHash: UNDECODABLE_RESULT };
  }
  const model = await args.loadModel(sub.modelVersion);
  const base = await args.bases?.forWindow(sub.windowId, model);
  const job = await runTrainingJob({
    model, chunk: await args.chunkAt(sub.chunkIndex, sub.windowId), steps: delta.steps, lr: delta.info.lr, backend: args.backend, base: base?.state, onStep: args.onStep,
  });
  // The trace is this worker's side of a bisection on the submission, should one follow (roles/bisect.ts).
  rememberTrace(sub.id, delta.steps, delta.info.lr, job.stepHashes);
  return { kind: 'hash', resultHash: gradientHash(adapterDelta(job.initial, job.final), shapeOfModel(model.identity)) };
}

// -- the duty journal --

export type DutyEntryStatus = 'signed' | 'included' | 'failed';

export interface DutyEntry {
  readonly key: string;
  /** verification-commit | verification | report-unavailable | arbiter-commit | arbiter-vote */
  readonly msg: string;
  readonly deadline: string;
  readonly txhash: string;
  readonly txBytes: string;
  readonly status: DutyEntryStatus;
  /** hex of the posted (or, for a commit, committed) result hash, "unavailable", or empty */
  readonly result: string;
  /** a commit: hex of the salt, kept for the reveal */
  readonly salt?: string;
  readonly height?: string;
  readonly error?: string;
}

interface DutyJournalFile {
  version: 1;
  /**
   * Written by workers that scanned submission ids for L1 checks (before ChecksByVerifier); read
   * and ignored, no longer written.
   */
  scanFrom?: string;
  entries: DutyEntry[];
}

export class DutyJournal {
  private constructor(readonly path: string, private readonly entries: Map<string, DutyEntry>) {}

  static async open(path: string): Promise<DutyJournal> {
    const data = await readJournalFile<DutyJournalFile>(path, 'duty journal', (d) => d.scanFrom === undefined || /^[0-9]+$/.test(d.scanFrom));
    return new DutyJournal(path, new Map((data?.entries ?? []).map((e) => [e.key, e])));
  }

  get(key: string): DutyEntry | undefined {
    return this.entries.get(key);
  }

  all(): DutyEntry[] {
    return [...this.entries.values()];
  }

  async record(entry: DutyEntry): Promise<DutyEntry> {
    this.entries.set(entry.key, entry);
    await this.flush();
    return entry;
  }

  private async flush(): Promise<void> {
    await writeJsonAtomic(this.path, { version: 1, entries: this.all() } satisfies DutyJournalFile);
  }
}

// -- one pass --

export interface DutyDeps {
  readonly chain: VerificationReader;
  readonly writer: VerificationWriter;
  readonly store: ContentStore;
  readonly journal: DutyJournal;
  readonly backend: TrainBackend;
  readonly role: DutyRole;
  readonly loadModel: (version: bigint) => Promise<LoadedModel>;
  readonly chunkAt: (index: bigint, windowId: bigint) => ChunkTokens | Promise<ChunkTokens>;
  /** the windows' base adapters (see recomputeSubmission) */
  readonly bases?: BaseStates;
  readonly log: (line: string) => void;
  readonly onStep?: (s: number, n: number, tokens: number, seconds: number) => void;
  /** /stats and /metrics: submissions by outcome, re-execution times, missed duties (with `missed`) */
  readonly stats?: WorkerStats;
  readonly missed?: MissedDuties;
}

export interface DutyOutcome {
  readonly key: string;
  readonly kind: DutyKind;
  readonly submissionId: bigint;
  readonly disputeId?: bigint;
  /** match / mismatch / unavailable */
  readonly verdict: string;
  /** committed / sent (revealed or reported) / waiting (committed, reveal not open yet) / already-sent / failed */
  readonly action: string;
  readonly txhash?: string;
  readonly resultHash?: string;
}

const short = (addr: string) => (addr.length > 16 ? `${addr.slice(0, 12)}…` : addr);
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

function describe(d: Duty): string {
  if (d.kind === 'l1') return `L1 check of submission ${d.submissionId} (miner ${short(d.miner)})`;
  if (d.kind === 'l2') return `L2 answer in dispute ${d.disputeId} on submission ${d.submissionId} (miner ${short(d.miner)})`;
  return `L3 vote in dispute ${d.disputeId} on submission ${d.submissionId} (miner ${short(d.miner)})`;
}

/** Broadcasts a journaled tx and records what happened to it. */
async function send(deps: DutyDeps, entry: DutyEntry, tx: SignedTx): Promise<DutyEntry> {
  try {
    const out = await deps.writer.broadcast(tx);
    deps.stats?.recordSubmission(out.code !== 0 ? 'refused' : 'accepted');
    if (out.code !== 0) return deps.journal.record({ ...entry, status: 'failed', error: out.rawLog, height: out.height.toString() });
    return deps.journal.record({ ...entry, status: 'included', height: out.height.toString() });
  } catch (err) {
    deps.stats?.recordSubmission('failed');
    // Left `signed`: the next pass asks the chain about this tx hash before anything else.
    deps.log(`${entry.key}: broadcast of ${tx.txhash} failed (${(err as Error).message}); will look it up next pass`);
    return entry;
  }
}

/** A journal entry still `signed`: ask the chain by tx hash; unknown and in time → the same bytes again. */
async function settleSigned(deps: DutyDeps, entry: DutyEntry): Promise<DutyEntry> {
  const tx = await deps.chain.txResult(entry.txhash);
  if (tx) return deps.journal.record({ ...entry, status: tx.code === 0 ? 'included' : 'failed', height: tx.height.toString(), error: tx.code === 0 ? undefined : tx.rawLog });
  if ((await deps.chain.height()) > BigInt(entry.deadline)) return deps.journal.record({ ...entry, status: 'failed', error: 'never seen on chain before the deadline' });
  return send(deps, entry, { txBytes: new Uint8Array(Buffer.from(entry.txBytes, 'base64')), txhash: entry.txhash });
}

async function signAndSend(deps: DutyDeps, key: string, deadline: bigint, msg: string, result: string, sign: () => Promise<SignedTx>, salt?: string): Promise<DutyEntry> {
  const tx = await sign();
  const entry = await deps.journal.record({
    key, msg, deadline: deadline.toString(), txhash: tx.txhash, txBytes: b64(tx.txBytes), status: 'signed', result, ...(salt === undefined ? {} : { salt }),
  });
  return send(deps, entry, tx); // journaled (durable) BEFORE the broadcast
}

/** One pass: settle journaled txs, select the duties drawn to this key, commit each answer once and reveal it once. */
export async function dutyPass(deps: DutyDeps): Promise<DutyOutcome[]> {
  const { chain, writer, journal, log } = deps;
  for (const e of journal.all().filter((x) => x.status === 'signed')) await settleSigned(deps, e);
  const { duties, height } = await selectDuties(chain, writer.address, deps.role);
  deps.missed?.observe(height, duties, (key) => journal.get(key)?.status === 'included');
  const outcomes: DutyOutcome[] = [];
  for (const duty of duties) {
    const base = { key: duty.key, kind: duty.kind, submissionId: duty.submissionId, disputeId: duty.disputeId };
    // `l1/{submission}`: what a worker before commit-reveal journaled for the same L1 check.
    const done = journal.get(duty.key) ?? (duty.kind === 'l1' ? journal.get(`l1/${duty.submissionId}`) : undefined);
    if (done) {
      // The chain has not caught up with a tx we already sent (or it failed): never sign again.
      outcomes.push({ ...base, verdict: done.result === 'unavailable' ? 'unavailable' : '?', action: 'already-sent', txhash: done.txhash });
      continue;
    }
    const commit = journal.get(`${duty.key}/commit`);
    if (commit) {
      outcomes.push(await reveal(deps, duty, commit));
      continue;
    }
    const submission = await chain.findSubmission(duty.submissionId);
    if (!submission) continue;
    const started = performance.now();
    // A one-step dispute: ONE step from the miner's agreed state of step lo (by CID); otherwise the whole job.
    const r: Recomputed = duty.oneStep
      ? await reexecuteOneStep({
        dispute: duty.oneStep, gradientCid: submission.gradientCid, store: deps.store, model: await deps.loadModel(submission.modelVersion),
        chunk: await deps.chunkAt(submission.chunkIndex, submission.windowId), backend: deps.backend,
      })
      : await recomputeSubmission({
        submission, store: deps.store, backend: deps.backend, loadModel: deps.loadModel, chunkAt: deps.chunkAt, bases: deps.bases, onStep: deps.onStep,
      });
    if (duty.oneStep && r.kind === 'hash') log(`${describe(duty)}: one step ${duty.oneStep.bisectLo} → ${duty.oneStep.bisectLo + 1n} re-executed: stateHash ${bytesToHex(r.resultHash).slice(0, 16)}…`);
    if (r.kind === 'hash') deps.stats?.recordReexecution(deps.role, (performance.now() - started) / 1000);
    let entry: DutyEntry;
    let verdict: string;
    let result: string;
    if (r.kind === 'unavailable') {
      verdict = 'unavailable';
      result = 'unavailable';
      if (duty.kind !== 'l3' || !duty.unavailableReported) {
        // L1/L2: the report is the answer (no commitment). L3: report first; the `unavailable` vote is committed next pass.
        const key = duty.kind === 'l3' ? `${duty.key}/report` : duty.key;
        if (journal.get(key)) {
          outcomes.push({ ...base, verdict, action: 'already-sent', txhash: journal.get(key)!.txhash });
          continue;
        }
        entry = await signAndSend(deps, key, duty.deadline, 'report-unavailable', 'unavailable', () => writer.signReportUnavailable(duty.submissionId));
        log(`${describe(duty)}: CID ${submission.gradientCid} unavailable (${r.reason}) → ${entry.status === 'failed' ? `refused: ${entry.error}` : 'reported'}`);
        outcomes.push({ ...base, verdict, action: entry.status === 'failed' ? 'failed' : 'sent', txhash: entry.txhash, resultHash: entry.result });
        continue;
      }
    } else {
      result = bytesToHex(r.resultHash);
      verdict = result === bytesToHex(duty.oneStep ? duty.oneStep.bisectHiHash : submission.gradientHash) ? 'match' : 'mismatch';
    }
    if (duty.committed || (await chain.height()) > duty.commitDeadline) {
      // Committed by a tx this journal does not know (another worker on this key), or too late: nothing to sign.
      outcomes.push({ ...base, verdict, action: 'failed' });
      continue;
    }
    // The result and the salt are journaled with the commit tx before it is broadcast: the reveal never needs a re-execution.
    const salt = randomBytes(32);
    const committed = verificationCommitment(duty.domain, result === 'unavailable' ? UNAVAILABLE_RESULT : hexToBytes(result), salt, writer.address);
    entry = duty.kind === 'l3'
      ? await signAndSend(deps, `${duty.key}/commit`, duty.commitDeadline, 'arbiter-commit', result, () => writer.signCommitArbiterVote(duty.disputeId!, committed), bytesToHex(salt))
      : await signAndSend(deps, `${duty.key}/commit`, duty.commitDeadline, 'verification-commit', result, () => writer.signCommitVerification(duty.submissionId, committed), bytesToHex(salt));
    log(`${describe(duty)}: ${verdict} → ${entry.status === 'failed' ? `commit refused: ${entry.error}` : 'committed'}`);
    outcomes.push({ ...base, verdict, action: entry.status === 'failed' ? 'failed' : 'committed', txhash: entry.txhash, resultHash: result });
  }
  return outcomes;
}

/** The reveal of a journaled commitment, once the chain holds it and accepts reveals. */
async function reveal(deps: DutyDeps, duty: Duty, commit: DutyEntry): Promise<DutyOutcome> {
  const base = { key: duty.key, kind: duty.kind, submissionId: duty.submissionId, disputeId: duty.disputeId };
  const verdict = commit.result === 'unavailable' ? 'unavailable' : '?';
  if (commit.status === 'failed') return { ...base, verdict, action: 'failed', txhash: commit.txhash };
  if (commit.status !== 'included' || !duty.committed || !duty.revealOpen || commit.salt === undefined) return { ...base, verdict, action: 'waiting', txhash: commit.txhash };
  const salt = hexToBytes(commit.salt);
  const entry = duty.kind === 'l3'
    ? await signAndSend(deps, duty.key, duty.deadline, 'arbiter-vote', commit.result,
      () => deps.writer.signRevealArbiterVote(duty.disputeId!, commit.result === 'unavailable' ? { unavailable: true } : { resultHash: hexToBytes(commit.result) }, salt))
    : await signAndSend(deps, duty.key, duty.deadline, 'verification', commit.result, () => deps.writer.signRevealVerification(duty.submissionId, hexToBytes(commit.result), salt));
  deps.log(`${describe(duty)}: revealed ${commit.result === 'unavailable' ? 'unavailable' : commit.result.slice(0, 16)}… → ${entry.status === 'failed' ? `refused: ${entry.error}` : 'sent'}`);
  return { ...base, verdict, action: entry.status === 'failed' ? 'failed' : 'sent', txhash: entry.txhash, resultHash: entry.result };
}
