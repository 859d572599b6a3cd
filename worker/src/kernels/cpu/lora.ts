// LoRA adapter beside a ternary projection (SPEC.md §4.3): y += B·A·x on the same int8 input.
// A and B are Q16 masters; the forward uses narrower copies (A12, B10) so every forward dot
// product stays inside int32.

import { clamp, mulShr, narrow, rshr, satG } from './int.ts';

/** Exact integer accumulator (|x| < 2^52): the CPU form of the spec's acc64. */
export type Acc64 = Float64Array;

export function loraA12(a: Int32Array): Int32Array {
  const out = new Int32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = clamp(rshr(a[i], 4), -4096, 4096);
  return out;
}

export function loraB10(b: Int32Array): Int32Array {
  const out = new Int32Array(b.length);
  for (let i = 0; i < b.length; i++) out[i] = clamp(rshr(b[i], 6), -1024, 1024);
  return out;
}

/**
 * Forward: u[t,j] = clamp(mulShr(Σ_k A12[j,k]·x8[t,k], sx_t, 28), ±2^12) (Q8), and
 * y[t,n] += rshr(Σ_j B10[n,j]·u[t,j], 2). A12 [r,K], B10 [N,r]; returns u [T,r].
 */
export function loraForward(
  a12: Int32Array, b10: Int32Array, x8: Int8Array, sx: Int32Array, y: Int32Array,
  T: number, N: number, K: number, r: number,
): Int32Array {
  const u = new Int32Array(T * r);
  for (let t = 0; t < T; t++) {
    const xo = t * K;
    for (let j = 0; j < r; j++) {
      const ao = j * K;
      let acc = 0;
      for (let k = 0; k < K; k++) acc += a12[ao + k] * x8[xo + k];
      u[t * r + j] = clamp(mulShr(acc, sx[t], 28), -4096, 4096);
    }
    for (let n = 0; n < N; n++) {
      let acc = 0;
      for (let j = 0; j < r; j++) acc += b10[n * r + j] * u[t * r + j];
      y[t * N + n] += rshr(acc, 2);
    }
  }
  return u;
}

/**
 * Backward: gB += Σ_t dy⊗u (Q24 units), gA += Σ_t (du·sx)⊗x8 (Q16 units), and the gradient
 * w.r.t. the normalized input added into dx (exact sum; the caller applies satG).
 */
export function loraBackward(
  a12: Int32Array, b10: Int32Array, x8: Int8Array, sx: Int32Array, u: Int32Array, dy: Int32Array,
  gA: Acc64, gB: Acc64, dx: Float64Array, T: number, N: number, K: number, r: number,
): void {
  const du = new Int32Array(r);
  for (let t = 0; t < T; t++) {
    const yo = t * N;
    const uo = t * r;
    for (let j = 0; j < r; j++) du[j] = 0;
    for (let n = 0; n < N; n++) {
      const g = dy[yo + n];
      if (g === 0) continue;
      const bo = n * r;
      for (let j = 0; j < r; j++) gB[bo + j] += g * u[uo + j];
    }
    for (let j = 0; j < r; j++) {
      let acc = 0;
      for (let n = 0; n < N; n++) acc += b10[n * r + j] * dy[yo + n];
      du[j] = satG(narrow(acc, 10));
    }
    const xo = t * K;
    for (let j = 0; j < r; j++) {
      const dux = mulShr(du[j], sx[t], 24);
      if (dux === 0) continue;
      const ao = j * K;
      for (let k = 0; k < K; k++) gA[ao + k] += dux * x8[xo + k];
    }
    for (let k = 0; k < K; k++) {
      let acc = 0;
      for (let j = 0; j < r; j++) acc += a12[j * K + k] * du[j];
      dx[xo + k] += narrow(acc, 12);
    }
  }
}
