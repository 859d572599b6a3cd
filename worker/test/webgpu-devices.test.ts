// PoC distances and training steps on WebGPU against the CPU reference, byte for byte, on 1, 2
// and 4 devices (several devices of one adapter: Mesa's llvmpipe where there is no GPU), with
// layer-sharded groups and two memory profiles (SPEC.md §14, src/poc, src/train/multi-device.ts).

import t from 'tap';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { buildClaimBatch } from '../src/poc/claims.ts';
import { buildPocModel, pocDistanceOf, type PocDims } from '../src/poc/compute.ts';
import { openDevices, type OpenedGpuDevice } from '../src/poc/devices.ts';
import { planPoc } from '../src/poc/profile.ts';
import { computeDistances, cpuPocUnit, gpuPocUnit, type PocUnit, runPoc } from '../src/poc/runner.ts';
import { initAdapter } from '../src/model/adapter.ts';
import { generateBackbone } from '../src/model/backbone.ts';
import type { ModelConfig } from '../src/model/config.ts';
import { trainStep } from '../src/train/step.ts';
import { webgpuDevicesBackend } from '../src/train/multi-device.ts';
import { ComputeThread } from '../src/train/thread.ts';

let devices: OpenedGpuDevice[];
try {
  devices = await openDevices([0, 1, 2, 3]);
} catch (err) {
  t.fail(`no WebGPU adapter: ${(err as Error).message}`);
  process.exit(1);
}
t.comment(`4 devices: ${devices[0].adapter}`);
t.teardown(() => {
  for (const d of devices) d.ctx.destroy();
});

const small: PocDims = { dModel: 32, nLayers: 2, nHeads: 2, dFF: 64, seqLen: 16 };

t.test('PoC distances: WebGPU = CPU on 20 seeds (random dims, nonces up to 2^64 − 1)', async (t) => {
  const shapes: PocDims[] = [
    small, { dModel: 64, nLayers: 1, nHeads: 4, dFF: 96, seqLen: 24 }, { dModel: 48, nLayers: 3, nHeads: 3, dFF: 32, seqLen: 9 },
    { dModel: 16, nLayers: 2, nHeads: 1, dFF: 16, seqLen: 40 },
  ];
  const nonces = [0n, 1n, 2n, 1000003n, (1n << 64n) - 1n];
  let agree = 0;
  for (let s = 0; s < 20; s++) {
    const seed = sha256(new Uint8Array([0x70, s]));
    const dims = shapes[s % shapes.length];
    const m = buildPocModel(seed, dims);
    const cpu = nonces.map((n) => pocDistanceOf(m, n));
    const unit = gpuPocUnit([devices[s % 4]], m, 1 + (s % 5));
    try {
      const gpu = (await computeDistances([unit], nonces)).map((c) => c.distance);
      if (gpu.join() === cpu.join()) agree++;
      else t.same(gpu, cpu, `seed ${s} (${JSON.stringify(dims)})`);
    } finally {
      unit.close();
    }
  }
  t.equal(agree, 20, 'every seed: the same 5 distances on WebGPU as on the CPU');
});

t.test('a PoC batch gives the same claims and root on the CPU and on 1, 2, 4 devices, grouped or sharded, under two profiles', async (t) => {
  const seed = new Uint8Array(32).fill(0x11);
  const m = buildPocModel(seed, small);
  const nonces = Array.from({ length: 24 }, (_, i) => BigInt(i * 7 + 3));
  const rTarget = 131072n;
  const thread = new ComputeThread({ name: 'poc cpu' });
  t.teardown(() => thread.close());
  const cpu = buildClaimBatch(await computeDistances([cpuPocUnit(thread, seed, small, 5)], nonces), rTarget);
  t.ok(cpu.claims.length > 0 && cpu.rejected > 0, `${cpu.claims.length} claims, ${cpu.rejected} over r_target`);
  const layouts: Array<[string, PocUnit[]]> = [];
  const mk = (ids: number[][], mb: number) => ids.map((g) => gpuPocUnit(g.map((i) => devices[i]), m, mb));
  layouts.push(['1 device', mk([[0]], 24)]);
  layouts.push(['2 devices, 2 groups', mk([[0], [1]], 5)]);
  layouts.push(['4 devices, 4 groups', mk([[0], [1], [2], [3]], 3)]);
  layouts.push(['2 devices, 1 sharded group (layer 0 | layer 1)', mk([[0, 1]], 7)]);
  layouts.push(['4 devices, 2 sharded groups', mk([[0, 1], [2, 3]], 4)]);
  layouts.push(['4 devices, 1 group of 4 (two hold no layer)', mk([[0, 1, 2, 3]], 24)]);
  // Two memory profiles from the real limits: all memory (large micro-batch) and a declared tight one.
  const roomy = planPoc(devices, small);
  const tight = planPoc(devices.map((d) => ({ ...d, memoryBytes: 300_000 })), small, { groupSize: 2 });
  t.not(roomy.name, tight.name, `profiles differ: ${roomy.name} vs ${tight.name}`);
  for (const p of [roomy, tight]) layouts.push([`profile ${p.name}`, p.groups.map((g) => gpuPocUnit(g.deviceIds.map((i) => devices[i]), m, g.microBatch))]);
  for (const [name, units] of layouts) {
    try {
      const got = buildClaimBatch(await computeDistances(units, nonces), rTarget);
      t.equal(bytesToHex(got.root), bytesToHex(cpu.root), name);
      t.same(got.claims, cpu.claims, `${name}: claims`);
    } finally {
      for (const u of units) u.close();
    }
  }
});

