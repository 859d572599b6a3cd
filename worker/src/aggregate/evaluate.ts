// Proof of Learning (SPEC §16): the held-out loss a proposer reveals with its aggregate. The
// window's evaluation sample (eval_chunks, drawn by the chain at aggregation start) names chunks
// of the held-out split; each is evaluated on its own (SPEC §6 splits a chunk into ⌊len/T⌋
// sequences of T bytes) with the integer forward and cross-entropy of §4.8, and the loss is
// ⌊Σ loss sums / Σ predicted tokens⌋ in Q16 nats per byte — once for the window's base and once
// for base + aggregate (applyDelta, the same clamp the next base uses). Integers only: every
// honest proposer reveals the same two numbers on any backend.

import type { AdapterState } from '../model/adapter.ts';
import type { Backbone } from '../model/backbone.ts';
import { applyDelta, type LoraPairs } from '../output/delta.ts';
import type { ChunkTokens } from '../data/chunk.ts';
import type { Evaluation } from '../train/evaluate.ts';
import { AggregateError, AggregateErrorCode } from './errors.ts';

/** What computes one evaluation: a backend's `evaluate` (the compute thread for the CPU). */
export type Evaluate = (bb: Backbone, state: AdapterState, bytes: ChunkTokens) => Promise<Evaluation>;

export interface HeldOutLoss {
  /** Σ of per-token losses over the sample, Q16 nats */
  readonly lossSumQ16: number;
  /** predicted tokens over the sample */
  readonly tokens: number;
  /** ⌊lossSum / tokens⌋: the number revealed on chain (Q16 nats per byte) */
  readonly loss: bigint;
}

export interface HeldOutLosses {
  readonly base: HeldOutLoss;
  readonly aggregate: HeldOutLoss;
}

/** The held-out loss of `state` over `chunks` (each evaluated on its own), in chunk order. */
export async function heldOutLoss(evaluate: Evaluate, bb: Backbone, state: AdapterState, chunks: readonly ChunkTokens[]): Promise<HeldOutLoss> {
  if (chunks.length === 0) throw new AggregateError(AggregateErrorCode.EvalSample, 'held-out evaluation: the sample is empty');
  let lossSumQ16 = 0;
  let tokens = 0;
  for (const chunk of chunks) {
    const e = await evaluate(bb, state, chunk);
    lossSumQ16 += e.lossSumQ16;
    tokens += e.tokens;
  }
  if (tokens === 0) throw new AggregateError(AggregateErrorCode.EvalSample, `held-out evaluation: chunks of ${chunks[0].length} bytes hold no sequence of ${bb.cfg.seqLen}`);
  if (!Number.isSafeInteger(lossSumQ16)) throw new RangeError(`held-out evaluation: the loss sum ${lossSumQ16} is not an exact integer`);
  return { lossSumQ16, tokens, loss: BigInt(Math.floor(lossSumQ16 / tokens)) };
}

/** The two losses a proposer reveals: the window's base, and base + the window's aggregate delta. */
export async function heldOutLosses(evaluate: Evaluate, bb: Backbone, base: AdapterState, delta: LoraPairs, chunks: readonly ChunkTokens[]): Promise<HeldOutLosses> {
  const before = await heldOutLoss(evaluate, bb, base, chunks);
  const after = await heldOutLoss(evaluate, bb, applyDelta(base, delta), chunks);
  return { base: before, aggregate: after };
}
