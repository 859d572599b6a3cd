// One training step (SPEC.md §6) on WebGPU: the model of src/model/{forward,backward}.ts with
// every op and every join on the device, the backbone resident, gradients summed exactly in
// acc64 pairs across the whole chunk, and the signum update on the device. Only the embedding
// rows and targets go up per sequence, and only the new adapter state and the per-token losses
// come back per step. The result is the CPU step's, byte for byte (test/webgpu-step.test.ts).

import { XENT_MAX_VOCAB } from '../kernels/webgpu/xent.ts';
import type { GpuContext } from '../kernels/webgpu/device.ts';
import {
  allocNormQuant, encodeAttention, encodeAttentionBackward, encodeCrossEntropy, encodeLoraBackward, encodeLoraForward,
  encodeLoraNarrow, encodeNormquant, encodeNormquantBackward, encodeRelu2, encodeRelu2Backward, encodeRope, encodeRopeTable,
  encodeSignumStep, encodeTernlin, encodeTernlinBackward, encodeToq8, lossTotal, type NormQuantGpu,
} from '../kernels/webgpu/ops.ts';
import { fromAcc64, packTernaryRows } from '../kernels/webgpu/packing.ts';
import { encodeAccAdd, encodeAccSatG, encodeAddClamp, encodeClampInPlace, G_MAX, H_MAX } from '../kernels/webgpu/step-glue.ts';
import { type AdapterGrads, type AdapterState, type LoraLayer, type LoraPair, newGrads } from '../model/adapter.ts';
import { type Backbone, plainFfn, refuseV2, type TernaryTensor, ternaryHead } from '../model/backbone.ts';
import { embedTokens, type Tokens } from '../model/forward.ts';
import { headDim, kvHeads, LORA_PROJECTIONS, loraAlpha, type LoraProjection, loraDims, type LoraTarget, loraTargets, ropeTheta, type V2Feature } from '../model/config.ts';
import { log2Q16 } from '../kernels/cpu/rope.ts';
import { encodeGatedMul, encodeGatedMulBackward } from '../kernels/webgpu/gated.ts';
import type { GainGpu } from '../kernels/webgpu/normquant.ts';
import { encodeTiedHead, encodeTiedHeadBackward } from '../kernels/webgpu/tied-head.ts';
import type { Bf16Block } from '../kernels/cpu/bf16.ts';

/** The SPEC v2 features this step implements (the rest are refused by name). */
export const WEBGPU_V2: readonly V2Feature[] = ['gqa', 'ropeTheta', 'ropeHalf', 'loraTargets', 'loraAlpha', 'gatedFfn', 'vocab', 'normGains', 'tiedEmbedding'];
import { stateHash } from './hash.ts';
import { nextByteTargets, splitSequences } from './sequences.ts';
import { SHIFT_A, SHIFT_B, type StepOptions, type StepResult } from './step.ts';

interface WeightGpu {
  readonly buf: GPUBuffer;
  readonly gamma: number;
  /** rows (outputs) */
  readonly N: number;
  /** cols (inputs) */
  readonly K: number;
}

/** One projection's adapter on the device: master weights, momentum, forward copies, gradients. */
interface LoraGpu {
  readonly a: GPUBuffer;
  readonly b: GPUBuffer;
  readonly ma: GPUBuffer;
  readonly mb: GPUBuffer;
  readonly a12: GPUBuffer;
  readonly b10: GPUBuffer;
  /** acc64 pairs [r·D] */
  readonly gA: GPUBuffer;
  readonly gB: GPUBuffer;
}

/** What the backward pass of one layer needs from its forward pass. */
interface LayerCacheGpu {
  readonly nq1: NormQuantGpu;
  readonly nq2: NormQuantGpu;
  readonly nq3: NormQuantGpu;
  readonly nq4: NormQuantGpu;
  readonly u: Partial<Record<LoraTarget, GPUBuffer>>;
  readonly qr: GPUBuffer;
  readonly kr: GPUBuffer;
  readonly v8: GPUBuffer;
  readonly p: GPUBuffer;
  /** W1's output (plain FFN) or the gate projection's (gated) [T, F] */
  readonly f: GPUBuffer;
  /** gated FFN only: relu2(gate) and the up projection's output [T, F] */
  readonly a?: GPUBuffer;
  readonly up?: GPUBuffer;
}

