// One training step over a chunk (SPEC.md §6): forward + backward on every sequence, exact
// gradient sums over the whole chunk, one optimizer update, and the new state hash.

import { crossEntropy } from '../kernels/cpu/xent.ts';
import { signumStep } from '../kernels/cpu/signum.ts';
import { type AdapterGrads, type AdapterState, addGrads, cloneAdapter, newGrads, presentTargets } from '../model/adapter.ts';
import { backward } from '../model/backward.ts';
import type { Backbone } from '../model/backbone.ts';
import { forward, quantizeAdapter, type Tokens } from '../model/forward.ts';
import { stateHash } from './hash.ts';
import { nextByteTargets, splitSequences } from './sequences.ts';

export interface StepOptions {
  /** learning rate, Q16 units per step (sign update) */
  readonly lr: number;
  /** sequences per micro-batch; any value gives the same result */
  readonly microBatch?: number;
}

export interface StepResult {
  readonly state: AdapterState;
  /** SHA-256 of the state after this step */
  readonly hash: Uint8Array;
  /** exact sum of per-token training losses (Q16 nats) before the update */
  readonly lossSumQ16: number;
  readonly tokens: number;
}

/** Gradient shifts that bring both sums to Q8 units (SPEC §4.9). */
export const SHIFT_A = 8;
export const SHIFT_B = 16;

/** Exact gradient of one group of sequences. */
function microBatchGrads(bb: Backbone, state: AdapterState, seqs: readonly Tokens[]): { grads: AdapterGrads; loss: number; tokens: number } {
  const grads = newGrads(bb.cfg);
  const lq = quantizeAdapter(state);
  let loss = 0;
  let tokens = 0;
  for (const seq of seqs) {
    const cache = forward(bb, lq, seq);
    const dlogits = new Int32Array(seq.length * bb.cfg.vocab);
    loss += crossEntropy(cache.logits, nextByteTargets(seq), seq.length, dlogits, bb.cfg.vocab);
    tokens += seq.length - 1;
    backward(bb, lq, cache, dlogits, grads);
  }
  return { grads, loss, tokens };
}

/** Exact gradient sums of one part of a chunk's sequences (SPEC §6); summing parts is exact. */
export interface PartGradients {
  readonly grads: AdapterGrads;
  /** exact sum of per-token training losses (Q16 nats) */
  readonly lossSumQ16: number;
  readonly tokens: number;
}

/**
 * The exact gradient sums of `seqs` (consecutive sequences of a chunk), in micro-batches of
 * `microBatch` sequences. Integer sums: any split of a chunk into parts, summed with addGrads,
 * gives the sums of the whole chunk (the CPU thread pool, pool.ts, relies on it, as the
 * multi-device WebGPU step does on its devices' sums).
 */
export function sequenceGradients(bb: Backbone, state: AdapterState, seqs: readonly Tokens[], microBatch?: number): PartGradients {
  const mb = Math.max(1, Math.min(microBatch ?? seqs.length, seqs.length));
  const total = newGrads(bb.cfg);
  let lossSumQ16 = 0;
  let tokens = 0;
  for (let i = 0; i < seqs.length; i += mb) {
    const part = microBatchGrads(bb, state, seqs.slice(i, i + mb));
    addGrads(total, part.grads);
    lossSumQ16 += part.loss;
    tokens += part.tokens;
  }
  return { grads: total, lossSumQ16, tokens };
}

/** The signum update (SPEC §4.9) of `state` by a chunk's summed gradients, and the state hash of step `step`. */
export function applyGradients(state: AdapterState, sum: PartGradients, step: number, lr: number): StepResult {
  const next = cloneAdapter(state);
  next.params.forEach((rec, l) => {
    for (const p of presentTargets(rec)) {
      const m = next.momentum[l][p]!;
      signumStep(rec[p]!.a, m.a, sum.grads.layers[l][p]!.a, SHIFT_A, lr);
      signumStep(rec[p]!.b, m.b, sum.grads.layers[l][p]!.b, SHIFT_B, lr);
    }
  });
  return { state: next, hash: stateHash(step, next), lossSumQ16: sum.lossSumQ16, tokens: sum.tokens };
}

/** Step `step` (1-based) on `chunk`; `state` is not mutated. */
export function trainStep(bb: Backbone, state: AdapterState, chunk: Tokens, step: number, opts: StepOptions): StepResult {
  return applyGradients(state, sequenceGradients(bb, state, splitSequences(chunk, bb.cfg.seqLen), opts.microBatch), step, opts.lr);
}
