// Incremental (KV-cached) forward for inference: the model of forward.ts (SPEC.md §5) computed a
// block of new positions at a time against the keys and values of the positions already seen.
//
// Every op of the decoder except attention acts on one position at a time (normquant per token,
// ternlin/lora per token, RoPE by absolute position, relu2 and the residual per element), and
// attention row t only reads keys and values of positions u ≤ t. So the logits of position t
// computed here are the integers `forward()` computes for row t of the whole sequence: bit for
// bit, not approximately (test/serve-decode.test.ts checks it). A new token costs one position.

import { clamp, mulShr, rshr } from '../kernels/cpu/int.ts';
import { loraForward } from '../kernels/cpu/lora.ts';
import { type NormQuant, normquant } from '../kernels/cpu/normquant.ts';
import { invSqrtQ16 } from '../kernels/cpu/poly.ts';
import { relu2 } from '../kernels/cpu/relu2.ts';
import { ropeApply, type RopeTable } from '../kernels/cpu/rope.ts';
import { softmaxRow } from '../kernels/cpu/softmax.ts';
import { ternlin } from '../kernels/cpu/ternlin.ts';
import { toq8 } from '../kernels/cpu/toq8.ts';
import { gatedMul } from '../kernels/cpu/v2ops.ts';
import type { Backbone, TernaryTensor } from './backbone.ts';
import { headDim, kvHeads, loraAlpha, loraDims, type LoraTarget, ropeTheta } from './config.ts';
import { embedTokens, ffnWeights, headLogits, type LayerLoraQ, ropeFor, type Tokens } from './forward.ts';

const H_MAX = 1073741824; // residual clamp 2^30, as forward.ts

/** A decoder over one sequence: append tokens, get the logits of the new positions. */
export interface Decoder {
  /** positions already in the cache */
  readonly length: number;
  /** context length (the model's seqLen) */
  readonly capacity: number;
  /**
   * Runs positions length..length+m−1 on `tokens` (m ≥ 1) and returns their logits, Q16: the
   * last position's [V] by default, every new position's [m, V] with `all`.
   */
  append(tokens: Tokens, all?: boolean): Promise<Int32Array>;
  /** forget the sequence (length 0) */
  reset(): void;
  close(): void;
}

/** The rows [from, from+m) of a RoPE table (rows depend only on the absolute position). */
export function ropeRows(tab: RopeTable, half: number, from: number, m: number): RopeTable {
  return { cos: tab.cos.subarray(from * half, (from + m) * half), sin: tab.sin.subarray(from * half, (from + m) * half) };
}

/**
 * Attention of m query rows at absolute positions n0..n0+m−1 over the cached keys/values of
 * positions 0..n0+m−1 (kc, vc: [capacity, D], rows < n0+m filled). The integers of SPEC §4.6 for
 * those rows: the same dot products, the same softmaxRow over u ≤ t, the same rshr(·, 7).
 */
export function attendCached(qr: Int32Array, kc: Int32Array, vc: Int32Array, n0: number, m: number, H: number, dh: number, Hkv: number = H): Int32Array {
  const D = H * dh;
  const Dkv = Hkv * dh; // SPEC v2 GQA: query head h reads cached head ⌊h / (H/Hkv)⌋
  const group = H / Hkv;
  const isd = invSqrtQ16(dh);
  const o = new Int32Array(m * D);
  const z = new Int32Array(n0 + m);
  const p = new Int32Array(n0 + m);
  for (let h = 0; h < H; h++) {
    const ho = h * dh;
    const kvo = Math.floor(h / group) * dh;
    for (let i = 0; i < m; i++) {
      const t = n0 + i;
      const qo = i * D + ho;
      for (let u = 0; u <= t; u++) {
        const ko = u * Dkv + kvo;
        let s = 0;
        for (let d = 0; d < dh; d++) s += qr[qo + d] * kc[ko + d];
        z[u] = mulShr(s, isd, 16);
      }
      softmaxRow(z, 0, t + 1, p, 0);
      for (let d = 0; d < dh; d++) {
        let acc = 0;
        for (let u = 0; u <= t; u++) acc += p[u] * vc[u * Dkv + kvo + d];
        o[qo + d] = rshr(acc, 7);
      }
    }
  }
  return o;
}

