// Joins between ops of the whole-step trainer (step-glue.wgsl): residual and gradient joins,
// satG of an op's output, and the exact acc64 "sum over consumers, clamped once" (SPEC §5).

import { GpuContext } from './device.ts';
import { elementGroups } from './elementwise.ts';
import { withPrelude } from './prelude.ts';
import { loadWgsl } from './wgsl.ts';

export const STEP_GLUE_WGSL = withPrelude(loadWgsl('step-glue.wgsl'));

/** Residual clamp of the forward pass (SPEC §5: h = clamp(h + y, ±2^30)). */
export const H_MAX = 1073741824;
/** Gradient clamp G (SPEC §1). */
export const G_MAX = 1048575;

function run(ctx: GpuContext, encoder: GPUCommandEncoder, entry: string, buffers: Array<GPUBuffer | null>, n: number, bound = 0): void {
  if (n === 0) return;
  ctx.dispatch(encoder, ctx.pipeline(STEP_GLUE_WGSL, entry), [ctx.uniform([n, bound]), ...buffers], elementGroups(n));
}

/** a = clamp(a + b, ±bound), the sum exact. */
export function encodeAddClamp(ctx: GpuContext, encoder: GPUCommandEncoder, a: GPUBuffer, b: GPUBuffer, n: number, bound: number): void {
  run(ctx, encoder, 'addClamp', [a, b], n, bound);
}

/** a = clamp(a, ±bound) in place. */
export function encodeClampInPlace(ctx: GpuContext, encoder: GPUCommandEncoder, a: GPUBuffer, n: number, bound: number): void {
  run(ctx, encoder, 'clampIn', [a], n, bound);
}

/** acc (acc64 pairs) += b. */
export function encodeAccAdd(ctx: GpuContext, encoder: GPUCommandEncoder, acc: GPUBuffer, b: GPUBuffer, n: number): void {
  run(ctx, encoder, 'accAdd', [null, b, acc], n);
}

/** out = satG(acc). */
export function encodeAccSatG(ctx: GpuContext, encoder: GPUCommandEncoder, acc: GPUBuffer, out: GPUBuffer, n: number): void {
  run(ctx, encoder, 'accSatG', [null, null, acc, out], n);
}