/** A layer's learned norm gains on the device (SPEC v2 §4.1g), when the model has them. */
interface GainsGpu {
  readonly attnNorm: GainGpu;
  readonly attnSubNorm: GainGpu;
  readonly ffnNorm: GainGpu;
  readonly ffnSubNorm: GainGpu;
}

interface LayerGpu {
  readonly gains?: GainsGpu;
  /** 1, 2: W1, W2 (plain FFN) or W_gate, W_down (gated, with `up` = W_up) */
  readonly w: Record<'q' | 'k' | 'v' | 'o' | '1' | '2', WeightGpu> & { readonly up?: WeightGpu };
  /** the model's LoRA targets */
  readonly lora: Partial<Record<LoraTarget, LoraGpu>>;
  readonly cache: LayerCacheGpu;
}

/** Per-sequence inputs: one slot per sequence of a micro-batch (a command buffer). */
interface SlotGpu {
  readonly h0: GPUBuffer;
  readonly targets: GPUBuffer;
}

/**
 * A backbone resident on one device, with the buffers of one sequence's forward and backward
 * pass. Sequences run one after another inside a command buffer (each dispatch is its own pass,
 * so WebGPU orders them), which lets every scratch buffer be reused.
 */
export class WebGpuTrainer {
  private readonly owned: GPUBuffer[] = [];
  private readonly targets: readonly LoraTarget[];
  private readonly finalGain?: GainGpu;
  private readonly layers: LayerGpu[];
  /** the ternary head, or (tied, SPEC v2 §4.11) the bf16 embedding block */
  private readonly head: WeightGpu | { readonly eq: GPUBuffer; readonly shift: number };
  private readonly T: number;
  private readonly ropeCos: GPUBuffer;
  private readonly ropeSin: GPUBuffer;
  private readonly s: Record<string, GPUBuffer>;
  private readonly nqf: NormQuantGpu;
  private slots: SlotGpu[] = [];
  private destroyed = false;

