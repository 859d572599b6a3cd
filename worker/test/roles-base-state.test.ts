// A window's base adapter: the initial adapter plus the aggregates of the windows of the same
// model version finalized before it opened. Miners train from it, verifiers re-execute from it,
// and a submission trained from another base does not verify.
import t from 'tap';
import { join } from 'node:path';
import { bytesToHex } from '@noble/hashes/utils.js';
import { WindowStatus, type Submission, type Window } from '@r3mes/client';
import { aggregateDeltas } from '../src/aggregate/file.ts';
import { cpuBackend } from '../src/backend.ts';
import { initAdapter } from '../src/model/adapter.ts';
import { generateBackbone } from '../src/model/backbone.ts';
import type { ModelConfig } from '../src/model/config.ts';
import { adapterDelta, applyDelta, decodeDelta, encodeDelta, gradientHash, shapeOfModel } from '../src/output/delta.ts';
import { chunkHash } from '../src/data/chunk.ts';
import type { ModelIdentity } from '../src/output/metadata.ts';
import { BaseStates } from '../src/roles/base-state.ts';
import { runTrainingJob } from '../src/roles/job.ts';
import type { LoadedModel } from '../src/roles/model.ts';
import { recomputeSubmission, reexecuteSubmission } from '../src/roles/verify.ts';
import { FileBlockstore } from '../src/storage/blockstore.ts';
import { stateBytes, stateHash } from '../src/train/hash.ts';

const cfg: ModelConfig = { vocab: 256, dModel: 16, nLayers: 1, nHeads: 2, dFF: 16, seqLen: 16, loraRank: 4, seed: new Uint8Array(32).fill(4) };
const identity: ModelIdentity = { version: 1n, backbone: { seed: cfg.seed }, cfg };
const model: LoadedModel = { identity, backbone: generateBackbone(cfg) } as LoadedModel;
const chunkOf = (k: number) => Uint8Array.from({ length: 2048 }, (_, i) => 97 + ((i * (k + 3)) % 26));
const hex = bytesToHex;

function win(id: bigint, over: Partial<Window>): Window {
  return {
    id, status: WindowStatus.WINDOW_STATUS_COLLECTING, openHeight: 0n, modelVersion: 1n, resultCid: '', resultHash: Buffer.alloc(0), closedHeight: 0n, rolledBackHeight: 0n,
    ...over,
  } as Window;
}

/** Windows 1 and 2 finalized with real aggregates; their jobs trained from the initial adapter. */
async function fixture(dir: string) {
  const store = await FileBlockstore.open(join(dir, 'store'));
  const windows = new Map<bigint, Window>();
  const aggregates: Array<{ cid: string; hash: Uint8Array; delta: ReturnType<typeof adapterDelta> }> = [];
  for (const w of [1n, 2n]) {
    const inputs = [];
    for (let k = 0; k < 3; k++) {
      const job = await runTrainingJob({ model, chunk: chunkOf(Number(w) * 3 + k), steps: 1, lr: 256, backend: cpuBackend() });
      const enc = await encodeDelta(adapterDelta(job.initial, job.final), {
        model: identity, miner: `r3mes1m${k}`, window: w, ordinal: 0n, chunkIndex: BigInt(k), chunkHash: chunkHash(chunkOf(Number(w) * 3 + k)), backend: 'cpu', lr: 256,
        stepHashes: job.stepHashes, lossBefore: job.lossBefore, lossAfter: job.lossAfter,
      });
      inputs.push({ cid: enc.cid.toString(), file: await decodeDelta(enc.bytes) });
      await store.put(enc.bytes);
    }
    const agg = await aggregateDeltas(inputs, { kind: 'median' }, w);
    await store.put(agg.bytes);
    aggregates.push({ cid: agg.cid.toString(), hash: agg.resultHash, delta: agg.delta });
  }
  // Window 1 finalized at height 30, window 2 at 60; window 3 opened at 40 (after 1, before 2);
  // window 4 opened at 70 (after both); window 5 trains another model version.
  windows.set(1n, win(1n, { status: WindowStatus.WINDOW_STATUS_FINALIZED, openHeight: 1n, closedHeight: 30n, resultCid: aggregates[0].cid, resultHash: Buffer.from(aggregates[0].hash) }));
  windows.set(2n, win(2n, { status: WindowStatus.WINDOW_STATUS_FINALIZED, openHeight: 20n, closedHeight: 60n, resultCid: aggregates[1].cid, resultHash: Buffer.from(aggregates[1].hash) }));
  windows.set(3n, win(3n, { openHeight: 40n }));
  windows.set(4n, win(4n, { openHeight: 70n }));
  windows.set(5n, win(5n, { openHeight: 80n, modelVersion: 2n }));
  let reads = 0;
  const chain = {
    window: async (id: bigint) => {
      reads++;
      const w = windows.get(id);
      if (!w) throw new Error(`no window ${id}`);
      return w;
    },
  };
  return { store, windows, aggregates, chain, reads: () => reads };
}

