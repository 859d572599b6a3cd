// Training and re-execution on the compute thread (src/train/thread.ts) and on a pool of two
// (src/train/pool.ts): the same bytes as in process, the event loop free while a job runs,
// errors that name their cause, and a thread that dies is an error, never a hang.
import t from 'tap';
import { join } from 'node:path';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { Submission } from '@r3mes/client';
import { cpuBackend, type TrainBackend } from '../src/backend.ts';
import { chunkHash } from '../src/data/chunk.ts';
import { initAdapter } from '../src/model/adapter.ts';
import { generateBackbone } from '../src/model/backbone.ts';
import type { ModelConfig } from '../src/model/config.ts';
import { adapterDelta, decodeDelta, encodeDelta } from '../src/output/delta.ts';
import type { ModelIdentity } from '../src/output/metadata.ts';
import { runTrainingJob } from '../src/roles/job.ts';
import type { LoadedModel } from '../src/roles/model.ts';
import { startWorkerServer } from '../src/roles/server.ts';
import { WorkerStats } from '../src/roles/stats.ts';
import { recomputeSubmission, reexecuteSubmission } from '../src/roles/verify.ts';
import { FileBlockstore } from '../src/storage/blockstore.ts';
import { stateBytes } from '../src/train/hash.ts';
import { ComputePool } from '../src/train/pool.ts';
import { ComputeThread, ComputeThreadError, conditionFlags } from '../src/train/thread.ts';

const hex = bytesToHex;
/** Small, so the bit-identity checks are quick. */
const small: ModelConfig = { vocab: 256, dModel: 32, nLayers: 1, nHeads: 2, dFF: 32, seqLen: 32, loraRank: 4, seed: new Uint8Array(32).fill(9) };
/** The devnet's model (genesis/devnet.ts): a step takes long enough that a timer ticks many times during it. */
const devnet: ModelConfig = { vocab: 256, dModel: 64, nLayers: 2, nHeads: 2, dFF: 128, seqLen: 64, loraRank: 8, seed: new Uint8Array(32).fill(3) };
const modelOf = (cfg: ModelConfig): LoadedModel => ({ identity: { version: 1n, backbone: { seed: cfg.seed }, cfg } as ModelIdentity, backbone: generateBackbone(cfg) });
const chunk = Uint8Array.from({ length: 2048 }, (_, i) => 97 + ((i * 7 + (i >> 5)) % 26));

t.test('conditionFlags: the --conditions of the process, in any spelling, and nothing else', async (t) => {
  t.same(conditionFlags(['--no-warnings', '--conditions=r3mes-source', '--import', 'file:///x/loader.mjs', '-C', 'a', '--conditions', 'b']),
    ['--conditions=r3mes-source', '--conditions=a', '--conditions=b']);
  t.ok(conditionFlags().includes('--conditions=r3mes-source'), 'this test runs under r3mes-source (tap node-arg) and passes it on');
});

t.test('a job on the thread gives the bytes of the job in process, bit for bit', async (t) => {
  const model = modelOf(small);
  const thread = new ComputeThread({ name: 'test thread' });
  t.teardown(() => thread.close());
  const threaded = cpuBackend({ thread });
  const inProcess = cpuBackend({ inProcess: true });
  t.match(threaded.adapter, /on a worker thread/);
  t.match(inProcess.adapter, /in process/);
  const a = await runTrainingJob({ model, chunk, steps: 3, lr: 256, backend: threaded });
  t.equal(thread.started, 1, 'the job ran on the thread');
  const b = await runTrainingJob({ model, chunk, steps: 3, lr: 256, backend: inProcess });
  t.same(a.stepHashes.map(hex), b.stepHashes.map(hex), 'every state hash');
  t.equal(hex(stateBytes(a.final)), hex(stateBytes(b.final)), 'the final state, byte for byte');
  t.same(a.checkpoints.map(hex), b.checkpoints.map(hex), 'every checkpoint file');
  t.equal(a.lossBefore, b.lossBefore, 'loss before');
  t.equal(a.lossAfter, b.lossAfter, 'loss after');
  t.not(a.lossBefore, a.lossAfter, 'the job trained');
  t.ok(a.final.params[0].q.a instanceof Int32Array, 'typed arrays come back as typed arrays');

  // A re-execution of the miner's delta on the thread: the same verdict and gradient hash.
  const enc = await encodeDelta(adapterDelta(b.initial, b.final), {
    model: model.identity, miner: 'r3mes1miner', window: 1n, ordinal: 0n, chunkIndex: 5n, chunkHash: chunkHash(chunk),
    backend: 'cpu', lr: 256, stepHashes: b.stepHashes, lossBefore: b.lossBefore, lossAfter: b.lossAfter,
  });
  const delta = await decodeDelta(enc.bytes);
  const onThread = await reexecuteSubmission({ model, delta, chunk, backend: threaded });
  const here = await reexecuteSubmission({ model, delta, chunk, backend: inProcess });
  t.ok(onThread.match, 'the re-execution on the thread matches the miner');
  t.same(onThread, here, 'and says exactly what the in-process one says');
  t.equal(onThread.gradientHash, hex(enc.gradientHash));
  // Another backbone: sent along once, then resident.
  const other = modelOf({ ...small, seed: new Uint8Array(32).fill(10) });
  const s1 = await threaded.step(other.backbone, initAdapter(small), chunk, 1, { lr: 256 });
  const s2 = await inProcess.step(other.backbone, initAdapter(small), chunk, 1, { lr: 256 });
  t.equal(hex(s1.hash), hex(s2.hash), 'a second backbone on the same thread');
  const s3 = await threaded.step(model.backbone, initAdapter(small), chunk, 1, { lr: 256 });
  t.equal(hex(s3.hash), b.stepHashes[1] && hex(b.stepHashes[1]), 'and back to the first one');
  t.equal(thread.started, 1, 'all on one thread');
});

