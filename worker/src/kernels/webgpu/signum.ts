// Sign-momentum step (SPEC §4.9) on WebGPU: mirrors cpu/signum.ts `signumStep`, in place on the
// host arrays like the CPU (param and momentum are overwritten with the GPU's results).

import { GpuContext } from './device.ts';
import { elementGroups } from './elementwise.ts';
import { toAcc64 } from './packing.ts';
import { withPrelude } from './prelude.ts';
import { loadWgsl } from './wgsl.ts';

export const SIGNUM_WGSL = withPrelude(loadWgsl('signum.wgsl'));

/** Records the step on resident buffers; grad64 holds acc64 pairs. */
export function encodeSignumStep(
  ctx: GpuContext, encoder: GPUCommandEncoder,
  param: GPUBuffer, momentum: GPUBuffer, grad64: GPUBuffer, n: number, shift: number, lr: number,
): void {
  if (!Number.isInteger(shift) || shift < 0 || shift > 40) throw new RangeError(`signumStep: shift ${shift} not in [0, 40]`);
  // |p| ≤ 2^16 and lr ≤ 2^30 keep p − lr·sign(m) inside i32 on the GPU (the CPU computes it exactly).
  if (!Number.isInteger(lr) || Math.abs(lr) > 2 ** 30) throw new RangeError(`signumStep: lr ${lr} not an integer within ±2^30`);
  if (n === 0) return;
  ctx.dispatch(encoder, ctx.pipeline(SIGNUM_WGSL), [ctx.uniform([n, shift, lr]), param, momentum, grad64], elementGroups(n));
}

export async function signumStep(
  ctx: GpuContext, param: Int32Array, momentum: Int32Array, grad64: BigInt64Array, shift: number, lr: number,
): Promise<void> {
  const n = param.length;
  const bufs = [ctx.upload(param), ctx.upload(momentum.subarray(0, n)), ctx.upload(toAcc64(grad64.subarray(0, n)))];
  const [pb, mb, gb] = bufs;
  try {
    await ctx.run((e) => encodeSignumStep(ctx, e, pb, mb, gb, n, shift, lr));
    param.set(await ctx.readI32(pb, n));
    momentum.set(await ctx.readI32(mb, n));
  } finally {
    for (const b of bufs) b.destroy();
  }
}
