// Tied LM head (SPEC v2 §4.11) on WebGPU: mirrors cpu/v2ops.ts `tiedHead`, `tiedHeadBackward`.

import type { Bf16Block } from '../cpu/bf16.ts';
import { GpuContext, grid2d } from './device.ts';
import { int8RowWords, packInt8Rows } from './packing.ts';
import { withPrelude } from './prelude.ts';
import { loadWgsl } from './wgsl.ts';

export const TIED_HEAD_WGSL = withPrelude(loadWgsl('tied-head.wgsl'));
/** The head's acc bound |acc| < 2^15·127·D < 2^32 holds for D ≤ 1024. */
export const TIED_HEAD_MAX_D = 1024;

function check(D: number, shift: number): void {
  if (D > TIED_HEAD_MAX_D) throw new RangeError(`tied head (WebGPU): d_model ${D} > ${TIED_HEAD_MAX_D}`);
  if (shift < 0 || shift > 40) throw new RangeError(`tied head (WebGPU): embedding shift ${shift} outside [0, 40]`);
}

/** x8 in packInt8Rows layout [T, D]; logits [T, V]. */
export function encodeTiedHead(
  ctx: GpuContext, encoder: GPUCommandEncoder, eq: GPUBuffer, shift: number, x8: GPUBuffer, sx: GPUBuffer, logits: GPUBuffer, T: number, V: number, D: number,
): void {
  check(D, shift);
  if (T * V === 0) return;
  ctx.dispatch(encoder, ctx.pipeline(TIED_HEAD_WGSL, 'forward'), [ctx.uniform([T, V, D, shift, int8RowWords(D), 0, 0, 0]), eq, x8, sx, logits], grid2d(Math.ceil((T * V) / 64)));
}

export function encodeTiedHeadBackward(
  ctx: GpuContext, encoder: GPUCommandEncoder, eq: GPUBuffer, shift: number, dy: GPUBuffer, dx: GPUBuffer, T: number, V: number, D: number,
): void {
  check(D, shift);
  if (T * D === 0) return;
  ctx.dispatch(encoder, ctx.pipeline(TIED_HEAD_WGSL, 'backward'), [ctx.uniform([T, V, D, shift, int8RowWords(D), 0, 0, 0]), eq, null, null, null, dy, dx], grid2d(Math.ceil((T * D) / 64)));
}

export async function tiedHead(ctx: GpuContext, E: Bf16Block, V: number, D: number, x8: Int8Array, sx: Int32Array, T: number): Promise<Int32Array> {
  const bufs = [ctx.upload(E.q), ctx.upload(packInt8Rows(x8, T, D)), ctx.upload(sx.subarray(0, T)), ctx.storage(T * V)];
  try {
    await ctx.run((e) => encodeTiedHead(ctx, e, bufs[0], E.shift, bufs[1], bufs[2], bufs[3], T, V, D));
    return await ctx.readI32(bufs[3], T * V);
  } finally {
    for (const b of bufs) b.destroy();
  }
}

export async function tiedHeadBackward(ctx: GpuContext, E: Bf16Block, V: number, D: number, dy: Int32Array, T: number): Promise<Int32Array> {
  const bufs = [ctx.upload(E.q), ctx.upload(dy.subarray(0, T * V)), ctx.storage(T * D)];
  try {
    await ctx.run((e) => encodeTiedHeadBackward(ctx, e, bufs[0], E.shift, bufs[1], bufs[2], T, V, D));
    return await ctx.readI32(bufs[2], T * D);
  } finally {
    for (const b of bufs) b.destroy();
  }
}
