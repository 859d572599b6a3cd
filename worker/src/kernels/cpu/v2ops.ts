// Ops that only SPEC v2 configs use (SPEC.md §4.10–4.12): the bf16 embedding lookup, the tied LM
// head (logits = E·x̂ with the embedding as the head), and the gated FFN product relu²(gate)⊙up.

import type { Bf16Block } from './bf16.ts';
import { clamp, mulShr, mulShrWide, narrow, satG, shiftRound } from './int.ts';

const H_MAX = 1073741824; // residual clamp 2^30

/** §4.10: h[t,k] = clamp(shiftRound(Eq[token_t, k], 16 − sE), ±2^30) (Q16). */
export function embedBf16(E: Bf16Block, D: number, tokens: ArrayLike<number>): Int32Array {
  const T = tokens.length;
  const h = new Int32Array(T * D);
  const e = 16 - E.shift;
  for (let t = 0; t < T; t++) {
    const o = tokens[t] * D;
    for (let k = 0; k < D; k++) h[t * D + k] = clamp(shiftRound(E.q[o + k], e), -H_MAX, H_MAX);
  }
  return h;
}

/**
 * §4.11 tied head: logits[t,v] = sat32(roundHalfAway(acc·sx_t / 2^(8 + sE))),
 * acc = Σ_k Eq[v,k]·x8[t,k] exact (|acc| < 2^15·127·8192 < 2^35: an acc64).
 */
export function tiedHead(E: Bf16Block, V: number, D: number, x8: Int8Array, sx: Int32Array, T: number): Int32Array {
  const y = new Int32Array(T * V);
  const s = 8 + E.shift;
  const q = E.q;
  let t = 0;
  // Four tokens per pass over the embedding (each row of Eq is loaded once per four tokens).
  for (; t + 4 <= T; t += 4) {
    const o0 = t * D, o1 = o0 + D, o2 = o1 + D, o3 = o2 + D;
    for (let v = 0; v < V; v++) {
      const eo = v * D;
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
      for (let k = 0; k < D; k++) {
        const e = q[eo + k];
        a0 += e * x8[o0 + k]; a1 += e * x8[o1 + k]; a2 += e * x8[o2 + k]; a3 += e * x8[o3 + k];
      }
      y[t * V + v] = mulShrWide(a0, sx[t], s);
      y[(t + 1) * V + v] = mulShrWide(a1, sx[t + 1], s);
      y[(t + 2) * V + v] = mulShrWide(a2, sx[t + 2], s);
      y[(t + 3) * V + v] = mulShrWide(a3, sx[t + 3], s);
    }
  }
  for (; t < T; t++) {
    const xo = t * D;
    const c = sx[t];
    for (let v = 0; v < V; v++) {
      const eo = v * D;
      let acc = 0;
      for (let k = 0; k < D; k++) acc += q[eo + k] * x8[xo + k];
      y[t * V + v] = mulShrWide(acc, c, s);
    }
  }
  return y;
}

/**
 * §4.11 backward: dx̂[t,k] = narrow(Σ_v Eq[v,k]·dy[t,v], sE) (Q16 grad w.r.t. the normalized
 * input, not clamped; |Σ| < 2^15·2^17·2^18 = 2^50, exact).
 */
export function tiedHeadBackward(E: Bf16Block, V: number, D: number, dy: Int32Array, T: number): Int32Array {
  const dx = new Int32Array(T * D);
  const q = E.q;
  // Four tokens per pass over the embedding; each accumulator element is an exact sum in a JS
  // number (|Σ| < 2^50).
  const a0 = new Float64Array(D), a1 = new Float64Array(D), a2 = new Float64Array(D), a3 = new Float64Array(D);
  let t = 0;
  for (; t + 4 <= T; t += 4) {
    a0.fill(0); a1.fill(0); a2.fill(0); a3.fill(0);
    for (let v = 0; v < V; v++) {
      const g0 = dy[t * V + v], g1 = dy[(t + 1) * V + v], g2 = dy[(t + 2) * V + v], g3 = dy[(t + 3) * V + v];
      if ((g0 | g1 | g2 | g3) === 0) continue;
      const eo = v * D;
      for (let k = 0; k < D; k++) {
        const e = q[eo + k];
        a0[k] += e * g0; a1[k] += e * g1; a2[k] += e * g2; a3[k] += e * g3;
      }
    }
    for (let k = 0; k < D; k++) {
      dx[t * D + k] = narrow(a0[k], E.shift);
      dx[(t + 1) * D + k] = narrow(a1[k], E.shift);
      dx[(t + 2) * D + k] = narrow(a2[k], E.shift);
      dx[(t + 3) * D + k] = narrow(a3[k], E.shift);
    }
  }
  for (; t < T; t++) {
    a0.fill(0);
    for (let v = 0; v < V; v++) {
      const g = dy[t * V + v];
      if (g === 0) continue;
      const eo = v * D;
      for (let k = 0; k < D; k++) a0[k] += q[eo + k] * g;
    }
    for (let k = 0; k < D; k++) dx[t * D + k] = narrow(a0[k], E.shift);
  }
  return dx;
}

/** §4.12: m = mulShr(a, u, 16) on the exact product (a = relu2(gate) Q16, u = up Q16), sat32. */
export function gatedMul(a: Int32Array, u: Int32Array): Int32Array {
  const m = new Int32Array(a.length);
  for (let i = 0; i < a.length; i++) m[i] = mulShrWide(a[i], u[i], 16);
  return m;
}

/** §4.12 backward (straight-through sat32): da = satG(mulShr(dm, u, 16)), du = satG(mulShr(dm, a, 16)). */
export function gatedMulBackward(a: Int32Array, u: Int32Array, dm: Int32Array): { da: Int32Array; du: Int32Array } {
  const da = new Int32Array(a.length);
  const du = new Int32Array(a.length);
  for (let i = 0; i < a.length; i++) {
    da[i] = satG(mulShr(dm[i], u[i], 16));
    du[i] = satG(mulShr(dm[i], a[i], 16));
  }
  return { da, du };
}
