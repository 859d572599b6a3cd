// Held-out evaluation: integer cross-entropy per byte in Q16 nats (SPEC.md §4.8).

import { crossEntropy } from '../kernels/cpu/xent.ts';
import type { AdapterState } from '../model/adapter.ts';
import type { Backbone } from '../model/backbone.ts';
import { forward, quantizeAdapter, type Tokens } from '../model/forward.ts';
import { nextByteTargets, splitSequences } from './sequences.ts';

export interface Evaluation {
  /** exact sum of per-token losses, Q16 nats */
  readonly lossSumQ16: number;
  readonly tokens: number;
  /** ⌊lossSum / tokens⌋, Q16 nats per byte */
  readonly meanQ16: number;
}

export function evaluate(bb: Backbone, state: AdapterState, bytes: Tokens): Evaluation {
  const lq = quantizeAdapter(state);
  let lossSumQ16 = 0;
  let tokens = 0;
  const usable = bytes.subarray(0, bytes.length - (bytes.length % bb.cfg.seqLen));
  for (const seq of splitSequences(usable, bb.cfg.seqLen)) {
    lossSumQ16 += crossEntropy(forward(bb, lq, seq).logits, nextByteTargets(seq), seq.length, undefined, bb.cfg.vocab);
    tokens += seq.length - 1;
  }
  return { lossSumQ16, tokens, meanQ16: tokens === 0 ? 0 : Math.floor(lossSumQ16 / tokens) };
}

/** For printing only: Q16 nats → a decimal string. */
export function natsPerByte(meanQ16: number): string {
  return (meanQ16 / 65536).toFixed(4);
}
