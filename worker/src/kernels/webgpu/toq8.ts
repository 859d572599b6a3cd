// toq8 (SPEC §4.4) on WebGPU: mirrors cpu/toq8.ts. Backward is the identity on both backends.

import { GpuContext } from './device.ts';
import { elementGroups, runOnce } from './elementwise.ts';
import { withPrelude } from './prelude.ts';
import { loadWgsl } from './wgsl.ts';

export const TOQ8_WGSL = withPrelude(loadWgsl('toq8.wgsl'));

export function encodeToq8(ctx: GpuContext, encoder: GPUCommandEncoder, y: GPUBuffer, q8: GPUBuffer, n: number): void {
  if (n === 0) return;
  ctx.dispatch(encoder, ctx.pipeline(TOQ8_WGSL), [ctx.uniform([n]), y, q8], elementGroups(n));
}

export async function toq8(ctx: GpuContext, y: Int32Array): Promise<Int32Array> {
  const [q8] = await runOnce(ctx, [y], [y.length], (e, [yb], [qb]) => encodeToq8(ctx, e, yb, qb, y.length));
  return q8;
}