t.test('the base of a window: initial + the updates finalized before it opened, in window order', async (t) => {
  const f = await fixture(t.testdir());
  const bases = new BaseStates(f.chain, f.store);
  const initial = initAdapter(cfg);
  const b1 = await bases.forWindow(1n, model);
  t.same(b1.windows, [], 'window 1: nothing finalized before it');
  t.equal(hex(stateHash(0, b1.state)), hex(stateHash(0, initial)), 'window 1 starts from the initial adapter');
  const b3 = await bases.forWindow(3n, model);
  t.same(b3.windows, [1n], 'window 3 opened after window 1 finalized, before window 2 did');
  t.equal(hex(stateHash(0, b3.state)), hex(stateHash(0, applyDelta(initial, f.aggregates[0].delta))));
  const b4 = await bases.forWindow(4n, model);
  t.same(b4.windows, [1n, 2n], 'window 4: both updates');
  t.equal(hex(stateHash(0, b4.state)), hex(stateHash(0, applyDelta(applyDelta(initial, f.aggregates[0].delta), f.aggregates[1].delta))));
  t.not(hex(stateHash(0, b4.state)), hex(stateHash(0, b3.state)), 'window 2\'s update moved the parameters');
  t.ok(b4.state.momentum.every((rec) => Object.values(rec).every((p) => p.a.every((v) => v === 0) && p.b.every((v) => v === 0))), 'momentum starts at zero');
  const before = f.reads();
  await bases.forWindow(4n, model);
  t.equal(f.reads(), before, 'a window\'s base is computed once');
  await t.rejects(bases.forWindow(5n, model), /window 5 trains model version 2, not 1/, 'another model version is refused');
});

