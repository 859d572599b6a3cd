// normquant: RMSNorm fused with per-token int8 absmax quantization (SPEC.md §4.1; learned gains:
// §4.1g, v2). The norm only sets the dequantization scale sx: quantizing v/rms by its absmax gives
// the same int8 row as quantizing v, so the division by rms happens once per token, not per
// element. With a gain g the quantized row is g⊙v (taken on v's 16-bit mantissas), the rms is v's.

import type { Bf16Block } from './bf16.ts';
import { bitlen, divr, divrWide, isqrt, mulShr, mulShrWide, sat32, satG, shiftRound } from './int.ts';

export interface NormQuant {
  /** int8 [T,K] */
  x8: Int8Array;
  /** Q24 real value of one x8 unit, per token [T] */
  sx: Int32Array;
  /** divr(2^30, rms4) per token, for the backward pass */
  rinv: Int32Array;
  /** bitlen(max|v|) per token: the backward shift */
  z: Int32Array;
}

/**
 * Largest row length. v1 configs stay ≤ 4096 (Σ m10² < 2^32: u32 on every backend); SPEC v2
 * allows K ≤ 32768 with Σ m10² an exact acc64 (< 2^35), which the CPU sums in a JS number.
 */
export const NORMQUANT_MAX_K = 32768;

/** 16-bit mantissa of a magnitude with bitlen z (truncating right shift or exact left shift). */
function m16Of(a: number, z: number): number {
  return z > 16 ? a >>> (z - 16) : a * (1 << (16 - z));
}

/** int8 absmax quantization of one row of signed values w (|w| < 2^31) into x8 (§4.1 steps 2–3). */
function quantRow(w: ArrayLike<number>, wo: number, K: number, amax: number, x8: Int8Array, row: number): number {
  const zw = bitlen(amax);
  const amax16 = m16Of(amax, zw);
  const recip = divr(127 * 8388608, amax16);
  for (let k = 0; k < K; k++) {
    const val = w[wo + k];
    const q = (m16Of(Math.abs(val), zw) * recip + 4194304) >>> 23;
    x8[row + k] = val < 0 ? -(q > 127 ? 127 : q) : q > 127 ? 127 : q;
  }
  return amax16;
}

/** v int32 [T,K] → NormQuant; `gain` (v2) multiplies the normalized row elementwise. */
export function normquant(v: Int32Array, T: number, K: number, gain?: Bf16Block): NormQuant {
  if (K > NORMQUANT_MAX_K) throw new RangeError(`normquant: K = ${K} > ${NORMQUANT_MAX_K} (SPEC §8)`);
  if (gain && gain.q.length !== K) throw new RangeError(`normquant: gain has ${gain.q.length} entries, row has ${K}`);
  const x8 = new Int8Array(T * K);
  const sx = new Int32Array(T);
  const rinv = new Int32Array(T);
  const z = new Int32Array(T).fill(1);
  const w = gain ? new Int32Array(K) : null;
  for (let t = 0; t < T; t++) {
    const row = t * K;
    let amax = 0;
    for (let k = 0; k < K; k++) {
      const a = Math.abs(v[row + k]);
      if (a > amax) amax = a;
    }
    if (amax === 0) continue;
    const zt = bitlen(amax);
    // ss = Σ m10² (exact; < 2^32 for K ≤ 4096, an acc64 beyond). ms8 = ⌊256·ss/K⌋.
    let ss = 0;
    for (let k = 0; k < K; k++) {
      const m10 = m16Of(Math.abs(v[row + k]), zt) >>> 6;
      ss += m10 * m10;
    }
    const q = Math.floor(ss / K);
    const ms8 = q * 256 + Math.floor(((ss - q * K) * 256) / K);
    const rms4 = isqrt(ms8);
    let an: number;
    if (!w || !gain) {
      const amax16 = quantRow(v, row, K, amax, x8, row);
      an = divr((amax16 >>> 6) * 1048576, rms4);
      sx[t] = divr(an * 256, 127);
    } else {
      // §4.1g: w_k = s16_k·g_k (|w| < 2^31), quantized by its own absmax; the ratio max|g⊙v|/rms
      // in Q16 is shiftRound(divr(aw10·2^20, rms4), zw − 16 − shift_g).
      let amaxW = 0;
      for (let k = 0; k < K; k++) {
        const val = v[row + k];
        const s16 = m16Of(Math.abs(val), zt);
        const wk = (val < 0 ? -s16 : s16) * gain.q[k];
        w[k] = wk;
        if (Math.abs(wk) > amaxW) amaxW = Math.abs(wk);
      }
      if (amaxW === 0) continue; // every nonzero v meets a zero gain: a zero row, rinv 0
      const aw16 = quantRow(w, 0, K, amaxW, x8, row);
      an = shiftRound(divr((aw16 >>> 6) * 1048576, rms4), bitlen(amaxW) - 16 - gain.shift);
      const s = divrWide(an * 256, 127);
      sx[t] = s > 2147483647 ? 2147483647 : s;
    }
    rinv[t] = divr(1073741824, rms4);
    z[t] = zt;
  }
  return { x8, sx, rinv, z };
}

