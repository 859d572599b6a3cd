// What every WebGPU test file needs: the device (a failure, never a skip, when none opens; the
// adapter printed so a reader knows whether a GPU or llvmpipe ran the kernels), and the seeded
// generator of its random cases.

import t from 'tap';
import { GpuContext } from '../../src/kernels/webgpu/device.ts';

/** Opens the device for this test file, or fails the file; destroyed at teardown. */
export async function openTestGpu(): Promise<GpuContext> {
  let ctx: GpuContext;
  try {
    ctx = await GpuContext.open();
  } catch (err) {
    t.fail(`no WebGPU adapter: ${(err as Error).message}`);
    process.exit(1);
  }
  t.comment(ctx.label);
  t.teardown(() => ctx.destroy());
  return ctx;
}

/** splitmix32: a fixed sequence of u32 per seed, so every case is reproducible. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}
