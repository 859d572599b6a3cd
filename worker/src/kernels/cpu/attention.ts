// Causal multi-head attention on Q8 operands (SPEC.md §4.6). Scores are exact int32 dot
// products; probabilities Q15; the output is Q16. P is kept for the backward pass.

import { mulShr, narrow, rshr, satG } from './int.ts';
import { invSqrtQ16 } from './poly.ts';
import { softmaxRow, softmaxRowBackward } from './softmax.ts';

export interface AttentionOut {
  /** Q16 [T, H·dh] */
  o: Int32Array;
  /** Q15 [H, T, T], zero above the diagonal */
  p: Int32Array;
}

/**
 * qr (RoPE'd) Q8 [T, H·dh]; kr (RoPE'd), v8: Q8 [T, Hkv·dh]. Heads are contiguous column blocks;
 * query head h reads key/value head ⌊h / (H/Hkv)⌋ (grouped-query attention, SPEC v2 §4.6; Hkv = H
 * is v1's multi-head attention).
 */
export function attention(qr: Int32Array, kr: Int32Array, v8: Int32Array, T: number, H: number, dh: number, Hkv: number = H): AttentionOut {
  const D = H * dh;
  const Dkv = Hkv * dh;
  const group = H / Hkv;
  const isd = invSqrtQ16(dh);
  const o = new Int32Array(T * D);
  const p = new Int32Array(H * T * T);
  const z = new Int32Array(T);
  for (let h = 0; h < H; h++) {
    const ho = h * dh;
    const kvo = Math.floor(h / group) * dh;
    for (let t = 0; t < T; t++) {
      const qo = t * D + ho;
      for (let u = 0; u <= t; u++) {
        const ko = u * Dkv + kvo;
        let s = 0;
        for (let d = 0; d < dh; d++) s += qr[qo + d] * kr[ko + d];
        z[u] = mulShr(s, isd, 16);
      }
      const po = (h * T + t) * T;
      softmaxRow(z, 0, t + 1, p, po);
      for (let d = 0; d < dh; d++) {
        let acc = 0;
        for (let u = 0; u <= t; u++) acc += p[po + u] * v8[u * Dkv + kvo + d];
        o[qo + d] = rshr(acc, 7);
      }
    }
  }
  return { o, p };
}

export interface AttentionGrads {
  dq: Int32Array;
  dk: Int32Array;
  dv: Int32Array;
}

/**
 * do Q16 [T, H·dh] → gradients w.r.t. qr [T, H·dh], kr and v8 [T, Hkv·dh] (real values, Q16).
 * With GQA the dk/dv of a key/value head is one exact sum over its group's query heads, narrowed
 * and clamped once (a gradient join, SPEC v2 §4.6); group size 1 is v1.
 */
export function attentionBackward(
  dout: Int32Array, att: AttentionOut, qr: Int32Array, kr: Int32Array, v8: Int32Array,
  T: number, H: number, dh: number, Hkv: number = H,
): AttentionGrads {
  const D = H * dh;
  const Dkv = Hkv * dh;
  const group = H / Hkv;
  const isd = invSqrtQ16(dh);
  const dq = new Int32Array(T * D);
  const dk = new Int32Array(T * Dkv);
  const dv = new Int32Array(T * Dkv);
  // exact per-kv-head sums over the group ([T, dh]; |Σ| ≤ 8·2^47 < 2^53)
  const dkAcc = new Float64Array(T * dh);
  const dvAcc = new Float64Array(T * dh);
  const p = att.p;
  const dp = new Int32Array(T);
  const ds = new Int32Array(T * T);
  // Each output element is one exact dot product over positions, summed in a JS number (SPEC §2):
  // dv: |P·do| ≤ 2^15·2^20, dq/dk: |ds·k| ≤ 2^20·2^11 per term; T ≤ 4096 ⇒ |Σ| < 2^47 < 2^53.
  // The head's operands are copied position-minor ([dh, T]) so each dot product is contiguous.
  const doT = new Int32Array(dh * T);
  const qT = new Int32Array(dh * T);
  const kT = new Int32Array(dh * T);
  const col = new Int32Array(T);
  for (let h = 0; h < H; h++) {
    const ho = h * dh;
    const kvo = Math.floor(h / group) * dh;
    if (h % group === 0) {
      dkAcc.fill(0);
      dvAcc.fill(0);
    }
    for (let t = 0; t < T; t++) {
      const ro = t * D + ho;
      const ko = t * Dkv + kvo;
      for (let d = 0; d < dh; d++) {
        doT[d * T + t] = dout[ro + d];
        qT[d * T + t] = qr[ro + d];
        kT[d * T + t] = kr[ko + d];
      }
    }
    for (let u = 0; u < T; u++) {
      for (let t = u; t < T; t++) col[t] = p[(h * T + t) * T + u];
      for (let d = 0; d < dh; d++) {
        const o = d * T;
        let acc = 0;
        for (let t = u; t < T; t++) acc += col[t] * doT[o + t];
        dvAcc[u * dh + d] += acc;
      }
    }
    for (let t = 0; t < T; t++) {
      const go = t * D + ho;
      for (let u = 0; u <= t; u++) {
        const vo = u * Dkv + kvo;
        let s = 0;
        for (let d = 0; d < dh; d++) s += dout[go + d] * v8[vo + d];
        dp[u] = satG(narrow(s, 8));
      }
      const po = (h * T + t) * T;
      softmaxRowBackward(p, po, dp, 0, t + 1, ds, t * T);
      for (let u = 0; u <= t; u++) ds[t * T + u] = mulShr(ds[t * T + u], isd, 16);
    }
    for (let t = 0; t < T; t++) {
      const so = t * T;
      for (let d = 0; d < dh; d++) {
        const o = d * T;
        let acc = 0;
        for (let u = 0; u <= t; u++) acc += ds[so + u] * kT[o + u];
        dq[t * D + ho + d] = satG(narrow(acc, 8));
      }
    }
    for (let u = 0; u < T; u++) {
      for (let t = u; t < T; t++) col[t] = ds[t * T + u];
      for (let d = 0; d < dh; d++) {
        const o = d * T;
        let acc = 0;
        for (let t = u; t < T; t++) acc += col[t] * qT[o + t];
        dkAcc[u * dh + d] += acc;
      }
    }
    if (h % group === group - 1) {
      for (let u = 0; u < T; u++) {
        for (let d = 0; d < dh; d++) {
          dv[u * Dkv + kvo + d] = satG(narrow(dvAcc[u * dh + d], 15));
          dk[u * Dkv + kvo + d] = satG(narrow(dkAcc[u * dh + d], 8));
        }
      }
    }
  }
  return { dq, dk, dv };
}
