// relu2 (SPEC §4.7) on WebGPU: mirrors cpu/relu2.ts `relu2` and `relu2Backward`.

import { GpuContext } from './device.ts';
import { elementGroups, runOnce } from './elementwise.ts';
import { withPrelude } from './prelude.ts';
import { loadWgsl } from './wgsl.ts';

export const RELU2_WGSL = withPrelude(loadWgsl('relu2.wgsl'));

export function encodeRelu2(ctx: GpuContext, encoder: GPUCommandEncoder, f: GPUBuffer, y: GPUBuffer, n: number): void {
  if (n === 0) return;
  ctx.dispatch(encoder, ctx.pipeline(RELU2_WGSL, 'forward'), [ctx.uniform([n]), f, y], elementGroups(n));
}

export function encodeRelu2Backward(ctx: GpuContext, encoder: GPUCommandEncoder, f: GPUBuffer, dy: GPUBuffer, df: GPUBuffer, n: number): void {
  if (n === 0) return;
  ctx.dispatch(encoder, ctx.pipeline(RELU2_WGSL, 'backward'), [ctx.uniform([n]), f, null, dy, df], elementGroups(n));
}

export async function relu2(ctx: GpuContext, f: Int32Array): Promise<Int32Array> {
  const [y] = await runOnce(ctx, [f], [f.length], (e, [fb], [yb]) => encodeRelu2(ctx, e, fb, yb, f.length));
  return y;
}

export async function relu2Backward(ctx: GpuContext, f: Int32Array, dy: Int32Array): Promise<Int32Array> {
  if (dy.length < f.length) throw new RangeError('relu2Backward: dy shorter than f');
  const [df] = await runOnce(ctx, [f, dy.subarray(0, f.length)], [f.length], (e, [fb, gb], [db]) =>
    encodeRelu2Backward(ctx, e, fb, gb, db, f.length),
  );
  return df;
}
