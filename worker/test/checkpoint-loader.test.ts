// The BitNet checkpoint loader (src/checkpoint/README.md): checkpoints written by the tests in the
// published Hugging Face layouts (packed 2-bit and bf16 master; one file and sharded), loaded back;
// the exact absmean rule; the packed layout against the example in transformers' documentation;
// every error names its file or tensor; manifests and directory verification.
import t, { type Test } from 'tap';
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bf16FromNumber, bf16ToNumber, ratioToBf16 } from '../src/checkpoint/bf16.ts';
import { architectureHash, type BitNetArchitecture, canonicalArchitecture, parseConfig } from '../src/checkpoint/config.ts';
import { CheckpointErrorCode } from '../src/checkpoint/errors.ts';
import { memoryEstimates, parameterCounts } from '../src/checkpoint/inspect.ts';
import { BitNetCheckpoint, loadModel, PROJECTIONS } from '../src/checkpoint/loader.ts';
import { buildManifest, decodeManifest, verifyDirectory } from '../src/checkpoint/manifest.ts';
import { packTernary, quantizeAbsmean, unpackTernary } from '../src/checkpoint/ternary.ts';
import { configJson, masterWeightBits, TestRandom, type TensorToWrite, writeCheckpoint } from '../src/checkpoint/write.ts';

const ARCH: BitNetArchitecture = {
  architecture: 'BitNetForCausalLM', hiddenSize: 128, intermediateSize: 352, numLayers: 2, numHeads: 8, numKvHeads: 2, headDim: 16,
  vocabSize: 300, maxPositions: 512, ropeTheta: 500000, rmsNormEps: 1e-5, tieWordEmbeddings: true, hiddenAct: 'relu2',
};
const UNTIED: BitNetArchitecture = { ...ARCH, hiddenSize: 64, intermediateSize: 160, numHeads: 4, numKvHeads: 1, numLayers: 3, vocabSize: 1000, tieWordEmbeddings: false };

let root = '';
t.before(async () => { root = await mkdtemp(join(tmpdir(), 'r3mes-ckpt-')); });
t.teardown(() => rm(root, { recursive: true, force: true }));
let counter = 0;
const freshDir = () => join(root, `m${counter++}`);

/** The error a promise rejects with (fails the test when it resolves). */
async function rejection(t: Test, p: Promise<unknown>): Promise<{ code?: number; codespace?: string; message: string }> {
  try {
    await p;
  } catch (err) {
    return err as { code?: number; codespace?: string; message: string };
  }
  t.fail('expected a rejection');
  return { message: '' };
}

t.test('the packed layout: the example in transformers\' unpack_weights documentation', async (t) => {
  // packed [2, 2] → weights [8, 2]: row k·R + r is bits 2k..2k+1 of byte row r (R = 2), coded w + 1.
  const packed = Uint8Array.of(0b10100001, 0b00011000, 0b10010000, 0b00001010);
  const want = [[0, -1], [-1, 1], [-1, 1], [-1, 1], [1, 0], [0, -1], [1, -1], [1, -1]].flat();
  t.same([...unpackTernary(packed, 8, 2, 'doc')], want);
  t.same([...packTernary(Int8Array.from(want), 8, 2)], [...packed], 'packTernary is its inverse');
  const rng = new TestRandom(7);
  const values = Int8Array.from({ length: 12 * 20 }, () => rng.int(3) - 1);
  t.same([...unpackTernary(packTernary(values, 12, 20), 12, 20, 'r')], [...values], 'round trip on random ternary values');
  const err = (() => { try { unpackTernary(Uint8Array.of(0b00110101), 4, 1, 'model.layers.0.mlp.up_proj.weight'); } catch (e) { return e as { code: number; message: string }; } })();
  t.equal(err?.code, CheckpointErrorCode.BadValue);
  t.match(err?.message, /model\.layers\.0\.mlp\.up_proj\.weight.*code 3.*bits 4\.\.5.*weight row 2/);
});