/**
 * Full RMSNorm backward, straight through the int8 quantizer (SPEC §4.1 "Backward", §4.1g): the
 * gradient w.r.t. v of x̂ = g⊙v/rms(v) is dv = (dn − n·mean(dn·n)) / rms with n = v/rms and
 * dn = g⊙dxn, i.e. dn with its component along v removed (RMSNorm is scale-invariant), then
 * scaled by 1/rms. Per row, in integers:
 *   nh_k = sign(v_k)·rshr(m16_k·rinv, 16)          (Q16 of n_k)
 *   dn_k = dxn_k, or mulShr(dxn_k, g_k, sG)        (Q16)
 *   c = Σ_k dn_k·nh_k,  s2 = Σ_k nh_k²             (exact; c < 2^52 without gains, wide with them)
 *   e = bitlen(s2) − 16,  d = ⌊s2 / 2^e⌋ ∈ [2^15, 2^16)
 *   μ = sign(c)·⌊(|c| + d·2^(e−17)) / (d·2^(e−16))⌋  (= roundHalfAway(c·2^16 / (d·2^e)), Q16)
 *   t_k = sat32(dn_k − mulShr(nh_k, μ, 16));  dv_k = satG(mulShr(t_k, rinv, z)).
 * Dividing by Σ nh² (not K·2^32) makes the projection exact whatever the rounding of rms: the
 * radial part of dn is removed to 2^−15, not to the ~10^−3 of the 10-bit rms.
 * `v` is the row the forward normalized (its m16 mantissas and signs); rinv = 0 gives a zero row.
 */
export function normquantBackward(dxn: Int32Array, v: Int32Array, nq: NormQuant, T: number, K: number, gain?: Bf16Block): Int32Array {
  const dv = new Int32Array(T * K);
  const nh = new Float64Array(K);
  const dn = new Float64Array(K);
  for (let t = 0; t < T; t++) {
    const r = nq.rinv[t];
    if (r === 0) continue;
    const s = nq.z[t];
    const row = t * K;
    let maxDn = 0;
    let sumNh = 0;
    let s2 = 0; // Σ nh² < 2^48 (SPEC §8): exact in a JS number
    for (let k = 0; k < K; k++) {
      const val = v[row + k];
      const m = m16Of(Math.abs(val), s);
      const h = Math.floor((m * r + 32768) / 65536); // exact: m·r < 2^39
      nh[k] = val < 0 ? -h : h;
      sumNh += h;
      s2 += h * h;
      const d = gain ? mulShr(dxn[row + k], gain.q[k], gain.shift) : dxn[row + k];
      dn[k] = d;
      if (Math.abs(d) > maxDn) maxDn = Math.abs(d);
    }
    // d = ⌊s2 / 2^e⌋ with 16 bits; s2 ≥ 2^32 (the largest |nh| is ≥ 2^16), so e ≥ 17
    let d = s2;
    let e = 0;
    while (d >= 65536) {
      d = Math.floor(d / 2);
      e++;
    }
    let mu: number;
    if (maxDn * sumNh < 2 ** 52) {
      let c = 0;
      for (let k = 0; k < K; k++) c += dn[k] * nh[k];
      // ⌊(|c| + d·2^(e−17)) / 2^(e−16)⌋ (exact: a power-of-two division), then ⌊· / d⌋ fixed up
      const a = Math.floor((Math.abs(c) + d * 2 ** (e - 17)) / 2 ** (e - 16));
      let q = Math.floor(a / d);
      if (q * d > a) q--;
      else if ((q + 1) * d <= a) q++;
      mu = c < 0 ? -q : q;
    } else {
      let c = 0n;
      for (let k = 0; k < K; k++) c += BigInt(dn[k]) * BigInt(nh[k]);
      const a = ((c < 0n ? -c : c) + (BigInt(d) << BigInt(e - 17))) >> BigInt(e - 16);
      const q = Number(a / BigInt(d));
      mu = c < 0n ? -q : q;
    }
    for (let k = 0; k < K; k++) {
      const tk = sat32(dn[k] - mulShr(nh[k], mu, 16));
      dv[row + k] = satG(mulShrWide(tk, r, s));
    }
  }
  return dv;
}
