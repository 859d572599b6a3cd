// Shared plumbing for one-invocation-per-element kernels: 256 invocations per workgroup on a
// 2-D grid (index = (wg.x + wg.y·32768)·256 + local index), inputs uploaded, outputs read back.

import { GpuContext, grid2d } from './device.ts';

export function elementGroups(n: number): [number, number] {
  return grid2d(Math.ceil(n / 256));
}

/** Uploads `inputs`, allocates `outputs` (word counts), runs `record`, reads the outputs as i32. */
export async function runOnce(
  ctx: GpuContext,
  inputs: Array<Int32Array | Uint32Array>,
  outputs: number[],
  record: (encoder: GPUCommandEncoder, ins: GPUBuffer[], outs: GPUBuffer[]) => void,
): Promise<Int32Array[]> {
  const ins = inputs.map((a) => ctx.upload(a));
  const outs = outputs.map((n) => ctx.storage(n));
  try {
    await ctx.run((e) => record(e, ins, outs));
    const res: Int32Array[] = [];
    for (let i = 0; i < outs.length; i++) res.push(await ctx.readI32(outs[i], outputs[i]));
    return res;
  } finally {
    for (const b of [...ins, ...outs]) b.destroy();
  }
}
