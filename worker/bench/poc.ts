// Proof-of-Compute throughput (seed 004's test_nonce_rate) and multi-device training scaling:
// nonces/min on the CPU reference and on WebGPU with 1, 2 and 4 devices (one group each, and one
// layer-sharded group of 2), every distance checked against the CPU; then training tokens/s of one
// step over a 2048-token chunk on 1, 2 and 4 devices (data-parallel, exact gradient sums: the state
// hash must be the same on every count).
// Run: npx tsx worker/bench/poc.ts               (the default PoC dims, D64 L2 H4 F128 T32)
//      npx tsx worker/bench/poc.ts D L H F T N   (one config, N nonces per measurement)
// On a machine without a GPU the devices are several devices of Mesa's llvmpipe adapter: they share
// the same CPU cores, so N devices there measure the overhead of splitting, not a speed-up.

import { bytesToHex } from '@noble/hashes/utils.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { buildPocModel, DEFAULT_POC_DIMS, pocDistanceOf, type PocDims } from '../src/poc/compute.ts';
import { openDevices } from '../src/poc/devices.ts';
import { computeDistances, gpuPocUnit, type PocUnit } from '../src/poc/runner.ts';
import { planPoc } from '../src/poc/profile.ts';
import { initAdapter } from '../src/model/adapter.ts';
import { generateBackbone } from '../src/model/backbone.ts';
import type { ModelConfig } from '../src/model/config.ts';
import { trainStepDevices } from '../src/train/multi-device.ts';
import { WebGpuTrainer } from '../src/train/step-webgpu.ts';
import { trainStep } from '../src/train/step.ts';

const args = process.argv.slice(2).map(Number);
const dims: PocDims = args.length >= 5 ? { dModel: args[0], nLayers: args[1], nHeads: args[2], dFF: args[3], seqLen: args[4] } : DEFAULT_POC_DIMS;
const N = args[5] ?? 256;
const now = (): number => Number(process.hrtime.bigint()) / 1e6;
const perMin = (n: number, ms: number): string => ((n * 60000) / ms).toFixed(0);

const seed = sha256(new TextEncoder().encode('bench poc'));
const model = buildPocModel(seed, dims);
const nonces = Array.from({ length: N }, (_, i) => BigInt(i));
console.log(`PoC dims: d_model ${dims.dModel}, layers ${dims.nLayers}, heads ${dims.nHeads}, d_ff ${dims.dFF}, seq_len ${dims.seqLen}; ${N} nonces per measurement`);

let t0 = now();
const cpu = nonces.map((n) => pocDistanceOf(model, n));
const cpuMs = now() - t0;
console.log('');
console.log('where                                   nonces/min   per group      vs cpu   distances');
console.log(`${'cpu (reference, one thread)'.padEnd(40)}${perMin(N, cpuMs).padStart(10)}   ${'-'.padStart(9)}   ${'1.00'.padStart(8)}×   reference`);

const devices = await openDevices([0, 1, 2, 3]);
console.log(`devices: 4 × ${devices[0].adapter}`);
const layouts: Array<[string, number[][]]> = [
  ['webgpu, 1 device', [[0]]],
  ['webgpu, 2 devices (2 groups)', [[0], [1]]],
  ['webgpu, 4 devices (4 groups)', [[0], [1], [2], [3]]],
  ['webgpu, 2 devices (1 sharded group)', [[0, 1]]],
];
const mb = planPoc(devices, dims).groups[0].microBatch;
let oneDevice = 0;
for (const [name, groups] of layouts) {
  const units: PocUnit[] = groups.map((g) => gpuPocUnit(g.map((i) => devices[i]), model, mb));
  await computeDistances(units, nonces.slice(0, groups.length * 2)); // warm-up: pipelines, buffers
  t0 = now();
  const got = await computeDistances(units, nonces);
  const ms = now() - t0;
  for (const u of units) u.close();
  const same = got.every((c, i) => c.distance === cpu[i]);
  const rate = (N * 60000) / ms;
  if (groups.length === 1 && groups[0].length === 1) oneDevice = rate;
  console.log(
    `${name.padEnd(40)}${rate.toFixed(0).padStart(10)}   ${(rate / groups.length).toFixed(0).padStart(9)}   ${((rate * cpuMs) / (N * 60000)).toFixed(2).padStart(8)}×   ${same ? 'equal' : 'DIFFERENT'}`
      + (oneDevice && groups.length > 1 ? `   (${(rate / oneDevice).toFixed(2)}× one device)` : ''),
  );
  if (!same) process.exitCode = 1;
}
console.log(`(micro-batch ${mb} nonces per command buffer, from the memory profile)`);

// Training: one step over a 2048-token chunk, data-parallel over 1, 2, 4 devices.
const cfg: ModelConfig = { vocab: 256, dModel: 64, nLayers: 2, nHeads: 2, dFF: 128, seqLen: 64, loraRank: 8, seed: new Uint8Array(32).fill(42) };
const bb = generateBackbone(cfg);
const chunk = new Uint8Array(2048);
for (let i = 0; i < chunk.length; i++) chunk[i] = 32 + ((i * 2654435761) >>> 25);
const s0 = initAdapter(cfg);
t0 = now();
const ref = trainStep(bb, s0, chunk, 1, { lr: 64 });
const refMs = now() - t0;
console.log('');
console.log('training step, devnet tiny model (D64 L2 F128 T64), chunk 2048 tokens');
console.log('where                      ms    tok/s   vs 1 device   scaling eff.   hash');
console.log(`${'cpu (reference)'.padEnd(22)}${refMs.toFixed(0).padStart(7)}${((2048 * 1000) / refMs).toFixed(0).padStart(9)}   ${'-'.padStart(11)}   ${'-'.padStart(12)}   ${bytesToHex(ref.hash).slice(0, 16)}`);
let oneTps = 0;
for (const n of [1, 2, 4]) {
  const trainers = devices.slice(0, n).map((d) => new WebGpuTrainer(d.ctx, bb));
  await trainStepDevices(trainers, s0, chunk.subarray(0, 64 * n), 1, { lr: 64 }); // warm-up
  t0 = now();
  const r = await trainStepDevices(trainers, s0, chunk, 1, { lr: 64 });
  const ms = now() - t0;
  for (const tr of trainers) tr.destroy();
  const tps = (2048 * 1000) / ms;
  if (n === 1) oneTps = tps;
  const same = bytesToHex(r.hash) === bytesToHex(ref.hash);
  console.log(
    `${`webgpu, ${n} device${n > 1 ? 's' : ''}`.padEnd(22)}${ms.toFixed(0).padStart(7)}${tps.toFixed(0).padStart(9)}   ${(tps / oneTps).toFixed(2).padStart(10)}×   ${((tps / oneTps / n) * 100).toFixed(0).padStart(11)}%   ${bytesToHex(r.hash).slice(0, 16)} ${same ? 'equal' : 'DIFFERENT'}`,
  );
  if (!same) process.exitCode = 1;
}
for (const d of devices) d.ctx.destroy();
