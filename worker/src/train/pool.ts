// The CPU step on several cores: a pool of compute threads (thread.ts), data-parallel over the
// sequences of a chunk, the pattern of the multi-device WebGPU step (multi-device.ts). The chunk's
// sequences are split into contiguous parts (splitEvenly), one per thread; each thread sums its
// part's exact acc64 gradients and Q16 losses (sequenceGradients, step.ts); the main thread adds
// the parts (exact int64) and applies the one signum update of SPEC §4.9 (applyGradients, the
// function trainStep ends with). Integer sums do not depend on how they are grouped, so the step's
// bytes — state, hash, loss — are those of trainStep whatever the number of threads
// (test/train-threads.test.ts). Held-out evaluations split the same way (sums of Q16 losses).
//
// The heavy work (forward + backward, O(tokens · weights)) runs on the threads; the main thread
// does only the O(adapter) sum, update and state hash, as it does for several GPUs. A pool of one
// thread sends the whole step to it, as before.

import { availableParallelism } from 'node:os';
import { addGrads, type AdapterState, newGrads } from '../model/adapter.ts';
import type { Backbone } from '../model/backbone.ts';
import type { ChunkTokens } from '../data/chunk.ts';
import type { Evaluation } from './evaluate.ts';
import { splitEvenly, splitSequences } from './sequences.ts';
import { applyGradients, type StepOptions, type StepResult } from './step.ts';
import { ComputeThread, sharedComputeThread } from './thread.ts';

/** Largest --threads accepted. */
export const MAX_THREADS = 256;

/** The default thread count: the cores Node may use. */
export function defaultThreads(): number {
  return Math.max(1, Math.min(MAX_THREADS, availableParallelism()));
}

/** Whole sequences [from, to) of `tokens` as their own copy (what crosses to a thread). */
const partOf = <C extends ChunkTokens>(tokens: C, seqLen: number, [from, to]: [number, number]): C => tokens.slice(from * seqLen, to * seqLen) as C;

export class ComputePool {
  constructor(readonly threads: readonly ComputeThread[]) {
    if (threads.length === 0) throw new RangeError('a compute pool needs at least one thread');
  }

  get size(): number {
    return this.threads.length;
  }

  /** One SPEC §6 step; the same bytes as trainStep for any pool size. */
  async step(bb: Backbone, state: AdapterState, chunk: ChunkTokens, step: number, opts: StepOptions): Promise<StepResult> {
    if (this.threads.length === 1) return this.threads[0].step(bb, state, chunk, step, opts);
    const T = bb.cfg.seqLen;
    const count = splitSequences(chunk, T).length; // a chunk that is not whole sequences: trainStep's RangeError
    const parts = splitEvenly(count, this.threads.length);
    const results = await Promise.all(parts.map((p, i) => (p[0] === p[1] ? undefined : this.threads[i].gradients(bb, state, partOf(chunk, T, p), opts.microBatch))));
    const grads = newGrads(bb.cfg);
    let lossSumQ16 = 0;
    let tokens = 0;
    for (const r of results) {
      if (!r) continue;
      addGrads(grads, r.grads);
      lossSumQ16 += r.lossSumQ16;
      tokens += r.tokens;
    }
    return applyGradients(state, { grads, lossSumQ16, tokens }, step, opts.lr);
  }

  /** Held-out loss (SPEC §4.8); the same integers as evaluate() for any pool size. */
  async evaluate(bb: Backbone, state: AdapterState, bytes: ChunkTokens): Promise<Evaluation> {
    if (this.threads.length === 1) return this.threads[0].evaluate(bb, state, bytes);
    const T = bb.cfg.seqLen;
    const count = Math.floor(bytes.length / T); // evaluate() drops the incomplete tail
    const parts = splitEvenly(count, this.threads.length);
    const results = await Promise.all(parts.map((p, i) => (p[0] === p[1] ? undefined : this.threads[i].evaluate(bb, state, partOf(bytes, T, p)))));
    let lossSumQ16 = 0;
    let tokens = 0;
    for (const r of results) {
      if (!r) continue;
      lossSumQ16 += r.lossSumQ16;
      tokens += r.tokens;
    }
    return { lossSumQ16, tokens, meanQ16: tokens === 0 ? 0 : Math.floor(lossSumQ16 / tokens) };
  }

  /** Stops every thread of the pool (requests in flight fail); not for the shared pool. */
  close(): void {
    for (const t of this.threads) t.close();
  }
}

const sharedThreads: ComputeThread[] = [];

/**
 * The process's pool of `n` compute threads: the shared compute thread (evaluations, PoC) and
 * n − 1 more, kept for the process and shared by every CPU backend (a larger n adds threads, a
 * smaller one uses the first n). Idle threads never keep the process alive.
 */
export function sharedComputePool(n: number = defaultThreads()): ComputePool {
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_THREADS) throw new RangeError(`threads must be an integer in 1..${MAX_THREADS}, got ${n}`);
  if (sharedThreads.length === 0) sharedThreads.push(sharedComputeThread());
  while (sharedThreads.length < n) sharedThreads.push(new ComputeThread({ name: `compute thread ${sharedThreads.length + 1}` }));
  return new ComputePool(sharedThreads.slice(0, n));
}
