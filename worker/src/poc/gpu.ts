// The PoC forward on WebGPU (SPEC.md §14): the kernels of the training step (kernels/webgpu,
// unchanged) over whole sequences, without LoRA (the PoC model's LoRA is zero, which adds exactly
// nothing). One shard holds a contiguous range of layers of one device; a group of devices chains
// its shards (layer sharding: the residual stream h of each nonce goes from one device to the
// next through the host), and the last shard applies the final normquant and returns the int8 row
// of the last position. A batch of nonces is recorded into one command buffer per shard (the
// dispatches are ordered, so the scratch buffers are shared), with one read-back.
//
// Same integers as src/poc/compute.ts (the CPU forward), whatever the batch size or the split of
// layers: test/webgpu-poc.test.ts.

import { type GpuContext } from '../kernels/webgpu/device.ts';
import { allocNormQuant, encodeAttention, encodeNormquant, encodeRelu2, encodeRope, encodeTernlin, encodeToq8, type NormQuantGpu } from '../kernels/webgpu/ops.ts';
import { int8RowWords, packTernaryRows, ternaryRowWords } from '../kernels/webgpu/packing.ts';
import { encodeAddClamp, H_MAX } from '../kernels/webgpu/step-glue.ts';
import type { TernaryTensor } from '../model/backbone.ts';
import { headDim } from '../model/config.ts';
import { embedTokens, ropeFor } from '../model/forward.ts';
import { type PocDims, type PocModel, pocInput } from './compute.ts';

interface WeightGpu { readonly buf: GPUBuffer; readonly gamma: number; readonly N: number; readonly K: number }

/** Bytes the packed ternary weights of `layers` layers take on a device. */
export function pocLayerBytes(d: PocDims): number {
  const { dModel: D, dFF: F } = d;
  return 4 * (4 * D * ternaryRowWords(D) + F * ternaryRowWords(D) + D * ternaryRowWords(F));
}

/** Scratch bytes of one shard (shared by every nonce of a batch). */
export function pocScratchBytes(d: PocDims): number {
  const { dModel: D, dFF: F, nHeads: H, seqLen: T } = d;
  const dh = D / H;
  const nq = (K: number) => 4 * T * (int8RowWords(K) + 3);
  return 4 * (7 * T * D + 2 * T * F + H * T * T + T * dh) + nq(D) + nq(F);
}

/** Bytes per nonce of a batch: its input stream and its output (h, or the final int8 row). */
export function pocPerNonceBytes(d: PocDims): number {
  return 4 * 2 * d.seqLen * d.dModel;
}

export interface ShardRange {
  /** first layer */
  readonly from: number;
  /** one past the last layer */
  readonly to: number;
  /** this shard applies the final normquant and returns the output rows */
  readonly last: boolean;
}

/** Contiguous layer ranges for `n` devices: the first `L mod n` get one more layer. */
export function splitLayers(nLayers: number, n: number): ShardRange[] {
  if (n < 1) throw new RangeError('splitLayers: at least one device');
  const base = Math.floor(nLayers / n);
  const extra = nLayers % n;
  const out: ShardRange[] = [];
  let from = 0;
  for (let i = 0; i < n; i++) {
    const to = from + base + (i < extra ? 1 : 0);
    out.push({ from, to, last: i === n - 1 });
    from = to;
  }
  return out;
}

export class PocGpuShard {
  private readonly owned: GPUBuffer[] = [];
  private readonly layers: Array<Record<'q' | 'k' | 'v' | 'o' | '1' | '2', WeightGpu>>;
  private readonly ropeCos: GPUBuffer;
  private readonly ropeSin: GPUBuffer;
  private readonly s: Record<string, GPUBuffer>;
  private readonly nqD: NormQuantGpu;
  private readonly nqF: NormQuantGpu;
  private io: { n: number; input: GPUBuffer; output: GPUBuffer } | undefined;
  private closed = false;

  constructor(readonly ctx: GpuContext, readonly model: PocModel, readonly range: ShardRange) {
    const { seqLen: T, dModel: D, dFF: F, nHeads: H } = model.dims;
    const keep = (b: GPUBuffer) => (this.owned.push(b), b);
    const weight = (t: TernaryTensor): WeightGpu => ({ buf: keep(ctx.upload(packTernaryRows(t.w, t.rows, t.cols))), gamma: t.gamma, N: t.rows, K: t.cols });
    this.layers = model.bb.layers.slice(range.from, range.to).map((L) => ({
      // The PoC model is a byte-level (SPEC v1 §5) config: the plain FFN's W1 and W2 are always there.
      q: weight(L.wq), k: weight(L.wk), v: weight(L.wv), o: weight(L.wo), 1: weight(L.w1!), 2: weight(L.w2!),
    }));
    const rope = ropeFor(T, headDim(model.bb.cfg));
    this.ropeCos = keep(ctx.upload(rope.cos));
    this.ropeSin = keep(ctx.upload(rope.sin));
    const st = (words: number) => keep(ctx.storage(words));
    this.s = { h: st(T * D), y: st(T * D), q8: st(T * D), qr: st(T * D), kr: st(T * D), v8: st(T * D), o: st(T * D), f: st(T * F), a2: st(T * F), prob: st(H * T * T), hLast: st(D) };
    const nq = (K: number) => {
      const q = allocNormQuant(ctx, T, K);
      for (const b of Object.values(q)) keep(b);
      return q;
    };
    this.nqD = nq(D);
    this.nqF = nq(F);
  }

  private outWords(): number {
    const { seqLen: T, dModel: D } = this.model.dims;
    return this.range.last ? int8RowWords(D) : T * D;
  }

