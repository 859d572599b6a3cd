// normquant (SPEC §4.1) on WebGPU: mirrors cpu/normquant.ts `normquant` and `normquantBackward`.

import type { Bf16Block } from '../cpu/bf16.ts';
import { GpuContext, grid2d } from './device.ts';
import { int8RowWords, unpackInt8Rows } from './packing.ts';
import { withPrelude } from './prelude.ts';
import { loadWgsl } from './wgsl.ts';

export const NORMQUANT_WGSL = withPrelude(loadWgsl('normquant.wgsl'));
/** The SPEC's bound: the sum of K squared 10-bit mantissas must fit a u32. */
export const NORMQUANT_MAX_K = 4096;

export interface NormQuant {
  /** int8 [T,K] */
  x8: Int8Array;
  /** Q24 per token [T] */
  sx: Int32Array;
  /** divr(2^30, rms4) per token [T] */
  rinv: Int32Array;
  /** bitlen(max|v|) per token [T] */
  z: Int32Array;
}

/** GPU buffers of a normquant result; x8 in packInt8Rows layout, ready for ternlin and lora. */
export interface NormQuantGpu {
  x8: GPUBuffer;
  sx: GPUBuffer;
  rinv: GPUBuffer;
  z: GPUBuffer;
  /** training only: a copy of the input rows [T,K], which the backward needs (SPEC §4.1) */
  v?: GPUBuffer;
}

/** keepInput: also hold a copy of the input (for encodeNormquantBackward); inference leaves it out. */
export function allocNormQuant(ctx: GpuContext, T: number, K: number, keepInput = false): NormQuantGpu {
  const q: NormQuantGpu = { x8: ctx.storage(T * int8RowWords(K)), sx: ctx.storage(T), rinv: ctx.storage(T), z: ctx.storage(T) };
  if (keepInput) q.v = ctx.storage(T * K);
  return q;
}

/** A learned gain on the device (SPEC v2 §4.1g): the block's integers [K] and its shift sG. */
export interface GainGpu {
  buf: GPUBuffer;
  shift: number;
}

export function encodeNormquant(ctx: GpuContext, encoder: GPUCommandEncoder, v: GPUBuffer, out: NormQuantGpu, T: number, K: number, gain?: GainGpu): void {
  if (K < 1 || K > NORMQUANT_MAX_K) throw new RangeError(`normquant: K = ${K} not in [1, ${NORMQUANT_MAX_K}]`);
  if (T === 0) return;
  ctx.dispatch(
    encoder,
    ctx.pipeline(NORMQUANT_WGSL, gain ? 'forwardGain' : 'forward'),
    [ctx.uniform([T, K, int8RowWords(K), gain?.shift ?? 0]), v, out.x8, out.sx, out.rinv, out.z, null, null, gain?.buf ?? null],
    grid2d(T),
  );
  if (out.v) encoder.copyBufferToBuffer(v, 0, out.v, 0, T * K * 4);
}

/**
 * Full RMSNorm backward (SPEC §4.1): `v` is the [T,K] input the forward normalized (its mantissas
 * and signs give the radial term), rinv and z the forward's per-row outputs. One workgroup per row.
 */
export function encodeNormquantBackward(
  ctx: GpuContext, encoder: GPUCommandEncoder, dxn: GPUBuffer, v: GPUBuffer, rinv: GPUBuffer, z: GPUBuffer, dv: GPUBuffer, T: number, K: number, gain?: GainGpu,
): void {
  if (T * K === 0) return;
  if (K > NORMQUANT_MAX_K) throw new RangeError(`normquant backward: K = ${K} > ${NORMQUANT_MAX_K}`);
  ctx.dispatch(
    encoder,
    ctx.pipeline(NORMQUANT_WGSL, gain ? 'backwardGain' : 'backward'),
    // Without a gain the kernel never reads binding 8 but names it; dxn stands in (read-only).
    [ctx.uniform([T, K, int8RowWords(K), gain?.shift ?? 0]), v, null, null, rinv, z, dxn, dv, gain?.buf ?? dxn],
    grid2d(T),
  );
}

/** v int32 [T,K] → NormQuant. K ≤ 4096. */
export async function normquant(ctx: GpuContext, v: Int32Array, T: number, K: number, gain?: Bf16Block): Promise<NormQuant> {
  const vb = ctx.upload(v.subarray(0, T * K));
  const out = allocNormQuant(ctx, T, K);
  const g = gain ? { buf: ctx.upload(gain.q), shift: gain.shift } : undefined;
  try {
    await ctx.run((e) => encodeNormquant(ctx, e, vb, out, T, K, g));
    return {
      x8: unpackInt8Rows(await ctx.readWords(out.x8, T * int8RowWords(K)), T, K),
      sx: await ctx.readI32(out.sx, T),
      rinv: await ctx.readI32(out.rinv, T),
      z: await ctx.readI32(out.z, T),
    };
  } finally {
    for (const b of [vb, out.x8, out.sx, out.rinv, out.z]) b.destroy();
    g?.buf.destroy();
  }
}

/** The full RMSNorm gradient (SPEC §4.1 "Backward"); v is the forward's input row block. */
export async function normquantBackward(ctx: GpuContext, dxn: Int32Array, v: Int32Array, nq: NormQuant, T: number, K: number, gain?: Bf16Block): Promise<Int32Array> {
  const bufs = [ctx.upload(dxn.subarray(0, T * K)), ctx.upload(v.subarray(0, T * K)), ctx.upload(nq.rinv), ctx.upload(nq.z), ctx.storage(T * K)];
  const [db, inb, rb, zb, vb] = bufs;
  if (gain) bufs.push(ctx.upload(gain.q));
  try {
    await ctx.run((e) => encodeNormquantBackward(ctx, e, db, inb, rb, zb, vb, T, K, gain ? { buf: bufs[5], shift: gain.shift } : undefined));
    return await ctx.readI32(vb, T * K);
  } finally {
    for (const b of bufs) b.destroy();
  }
}