  constructor(readonly ctx: GpuContext, readonly bb: Backbone) {
    refuseV2(bb.cfg, 'the WebGPU training step', WEBGPU_V2);
    this.targets = loraTargets(bb.cfg);
    if (bb.cfg.vocab > XENT_MAX_VOCAB) throw new RangeError(`the WebGPU training step implements vocabularies up to ${XENT_MAX_VOCAB}; this model has ${bb.cfg.vocab} (run it on the CPU backend)`);
    const { dModel: D, dFF: F, nHeads: H, loraRank: r, seqLen: T } = bb.cfg;
    const Dkv = kvHeads(bb.cfg) * headDim(bb.cfg);
    this.T = T;
    const n = r * D;
    const store = (words: number): GPUBuffer => this.keep(ctx.storage(words));
    const weight = (t: TernaryTensor): WeightGpu => ({
      buf: this.keep(ctx.upload(packTernaryRows(t.w, t.rows, t.cols))), gamma: t.gamma, N: t.rows, K: t.cols,
    });
    const gainGpu = (g: Bf16Block): GainGpu => ({ buf: this.keep(ctx.upload(g.q)), shift: g.shift });
    const nq = (K: number): NormQuantGpu => {
      const q = allocNormQuant(ctx, T, K, true);
      for (const b of Object.values(q)) this.keep(b);
      return q;
    };
    this.layers = bb.layers.map((L) => {
      const lora: Partial<Record<LoraTarget, LoraGpu>> = {};
      const u: Partial<Record<LoraTarget, GPUBuffer>> = {};
      for (const p of this.targets) {
        const { K, N } = loraDims(bb.cfg, p); // A [r, K], B [N, r] (k, v: N = Dkv; gate, up: N = F; down: K = F)
        const [na, nb] = [r * K, r * N];
        lora[p] = { a: store(na), b: store(nb), ma: store(na), mb: store(nb), a12: store(na), b10: store(nb), gA: store(2 * na), gB: store(2 * nb) };
        u[p] = store(T * r);
      }
      return {
        w: L.wgate
          ? { q: weight(L.wq), k: weight(L.wk), v: weight(L.wv), o: weight(L.wo), 1: weight(L.wgate), 2: weight(L.wdown!), up: weight(L.wup!) }
          : { q: weight(L.wq), k: weight(L.wk), v: weight(L.wv), o: weight(L.wo), 1: weight(plainFfn(L).w1), 2: weight(plainFfn(L).w2) },
        lora,
        ...(L.gains
          ? {
            gains: {
              attnNorm: gainGpu(L.gains.attnNorm), attnSubNorm: gainGpu(L.gains.attnSubNorm),
              ffnNorm: gainGpu(L.gains.ffnNorm), ffnSubNorm: gainGpu(L.gains.ffnSubNorm),
            },
          }
          : {}),
        cache: {
          nq1: nq(D), nq2: nq(D), nq3: nq(D), nq4: nq(F), u,
          qr: store(T * D), kr: store(T * Dkv), v8: store(T * Dkv), p: store(H * T * T), f: store(T * F),
          ...(L.wgate ? { a: store(T * F), up: store(T * F) } : {}),
        },
      };
    });
    this.head = bb.embedBf16 ? { eq: this.keep(ctx.upload(bb.embedBf16.q)), shift: bb.embedBf16.shift } : weight(ternaryHead(bb));
    this.finalGain = bb.finalGain ? gainGpu(bb.finalGain) : undefined;
    this.nqf = nq(D);
    const TD = T * D;
    const TF = T * F;
    this.s = {
      // forward scratch
      h: store(TD), y: store(TD), q8: store(TD), o: store(TD), a2: store(TF), logits: store(T * bb.cfg.vocab),
      // loss of the current sequence (two words per token, see xent.wgsl)
      loss: store(2 * T),
      // backward scratch
      dlogits: store(T * bb.cfg.vocab), gh: store(TD), dxD: store(TD), dxF: store(TF), dF: store(TF), dU: store(TF), accF: store(2 * TF), dxlF: store(TF), nqD: store(TD),
      acc: store(2 * TD), dxl: store(TD), dsum: store(TD), dout: store(TD), ds: store(H * T * T),
      dq: store(TD), dk: store(TD), dv: store(TD), dqr: store(TD), dkr: store(TD), du: store(T * r), dux: store(T * r),
    };
    const half = (T * headDim(bb.cfg)) / 2;
    this.ropeCos = store(half);
    this.ropeSin = store(half);
  }

  private keep(b: GPUBuffer): GPUBuffer {
    this.owned.push(b);
    return b;
  }

  private slot(i: number): SlotGpu {
    while (this.slots.length <= i) {
      const { dModel: D } = this.bb.cfg;
      this.slots.push({ h0: this.keep(this.ctx.storage(this.T * D)), targets: this.keep(this.ctx.storage(this.T)) });
    }
    return this.slots[i];
  }

