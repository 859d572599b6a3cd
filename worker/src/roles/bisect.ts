// Bisection disputes, the worker's side (verification README "Bisection"):
//   - the miner reveals stateHash at the step the chain asks for, with its Merkle proof against
//     the trace root it submitted and the CID of its state checkpoint at that step;
//   - the disputer agrees exactly where its own re-execution has the same state hash;
//   - an L3 arbiter of a one-step dispute re-executes ONE step (lo → lo + 1) from the miner's
//     checkpoint of step lo — fetched by CID, its CID and SHA-256 state hash checked — on the
//     compute thread (the CPU backend's step), and votes the stateHash_{lo+1} it gets.

import type { ChunkTokens } from '../data/chunk.ts';
import type { WindowChunk } from '../data/window-chunks.ts';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bytesToHex } from '@noble/hashes/utils.js';
import { DisputeStage } from '@r3mes/client';
import type { BisectionWriter, Dispute, OwnTraceAnswer, SignedTx, Submission, VerificationReader } from '../chain/client.ts';
import { cidOf } from '../storage/cid.ts';
import { runTrainingJob } from './job.ts';
import type { BaseStates } from './base-state.ts';
import type { DutyJournal } from './verify.ts';
import { sha256 } from '@noble/hashes/sha2.js';
import type { TrainBackend } from '../backend.ts';
import { type DeltaFile, decodeDelta } from '../output/delta.ts';
import { decodeState } from '../output/state.ts';
import { traceProof } from '../output/trace.ts';
import { traceRoot } from '../train/trace.ts';
import type { ContentStore } from '../storage/content-store.ts';
import { parseCid } from '../storage/cid.ts';
import type { AdapterState } from '../model/adapter.ts';
import type { LoadedModel } from './model.ts';

/** The bisection fields of a dispute the worker reads (r3mes.verification.v1.Dispute). */
export interface BisectView {
  readonly bisectSteps: bigint;
  readonly bisectLo: bigint;
  readonly bisectHi: bigint;
  readonly bisectLoHash: Uint8Array;
  readonly bisectHiHash: Uint8Array;
  readonly bisectLoCid: string;
  readonly bisectPendingHash: Uint8Array;
  readonly bisectPendingStep: bigint;
}

/** The step the miner reveals next (the chain's rule, modules/verification/bisection.ts): n, then 0, then the midpoint. */
export function requestedStep(d: BisectView, steps: number): number {
  if (d.bisectHiHash.length === 0) return steps;
  if (d.bisectLoHash.length === 0) return 0;
  return Number((d.bisectLo + d.bisectHi) / 2n);
}

export interface RevealMove {
  readonly step: number;
  readonly steps: number;
  readonly stateHash: Uint8Array;
  /** siblings from the leaf up (MsgBisectReveal.proof: directions follow from step and steps + 1) */
  readonly proof: Uint8Array[];
}

/** The miner's next reveal from its own trace (stateHash_0 .. stateHash_n). */
export function minerReveal(d: BisectView, stepHashes: readonly Uint8Array[]): RevealMove {
  const steps = stepHashes.length - 1;
  const step = requestedStep(d, steps);
  return { step, steps, stateHash: stepHashes[step], proof: traceProof(stepHashes, step).map((p) => p.sibling) };
}

/** The disputer's answer: agree exactly where its own stateHash at the pending step is the miner's. */
export function disputerAgrees(d: BisectView, ownStepHashes: readonly Uint8Array[]): boolean {
  const own = ownStepHashes[Number(d.bisectPendingStep)];
  return own !== undefined && bytesToHex(own) === bytesToHex(d.bisectPendingHash);
}

