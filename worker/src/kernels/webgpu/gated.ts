// Gated FFN product (SPEC v2 §4.12) on WebGPU: mirrors cpu/v2ops.ts `gatedMul`, `gatedMulBackward`.

import { GpuContext } from './device.ts';
import { elementGroups, runOnce } from './elementwise.ts';
import { withPrelude } from './prelude.ts';
import { loadWgsl } from './wgsl.ts';

export const GATED_WGSL = withPrelude(loadWgsl('gated.wgsl'));

export function encodeGatedMul(ctx: GpuContext, encoder: GPUCommandEncoder, a: GPUBuffer, u: GPUBuffer, m: GPUBuffer, n: number): void {
  if (n === 0) return;
  ctx.dispatch(encoder, ctx.pipeline(GATED_WGSL, 'forward'), [ctx.uniform([n]), a, u, m], elementGroups(n));
}

export function encodeGatedMulBackward(
  ctx: GpuContext, encoder: GPUCommandEncoder, a: GPUBuffer, u: GPUBuffer, dm: GPUBuffer, da: GPUBuffer, du: GPUBuffer, n: number,
): void {
  if (n === 0) return;
  ctx.dispatch(encoder, ctx.pipeline(GATED_WGSL, 'backward'), [ctx.uniform([n]), a, u, null, dm, da, du], elementGroups(n));
}

export async function gatedMul(ctx: GpuContext, a: Int32Array, u: Int32Array): Promise<Int32Array> {
  const [m] = await runOnce(ctx, [a, u], [a.length], (e, [ab, ub], [mb]) => encodeGatedMul(ctx, e, ab, ub, mb, a.length));
  return m;
}

export async function gatedMulBackward(ctx: GpuContext, a: Int32Array, u: Int32Array, dm: Int32Array): Promise<{ da: Int32Array; du: Int32Array }> {
  const [da, du] = await runOnce(ctx, [a, u, dm], [a.length, a.length], (e, [ab, ub, db], [dab, dub]) =>
    encodeGatedMulBackward(ctx, e, ab, ub, db, dab, dub, a.length),
  );
  return { da, du };
}
