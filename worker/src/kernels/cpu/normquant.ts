// normquant: RMSNorm (no gain) fused with per-token int8 absmax quantization (SPEC.md §4.1).
// The norm only sets the dequantization scale sx: quantizing v/rms by its absmax gives the same
// int8 row as quantizing v, so the division by rms happens once per token, not per element.

import { bitlen, divr, isqrt, mulShr, satG } from './int.ts';

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

/** Largest row length: ss = Σ m10² < 2^20·K fits u32 only for K ≤ 4096 (SPEC §4.1 step 4). */
export const NORMQUANT_MAX_K = 4096;

/** v int32 [T,K] → NormQuant. K ≤ 4096 (RangeError otherwise, as on WebGPU). */
export function normquant(v: Int32Array, T: number, K: number): NormQuant {
  if (K > NORMQUANT_MAX_K) throw new RangeError(`normquant: K = ${K} > ${NORMQUANT_MAX_K} (SPEC §4.1: Σ m10² must fit u32)`);
  const x8 = new Int8Array(T * K);
  const sx = new Int32Array(T);
  const rinv = new Int32Array(T);
  const z = new Int32Array(T).fill(1);
  for (let t = 0; t < T; t++) {
    const row = t * K;
    let amax = 0;
    for (let k = 0; k < K; k++) {
      const a = Math.abs(v[row + k]);
      if (a > amax) amax = a;
    }
    if (amax === 0) continue;
    const zt = bitlen(amax);
    // Bring the row to 16-bit magnitudes: truncating right shift or exact left shift.
    const down = zt > 16 ? zt - 16 : 0;
    const upMul = zt < 16 ? 1 << (16 - zt) : 1;
    const amax16 = down > 0 ? amax >>> down : amax * upMul;
    const recip = divr(127 * 8388608, amax16);
    let ss = 0;
    for (let k = 0; k < K; k++) {
      const val = v[row + k];
      const a = Math.abs(val);
      const m16 = down > 0 ? a >>> down : a * upMul;
      const q = (m16 * recip + 4194304) >>> 23;
      x8[row + k] = val < 0 ? -(q > 127 ? 127 : q) : q > 127 ? 127 : q;
      const m10 = m16 >>> 6;
      ss += m10 * m10;
    }
    // ss < 2^32 for K ≤ 4096; ms8 = ⌊256·ss/K⌋ without a 40-bit intermediate.
    const q = Math.floor(ss / K);
    const ms8 = q * 256 + Math.floor(((ss - q * K) * 256) / K);
    const rms4 = isqrt(ms8);
    const an = divr((amax16 >>> 6) * 1048576, rms4);
    sx[t] = divr(an * 256, 127);
    rinv[t] = divr(1073741824, rms4);
    z[t] = zt;
  }
  return { x8, sx, rinv, z };
}

/** Straight-through backward with rms held constant: dv = satG(mulShr(dxn, rinv, z)). */
export function normquantBackward(dxn: Int32Array, nq: NormQuant, T: number, K: number): Int32Array {
  const dv = new Int32Array(T * K);
  for (let t = 0; t < T; t++) {
    const r = nq.rinv[t];
    if (r === 0) continue;
    const s = nq.z[t];
    for (let k = t * K, end = k + K; k < end; k++) dv[k] = satG(mulShr(dxn[k], r, s));
  }
  return dv;
}
