// Per-token absmax int8 quantization of i32 activations (BitNet b1.58: x · 127 / max|x|, rounded
// half away from zero). Mirrors the CPU kernel of the same name: x is rows×cols i32 row-major;
// returns q (rows×cols int8) and scale (rows i32, the row's max |x|). Bound: |x| ≤ 2^23.

import { GpuContext, grid2d } from './device.ts';
import { int8RowWords, unpackInt8Rows } from './packing.ts';
import { loadWgsl } from './wgsl.ts';

export const QUANTIZE_ABSMAX_INT8_WGSL = loadWgsl('quantize-absmax-int8.wgsl');
export const MAX_ABS_QUANT_INPUT = 1 << 23;

export interface QuantizedInt8 {
  q: Int8Array;
  scale: Int32Array;
}

/** Records the quantization; `q` receives packed int8 rows (packInt8Rows layout), `scale` rows i32. */
export function encodeQuantizeAbsmaxInt8(
  ctx: GpuContext,
  encoder: GPUCommandEncoder,
  x: GPUBuffer,
  q: GPUBuffer,
  scale: GPUBuffer,
  rows: number,
  cols: number,
): void {
  if (rows === 0) return;
  const params = ctx.uniform([rows, cols, int8RowWords(cols), 0]);
  ctx.dispatch(encoder, ctx.pipeline(QUANTIZE_ABSMAX_INT8_WGSL), [params, x, q, scale], grid2d(rows));
}

export async function quantizeAbsmaxInt8(ctx: GpuContext, x: Int32Array, rows: number, cols: number): Promise<QuantizedInt8> {
  if (x.length !== rows * cols) throw new RangeError(`quantizeAbsmaxInt8: ${x.length} values are not ${rows}×${cols}`);
  for (let i = 0; i < x.length; i++) {
    // Checked on the host because the shader's u32 arithmetic silently wraps past this bound.
    if (x[i] > MAX_ABS_QUANT_INPUT || x[i] < -MAX_ABS_QUANT_INPUT) {
      throw new RangeError(`quantizeAbsmaxInt8: |x[${i}]| = ${Math.abs(x[i])} exceeds 2^23`);
    }
  }
  const xBuf = ctx.upload(x);
  const qBuf = ctx.storage(rows * int8RowWords(cols));
  const sBuf = ctx.storage(rows);
  try {
    await ctx.run((encoder) => encodeQuantizeAbsmaxInt8(ctx, encoder, xBuf, qBuf, sBuf, rows, cols));
    const qWords = await ctx.readWords(qBuf, rows * int8RowWords(cols));
    return { q: unpackInt8Rows(qWords, rows, cols), scale: await ctx.readI32(sBuf, rows) };
  } finally {
    xBuf.destroy();
    qBuf.destroy();
    sBuf.destroy();
  }
}
