// A full training step: bit-exact reproducibility, micro-batch invariance, hash and trace.
import t from 'tap';
import { bytesToHex } from '@noble/hashes/utils.js';
import { readFileSync } from 'node:fs';
import { initAdapter } from '../src/model/adapter.ts';
import { generateBackbone } from '../src/model/backbone.ts';
import type { ModelConfig } from '../src/model/config.ts';
import { stateBytes, stateHash } from '../src/train/hash.ts';
import { runJob } from '../src/train/job.ts';
import { trainStep } from '../src/train/step.ts';
import { traceRoot } from '../src/train/trace.ts';
import { sha256 } from '@noble/hashes/sha2.js';

const seed = new Uint8Array(32).fill(9);
const cfg: ModelConfig = { vocab: 256, dModel: 32, nLayers: 2, nHeads: 2, dFF: 64, seqLen: 16, loraRank: 4, seed };
const bb = generateBackbone(cfg);
const text = new TextEncoder().encode(
  'It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of foolishness, ',
);
const chunk = text.subarray(0, 96); // 6 sequences of 16 bytes
const vectors = JSON.parse(readFileSync(new URL('./vectors/train-step.json', import.meta.url), 'utf8')) as Record<string, string>;

t.test('micro-batch size does not change the step', async (t) => {
  // Two steps so that A receives gradient too (B = 0 at init zeroes dA on step 1).
  const s0 = initAdapter(cfg);
  const hashes = [1, 2, 3, 4, 6].map((mb) => {
    const a = trainStep(bb, s0, chunk, 1, { lr: 256, microBatch: mb });
    const b = trainStep(bb, a.state, chunk, 2, { lr: 256, microBatch: mb });
    return [bytesToHex(a.hash), bytesToHex(b.hash), b.lossSumQ16] as const;
  });
  for (const h of hashes.slice(1)) t.strictSame(h, hashes[0]);
  t.equal(hashes[0][0], vectors.step1, 'step-1 state hash matches the stored vector');
  t.equal(hashes[0][1], vectors.step2, 'step-2 state hash matches the stored vector');
});

t.test('a step changes the state; the state hash covers step index and bytes', async (t) => {
  const s0 = initAdapter(cfg);
  const r = trainStep(bb, s0, chunk, 1, { lr: 256 });
  const digest = (b: Uint8Array) => bytesToHex(sha256(b)); // tap's deep diff of big arrays is slow
  t.not(digest(stateBytes(r.state)), digest(stateBytes(s0)), 'parameters moved');
  t.ok(r.state.params.some((rec) => rec.o.b.some((x) => x !== 0)), 'B left zero');
  t.not(bytesToHex(stateHash(1, s0)), bytesToHex(stateHash(2, s0)), 'step index is hashed');
  t.equal(stateBytes(s0).length, 2 * 2 * 4 * 2 * 4 * 32 * 4, 'params + momentum, int32');
  t.equal(digest(stateBytes(initAdapter(cfg))), digest(stateBytes(s0)), 'trainStep does not mutate its input');
});

t.test('trace root: Merkle over state hashes, reproducible, seed-dependent', async (t) => {
  const chunks = [chunk, text.subarray(16, 96), chunk];
  const a = runJob(bb, initAdapter(cfg), chunks, { lr: 256 });
  const b = runJob(bb, initAdapter(cfg), chunks, { lr: 256, microBatch: 1 });
  t.equal(a.stepHashes.length, 4);
  t.equal(bytesToHex(a.traceRoot), bytesToHex(b.traceRoot));
  t.equal(bytesToHex(a.traceRoot), vectors.traceRoot, 'trace root matches the stored vector');
  const seed2 = seed.slice();
  seed2[0] = 10;
  const cfg2 = { ...cfg, seed: seed2 };
  const c = runJob(generateBackbone(cfg2), initAdapter(cfg2), chunks, { lr: 256 });
  t.not(bytesToHex(c.traceRoot), bytesToHex(a.traceRoot));
  // Merkle shape by hand for 3 leaves: root = H(1 ‖ H(1 ‖ L0 ‖ L1) ‖ L2), Li = H(0 ‖ hi)
  const h = [1, 2, 3].map((i) => sha256(new Uint8Array([i])));
  const leaf = (x: Uint8Array) => sha256(new Uint8Array([0, ...x]));
  const node = (l: Uint8Array, r: Uint8Array) => sha256(new Uint8Array([1, ...l, ...r]));
  t.strictSame(traceRoot(h), node(node(leaf(h[0]), leaf(h[1])), leaf(h[2])));
  t.strictSame(traceRoot([]), new Uint8Array(32));
});
