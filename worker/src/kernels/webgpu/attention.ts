// Causal multi-head attention (SPEC §4.6) on WebGPU: mirrors cpu/attention.ts `attention` and
// `attentionBackward` (the softmax of cpu/softmax.ts runs inside these kernels).

import { GpuContext, grid2d } from './device.ts';
import { withPrelude } from './prelude.ts';
import { loadWgsl } from './wgsl.ts';

export const ATTENTION_WGSL = withPrelude(loadWgsl('attention.wgsl'), { poly: true });
export const ATTENTION_BACKWARD_WGSL = withPrelude(loadWgsl('attention-backward.wgsl'), { poly: true });

export interface AttentionOut {
  /** Q16 [T, H·dh] */
  o: Int32Array;
  /** Q15 [H, T, T], zero above the diagonal */
  p: Int32Array;
}

export interface AttentionGrads {
  dq: Int32Array;
  dk: Int32Array;
  dv: Int32Array;
}

function check(T: number, H: number, dh: number, Hkv: number): void {
  if (!Number.isInteger(Hkv) || Hkv < 1 || H % Hkv !== 0) throw new RangeError(`attention: Hkv = ${Hkv} must divide H = ${H}`);
  if (!Number.isInteger(dh) || dh < 1 || dh > 256) throw new RangeError(`attention: dh = ${dh} not in [1, 256]`);
  if (T > 16384) throw new RangeError(`attention: T = ${T} exceeds 2^14 (the i32 bound of Σ P·v8)`);
  if (T > 65535 || H > 65535) throw new RangeError('attention: T and H must fit one dispatch dimension');
}

export function encodeAttention(
  ctx: GpuContext, encoder: GPUCommandEncoder,
  qr: GPUBuffer, kr: GPUBuffer, v8: GPUBuffer, o: GPUBuffer, p: GPUBuffer, T: number, H: number, dh: number, Hkv: number = H,
): void {
  check(T, H, dh, Hkv);
  if (T * H === 0) return;
  ctx.dispatch(encoder, ctx.pipeline(ATTENTION_WGSL), [ctx.uniform([T, H, dh, Hkv]), qr, kr, v8, o, p], [T, H]);
}

export interface AttentionBackwardGpu {
  qr: GPUBuffer; kr: GPUBuffer; v8: GPUBuffer; dout: GPUBuffer; p: GPUBuffer;
  /** scratch [H, T, T] */
  ds: GPUBuffer;
  dq: GPUBuffer; dk: GPUBuffer; dv: GPUBuffer;
}

/** GQA (SPEC v2 §4.6): kr, v8, dk, dv are [T, Hkv·dh]; Hkv = H is v1. */
export function encodeAttentionBackward(ctx: GpuContext, encoder: GPUCommandEncoder, b: AttentionBackwardGpu, T: number, H: number, dh: number, Hkv: number = H): void {
  check(T, H, dh, Hkv);
  const n = T * H * dh;
  if (n === 0) return;
  const uni = ctx.uniform([T, H, dh, Hkv]);
  const pl = (entry: string): GPUComputePipeline => ctx.pipeline(ATTENTION_BACKWARD_WGSL, entry);
  const g = grid2d(Math.ceil(n / 64));
  ctx.dispatch(encoder, pl('gradV'), [uni, null, null, null, b.dout, b.p, null, null, null, b.dv], g);
  ctx.dispatch(encoder, pl('gradS'), [uni, null, null, b.v8, b.dout, b.p, b.ds], [T, H]);
  ctx.dispatch(encoder, pl('gradQ'), [uni, null, b.kr, null, null, null, b.ds, b.dq], g);
  ctx.dispatch(encoder, pl('gradK'), [uni, b.qr, null, null, null, null, b.ds, null, b.dk], g);
}

/** qr (RoPE'd) Q8 [T, H·dh]; kr (RoPE'd), v8: Q8 [T, Hkv·dh]. */
export async function attention(ctx: GpuContext, qr: Int32Array, kr: Int32Array, v8: Int32Array, T: number, H: number, dh: number, Hkv: number = H): Promise<AttentionOut> {
  const n = T * H * dh;
  const nkv = T * Hkv * dh;
  const bufs = [ctx.upload(qr.subarray(0, n)), ctx.upload(kr.subarray(0, nkv)), ctx.upload(v8.subarray(0, nkv)), ctx.storage(n), ctx.storage(H * T * T)];
  const [qb, kb, vb, ob, pb] = bufs;
  try {
    await ctx.run((e) => encodeAttention(ctx, e, qb, kb, vb, ob, pb, T, H, dh, Hkv));
    return { o: await ctx.readI32(ob, n), p: await ctx.readI32(pb, H * T * T) };
  } finally {
    for (const b of bufs) b.destroy();
  }
}

/** do Q16 [T, H·dh] → gradients w.r.t. qr, kr, v8 (Q16). */
export async function attentionBackward(
  ctx: GpuContext, dout: Int32Array, att: AttentionOut, qr: Int32Array, kr: Int32Array, v8: Int32Array,
  T: number, H: number, dh: number, Hkv: number = H,
): Promise<AttentionGrads> {
  const n = T * H * dh;
  const nkv = T * Hkv * dh;
  const b: AttentionBackwardGpu = {
    qr: ctx.upload(qr.subarray(0, n)), kr: ctx.upload(kr.subarray(0, nkv)), v8: ctx.upload(v8.subarray(0, nkv)),
    dout: ctx.upload(dout.subarray(0, n)), p: ctx.upload(att.p.subarray(0, H * T * T)),
    ds: ctx.storage(H * T * T), dq: ctx.storage(n), dk: ctx.storage(nkv), dv: ctx.storage(nkv),
  };
  try {
    await ctx.run((e) => encodeAttentionBackward(ctx, e, b, T, H, dh, Hkv));
    return { dq: await ctx.readI32(b.dq, n), dk: await ctx.readI32(b.dk, nkv), dv: await ctx.readI32(b.dv, nkv) };
  } finally {
    for (const buf of Object.values(b)) buf.destroy();
  }
}
