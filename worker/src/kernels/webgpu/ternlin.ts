// ternlin (SPEC §4.2) on WebGPU: mirrors cpu/ternlin.ts `ternlin` and `ternlinBackward`, with
// the GPU context first and a Promise of the same result.

import { GpuContext } from './device.ts';
import { packInt8Rows, packTernaryRowsFromSparse, ternaryRowWords, type SparseTernary } from './packing.ts';
import { withPrelude } from './prelude.ts';
import { loadWgsl } from './wgsl.ts';

export const TERNLIN_WGSL = withPrelude(loadWgsl('ternlin.wgsl'));
const GRAD_MAX = 1048575;

function params(t: number, n: number, k: number, gamma: number): number[] {
  return [t, n, ternaryRowWords(k), gamma, k, 0, 0, 0];
}

/** Records y = ternlin(W, γ, x8, sx). w: packTernaryRows [N,K]; x8: packInt8Rows [T,K]. */
export function encodeTernlin(
  ctx: GpuContext, encoder: GPUCommandEncoder,
  w: GPUBuffer, gamma: number, x8: GPUBuffer, sx: GPUBuffer, y: GPUBuffer, T: number, N: number, K: number,
): void {
  if (T === 0 || N === 0) return;
  ctx.dispatch(encoder, ctx.pipeline(TERNLIN_WGSL, 'forward'), [ctx.uniform(params(T, N, K, gamma)), w, x8, sx, y], [
    Math.ceil(N / 32),
    Math.ceil(T / 32),
  ]);
}

/** Records dx = ternlinBackward(W, γ, dy). */
export function encodeTernlinBackward(
  ctx: GpuContext, encoder: GPUCommandEncoder,
  w: GPUBuffer, gamma: number, dy: GPUBuffer, dx: GPUBuffer, T: number, N: number, K: number,
): void {
  if (T === 0 || K === 0) return;
  ctx.dispatch(
    encoder,
    ctx.pipeline(TERNLIN_WGSL, 'backward'),
    [ctx.uniform(params(T, N, K, gamma)), w, null, null, null, dy, dx],
    [Math.ceil(ternaryRowWords(K) / 16), Math.ceil(T / 4)],
  );
}

/** W [N,K] (the CPU's sparse form), gamma Q16; x8 [T,K], sx Q24 [T] → y Q16 [T,N]. */
export async function ternlin(
  ctx: GpuContext, w: SparseTernary, gamma: number, x8: Int8Array, sx: Int32Array, T: number,
): Promise<Int32Array> {
  const { rows: N, cols: K } = w;
  const bufs = [ctx.upload(packTernaryRowsFromSparse(w)), ctx.upload(packInt8Rows(x8, T, K)), ctx.upload(sx), ctx.storage(T * N)];
  const [wb, xb, sb, yb] = bufs;
  try {
    await ctx.run((e) => encodeTernlin(ctx, e, wb, gamma, xb, sb, yb, T, N, K));
    return await ctx.readI32(yb, T * N);
  } finally {
    for (const b of bufs) b.destroy();
  }
}

/** dx[t,k] = mulShr(Σ_n W[n,k]·dy[t,n], gamma, 16). Throws like the CPU on |dy| > G. */
export async function ternlinBackward(
  ctx: GpuContext, w: SparseTernary, gamma: number, dy: Int32Array, T: number,
): Promise<Int32Array> {
  const { rows: N, cols: K } = w;
  for (let i = 0; i < T * N; i++) {
    if (dy[i] > GRAD_MAX || dy[i] < -GRAD_MAX) throw new RangeError('ternlinBackward: gradient out of range');
  }
  const bufs = [ctx.upload(packTernaryRowsFromSparse(w)), ctx.upload(dy.subarray(0, T * N)), ctx.storage(T * K)];
  const [wb, gb, xb] = bufs;
  try {
    await ctx.run((e) => encodeTernlinBackward(ctx, e, wb, gamma, gb, xb, T, N, K));
    return await ctx.readI32(xb, T * K);
  } finally {
    for (const b of bufs) b.destroy();
  }
}