  /** One SPEC §6 step; `state` is not mutated. */
  /**
   * Uploads `state` (and its momentum when `withMomentum`), zeroes the gradient sums and runs the
   * forward and backward of every sequence: the exact acc64 sums are then in each target's
   * gA/gB, the per-token losses in the returned buffer (the caller destroys it). step() follows
   * with the optimizer; gradients() reads the sums (multi-device training adds them on the host).
   */
  private async accumulate(state: AdapterState, seqs: readonly Tokens[], mb: number, withMomentum: boolean): Promise<{ lossAll: GPUBuffer; tokens: number }> {
    const { ctx, bb } = this;
    const { dModel: D, loraRank: r, seqLen: T } = bb.cfg;
    const nA = (p: LoraTarget): number => r * loraDims(bb.cfg, p).K;
    const nB = (p: LoraTarget): number => r * loraDims(bb.cfg, p).N;
    // State up, forward copies, gradients zeroed, RoPE table: all before the first sequence.
    this.layers.forEach((layer, l) => {
      for (const p of this.targets) {
        const g = layer.lora[p]!;
        ctx.write(g.a, state.params[l][p]!.a);
        ctx.write(g.b, state.params[l][p]!.b);
        if (withMomentum) {
          ctx.write(g.ma, state.momentum[l][p]!.a);
          ctx.write(g.mb, state.momentum[l][p]!.b);
        }
      }
    });
    await ctx.run((e) => {
      const theta = ropeTheta(bb.cfg);
      encodeRopeTable(ctx, e, this.ropeCos, this.ropeSin, T, headDim(bb.cfg), theta === 10000 ? 0 : log2Q16(theta));
      for (const layer of this.layers) {
        for (const p of this.targets) {
          const g = layer.lora[p]!;
          encodeLoraNarrow(ctx, e, g.a, g.a12, nA(p), 4, 4096);
          encodeLoraNarrow(ctx, e, g.b, g.b10, nB(p), 6, 1024);
          e.clearBuffer(g.gA);
          e.clearBuffer(g.gB);
        }
      }
    });

    // Every sequence's per-token losses land in one buffer, read once at the end.
    const lossAll = ctx.storage(2 * T * seqs.length);
    let tokens = 0;
    try {
      for (let i = 0; i < seqs.length; i += mb) {
        const group = seqs.slice(i, i + mb);
        group.forEach((seq, j) => {
          const slot = this.slot(j);
          ctx.write(slot.h0, embedTokens(bb, seq));
          ctx.write(slot.targets, Int32Array.from(nextByteTargets(seq)));
          tokens += seq.length - 1;
        });
        await ctx.run((e) => {
          group.forEach((_seq, j) => {
            const slot = this.slot(j);
            e.copyBufferToBuffer(slot.h0, 0, this.s.h, 0, T * D * 4);
            this.encodeForward(e);
            encodeCrossEntropy(ctx, e, this.s.logits, slot.targets, this.s.dlogits, this.s.loss, T, bb.cfg.vocab);
            e.copyBufferToBuffer(this.s.loss, 0, lossAll, (i + j) * 2 * T * 4, 2 * T * 4);
            this.encodeBackward(e);
          });
        });
      }
      return { lossAll, tokens };
    } catch (err) {
      lossAll.destroy();
      throw err;
    }
  }

  async step(state: AdapterState, chunk: Tokens, step: number, opts: StepOptions): Promise<StepResult> {
    if (this.destroyed) throw new Error('WebGpuTrainer: used after destroy()');
    const { ctx, bb } = this;
    const { dModel: D, loraRank: r, seqLen: T } = bb.cfg;
    const seqs = splitSequences(chunk, T);
    const mb = Math.max(1, Math.min(opts.microBatch ?? seqs.length, seqs.length));
    const nA = (p: LoraTarget): number => r * loraDims(bb.cfg, p).K;
    const nB = (p: LoraTarget): number => r * loraDims(bb.cfg, p).N;

    const { lossAll, tokens } = await this.accumulate(state, seqs, mb, true);
    try {
      await ctx.run((e) => {
        for (const layer of this.layers) {
          for (const p of this.targets) {
            const g = layer.lora[p]!;
            encodeSignumStep(ctx, e, g.a, g.ma, g.gA, nA(p), SHIFT_A, opts.lr);
            encodeSignumStep(ctx, e, g.b, g.mb, g.gB, nB(p), SHIFT_B, opts.lr);
          }
        }
      });
      const bufs: GPUBuffer[] = [];
      const words: number[] = [];
      for (const layer of this.layers) {
        for (const p of this.targets) {
          const g = layer.lora[p]!;
          bufs.push(g.a, g.b, g.ma, g.mb);
          words.push(nA(p), nB(p), nA(p), nB(p));
        }
      }
      bufs.push(lossAll);
      words.push(2 * T * seqs.length);
      const back = await ctx.readManyI32(bufs, words);
      const lossWords = back.pop() as Int32Array;
      let k = 0;
      const params: LoraLayer[] = [];
      const momentum: LoraLayer[] = [];
      for (let l = 0; l < this.layers.length; l++) {
        const pr: Partial<Record<LoraTarget, LoraPair>> = {};
        const mr: Partial<Record<LoraTarget, LoraPair>> = {};
        for (const p of this.targets) {
          pr[p] = { a: back[k], b: back[k + 1] };
          mr[p] = { a: back[k + 2], b: back[k + 3] };
          k += 4;
        }
        params.push(pr as LoraLayer);
        momentum.push(mr as LoraLayer);
      }
      const next: AdapterState = { params, momentum };
      const lw = new Uint32Array(lossWords.buffer, lossWords.byteOffset, lossWords.length);
      const lossSumQ16 = lossTotal(lw, T * seqs.length);
      return { state: next, hash: stateHash(step, next), lossSumQ16, tokens };
    } finally {
      lossAll.destroy();
    }
  }