  private ioFor(n: number): { input: GPUBuffer; output: GPUBuffer } {
    if (!this.io || this.io.n < n) {
      this.io?.input.destroy();
      this.io?.output.destroy();
      const { seqLen: T, dModel: D } = this.model.dims;
      this.io = { n, input: this.ctx.storage(n * T * D), output: this.ctx.storage(n * this.outWords()) };
    }
    return this.io;
  }

  /**
   * Runs this shard's layers on `hs` (each the residual stream [T, D] of one nonce). Returns the
   * next residual streams, or (last shard) the final normquant row of the last position of each.
   */
  async run(hs: readonly Int32Array[]): Promise<Int32Array[] | Int8Array[]> {
    if (this.closed) throw new Error('PocGpuShard: used after close()');
    const { ctx, s } = this;
    const { seqLen: T, dModel: D } = this.model.dims;
    const n = hs.length;
    if (n === 0) return [];
    const TD = T * D;
    const io = this.ioFor(n);
    const all = new Int32Array(n * TD);
    hs.forEach((h, i) => all.set(h, i * TD));
    ctx.write(io.input, all);
    const ow = this.outWords();
    await ctx.run((e) => {
      for (let i = 0; i < n; i++) {
        e.copyBufferToBuffer(io.input, i * TD * 4, s.h, 0, TD * 4);
        this.encodeLayers(e);
        if (this.range.last) {
          e.copyBufferToBuffer(s.h, (T - 1) * D * 4, s.hLast, 0, D * 4);
          encodeNormquant(ctx, e, s.hLast, this.nqD, 1, D);
          e.copyBufferToBuffer(this.nqD.x8, 0, io.output, i * ow * 4, ow * 4);
        } else {
          e.copyBufferToBuffer(s.h, 0, io.output, i * TD * 4, TD * 4);
        }
      }
    });
    const words = await ctx.readI32(io.output, n * ow);
    if (!this.range.last) return Array.from({ length: n }, (_, i) => words.slice(i * TD, (i + 1) * TD));
    const bytes = new Int8Array(words.buffer, words.byteOffset, n * ow * 4);
    return Array.from({ length: n }, (_, i) => bytes.slice(i * ow * 4, i * ow * 4 + D));
  }

  private encodeLayers(e: GPUCommandEncoder): void {
    const { ctx, s } = this;
    const { seqLen: T, dModel: D, dFF: F, nHeads: H } = this.model.dims;
    const dh = D / H;
    const TD = T * D;
    for (const w of this.layers) {
      const proj = (p: 'q' | 'k' | 'v' | 'o', nq: NormQuantGpu): void => encodeTernlin(ctx, e, w[p].buf, w[p].gamma, nq.x8, nq.sx, s.y, T, w[p].N, w[p].K);
      encodeNormquant(ctx, e, s.h, this.nqD, T, D);
      proj('q', this.nqD);
      encodeToq8(ctx, e, s.y, s.q8, TD);
      encodeRope(ctx, e, false, this.ropeCos, this.ropeSin, s.q8, s.qr, T, H, dh);
      proj('k', this.nqD);
      encodeToq8(ctx, e, s.y, s.q8, TD);
      encodeRope(ctx, e, false, this.ropeCos, this.ropeSin, s.q8, s.kr, T, H, dh);
      proj('v', this.nqD);
      encodeToq8(ctx, e, s.y, s.v8, TD);
      encodeAttention(ctx, e, s.qr, s.kr, s.v8, s.o, s.prob, T, H, dh);
      encodeNormquant(ctx, e, s.o, this.nqD, T, D);
      proj('o', this.nqD);
      encodeAddClamp(ctx, e, s.h, s.y, TD, H_MAX);
      encodeNormquant(ctx, e, s.h, this.nqD, T, D);
      encodeTernlin(ctx, e, w[1].buf, w[1].gamma, this.nqD.x8, this.nqD.sx, s.f, T, w[1].N, w[1].K);
      encodeRelu2(ctx, e, s.f, s.a2, T * F);
      encodeNormquant(ctx, e, s.a2, this.nqF, T, F);
      encodeTernlin(ctx, e, w[2].buf, w[2].gamma, this.nqF.x8, this.nqF.sx, s.y, T, w[2].N, w[2].K);
      encodeAddClamp(ctx, e, s.h, s.y, TD, H_MAX);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const b of this.owned) b.destroy();
    this.io?.input.destroy();
    this.io?.output.destroy();
  }
}

/**
 * One model instance on a group of devices: the layers split across them in device order
 * (splitLayers), the residual streams passed from shard to shard. One device: one shard.
 */
export class PocGpuGroup {
  readonly shards: PocGpuShard[];

  constructor(readonly devices: readonly GpuContext[], readonly model: PocModel) {
    const ranges = splitLayers(model.dims.nLayers, devices.length);
    this.shards = devices.map((ctx, i) => new PocGpuShard(ctx, model, ranges[i]));
  }

  /** The output rows (int8[D]) of `nonces`, in order. */
  async outputs(nonces: readonly bigint[]): Promise<Int8Array[]> {
    const { seqLen: T } = this.model.dims;
    let hs: Int32Array[] = nonces.map((n) => embedTokens(this.model.bb, pocInput(this.model.seed, T, n)));
    for (const shard of this.shards) {
      const out = await shard.run(hs);
      if (shard.range.last) return out as Int8Array[];
      hs = out as Int32Array[];
    }
    throw new Error('PocGpuGroup: no last shard');
  }

  close(): void {
    for (const s of this.shards) s.close();
  }
}
