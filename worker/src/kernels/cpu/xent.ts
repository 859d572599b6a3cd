// Integer cross-entropy over the 256-byte vocabulary (SPEC.md §4.8): log-sum-exp from iexp and
// iln, loss in Q16 nats, gradient (softmax − onehot) in Q16.

import { divrWide } from './int.ts';
import { iexp, iln } from './poly.ts';

export const VOCAB = 256;

/**
 * logits Q16 [T,256], targets [T] (−1 = no target at this position). Returns the exact sum of
 * per-token losses (Q16) and writes dlogits (Q16) when given.
 */
export function crossEntropy(
  logits: Int32Array, targets: Int16Array | Int32Array, T: number, dlogits?: Int32Array, V: number = VOCAB,
): number {
  // V ≤ 2^18 (SPEC v2 §4.8): S ≤ V·2^15 < 2^34 is an acc64 (a JS number here) and
  // divr(e·2^15, S) is the same rounded quotient on exact integers (2a + b < 2^35).
  let total = 0;
  const e = new Int32Array(V);
  for (let t = 0; t < T; t++) {
    const tgt = targets[t];
    const lo = t * V;
    if (tgt < 0) {
      if (dlogits) dlogits.fill(0, lo, lo + V);
      continue;
    }
    let mx = logits[lo];
    for (let v = 1; v < V; v++) if (logits[lo + v] > mx) mx = logits[lo + v];
    let sum = 0;
    for (let v = 0; v < V; v++) {
      e[v] = iexp(logits[lo + v] - mx);
      sum += e[v];
    }
    total += mx - logits[lo + tgt] + iln(sum);
    if (dlogits) {
      for (let v = 0; v < V; v++) {
        dlogits[lo + v] = 2 * (divrWide(e[v] * 32768, sum) - (v === tgt ? 32768 : 0));
      }
    }
  }
  return total;
}