function addResidual(h: Int32Array, y: Int32Array): void {
  for (let i = 0; i < h.length; i++) h[i] = clamp(h[i] + y[i], -H_MAX, H_MAX);
}

/** The CPU decoder: the reference kernels of src/kernels/cpu with a K/V cache per layer. */
export class CpuDecoder implements Decoder {
  private n = 0;
  private readonly kc: Int32Array[];
  private readonly vc: Int32Array[];
  readonly capacity: number;

  constructor(readonly bb: Backbone, readonly lq: readonly LayerLoraQ[]) {
    const { seqLen: T, nLayers } = bb.cfg;
    const Dkv = kvHeads(bb.cfg) * headDim(bb.cfg);
    this.capacity = T;
    this.kc = Array.from({ length: nLayers }, () => new Int32Array(T * Dkv));
    this.vc = Array.from({ length: nLayers }, () => new Int32Array(T * Dkv));
  }

  get length(): number {
    return this.n;
  }

  reset(): void {
    this.n = 0;
  }

  close(): void {}

  async append(tokens: Tokens, all = false): Promise<Int32Array> {
    return this.appendSync(tokens, all);
  }

  /** Any config, v1 or v2: the ops of forward.ts row by row (SPEC §12). */
  appendSync(tokens: Tokens, all = false): Int32Array {
    const m = tokens.length;
    const n0 = this.n;
    if (m < 1) throw new RangeError('decoder: append needs at least one token');
    if (n0 + m > this.capacity) throw new RangeError(`decoder: ${n0 + m} positions exceed the context length ${this.capacity}`);
    const cfg = this.bb.cfg;
    const { dModel: D, dFF: F, nHeads: H, loraRank: r } = cfg;
    const dh = headDim(cfg);
    const Hkv = kvHeads(cfg);
    const Dkv = Hkv * dh;
    const alpha = loraAlpha(cfg);
    const layout = cfg.ropeLayout ?? 'adjacent';
    const rope = ropeRows(ropeFor(this.capacity, dh, ropeTheta(cfg)), dh / 2, n0, m);
    const h = embedTokens(this.bb, tokens);
    this.bb.layers.forEach((L, l) => {
      const q = this.lq[l];
      const g = L.gains;
      const proj = (w: TernaryTensor, p: LoraTarget, nq: NormQuant): Int32Array => {
        const y = ternlin(w.packed, w.gamma, nq.x8, nq.sx, m);
        const ad = q[p];
        if (ad) {
          const { K, N } = loraDims(cfg, p);
          loraForward(ad.a12, ad.b10, nq.x8, nq.sx, y, m, N, K, r, alpha);
        }
        return y;
      };
      const nq1 = normquant(h, m, D, g?.attnNorm);
      const qr = ropeApply(toq8(proj(L.wq, 'q', nq1)), rope, m, H, dh, layout);
      this.kc[l].set(ropeApply(toq8(proj(L.wk, 'k', nq1)), rope, m, Hkv, dh, layout), n0 * Dkv);
      this.vc[l].set(toq8(proj(L.wv, 'v', nq1)), n0 * Dkv);
      const o = attendCached(qr, this.kc[l], this.vc[l], n0, m, H, dh, Hkv);
      addResidual(h, proj(L.wo, 'o', normquant(o, m, D, g?.attnSubNorm)));
      const nq3 = normquant(h, m, D, g?.ffnNorm);
      const fw = ffnWeights(L);
      const act = fw.gate ? gatedMul(relu2(proj(fw.gate, 'gate', nq3)), proj(fw.up, 'up', nq3)) : relu2(proj(fw.up, 'up', nq3));
      const nq4 = normquant(act, m, F, g?.ffnSubNorm);
      addResidual(h, proj(fw.down, 'down', nq4));
    });
    this.n = n0 + m;
    const rows = all ? m : 1;
    const hf = all ? h : h.subarray((m - 1) * D, m * D);
    const nqf = normquant(hf, rows, D, this.bb.finalGain);
    const logits = headLogits(this.bb, nqf, rows);
    if (logits.length !== rows * cfg.vocab) throw new Error(`decoder: head is not [·, ${cfg.vocab}]`);
    return logits;
  }
}