  private encodeForward(e: GPUCommandEncoder): void {
    const { ctx, T, s } = this;
    const { dModel: D, dFF: F, nHeads: H, loraRank: r } = this.bb.cfg;
    const dh = headDim(this.bb.cfg);
    const Hkv = kvHeads(this.bb.cfg);
    const layout = this.bb.cfg.ropeLayout ?? 'adjacent';
    const TD = T * D;
    const TDkv = T * Hkv * dh;
    for (const layer of this.layers) {
      const c = layer.cache;
      const proj = (p: LoraProjection, nq: NormQuantGpu): void => {
        const w = layer.w[p];
        encodeTernlin(ctx, e, w.buf, w.gamma, nq.x8, nq.sx, s.y, T, w.N, w.K);
        const g = layer.lora[p];
        if (g) encodeLoraForward(ctx, e, g.a12, g.b10, nq.x8, nq.sx, s.y, c.u[p]!, T, w.N, D, r, loraAlpha(this.bb.cfg));
      };
      encodeNormquant(ctx, e, s.h, c.nq1, T, D, layer.gains?.attnNorm);
      proj('q', c.nq1);
      encodeToq8(ctx, e, s.y, s.q8, TD);
      encodeRope(ctx, e, false, this.ropeCos, this.ropeSin, s.q8, c.qr, T, H, dh, layout);
      proj('k', c.nq1);
      encodeToq8(ctx, e, s.y, s.q8, TDkv);
      encodeRope(ctx, e, false, this.ropeCos, this.ropeSin, s.q8, c.kr, T, Hkv, dh, layout);
      proj('v', c.nq1);
      encodeToq8(ctx, e, s.y, c.v8, TDkv);
      encodeAttention(ctx, e, c.qr, c.kr, c.v8, s.o, c.p, T, H, dh, Hkv);
      encodeNormquant(ctx, e, s.o, c.nq2, T, D, layer.gains?.attnSubNorm);
      proj('o', c.nq2);
      encodeAddClamp(ctx, e, s.h, s.y, TD, H_MAX);
      encodeNormquant(ctx, e, s.h, c.nq3, T, D, layer.gains?.ffnNorm);
      const w1 = layer.w[1];
      const wu = layer.w.up;
      /** LoRA of target p (when the model has it) added into y */
      const loraFwd = (p: LoraTarget, nq: NormQuantGpu, y: GPUBuffer): void => {
        const g = layer.lora[p];
        if (!g) return;
        const { K, N } = loraDims(this.bb.cfg, p);
        encodeLoraForward(ctx, e, g.a12, g.b10, nq.x8, nq.sx, y, c.u[p]!, T, N, K, r, loraAlpha(this.bb.cfg));
      };
      encodeTernlin(ctx, e, w1.buf, w1.gamma, c.nq3.x8, c.nq3.sx, c.f, T, w1.N, w1.K);
      loraFwd(wu ? 'gate' : 'up', c.nq3, c.f);
      if (wu && c.a && c.up) {
        // gated (SPEC v2 §4.12): m = mulShr(relu2(gate), up, 16)
        encodeRelu2(ctx, e, c.f, c.a, T * F);
        encodeTernlin(ctx, e, wu.buf, wu.gamma, c.nq3.x8, c.nq3.sx, c.up, T, wu.N, wu.K);
        loraFwd('up', c.nq3, c.up);
        encodeGatedMul(ctx, e, c.a, c.up, s.a2, T * F);
      } else {
        encodeRelu2(ctx, e, c.f, s.a2, T * F);
      }
      encodeNormquant(ctx, e, s.a2, c.nq4, T, F, layer.gains?.ffnSubNorm);
      const w2 = layer.w[2];
      encodeTernlin(ctx, e, w2.buf, w2.gamma, c.nq4.x8, c.nq4.sx, s.y, T, w2.N, w2.K);
      loraFwd('down', c.nq4, s.y);
      encodeAddClamp(ctx, e, s.h, s.y, TD, H_MAX);
    }
    encodeNormquant(ctx, e, s.h, this.nqf, T, D, this.finalGain);
    const hd = this.head;
    if ('eq' in hd) encodeTiedHead(ctx, e, hd.eq, hd.shift, this.nqf.x8, this.nqf.sx, s.logits, T, this.bb.cfg.vocab, D);
    else encodeTernlin(ctx, e, hd.buf, hd.gamma, this.nqf.x8, this.nqf.sx, s.logits, T, hd.N, hd.K);
  }