t.test('bf16: exact rational rounding, ties to even', async (t) => {
  t.equal(ratioToBf16(1n, 1n), 0x3f80);
  t.equal(ratioToBf16(257n, 256n), 0x3f80, '1 + 2^-8 is halfway between 1 and 1 + 2^-7: rounds to the even 1');
  t.equal(ratioToBf16(259n, 256n), 0x3f82, '1 + 3·2^-8 is halfway: rounds to the even mantissa 2');
  t.equal(ratioToBf16(511n, 256n), 0x4000, 'just under 2 rounds up to 2 (carry into the exponent)');
  t.equal(ratioToBf16(1n, 3n), bf16FromNumber(1 / 3));
  t.equal(ratioToBf16(1n, 100000n), bf16FromNumber(1e-5));
  t.equal(bf16ToNumber(0xbf80), -1);
  t.throws(() => ratioToBf16(1n, 1n << 200n), RangeError);
});

t.test('absmean quantization is exact: ties go to the even 0, the 1e-5 floor, agreement with a float rule', async (t) => {
  const bits = (xs: number[]) => Uint16Array.from(xs, bf16FromNumber);
  // mean|W| = 0.5: 0.75/0.5 = 1.5 → 2 → 1; 0.25/0.5 = 0.5 → 0 (tie to even); 0.5/0.5 = 1.
  let q = quantizeAbsmean(bits([0.75, -0.25, 0.5, -0.5]), 'w');
  t.same([...q.values], [1, 0, 1, -1]);
  t.equal(q.scaleBits, 0x3f00, 'scale = mean|W| = 0.5');
  t.equal(q.floored, false);
  // mean = 3.5/4 = 0.875: 0.5/0.875 = 0.57 → 1.
  q = quantizeAbsmean(bits([2, -1, 0.5, 0]), 'w');
  t.same([...q.values], [1, -1, 1, 0]);
  t.equal(q.scaleBits, bf16FromNumber(0.875));
  // mean below 1e-5: the divisor is 1e-5, so |W| > 5e-6 gives ±1.
  q = quantizeAbsmean(bits([1e-7, -6e-6, 4e-6, 0, 0, 0, 0, 0]), 'w');
  t.equal(q.floored, true);
  t.same([...q.values], [0, -1, 0, 0, 0, 0, 0, 0]);
  t.equal(q.scaleBits, ratioToBf16(1n, 100000n));
  q = quantizeAbsmean(new Uint16Array(16), 'zeros');
  t.same([...q.values], new Array(16).fill(0), 'an all-zero tensor quantizes to zeros');
  // Random master weights: the same ternary values as round_half_even(W / mean) in float64 (no ties
  // at these sizes), about 31 % zeros, scale = mean|W| to bf16 precision.
  const rng = new TestRandom(3);
  const w = masterWeightBits(rng, 96, 128);
  q = quantizeAbsmean(w, 'w');
  let sum = 0;
  for (const b of w) sum += Math.abs(bf16ToNumber(b));
  const mean = sum / w.length;
  let zeros = 0;
  let differ = 0;
  for (let i = 0; i < w.length; i++) {
    const r = Math.round(bf16ToNumber(w[i]) / mean);
    if (Math.max(-1, Math.min(1, r)) !== q.values[i]) differ++;
    if (q.values[i] === 0) zeros++;
  }
  t.equal(differ, 0, 'agrees with the float rule');
  t.ok(zeros / w.length > 0.27 && zeros / w.length < 0.40, `zero fraction ${(zeros / w.length).toFixed(3)} as for trained weights`);
  t.ok(Math.abs(bf16ToNumber(q.scaleBits) / mean - 1) < 2 ** -8, 'scale is mean|W| in bf16');
  const nan = bits([1, 2, 3]);
  nan[1] = 0x7fc0;
  t.throws(() => quantizeAbsmean(nan, 'model.layers.3.self_attn.q_proj.weight'), { code: CheckpointErrorCode.BadValue, message: /q_proj.*element 1 is NaN/ });
});

