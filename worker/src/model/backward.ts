// Backward pass of one sequence (SPEC.md §5): activation gradients flow through every op, and
// only the LoRA A/B of the targeted projections receive weight gradients (accumulated exactly
// into `grads`). A v1 config runs exactly the v1 ops.

import { attentionBackward } from '../kernels/cpu/attention.ts';
import { fired, GRAD_MAX, satG } from '../kernels/cpu/int.ts';
import { loraBackward } from '../kernels/cpu/lora.ts';
import { type NormQuant, normquantBackward } from '../kernels/cpu/normquant.ts';
import { relu2Backward } from '../kernels/cpu/relu2.ts';
import { ropeBackward } from '../kernels/cpu/rope.ts';
import { ternlinBackward } from '../kernels/cpu/ternlin.ts';
import { gatedMulBackward, tiedHeadBackward } from '../kernels/cpu/v2ops.ts';
import type { AdapterGrads } from './adapter.ts';
import type { Backbone, TernaryTensor } from './backbone.ts';
import { headDim, kvHeads, type LoraTarget, loraAlpha, loraDims } from './config.ts';
import { type ForwardCache, ffnWeights, type LayerLoraQ } from './forward.ts';

/**
 * satG of the exact elementwise sum of int32 terms (a gradient join, SPEC §5). The terms are kept
 * as separate Int32Arrays (each is sat32'd by its op) and summed only here: at most 8 terms (gate,
 * up × ternary and LoRA; q, k, v) of |x| ≤ 2^31−1 give |Σ| < 2^34, exact in a JS number (SPEC §2),
 * and only the clamped int32 is stored. A shared int32 accumulator could overflow (two sat32
 * terms already can), and clamping partial sums would change the result.
 */
function satGSum(terms: readonly Int32Array[]): Int32Array {
  const out = new Int32Array(terms[0].length);
  for (let i = 0; i < out.length; i++) {
    let s = 0;
    for (let k = 0; k < terms.length; k++) s += terms[k][i];
    if (terms.length > 1 && (s > GRAD_MAX || s < -GRAD_MAX)) fired.join++;
    out[i] = satG(s);
  }
  return out;
}

/** h-gradient plus a branch gradient, clamped (residual join). */
function join(gh: Int32Array, branch: Int32Array): Int32Array {
  const out = new Int32Array(gh.length);
  for (let i = 0; i < gh.length; i++) {
    const s = gh[i] + branch[i];
    if (s > GRAD_MAX || s < -GRAD_MAX) fired.join++;
    out[i] = satG(s);
  }
  return out;
}

/** dlogits Q16 [T,V] → accumulates LoRA gradients of this sequence into `grads`. */
export function backward(
  bb: Backbone, lq: readonly LayerLoraQ[], cache: ForwardCache, dlogits: Int32Array, grads: AdapterGrads,
): void {
  const cfg = bb.cfg;
  const { dModel: D, dFF: F, nHeads: H, loraRank: r } = cfg;
  const { T, rope } = cache;
  const dh = headDim(cfg);
  const Hkv = kvHeads(cfg);
  const alpha = loraAlpha(cfg);
  const layout = cfg.ropeLayout ?? 'adjacent';
  const dxHead = bb.embedBf16
    ? tiedHeadBackward(bb.embedBf16, cfg.vocab, D, dlogits, T)
    : ternlinBackward(bb.head!.packed, bb.head!.gamma, dlogits, T);
  let gh = normquantBackward(satGSum([dxHead]), cache.hf, cache.nqf, T, D, bb.finalGain);

  for (let l = bb.layers.length - 1; l >= 0; l--) {
    const L = bb.layers[l];
    const c = cache.layers[l];
    const g = L.gains;
    // Gradient w.r.t. a normalized input shared by projections: the ternary and (when targeted)
    // LoRA terms of each projection, summed exactly over all consumers and clamped once.
    const projBack = (w: TernaryTensor, p: LoraTarget, nq: NormQuant, dy: Int32Array): Int32Array[] => {
      const terms = [ternlinBackward(w.packed, w.gamma, dy, T)];
      const ad = lq[l][p];
      if (ad) {
        const { K, N } = loraDims(cfg, p);
        const gr = grads.layers[l][p]!;
        const dxl = new Int32Array(T * K);
        loraBackward(ad.a12, ad.b10, nq.x8, nq.sx, c.u[p]!, dy, gr.a, gr.b, dxl, T, N, K, r, alpha);
        terms.push(dxl);
      }
      return terms;
    };
    // FFN branch: h2 = h1 + down·nq4(act(nq3(h1)))
    const fw = ffnWeights(L);
    const dact = normquantBackward(satGSum(projBack(fw.down, 'down', c.nq4, gh)), c.act, c.nq4, T, F, g?.ffnSubNorm);
    let dx3: Int32Array;
    if (fw.gate) {
      const { da, du } = gatedMulBackward(c.a!, c.up!, dact);
      dx3 = satGSum([...projBack(fw.gate, 'gate', c.nq3, relu2Backward(c.f, da)), ...projBack(fw.up, 'up', c.nq3, du)]);
    } else {
      dx3 = satGSum(projBack(fw.up, 'up', c.nq3, relu2Backward(c.f, dact)));
    }
    gh = join(gh, normquantBackward(dx3, c.h1, c.nq3, T, D, g?.ffnNorm));
    // Attention branch: h1 = h + (Wo + LoRA_o)·nq2(attn(nq1(h)))
    const dout = normquantBackward(satGSum(projBack(L.wo, 'o', c.nq2, gh)), c.att.o, c.nq2, T, D, g?.attnSubNorm);
    const ga = attentionBackward(dout, c.att, c.qr, c.kr, c.v8, T, H, dh, Hkv);
    const dq = ropeBackward(ga.dq, rope, T, H, dh, layout);
    const dk = ropeBackward(ga.dk, rope, T, Hkv, dh, layout);
    const dx1 = satGSum([
      ...projBack(L.wq, 'q', c.nq1, dq),
      ...projBack(L.wk, 'k', c.nq1, dk),
      ...projBack(L.wv, 'v', c.nq1, ga.dv),
    ]);
    gh = join(gh, normquantBackward(dx1, c.h0, c.nq1, T, D, g?.attnNorm));
  }
}
