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
import { VOCAB } from '../kernels/cpu/xent.ts';
import { type Backbone, plainFfn, refuseV2, ternaryHead } from './backbone.ts';
import { headDim, type LoraProjection } from './config.ts';
import { embedTokens, type LayerLoraQ, ropeFor } from './forward.ts';

const H_MAX = 1073741824; // residual clamp 2^30, as forward.ts

/** A decoder over one sequence: append tokens, get the logits of the new positions. */
export interface Decoder {
  /** positions already in the cache */
  readonly length: number;
  /** context length (the model's seqLen) */
  readonly capacity: number;
  /**
   * Runs positions length..length+m−1 on `tokens` (m ≥ 1) and returns their logits, Q16: the
   * last position's [256] by default, every new position's [m, 256] with `all`.
   */
  append(tokens: Uint8Array, all?: boolean): Promise<Int32Array>;
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
export function attendCached(qr: Int32Array, kc: Int32Array, vc: Int32Array, n0: number, m: number, H: number, dh: number): Int32Array {
  const D = H * dh;
  const isd = invSqrtQ16(dh);
  const o = new Int32Array(m * D);
  const z = new Int32Array(n0 + m);
  const p = new Int32Array(n0 + m);
  for (let h = 0; h < H; h++) {
    const ho = h * dh;
    for (let i = 0; i < m; i++) {
      const t = n0 + i;
      const qo = i * D + ho;
      for (let u = 0; u <= t; u++) {
        const ko = u * D + ho;
        let s = 0;
        for (let d = 0; d < dh; d++) s += qr[qo + d] * kc[ko + d];
        z[u] = mulShr(s, isd, 16);
      }
      softmaxRow(z, 0, t + 1, p, 0);
      for (let d = 0; d < dh; d++) {
        let acc = 0;
        for (let u = 0; u <= t; u++) acc += p[u] * vc[u * D + ho + d];
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
    refuseV2(bb.cfg, 'the KV-cached decoder');
    const { seqLen: T, dModel: D, nLayers } = bb.cfg;
    this.capacity = T;
    this.kc = Array.from({ length: nLayers }, () => new Int32Array(T * D));
    this.vc = Array.from({ length: nLayers }, () => new Int32Array(T * D));
  }

  get length(): number {
    return this.n;
  }

  reset(): void {
    this.n = 0;
  }

  close(): void {}

  async append(tokens: Uint8Array, all = false): Promise<Int32Array> {
    return this.appendSync(tokens, all);
  }

  appendSync(tokens: Uint8Array, all = false): Int32Array {
    const m = tokens.length;
    const n0 = this.n;
    if (m < 1) throw new RangeError('decoder: append needs at least one token');
    if (n0 + m > this.capacity) throw new RangeError(`decoder: ${n0 + m} positions exceed the context length ${this.capacity}`);
    const { dModel: D, dFF: F, nHeads: H, loraRank: r } = this.bb.cfg;
    const dh = headDim(this.bb.cfg);
    const rope = ropeRows(ropeFor(this.capacity, dh), dh / 2, n0, m);
    const h = embedTokens(this.bb, tokens);
    this.bb.layers.forEach((L, l) => {
      const q = this.lq[l];
      const proj = (w: typeof L.wq, p: LoraProjection, nq: NormQuant): Int32Array => {
        const y = ternlin(w.packed, w.gamma, nq.x8, nq.sx, m);
        loraForward(q[p]!.a12, q[p]!.b10, nq.x8, nq.sx, y, m, D, D, r);
        return y;
      };
      const nq1 = normquant(h, m, D);
      const qr = ropeApply(toq8(proj(L.wq, 'q', nq1)), rope, m, H, dh);
      this.kc[l].set(ropeApply(toq8(proj(L.wk, 'k', nq1)), rope, m, H, dh), n0 * D);
      this.vc[l].set(toq8(proj(L.wv, 'v', nq1)), n0 * D);
      const o = attendCached(qr, this.kc[l], this.vc[l], n0, m, H, dh);
      addResidual(h, proj(L.wo, 'o', normquant(o, m, D)));
      const nq3 = normquant(h, m, D);
      const f = ternlin(plainFfn(L).w1.packed, plainFfn(L).w1.gamma, nq3.x8, nq3.sx, m);
      const nq4 = normquant(relu2(f), m, F);
      addResidual(h, ternlin(plainFfn(L).w2.packed, plainFfn(L).w2.gamma, nq4.x8, nq4.sx, m));
    });
    this.n = n0 + m;
    const rows = all ? m : 1;
    const hf = all ? h : h.subarray((m - 1) * D, m * D);
    const nqf = normquant(hf, rows, D);
    const logits = ternlin(ternaryHead(this.bb).packed, ternaryHead(this.bb).gamma, nqf.x8, nqf.sx, rows);
    if (logits.length !== rows * VOCAB) throw new Error('decoder: head is not [·, 256]');
    return logits;
  }
}
