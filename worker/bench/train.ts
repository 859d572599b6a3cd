// Tokens per second of a CPU training step (forward + backward + optimizer) on one chunk.
// Run: npx tsx worker/bench/train.ts [dModel] [nLayers] [seqLen] [chunkTokens]

import { initAdapter } from '../src/model/adapter.ts';
import { generateBackbone } from '../src/model/backbone.ts';
import type { ModelConfig } from '../src/model/config.ts';
import { forward, quantizeAdapter } from '../src/model/forward.ts';
import { trainStep } from '../src/train/step.ts';

const [dModel, nLayers, seqLen, chunkTokens] = [64, 2, 64, 2048].map((d, i) => Number(process.argv[2 + i] ?? d));
const seed = new Uint8Array(32).fill(42);
const cfg: ModelConfig = { vocab: 256, dModel, nLayers, nHeads: Math.max(1, dModel / 16), dFF: 4 * dModel, seqLen, loraRank: 8, seed };
const bb = generateBackbone(cfg);
let state = initAdapter(cfg);
const chunk = new Uint8Array(chunkTokens);
for (let i = 0; i < chunk.length; i++) chunk[i] = 32 + ((i * 2654435761) >>> 25); // fixed printable-ish bytes

const now = (): number => Number(process.hrtime.bigint()) / 1e6;
const steps = 3;
trainStep(bb, state, chunk, 0, { lr: 64 }); // warm-up: JIT and RoPE tables
// CPU time as well as wall time: on a shared machine wall time measures the neighbours too.
const cpu0 = process.cpuUsage();
let t0 = now();
for (let s = 1; s <= steps; s++) state = trainStep(bb, state, chunk, s, { lr: 64 }).state;
const trainMs = (now() - t0) / steps;
const cpu = process.cpuUsage(cpu0);
const trainCpuMs = (cpu.user + cpu.system) / 1000 / steps;
const lq = quantizeAdapter(state);
t0 = now();
for (let o = 0; o < chunk.length; o += seqLen) forward(bb, lq, chunk.subarray(o, o + seqLen));
const fwdMs = now() - t0;
console.log(`config d=${dModel} L=${nLayers} F=${4 * dModel} T=${seqLen} r=8 chunk=${chunkTokens}`);
console.log(`train step: ${trainMs.toFixed(0)} ms/chunk = ${((chunkTokens * 1000) / trainMs).toFixed(0)} tokens/s wall, `
  + `${((chunkTokens * 1000) / trainCpuMs).toFixed(0)} tokens per CPU-second (one thread)`);
console.log(`forward only: ${fwdMs.toFixed(0)} ms/chunk = ${((chunkTokens * 1000) / fwdMs).toFixed(0)} tokens/s (backward+update ≈ ${(trainMs / fwdMs).toFixed(1)}× forward)`);