/** What the disputer's answer proves (chain README "Bisection"): its own stateHash at the pending step, against its own trace root. */
export function disputerOwnTrace(d: BisectView, ownStepHashes: readonly Uint8Array[]): OwnTraceAnswer {
  const step = Number(d.bisectPendingStep);
  const steps = ownStepHashes.length - 1;
  // Another n than the miner declared: the chain sends the dispute to the whole-chunk panel on this answer.
  if (BigInt(steps) !== d.bisectSteps) return { hash: new Uint8Array(), root: new Uint8Array(), proof: [], steps };
  return { hash: ownStepHashes[step], root: traceRoot(ownStepHashes), proof: traceProof(ownStepHashes, step).map((p) => p.sibling), steps };
}

/** A vote for a one-step dispute whose job file names other steps than the miner declared on chain: never the miner's hash. */
export const STEPS_MISMATCH_RESULT = sha256(new TextEncoder().encode('r3mes/verify/bisect-steps-mismatch'));

export type OneStepResult =
  | { kind: 'hash'; resultHash: Uint8Array; seconds: number }
  | { kind: 'unavailable'; reason: string };

/**
 * The one-step arbiter's work: the miner's checkpoint of step lo by CID (CID re-hashed, tensors
 * re-hashed to stateHash_lo, which must be the agreed bisect_lo_hash: otherwise the state is
 * not what was agreed — reported unavailable, the data-availability rule), then ONE step on the
 * submission's chunk with the job's learning rate from the miner's delta file → stateHash_{lo+1}.
 */
export async function reexecuteOneStep(args: {
  dispute: BisectView; gradientCid: string; store: ContentStore; model: LoadedModel; chunk: ChunkTokens; backend: TrainBackend;
}): Promise<OneStepResult> {
  const d = args.dispute;
  let stateBytes: Uint8Array;
  let deltaBytes: Uint8Array;
  try {
    stateBytes = await args.store.get(parseCid(d.bisectLoCid));
    deltaBytes = await args.store.get(parseCid(args.gradientCid));
  } catch (err) {
    return { kind: 'unavailable', reason: (err as Error).message };
  }
  let delta: DeltaFile;
  let checkpoint;
  try {
    checkpoint = await decodeState(stateBytes, { cid: d.bisectLoCid });
    delta = await decodeDelta(deltaBytes, { cid: args.gradientCid });
  } catch (err) {
    return { kind: 'unavailable', reason: `undecodable: ${(err as Error).message}` };
  }
  if (BigInt(checkpoint.step) !== d.bisectLo || bytesToHex(checkpoint.hash) !== bytesToHex(d.bisectLoHash)) {
    return { kind: 'unavailable', reason: `the state at ${d.bisectLoCid} is step ${checkpoint.step} with hash ${bytesToHex(checkpoint.hash)}, not the agreed stateHash_${d.bisectLo}` };
  }
  if (BigInt(delta.steps) !== d.bisectSteps) return { kind: 'hash', resultHash: STEPS_MISMATCH_RESULT, seconds: 0 };
  return oneStep(args.backend, args.model, checkpoint.state, args.chunk, Number(d.bisectLo) + 1, delta.info.lr);
}

