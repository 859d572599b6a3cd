// LoRA adapter beside a ternary projection (SPEC.md §4.3): y += B·A·x on the same int8 input.
// A and B are Q16 masters; the forward uses narrower copies (A12, B10) so every forward dot
// product stays inside int32.

import { clamp, fired, mulDivRound, mulShr, mulShrWide, narrow, rshr, satG } from './int.ts';

/**
 * The spec's acc64 (SPEC §1, §2.1): exact signed 64-bit sums, one int64 per element. Kernels add a
 * per-call partial sum into each element once (computed in a JS number, exact below 2^53, SPEC
 * §2); within the SPEC §8 bounds an element stays below 2^52, far from the int64 limit of 2^63.
 */
export type Acc64 = BigInt64Array;

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
  T: number, N: number, K: number, r: number, alpha: number = r,
): Int32Array {
  // SPEC v2 §4.3: the adapter's output is scaled by alpha/r, y += roundHalfAway(S·alpha / (4r)),
  // S = Σ_j B10·u; alpha = r is v1's rshr(S, 2) exactly. uacc is exact in a JS number (|uacc| ≤
  // 2^12·127·K < 2^34 for K ≤ 32768) and its product with sx goes through mulShrWide.
  const u = new Int32Array(T * r);
  const plain = alpha === r;
  const div = 4 * r;
  for (let t = 0; t < T; t++) {
    const xo = t * K;
    for (let j = 0; j < r; j++) {
      const ao = j * K;
      let acc = 0;
      for (let k = 0; k < K; k++) acc += a12[ao + k] * x8[xo + k];
      const uq = mulShrWide(acc, sx[t], 28);
      if (uq > 4096 || uq < -4096) fired.loraU++;
      u[t * r + j] = clamp(uq, -4096, 4096);
    }
    for (let n = 0; n < N; n++) {
      let acc = 0;
      for (let j = 0; j < r; j++) acc += b10[n * r + j] * u[t * r + j];
      y[t * N + n] += plain ? rshr(acc, 2) : mulDivRound(acc, alpha, div); // int32 store: wraps, as in v1 (SPEC §4.3)
    }
  }
  return u;
}

/**
 * Backward: gB += Σ_t dy⊗u (Q24 units), gA += Σ_t (du·sx)⊗x8 (Q16 units), and dxl = the LoRA term
 * of the gradient w.r.t. the normalized input, dxl[t,k] = narrow(Σ_j A12[j,k]·du[t,j], 12), written
 * (not added): the caller sums it exactly with the ternary term before satG (SPEC §4.3, §5).
 *
 * Each gradient element gets one exact partial sum over this call's T tokens, computed in a JS
 * number and added into the int64 accumulator once. Bounds (SPEC §1, §4.3, §5: T ≤ 4096):
 *   gB: |dy·u| ≤ (2^20−1)·2^12 < 2^32 per token ⇒ |Σ_t| < 2^44;
 *   gA: |dux| = |mulShr(du, sx, 24)| ≤ 2^20·2^23/2^24 = 2^19, |x8| ≤ 127 ⇒ < 2^26 per token ⇒ |Σ_t| < 2^38;
 * both < 2^53, so every partial sum is exact.
 */
export function loraBackward(
  a12: Int32Array, b10: Int32Array, x8: Int8Array, sx: Int32Array, u: Int32Array, dy: Int32Array,
  gA: Acc64, gB: Acc64, dxl: Int32Array, T: number, N: number, K: number, r: number, alpha: number = r,
): void {
  // SPEC v2 §4.3: du carries the alpha/r factor, du = satG(roundHalfAway(Σ_n B10·dy·alpha / (2^10·r)))
  // (alpha = r: v1's narrow(Σ, 10)); gB does not (a positive per-tensor factor signum ignores).
  const plain = alpha === r;
  const div = 1024 * r;
  // Token-minor copies so every partial sum below is one contiguous dot product over t.
  const dyT = new Int32Array(N * T);
  const uT = new Int32Array(r * T);
  const duxT = new Int32Array(r * T);
  const x8T = new Int8Array(K * T);
  const du = new Int32Array(T * r);
  for (let t = 0; t < T; t++) {
    const yo = t * N;
    const uo = t * r;
    const xo = t * K;
    for (let n = 0; n < N; n++) dyT[n * T + t] = dy[yo + n];
    for (let k = 0; k < K; k++) x8T[k * T + t] = x8[xo + k];
    for (let j = 0; j < r; j++) {
      uT[j * T + t] = u[uo + j];
      let acc = 0; // |Σ_n B10·dy| ≤ N·2^10·2^20 ≤ 2^45 (N ≤ 32768)
      for (let n = 0; n < N; n++) acc += b10[n * r + j] * dy[yo + n];
      const d = satG(plain ? narrow(acc, 10) : mulDivRound(acc, alpha, div));
      du[uo + j] = d;
      duxT[j * T + t] = mulShr(d, sx[t], 24);
    }
  }
  for (let n = 0; n < N; n++) {
    const dyo = n * T;
    for (let j = 0; j < r; j++) {
      const uo = j * T;
      let s = 0;
      for (let t = 0; t < T; t++) s += dyT[dyo + t] * uT[uo + t];
      if (s !== 0) gB[n * r + j] += BigInt(s);
    }
  }
  for (let j = 0; j < r; j++) {
    const dxo = j * T;
    for (let k = 0; k < K; k++) {
      const xo = k * T;
      let s = 0;
      for (let t = 0; t < T; t++) s += duxT[dxo + t] * x8T[xo + t];
      if (s !== 0) gA[j * K + k] += BigInt(s);
    }
  }
  for (let t = 0; t < T; t++) {
    const uo = t * r;
    const xo = t * K;
    for (let k = 0; k < K; k++) {
      let acc = 0; // |Σ_j A12·du| ≤ 64·2^12·2^20 = 2^38
      for (let j = 0; j < r; j++) acc += a12[j * K + k] * du[uo + j];
      dxl[xo + k] = narrow(acc, 12);
    }
  }
}
