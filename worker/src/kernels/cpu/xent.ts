// Integer cross-entropy over the 256-byte vocabulary (SPEC.md §4.8): log-sum-exp from iexp and
// iln, loss in Q16 nats, gradient (softmax − onehot) in Q16.

import { divr } from './int.ts';
import { iexp, iln } from './poly.ts';

export const VOCAB = 256;

/**
 * logits Q16 [T,256], targets [T] (−1 = no target at this position). Returns the exact sum of
 * per-token losses (Q16) and writes dlogits (Q16) when given.
 */
export function crossEntropy(
  logits: Int32Array, targets: Int16Array, T: number, dlogits?: Int32Array,
): number {
  let total = 0;
  const e = new Int32Array(VOCAB);
  for (let t = 0; t < T; t++) {
    const tgt = targets[t];
    const lo = t * VOCAB;
    if (tgt < 0) {
      if (dlogits) dlogits.fill(0, lo, lo + VOCAB);
      continue;
    }
    let mx = logits[lo];
    for (let v = 1; v < VOCAB; v++) if (logits[lo + v] > mx) mx = logits[lo + v];
    let sum = 0;
    for (let v = 0; v < VOCAB; v++) {
      e[v] = iexp(logits[lo + v] - mx);
      sum += e[v];
    }
    total += mx - logits[lo + tgt] + iln(sum);
    if (dlogits) {
      for (let v = 0; v < VOCAB; v++) {
        dlogits[lo + v] = 2 * (divr(e[v] * 32768, sum) - (v === tgt ? 32768 : 0));
      }
    }
  }
  return total;
}
