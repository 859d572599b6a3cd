// Sign-momentum optimizer step (SPEC.md §4.9). The update is ±lr per element, so the fixed-
// point scale of the gradient only matters through its sign and the momentum average.

import { clamp, narrow, rshr } from './int.ts';

const G_OPT = 1073741823; // 2^30 − 1: keeps g − m inside int32
const P_MAX = 65536;

/** In place: m ← m + rshr(g − m, 3); p ← clamp(p − lr·sign(m), ±2^16). g = narrow(grad64, shift). */
export function signumStep(param: Int32Array, momentum: Int32Array, grad64: Float64Array, shift: number, lr: number): void {
  for (let i = 0; i < param.length; i++) {
    const g = clamp(narrow(grad64[i], shift), -G_OPT, G_OPT);
    const m = momentum[i] + rshr(g - momentum[i], 3);
    momentum[i] = m;
    param[i] = clamp(param[i] - (m > 0 ? lr : m < 0 ? -lr : 0), -P_MAX, P_MAX);
  }
}
