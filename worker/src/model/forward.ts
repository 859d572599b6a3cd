// Forward pass of one sequence through the BitNet b1.58 decoder with LoRA on q, k, v, o
// (SPEC.md §5). Everything the backward pass needs is kept in the returned cache.

import { attention, type AttentionOut } from '../kernels/cpu/attention.ts';
import { clamp } from '../kernels/cpu/int.ts';
import { loraA12, loraB10, loraForward } from '../kernels/cpu/lora.ts';
import { type NormQuant, normquant } from '../kernels/cpu/normquant.ts';
import { relu2 } from '../kernels/cpu/relu2.ts';
import { ropeApply, type RopeTable, ropeTable } from '../kernels/cpu/rope.ts';
import { ternlin } from '../kernels/cpu/ternlin.ts';
import { toq8 } from '../kernels/cpu/toq8.ts';
import type { AdapterState } from './adapter.ts';
import type { Backbone } from './backbone.ts';
import { headDim, LORA_PROJECTIONS, type LoraProjection } from './config.ts';

const H_MAX = 1073741824; // residual clamp 2^30

/** Forward copies of one layer's adapters (A12, B10), computed once per step. */
export type LayerLoraQ = Record<LoraProjection, { a12: Int32Array; b10: Int32Array }>;

export function quantizeAdapter(state: AdapterState): LayerLoraQ[] {
  return state.params.map((rec) => {
    const out = {} as LayerLoraQ;
    for (const p of LORA_PROJECTIONS) out[p] = { a12: loraA12(rec[p].a), b10: loraB10(rec[p].b) };
    return out;
  });
}

export interface LayerCache {
  nq1: NormQuant;
  u: Record<LoraProjection, Int32Array>;
  qr: Int32Array;
  kr: Int32Array;
  v8: Int32Array;
  att: AttentionOut;
  nq2: NormQuant;
  nq3: NormQuant;
  f: Int32Array;
  nq4: NormQuant;
}

export interface ForwardCache {
  T: number;
  layers: LayerCache[];
  nqf: NormQuant;
  rope: RopeTable;
  /** Q16 [T, 256] */
  logits: Int32Array;
}

const ropeCache = new Map<string, RopeTable>();
export function ropeFor(T: number, dh: number): RopeTable {
  const key = `${T}/${dh}`;
  let tab = ropeCache.get(key);
  if (!tab) {
    tab = ropeTable(T, dh);
    ropeCache.set(key, tab);
  }
  return tab;
}

function addResidual(h: Int32Array, y: Int32Array): Int32Array {
  const out = new Int32Array(h.length);
  for (let i = 0; i < h.length; i++) out[i] = clamp(h[i] + y[i], -H_MAX, H_MAX);
  return out;
}

/** h[t] = E[token_t]·2^16 (SPEC §5): the first residual stream of a sequence, Q16 [T, D]. */
export function embedTokens(bb: Backbone, tokens: Uint8Array): Int32Array {
  const D = bb.cfg.dModel;
  const h = new Int32Array(tokens.length * D);
  for (let t = 0; t < tokens.length; t++) {
    const e = tokens[t] * D;
    for (let k = 0; k < D; k++) h[t * D + k] = bb.embed[e + k] * 65536;
  }
  return h;
}

/** tokens: one sequence of T ≤ seqLen bytes. */
export function forward(bb: Backbone, lq: readonly LayerLoraQ[], tokens: Uint8Array): ForwardCache {
  const { dModel: D, dFF: F, nHeads: H, loraRank: r } = bb.cfg;
  const T = tokens.length;
  const dh = headDim(bb.cfg);
  const rope = ropeFor(T, dh);
  let h: Int32Array = embedTokens(bb, tokens);
  const layers: LayerCache[] = [];
  bb.layers.forEach((L, l) => {
    const q = lq[l];
    const nq1 = normquant(h, T, D);
    const proj = (w: typeof L.wq, p: LoraProjection, nq: NormQuant) => {
      const y = ternlin(w.packed, w.gamma, nq.x8, nq.sx, T);
      const u = loraForward(q[p].a12, q[p].b10, nq.x8, nq.sx, y, T, D, D, r);
      return { y, u };
    };
    const pq = proj(L.wq, 'q', nq1);
    const pk = proj(L.wk, 'k', nq1);
    const pv = proj(L.wv, 'v', nq1);
    const qr = ropeApply(toq8(pq.y), rope, T, H, dh);
    const kr = ropeApply(toq8(pk.y), rope, T, H, dh);
    const v8 = toq8(pv.y);
    const att = attention(qr, kr, v8, T, H, dh);
    const nq2 = normquant(att.o, T, D);
    const po = proj(L.wo, 'o', nq2);
    h = addResidual(h, po.y);
    const nq3 = normquant(h, T, D);
    const f = ternlin(L.w1.packed, L.w1.gamma, nq3.x8, nq3.sx, T);
    const nq4 = normquant(relu2(f), T, F);
    h = addResidual(h, ternlin(L.w2.packed, L.w2.gamma, nq4.x8, nq4.sx, T));
    layers.push({ nq1, u: { q: pq.u, k: pk.u, v: pv.u, o: po.u }, qr, kr, v8, att, nq2, nq3, f, nq4 });
  });
  const nqf = normquant(h, T, D);
  const logits = ternlin(bb.head.packed, bb.head.gamma, nqf.x8, nqf.sx, T);
  return { T, layers, nqf, rope, logits };
}