/**
 * Counts, for each computation the backend runs, the timer ticks and HTTP answers of the stats
 * server that happened between its start and its result: while it ran, the event loop was free.
 */
function watched(backend: TrainBackend, address: string) {
  const during: Array<{ op: string; ticks: number; answers: number }> = [];
  let ticks = 0;
  let answers = 0;
  const timer = setInterval(() => ticks++, 1);
  let busy = 0;
  const poll = async () => {
    // One request after another while a computation is in flight.
    while (busy > 0) {
      const r = await fetch(`${address}/health`);
      if (r.ok && (await r.json() as { role: string }).role === 'verify' && busy > 0) answers++;
    }
  };
  const track = async <T>(op: string, run: () => Promise<T>): Promise<T> => {
    const [t0, a0] = [ticks, answers];
    const p = run(); // an in-process backend computes right here, before anything else can run
    busy++;
    const polling = poll();
    try {
      return await p;
    } finally {
      busy--;
      during.push({ op, ticks: ticks - t0, answers: answers - a0 });
      await polling;
    }
  };
  const wrapped: TrainBackend = {
    ...backend,
    step: (...args) => track('step', () => backend.step(...args)),
    evaluate: (...args) => track('evaluate', () => backend.evaluate(...args)),
  };
  return { backend: wrapped, during, stop: () => clearInterval(timer) };
}

t.test('during a re-execution on the thread the event loop stays free: timers tick, the stats server answers', async (t) => {
  const model = modelOf(devnet);
  const job = await runTrainingJob({ model, chunk, steps: 2, lr: 256, backend: cpuBackend({ inProcess: true }) });
  const enc = await encodeDelta(adapterDelta(job.initial, job.final), {
    model: model.identity, miner: 'r3mes1miner', window: 1n, ordinal: 0n, chunkIndex: 5n, chunkHash: chunkHash(chunk),
    backend: 'cpu', lr: 256, stepHashes: job.stepHashes, lossBefore: job.lossBefore, lossAfter: job.lossAfter,
  });
  const store = await FileBlockstore.open(join(t.testdir(), 'store'));
  await store.put(enc.bytes);
  const sub = { id: 4n, windowId: 1n, modelVersion: 1n, chunkIndex: 5n, gradientCid: enc.cid.toString(), gradientHash: Buffer.from(enc.gradientHash) } as Submission;
  const stats = new WorkerStats();
  Object.assign(stats, { role: 'verify', status: 're-executing' });
  const server = await startWorkerServer('127.0.0.1:0', { stats });
  t.teardown(() => server.app.close());

  const reexecute = async (backend: TrainBackend) => {
    const w = watched(backend, server.address);
    try {
      const r = await recomputeSubmission({ submission: sub, store, backend: w.backend, loadModel: async () => model, chunkAt: () => chunk });
      return { r, during: w.during };
    } finally {
      w.stop();
    }
  };
  const thread = new ComputeThread({ name: 'test thread' });
  t.teardown(() => thread.close());
  const threaded = await reexecute(cpuBackend({ thread }));
  t.equal(threaded.r.kind === 'hash' && hex(threaded.r.resultHash), hex(enc.gradientHash), 'the re-execution matches');
  t.same(threaded.during.map((d) => d.op), ['evaluate', 'step', 'step', 'evaluate'], 'every computation went through the backend');
  const steps = threaded.during.filter((d) => d.op === 'step');
  for (const [i, d] of steps.entries()) {
    t.ok(d.ticks >= 3, `step ${i + 1}: the 1 ms timer ticked while it ran (${d.ticks} ticks)`);
    t.ok(d.answers >= 1, `step ${i + 1}: the stats server answered while it ran (${d.answers} answers)`);
  }

  // On a pool of two threads (the chunk's sequences split between them, the sum and update on the
  // main thread): the same hash, and the event loop is just as free.
  const second = new ComputeThread({ name: 'test thread 2' });
  t.teardown(() => second.close());
  const pooled = await reexecute(cpuBackend({ pool: new ComputePool([thread, second]) }));
  t.equal(pooled.r.kind === 'hash' && hex(pooled.r.resultHash), hex(enc.gradientHash), 'on 2 threads: the re-execution matches');
  t.equal(second.started, 1, 'the second thread computed');
  for (const [i, d] of pooled.during.filter((d) => d.op === 'step').entries()) {
    t.ok(d.ticks >= 3, `2 threads, step ${i + 1}: the 1 ms timer ticked while it ran (${d.ticks} ticks)`);
    t.ok(d.answers >= 1, `2 threads, step ${i + 1}: the stats server answered while it ran (${d.answers} answers)`);
  }

  // The same re-execution on the main thread: nothing else runs until each computation is done.
  const blocking = await reexecute(cpuBackend({ inProcess: true }));
  t.equal(blocking.r.kind === 'hash' && hex(blocking.r.resultHash), hex(enc.gradientHash));
  t.same(blocking.during.map((d) => [d.ticks, d.answers]), [[0, 0], [0, 0], [0, 0], [0, 0]], 'in process: no tick, no answer during any computation');
});

