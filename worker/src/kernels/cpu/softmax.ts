// Causal softmax over integer scores (SPEC.md §4.6): iexp of (z − rowmax), exact sum, and a
// rounded division per probability. Probabilities are Q15 and sum to 2^15 within rounding.

import { divr, mulShr, satG } from './int.ts';
import { iexp } from './poly.ts';

/** Row t of z (Q16, length ≥ n) over its first n entries → P Q15 written to p[po..po+n). */
export function softmaxRow(z: Int32Array, zo: number, n: number, p: Int32Array, po: number): void {
  let mx = z[zo];
  for (let u = 1; u < n; u++) if (z[zo + u] > mx) mx = z[zo + u];
  let sum = 0;
  for (let u = 0; u < n; u++) {
    const e = iexp(z[zo + u] - mx);
    p[po + u] = e;
    sum += e;
  }
  // e ≤ 2^15 so 2e·2^15 + sum < 2^32 (u32 division on every backend).
  for (let u = 0; u < n; u++) p[po + u] = divr(p[po + u] * 32768, sum);
}

/** dz_u = satG(mulShr(P_u, dP_u − ρ, 15)), ρ = Σ_u mulShr(P_u, dP_u, 15), over n entries. */
export function softmaxRowBackward(
  p: Int32Array, po: number, dp: Int32Array, dpo: number, n: number, dz: Int32Array, dzo: number,
): void {
  let rho = 0;
  for (let u = 0; u < n; u++) rho += mulShr(p[po + u], dp[dpo + u], 15);
  for (let u = 0; u < n; u++) dz[dzo + u] = satG(mulShr(p[po + u], dp[dpo + u] - rho, 15));
}
