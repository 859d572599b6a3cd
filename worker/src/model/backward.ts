// Backward pass of one sequence (SPEC.md §5): activation gradients flow through every op, and
// only the LoRA A/B of q, k, v, o receive weight gradients (accumulated exactly into `grads`).

import { attentionBackward } from '../kernels/cpu/attention.ts';
import { satG } from '../kernels/cpu/int.ts';
import { loraBackward } from '../kernels/cpu/lora.ts';
import { type NormQuant, normquantBackward } from '../kernels/cpu/normquant.ts';
import { relu2Backward } from '../kernels/cpu/relu2.ts';
import { ropeBackward } from '../kernels/cpu/rope.ts';
import { ternlinBackward } from '../kernels/cpu/ternlin.ts';
import type { AdapterGrads } from './adapter.ts';
import type { Backbone, TernaryTensor } from './backbone.ts';
import { headDim, type LoraProjection } from './config.ts';
import type { ForwardCache, LayerLoraQ } from './forward.ts';

function satGAll(x: Int32Array): Int32Array {
  const out = new Int32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = satG(x[i]);
  return out;
}

/**
 * satG of the exact elementwise sum of int32 terms (a gradient join, SPEC §5). The terms are kept
 * as separate Int32Arrays (each is sat32'd by its op) and summed only here: at most 6 terms (q, k,
 * v × ternary and LoRA) of |x| ≤ 2^31−1 give |Σ| < 2^34, exact in a JS number (SPEC §2), and only
 * the clamped int32 is stored. A shared int32 accumulator could overflow (two sat32 terms already
 * can), and clamping partial sums would change the result.
 */
function satGSum(terms: readonly Int32Array[]): Int32Array {
  const out = new Int32Array(terms[0].length);
  for (let i = 0; i < out.length; i++) {
    let s = 0;
    for (let k = 0; k < terms.length; k++) s += terms[k][i];
    out[i] = satG(s);
  }
  return out;
}

/** h-gradient plus a branch gradient, clamped (residual join). */
function join(gh: Int32Array, branch: Int32Array): Int32Array {
  const out = new Int32Array(gh.length);
  for (let i = 0; i < gh.length; i++) out[i] = satG(gh[i] + branch[i]);
  return out;
}

/** dlogits Q16 [T,256] → accumulates LoRA gradients of this sequence into `grads`. */
export function backward(
  bb: Backbone, lq: readonly LayerLoraQ[], cache: ForwardCache, dlogits: Int32Array, grads: AdapterGrads,
): void {
  const { dModel: D, dFF: F, nHeads: H, loraRank: r } = bb.cfg;
  const { T, rope } = cache;
  const dh = headDim(bb.cfg);
  const dxf = satGAll(ternlinBackward(bb.head.packed, bb.head.gamma, dlogits, T));
  let gh = normquantBackward(dxf, cache.nqf, T, D);

  // Gradient w.r.t. a normalized input shared by projections: the ternary and LoRA terms of each
  // projection, summed exactly over all consumers and clamped once by satGSum (SPEC §5).
  const projBack = (
    w: TernaryTensor, p: LoraProjection, l: number, nq: NormQuant, u: Int32Array, dy: Int32Array,
  ): Int32Array[] => {
    const g = grads.layers[l][p];
    const dxl = new Int32Array(T * D);
    loraBackward(lq[l][p].a12, lq[l][p].b10, nq.x8, nq.sx, u, dy, g.a, g.b, dxl, T, D, D, r);
    return [ternlinBackward(w.packed, w.gamma, dy, T), dxl];
  };

  for (let l = bb.layers.length - 1; l >= 0; l--) {
    const L = bb.layers[l];
    const c = cache.layers[l];
    // FFN branch: h2 = h1 + W2·nq4(relu2(W1·nq3(h1)))
    const dx4 = satGAll(ternlinBackward(L.w2.packed, L.w2.gamma, gh, T));
    const df = relu2Backward(c.f, normquantBackward(dx4, c.nq4, T, F));
    const dx3 = satGAll(ternlinBackward(L.w1.packed, L.w1.gamma, df, T));
    gh = join(gh, normquantBackward(dx3, c.nq3, T, D));
    // Attention branch: h1 = h + (Wo + LoRA_o)·nq2(attn(nq1(h)))
    const dout = normquantBackward(satGSum(projBack(L.wo, 'o', l, c.nq2, c.u.o, gh)), c.nq2, T, D);
    const g = attentionBackward(dout, c.att, c.qr, c.kr, c.v8, T, H, dh);
    const dq = ropeBackward(g.dq, rope, T, H, dh);
    const dk = ropeBackward(g.dk, rope, T, H, dh);
    const dx1 = satGSum([
      ...projBack(L.wq, 'q', l, c.nq1, c.u.q, dq),
      ...projBack(L.wk, 'k', l, c.nq1, c.u.k, dk),
      ...projBack(L.wv, 'v', l, c.nq1, c.u.v, g.dv),
    ]);
    gh = join(gh, normquantBackward(dx1, c.nq1, T, D));
  }
}
