// Where a CPU training step spends its time: the V8 sampling profiler (node:inspector) over a few
// in-process steps (SPEC §6 trainStep), self time summed per function, grouped by kernel file.
// Run: npx tsx worker/bench/profile.ts [devnet|genesis] [steps]

import { Session } from 'node:inspector/promises';
import { initAdapter } from '../src/model/adapter.ts';
import { generateBackbone } from '../src/model/backbone.ts';
import { trainStep } from '../src/train/step.ts';
import { benchConfig, benchChunk } from './lib/shapes.ts';

const shape = process.argv[2] ?? 'devnet';
const steps = Number(process.argv[3] ?? 2);
const { cfg, chunkTokens } = benchConfig(shape);
const bb = generateBackbone(cfg);
const chunk = benchChunk(chunkTokens);
let state = initAdapter(cfg);
state = trainStep(bb, state, chunk, 1, { lr: 64 }).state; // warm-up: JIT, RoPE tables, wasm

interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number; children?: number[] }
const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.setSamplingInterval', { interval: 200 });
await session.post('Profiler.start');
for (let s = 2; s < 2 + steps; s++) state = trainStep(bb, state, chunk, s, { lr: 64 }).state;
const { profile } = await session.post('Profiler.stop') as { profile: { nodes: Node[]; samples: number[]; timeDeltas: number[] } };
session.disconnect();

// Self time per node from the sample deltas, then summed per function and per file.
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<number, number>();
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const perFn = new Map<string, number>();
const perFile = new Map<string, number>();
let total = 0;
for (const [id, us] of self) {
  const f = byId.get(id)!.callFrame;
  const file = f.url === '' ? `(${f.functionName || 'native'})` : f.url.replace(/^.*\/worker\//, '').replace(/\?.*$/, '');
  const fn = `${f.functionName || '(anonymous)'}  ${file}`;
  perFn.set(fn, (perFn.get(fn) ?? 0) + us);
  perFile.set(file, (perFile.get(file) ?? 0) + us);
  total += us;
}
const show = (m: Map<string, number>, n: number) =>
  [...m].sort((a, b) => b[1] - a[1]).slice(0, n).forEach(([k, us]) => console.log(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000 / steps).toFixed(1).padStart(8)} ms/step  ${k}`));
console.log(`${shape}: D${cfg.dModel} L${cfg.nLayers} H${cfg.nHeads} F${cfg.dFF} T${cfg.seqLen} r${cfg.loraRank}, chunk ${chunkTokens} tokens, ${steps} steps, ${(total / 1000 / steps).toFixed(0)} ms/step sampled`);
console.log('-- per file --');
show(perFile, 20);
console.log('-- per function --');
show(perFn, 30);
