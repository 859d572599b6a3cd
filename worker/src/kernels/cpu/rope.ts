// RoPE from integer tables (SPEC.md §4.5): angles are u32 fractions of a turn, so position ×
// frequency wraps exactly mod 2^32 and sin/cos come from one fixed polynomial.

import { clamp, divr, narrow, rshr, satG } from './int.ts';
import { LOG2_10000_Q16, pow2neg, sinq, TURN_Q32 } from './poly.ts';

export interface RopeTable {
  /** Q14 [T, dh/2] */
  cos: Int32Array;
  /** Q14 [T, dh/2] */
  sin: Int32Array;
}

/** How a head's dims pair up: (2i, 2i+1) (v1) or (i, i + dh/2) (`rotate_half`, SPEC v2 §4.5). */
export type RopeLayout = 'adjacent' | 'half';

/**
 * log2(θ) in Q16 for an integer θ ≥ 2 (SPEC v2 §4.5): n = bitlen(θ) − 1; y = θ·2^(62−n) (Q62,
 * in [1, 2)); 17 times: y = ⌊y²/2^62⌋, and if y ≥ 2^63 the next fraction bit is 1 and y = ⌊y/2⌋;
 * result n·2^16 + ⌊(frac17 + 1)/2⌋. θ = 10000 gives LOG2_10000_Q16 = 870824.
 */
export function log2Q16(theta: number): number {
  if (!Number.isInteger(theta) || theta < 2 || theta >= 2 ** 31) throw new RangeError(`ropeTheta must be an integer in [2, 2^31), got ${theta}`);
  const n = 31 - Math.clz32(theta);
  let y = BigInt(theta) << BigInt(62 - n);
  let frac = 0;
  for (let i = 0; i < 17; i++) {
    y = (y * y) >> 62n;
    frac <<= 1;
    if (y >= 1n << 63n) {
      frac |= 1;
      y >>= 1n;
    }
  }
  return n * 65536 + ((frac + 1) >> 1);
}

/** Frequencies in Q32 turns per position, f_i for i ∈ [0, dh/2); θ^(−2i/dh), θ = 10000 by default. */
export function ropeFrequencies(dh: number, log2Theta: number = LOG2_10000_Q16): Int32Array {
  const f = new Int32Array(dh / 2);
  for (let i = 0; i < dh / 2; i++) {
    const e = divr(2 * i * log2Theta, dh);
    const k = Math.floor(e / 65536);
    f[i] = narrow(TURN_Q32 * pow2neg((e & 0xffff) >>> 1), 15 + k);
  }
  return f;
}

/** sin and cos (Q14) of a u32 angle in turns. */
export function sinCosTurns(phi: number): [number, number] {
  const qd = phi >>> 30;
  const x = (phi & 0x3fffffff) >>> 15;
  const s0 = sinq(x);
  const c0 = sinq(32768 - x);
  const [s, c] = qd === 0 ? [s0, c0] : qd === 1 ? [c0, -s0] : qd === 2 ? [-s0, -c0] : [-c0, s0];
  return [rshr(s, 1), rshr(c, 1)];
}

export function ropeTable(T: number, dh: number, log2Theta: number = LOG2_10000_Q16): RopeTable {
  const f = ropeFrequencies(dh, log2Theta);
  const half = dh / 2;
  const cos = new Int32Array(T * half);
  const sin = new Int32Array(T * half);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < half; i++) {
      const [s, c] = sinCosTurns(Math.imul(t, f[i]) >>> 0);
      sin[t * half + i] = s;
      cos[t * half + i] = c;
    }
  }
  return { cos, sin };
}

/** Rotate adjacent pairs of every head in place-free fashion. x Q8 [T, H·dh] → Q8. */
export function ropeApply(x: Int32Array, tab: RopeTable, T: number, H: number, dh: number, layout: RopeLayout = 'adjacent'): Int32Array {
  const out = new Int32Array(x.length);
  const half = dh / 2;
  const D = H * dh;
  const [step, off] = layout === 'adjacent' ? [2, 1] : [1, half];
  for (let t = 0; t < T; t++) {
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < half; i++) {
        const c = tab.cos[t * half + i];
        const s = tab.sin[t * half + i];
        const p = t * D + h * dh + step * i;
        const a = x[p];
        const b = x[p + off];
        out[p] = clamp(rshr(a * c - b * s, 14), -2047, 2047);
        out[p + off] = clamp(rshr(a * s + b * c, 14), -2047, 2047);
      }
    }
  }
  return out;
}

/** Transpose rotation on Q16 gradients. */
export function ropeBackward(g: Int32Array, tab: RopeTable, T: number, H: number, dh: number, layout: RopeLayout = 'adjacent'): Int32Array {
  const out = new Int32Array(g.length);
  const half = dh / 2;
  const D = H * dh;
  const [step, off] = layout === 'adjacent' ? [2, 1] : [1, half];
  for (let t = 0; t < T; t++) {
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < half; i++) {
        const c = tab.cos[t * half + i];
        const s = tab.sin[t * half + i];
        const p = t * D + h * dh + step * i;
        const ga = g[p];
        const gb = g[p + off];
        out[p] = satG(narrow(ga * c + gb * s, 14));
        out[p + off] = satG(narrow(gb * c - ga * s, 14));
      }
    }
  }
  return out;
}
