// Elementwise i32 kernels: add, arithmetic right shift with rounding, clamp. Each mirrors the
// CPU kernel of the same name and runs one WGSL file (add-i32, shift-right-round-i32, clamp-i32).

import { GpuContext, grid2d } from './device.ts';
import { loadWgsl } from './wgsl.ts';

export const ADD_I32_WGSL = loadWgsl('add-i32.wgsl');
export const SHIFT_RIGHT_ROUND_I32_WGSL = loadWgsl('shift-right-round-i32.wgsl');
export const CLAMP_I32_WGSL = loadWgsl('clamp-i32.wgsl');

/** Rounding of a right shift; the numbers are the shader's `mode` values. */
export const Rounding = { floor: 0, halfUp: 1, halfAway: 2, halfEven: 3 } as const;
export type RoundingMode = keyof typeof Rounding;

function groups(n: number): [number, number] {
  return grid2d(Math.ceil(n / 256));
}

export function encodeAddI32(ctx: GpuContext, encoder: GPUCommandEncoder, a: GPUBuffer, b: GPUBuffer, y: GPUBuffer, n: number): void {
  if (n === 0) return;
  ctx.dispatch(encoder, ctx.pipeline(ADD_I32_WGSL), [ctx.uniform([n]), a, b, y], groups(n));
}

export function encodeShiftRightRoundI32(
  ctx: GpuContext,
  encoder: GPUCommandEncoder,
  x: GPUBuffer,
  y: GPUBuffer,
  n: number,
  shift: number,
  rounding: RoundingMode,
): void {
  if (!Number.isInteger(shift) || shift < 0 || shift > 31) throw new RangeError(`shiftRightRoundI32: shift ${shift} not in [0, 31]`);
  if (n === 0) return;
  ctx.dispatch(encoder, ctx.pipeline(SHIFT_RIGHT_ROUND_I32_WGSL), [ctx.uniform([n, shift, Rounding[rounding]]), x, y], groups(n));
}

export function encodeClampI32(ctx: GpuContext, encoder: GPUCommandEncoder, x: GPUBuffer, y: GPUBuffer, n: number, lo: number, hi: number): void {
  if (!(lo <= hi) || lo !== (lo | 0) || hi !== (hi | 0)) throw new RangeError(`clampI32: bounds [${lo}, ${hi}] are not an i32 range`);
  if (n === 0) return;
  ctx.dispatch(encoder, ctx.pipeline(CLAMP_I32_WGSL), [ctx.uniform([n, lo, hi]), x, y], groups(n));
}

async function unary(ctx: GpuContext, x: Int32Array, record: (e: GPUCommandEncoder, x: GPUBuffer, y: GPUBuffer) => void): Promise<Int32Array> {
  const xBuf = ctx.upload(x);
  const yBuf = ctx.storage(x.length);
  try {
    await ctx.run((encoder) => record(encoder, xBuf, yBuf));
    return await ctx.readI32(yBuf, x.length);
  } finally {
    xBuf.destroy();
    yBuf.destroy();
  }
}

export async function addI32(ctx: GpuContext, a: Int32Array, b: Int32Array): Promise<Int32Array> {
  if (a.length !== b.length) throw new RangeError(`addI32: lengths ${a.length} and ${b.length} differ`);
  const bBuf = ctx.upload(b);
  try {
    return await unary(ctx, a, (e, x, y) => encodeAddI32(ctx, e, x, bBuf, y, a.length));
  } finally {
    bBuf.destroy();
  }
}

export function shiftRightRoundI32(ctx: GpuContext, x: Int32Array, shift: number, rounding: RoundingMode): Promise<Int32Array> {
  return unary(ctx, x, (e, xb, yb) => encodeShiftRightRoundI32(ctx, e, xb, yb, x.length, shift, rounding));
}

export function clampI32(ctx: GpuContext, x: Int32Array, lo: number, hi: number): Promise<Int32Array> {
  return unary(ctx, x, (e, xb, yb) => encodeClampI32(ctx, e, xb, yb, x.length, lo, hi));
}
