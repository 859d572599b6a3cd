// Tokens per second of a CPU training step (forward + backward + optimizer) on one chunk: in
// process on one thread, then on pools of compute threads (src/train/pool.ts: the chunk's sequences
// split between threads), with the speed-up over one pooled thread and a check that every thread
// count gives the same state hash (exit 1 if not).
// Run: npx tsx worker/bench/train.ts [devnet|genesis | dModel nLayers seqLen chunkTokens] [--threads 1,2] [--steps N]

import { readdirSync, readFileSync } from 'node:fs';
import { bytesToHex } from '@noble/hashes/utils.js';
import { initAdapter } from '../src/model/adapter.ts';
import { generateBackbone } from '../src/model/backbone.ts';
import type { ModelConfig } from '../src/model/config.ts';
import { forward, quantizeAdapter } from '../src/model/forward.ts';
import { ComputePool } from '../src/train/pool.ts';
import { trainStep } from '../src/train/step.ts';
import { ComputeThread } from '../src/train/thread.ts';
import { benchChunk, benchConfig } from './lib/shapes.ts';

const args = process.argv.slice(2);
const flag = (name: string, def: string): string => {
  const i = args.indexOf(name);
  if (i < 0) return def;
  const v = args[i + 1];
  args.splice(i, 2);
  return v ?? def;
};
const threadCounts = flag('--threads', '1,2').split(',').map(Number);
const stepsArg = flag('--steps', '');
let cfg: ModelConfig;
let chunkTokens: number;
if (args[0] === undefined || /^[a-z]/.test(args[0])) {
  ({ cfg, chunkTokens } = benchConfig(args[0] ?? 'devnet'));
} else {
  const [dModel, nLayers, seqLen, ct] = [64, 2, 64, 2048].map((d, i) => Number(args[i] ?? d));
  cfg = { vocab: 256, dModel, nLayers, nHeads: Math.max(1, dModel / 16), dFF: 4 * dModel, seqLen, loraRank: 8, seed: new Uint8Array(32).fill(42) };
  chunkTokens = ct;
}
const steps = Number(stepsArg || (cfg.dModel >= 256 ? 2 : 3));
const bb = generateBackbone(cfg);
const chunk = benchChunk(chunkTokens);
const now = (): number => Number(process.hrtime.bigint()) / 1e6;
/** CPU ms of the whole process (every thread) since `c0`. */
const cpuMs = (c0: NodeJS.CpuUsage): number => {
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
};

/**
 * CPU seconds of each OS thread of this process (Linux /proc/self/task/<tid>/stat: utime + stime,
 * in clock ticks of 10 ms), by tid; empty elsewhere. Worker threads are OS threads of the process.
 */
const threadCpu = (): Map<string, number> => {
  const out = new Map<string, number>();
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(tid, (Number(f[11]) + Number(f[12])) / 100); // fields 14, 15 (utime, stime) counted from 1
    }
  } catch {
    // not Linux: no per-thread figures
  }
  return out;
};

console.log(`config D${cfg.dModel} L${cfg.nLayers} H${cfg.nHeads} F${cfg.dFF} T${cfg.seqLen} r${cfg.loraRank}, chunk ${chunkTokens} tokens (${chunkTokens / cfg.seqLen} sequences), ${steps} timed steps after one warm-up`);

// In process, one thread: the reference figure (no thread, no copies).
let state = initAdapter(cfg);
trainStep(bb, state, chunk, 0, { lr: 64 }); // warm-up: JIT, RoPE tables, wasm
let c0 = process.cpuUsage();
let t0 = now();
let lastHash = '';
for (let s = 1; s <= steps; s++) {
  const r = trainStep(bb, state, chunk, s, { lr: 64 });
  state = r.state;
  lastHash = bytesToHex(r.hash);
}
const inMs = (now() - t0) / steps;
const inCpu = cpuMs(c0) / steps;
console.log(`in process: ${inMs.toFixed(0)} ms/step wall, ${((chunkTokens * 1000) / inMs).toFixed(0)} tokens/s, ${((chunkTokens * 1000) / inCpu).toFixed(0)} tokens per CPU-second`);
const lq = quantizeAdapter(state);
t0 = now();
for (let o = 0; o < chunk.length; o += cfg.seqLen) forward(bb, lq, chunk.subarray(o, o + cfg.seqLen));
const fwdMs = now() - t0;
console.log(`forward only: ${fwdMs.toFixed(0)} ms/chunk (step ≈ ${(inMs / fwdMs).toFixed(1)}× forward)`);

// Pools: the same steps from the same initial state, split between n threads.
// On a shared machine the wall-clock speed-up measures the neighbours as much as the split, so the
// bench also reports a CPU-time one: the busiest thread's CPU time plus the main thread's (the
// step's critical path on idle cores) against the same for the first count.
let base: number | undefined;
let baseCritical: number | undefined;
for (const n of threadCounts) {
  const pool = new ComputePool(Array.from({ length: n }, (_, i) => new ComputeThread({ name: `bench thread ${i + 1}` })));
  let st = initAdapter(cfg);
  await pool.step(bb, st, chunk, 0, { lr: 64 }); // warm-up: the backbone crosses, each thread JITs
  c0 = process.cpuUsage();
  const th0 = threadCpu();
  t0 = now();
  let hash = '';
  for (let s = 1; s <= steps; s++) {
    const r = await pool.step(bb, st, chunk, s, { lr: 64 });
    st = r.state;
    hash = bytesToHex(r.hash);
  }
  const ms = (now() - t0) / steps;
  const cpu = cpuMs(c0) / steps;
  const th1 = threadCpu();
  const mainS = (th1.get(String(process.pid)) ?? 0) - (th0.get(String(process.pid)) ?? 0);
  let busiest = 0;
  for (const [tid, s1] of th1) if (tid !== String(process.pid)) busiest = Math.max(busiest, s1 - (th0.get(tid) ?? 0));
  const critical = (busiest + mainS) * 1000 / steps;
  pool.close();
  base ??= ms;
  baseCritical ??= critical;
  if (hash !== lastHash) process.exitCode = 1; // another thread count, other bytes: the bench fails
  console.log(`${n} thread${n === 1 ? ' ' : 's'}: ${ms.toFixed(0)} ms/step wall, ${((chunkTokens * 1000) / ms).toFixed(0)} tokens/s, `
    + `${((chunkTokens * 1000) / cpu).toFixed(0)} tokens per CPU-second, speed-up ×${(base / ms).toFixed(2)} over ${threadCounts[0]} (wall); `
    + `critical path ${critical.toFixed(0)} CPU-ms/step (busiest thread ${(busiest * 1000 / steps).toFixed(0)} + main ${(mainS * 1000 / steps).toFixed(0)}), `
    + `speed-up ×${(baseCritical / critical).toFixed(2)} (CPU time); `
    + `state hash ${hash === lastHash ? 'identical to in process' : `DIFFERS (${hash} vs ${lastHash})`}`);
}