/** stateHash_step from the state of step − 1: the whole of a one-step arbiter's computation. */
export async function oneStep(backend: TrainBackend, model: LoadedModel, state: AdapterState, chunk: ChunkTokens, step: number, lr: number): Promise<OneStepResult> {
  const t0 = process.hrtime.bigint();
  const r = await backend.step(model.backbone, state, chunk, step, { lr });
  return { kind: 'hash', resultHash: r.hash, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
}

// ---- the round passes (train loop: the miner; verify and watch loops: the disputer) ----------


export interface BisectDeps {
  readonly chain: Pick<VerificationReader, 'height' | 'openDisputes' | 'findSubmission'>;
  readonly writer: BisectionWriter;
  readonly store: ContentStore;
  /** every signed move is journaled (key bisect/{dispute}/{move}) before it is broadcast, and never signed twice */
  readonly journal: DutyJournal;
  readonly backend: TrainBackend;
  readonly loadModel: (version: bigint) => Promise<LoadedModel>;
  /** the chunk `index` of window `windowId`'s dataset (data/window-chunks.ts) */
  readonly chunkAt: WindowChunk;
  readonly bases?: BaseStates;
  /** the miner's job directories (train's workDir: w{window}-o{ordinal}/state-{s}.safetensors, its journaled per-step states) */
  readonly jobsDir?: string;
  readonly log: (line: string) => void;
}

export interface BisectOutcome {
  readonly disputeId: bigint;
  readonly role: 'miner' | 'disputer';
  readonly step: number;
  /** revealed / agreed / disagreed / failed */
  readonly action: string;
  readonly txhash?: string;
}

/**
 * Traces this process computed, per submission: the re-execution a watcher, an L1 or L2 verifier
 * already ran (recomputeSubmission remembers its trace here) is the disputer's trace, so a round
 * costs no re-execution — the rounds' deadline is sized from one step (verification README
 * "Response windows"). Bounded: the oldest entries go first.
 */
const ownTraces = new Map<string, { stepHashes: Uint8Array[]; checkpoints: Uint8Array[] }>();
const OWN_TRACES_MAX = 64;

/** Remembers the trace (and, for the miner's fallback, the checkpoints) of a job this process ran on a submission. */
export function rememberTrace(submissionId: bigint, steps: number, lr: number, stepHashes: Uint8Array[], checkpoints: Uint8Array[] = []): void {
  const key = `${submissionId}/${steps}/${lr}`;
  ownTraces.delete(key);
  ownTraces.set(key, { stepHashes, checkpoints });
  while (ownTraces.size > OWN_TRACES_MAX) ownTraces.delete(ownTraces.keys().next().value!);
}

async function recomputeJob(deps: BisectDeps, sub: Submission, steps: number, lr: number, needCheckpoints = false): Promise<{ stepHashes: Uint8Array[]; checkpoints: Uint8Array[] }> {
  const key = `${sub.id}/${steps}/${lr}`;
  const cached = ownTraces.get(key);
  if (cached && (!needCheckpoints || cached.checkpoints.length === steps + 1)) return cached;
  const model = await deps.loadModel(sub.modelVersion);
  const base = await deps.bases?.forWindow(sub.windowId, model);
  const job = await runTrainingJob({ model, chunk: await deps.chunkAt(sub.chunkIndex, sub.windowId), steps, lr, backend: deps.backend, base: base?.state });
  rememberTrace(sub.id, steps, lr, job.stepHashes, job.checkpoints);
  return { stepHashes: job.stepHashes, checkpoints: job.checkpoints };
}

async function signMove(deps: BisectDeps, key: string, deadline: bigint, msg: string, result: string, sign: () => Promise<SignedTx>) {
  const tx = await sign();
  await deps.journal.record({ key, msg, deadline: deadline.toString(), txhash: tx.txhash, txBytes: Buffer.from(tx.txBytes).toString('base64'), status: 'signed', result });
  try {
    const out = await deps.writer.broadcast(tx);
    return deps.journal.record({
      key, msg, deadline: deadline.toString(), txhash: tx.txhash, txBytes: Buffer.from(tx.txBytes).toString('base64'),
      status: out.code === 0 ? 'included' : 'failed', result, height: out.height.toString(), ...(out.code === 0 ? {} : { error: out.rawLog }),
    });
  } catch (err) {
    deps.log(`${key}: broadcast of ${tx.txhash} failed (${(err as Error).message})`);
    return deps.journal.get(key)!;
  }
}

/**
 * One pass of this key's bisection moves: as the miner of a bisecting dispute whose turn it is,
 * the reveal the chain asks for (trace from the submitted delta file, the state checkpoint from
 * the job directory — else recomputed from the base — put in the store for its CID); as its
 * disputer, the answer from this worker's own re-execution of the job (once per submission).
 */
export async function bisectPass(deps: BisectDeps): Promise<BisectOutcome[]> {
  const me = deps.writer.address;
  const height = await deps.chain.height();
  const outcomes: BisectOutcome[] = [];
  for (const d of await deps.chain.openDisputes()) {
    if (d.stage !== DisputeStage.DISPUTE_STAGE_BISECTION || height > d.nextActionHeight) continue;
    const minerTurn = d.bisectPendingHash.length === 0;
    const role = d.miner === me && minerTurn ? 'miner' : d.bisectDisputer === me && !minerTurn ? 'disputer' : undefined;
    if (role === undefined) continue;
    const key = `bisect/${d.id}/${d.bisectMoves}`;
    if (deps.journal.get(key)) continue;
    const sub = await deps.chain.findSubmission(d.submissionId);
    if (!sub) continue;
    try {
      const delta = await decodeDelta(await deps.store.get(parseCid(sub.gradientCid)), { cid: sub.gradientCid });
      if (role === 'miner') outcomes.push(await minerMove(deps, d, sub, delta, key));
      else outcomes.push(await disputerMove(deps, d, sub, delta, key));
    } catch (err) {
      deps.log(`dispute ${d.id}: bisection move as ${role} failed: ${(err as Error).message}`);
      outcomes.push({ disputeId: d.id, role, step: -1, action: 'failed' });
    }
  }
  return outcomes;
}

async function minerMove(deps: BisectDeps, d: Dispute, sub: Submission, delta: DeltaFile, key: string): Promise<BisectOutcome> {
  const move = minerReveal(d, delta.info.stepHashes);
  // The state of that step: journaled by the job (train's workDir), else recomputed from the base (deterministic).
  let bytes: Uint8Array | undefined;
  if (deps.jobsDir !== undefined) {
    bytes = await readFile(join(deps.jobsDir, `w${sub.windowId}-o${sub.ordinal}`, `state-${move.step}.safetensors`)).then((b) => new Uint8Array(b)).catch(() => undefined);
    if (bytes !== undefined && bytesToHex((await decodeState(bytes)).hash) !== bytesToHex(move.stateHash)) bytes = undefined;
  }
  bytes ??= (await recomputeJob(deps, sub, delta.steps, delta.info.lr, true)).checkpoints[move.step];
  const cid = await deps.store.put(bytes);
  if (!cid.equals(await cidOf(bytes))) throw new Error(`the store answered another CID (${cid}) for the state of step ${move.step}`);
  const entry = await signMove(deps, key, d.nextActionHeight, 'bisect-reveal', bytesToHex(move.stateHash), () => deps.writer.signBisectReveal({
    disputeId: d.id, step: BigInt(move.step), steps: BigInt(move.steps), stateHash: move.stateHash, proof: move.proof, stateCid: cid.toString(),
  }));
  deps.log(`dispute ${d.id}: revealed stateHash_${move.step} of ${move.steps} (state ${cid}) → ${entry.status === 'failed' ? `refused: ${entry.error}` : 'sent'}`);
  return { disputeId: d.id, role: 'miner', step: move.step, action: entry.status === 'failed' ? 'failed' : 'revealed', txhash: entry.txhash };
}

async function disputerMove(deps: BisectDeps, d: Dispute, sub: Submission, delta: DeltaFile, key: string): Promise<BisectOutcome> {
  const own = await recomputeJob(deps, sub, delta.steps, delta.info.lr);
  const agree = disputerAgrees(d, own.stepHashes);
  const step = Number(d.bisectPendingStep);
  const ownTrace = disputerOwnTrace(d, own.stepHashes);
  const agreeNow = ownTrace.hash.length === 0 ? false : agree;
  const entry = await signMove(deps, key, d.nextActionHeight, 'bisect-respond', agreeNow ? 'agree' : 'disagree', () => deps.writer.signBisectRespond(d.id, d.bisectPendingStep, agreeNow, ownTrace));
  deps.log(`dispute ${d.id}: stateHash_${step} ${agreeNow ? 'agreed' : 'disputed'} → ${entry.status === 'failed' ? `refused: ${entry.error}` : 'sent'}`);
  return { disputeId: d.id, role: 'disputer', step, action: entry.status === 'failed' ? 'failed' : agreeNow ? 'agreed' : 'disagreed', txhash: entry.txhash };
}
