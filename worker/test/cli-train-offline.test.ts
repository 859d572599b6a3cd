// `r3mes-worker train --offline` through the real binary: the SPEC §9 whole-step vector (the
// 2-step job on the 96-byte chunk) gives its state hashes and loss sums; the trace root and the
// gradient hash equal the ones computed here from the same steps; a 2B4T-layout model directory
// trains offline too (uint32 token ids), and bad inputs fail with one error line.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { BitNetArchitecture } from '../src/checkpoint/config.ts';
import { buildManifest } from '../src/checkpoint/manifest.ts';
import { writeCheckpoint } from '../src/checkpoint/write.ts';
import { generateBackbone } from '../src/model/backbone.ts';
import { initAdapter } from '../src/model/adapter.ts';
import { adapterDelta, gradientHash, shapeOfModel } from '../src/output/delta.ts';
import { trainStep } from '../src/train/step.ts';
import { traceRoot } from '../src/train/trace.ts';

// The whole-step vector's hashes (SPEC §9), read from the vector file so a SPEC revision changes one place.
const VECTOR = JSON.parse(readFileSync(fileURLToPath(new URL('./vectors/train-step.json', import.meta.url)), 'utf8')) as { step1: string; step2: string };
const BIN = fileURLToPath(new URL('../bin/r3mes-worker', import.meta.url));
const run = async (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
  try {
    const r = await promisify(execFile)(BIN, args, { timeout: 300_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
};

const root = await mkdtemp(join(tmpdir(), 'r3mes-offline-'));
t.teardown(() => rm(root, { recursive: true, force: true }));

t.test('the SPEC §9 whole-step vector, offline', async (t) => {
  const text = 'It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of';
  const chunk = new TextEncoder().encode(text);
  t.equal(chunk.length, 96);
  await writeFile(join(root, 'chunk.bin'), chunk);
  const seedHex = '09'.repeat(32);
  await writeFile(join(root, 'v.json'), JSON.stringify({ number: 1, backboneSeed: seedHex, architecture: { dModel: 32, nLayers: 2, nHeads: 2, dFf: 64, seqLen: 16 }, lora: { rank: 4 } }));
  const r = await run(['train', '--offline', '--model', join(root, 'v.json'), '--chunk-file', join(root, 'chunk.bin'), '--steps', '2', '--backend', 'cpu', '--home', join(root, 'home')]);
  t.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  t.equal(lines[0], `backbone seed:${seedHex}`);
  t.equal(lines[2], `state 1 ${VECTOR.step1} loss_sum_q16 34066196`, 'SPEC §9: stateHash after step 1 and its loss sum');
  t.equal(lines[3], `state 2 ${VECTOR.step2} loss_sum_q16 33835222`, 'SPEC §9: stateHash after step 2 of the 2-step job and its loss sum');

  // The same steps here: trace root over states 0..2 and the gradient hash of final − initial.
  const cfg = { vocab: 256, dModel: 32, nLayers: 2, nHeads: 2, dFF: 64, seqLen: 16, loraRank: 4, seed: new Uint8Array(32).fill(9) };
  const bb = generateBackbone(cfg);
  const initial = initAdapter(cfg);
  const s1 = trainStep(bb, initial, chunk, 1, { lr: 256 });
  const s2 = trainStep(bb, s1.state, chunk, 2, { lr: 256 });
  const { stateHash } = await import('../src/train/hash.ts');
  const hashes = [stateHash(0, initial), s1.hash, s2.hash];
  t.equal(lines[1], `state 0 ${bytesToHex(hashes[0])}`);
  t.equal(lines[4], `trace_root ${bytesToHex(traceRoot(hashes))}`, 'the trace root of the 3 states');
  const identity = { version: 1n, backbone: { seed: cfg.seed }, cfg };
  t.equal(lines[5], `gradient_hash ${bytesToHex(gradientHash(adapterDelta(initial, s2.state), shapeOfModel(identity)))}`, 'the gradient hash of the delta');

  const json = await run(['train', '--offline', '--model-version-file', join(root, 'v.json'), '--chunk-file', join(root, 'chunk.bin'), '--steps', '1', '--backend', 'cpu', '--json', '--home', join(root, 'home')]);
  t.equal(json.code, 0, json.stderr);
  t.match(JSON.parse(json.stdout), { steps: 1, lr: 256, tokens: 96, stateHashes: [bytesToHex(hashes[0]), bytesToHex(hashes[1])], lossSumsQ16: [34066196] }, '--json');

  await writeFile(join(root, 'odd.bin'), chunk.subarray(0, 40));
  const odd = await run(['train', '--offline', '--model', join(root, 'v.json'), '--chunk-file', join(root, 'odd.bin'), '--steps', '1', '--backend', 'cpu', '--home', join(root, 'home')]);
  t.equal(odd.code, 1);
  t.match(odd.stderr, /40 tokens is not a positive multiple of seq_len 16/);
  const keyed = await run(['train', '--offline', '--key', 'me', '--model', join(root, 'v.json'), '--chunk-file', join(root, 'chunk.bin'), '--home', join(root, 'home')]);
  t.match(keyed.stderr, /--key is for mining on a chain/);
  const nokey = await run(['train', '--home', join(root, 'home')]);
  t.match(nokey.stderr, /--key/);
});

t.test('a 2B4T-layout model directory, offline (uint32 token ids)', async (t) => {
  const arch: BitNetArchitecture = {
    architecture: 'BitNetForCausalLM', hiddenSize: 64, intermediateSize: 96, numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 16,
    vocabSize: 300, maxPositions: 32, ropeTheta: 500000, rmsNormEps: 1e-5, tieWordEmbeddings: true, hiddenAct: 'relu2',
  };
  const dir = join(root, 'model');
  await writeCheckpoint(dir, arch, { form: 'packed', seed: 3 });
  const { cid } = await buildManifest(dir);
  const ids = Uint32Array.from({ length: 64 }, (_, i) => (i * 29 + 7) % 300);
  await writeFile(join(root, 'ids.bin'), new Uint8Array(ids.buffer));
  const a = await run(['train', '--offline', '--model', dir, '--rank', '4', '--targets', 'q,v,gate', '--chunk-file', join(root, 'ids.bin'), '--steps', '2', '--backend', 'cpu', '--json', '--home', join(root, 'home')]);
  t.equal(a.code, 0, a.stderr);
  const out = JSON.parse(a.stdout) as { backbone: string; tokens: number; stateHashes: string[] };
  t.equal(out.backbone, `manifest:${cid}`, 'the directory\'s manifest CID');
  t.equal(out.tokens, 64);
  t.equal(out.stateHashes.length, 3);
  t.not(out.stateHashes[1], out.stateHashes[2], 'the steps change the adapter');
  const b = await run(['train', '--offline', '--model-dir', dir, '--rank', '4', '--targets', 'q,v,gate', '--chunk-file', join(root, 'ids.bin'), '--steps', '2', '--backend', 'cpu', '--json', '--home', join(root, 'home')]);
  t.same(JSON.parse(b.stdout), JSON.parse(a.stdout), '--model DIR = --model-dir DIR');
  const big = Uint32Array.from({ length: 32 }, () => 300);
  await writeFile(join(root, 'big.bin'), new Uint8Array(big.buffer));
  const c = await run(['train', '--offline', '--model', dir, '--chunk-file', join(root, 'big.bin'), '--backend', 'cpu', '--home', join(root, 'home')]);
  t.equal(c.code, 1);
  t.match(c.stderr, /token 300 at 0 is outside the vocabulary \(300\)/);
});