t.test('config.json: the published fields, defaults, and what is refused', async (t) => {
  const a = parseConfig(configJson(ARCH));
  t.same(a, ARCH);
  t.equal(architectureHash(a), architectureHash(parseConfig(configJson(ARCH, { rope_theta: 500000.0, initializer_range: 0.5 }))), 'fields outside the architecture do not change the hash');
  t.not(architectureHash(a), architectureHash({ ...a, ropeTheta: 10000 }));
  t.match(canonicalArchitecture(a), /^\{"architecture":"BitNetForCausalLM","head_dim":16,.*"rms_norm_eps":"3ee4f8b588e368f1","rope_theta":"411e848000000000",.*"vocab_size":300\}$/);
  const bad = (over: Record<string, unknown>, re: RegExp) =>
    t.throws(() => parseConfig(configJson(ARCH, over)), { code: CheckpointErrorCode.BadConfig, message: re }, JSON.stringify(over));
  bad({ architectures: ['LlamaForCausalLM'] }, /architectures.*LlamaForCausalLM.*only \["BitNetForCausalLM"\]/);
  bad({ num_key_value_heads: 3 }, /not a multiple of num_key_value_heads 3/);
  bad({ hidden_act: 'silu' }, /hidden_act/);
  bad({ hidden_size: 130 }, /hidden_size 130 is not a multiple of num_attention_heads/);
  bad({ vocab_size: 0 }, /vocab_size/);
  bad({ rope_scaling: { type: 'linear', factor: 2 } }, /rope_scaling/);
  bad({ attention_bias: true }, /no biases/);
  t.throws(() => parseConfig('{'), { code: CheckpointErrorCode.BadConfig, message: /config\.json: not JSON/ });
  const noTie = JSON.parse(configJson(ARCH));
  delete noTie.tie_word_embeddings;
  t.equal(parseConfig(JSON.stringify(noTie)).tieWordEmbeddings, false, 'absent tie_word_embeddings is false, as transformers\' default');
});

t.test('packed and bf16-master forms of the same weights load to the same ternary tensors and scales', async (t) => {
  const packedDir = freshDir();
  const bf16Dir = freshDir();
  const shardedDir = freshDir();
  await writeCheckpoint(packedDir, ARCH, { form: 'packed', seed: 11 });
  await writeCheckpoint(bf16Dir, ARCH, { form: 'bf16', seed: 11 });
  await writeCheckpoint(shardedDir, ARCH, { form: 'packed', seed: 11, shards: 3 });
  const p = await loadModel(packedDir);
  const b = await loadModel(bf16Dir);
  const s = await loadModel(shardedDir);
  t.equal(p.form, 'packed');
  t.equal(b.form, 'bf16');
  t.equal(s.form, 'packed');
  for (let l = 0; l < ARCH.numLayers; l++) {
    for (const proj of PROJECTIONS) {
      const [x, y, z] = [p.layers[l][proj], b.layers[l][proj], s.layers[l][proj]];
      t.equal(x.scaleBits, y.scaleBits, `layer ${l} ${proj}: same scale`);
      t.ok(x.values.every((v, i) => v === y.values[i] && v === z.values[i]), `layer ${l} ${proj}: same ternary values`);
      t.equal(x.values.length, x.rows * x.cols);
    }
    t.same([...p.layers[l].ffnSubNorm], [...b.layers[l].ffnSubNorm]);
    t.equal(p.layers[l].ffnSubNorm.length, ARCH.intermediateSize);
  }
  t.same([...p.embedding], [...b.embedding], 'same bf16 embedding');
  t.equal(p.lmHead, p.embedding, 'tied: the LM head is the embedding');
  // k and v are [KV·d, D] = [32, 128] (GQA 4:1).
  t.equal(p.layers[0].k.rows, 32);
  t.equal(p.layers[0].down.cols, ARCH.intermediateSize);
  // The sharded form: an index and three files, all read through the index.
  const ck = await BitNetCheckpoint.open(shardedDir);
  t.same(ck.weightFileNames, ['model.safetensors.index.json', 'model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors']);
  const rows = await ck.embeddingRows(5, 2);
  t.same([...rows], [...p.embedding.subarray(5 * 128, 7 * 128)], 'embedding rows read by offset');
  await ck.close();
  // An untied model with MQA (one key/value head) and three layers.
  const u = freshDir();
  await writeCheckpoint(u, UNTIED, { form: 'bf16', seed: 5, shards: 2 });
  const um = await loadModel(u);
  t.equal(um.lmHead.length, UNTIED.vocabSize * UNTIED.hiddenSize);
  t.not(um.lmHead, um.embedding);
  t.equal(um.layers.length, 3);
});

