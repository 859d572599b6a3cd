// A float64 reference forward of BitNetForCausalLM (README "Float reference"), for measuring
// how closely the integer model follows the float model a checkpoint came from.
//
// FLOATS ARE FINE HERE: this file is a test and benchmark reference only. Nothing it computes is
// hashed, signed, sent to the chain or compared bit for bit; consensus never runs it.
//
// The architecture, as transformers' BitNet model with its BitLinear layers runs it (in float64
// here rather than bf16):
//   x = embed[token]
//   per layer:  h = RMSNorm(x; input_layernorm)
//               q, k, v = BitLinear(h)                (GQA: query head j reads key/value head ⌊j / (H/KV)⌋)
//               q, k = RoPE(q, k)                     (rotate_half: pairs (i, i + d/2), θ^(−2i/d))
//               a = softmax(q·kᵀ / √d, causal) · v
//               x = x + BitLinear_o(RMSNorm(a; attn_sub_norm))
//               h = RMSNorm(x; post_attention_layernorm)
//               x = x + BitLinear_down(RMSNorm(relu(gate(h))² ⊙ up(h); ffn_sub_norm))
//   logits = RMSNorm(x; norm) · embedᵀ               (tied head: a plain bf16 linear, not BitLinear)
//   RMSNorm(x; g) = x / √(mean(x²) + ε) ⊙ g
//   BitLinear(x) = (W_ternary · Q(x)) · weight_scale / s,  s = 127 / max(max|x|, 1e-5),
//                  Q(x) = clamp(round_half_even(x · s), −128, 127)   (per token)

import { bf16ToNumber } from './bf16.ts';
import type { BitNetArchitecture } from './config.ts';
import type { LayerWeights, LoadedModel, Projection, TernaryWeight } from './loader.ts';

export interface FloatLinear {
  rows: number;
  cols: number;
  values: Int8Array;
  scale: number;
}

export interface FloatLayer {
  proj: Record<Projection, FloatLinear>;
  inputNorm: Float64Array;
  postAttentionNorm: Float64Array;
  attnSubNorm: Float64Array;
  ffnSubNorm: Float64Array;
}

export interface FloatModel {
  arch: BitNetArchitecture;
  embedding: Float64Array;
  layers: FloatLayer[];
  finalNorm: Float64Array;
  lmHead: Float64Array;
}

export function bf16Array(bits: Uint16Array): Float64Array {
  const out = new Float64Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = bf16ToNumber(bits[i]);
  return out;
}

const linear = (w: TernaryWeight): FloatLinear => ({ rows: w.rows, cols: w.cols, values: w.values, scale: bf16ToNumber(w.scaleBits) });

export function toFloatModel(m: LoadedModel): FloatModel {
  const embedding = bf16Array(m.embedding);
  return {
    arch: m.arch,
    embedding,
    layers: m.layers.map((l: LayerWeights) => ({
      proj: { q: linear(l.q), k: linear(l.k), v: linear(l.v), o: linear(l.o), gate: linear(l.gate), up: linear(l.up), down: linear(l.down) },
      inputNorm: bf16Array(l.inputNorm),
      postAttentionNorm: bf16Array(l.postAttentionNorm),
      attnSubNorm: bf16Array(l.attnSubNorm),
      ffnSubNorm: bf16Array(l.ffnSubNorm),
    })),
    finalNorm: bf16Array(m.finalNorm),
    lmHead: m.lmHead === m.embedding ? embedding : bf16Array(m.lmHead),
  };
}

/** Round to nearest, ties to even (torch.round). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x); // ties toward +∞
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export function rmsNorm(x: Float64Array, gain: Float64Array, eps: number): Float64Array {
  let ss = 0;
  for (let i = 0; i < x.length; i++) ss += x[i] * x[i];
  const inv = 1 / Math.sqrt(ss / x.length + eps);
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i] * inv * gain[i];
  return out;
}

/** Per-token absmax int8 quantization: the integers and the scale s (x ≈ q / s). */
export function quantizeActivations(x: Float64Array): { q: Float64Array; s: number } {
  let max = 0;
  for (let i = 0; i < x.length; i++) max = Math.max(max, Math.abs(x[i]));
  const s = 127 / Math.max(max, 1e-5);
  const q = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) q[i] = Math.min(127, Math.max(-128, roundHalfEven(x[i] * s)));
  return { q, s };
}

export function bitLinear(x: Float64Array, w: FloatLinear): Float64Array {
  if (x.length !== w.cols) throw new RangeError(`bitLinear: input ${x.length}, weight has ${w.cols} columns`);
  const { q, s } = quantizeActivations(x);
  const out = new Float64Array(w.rows);
  const f = w.scale / s;
  for (let r = 0; r < w.rows; r++) {
    let acc = 0;
    const base = r * w.cols;
    for (let c = 0; c < w.cols; c++) {
      const t = w.values[base + c];
      if (t !== 0) acc += t * q[c];
    }
    out[r] = acc * f;
  }
  return out;
}

/** RoPE in the rotate_half layout on `heads` consecutive vectors of `headDim` in `x`, at position `pos` (in place). */
export function applyRope(x: Float64Array, heads: number, headDim: number, pos: number, theta: number): void {
  const half = headDim / 2;
  for (let i = 0; i < half; i++) {
    const angle = pos * Math.pow(theta, (-2 * i) / headDim);
    const c = Math.cos(angle);
    const s = Math.sin(angle);
    for (let h = 0; h < heads; h++) {
      const a = h * headDim + i;
      const b = a + half;
      const xa = x[a];
      const xb = x[b];
      x[a] = xa * c - xb * s;
      x[b] = xb * c + xa * s;
    }
  }
}