t.test('an aggregate that is missing or does not match its window\'s result hash: a clear error', async (t) => {
  const f = await fixture(t.testdir());
  f.windows.set(2n, { ...f.windows.get(2n)!, resultHash: Buffer.alloc(32, 7) });
  await t.rejects(new BaseStates(f.chain, f.store).forWindow(4n, model), /does not hash to window 2's result_hash/);
  f.windows.set(2n, { ...f.windows.get(2n)!, resultCid: f.aggregates[0].cid, resultHash: Buffer.from(f.aggregates[0].hash) });
  await t.rejects(new BaseStates(f.chain, f.store).forWindow(4n, model), /is not window 2's aggregate/, 'window 1\'s aggregate named by window 2');
  const empty = await FileBlockstore.open(join(t.testdir(), 'empty'));
  await t.rejects(new BaseStates(f.chain, empty).forWindow(3n, model), /aggregate of window 1 .* cannot be fetched/);
});

t.test('a miner\'s job from the base verifies from the base, and not from the initial adapter', async (t) => {
  const f = await fixture(t.testdir());
  const bases = new BaseStates(f.chain, f.store);
  const base = await bases.forWindow(4n, model);
  const chunk = chunkOf(11);
  const job = await runTrainingJob({ model, chunk, steps: 2, lr: 256, backend: cpuBackend(), base: base.state });
  t.equal(hex(job.stepHashes[0]), hex(stateHash(0, base.state)), 'the trace starts at the base');
  t.equal(hex(stateBytes(job.initial)), hex(stateBytes(base.state)));
  const enc = await encodeDelta(adapterDelta(job.initial, job.final), {
    model: identity, miner: 'r3mes1miner', window: 4n, ordinal: 0n, chunkIndex: 11n, chunkHash: chunkHash(chunk),
    backend: 'cpu', lr: 256, stepHashes: job.stepHashes, lossBefore: job.lossBefore, lossAfter: job.lossAfter,
  });
  await f.store.put(enc.bytes);
  const sub = {
    id: 9n, windowId: 4n, modelVersion: 1n, chunkIndex: 11n, gradientCid: enc.cid.toString(), gradientHash: Buffer.from(enc.gradientHash),
  } as Submission;
  const deps = { submission: sub, store: f.store, backend: cpuBackend(), loadModel: async () => model, chunkAt: () => chunk };
  const right = await recomputeSubmission({ ...deps, bases });
  t.equal(right.kind === 'hash' && hex(right.resultHash), hex(enc.gradientHash), 'verifier with the bases: same gradient hash');
  const wrong = await recomputeSubmission(deps);
  t.not(wrong.kind === 'hash' && hex(wrong.resultHash), hex(enc.gradientHash), 'verifier from the initial adapter: a different hash');
  const delta = await decodeDelta(enc.bytes);
  const verdict = await reexecuteSubmission({ model, delta, chunk, backend: cpuBackend(), base: base.state });
  t.ok(verdict.match, 'whole re-execution from the base matches');
  const off = await reexecuteSubmission({ model, delta, chunk, backend: cpuBackend() });
  t.equal(off.firstDivergentStep, 0, 'from the initial adapter it diverges at step 0');
  t.equal(hex(gradientHash(delta.delta, shapeOfModel(identity))), hex(enc.gradientHash));
  // A checkpoint of a job from another base is never resumed.
  const dir = join(t.testdir(), 'job');
  await runTrainingJob({ model, chunk, steps: 1, lr: 256, backend: cpuBackend(), workDir: dir });
  const again = await runTrainingJob({ model, chunk, steps: 2, lr: 256, backend: cpuBackend(), workDir: dir, base: base.state });
  t.equal(again.resumedFrom, 0, 'a different base redoes the chunk');
  t.equal(hex(again.stepHashes[2]), hex(job.stepHashes[2]));
});

t.test('a NOT_APPLIED window (Proof of Learning gate) is never part of a base or of the head', async (t) => {
  const f = await fixture(t.testdir());
  f.windows.set(1n, { ...f.windows.get(1n)!, status: WindowStatus.WINDOW_STATUS_NOT_APPLIED, lossBase: 1000n, lossAggregate: 1100n });
  const bases = new BaseStates(f.chain, f.store);
  const b4 = await bases.forWindow(4n, model);
  t.same(b4.windows, [2n], 'window 1 was finalized before 4 opened, but not applied');
  t.equal(hex(stateHash(0, b4.state)), hex(stateHash(0, applyDelta(initAdapter(cfg), f.aggregates[1].delta))));
  t.same((await bases.head(model, 4n)).windows, [2n]);
  await t.rejects(bases.fromWindows(model, [1n]), /window 1 is not finalized with a model update/, 'a receipt cannot name it');
});

t.test('a governance rollback takes later aggregates out of the bases of windows opened after it, not of earlier ones', async (t) => {
  const f = await fixture(t.testdir());
  // Rolled back to window 1 at height 75: window 2's aggregate leaves the head.
  f.windows.set(2n, { ...f.windows.get(2n)!, rolledBackHeight: 75n });
  f.windows.set(6n, win(6n, { openHeight: 75n }));
  f.windows.set(7n, win(7n, { openHeight: 76n }));
  const bases = new BaseStates(f.chain, f.store);
  t.same((await bases.forWindow(6n, model)).windows, [1n, 2n], 'opened in the block the rollback executed (before it): its base keeps window 2');
  t.same((await bases.forWindow(7n, model)).windows, [1n], 'opened after the rollback: the base after window 1');
  t.same((await bases.forWindow(4n, model)).windows, [1n, 2n], 'a window opened before the rollback keeps the base it opened with');
  t.equal(hex(stateHash(0, (await bases.forWindow(7n, model)).state)), hex(stateHash(0, applyDelta(initAdapter(cfg), f.aggregates[0].delta))));
  t.same((await bases.head(model, 7n)).windows, [1n], 'the head leaves it out');

  // A BaseStates that read window 2 before the rollback sees the mark afterwards (not cached while unmarked).
  const g = await fixture(t.testdir());
  const early = new BaseStates(g.chain, g.store);
  t.same((await early.head(model, 4n)).windows, [1n, 2n]);
  g.windows.set(2n, { ...g.windows.get(2n)!, rolledBackHeight: 75n });
  g.windows.set(6n, win(6n, { openHeight: 75n }));
  g.windows.set(7n, win(7n, { openHeight: 76n }));
  t.same((await early.forWindow(7n, model)).windows, [1n]);
  t.same((await early.head(model, 7n)).windows, [1n]);
});
