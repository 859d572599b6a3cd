// LoRA (SPEC §4.3) on WebGPU: mirrors cpu/lora.ts `loraA12`, `loraB10`, `loraForward`,
// `loraBackward`, including their in-place effects on the host arrays (y for the forward; gA, gB,
// dxl for the backward).

import { GpuContext, grid2d } from './device.ts';
import { fromAcc64, int8RowWords, packInt8Rows, toAcc64 } from './packing.ts';
import { withPrelude } from './prelude.ts';
import { loadWgsl } from './wgsl.ts';

export const LORA_WGSL = withPrelude(loadWgsl('lora.wgsl'));
export const LORA_BACKWARD_WGSL = withPrelude(loadWgsl('lora-backward.wgsl'));

function groups64(n: number): [number, number] {
  return grid2d(Math.ceil(n / 64));
}

function params(T: number, N: number, K: number, r: number, shift = 0, bound = 0, count = 0, alpha = r): number[] {
  return [T, N, K, r, int8RowWords(K), shift, bound, count, alpha];
}

/** Records dst = clamp(rshr(src, shift), ±bound): A12 is (4, 4096), B10 is (6, 1024). */
export function encodeLoraNarrow(
  ctx: GpuContext, encoder: GPUCommandEncoder, src: GPUBuffer, dst: GPUBuffer, count: number, shift: number, bound: number,
): void {
  if (count === 0) return;
  ctx.dispatch(encoder, ctx.pipeline(LORA_WGSL, 'narrowCopy'), [ctx.uniform(params(0, 0, 0, 0, shift, bound, count)), src, dst], groups64(count));
}

/** Records u = down(A12, x8, sx) and y += up(B10, u). x8 in packInt8Rows layout. */
export function encodeLoraForward(
  ctx: GpuContext, encoder: GPUCommandEncoder,
  a12: GPUBuffer, b10: GPUBuffer, x8: GPUBuffer, sx: GPUBuffer, y: GPUBuffer, u: GPUBuffer,
  T: number, N: number, K: number, r: number, alpha: number = r,
): void {
  const uni = ctx.uniform(params(T, N, K, r, 0, 0, 0, alpha));
  if (T * r > 0) ctx.dispatch(encoder, ctx.pipeline(LORA_WGSL, 'down'), [uni, null, null, a12, x8, sx, u], groups64(T * r));
  if (T * N > 0) ctx.dispatch(encoder, ctx.pipeline(LORA_WGSL, 'up'), [uni, null, null, null, null, null, u, b10, y], groups64(T * N));
}

export interface LoraBackwardGpu {
  a12: GPUBuffer; b10: GPUBuffer; x8: GPUBuffer; sx: GPUBuffer; u: GPUBuffer; dy: GPUBuffer;
  /** scratch [T, r] each */
  du: GPUBuffer; dux: GPUBuffer;
  /** acc64 pairs, updated in place */
  gA: GPUBuffer; gB: GPUBuffer;
  /** out: lora's term of dx [T, K], i32 */
  dxl: GPUBuffer;
}

export function encodeLoraBackward(ctx: GpuContext, encoder: GPUCommandEncoder, b: LoraBackwardGpu, T: number, N: number, K: number, r: number, alpha: number = r): void {
  if (!Number.isInteger(alpha) || alpha < 1 || alpha > 65536) throw new RangeError(`lora (WebGPU): alpha ${alpha} not in [1, 65536]`);
  const uni = ctx.uniform(params(T, N, K, r, 0, 0, 0, alpha));
  const pl = (entry: string): GPUComputePipeline => ctx.pipeline(LORA_BACKWARD_WGSL, entry);
  // du first (gradA and gradX read it), then the three independent consumers.
  if (T * r > 0) ctx.dispatch(encoder, pl('gradU'), [uni, null, b.b10, null, b.sx, null, b.dy, b.du, b.dux], groups64(T * r));
  if (N * r > 0) ctx.dispatch(encoder, pl('gradB'), [uni, null, null, null, null, b.u, b.dy, null, null, null, b.gB], groups64(N * r));
  if (r * K > 0) ctx.dispatch(encoder, pl('gradA'), [uni, null, null, b.x8, null, null, null, null, b.dux, b.gA], groups64(r * K));
  if (T * K > 0) ctx.dispatch(encoder, pl('gradX'), [uni, b.a12, null, null, null, null, null, b.du, null, null, null, b.dxl], groups64(T * K));
}

