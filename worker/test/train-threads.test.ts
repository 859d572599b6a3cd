// The CPU step on several compute threads (src/train/pool.ts): the chunk's sequences split between
// threads give the bytes of one thread and of the in-process step — state hashes, final state,
// losses, the re-execution's gradient hash — for 1, 2 and 3 threads, even and uneven splits.
import t from 'tap';
import { bytesToHex } from '@noble/hashes/utils.js';
import { cpuBackend, type TrainBackend } from '../src/backend.ts';
import { chunkHash } from '../src/data/chunk.ts';
import { initAdapter } from '../src/model/adapter.ts';
import { generateBackbone } from '../src/model/backbone.ts';
import type { ModelConfig } from '../src/model/config.ts';
import { adapterDelta, decodeDelta, encodeDelta } from '../src/output/delta.ts';
import type { ModelIdentity } from '../src/output/metadata.ts';
import { runTrainingJob } from '../src/roles/job.ts';
import type { LoadedModel } from '../src/roles/model.ts';
import { reexecuteSubmission } from '../src/roles/verify.ts';
import { stateBytes } from '../src/train/hash.ts';
import { ComputePool, sharedComputePool } from '../src/train/pool.ts';
import { ComputeThread } from '../src/train/thread.ts';

const hex = bytesToHex;
/** Small, so three jobs are quick; 2048-byte chunks are 64 sequences of 32. */
const small: ModelConfig = { vocab: 256, dModel: 32, nLayers: 2, nHeads: 2, dFF: 64, seqLen: 32, loraRank: 4, seed: new Uint8Array(32).fill(17) };
const model: LoadedModel = { identity: { version: 1n, backbone: { seed: small.seed }, cfg: small } as ModelIdentity, backbone: generateBackbone(small) };
const chunk = Uint8Array.from({ length: 2048 }, (_, i) => 97 + ((i * 11 + (i >> 4)) % 26));

function pool(t: { teardown(fn: () => void): void }, n: number): ComputePool {
  const p = new ComputePool(Array.from({ length: n }, (_, i) => new ComputeThread({ name: `test thread ${i + 1}/${n}` })));
  t.teardown(() => p.close());
  return p;
}

t.test('1, 2 and 3 threads: the same state hashes, state, losses and gradient hash as in process', async (t) => {
  const inProcess = cpuBackend({ inProcess: true });
  const ref = await runTrainingJob({ model, chunk, steps: 3, lr: 256, backend: inProcess });
  t.not(ref.lossBefore, ref.lossAfter, 'the job trained');
  const enc = await encodeDelta(adapterDelta(ref.initial, ref.final), {
    model: model.identity, miner: 'r3mes1miner', window: 1n, ordinal: 0n, chunkIndex: 5n, chunkHash: chunkHash(chunk),
    backend: 'cpu', lr: 256, stepHashes: ref.stepHashes, lossBefore: ref.lossBefore, lossAfter: ref.lossAfter,
  });
  const delta = await decodeDelta(enc.bytes);
  for (const n of [1, 2, 3]) {
    const p = pool(t, n);
    const backend: TrainBackend = cpuBackend({ pool: p });
    t.match(backend.adapter, n === 1 ? /on a worker thread/ : new RegExp(`on ${n} worker threads`));
    const job = await runTrainingJob({ model, chunk, steps: 3, lr: 256, backend });
    t.same(job.stepHashes.map(hex), ref.stepHashes.map(hex), `${n} threads: every state hash`);
    t.equal(hex(stateBytes(job.final)), hex(stateBytes(ref.final)), `${n} threads: the final state, byte for byte`);
    t.same(job.checkpoints.map(hex), ref.checkpoints.map(hex), `${n} threads: every checkpoint file`);
    t.equal(job.lossBefore, ref.lossBefore, `${n} threads: held-out loss before`);
    t.equal(job.lossAfter, ref.lossAfter, `${n} threads: held-out loss after`);
    const v = await reexecuteSubmission({ model, delta, chunk, backend });
    t.ok(v.match, `${n} threads: the re-execution matches the miner`);
    t.equal(v.gradientHash, hex(enc.gradientHash), `${n} threads: the gradient hash`);
    t.same(p.threads.map((th) => th.started), Array(n).fill(1), `${n} threads: every thread computed`);
  }
});

t.test('fewer sequences than threads, an uneven split, a micro-batch: still the same step', async (t) => {
  const state = initAdapter(small);
  const p = pool(t, 3);
  for (const [bytes, mb] of [[64, undefined], [32, undefined], [160, 2]] as const) { // 2, 1, 5 sequences
    const c = chunk.subarray(0, bytes);
    const want = await cpuBackend({ inProcess: true }).step(model.backbone, state, c, 1, { lr: 256 });
    const got = await p.step(model.backbone, state, c, 1, { lr: 256, microBatch: mb });
    t.equal(hex(got.hash), hex(want.hash), `${bytes / 32} sequences on 3 threads: the state hash`);
    t.equal(got.lossSumQ16, want.lossSumQ16, 'the training loss sum');
    t.equal(got.tokens, want.tokens, 'the tokens');
    t.equal(hex(stateBytes(got.state)), hex(stateBytes(want.state)), 'the state bytes');
  }
  const heldout = chunk.subarray(0, 32 * 5 + 7); // an incomplete tail, dropped by evaluate()
  t.same(await p.evaluate(model.backbone, state, heldout), await cpuBackend({ inProcess: true }).evaluate(model.backbone, state, heldout), 'an evaluation split 2/2/1');
});

t.test('a chunk that is not whole sequences: the error of the one-thread step', async (t) => {
  const p = pool(t, 2);
  const bad = chunk.subarray(0, 100);
  await t.rejects(p.step(model.backbone, initAdapter(small), bad, 1, { lr: 256 }), { name: 'RangeError', message: 'chunk length 100 is not a multiple of seqLen 32' });
  await t.rejects(cpuBackend({ inProcess: true }).step(model.backbone, initAdapter(small), bad, 1, { lr: 256 }), { name: 'RangeError', message: 'chunk length 100 is not a multiple of seqLen 32' });
});

t.test('the shared pool: the compute thread first, sizes checked', async (t) => {
  t.throws(() => sharedComputePool(0), { name: 'RangeError', message: /threads must be an integer in 1\.\.256, got 0/ });
  t.throws(() => sharedComputePool(1.5), { name: 'RangeError' });
  const two = sharedComputePool(2);
  t.equal(two.size, 2);
  t.equal(sharedComputePool(1).threads[0], two.threads[0], 'one pool of threads per process');
  t.match(cpuBackend({ threads: 2 }).adapter, /on 2 worker threads/);
});