t.test('an error thrown on the thread comes back with its name, message, codespace and code', async (t) => {
  const model = modelOf(small);
  const thread = new ComputeThread();
  t.teardown(() => thread.close());
  const bad = chunk.subarray(0, 100); // not a multiple of seqLen
  const here = await cpuBackend({ inProcess: true }).step(model.backbone, initAdapter(small), bad, 1, { lr: 256 }).catch((e: Error) => e);
  const there = await thread.step(model.backbone, initAdapter(small), bad, 1, { lr: 256 }).catch((e: Error) => e);
  t.type(there, RangeError);
  t.equal((there as Error).message, (here as Error).message, (here as Error).message);
  t.match((there as Error).stack, /in the compute thread/);
  const ok = await thread.step(model.backbone, initAdapter(small), chunk, 1, { lr: 256 });
  t.equal(ok.tokens, 2048 - 2048 / small.seqLen, 'the thread keeps serving after an error');
  t.equal(thread.started, 1);
});

t.test('a thread that dies fails its request with the cause; the next request gets a fresh thread', async (t) => {
  const model = modelOf(small);
  const thread = new ComputeThread({ entry: new URL('./helpers/thread-crash.ts', import.meta.url), name: 'crashing thread' });
  t.teardown(() => thread.close());
  const want = await cpuBackend({ inProcess: true }).step(model.backbone, initAdapter(small), chunk, 1, { lr: 256 });
  // Two requests in flight: both fail, each naming what it was doing.
  const [exit, queued] = await Promise.all([
    thread.step(model.backbone, initAdapter(small), chunk, 13, { lr: 256 }),
    thread.evaluate(model.backbone, initAdapter(small), chunk),
  ].map((p) => p.then(() => undefined, (e: Error) => e)));
  t.type(exit, ComputeThreadError);
  t.match(exit, { codespace: 'thread', code: 1, message: 'crashing thread exited with code 7 during the step 13' });
  t.match(queued, { codespace: 'thread', code: 1, message: 'crashing thread exited with code 7 during the evaluation' });
  const again = await thread.step(model.backbone, initAdapter(small), chunk, 1, { lr: 256 });
  t.equal(hex(again.hash), hex(want.hash), 'a fresh thread, the backbone sent again: the same step');
  t.equal(thread.started, 2);
  const thrown = await thread.step(model.backbone, initAdapter(small), chunk, 14, { lr: 256 }).catch((e: Error) => e);
  t.match(thrown, { codespace: 'thread', code: 1, message: 'crashing thread failed: boom outside any request during the step 14' });
  t.equal(hex((await thread.step(model.backbone, initAdapter(small), chunk, 1, { lr: 256 })).hash), hex(want.hash));
  t.equal(thread.started, 3);
  thread.close();
  await t.rejects(thread.step(model.backbone, initAdapter(small), chunk, 1, { lr: 256 }), { code: 2, message: /used after close\(\)/ });
});

t.test('a thread whose module does not load is an error naming the module, not a hang', async (t) => {
  const model = modelOf(small);
  const thread = new ComputeThread({ entry: new URL('./helpers/no-such-entry.ts', import.meta.url) });
  t.teardown(() => thread.close());
  await t.rejects(thread.evaluate(model.backbone, initAdapter(small), chunk), { codespace: 'thread', code: 1, message: /compute thread failed: .*no-such-entry/ });
});
