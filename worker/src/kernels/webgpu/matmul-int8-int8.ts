// int8 × int8 matmul with exact i32 sums: y[m, n] = Σ_k a[m, k] · b[n, k] (the LoRA products).
// Mirrors the CPU kernel of the same name (a: M×K, b: N×K, both int8 row-major). Bound:
// K ≤ 131071 keeps every sum inside i32 (|term| ≤ 2^14).

import { GpuContext } from './device.ts';
import { int8RowWords, packInt8Rows } from './packing.ts';
import { loadWgsl } from './wgsl.ts';

export const MATMUL_INT8_INT8_WGSL = loadWgsl('matmul-int8-int8.wgsl');
export const MAX_K_INT8 = 131071;

/** Records y = a · bᵀ; a and b are packed int8 rows (packInt8Rows layout) of K columns. */
export function encodeMatmulInt8Int8(
  ctx: GpuContext,
  encoder: GPUCommandEncoder,
  a: GPUBuffer,
  b: GPUBuffer,
  y: GPUBuffer,
  m: number,
  k: number,
  n: number,
): void {
  if (k > MAX_K_INT8) throw new RangeError(`matmulInt8Int8: K = ${k} exceeds ${MAX_K_INT8}`);
  if (m === 0 || n === 0) return;
  const params = ctx.uniform([m, n, int8RowWords(k), 0]);
  ctx.dispatch(encoder, ctx.pipeline(MATMUL_INT8_INT8_WGSL), [params, a, b, y], [Math.ceil(n / 32), Math.ceil(m / 32)]);
}

/** The CPU kernel's arguments (a: M×K, b: N×K) after the context; returns M×N i32. */
export async function matmulInt8Int8(
  ctx: GpuContext,
  a: Int8Array,
  b: Int8Array,
  m: number,
  k: number,
  n: number,
): Promise<Int32Array> {
  const aBuf = ctx.upload(packInt8Rows(a, m, k));
  const bBuf = ctx.upload(packInt8Rows(b, n, k));
  const y = ctx.storage(m * n);
  try {
    await ctx.run((encoder) => encodeMatmulInt8Int8(ctx, encoder, aBuf, bBuf, y, m, k, n));
    return await ctx.readI32(y, m * n);
  } finally {
    aBuf.destroy();
    bBuf.destroy();
    y.destroy();
  }
}
