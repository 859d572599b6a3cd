// A chain model version → the worker's model config (roles/model.ts identityOfVersion): the
// byte-level family stays SPEC v1 bit for bit; the 2B4T family's fields become SPEC v2 config
// fields (and the model trains); a version from a Hugging Face directory loads that directory
// (local or fetched by CID), checked against the version's manifest CID and architecture hash.
import t from 'tap';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { ModelVersion } from '../src/chain/client.ts';
import { generateBackbone } from '../src/model/backbone.ts';
import { isV2, v2Features } from '../src/model/config.ts';
import { initAdapter } from '../src/model/adapter.ts';
import { identityOfVersion } from '../src/roles/model.ts';
import { trainStep } from '../src/train/step.ts';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BitNetArchitecture } from '../src/checkpoint/config.ts';
import { architectureHash } from '../src/checkpoint/config.ts';
import { loadModel as loadCheckpoint } from '../src/checkpoint/loader.ts';
import { buildManifest } from '../src/checkpoint/manifest.ts';
import { backboneOfCheckpoint } from '../src/checkpoint/to-backbone.ts';
import { writeCheckpoint } from '../src/checkpoint/write.ts';
import { modelMetadata } from '../src/output/metadata.ts';
import { loadModel, loraSeedForCid } from '../src/roles/model.ts';
import { FileBlockstore } from '../src/storage/blockstore.ts';

const SMALL: BitNetArchitecture = {
  architecture: 'BitNetForCausalLM', hiddenSize: 64, intermediateSize: 96, numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 16,
  vocabSize: 300, maxPositions: 256, ropeTheta: 500000, rmsNormEps: 1e-5, tieWordEmbeddings: true, hiddenAct: 'relu2',
};

const V1_FIELDS = { nKvHeads: 0, ffn: '', ropeTheta: 0, ropeLayout: '', normGains: false, embedding: '' };
const version = (over: Partial<ModelVersion> = {}): ModelVersion => ({
  number: 2n, modelCid: '', backboneSeed: bytesToHex(new Uint8Array(32).fill(4)), manifestCid: '', architectureHash: '',
  architecture: { dModel: 64, nLayers: 2, nHeads: 4, dFf: 128, vocabSize: 256, seqLen: 32, ...V1_FIELDS },
  lora: { rank: 4, alpha: 8, targets: ['q', 'k', 'v', 'o'] }, status: 1, activationHeight: 0n, migrationBlocks: 0n,
  migrationEndHeight: 0n, deprecatedHeight: 0n, proposalId: 0n, ...over,
});

t.test('a byte-level version is a SPEC v1 config (alpha not applied)', async (t) => {
  const { cfg } = identityOfVersion(version());
  t.equal(isV2(cfg), false, `no v2 feature (${v2Features(cfg).join(', ')})`);
  t.equal(cfg.vocab, 256);
});

t.test('a 2B4T-family version becomes a SPEC v2 config with every field the chain sets, and trains', async (t) => {
  const v = version({
    architecture: { dModel: 64, nLayers: 2, nHeads: 4, dFf: 96, vocabSize: 300, seqLen: 32, nKvHeads: 2, ffn: 'gated', ropeTheta: 500000, ropeLayout: 'half', normGains: true, embedding: 'bf16-tied' },
    lora: { rank: 4, alpha: 8, targets: ['q', 'v', 'gate', 'down'] },
  });
  const { cfg } = identityOfVersion(v);
  t.match(cfg, { vocab: 300, nKvHeads: 2, ffn: 'gated', ropeTheta: 500000, ropeLayout: 'half', normGains: true, embedding: 'bf16-tied', loraAlpha: 8, loraTargets: ['q', 'v', 'gate', 'down'] });
  const bb = generateBackbone(cfg);
  const chunk = Uint32Array.from({ length: 64 }, (_, i) => (i * 13 + 5) % 300);
  const r = trainStep(bb, initAdapter(cfg), chunk, 1, { lr: 256 });
  t.equal(r.hash.length, 32, 'a v2 step from a chain version');
  t.same(Object.keys(r.state.params[0]).sort(), ['down', 'gate', 'q', 'v'], 'the adapter holds exactly the version\'s targets');
});

