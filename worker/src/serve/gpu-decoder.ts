// The serving node's forward on WebGPU, with a K/V cache on the device: the kernels of the
// training step (kernels/webgpu) run on a block of new positions, their keys and values are
// copied into per-layer caches, and attention-cached.wgsl attends each new row to the cached
// positions. Same integers as the CPU decoder (src/model/decode.ts) and as the whole-sequence
// forward: test/serve-decode.test.ts compares them bit for bit.

import { ropeFor } from '../model/forward.ts';
import { embedTokens } from '../model/forward.ts';
import type { Decoder } from '../model/decode.ts';
import { type Backbone, plainFfn, refuseV2, type TernaryTensor, ternaryHead } from '../model/backbone.ts';
import { headDim, LORA_PROJECTIONS, type LoraProjection } from '../model/config.ts';
import type { LayerLoraQ } from '../model/forward.ts';
import { VOCAB } from '../kernels/cpu/xent.ts';
import { type GpuContext } from '../kernels/webgpu/device.ts';
import { allocNormQuant, encodeLoraForward, encodeNormquant, encodeRelu2, encodeRope, encodeTernlin, encodeToq8, type NormQuantGpu } from '../kernels/webgpu/ops.ts';
import { packTernaryRows } from '../kernels/webgpu/packing.ts';
import { withPrelude } from '../kernels/webgpu/prelude.ts';
import { encodeAddClamp, H_MAX } from '../kernels/webgpu/step-glue.ts';
import { loadWgsl } from '../kernels/webgpu/wgsl.ts';
import type { InferenceBackend, ServedModel } from './engine.ts';

const ATTENTION_CACHED_WGSL = withPrelude(loadWgsl('attention-cached.wgsl'), { poly: true });

/** New positions per device block (scratch buffers are sized for it; longer appends loop). */
export const GPU_BLOCK = 32;

interface WeightGpu { readonly buf: GPUBuffer; readonly gamma: number; readonly N: number; readonly K: number }

export class GpuDecoder implements Decoder {
  private n = 0;
  private closed = false;
  private readonly owned: GPUBuffer[] = [];
  readonly capacity: number;
  private readonly B: number;
  private readonly layers: Array<{
    w: Record<'q' | 'k' | 'v' | 'o' | '1' | '2', WeightGpu>;
    lora: Record<LoraProjection, { a12: GPUBuffer; b10: GPUBuffer }>;
    kc: GPUBuffer;
    vc: GPUBuffer;
  }>;
  private readonly head: WeightGpu;
  private readonly ropeCosAll: GPUBuffer;
  private readonly ropeSinAll: GPUBuffer;
  private readonly s: Record<string, GPUBuffer>;
  private readonly nqD: NormQuantGpu;
  private readonly nqF: NormQuantGpu;

  constructor(readonly ctx: GpuContext, readonly bb: Backbone, lq: readonly LayerLoraQ[]) {
    refuseV2(bb.cfg, 'the WebGPU decoder');
    const { seqLen: T, dModel: D, dFF: F, nHeads: H, loraRank: r } = bb.cfg;
    this.capacity = T;
    const B = Math.min(GPU_BLOCK, T);
    this.B = B;
    const keep = (b: GPUBuffer) => (this.owned.push(b), b);
    const weight = (t: TernaryTensor): WeightGpu => ({ buf: keep(ctx.upload(packTernaryRows(t.w, t.rows, t.cols))), gamma: t.gamma, N: t.rows, K: t.cols });
    this.layers = bb.layers.map((L, l) => {
      const lora = {} as Record<LoraProjection, { a12: GPUBuffer; b10: GPUBuffer }>;
      for (const p of LORA_PROJECTIONS) lora[p] = { a12: keep(ctx.upload(lq[l][p].a12)), b10: keep(ctx.upload(lq[l][p].b10)) };
      return {
        w: { q: weight(L.wq), k: weight(L.wk), v: weight(L.wv), o: weight(L.wo), 1: weight(plainFfn(L).w1), 2: weight(plainFfn(L).w2) },
        lora, kc: keep(ctx.storage(T * D)), vc: keep(ctx.storage(T * D)),
      };
    });
    this.head = weight(ternaryHead(bb));
    const rope = ropeFor(T, headDim(bb.cfg));
    this.ropeCosAll = keep(ctx.upload(rope.cos));
    this.ropeSinAll = keep(ctx.upload(rope.sin));
    const half = headDim(bb.cfg) / 2;
    const st = (words: number) => keep(ctx.storage(words));
    this.s = {
      h: st(B * D), y: st(B * D), q8: st(B * D), qr: st(B * D), kr: st(B * D), v8: st(B * D), o: st(B * D), u: st(B * r),
      f: st(B * F), a2: st(B * F), hLast: st(D), logits: st(B * VOCAB), prob: st(H * B * T), cos: st(B * half), sin: st(B * half),
    };
    const nq = (K: number) => {
      const q = allocNormQuant(ctx, B, K);
      for (const b of Object.values(q)) keep(b);
      return q;
    };
    this.nqD = nq(D);
    this.nqF = nq(F);
  }

  get length(): number {
    return this.n;
  }

