/**
 * The L3 arbiter's work per dispute, before and after bisection (modules/verification/README.md
 * "Bisection"): before, an arbiter re-executes the whole chunk (recomputeSubmission: the miner's
 * `steps` steps from the window's base, with the loss before and after, then the gradient hash);
 * after, it re-executes ONE step from the agreed state the miner published by CID
 * (reexecuteOneStep: fetch and check the state checkpoint, one step, its state hash). Both on the
 * CPU backend's compute thread, as the arbitrate role runs them. CPU seconds are every thread of
 * this process (process.cpuUsage): the part that does not depend on the machine's other load.
 *
 * Configs: devnet (genesis/devnet.ts DEVNET_ARCHITECTURE), genesis (modules/model/genesis.ts
 * GENESIS_VERSION), and largest: the widest model the worker's config accepts (worker SPEC §5:
 * dModel 1024, dFF 2048) at the genesis model's depth, sequence length and LoRA rank, 8 heads —
 * measured as one step and one loss evaluation, the whole chunk derived (too slow to train here).
 *
 * Run: npx tsx --conditions=r3mes-source bench/bisection.ts [runs=1] [steps=2] [devnet|genesis|largest ...]
 * It prints; it asserts only that both re-executions reproduce the miner's job.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { bytesToHex } from '@noble/hashes/utils.js';
import { DEVNET_ARCHITECTURE } from '../genesis/devnet.ts';
import { GENESIS_VERSION } from '../modules/model/genesis.ts';
import { cpuBackend } from '../worker/src/backend.ts';
import { chunkAt } from '../worker/src/data/corpus.ts';
import { chunkHash } from '../worker/src/data/chunk.ts';
import { adapterDelta, encodeDelta } from '../worker/src/output/delta.ts';
import { oneStep, reexecuteOneStep } from '../worker/src/roles/bisect.ts';
import { initAdapter } from '../worker/src/model/adapter.ts';
import { DEFAULT_LR, runTrainingJob } from '../worker/src/roles/job.ts';
import { identityOfVersion, type LoadedModel, loadModel } from '../worker/src/roles/model.ts';
import { recomputeSubmission } from '../worker/src/roles/verify.ts';
import { FileBlockstore } from '../worker/src/storage/blockstore.ts';
import type { ModelVersion, Submission } from '../worker/src/chain/client.ts';

const numbers = process.argv.slice(2).filter((a) => /^\d+$/.test(a)).map(Number);
const runs = numbers[0] ?? 1;
const steps = numbers[1] ?? 2;
const picked = process.argv.slice(2).filter((a) => !/^\d+$/.test(a));
const genesisArch = (GENESIS_VERSION as unknown as { architecture: Record<string, unknown> }).architecture;
const configs: Array<{ name: string; version: ModelVersion }> = [
  { name: 'devnet', version: { ...GENESIS_VERSION, architecture: { ...DEVNET_ARCHITECTURE } } as unknown as ModelVersion },
  { name: 'genesis', version: GENESIS_VERSION as unknown as ModelVersion },
  { name: 'largest', version: { ...GENESIS_VERSION, architecture: { ...genesisArch, dModel: 1024, dFf: 2048, nHeads: 8 } } as unknown as ModelVersion },
].filter((c) => picked.length === 0 || picked.includes(c.name));

const fmt = (s: number) => s.toFixed(2);

async function timed<T>(run: () => Promise<T>): Promise<{ value: T; wall: number; cpu: number }> {
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  const value = await run();
  const used = process.cpuUsage(c0);
  return { value, wall: Number(process.hrtime.bigint() - t0) / 1e9, cpu: (used.user + used.system) / 1e6 };
}

const dir = await mkdtemp(join(tmpdir(), 'r3mes-bisect-bench-'));
console.log(`arbiter work per dispute, CPU backend (compute thread), a miner job of ${steps} steps at lr ${DEFAULT_LR} on chunk 0 of the Brown train split (2048 tokens); `
  + `${runs} run(s) each; ${availableParallelism()} cpus, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}, node ${process.version}`);
const rows: string[] = [];
try {
  for (const c of configs) {
    const identity = identityOfVersion(c.version);
    const k = identity.cfg;
    const cfg = `d=${k.dModel} L=${k.nLayers} H=${k.nHeads} F=${k.dFF} T=${k.seqLen} r=${k.loraRank}`;
    const model: LoadedModel = await loadModel(identity);
    const chunk = chunkAt(0, 'train').tokens;
    const backend = cpuBackend();
    try {
      if (c.name === 'largest') {
        // Too slow to train a miner job and re-execute it whole on a 2-vCPU VM: one step (from the
        // initial adapter, the arbiter's computation) and one evaluation (the loss before/after of a
        // whole-chunk re-execution) are measured; the whole chunk is derived: steps × step + 2 × evaluation.
        const initial = initAdapter(identity.cfg);
        const step = await timed(() => oneStep(backend, model, initial, chunk, 1, DEFAULT_LR));
        const evaluation = await timed(() => backend.evaluate(model.backbone, initial, chunk));
        const wholeCpu = steps * step.cpu + 2 * evaluation.cpu;
        const wholeWall = steps * step.wall + 2 * evaluation.wall;
        console.log(`${c.name} (${cfg}): one step ${fmt(step.wall)} s wall / ${fmt(step.cpu)} s CPU; one evaluation ${fmt(evaluation.wall)} s wall / ${fmt(evaluation.cpu)} s CPU; `
          + `whole chunk derived ${fmt(wholeWall)} s wall / ${fmt(wholeCpu)} s CPU; load average now ${loadavg()[0]!.toFixed(1)}`);
        rows.push(`| ${c.name} | ${cfg} | ${steps} + 2 evaluations | ${fmt(wholeCpu)} (derived) | ${fmt(wholeWall)} (derived) | 1 | ${fmt(step.cpu)} | ${fmt(step.wall)} |`);
        continue;
      }
      const miner = await timed(() => runTrainingJob({ model, chunk, steps, lr: DEFAULT_LR, backend }));
      const job = miner.value;
      const enc = await encodeDelta(adapterDelta(job.initial, job.final), {
        model: identity, miner: 'r3mes1bench', window: 1n, ordinal: 0n, chunkIndex: 0n, chunkHash: chunkHash(chunk), backend: 'cpu',
        lr: DEFAULT_LR, stepHashes: job.stepHashes, lossBefore: job.lossBefore, lossAfter: job.lossAfter,
      });
      const store = await FileBlockstore.open(join(dir, c.name));
      await store.put(enc.bytes);
      const submission = { id: 1n, windowId: 1n, modelVersion: 1n, chunkIndex: 0n, gradientCid: enc.cid.toString(), gradientHash: Buffer.from(enc.gradientHash) } as Submission;
      // The dispute narrowed to the last step: lo = steps − 1 (any step costs the same).
      const lo = steps - 1;
      const loCid = await store.put(job.checkpoints[lo]);
      const dispute = {
        bisectSteps: BigInt(steps), bisectLo: BigInt(lo), bisectHi: BigInt(steps), bisectLoHash: job.stepHashes[lo], bisectHiHash: job.stepHashes[steps],
        bisectLoCid: loCid.toString(), bisectPendingHash: new Uint8Array(), bisectPendingStep: 0n,
      };
      const whole: Array<{ wall: number; cpu: number }> = [];
      const one: Array<{ wall: number; cpu: number }> = [];
      for (let i = 0; i < runs; i++) {
        const w = await timed(() => recomputeSubmission({ submission, store, backend, loadModel: async () => model, chunkAt: () => chunk }));
        if (w.value.kind !== 'hash' || bytesToHex(w.value.resultHash) !== bytesToHex(enc.gradientHash)) throw new Error(`${c.name}: the whole-chunk re-execution does not reproduce the miner's job`);
        whole.push(w);
        const o = await timed(() => reexecuteOneStep({ dispute, gradientCid: submission.gradientCid, store, model, chunk, backend }));
        if (o.value.kind !== 'hash' || bytesToHex(o.value.resultHash) !== bytesToHex(job.stepHashes[steps])) throw new Error(`${c.name}: the one-step re-execution does not reproduce stateHash_${steps}`);
        one.push(o);
      }
      const min = (xs: number[]) => Math.min(...xs);
      const max = (xs: number[]) => Math.max(...xs);
      console.log(`${c.name} (${cfg}): miner job ${fmt(miner.wall)} s; whole chunk ${whole.map((x) => `${fmt(x.wall)} s wall / ${fmt(x.cpu)} s CPU`).join(', ')}; `
        + `one step ${one.map((x) => `${fmt(x.wall)} s wall / ${fmt(x.cpu)} s CPU`).join(', ')}; load average now ${loadavg()[0]!.toFixed(1)}`);
      rows.push(`| ${c.name} | ${cfg} | ${steps} + 2 evaluations | ${fmt(min(whole.map((x) => x.cpu)))}–${fmt(max(whole.map((x) => x.cpu)))} | ${fmt(min(whole.map((x) => x.wall)))}–${fmt(max(whole.map((x) => x.wall)))} `
        + `| 1 | ${fmt(min(one.map((x) => x.cpu)))}–${fmt(max(one.map((x) => x.cpu)))} | ${fmt(min(one.map((x) => x.wall)))}–${fmt(max(one.map((x) => x.wall)))} |`);
    } finally {
      backend.close();
    }
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
console.log('\n| model | config | before: steps re-executed | before: CPU (s) | before: wall (s) | after: steps | after: CPU (s) | after: wall (s) |');
console.log('|---|---|---:|---:|---:|---:|---:|---:|');
for (const r of rows) console.log(r);
