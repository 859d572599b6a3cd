// GOPS of the ternary × int8 matmul on WebGPU against the CPU kernel (cpu/ternlin.ts), with
// every result checked bit for bit. One multiply-add counts as 2 ops: 2·T·N·K per matmul.
// Run: npx tsx worker/bench/webgpu.ts [T N K ...]   (defaults: 256 256 512 and 1024 1024 2048)
//
// Three WebGPU figures per shape:
//   kernel     raw i32 accumulation (matmul-ternary-int8.wgsl), operands resident on the device,
//              several dispatches per submit: what the training step sees.
//   ternlin    the fused SPEC op (accumulate + per-token dequant), resident.
//   end-to-end ternlin from host arrays: pack, upload, run, read back.

import { GpuContext } from '../src/kernels/webgpu/device.ts';
import { encodeMatmulTernaryInt8, uploadTernaryWeights } from '../src/kernels/webgpu/matmul-ternary-int8.ts';
import { encodeTernlin, ternlin as ternlinGpu } from '../src/kernels/webgpu/ternlin.ts';
import { packInt8Rows, packTernaryRows } from '../src/kernels/webgpu/packing.ts';
import { ternlin as ternlinCpu } from '../src/kernels/cpu/ternlin.ts';
import { packTernary } from '../src/kernels/cpu/ternary-pack.ts';

const args = process.argv.slice(2).map(Number);
const shapes: Array<[number, number, number]> = [];
for (let i = 0; i + 2 < args.length; i += 3) shapes.push([args[i], args[i + 1], args[i + 2]]);
if (shapes.length === 0) shapes.push([256, 256, 512], [1024, 1024, 2048]);

const now = (): number => Number(process.hrtime.bigint()) / 1e6;

/** xorshift32: fixed inputs, so runs are comparable. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

/** Median of `reps` timings of `fn`, after one warm-up call. */
async function timeMs(reps: number, fn: () => Promise<void> | void): Promise<number> {
  await fn();
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = now();
    await fn();
    ts.push(now() - t0);
  }
  ts.sort((a, b) => a - b);
  return ts[Math.floor(ts.length / 2)];
}

const ctx = await GpuContext.open();
console.log(`adapter: ${ctx.label}`);
console.log(`backend: ${ctx.opened.backend}`);

for (const [T, N, K] of shapes) {
  const r = rng(T * 31 + N * 7 + K);
  const x8 = new Int8Array(T * K);
  for (let i = 0; i < x8.length; i++) x8[i] = (r() % 255) - 127;
  const w = new Int8Array(N * K);
  for (let i = 0; i < w.length; i++) w[i] = (r() % 3) - 1;
  const sx = new Int32Array(T);
  for (let i = 0; i < T; i++) sx[i] = r() % (1 << 23);
  const gamma = 23170;
  const ops = 2 * T * N * K;
  const gops = (ms: number): string => (ops / ms / 1e6).toFixed(2);

  // CPU kernel (the arbiter's reference).
  const pw = packTernary(w, N, K);
  let yCpu: Int32Array = new Int32Array(0);
  const cpuMs = await timeMs(T * N * K > 1e8 ? 1 : 3, () => {
    yCpu = ternlinCpu(pw, gamma, x8, sx, T);
  });

  // WebGPU, resident operands.
  const weights = uploadTernaryWeights(ctx, w, N, K);
  const wBuf = ctx.upload(packTernaryRows(w, N, K));
  const xBuf = ctx.upload(packInt8Rows(x8, T, K));
  const sBuf = ctx.upload(sx);
  const accBuf = ctx.storage(T * N);
  const yBuf = ctx.storage(T * N);
  // Large shapes take seconds per matmul on a software renderer: fewer repetitions there.
  const big = ops > 1e9;
  const perSubmit = big ? 1 : 4;
  const reps = big ? 2 : 5;
  const kernelMs =
    (await timeMs(reps, async () => {
      await ctx.run((e) => {
        for (let i = 0; i < perSubmit; i++) encodeMatmulTernaryInt8(ctx, e, xBuf, weights, accBuf, T);
      });
      await ctx.device.queue.onSubmittedWorkDone();
    })) / perSubmit;
  const ternlinMs =
    (await timeMs(reps, async () => {
      await ctx.run((e) => {
        for (let i = 0; i < perSubmit; i++) encodeTernlin(ctx, e, wBuf, gamma, xBuf, sBuf, yBuf, T, N, K);
      });
      await ctx.device.queue.onSubmittedWorkDone();
    })) / perSubmit;
  const yResident = await ctx.readI32(yBuf, T * N);

  let yGpu: Int32Array = new Int32Array(0);
  const e2eMs = await timeMs(big ? 1 : 3, async () => {
    yGpu = await ternlinGpu(ctx, pw, gamma, x8, sx, T);
  });

  const same = (a: Int32Array, b: Int32Array): boolean =>
    Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  const identical = same(yGpu, yCpu) && same(yResident, yCpu);

  console.log(`\nT=${T} N=${N} K=${K} (${(ops / 1e9).toFixed(3)} G ops per matmul)`);
  console.log(`  cpu ternlin            ${cpuMs.toFixed(1).padStart(9)} ms  ${gops(cpuMs).padStart(7)} GOPS  1.00×`);
  for (const [name, ms] of [
    ['webgpu kernel (acc)', kernelMs],
    ['webgpu ternlin', ternlinMs],
    ['webgpu ternlin e2e', e2eMs],
  ] as const) {
    console.log(`  ${name.padEnd(22)} ${ms.toFixed(1).padStart(9)} ms  ${gops(ms).padStart(7)} GOPS  ${(cpuMs / ms).toFixed(2)}×`);
  }
  console.log(`  outputs bit-identical to the CPU kernel: ${identical ? 'yes' : 'NO'}`);
  for (const b of [weights.buffer, wBuf, xBuf, sBuf, accBuf, yBuf]) b.destroy();
  if (!identical) process.exitCode = 1;
}
ctx.destroy();
