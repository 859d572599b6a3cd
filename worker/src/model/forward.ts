// Forward pass of one sequence through the BitNet b1.58 decoder with LoRA beside the targeted
// projections (SPEC.md §5; v2 family §5.2). Everything the backward pass needs is kept in the
// returned cache. A v1 config runs exactly the v1 ops: every v2 branch below is off for it.

import { attention, type AttentionOut } from '../kernels/cpu/attention.ts';
import { clamp, fired } from '../kernels/cpu/int.ts';
import { loraA12, loraB10, loraForward } from '../kernels/cpu/lora.ts';
import { type NormQuant, normquant } from '../kernels/cpu/normquant.ts';
import { relu2 } from '../kernels/cpu/relu2.ts';
import { log2Q16, ropeApply, type RopeTable, ropeTable } from '../kernels/cpu/rope.ts';
import { ternlin } from '../kernels/cpu/ternlin.ts';
import { toq8 } from '../kernels/cpu/toq8.ts';
import { embedBf16, gatedMul, tiedHead } from '../kernels/cpu/v2ops.ts';
import { type AdapterState, type LoraLayer, presentTargets } from './adapter.ts';
import type { Backbone, TernaryTensor } from './backbone.ts';
import { headDim, kvHeads, type LoraTarget, loraAlpha, loraDims, ropeTheta } from './config.ts';

const H_MAX = 1073741824; // residual clamp 2^30

/** Forward copies of one layer's adapters (A12, B10), computed once per step. */
export type LayerLoraQ = LoraLayer<{ a12: Int32Array; b10: Int32Array }>;

export function quantizeAdapter(state: AdapterState): LayerLoraQ[] {
  return state.params.map((rec) => {
    const out: Partial<Record<LoraTarget, { a12: Int32Array; b10: Int32Array }>> = {};
    for (const p of presentTargets(rec)) out[p] = { a12: loraA12(rec[p]!.a), b10: loraB10(rec[p]!.b) };
    return out as LayerLoraQ;
  });
}

export interface LayerCache {
  /** the rows each normquant normalized (its backward needs them, SPEC §4.1): the residual
   *  stream into the layer, after attention, and the FFN activation (nq2's input is att.o) */
  h0: Int32Array;
  h1: Int32Array;
  act: Int32Array;
  nq1: NormQuant;
  /** LoRA bottleneck activations of the targeted projections */
  u: Partial<Record<LoraTarget, Int32Array>>;
  qr: Int32Array;
  kr: Int32Array;
  v8: Int32Array;
  att: AttentionOut;
  nq2: NormQuant;
  nq3: NormQuant;
  /** plain FFN: W1 output; gated: the gate projection's output */
  f: Int32Array;
  /** gated only: relu2(gate) and the up projection's output */
  a?: Int32Array;
  up?: Int32Array;
  nq4: NormQuant;
}

export interface ForwardCache {
  T: number;
  layers: LayerCache[];
  /** the final residual stream (nqf's input) */
  hf: Int32Array;
  nqf: NormQuant;
  rope: RopeTable;
  /** Q16 [T, V] */
  logits: Int32Array;
}

const ropeCache = new Map<string, RopeTable>();
export function ropeFor(T: number, dh: number, theta = 10000): RopeTable {
  const key = `${T}/${dh}/${theta}`;
  let tab = ropeCache.get(key);
  if (!tab) {
    tab = theta === 10000 ? ropeTable(T, dh) : ropeTable(T, dh, log2Q16(theta));
    ropeCache.set(key, tab);
  }
  return tab;
}

function addResidual(h: Int32Array, y: Int32Array): Int32Array {
  const out = new Int32Array(h.length);
  for (let i = 0; i < h.length; i++) {
    const s = h[i] + y[i];
    if (s > H_MAX || s < -H_MAX) fired.residual++;
    out[i] = clamp(s, -H_MAX, H_MAX);
  }
  return out;
}

/** Token ids of a sequence: bytes (v1) or ids < vocab (v2). */
export type Tokens = Uint8Array | Uint16Array | Uint32Array | Int32Array;

