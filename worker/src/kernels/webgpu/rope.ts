// RoPE (SPEC §4.5) on WebGPU: mirrors cpu/rope.ts `ropeTable`, `ropeApply`, `ropeBackward`.

import type { RopeLayout } from '../cpu/rope.ts';
import { GpuContext } from './device.ts';
import { elementGroups, runOnce } from './elementwise.ts';
import { withPrelude } from './prelude.ts';
import { loadWgsl } from './wgsl.ts';

export const ROPE_WGSL = withPrelude(loadWgsl('rope.wgsl'), { poly: true });

export interface RopeTable {
  /** Q14 [T, dh/2] */
  cos: Int32Array;
  /** Q14 [T, dh/2] */
  sin: Int32Array;
}

function checkDh(dh: number): void {
  if (!Number.isInteger(dh) || dh < 2 || dh > 256 || dh % 2 !== 0) throw new RangeError(`rope: dh = ${dh} must be even in [2, 256]`);
}

/** log2Theta: log2(θ) in Q16 (cpu/rope.ts `log2Q16`), 0 for v1's θ = 10000. */
export function encodeRopeTable(ctx: GpuContext, encoder: GPUCommandEncoder, cos: GPUBuffer, sin: GPUBuffer, T: number, dh: number, log2Theta = 0): void {
  checkDh(dh);
  const n = (T * dh) / 2;
  if (n === 0) return;
  ctx.dispatch(encoder, ctx.pipeline(ROPE_WGSL, 'table'), [ctx.uniform([T, 1, dh, log2Theta]), cos, sin], elementGroups(n));
}

/** Records the rotation (`backward` = transpose rotation on gradients) of x [T, H·dh] into y. */
export function encodeRope(
  ctx: GpuContext, encoder: GPUCommandEncoder, backward: boolean,
  cos: GPUBuffer, sin: GPUBuffer, x: GPUBuffer, y: GPUBuffer, T: number, H: number, dh: number, layout: RopeLayout = 'adjacent',
): void {
  checkDh(dh);
  const n = (T * H * dh) / 2;
  if (n === 0) return;
  ctx.dispatch(encoder, ctx.pipeline(ROPE_WGSL, backward ? 'backward' : 'apply'), [ctx.uniform([T, H, dh, layout === 'half' ? 1 : 0]), cos, sin, x, y], elementGroups(n));
}

export async function ropeTable(ctx: GpuContext, T: number, dh: number, log2Theta = 0): Promise<RopeTable> {
  const n = (T * dh) / 2;
  const [cos, sin] = await runOnce(ctx, [], [n, n], (e, _ins, [cb, sb]) => encodeRopeTable(ctx, e, cb, sb, T, dh, log2Theta));
  return { cos, sin };
}

async function rotate(ctx: GpuContext, backward: boolean, x: Int32Array, tab: RopeTable, T: number, H: number, dh: number, layout: RopeLayout): Promise<Int32Array> {
  const n = T * H * dh;
  const [y] = await runOnce(ctx, [tab.cos, tab.sin, x.subarray(0, n)], [n], (e, [cb, sb, xb], [yb]) =>
    encodeRope(ctx, e, backward, cb, sb, xb, yb, T, H, dh, layout),
  );
  return y;
}

/** x Q8 [T, H·dh] → rotated Q8. */
export function ropeApply(ctx: GpuContext, x: Int32Array, tab: RopeTable, T: number, H: number, dh: number, layout: RopeLayout = 'adjacent'): Promise<Int32Array> {
  return rotate(ctx, false, x, tab, T, H, dh, layout);
}

/** Transpose rotation on Q16 gradients. */
export function ropeBackward(ctx: GpuContext, g: Int32Array, tab: RopeTable, T: number, H: number, dh: number, layout: RopeLayout = 'adjacent'): Promise<Int32Array> {
  return rotate(ctx, true, g, tab, T, H, dh, layout);
}