  private encodeBackward(e: GPUCommandEncoder): void {
    const { ctx, T, s } = this;
    const { dModel: D, dFF: F, nHeads: H, loraRank: r } = this.bb.cfg;
    const dh = headDim(this.bb.cfg);
    const Hkv = kvHeads(this.bb.cfg);
    const layout = this.bb.cfg.ropeLayout ?? 'adjacent';
    const TD = T * D;
    const TF = T * F;
    // Head: dxf = satG(ternlin backward), then normquant backward → gh.
    const hd = this.head;
    if ('eq' in hd) encodeTiedHeadBackward(ctx, e, hd.eq, hd.shift, s.dlogits, s.dxD, T, this.bb.cfg.vocab, D);
    else encodeTernlinBackward(ctx, e, hd.buf, hd.gamma, s.dlogits, s.dxD, T, hd.N, hd.K);
    encodeClampInPlace(ctx, e, s.dxD, TD, G_MAX);
    encodeNormquantBackward(ctx, e, s.dxD, this.nqf.v!, this.nqf.rinv, this.nqf.z, s.gh, T, D, this.finalGain);

    for (let l = this.layers.length - 1; l >= 0; l--) {
      const layer = this.layers[l];
      const c = layer.cache;
      /** LoRA backward of target p (when present): weight gradients, and its dx term added to acc */
      const loraBack = (p: LoraTarget, nq: NormQuantGpu, dy: GPUBuffer, acc: GPUBuffer, dxl: GPUBuffer): void => {
        const g = layer.lora[p];
        if (!g) return;
        const { K, N } = loraDims(this.bb.cfg, p);
        encodeLoraBackward(ctx, e, {
          a12: g.a12, b10: g.b10, x8: nq.x8, sx: nq.sx, u: c.u[p]!, dy, du: s.du, dux: s.dux, gA: g.gA, gB: g.gB, dxl,
        }, T, N, K, r, loraAlpha(this.bb.cfg));
        encodeAccAdd(ctx, e, acc, dxl, T * K);
      };
      // FFN branch.
      const w2 = layer.w[2];
      encodeTernlinBackward(ctx, e, w2.buf, w2.gamma, s.gh, s.dxF, T, w2.N, w2.K);
      if (layer.lora.down) {
        // the down input's join: satG(ternlin dx + LoRA dx), [T, F]
        e.clearBuffer(s.accF);
        encodeAccAdd(ctx, e, s.accF, s.dxF, TF);
        loraBack('down', c.nq4, s.gh, s.accF, s.dxlF);
        encodeAccSatG(ctx, e, s.accF, s.dxF, TF);
      } else {
        encodeClampInPlace(ctx, e, s.dxF, TF, G_MAX);
      }
      encodeNormquantBackward(ctx, e, s.dxF, c.nq4.v!, c.nq4.rinv, c.nq4.z, s.dF, T, F, layer.gains?.ffnSubNorm);
      const w1 = layer.w[1];
      const wu = layer.w.up;
      if (wu && c.a && c.up) {
        // gated: da → dxF, du → dU (dm = dF is read first), then dgate = relu2 backward → dF;
        // the FFN input's gradient is the join satG(gate dx + up dx, ternary and LoRA terms).
        encodeGatedMulBackward(ctx, e, c.a, c.up, s.dF, s.dxF, s.dU, TF);
        encodeRelu2Backward(ctx, e, c.f, s.dxF, s.dF, TF);
        e.clearBuffer(s.acc);
        encodeTernlinBackward(ctx, e, w1.buf, w1.gamma, s.dF, s.dxD, T, w1.N, w1.K);
        encodeAccAdd(ctx, e, s.acc, s.dxD, TD);
        loraBack('gate', c.nq3, s.dF, s.acc, s.dxl);
        encodeTernlinBackward(ctx, e, wu.buf, wu.gamma, s.dU, s.dxD, T, wu.N, wu.K);
        encodeAccAdd(ctx, e, s.acc, s.dxD, TD);
        loraBack('up', c.nq3, s.dU, s.acc, s.dxl);
        encodeAccSatG(ctx, e, s.acc, s.dsum, TD);
        encodeNormquantBackward(ctx, e, s.dsum, c.nq3.v!, c.nq3.rinv, c.nq3.z, s.nqD, T, D, layer.gains?.ffnNorm);
      } else if (layer.lora.up) {
        encodeRelu2Backward(ctx, e, c.f, s.dF, s.dxF, TF);
        e.clearBuffer(s.acc);
        encodeTernlinBackward(ctx, e, w1.buf, w1.gamma, s.dxF, s.dxD, T, w1.N, w1.K);
        encodeAccAdd(ctx, e, s.acc, s.dxD, TD);
        loraBack('up', c.nq3, s.dxF, s.acc, s.dxl);
        encodeAccSatG(ctx, e, s.acc, s.dsum, TD);
        encodeNormquantBackward(ctx, e, s.dsum, c.nq3.v!, c.nq3.rinv, c.nq3.z, s.nqD, T, D, layer.gains?.ffnNorm);
      } else {
        encodeRelu2Backward(ctx, e, c.f, s.dF, s.dxF, TF);
        encodeTernlinBackward(ctx, e, w1.buf, w1.gamma, s.dxF, s.dxD, T, w1.N, w1.K);
        encodeClampInPlace(ctx, e, s.dxD, TD, G_MAX);
        encodeNormquantBackward(ctx, e, s.dxD, c.nq3.v!, c.nq3.rinv, c.nq3.z, s.nqD, T, D, layer.gains?.ffnNorm);
      }
      encodeAddClamp(ctx, e, s.gh, s.nqD, TD, G_MAX);

      // Attention branch: dx of a normalized input = satG(Σ over consumers of ternlin dx + LoRA dx).
      const projBack = (p: LoraProjection, nq: NormQuantGpu, dy: GPUBuffer): void => {
        const w = layer.w[p];
        encodeTernlinBackward(ctx, e, w.buf, w.gamma, dy, s.dxD, T, w.N, w.K);
        encodeAccAdd(ctx, e, s.acc, s.dxD, TD);
        const g = layer.lora[p];
        if (!g) return; // not a target: the ternary term alone
        encodeLoraBackward(ctx, e, {
          a12: g.a12, b10: g.b10, x8: nq.x8, sx: nq.sx, u: c.u[p]!, dy, du: s.du, dux: s.dux, gA: g.gA, gB: g.gB, dxl: s.dxl,
        }, T, w.N, D, r, loraAlpha(this.bb.cfg));
        encodeAccAdd(ctx, e, s.acc, s.dxl, TD);
      };
      e.clearBuffer(s.acc);
      projBack('o', c.nq2, s.gh);
      encodeAccSatG(ctx, e, s.acc, s.dsum, TD);
      encodeNormquantBackward(ctx, e, s.dsum, c.nq2.v!, c.nq2.rinv, c.nq2.z, s.dout, T, D, layer.gains?.attnSubNorm);
      encodeAttentionBackward(ctx, e, {
        qr: c.qr, kr: c.kr, v8: c.v8, dout: s.dout, p: c.p, ds: s.ds, dq: s.dq, dk: s.dk, dv: s.dv,
      }, T, H, dh, Hkv);
      encodeRope(ctx, e, true, this.ropeCos, this.ropeSin, s.dq, s.dqr, T, H, dh, layout);
      encodeRope(ctx, e, true, this.ropeCos, this.ropeSin, s.dk, s.dkr, T, Hkv, dh, layout);
      e.clearBuffer(s.acc);
      projBack('q', c.nq1, s.dqr);
      projBack('k', c.nq1, s.dkr);
      projBack('v', c.nq1, s.dv);
      encodeAccSatG(ctx, e, s.acc, s.dsum, TD);
      encodeNormquantBackward(ctx, e, s.dsum, c.nq1.v!, c.nq1.rinv, c.nq1.z, s.nqD, T, D, layer.gains?.attnNorm);
      encodeAddClamp(ctx, e, s.gh, s.nqD, TD, G_MAX);
    }
  }

