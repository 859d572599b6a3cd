// Integer cross-entropy (SPEC §4.8) on WebGPU: mirrors cpu/xent.ts `crossEntropy`.

import { GpuContext, grid2d } from './device.ts';
import { withPrelude } from './prelude.ts';
import { loadWgsl } from './wgsl.ts';

export const XENT_WGSL = withPrelude(loadWgsl('xent.wgsl'), { poly: true });
export const VOCAB = 256;
/** S ≤ V·2^15 stays ≤ 2^30 (i32 reduction, u32 divr) up to this vocabulary. */
export const XENT_MAX_VOCAB = 32768;

/** Records the op; `loss` receives two u32 words per token (see xent.wgsl), summed by lossTotal. */
export function encodeCrossEntropy(
  ctx: GpuContext, encoder: GPUCommandEncoder, logits: GPUBuffer, targets: GPUBuffer, dlogits: GPUBuffer, loss: GPUBuffer, T: number, V: number = VOCAB,
): void {
  if (!Number.isInteger(V) || V < 1 || V > XENT_MAX_VOCAB) throw new RangeError(`crossEntropy (WebGPU): vocab ${V} not in [1, ${XENT_MAX_VOCAB}]`);
  if (T === 0) return;
  ctx.dispatch(encoder, ctx.pipeline(XENT_WGSL), [ctx.uniform([T, V]), logits, targets, dlogits, loss], grid2d(T));
}

/** Exact sum of per-token losses from the kernel's (u32 difference, i32 iln) pairs. */
export function lossTotal(words: Uint32Array, T: number): number {
  let total = 0;
  for (let t = 0; t < T; t++) total += words[2 * t] + (words[2 * t + 1] | 0);
  return total;
}

/**
 * logits Q16 [T,256], targets [T] (−1 = no target). Returns the exact sum of per-token losses
 * (Q16) and writes dlogits (Q16) when given, as the CPU does.
 */
export async function crossEntropy(
  ctx: GpuContext, logits: Int32Array, targets: Int16Array | Int32Array, T: number, dlogits?: Int32Array, V: number = VOCAB,
): Promise<number> {
  const bufs = [ctx.upload(logits.subarray(0, T * V)), ctx.upload(Int32Array.from(targets.subarray(0, T))), ctx.storage(T * V), ctx.storage(2 * T)];
  const [lb, tb, db, sb] = bufs;
  try {
    await ctx.run((e) => encodeCrossEntropy(ctx, e, lb, tb, db, sb, T, V));
    if (dlogits) dlogits.set(await ctx.readI32(db, T * V));
    return lossTotal(await ctx.readWords(sb, 2 * T), T);
  } finally {
    for (const b of bufs) b.destroy();
  }
}
