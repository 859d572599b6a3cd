// ternlin: frozen ternary weight × int8 activation, int32 accumulation, per-token dequant
// (SPEC.md §4.2). The accumulation is adds and subtracts only; |acc| ≤ 127·K < 2^19.

import { GRAD_MAX, mulShr } from './int.ts';

/** W tern [N,K], gamma Q16; x8 [T,K], sx Q24 [T] → y Q16 [T,N]. */
export function ternlin(
  w: Int8Array, gamma: number, x8: Int8Array, sx: Int32Array, T: number, N: number, K: number,
): Int32Array {
  const y = new Int32Array(T * N);
  for (let t = 0; t < T; t++) {
    const c = mulShr(sx[t], gamma, 16);
    const xo = t * K;
    for (let n = 0; n < N; n++) {
      const wo = n * K;
      let acc = 0;
      for (let k = 0; k < K; k++) acc += w[wo + k] * x8[xo + k];
      y[t * N + n] = mulShr(acc, c, 8);
    }
  }
  return y;
}

/** dx[t,k] = mulShr(Σ_n W[n,k]·dy[t,n], gamma, 16): grad w.r.t. the normalized input (not clamped). */
export function ternlinBackward(
  w: Int8Array, gamma: number, dy: Int32Array, T: number, N: number, K: number,
): Int32Array {
  const dx = new Int32Array(T * K);
  const acc = new Int32Array(K);
  for (let t = 0; t < T; t++) {
    acc.fill(0);
    for (let n = 0; n < N; n++) {
      const g = dy[t * N + n];
      if (g === 0) continue;
      if (g > GRAD_MAX || g < -GRAD_MAX) throw new RangeError('ternlinBackward: gradient out of range');
      const wo = n * K;
      // |Σ| ≤ (2^20 − 1)·N < 2^31 for N ≤ 2048: Int32Array accumulation is exact.
      for (let k = 0; k < K; k++) acc[k] += w[wo + k] * g;
    }
    for (let k = 0; k < K; k++) dx[t * K + k] = mulShr(acc[k], gamma, 16);
  }
  return dx;
}