  /**
   * Forward and backward of `seqs` from `state`, without the update: the exact acc64 gradient sums
   * (the same integers the CPU's sums hold) and the loss. Several devices each run a part of a
   * chunk's sequences and the host adds their sums (src/train/multi-device.ts).
   */
  async gradients(state: AdapterState, seqs: readonly Tokens[], microBatch?: number): Promise<{ grads: AdapterGrads; lossSumQ16: number; tokens: number }> {
    if (this.destroyed) throw new Error('WebGpuTrainer: used after destroy()');
    const { ctx, bb } = this;
    const { loraRank: r, seqLen: T } = bb.cfg;
    const mb = Math.max(1, Math.min(microBatch ?? seqs.length, seqs.length));
    const { lossAll, tokens } = await this.accumulate(state, seqs, mb, false);
    try {
      const bufs: GPUBuffer[] = [];
      const words: number[] = [];
      for (const layer of this.layers) {
        for (const p of this.targets) {
          bufs.push(layer.lora[p]!.gA, layer.lora[p]!.gB);
          words.push(2 * r * loraDims(bb.cfg, p).K, 2 * r * loraDims(bb.cfg, p).N);
        }
      }
      bufs.push(lossAll);
      words.push(2 * T * seqs.length);
      const back = await ctx.readManyI32(bufs, words);
      const lossWords = back.pop() as Int32Array;
      const grads = newGrads(bb.cfg);
      let k = 0;
      grads.layers.forEach((rec) => {
        for (const p of this.targets) {
          fromAcc64(back[k++], rec[p]!.a);
          fromAcc64(back[k++], rec[p]!.b);
        }
      });
      const lw = new Uint32Array(lossWords.buffer, lossWords.byteOffset, lossWords.length);
      return { grads, lossSumQ16: lossTotal(lw, T * seqs.length), tokens };
    } finally {
      lossAll.destroy();
    }
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const b of this.owned) b.destroy();
    this.owned.length = 0;
  }
}
