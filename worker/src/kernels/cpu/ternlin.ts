// ternlin: frozen ternary weight × int8 activation, int32 accumulation, per-token dequant
// (SPEC.md §4.2). The accumulation is adds and subtracts only; |acc| ≤ 127·K < 2^19.
// Tokens are processed four at a time so each weight index is loaded once per four tokens.
//
// `ternlin` and `ternlinBackward` run the WebAssembly SIMD kernel (../wasm/ternlin.ts, same
// integers, ~10–30× faster) when it loads, else the JS kernels `ternlinJs` and
// `ternlinBackwardJs` below, which are the readable reference:
// worker/test/cpu-ternlin-wasm.test.ts proves the two equal.

import { ternlinBackwardWasm, ternlinWasm } from '../wasm/ternlin.ts';
import { GRAD_MAX, mulShr, mulShrWide } from './int.ts';
import type { PackedTernary } from './ternary-pack.ts';

/** W [N,K] (packed), gamma Q16; x8 [T,K], sx Q24 [T] → y Q16 [T,N]. */
export function ternlin(w: PackedTernary, gamma: number, x8: Int8Array, sx: Int32Array, T: number): Int32Array {
  return ternlinWasm(w, gamma, x8, sx, T) ?? ternlinJs(w, gamma, x8, sx, T);
}

/** dx[t,k] = mulShr(Σ_n W[n,k]·dy[t,n], gamma, 16): grad w.r.t. the normalized input (not clamped). */
export function ternlinBackward(w: PackedTernary, gamma: number, dy: Int32Array, T: number): Int32Array {
  if (w.rows > TERNLIN_I32_ROWS) return ternlinBackwardWideJs(w, gamma, dy, T);
  return ternlinBackwardWasm(w, gamma, dy, T) ?? ternlinBackwardJs(w, gamma, dy, T);
}

/** Σ_n W[n,k]·dy[t,n] is an exact i32 for N ≤ 2048 (v1); beyond, an acc64 (SPEC v2 §4.2). */
export const TERNLIN_I32_ROWS = 2048;

/**
 * `ternlinBackward` for N > 2048 (SPEC v2): the same exact Σ, accumulated in a JS number
 * (|Σ| ≤ (2^20 − 1)·N < 2^36 for N ≤ 32768), then mulShr(Σ, γ, 16) on the exact product (< 2^57,
 * so through mulShrWide).
 */
export function ternlinBackwardWideJs(w: PackedTernary, gamma: number, dy: Int32Array, T: number): Int32Array {
  const { rows: N, cols: K, idx, start, mid } = w;
  const acc = new Float64Array(K);
  const dx = new Int32Array(T * K);
  for (let t = 0; t < T; t++) {
    acc.fill(0);
    for (let n = 0; n < N; n++) {
      const g = dy[t * N + n];
      if (g > GRAD_MAX || g < -GRAD_MAX) throw new RangeError('ternlinBackward: gradient out of range');
      if (g === 0) continue;
      const m = mid[n];
      const e = start[n + 1];
      for (let i = start[n]; i < m; i++) acc[idx[i]] += g;
      for (let i = m; i < e; i++) acc[idx[i]] -= g;
    }
    for (let k = 0; k < K; k++) dx[t * K + k] = mulShrWide(acc[k], gamma, 16);
  }
  return dx;
}

/** `ternlin` in plain JS (the reference). */
export function ternlinJs(w: PackedTernary, gamma: number, x8: Int8Array, sx: Int32Array, T: number): Int32Array {
  const { rows: N, cols: K, idx, start, mid } = w;
  const y = new Int32Array(T * N);
  let t = 0;
  for (; t + 4 <= T; t += 4) {
    const c0 = mulShr(sx[t], gamma, 16);
    const c1 = mulShr(sx[t + 1], gamma, 16);
    const c2 = mulShr(sx[t + 2], gamma, 16);
    const c3 = mulShr(sx[t + 3], gamma, 16);
    const o0 = t * K;
    const o1 = o0 + K;
    const o2 = o1 + K;
    const o3 = o2 + K;
    for (let n = 0; n < N; n++) {
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
      const m = mid[n];
      const e = start[n + 1];
      for (let i = start[n]; i < m; i++) {
        const k = idx[i];
        a0 += x8[o0 + k]; a1 += x8[o1 + k]; a2 += x8[o2 + k]; a3 += x8[o3 + k];
      }
      for (let i = m; i < e; i++) {
        const k = idx[i];
        a0 -= x8[o0 + k]; a1 -= x8[o1 + k]; a2 -= x8[o2 + k]; a3 -= x8[o3 + k];
      }
      y[t * N + n] = mulShr(a0, c0, 8);
      y[(t + 1) * N + n] = mulShr(a1, c1, 8);
      y[(t + 2) * N + n] = mulShr(a2, c2, 8);
      y[(t + 3) * N + n] = mulShr(a3, c3, 8);
    }
  }
  for (; t < T; t++) {
    const c = mulShr(sx[t], gamma, 16);
    const xo = t * K;
    for (let n = 0; n < N; n++) {
      let acc = 0;
      const m = mid[n];
      const e = start[n + 1];
      for (let i = start[n]; i < m; i++) acc += x8[xo + idx[i]];
      for (let i = m; i < e; i++) acc -= x8[xo + idx[i]];
      y[t * N + n] = mulShr(acc, c, 8);
    }
  }
  return y;
}

/** `ternlinBackward` in plain JS (the reference). */
export function ternlinBackwardJs(w: PackedTernary, gamma: number, dy: Int32Array, T: number): Int32Array {
  const { rows: N, cols: K, idx, start, mid } = w;
  for (let i = 0; i < T * N; i++) {
    if (dy[i] > GRAD_MAX || dy[i] < -GRAD_MAX) throw new RangeError('ternlinBackward: gradient out of range');
  }
  // |Σ| ≤ (2^20 − 1)·N < 2^31 for N ≤ 2048: the int32 accumulation is exact. The four
  // accumulator rows are the four token rows of dx itself.
  const dx = new Int32Array(T * K);
  let t = 0;
  for (; t + 4 <= T; t += 4) {
    const o0 = t * K;
    const o1 = o0 + K;
    const o2 = o1 + K;
    const o3 = o2 + K;
    for (let n = 0; n < N; n++) {
      const g0 = dy[t * N + n];
      const g1 = dy[(t + 1) * N + n];
      const g2 = dy[(t + 2) * N + n];
      const g3 = dy[(t + 3) * N + n];
      if ((g0 | g1 | g2 | g3) === 0) continue;
      const m = mid[n];
      const e = start[n + 1];
      for (let i = start[n]; i < m; i++) {
        const k = idx[i];
        dx[o0 + k] += g0; dx[o1 + k] += g1; dx[o2 + k] += g2; dx[o3 + k] += g3;
      }
      for (let i = m; i < e; i++) {
        const k = idx[i];
        dx[o0 + k] -= g0; dx[o1 + k] -= g1; dx[o2 + k] -= g2; dx[o3 + k] -= g3;
      }
    }
  }
  for (; t < T; t++) {
    const o = t * K;
    for (let n = 0; n < N; n++) {
      const g = dy[t * N + n];
      if (g === 0) continue;
      const m = mid[n];
      const e = start[n + 1];
      for (let i = start[n]; i < m; i++) dx[o + idx[i]] += g;
      for (let i = m; i < e; i++) dx[o + idx[i]] -= g;
    }
  }
  for (let i = 0; i < T * K; i++) dx[i] = mulShr(dx[i], gamma, 16);
  return dx;
}