async function narrowHost(ctx: GpuContext, src: Int32Array, shift: number, bound: number): Promise<Int32Array> {
  const s = ctx.upload(src);
  const d = ctx.storage(src.length);
  try {
    await ctx.run((e) => encodeLoraNarrow(ctx, e, s, d, src.length, shift, bound));
    return await ctx.readI32(d, src.length);
  } finally {
    s.destroy();
    d.destroy();
  }
}

export function loraA12(ctx: GpuContext, a: Int32Array): Promise<Int32Array> {
  return narrowHost(ctx, a, 4, 4096);
}

export function loraB10(ctx: GpuContext, b: Int32Array): Promise<Int32Array> {
  return narrowHost(ctx, b, 6, 1024);
}

/** As the CPU: returns u [T,r] and adds the adapter's output into y [T,N] in place. */
export async function loraForward(
  ctx: GpuContext, a12: Int32Array, b10: Int32Array, x8: Int8Array, sx: Int32Array, y: Int32Array,
  T: number, N: number, K: number, r: number, alpha: number = r,
): Promise<Int32Array> {
  const bufs = [
    ctx.upload(a12.subarray(0, r * K)), ctx.upload(b10.subarray(0, N * r)), ctx.upload(packInt8Rows(x8.subarray(0, T * K), T, K)),
    ctx.upload(sx.subarray(0, T)), ctx.upload(y.subarray(0, T * N)), ctx.storage(T * r),
  ];
  const [ab, bb, xb, sb, yb, ub] = bufs;
  try {
    await ctx.run((e) => encodeLoraForward(ctx, e, ab, bb, xb, sb, yb, ub, T, N, K, r, alpha));
    y.set(await ctx.readI32(yb, T * N));
    return await ctx.readI32(ub, T * r);
  } finally {
    for (const b of bufs) b.destroy();
  }
}

/** As the CPU: gA, gB (int64 exact sums) updated in place; dxl ← lora's int32 term of dx (written). */
export async function loraBackward(
  ctx: GpuContext, a12: Int32Array, b10: Int32Array, x8: Int8Array, sx: Int32Array, u: Int32Array, dy: Int32Array,
  gA: BigInt64Array, gB: BigInt64Array, dxl: Int32Array, T: number, N: number, K: number, r: number, alpha: number = r,
): Promise<void> {
  const b: LoraBackwardGpu = {
    a12: ctx.upload(a12.subarray(0, r * K)),
    b10: ctx.upload(b10.subarray(0, N * r)),
    x8: ctx.upload(packInt8Rows(x8.subarray(0, T * K), T, K)),
    sx: ctx.upload(sx.subarray(0, T)),
    u: ctx.upload(u.subarray(0, T * r)),
    dy: ctx.upload(dy.subarray(0, T * N)),
    du: ctx.storage(T * r),
    dux: ctx.storage(T * r),
    gA: ctx.upload(toAcc64(gA.subarray(0, r * K))),
    gB: ctx.upload(toAcc64(gB.subarray(0, N * r))),
    dxl: ctx.storage(T * K),
  };
  try {
    await ctx.run((e) => encodeLoraBackward(ctx, e, b, T, N, K, r, alpha));
    fromAcc64(await ctx.readWords(b.gA, 2 * r * K), gA.subarray(0, r * K));
    fromAcc64(await ctx.readWords(b.gB, 2 * N * r), gB.subarray(0, N * r));
    dxl.set(await ctx.readI32(b.dxl, T * K));
  } finally {
    for (const buf of Object.values(b)) buf.destroy();
  }
}