/** Writes ARCH with one tensor changed and returns the error opening and loading it gives. */
async function brokenCheckpoint(t: Test, form: 'packed' | 'bf16', mutate: (x: TensorToWrite) => TensorToWrite | undefined, configOverrides?: Record<string, unknown>) {
  const dir = freshDir();
  await writeCheckpoint(dir, ARCH, { form, seed: 2, mutate, configOverrides });
  return rejection(t, loadModel(dir));
}

t.test('errors name the tensor or file at fault', async (t) => {
  const named = (name: string, x: TensorToWrite, change: Partial<TensorToWrite>) => (x.name === name ? { ...x, ...change } : x);
  let e = await brokenCheckpoint(t, 'packed', (x) => named('model.layers.1.self_attn.k_proj.weight', x, { shape: [9, 128], data: () => new Uint8Array(9 * 128).fill(0x55) }));
  t.equal(e.code, CheckpointErrorCode.WrongShape);
  t.match(e.message, /model\.layers\.1\.self_attn\.k_proj\.weight \(model\.safetensors\): shape \[9, 128\], expected \[8, 128\]/);

  e = await brokenCheckpoint(t, 'packed', (x) => named('model.layers.1.mlp.gate_proj.weight', x, { data: () => { const d = packTernary(new Int8Array(352 * 128), 352, 128); d[130] = 0xff; return d; } }));
  t.equal(e.code, CheckpointErrorCode.BadValue);
  t.match(e.message, /model\.layers\.1\.mlp\.gate_proj\.weight: packed byte \[1, 2\] holds the code 3/);

  e = await brokenCheckpoint(t, 'packed', (x) => (x.name === 'model.layers.1.mlp.ffn_sub_norm.weight' ? undefined : x));
  t.equal(e.code, CheckpointErrorCode.MissingTensor);
  t.match(e.message, /no tensor "model\.layers\.1\.mlp\.ffn_sub_norm\.weight"/);

  e = await brokenCheckpoint(t, 'packed', (x) => named('model.layers.0.self_attn.o_proj.weight_scale', x, { dtype: 'F32', data: () => new Uint8Array(new Float32Array([0.5]).buffer) }));
  t.equal(e.code, CheckpointErrorCode.WrongDtype);
  t.match(e.message, /model\.layers\.0\.self_attn\.o_proj\.weight_scale \(model\.safetensors\): dtype F32, expected BF16 in a packed checkpoint/);

  e = await brokenCheckpoint(t, 'packed', (x) => named('model.layers.0.self_attn.o_proj.weight_scale', x, { shape: [2], data: () => new Uint8Array(4) }));
  t.equal(e.code, CheckpointErrorCode.WrongShape);
  t.match(e.message, /o_proj\.weight_scale \(model\.safetensors\): shape \[2\], expected \[1\]/);
  const scalarScale = freshDir();
  await writeCheckpoint(scalarScale, ARCH, { form: 'packed', seed: 2, mutate: (x) => (x.name.endsWith('weight_scale') ? { ...x, shape: [] } : x) });
  const normalScale = freshDir();
  await writeCheckpoint(normalScale, ARCH, { form: 'packed', seed: 2 });
  const scalarV = (await loadModel(scalarScale)).layers[1].v.scaleBits;
  t.equal(scalarV, (await loadModel(normalScale)).layers[1].v.scaleBits, 'a 0-dimensional weight_scale (shape []) is accepted and read the same');
  t.not(scalarV, 0);

  e = await brokenCheckpoint(t, 'bf16', (x) => named('model.layers.0.self_attn.q_proj.weight', x, { dtype: 'F16' }));
  t.equal(e.code, CheckpointErrorCode.WrongDtype, 'BitLinear weights are U8 or BF16');
  t.match(e.message, /q_proj\.weight: dtype F16/);

  e = await brokenCheckpoint(t, 'bf16', (x) => named('model.layers.1.mlp.down_proj.weight', x, { data: () => { const d = new Uint8Array(128 * 352 * 2); d[7] = 0x7f; d[6] = 0x80; return d; } }));
  t.equal(e.code, CheckpointErrorCode.BadValue);
  t.match(e.message, /down_proj\.weight: element 3 is infinite/);

  e = await brokenCheckpoint(t, 'packed', (x) => x, { architectures: ['BitNetForSequenceClassification'] });
  t.equal(e.code, CheckpointErrorCode.BadConfig);
  t.match(e.message, /config\.json: architectures/);

  // Tied embeddings but an lm_head.weight too: which one is the head?
  e = await brokenCheckpoint(t, 'packed', (x) => x, { tie_word_embeddings: false });
  t.equal(e.code, CheckpointErrorCode.MissingTensor);
  t.match(e.message, /no tensor "lm_head\.weight"/);

  // Tied embeddings and an lm_head.weight as well: which one is the head? Refused.
  const headDir = freshDir();
  await writeCheckpoint(headDir, ARCH, {
    form: 'packed', seed: 2,
    mutate: (x) => (x.name === 'model.norm.weight' ? x : x.name === 'model.embed_tokens.weight' ? { ...x, name: 'lm_head.weight' } : x),
  });
  e = await rejection(t, BitNetCheckpoint.open(headDir));
  t.equal(e.code, CheckpointErrorCode.MissingTensor, 'lm_head.weight does not stand in for the embedding');
  const both = freshDir();
  await writeCheckpoint(both, { ...ARCH, tieWordEmbeddings: false }, { form: 'packed', seed: 2, configOverrides: { tie_word_embeddings: true } });
  e = await rejection(t, BitNetCheckpoint.open(both));
  t.equal(e.code, CheckpointErrorCode.WrongShape);
  t.match(e.message, /holds "lm_head\.weight" that a packed 2-layer BitNet with tied embeddings does not have/);
  // A weight_scale in a bf16 checkpoint, a third layer in a two-layer model: refused; an unrelated extra tensor: ignored.
  const withExtra = async (form: 'packed' | 'bf16', extra: TensorToWrite) => {
    const dir = freshDir();
    await writeCheckpoint(dir, ARCH, { form, seed: 2, extraTensors: [extra] });
    return dir;
  };
  const bf16Zero = (name: string, n: number): TensorToWrite => ({ name, dtype: 'BF16', shape: [n], data: () => new Uint8Array(2 * n) });
  e = await rejection(t, BitNetCheckpoint.open(await withExtra('bf16', bf16Zero('model.layers.0.mlp.up_proj.weight_scale', 1))));
  t.equal(e.code, CheckpointErrorCode.WrongShape);
  t.match(e.message, /"model\.layers\.0\.mlp\.up_proj\.weight_scale" that a bf16 2-layer BitNet/);
  e = await rejection(t, BitNetCheckpoint.open(await withExtra('packed', bf16Zero('model.layers.2.input_layernorm.weight', 128))));
  t.equal(e.code, CheckpointErrorCode.WrongShape);
  t.match(e.message, /"model\.layers\.2\.input_layernorm\.weight" that a packed 2-layer BitNet/);
  const ok = await BitNetCheckpoint.open(await withExtra('packed', { name: 'model.rotary_emb.inv_freq', dtype: 'F32', shape: [8], data: () => new Uint8Array(32) }));
  t.same(ok.extraTensors, ['model.rotary_emb.inv_freq'], 'an unrelated tensor is listed and ignored');
  await ok.close();

  // A truncated file: the last tensor runs past the end.
  const dir = freshDir();
  await writeCheckpoint(dir, ARCH, { form: 'packed', seed: 2 });
  await truncate(join(dir, 'model.safetensors'), (await readFile(join(dir, 'model.safetensors'))).length - 100);
  e = await rejection(t, BitNetCheckpoint.open(dir));
  t.equal(e.code, CheckpointErrorCode.CorruptFile);
  t.match(e.message, /model\.safetensors: truncated: tensor "model\.norm\.weight" ends at data byte/);
  await truncate(join(dir, 'model.safetensors'), 4);
  e = await rejection(t, BitNetCheckpoint.open(dir));
  t.match(e.message, /model\.safetensors: 4 bytes, shorter than the 8-byte header length/);

  // Missing files.
  const d2 = freshDir();
  await writeCheckpoint(d2, ARCH, { form: 'packed', seed: 2 });
  await rm(join(d2, 'tokenizer.json'));
  e = await rejection(t, BitNetCheckpoint.open(d2));
  t.equal(e.code, CheckpointErrorCode.MissingFile);
  t.match(e.message, /tokenizer\.json: cannot read/);
  await rm(join(d2, 'model.safetensors'));
  await writeFile(join(d2, 'tokenizer.json'), '{}');
  e = await rejection(t, BitNetCheckpoint.open(d2));
  t.equal(e.code, CheckpointErrorCode.MissingFile);
  t.match(e.message, /model\.safetensors: cannot open/);

  // A sharded index that places a tensor in the wrong shard.
  const d3 = freshDir();
  await writeCheckpoint(d3, ARCH, { form: 'packed', seed: 2, shards: 2 });
  const index = JSON.parse(await readFile(join(d3, 'model.safetensors.index.json'), 'utf8'));
  index.weight_map['model.norm.weight'] = 'model-00001-of-00002.safetensors';
  await writeFile(join(d3, 'model.safetensors.index.json'), JSON.stringify(index));
  e = await rejection(t, BitNetCheckpoint.open(d3));
  t.equal(e.code, CheckpointErrorCode.CorruptFile);
  t.match(e.message, /model-00002-of-00002\.safetensors: holds tensor "model\.norm\.weight" that model\.safetensors\.index\.json places in model-00001/);
  index.weight_map['model.norm.weight'] = '../elsewhere.safetensors';
  await writeFile(join(d3, 'model.safetensors.index.json'), JSON.stringify(index));
  e = await rejection(t, BitNetCheckpoint.open(d3));
  t.match(e.message, /not a \.safetensors file name in the directory/);
});

