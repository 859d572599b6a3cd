// Sign-momentum optimizer step (SPEC.md §4.9). The update is ±lr per element, so the fixed-
// point scale of the gradient only matters through its sign and the momentum average.

import { clamp, narrow, rshr } from './int.ts';

const G_OPT = 1073741823; // 2^30 − 1: keeps g − m inside int32
const P_MAX = 65536;

const ACC_MAX = 1n << 52n; // SPEC §1/§8: an acc64 gradient sum stays below 2^52

/**
 * In place: m ← m + rshr(g − m, 3); p ← clamp(p − lr·sign(m), ±2^16). g = narrow(grad64, shift),
 * grad64 the chunk's exact int64 gradient sums (acc64). RangeError if a sum is outside the SPEC
 * range |x| < 2^52 (once per element per step: cheap).
 */
export function signumStep(param: Int32Array, momentum: Int32Array, grad64: BigInt64Array, shift: number, lr: number): void {
  for (let i = 0; i < param.length; i++) {
    const x = grad64[i];
    if (x >= ACC_MAX || x <= -ACC_MAX) throw new RangeError(`signumStep: gradient sum ${x} outside ±2^52 (SPEC §8)`);
    const g = clamp(narrow(Number(x), shift), -G_OPT, G_OPT); // |x| < 2^52: Number(x) is exact
    const m = momentum[i] + rshr(g - momentum[i], 3);
    momentum[i] = m;
    param[i] = clamp(param[i] - (m > 0 ? lr : m < 0 ? -lr : 0), -P_MAX, P_MAX);
  }
}
