// A whole training step (SPEC §6) on WebGPU against the CPU step, same chunk, same state: wall
// time per chunk, tokens/s, their ratio, and the two state hashes (which must be equal).
// Run: npx tsx worker/bench/train-webgpu.ts            (the devnet's tiny model and the genesis model)
//      npx tsx worker/bench/train-webgpu.ts D L H F T  (one config; chunk = 2048 tokens)
// On a machine without a GPU the WebGPU column is Mesa's llvmpipe: the same WGSL run by LLVM on
// the same CPU cores, which shows the kernels' cost structure, not a GPU's speed.

import { bytesToHex } from '@noble/hashes/utils.js';
import { GpuContext } from '../src/kernels/webgpu/device.ts';
import { initAdapter } from '../src/model/adapter.ts';
import { generateBackbone } from '../src/model/backbone.ts';
import type { ModelConfig } from '../src/model/config.ts';
import { trainStep } from '../src/train/step.ts';
import { WebGpuTrainer } from '../src/train/step-webgpu.ts';

const CHUNK = 2048;
const args = process.argv.slice(2).map(Number);
const configs: Array<[string, number, number, number, number, number]> = args.length >= 5
  ? [['custom', args[0], args[1], args[2], args[3], args[4]]]
  : [
    ['devnet tiny (D64 L2 F128 T64)', 64, 2, 2, 128, 64],
    ['genesis (D256 L4 F1024 T256)', 256, 4, 4, 1024, 256],
  ];

const now = (): number => Number(process.hrtime.bigint()) / 1e6;
const ctx = await GpuContext.open();
console.log(`adapter: ${ctx.label}`);
console.log(`chunk: ${CHUNK} tokens; one step = forward + backward over every sequence + signum update`);
console.log('');
console.log('model                              cpu ms   cpu tok/s  webgpu ms  webgpu tok/s  webgpu/cpu  hashes');
for (const [name, dModel, nLayers, nHeads, dFF, seqLen] of configs) {
  const cfg: ModelConfig = { vocab: 256, dModel, nLayers, nHeads, dFF, seqLen, loraRank: 8, seed: new Uint8Array(32).fill(42) };
  const bb = generateBackbone(cfg);
  const chunk = new Uint8Array(CHUNK);
  for (let i = 0; i < chunk.length; i++) chunk[i] = 32 + ((i * 2654435761) >>> 25);
  const s0 = initAdapter(cfg);
  const gpu = new WebGpuTrainer(ctx, bb);
  await gpu.step(s0, chunk, 1, { lr: 64 }); // warm-up: pipeline compiles, buffers
  let t0 = now();
  const c = trainStep(bb, s0, chunk, 1, { lr: 64 });
  const cpuMs = now() - t0;
  t0 = now();
  const g = await gpu.step(s0, chunk, 1, { lr: 64 });
  const gpuMs = now() - t0;
  gpu.destroy();
  const same = bytesToHex(c.hash) === bytesToHex(g.hash);
  const tps = (ms: number): string => ((CHUNK * 1000) / ms).toFixed(0);
  console.log(
    `${name.padEnd(32)} ${cpuMs.toFixed(0).padStart(8)} ${tps(cpuMs).padStart(11)} ${gpuMs.toFixed(0).padStart(10)} ${tps(gpuMs).padStart(13)} `
      + `${(cpuMs / gpuMs).toFixed(2).padStart(10)}×  ${same ? 'equal' : 'DIFFERENT'}`,
  );
  if (!same) process.exitCode = 1;
}
ctx.destroy();