  reset(): void {
    this.n = 0;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const b of this.owned) b.destroy();
    this.owned.length = 0;
  }

  async append(tokens: Uint8Array, all = false): Promise<Int32Array> {
    if (this.closed) throw new Error('GpuDecoder: used after close()');
    if (tokens.length < 1) throw new RangeError('decoder: append needs at least one token');
    if (this.n + tokens.length > this.capacity) throw new RangeError(`decoder: ${this.n + tokens.length} positions exceed the context length ${this.capacity}`);
    const parts: Int32Array[] = [];
    for (let i = 0; i < tokens.length; i += this.B) {
      const block = tokens.subarray(i, Math.min(tokens.length, i + this.B));
      const last = i + this.B >= tokens.length;
      // Every block runs (it fills the K/V cache); only the last one's logits are kept unless `all`.
      const logits = await this.block(block, all);
      if (all || last) parts.push(logits);
    }
    if (parts.length === 1) return parts[0];
    const out = new Int32Array(parts.reduce((k, p) => k + p.length, 0));
    let off = 0;
    for (const p of parts) {
      out.set(p, off);
      off += p.length;
    }
    return out;
  }

  /** One block of m ≤ B new positions; returns the logits of its last row (all rows with `all`). */
  private async block(tokens: Uint8Array, all: boolean): Promise<Int32Array> {
    const { ctx, s } = this;
    const { dModel: D, dFF: F, nHeads: H, loraRank: r } = this.bb.cfg;
    const dh = headDim(this.bb.cfg);
    const half = dh / 2;
    const m = tokens.length;
    const n0 = this.n;
    const mD = m * D;
    ctx.write(s.h, embedTokens(this.bb, tokens));
    await ctx.run((e) => {
      e.copyBufferToBuffer(this.ropeCosAll, n0 * half * 4, s.cos, 0, m * half * 4);
      e.copyBufferToBuffer(this.ropeSinAll, n0 * half * 4, s.sin, 0, m * half * 4);
      for (const layer of this.layers) {
        const proj = (p: LoraProjection, nq: NormQuantGpu): void => {
          const w = layer.w[p];
          encodeTernlin(ctx, e, w.buf, w.gamma, nq.x8, nq.sx, s.y, m, w.N, w.K);
          encodeLoraForward(ctx, e, layer.lora[p].a12, layer.lora[p].b10, nq.x8, nq.sx, s.y, s.u, m, D, D, r);
        };
        encodeNormquant(ctx, e, s.h, this.nqD, m, D);
        proj('q', this.nqD);
        encodeToq8(ctx, e, s.y, s.q8, mD);
        encodeRope(ctx, e, false, s.cos, s.sin, s.q8, s.qr, m, H, dh);
        proj('k', this.nqD);
        encodeToq8(ctx, e, s.y, s.q8, mD);
        encodeRope(ctx, e, false, s.cos, s.sin, s.q8, s.kr, m, H, dh);
        e.copyBufferToBuffer(s.kr, 0, layer.kc, n0 * D * 4, mD * 4);
        proj('v', this.nqD);
        encodeToq8(ctx, e, s.y, s.v8, mD);
        e.copyBufferToBuffer(s.v8, 0, layer.vc, n0 * D * 4, mD * 4);
        ctx.dispatch(e, ctx.pipeline(ATTENTION_CACHED_WGSL), [ctx.uniform([m, H, dh, n0]), s.qr, layer.kc, layer.vc, s.o, s.prob], [m, H]);
        encodeNormquant(ctx, e, s.o, this.nqD, m, D);
        proj('o', this.nqD);
        encodeAddClamp(ctx, e, s.h, s.y, mD, H_MAX);
        encodeNormquant(ctx, e, s.h, this.nqD, m, D);
        const w1 = layer.w[1];
        encodeTernlin(ctx, e, w1.buf, w1.gamma, this.nqD.x8, this.nqD.sx, s.f, m, w1.N, w1.K);
        encodeRelu2(ctx, e, s.f, s.a2, m * F);
        encodeNormquant(ctx, e, s.a2, this.nqF, m, F);
        const w2 = layer.w[2];
        encodeTernlin(ctx, e, w2.buf, w2.gamma, this.nqF.x8, this.nqF.sx, s.y, m, w2.N, w2.K);
        encodeAddClamp(ctx, e, s.h, s.y, mD, H_MAX);
      }
      const rows = all ? m : 1;
      const hf = all ? s.h : s.hLast;
      if (!all) e.copyBufferToBuffer(s.h, (m - 1) * D * 4, s.hLast, 0, D * 4);
      encodeNormquant(ctx, e, hf, this.nqD, rows, D);
      encodeTernlin(ctx, e, this.head.buf, this.head.gamma, this.nqD.x8, this.nqD.sx, s.logits, rows, this.head.N, this.head.K);
    });
    this.n = n0 + m;
    return ctx.readI32(s.logits, (all ? m : 1) * VOCAB);
  }
}

export function webgpuInference(ctx: GpuContext): InferenceBackend {
  let closed = false;
  return {
    name: 'webgpu', adapter: ctx.label,
    decoder: async (head: ServedModel) => {
      if (closed) throw new Error('backend webgpu: used after close()');
      return new GpuDecoder(ctx, head.model.backbone, head.lq);
    },
    close: () => {
      if (closed) return;
      closed = true;
      ctx.destroy();
    },
  };
}
