// Re-execution, the work behind L1/L2 verification and L3 arbitration:
//   - verifyStep: one step K from a committed state checkpoint of step K − 1 → stateHash_K,
//     compared with an expected trace (the step a dispute narrowed down to);
//   - reexecuteSubmission: a whole job from the initial adapter on the chunk a delta file names,
//     compared with the file's step hashes, trace root and gradient hash (and with the chain's).

import { bytesToHex } from '@noble/hashes/utils.js';
import type { TrainBackend } from '../backend.ts';
import { chunkHash } from '../data/chunk.ts';
import { adapterDelta, type DeltaFile, gradientHash, shapeOfModel } from '../output/delta.ts';
import { OutputError, OutputErrorCode } from '../output/errors.ts';
import type { StateCheckpoint } from '../output/state.ts';
import { firstDivergence, type Trace } from '../output/trace.ts';
import { traceRoot as traceRootOf } from '../train/trace.ts';
import { runTrainingJob } from './job.ts';
import type { LoadedModel } from './model.ts';

export interface StepVerdict {
  readonly step: number;
  readonly hash: string;
  /** the expected stateHash_K, when a trace was given */
  readonly expected?: string;
  readonly match?: boolean;
}

export async function verifyStep(args: {
  model: LoadedModel; checkpoint: StateCheckpoint; chunk: Uint8Array; step: number; backend: TrainBackend; expected?: Trace;
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
  model: LoadedModel; delta: DeltaFile; chunk: Uint8Array; backend: TrainBackend;
  /** what the chain recorded, when checking a submission */
  onChain?: { gradientHash: Uint8Array; traceRoot: Uint8Array; chunkIndex: bigint };
  onStep?: (s: number, n: number, tokens: number, seconds: number) => void;
}): Promise<SubmissionVerdict> {
  const { delta, chunk } = args;
  const reasons: string[] = [];
  if (chunkHash(chunk) !== delta.info.chunkHash) {
    throw new OutputError(OutputErrorCode.BadMetadata, `the delta was trained on chunk ${delta.info.chunkHash.slice(0, 16)}…, not on the chunk given (${chunkHash(chunk).slice(0, 16)}…)`);
  }
  const job = await runTrainingJob({ model: args.model, chunk, steps: delta.steps, lr: delta.info.lr, backend: args.backend, onStep: args.onStep });
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