t.test('runPoc: each group walks its own nonce iterator; --count split over groups', async (t) => {
  const seed = new Uint8Array(32).fill(0x22);
  const m = buildPocModel(seed, small);
  const units = [gpuPocUnit([devices[0]], m, 2), gpuPocUnit([devices[1]], m, 3)];
  try {
    let batches = 0;
    const r = await runPoc({ units, nodeId: 1, nNodes: 3, rTarget: 1n << 20n, count: 9, onBatch: () => batches++ });
    const got = r.computed.map((c) => c.nonce).sort((a, b) => (a < b ? -1 : 1));
    // group 0: 1 + 6i (5 nonces), group 1: 1 + 3 + 6i (4 nonces)
    t.same(got, [1n, 4n, 7n, 10n, 13n, 16n, 19n, 22n, 25n]);
    t.same(r.progress.map((p) => p.nonces), [5, 4]);
    t.equal(batches, 3 + 2);
    for (const c of r.computed) if (c.distance !== pocDistanceOf(m, c.nonce)) t.fail(`nonce ${c.nonce}`);
  } finally {
    for (const u of units) u.close();
  }
});

t.test('a training step gives the same bytes on the CPU and on 1, 2 and 4 devices', async (t) => {
  const cfg: ModelConfig = { vocab: 256, dModel: 32, nLayers: 2, nHeads: 2, dFF: 64, seqLen: 16, loraRank: 4, seed: new Uint8Array(32).fill(9) };
  const bb = generateBackbone(cfg);
  const text = new TextEncoder().encode('It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of foolishness, ');
  const chunk = text.subarray(0, 96); // 6 sequences: 6 | 3+3 | 2+2+1+1
  const s0 = initAdapter(cfg);
  const cpu1 = trainStep(bb, s0, chunk, 1, { lr: 256 });
  const cpu2 = trainStep(bb, cpu1.state, chunk, 2, { lr: 256 });
  t.equal(bytesToHex(cpu1.hash), '726f9a13a8d2bca7e14efeda669cf306fd00cebc9c42d5d0727ed8027d8c270d', 'SPEC §9 whole-step vector');
  for (const n of [1, 2, 4]) {
    let perDevice = 0;
    // The backend owns its contexts and destroys them on close: fresh devices per case.
    const own = await openDevices(Array.from({ length: n }, (_, i) => i));
    const backend = webgpuDevicesBackend(own.map((d) => d.ctx), { inProcess: true, onDevice: () => perDevice++ });
    try {
      const r1 = await backend.step(bb, s0, chunk, 1, { lr: 256, microBatch: 2 });
      const r2 = await backend.step(bb, r1.state, chunk, 2, { lr: 256 });
      t.equal(bytesToHex(r1.hash), bytesToHex(cpu1.hash), `${n} device(s): step 1`);
      t.equal(bytesToHex(r2.hash), bytesToHex(cpu2.hash), `${n} device(s): step 2`);
      t.equal(r1.lossSumQ16, cpu1.lossSumQ16);
      t.equal(r1.tokens, cpu1.tokens);
      t.equal(perDevice, 2 * n, 'every device took part in both steps');
    } finally {
      backend.close();
    }
  }
});