/** Logits [T][vocab] for one sequence of token ids (positions 0..T−1). */
export function forwardFloat(m: FloatModel, tokens: readonly number[]): Float64Array[] {
  const a = m.arch;
  const D = a.hiddenSize;
  const hd = a.headDim;
  const H = a.numHeads;
  const KV = a.numKvHeads;
  const group = H / KV;
  const T = tokens.length;
  const eps = a.rmsNormEps;
  let xs: Float64Array[] = tokens.map((t) => {
    if (!Number.isInteger(t) || t < 0 || t >= a.vocabSize) throw new RangeError(`token ${t} outside the vocabulary 0..${a.vocabSize - 1}`);
    return m.embedding.slice(t * D, (t + 1) * D);
  });
  const scaleQK = 1 / Math.sqrt(hd);
  for (const layer of m.layers) {
    const qs: Float64Array[] = [];
    const ks: Float64Array[] = [];
    const vs: Float64Array[] = [];
    for (let t = 0; t < T; t++) {
      const h = rmsNorm(xs[t], layer.inputNorm, eps);
      const q = bitLinear(h, layer.proj.q);
      const k = bitLinear(h, layer.proj.k);
      applyRope(q, H, hd, t, a.ropeTheta);
      applyRope(k, KV, hd, t, a.ropeTheta);
      qs.push(q);
      ks.push(k);
      vs.push(bitLinear(h, layer.proj.v));
    }
    const next: Float64Array[] = [];
    for (let t = 0; t < T; t++) {
      const attn = new Float64Array(H * hd);
      for (let head = 0; head < H; head++) {
        const kvHead = Math.floor(head / group);
        const scores = new Float64Array(t + 1);
        let max = -Infinity;
        for (let u = 0; u <= t; u++) {
          let dot = 0;
          for (let i = 0; i < hd; i++) dot += qs[t][head * hd + i] * ks[u][kvHead * hd + i];
          scores[u] = dot * scaleQK;
          max = Math.max(max, scores[u]);
        }
        let sum = 0;
        for (let u = 0; u <= t; u++) {
          scores[u] = Math.exp(scores[u] - max);
          sum += scores[u];
        }
        for (let u = 0; u <= t; u++) {
          const p = scores[u] / sum;
          for (let i = 0; i < hd; i++) attn[head * hd + i] += p * vs[u][kvHead * hd + i];
        }
      }
      const o = bitLinear(rmsNorm(attn, layer.attnSubNorm, eps), layer.proj.o);
      const x = new Float64Array(D);
      for (let i = 0; i < D; i++) x[i] = xs[t][i] + o[i];
      const h = rmsNorm(x, layer.postAttentionNorm, eps);
      const g = bitLinear(h, layer.proj.gate);
      const u = bitLinear(h, layer.proj.up);
      for (let i = 0; i < g.length; i++) {
        const r = g[i] > 0 ? g[i] : 0;
        g[i] = r * r * u[i];
      }
      const d = bitLinear(rmsNorm(g, layer.ffnSubNorm, eps), layer.proj.down);
      for (let i = 0; i < D; i++) x[i] += d[i];
      next.push(x);
    }
    xs = next;
  }
  return xs.map((x) => {
    const h = rmsNorm(x, m.finalNorm, eps);
    const logits = new Float64Array(a.vocabSize);
    for (let v = 0; v < a.vocabSize; v++) {
      let acc = 0;
      const base = v * D;
      for (let i = 0; i < D; i++) acc += h[i] * m.lmHead[base + i];
      logits[v] = acc;
    }
    return logits;
  });
}

/** log softmax of one row of logits. */
export function logSoftmax(logits: Float64Array): Float64Array {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  let sum = 0;
  for (const v of logits) sum += Math.exp(v - max);
  const lse = max + Math.log(sum);
  return logits.map((v) => v - lse);
}

/** KL(p ‖ q) in nats from two rows of logits (p: the reference). */
export function klDivergence(reference: Float64Array, other: Float64Array): number {
  const lp = logSoftmax(reference);
  const lq = logSoftmax(other);
  let kl = 0;
  for (let i = 0; i < lp.length; i++) kl += Math.exp(lp[i]) * (lp[i] - lq[i]);
  return kl;
}

export function argmax(row: Float64Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

export interface FidelityReport {
  /** Positions compared (each predicts the next token). */
  positions: number;
  /** Share of positions whose argmax agrees. */
  top1Agreement: number;
  /** Mean KL(reference ‖ other) in nats per position. */
  meanKl: number;
  /** exp(mean negative log-likelihood of the actual next tokens), of each model. */
  perplexityReference: number;
  perplexityOther: number;
}

/**
 * Compares two models' logits on one sequence: position t (0 ≤ t < T−1) predicts tokens[t+1];
 * the last position has no next token and is left out.
 */
export function compareLogits(reference: readonly Float64Array[], other: readonly Float64Array[], tokens: readonly number[]): FidelityReport {
  if (reference.length !== tokens.length || other.length !== tokens.length) throw new RangeError('compareLogits: one row of logits per token');
  let agree = 0;
  let kl = 0;
  let nllRef = 0;
  let nllOther = 0;
  const n = tokens.length - 1;
  for (let t = 0; t < n; t++) {
    if (argmax(reference[t]) === argmax(other[t])) agree++;
    kl += klDivergence(reference[t], other[t]);
    nllRef -= logSoftmax(reference[t])[tokens[t + 1]];
    nllOther -= logSoftmax(other[t])[tokens[t + 1]];
  }
  return {
    positions: n,
    top1Agreement: n > 0 ? agree / n : 1,
    meanKl: n > 0 ? kl / n : 0,
    perplexityReference: Math.exp(n > 0 ? nllRef / n : 0),
    perplexityOther: Math.exp(n > 0 ? nllOther / n : 0),
  };
}
