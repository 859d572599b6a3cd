// The serving node's chain path (src/serve/head.ts): the head is the active model version plus the
// aggregates of its finalized windows, in window order, fetched from the store and checked; it
// moves when another window finalizes; a receipt's base is rebuilt from exactly the windows it
// names, and verify-receipt catches a receipt whose base is not the one that generated it.
// The chain is an in-memory reader of the same queries (windows, versions); the aggregates are real.

import t from 'tap';
import { join } from 'node:path';
import { bytesToHex } from '@noble/hashes/utils.js';
import { WindowStatus, type Window } from '@r3mes/client';
import { aggregateDeltas } from '../src/aggregate/file.ts';
import { cpuBackend } from '../src/backend.ts';
import type { ModelVersion } from '../src/chain/client.ts';
import { chunkHash } from '../src/data/chunk.ts';
import { initAdapter } from '../src/model/adapter.ts';
import { adapterDelta, applyDelta, decodeDelta, encodeDelta } from '../src/output/delta.ts';
import { runTrainingJob } from '../src/roles/job.ts';
import { identityOfVersion, loadModel } from '../src/roles/model.ts';
import { defaultChatTemplate } from '../src/serve/chat.ts';
import { cpuInference } from '../src/serve/engine.ts';
import { chainHead } from '../src/serve/head.ts';
import { buildInferenceServer } from '../src/serve/server.ts';
import { verifyReceipt } from '../src/serve/verify-receipt.ts';
import { FileBlockstore } from '../src/storage/blockstore.ts';
import { stateHash } from '../src/train/hash.ts';

const version = {
  number: 1n, modelCid: '', backboneSeed: '06'.repeat(32),
  architecture: { dModel: 16, nLayers: 1, nHeads: 2, dFf: 16, vocabSize: 256, seqLen: 32 },
  lora: { rank: 4, alpha: 4, targets: ['q', 'k', 'v', 'o'] },
} as unknown as ModelVersion;
const chunkOf = (k: number) => Uint8Array.from({ length: 2048 }, (_, i) => 97 + ((i * (k + 3)) % 26));

function win(id: bigint, over: Partial<Window>): Window {
  return { id, status: WindowStatus.WINDOW_STATUS_COLLECTING, openHeight: 0n, modelVersion: 1n, resultCid: '', resultHash: Buffer.alloc(0), closedHeight: 0n, ...over } as Window;
}

t.test('the head: active version + its finalized windows; it moves; receipts rebuild their base', async (t) => {
  const model = await loadModel(identityOfVersion(version));
  const store = await FileBlockstore.open(join(t.testdir(), 'store'));
  const aggs: Array<Awaited<ReturnType<typeof aggregateDeltas>>> = [];
  for (const w of [1n, 2n, 4n]) {
    const inputs = [];
    for (let k = 0; k < 2; k++) {
      const chunk = chunkOf(Number(w) * 2 + k);
      const job = await runTrainingJob({ model, chunk, steps: 1, lr: 2048, backend: cpuBackend() });
      const enc = await encodeDelta(adapterDelta(job.initial, job.final), {
        model: model.identity, miner: `r3mes1m${k}`, window: w, ordinal: 0n, chunkIndex: BigInt(k), chunkHash: chunkHash(chunk), backend: 'cpu', lr: 2048,
        stepHashes: job.stepHashes, lossBefore: job.lossBefore, lossAfter: job.lossAfter,
      });
      inputs.push({ cid: enc.cid.toString(), file: await decodeDelta(enc.bytes) });
    }
    const agg = await aggregateDeltas(inputs, { kind: 'median' }, w);
    await store.put(agg.bytes);
    aggs.push(agg);
  }
  const fin = (id: bigint, i: number, over: Partial<Window> = {}) =>
    win(id, { status: WindowStatus.WINDOW_STATUS_FINALIZED, closedHeight: 10n * id, resultCid: aggs[i].cid.toString(), resultHash: Buffer.from(aggs[i].resultHash), ...over });
  // Windows 1, 2 finalized on version 1; 3 collecting; window 4's aggregate is held back for now.
  const windows = new Map<bigint, Window>([[1n, fin(1n, 0)], [2n, fin(2n, 1)], [3n, win(3n, {})], [4n, win(4n, {})]]);
  let current = 3n;
  const chain = {
    activeVersion: async () => version,
    modelVersion: async (v: bigint) => {
      if (v !== 1n) throw new Error(`model version ${v} not found`);
      return version;
    },
    currentWindow: async () => ({ id: current }),
    window: async (id: bigint) => {
      const w = windows.get(id);
      if (!w) throw new Error(`window ${id} not found`);
      return w;
    },
  };
  const heads = chainHead(chain, store);
  const head = await heads.load();
  const want = applyDelta(applyDelta(initAdapter(model.identity.cfg), aggs[0].delta), aggs[1].delta);
  t.equal(head.id, 'r3mes-v1@w2');
  t.same(head.windows, [1n, 2n]);
  t.equal(head.baseStateHash, bytesToHex(stateHash(0, want)), 'base = initial + window 1 + window 2, in order');
  t.equal(await heads.load(), head, 'nothing new: the same head object (decoders stay)');

  // Serve it and get a receipt.
  const { app } = await buildInferenceServer({ head: () => head, backend: cpuInference(), template: defaultChatTemplate(), maxQueue: 1 });
  t.teardown(() => app.close());
  const res = (await app.inject({ method: 'POST', url: '/v1/completions', payload: { model: head.id, prompt: 'the jury', max_tokens: 8, seed: 5 } })).json();
  const receipt = res.r3mes_receipt;
  t.same(receipt.base_windows, ['1', '2']);
  const verdict = await verifyReceipt({ receipt, prompt: { text: 'the jury' }, heads, backend: cpuInference(), template: defaultChatTemplate() });
  t.equal(verdict.match, true, 'the receipt verifies against the chain');
  // A receipt claiming a base without window 1: its base hash does not match what the chain rebuilds.
  const other = await verifyReceipt({ receipt: { ...receipt, base_windows: ['2'] }, prompt: { text: 'the jury' }, heads, backend: cpuInference(), template: defaultChatTemplate() });
  t.equal(other.match, false);
  t.equal(other.checks.base_state_hash, false, 'another base: base_state_hash mismatch');
  await t.rejects(heads.forReceipt(1n, [3n]), /window 3 is not finalized/, 'a window not finalized cannot be in a base');

  // Window 4 finalizes (3 fails without a result): the head moves to w4.
  windows.set(3n, win(3n, { status: WindowStatus.WINDOW_STATUS_FINALIZED, closedHeight: 30n }));
  windows.set(4n, fin(4n, 2));
  windows.set(5n, win(5n, {}));
  current = 5n;
  const moved = await heads.load();
  t.equal(moved.id, 'r3mes-v1@w4');
  t.same(moved.windows, [1n, 2n, 4n]);
  t.equal(moved.baseStateHash, bytesToHex(stateHash(0, applyDelta(want, aggs[2].delta))));
  t.equal((await heads.forReceipt(1n, [1n, 2n])).baseStateHash, head.baseStateHash, 'the old receipt still rebuilds its own base');
});