t.test('a manifest-backed version: the model directory, local or fetched by CID, checked against the chain', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'r3mes-mv-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const dir = join(root, 'model');
  await writeCheckpoint(dir, SMALL, { form: 'packed', seed: 5 });
  const { cid: manifestCid, bytes: manifestBytes } = await buildManifest(dir);
  const archHash = architectureHash(SMALL);
  const v = version({
    backboneSeed: '', manifestCid, architectureHash: archHash,
    architecture: { dModel: 64, nLayers: 2, nHeads: 4, dFf: 96, vocabSize: 300, seqLen: 32, nKvHeads: 2, ffn: 'gated', ropeTheta: 500000, ropeLayout: 'half', normGains: true, embedding: 'bf16-tied' },
    lora: { rank: 4, alpha: 8, targets: ['q', 'v', 'gate', 'down'] },
  });
  const id = identityOfVersion(v);
  t.same(id.backbone, { manifest: manifestCid, architectureHash: archHash }, 'the identity names the manifest');
  t.equal(modelMetadata(id).backbone, `manifest:${manifestCid}`, 'files record backbone "manifest:<cid>"');
  t.same(id.cfg.seed, loraSeedForCid(manifestCid), 'LoRA seed from the manifest CID');

  // From the directory: the integer model of the checkpoint (to-backbone), with the version's LoRA.
  const local = await loadModel(id, { modelDir: dir });
  const direct = backboneOfCheckpoint(await loadCheckpoint(dir), { seqLen: 32, loraRank: 4, loraAlpha: 8, loraTargets: ['q', 'v', 'gate', 'down'], seed: id.cfg.seed });
  const chunk = Uint32Array.from({ length: 64 }, (_, i) => (i * 13 + 5) % 300);
  const a = trainStep(local.backbone, initAdapter(local.identity.cfg), chunk, 1, { lr: 256 });
  const b = trainStep(direct, initAdapter(direct.cfg), chunk, 1, { lr: 256 });
  t.equal(bytesToHex(a.hash), bytesToHex(b.hash), 'the step on the loaded version = the step on the checkpoint');

  // From the store: the manifest and its files fetched by CID into the cache directory.
  const store = await FileBlockstore.open(join(root, 'store'));
  await store.put(manifestBytes);
  for (const name of await readdir(dir)) await store.put(new Uint8Array(await readFile(join(dir, name))));
  const fetched = await loadModel(id, { store, cacheDir: join(root, 'cache') });
  t.equal(bytesToHex(trainStep(fetched.backbone, initAdapter(fetched.identity.cfg), chunk, 1, { lr: 256 }).hash), bytesToHex(a.hash), 'fetched by CID: the same model');
  t.ok((await readdir(join(root, 'cache', manifestCid))).includes('model.safetensors'), 'written to <cache>/<manifest cid>/');

  // Mismatches, by name.
  await t.rejects(loadModel(identityOfVersion({ ...v, architectureHash: 'ab'.repeat(32) }), { modelDir: dir }), { message: /config\.json: architecture hash .* but model version 2 records abab/ }, 'another architecture hash');
  await t.rejects(loadModel(identityOfVersion({ ...v, architectureHash: 'ab'.repeat(32) }), { store, cacheDir: join(root, 'cache2') }), { message: /names architecture hash .* but model version 2 records abab/ }, 'another architecture hash (store)');
  const other = join(root, 'other');
  await writeCheckpoint(other, SMALL, { form: 'packed', seed: 6 });
  await t.rejects(loadModel(id, { modelDir: other }), { message: new RegExp(`manifest has CID \\w+, not ${manifestCid}`) }, 'another directory (other weights): its manifest CID differs');
  await t.rejects(loadModel(identityOfVersion({ ...v, architecture: { ...v.architecture!, dFf: 128 } }), { modelDir: dir }), { message: /says d_ff = 128, but the model directory .* has 96/ }, 'the chain\'s architecture fields must match config.json');
  await t.rejects(loadModel(id, {}), { message: /Hugging Face model directory .*--model-dir DIR/ }, 'nothing to read it from');
  await t.rejects(loadModel(id, { modelFile: new Uint8Array(8) }), { message: /--model-dir DIR, not --model FILE/ });
});
