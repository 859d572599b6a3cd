// Ternary weight × int8 activation matmul with exact i32 sums: y[m, n] = Σ_k a[m, k] · w[n, k].
// Mirrors the CPU kernel of the same name (a: M×K int8 row-major, w: N×K ternary row-major, the
// nn.Linear [out, in] convention). Bound: K < 2^24 keeps every sum inside i32 (|term| ≤ 128).

import { GpuContext } from './device.ts';
import { packInt8Rows, packTernaryRows, ternaryRowWords } from './packing.ts';
import { loadWgsl } from './wgsl.ts';

export const MATMUL_TERNARY_INT8_WGSL = loadWgsl('matmul-ternary-int8.wgsl');
export const MAX_K_TERNARY = (1 << 24) - 1;

/** Ternary weights resident on the device (frozen backbone weights are packed once). */
export interface TernaryWeightsGpu {
  buffer: GPUBuffer;
  /** Output features (rows of w). */
  n: number;
  /** Input features (columns of w). */
  k: number;
}

export function uploadTernaryWeights(ctx: GpuContext, w: Int8Array, n: number, k: number): TernaryWeightsGpu {
  return { buffer: ctx.upload(packTernaryRows(w, n, k)), n, k };
}

/**
 * Records y = a · wᵀ. `a` holds M packed int8 rows of K (packInt8Rows layout); `y` receives M×N
 * i32, row-major.
 */
export function encodeMatmulTernaryInt8(
  ctx: GpuContext,
  encoder: GPUCommandEncoder,
  a: GPUBuffer,
  w: TernaryWeightsGpu,
  y: GPUBuffer,
  m: number,
): void {
  const { n, k } = w;
  if (k > MAX_K_TERNARY) throw new RangeError(`matmulTernaryInt8: K = ${k} exceeds ${MAX_K_TERNARY}`);
  if (m === 0 || n === 0) return;
  const params = ctx.uniform([m, n, ternaryRowWords(k), 0]);
  ctx.dispatch(encoder, ctx.pipeline(MATMUL_TERNARY_INT8_WGSL), [params, a, w.buffer, y], [
    Math.ceil(n / 32),
    Math.ceil(m / 32),
  ]);
}

/** The CPU kernel's arguments (a: M×K int8, w: N×K ternary) after the context; returns M×N i32. */
export async function matmulTernaryInt8(
  ctx: GpuContext,
  a: Int8Array,
  w: Int8Array,
  m: number,
  k: number,
  n: number,
): Promise<Int32Array> {
  const weights = uploadTernaryWeights(ctx, w, n, k);
  return matmulTernaryInt8Resident(ctx, a, weights, m);
}

/** As matmulTernaryInt8 with weights already on the device. */
export async function matmulTernaryInt8Resident(
  ctx: GpuContext,
  a: Int8Array,
  w: TernaryWeightsGpu,
  m: number,
): Promise<Int32Array> {
  const aBuf = ctx.upload(packInt8Rows(a, m, w.k));
  const y = ctx.storage(m * w.n);
  try {
    await ctx.run((encoder) => encodeMatmulTernaryInt8(ctx, encoder, aBuf, w, y, m));
    return await ctx.readI32(y, m * w.n);
  } finally {
    aBuf.destroy();
    y.destroy();
  }
}