t.test('manifest: file CIDs, architecture hash, canonical JSON; a directory verified against a manifest CID', async (t) => {
  const dir = freshDir();
  await writeCheckpoint(dir, ARCH, { form: 'packed', seed: 9, shards: 2 });
  const { manifest, bytes, cid } = await buildManifest(dir);
  t.same(manifest.files.map((f) => f.name), ['config.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json', 'tokenizer.json', 'tokenizer_config.json']);
  t.equal(manifest.architectureHash, architectureHash(ARCH));
  t.equal(manifest.form, 'packed');
  t.match(new TextDecoder().decode(bytes), /^\{"architecture_hash":"[0-9a-f]{64}","files":\[\{"cid":"bafkrei[a-z2-7]+","name":"config\.json","size":\d+\},/);
  t.same(decodeManifest(bytes), manifest, 'decodes to itself');
  t.throws(() => decodeManifest(new TextEncoder().encode(JSON.stringify(JSON.parse(new TextDecoder().decode(bytes)), null, 1))), { code: CheckpointErrorCode.BadManifest, message: /canonical/ });
  t.same(await verifyDirectory(dir, cid, bytes), manifest, 'the directory verifies');
  t.equal((await buildManifest(dir)).cid, cid, 'the same directory gives the same CID');
  // The same weights in another directory give the same CID (names inside, not paths, count).
  const again = freshDir();
  await writeCheckpoint(again, ARCH, { form: 'packed', seed: 9, shards: 2 });
  t.equal((await buildManifest(again)).cid, cid);
  // One changed byte in a tokenizer file.
  await writeFile(join(again, 'tokenizer_config.json'), (await readFile(join(again, 'tokenizer_config.json'), 'utf8')).replace('4096', '4097'));
  let e = await rejection(t, verifyDirectory(again, cid, bytes));
  t.equal(e.code, CheckpointErrorCode.CidMismatch);
  t.match(e.message, /tokenizer_config\.json: \d+ bytes with CID bafkrei\w+, but manifest \w+ names \d+ bytes with CID/);
  e = await rejection(t, verifyDirectory(again, cid));
  t.match(e.message, new RegExp(`its manifest has CID \\w+, not ${cid}`));
  e = await rejection(t, verifyDirectory(again, cid, new TextEncoder().encode('{}')));
  t.match(e.message, /manifest: its bytes hash to/);
  // The bf16 form of the same model is another model version.
  const b = freshDir();
  await writeCheckpoint(b, ARCH, { form: 'bf16', seed: 9, shards: 2 });
  const bm = await buildManifest(b);
  t.not(bm.cid, cid);
  t.equal(bm.manifest.architectureHash, manifest.architectureHash, 'same architecture hash');
});

t.test('parameter counts and memory estimates at the 2B4T shape', async (t) => {
  const a: BitNetArchitecture = { ...ARCH, hiddenSize: 2560, intermediateSize: 6912, numLayers: 30, numHeads: 20, numKvHeads: 5, headDim: 128, vocabSize: 128256, maxPositions: 4096 };
  const c = parameterCounts(a, 'packed', 16, ['q', 'k', 'v', 'o']);
  t.equal(c.ternary, 30 * (2 * 2560 * 2560 + 2 * 640 * 2560 + 3 * 6912 * 2560), '2.08 B ternary weights');
  t.equal(c.bf16, 128256 * 2560 + 30 * (3 * 2560 + 6912) + 2560 + 7 * 30);
  t.equal(c.lora, 30 * 16 * ((2560 + 2560) * 2 + (640 + 2560) * 2));
  const m = memoryEstimates(a, c);
  t.ok(m.cpu.totalBytes < 16 * 1024 ** 3, `CPU estimate ${(m.cpu.totalBytes / 1024 ** 3).toFixed(2)} GiB fits 16 GiB`);
  t.ok(m.gpu.totalBytes < 24 * 1024 ** 3, `GPU estimate ${(m.gpu.totalBytes / 1024 ** 3).toFixed(2)} GiB fits 24 GiB`);
  t.ok(m.gpu.weightBytes > m.cpu.weightBytes);
});

t.test('a weights file over 2 GiB is read by offset, never whole', async (t) => {
  // Every tensor is a hole of a sparse file (zeros: bf16 0, and packed code 0 = −1), so the test
  // writes nothing and needs no disk; Node cannot read a file over 2 GiB into one buffer at all.
  const big: BitNetArchitecture = { ...ARCH, hiddenSize: 2560, intermediateSize: 256, numLayers: 1, numHeads: 20, numKvHeads: 5, headDim: 128, vocabSize: 420000 };
  const dir = freshDir();
  await writeCheckpoint(dir, big, { form: 'packed', seed: 1, mutate: (x) => ({ ...x, data: () => undefined }) });
  const ck = await BitNetCheckpoint.open(dir);
  t.teardown(() => ck.close());
  const { size } = await (await import('node:fs/promises')).stat(join(dir, 'model.safetensors'));
  t.ok(size > 2 ** 31, `model.safetensors is ${size} bytes`);
  const rows = await ck.embeddingRows(419998, 2);
  t.equal(rows.length, 2 * 2560);
  t.ok(rows.every((b) => b === 0));
  const layer = await ck.layer(0);
  t.ok(layer.gate.values.every((v) => v === -1), 'packed zero bytes are −1 weights');
  t.equal(layer.k.rows, 640);
  t.equal(layer.q.scaleBits, 0);
});
