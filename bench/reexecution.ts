/**
 * Worst-case CPU re-execution time of one chunk, for the model configs the chain ships, and the
 * response windows it asks for (modules/verification/README.md, "Response windows").
 *
 * A verifier's L1/L2 answer, an L3 arbiter's vote and a watcher's check all run the same
 * re-execution (worker/src/roles/verify.ts recomputeSubmission, CPU backend on the worker's
 * compute thread): fetch the delta from the store, decode it, train the miner's `steps` steps from
 * the window's base on the chunk (with the loss before and after), hash the delta. This bench
 * trains a real miner job (the worker's defaults: 2 steps, lr 256) on chunk 0 of the Brown train
 * split, stores it, and times `recomputeSubmission` end to end, `runs` times with the machine as
 * it is ("idle") and `runs` times with one busy loop per core beside it ("loaded"), plus building
 * the backbone (the first duty of a model version after a start). Then it derives each deadline
 * from the worst time measured and checks the default params and the devnet template against it.
 *
 * Configs: the devnet's model (genesis/devnet.ts DEVNET_ARCHITECTURE) and the default genesis
 * model (modules/model/genesis.ts GENESIS_VERSION), both with the genesis LoRA rank.
 *
 * Run: npx tsx --conditions=r3mes-source bench/reexecution.ts [runs=3] [devnet|genesis ...]
 * Nothing here asserts a time: it prints, and says which params fall short of the rule.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { bytesToHex } from '@noble/hashes/utils.js';
import { applyDevnetTemplate, DEVNET_ARCHITECTURE } from '../genesis/devnet.ts';
import type { GenesisAppState } from '../genesis/app-state.ts';
import { GENESIS_VERSION } from '../modules/model/genesis.ts';
import { defaultParams as trainingDefaults, paramsToJson as trainingJson } from '../modules/training/params.ts';
import { defaultParams as verificationDefaults, paramsToJson as verificationJson } from '../modules/verification/params.ts';
import { cpuBackend } from '../worker/src/backend.ts';
import { chunkAt } from '../worker/src/data/corpus.ts';
import { chunkHash } from '../worker/src/data/chunk.ts';
import { adapterDelta, encodeDelta } from '../worker/src/output/delta.ts';
import { DEFAULT_LR, DEFAULT_STEPS, runTrainingJob } from '../worker/src/roles/job.ts';
import { identityOfVersion, type LoadedModel, loadModel } from '../worker/src/roles/model.ts';
import { recomputeSubmission } from '../worker/src/roles/verify.ts';
import { FileBlockstore } from '../worker/src/storage/blockstore.ts';
import type { ModelVersion, Submission } from '../worker/src/chain/client.ts';

// ---- the rule (modules/verification/README.md "Response windows") ----------------------------
/** Safety factor over the worst re-execution measured with a busy loop per core. */
export const SAFETY_FACTOR = 2;
/** Seconds per block: `r3mesd init --timeout-commit` and the devnet's --block-time default (a block never comes sooner). */
export const BLOCK_SECONDS = 1;
/** The worker's default --poll-ms: how long a duty may wait before a pass sees it. */
export const POLL_SECONDS = 3;
/** Blocks beyond the computation: one to include the tx, one spare (as the watcher's MARGIN_BLOCKS). */
export const MARGIN_BLOCKS = 2;

/** Blocks a window must span for a duty that re-executes one chunk taking `seconds` (worst case). */
export const blocksForReexecution = (seconds: number): number => Math.ceil((SAFETY_FACTOR * seconds + POLL_SECONDS) / BLOCK_SECONDS) + MARGIN_BLOCKS;
/** Blocks a reveal needs after its commitment's deadline: no computation, a poll and an inclusion. */
export const blocksForReveal = (): number => Math.ceil(POLL_SECONDS / BLOCK_SECONDS) + MARGIN_BLOCKS;

// ---- measurement -----------------------------------------------------------------------------
const runs = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 3);
const picked = process.argv.slice(2).filter((a) => !/^\d+$/.test(a));
const configs: Array<{ name: string; version: ModelVersion }> = [
  { name: 'devnet', version: { ...GENESIS_VERSION, architecture: { ...DEVNET_ARCHITECTURE } } as unknown as ModelVersion },
  { name: 'genesis', version: GENESIS_VERSION as unknown as ModelVersion },
].filter((c) => picked.length === 0 || picked.includes(c.name));

const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;
const fmt = (s: number) => s.toFixed(2);

function busyLoops(n: number): ChildProcess[] {
  return Array.from({ length: n }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
}

async function stopAll(children: ChildProcess[]): Promise<void> {
  await Promise.all(children.map((c) => new Promise<void>((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) return resolve();
    c.once('exit', () => resolve());
    c.kill('SIGKILL');
  })));
}

interface Measured { name: string; cfg: string; loadS: number; trainS: number; idle: number[]; loaded: number[]; cpu: number[] }