/** h[t] = E[token_t] in Q16 (SPEC §5, §4.10): the first residual stream of a sequence, [T, D]. */
export function embedTokens(bb: Backbone, tokens: Tokens): Int32Array {
  const { dModel: D, vocab: V } = bb.cfg;
  for (let t = 0; t < tokens.length; t++) {
    if (tokens[t] >= V) throw new RangeError(`token ${tokens[t]} at position ${t} is outside the vocabulary (${V})`);
  }
  if (bb.embedBf16) return embedBf16(bb.embedBf16, D, tokens);
  const h = new Int32Array(tokens.length * D);
  for (let t = 0; t < tokens.length; t++) {
    const e = tokens[t] * D;
    for (let k = 0; k < D; k++) h[t * D + k] = bb.embed[e + k] * 65536;
  }
  return h;
}

/** The LM head of the final normalized row: ternary (v1) or the tied bf16 embedding (v2). */
export function headLogits(bb: Backbone, nqf: NormQuant, T: number): Int32Array {
  if (bb.embedBf16) return tiedHead(bb.embedBf16, bb.cfg.vocab, bb.cfg.dModel, nqf.x8, nqf.sx, T);
  return ternlin(bb.head!.packed, bb.head!.gamma, nqf.x8, nqf.sx, T);
}

/** The FFN's tensors under either layout. */
export function ffnWeights(L: Backbone['layers'][number]): { w1?: TernaryTensor; gate?: TernaryTensor; up: TernaryTensor; down: TernaryTensor } {
  if (L.wgate && L.wup && L.wdown) return { gate: L.wgate, up: L.wup, down: L.wdown };
  return { w1: L.w1!, up: L.w1!, down: L.w2! };
}

/** tokens: one sequence of T ≤ seqLen token ids; RoPE positions are 0..T−1 within it. */
export function forward(bb: Backbone, lq: readonly LayerLoraQ[], tokens: Tokens): ForwardCache {
  const cfg = bb.cfg;
  const { dModel: D, dFF: F, nHeads: H, loraRank: r } = cfg;
  const T = tokens.length;
  const dh = headDim(cfg);
  const Hkv = kvHeads(cfg);
  const alpha = loraAlpha(cfg);
  const layout = cfg.ropeLayout ?? 'adjacent';
  const rope = ropeFor(T, dh, ropeTheta(cfg));
  let h: Int32Array = embedTokens(bb, tokens);
  const layers: LayerCache[] = [];
  bb.layers.forEach((L, l) => {
    const q = lq[l];
    const g = L.gains;
    const u: Partial<Record<LoraTarget, Int32Array>> = {};
    /** ternlin + (when targeted) LoRA on the same x8, sx */
    const proj = (w: TernaryTensor, p: LoraTarget, nq: NormQuant): Int32Array => {
      const y = ternlin(w.packed, w.gamma, nq.x8, nq.sx, T);
      const ad = q[p];
      if (ad) {
        const { K, N } = loraDims(cfg, p);
        u[p] = loraForward(ad.a12, ad.b10, nq.x8, nq.sx, y, T, N, K, r, alpha);
      }
      return y;
    };
    const h0 = h;
    const nq1 = normquant(h, T, D, g?.attnNorm);
    const yq = proj(L.wq, 'q', nq1);
    const yk = proj(L.wk, 'k', nq1);
    const yv = proj(L.wv, 'v', nq1);
    const qr = ropeApply(toq8(yq), rope, T, H, dh, layout);
    const kr = ropeApply(toq8(yk), rope, T, Hkv, dh, layout);
    const v8 = toq8(yv);
    const att = attention(qr, kr, v8, T, H, dh, Hkv);
    const nq2 = normquant(att.o, T, D, g?.attnSubNorm);
    h = addResidual(h, proj(L.wo, 'o', nq2));
    const h1 = h;
    const nq3 = normquant(h, T, D, g?.ffnNorm);
    const fw = ffnWeights(L);
    let f: Int32Array;
    let a: Int32Array | undefined;
    let up: Int32Array | undefined;
    let act: Int32Array;
    if (fw.gate) {
      f = proj(fw.gate, 'gate', nq3);
      up = proj(fw.up, 'up', nq3);
      a = relu2(f);
      act = gatedMul(a, up);
    } else {
      f = proj(fw.up, 'up', nq3);
      act = relu2(f);
    }
    const nq4 = normquant(act, T, F, g?.ffnSubNorm);
    h = addResidual(h, proj(fw.down, 'down', nq4));
    layers.push({ h0, h1, act, nq1, u, qr, kr, v8, att, nq2, nq3, f, a, up, nq4 });
  });
  const nqf = normquant(h, T, D, bb.finalGain);
  return { T, layers, hf: h, nqf, rope, logits: headLogits(bb, nqf, T) };
}