async function measure(name: string, version: ModelVersion, dir: string): Promise<Measured> {
  const identity = identityOfVersion(version);
  const c = identity.cfg;
  const cfg = `d=${c.dModel} L=${c.nLayers} H=${c.nHeads} F=${c.dFF} T=${c.seqLen} r=${c.loraRank}`;
  let t0 = process.hrtime.bigint();
  const model: LoadedModel = await loadModel(identity);
  const loadS = seconds(t0);
  const chunk = chunkAt(0, 'train').tokens;
  const backend = cpuBackend(); // the workers' CPU backend: the compute thread
  t0 = process.hrtime.bigint();
  const job = await runTrainingJob({ model, chunk, steps: DEFAULT_STEPS, lr: DEFAULT_LR, backend });
  const trainS = seconds(t0);
  const enc = await encodeDelta(adapterDelta(job.initial, job.final), {
    model: identity, miner: 'r3mes1bench', window: 1n, ordinal: 0n, chunkIndex: 0n, chunkHash: chunkHash(chunk), backend: 'cpu',
    lr: DEFAULT_LR, stepHashes: job.stepHashes, lossBefore: job.lossBefore, lossAfter: job.lossAfter,
  });
  const store = await FileBlockstore.open(join(dir, name));
  await store.put(enc.bytes);
  const submission = { id: 1n, windowId: 1n, modelVersion: 1n, chunkIndex: 0n, gradientCid: enc.cid.toString(), gradientHash: Buffer.from(enc.gradientHash) } as Submission;
  const cpu: number[] = [];
  const once = async (): Promise<number> => {
    const start = process.hrtime.bigint();
    const cpu0 = process.cpuUsage(); // every thread of this process: the compute thread does the work
    const r = await recomputeSubmission({ submission, store, backend, loadModel: async () => model, chunkAt: () => chunk });
    const s = seconds(start);
    const used = process.cpuUsage(cpu0);
    cpu.push((used.user + used.system) / 1e6);
    if (r.kind !== 'hash' || bytesToHex(r.resultHash) !== bytesToHex(enc.gradientHash)) throw new Error(`${name}: the re-execution does not match the miner's job`);
    return s;
  };
  await once(); // warm-up: the compute thread's start and JIT
  cpu.length = 0;
  const idle: number[] = [];
  for (let i = 0; i < runs; i++) idle.push(await once());
  const loops = busyLoops(availableParallelism());
  const loaded: number[] = [];
  try {
    await new Promise((r) => setTimeout(r, 500));
    for (let i = 0; i < runs; i++) loaded.push(await once());
  } finally {
    await stopAll(loops);
  }
  return { name, cfg, loadS, trainS, idle, loaded, cpu };
}

const dir = await mkdtemp(join(tmpdir(), 'r3mes-reexec-'));
console.log(`re-execution of one chunk (2048 tokens, ${DEFAULT_STEPS} steps, lr ${DEFAULT_LR}) on the CPU backend's compute thread; ${runs} runs per condition; `
  + `${availableParallelism()} cpus, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} at start, node ${process.version}`);
const results: Measured[] = [];
try {
  for (const c of configs) {
    const m = await measure(c.name, c.version, dir);
    results.push(m);
    console.log(`${m.name} (${m.cfg}): backbone ${fmt(m.loadS)} s, miner job ${fmt(m.trainS)} s, re-execution idle ${m.idle.map(fmt).join(' / ')} s, `
      + `with ${availableParallelism()} busy loops ${m.loaded.map(fmt).join(' / ')} s; CPU ${m.cpu.map(fmt).join(' / ')} s; load average now ${loadavg()[0]!.toFixed(1)}`);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}

console.log('\n| model | config | backbone (s) | CPU per re-execution: min / max (s) | re-execution idle: min / max (s) | busy loop per core: min / max (s) | worst case W (s) |');
console.log('|---|---|---:|---:|---:|---:|---:|');
for (const m of results) {
  const worst = m.loadS + Math.max(...m.idle, ...m.loaded);
  console.log(`| ${m.name} | ${m.cfg} | ${fmt(m.loadS)} | ${fmt(Math.min(...m.cpu))} / ${fmt(Math.max(...m.cpu))} | ${fmt(Math.min(...m.idle))} / ${fmt(Math.max(...m.idle))} | ${fmt(Math.min(...m.loaded))} / ${fmt(Math.max(...m.loaded))} | ${fmt(worst)} |`);
}

// ---- the params against the rule ---------------------------------------------------------------
const skeleton = {
  training: { params: trainingJson(trainingDefaults()) },
  model: { versions: [{}] },
  verification: { params: verificationJson(verificationDefaults()) },
} as unknown as GenesisAppState;
applyDevnetTemplate(skeleton, { windowBlocks: 20, cheater: true });
const devnet = skeleton as unknown as { training: { params: Record<string, string> }; verification: { params: Record<string, string> } };
const sets = [
  { name: 'defaults (modules/*/params.ts) with the genesis model', model: 'genesis', training: trainingJson(trainingDefaults()), verification: verificationJson(verificationDefaults()) },
  { name: 'devnet template (genesis/devnet.ts) with the devnet model', model: 'devnet', training: devnet.training.params, verification: devnet.verification.params },
];
console.log(`\nrule: blocks ≥ ⌈(${SAFETY_FACTOR} × W + ${POLL_SECONDS} s poll) / ${BLOCK_SECONDS} s per block⌉ + ${MARGIN_BLOCKS}; reveal_blocks ≥ ⌈${POLL_SECONDS} s / ${BLOCK_SECONDS} s⌉ + ${MARGIN_BLOCKS} = ${blocksForReveal()}`);
for (const s of sets) {
  const m = results.find((r) => r.name === s.model);
  if (!m) continue;
  const worst = m.loadS + Math.max(...m.idle, ...m.loaded);
  const need = blocksForReexecution(worst);
  console.log(`${s.name}: W = ${fmt(worst)} s → ${need} blocks`);
  const checks: Array<[string, string, number]> = [
    ['l1ResponseBlocks', s.verification.l1ResponseBlocks!, need],
    ['l2ResponseBlocks', s.verification.l2ResponseBlocks!, need],
    ['l3VoteBlocks', s.verification.l3VoteBlocks!, need],
    ['revealBlocks', s.verification.revealBlocks!, blocksForReveal()],
    ['challengePeriodBlocks', s.training.challengePeriodBlocks!, need],
  ];
  for (const [key, value, want] of checks) console.log(`  ${key} = ${value}: ${Number(value) >= want ? 'ok' : 'TOO SHORT'} (needs ≥ ${want})`);
}
