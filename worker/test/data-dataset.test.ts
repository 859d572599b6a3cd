// Tokenizer (through @huggingface/tokenizers) and the dataset format: build, manifest, chunks,
// held-out split, errors, the Brown corpus as a manifest dataset, training a chunk read by CID.
import t from 'tap';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bytesToHex } from '@noble/hashes/utils.js';
import { buildDataset, BYTE_TOKENIZER, isHeldOut } from '../src/data/build.ts';
import { BROWN_MANIFEST_CID as EXPORTED_BROWN_CID, brownDataset, writeBrownDataset } from '../src/data/brown-dataset.ts';
import { CHUNK_TOKENS, type ChunkTokens, chunkBytes } from '../src/data/chunk.ts';
import { chunkAt, chunkCount } from '../src/data/corpus.ts';
import { ManifestDataset, publishDataset } from '../src/data/dataset.ts';
import { DataErrorCode } from '../src/data/errors.ts';
import { canonicalManifestBytes, parseManifest } from '../src/data/manifest.ts';
import { decodeIds, encodeText, loadTokenizer } from '../src/data/tokenizer.ts';
import { initAdapter } from '../src/model/adapter.ts';
import { generateBackbone } from '../src/model/backbone.ts';
import type { ModelConfig } from '../src/model/config.ts';
import { FileBlockstore } from '../src/storage/blockstore.ts';
import { trainStep } from '../src/train/step.ts';
import { windowChunks } from '../src/data/window-chunks.ts';
import { EOS, writeTokenizerDir } from './helpers/tokenizer.ts';

/** The Brown dataset's manifest CID; genesis registers it (genesis/template, modules/model). */
const BROWN_MANIFEST_CID = 'bafkreic6s42hokkcmasjqv3mwkmtioy6frj3khpvb6tak3sgh2ggryzr6q';

const tmp = () => mkdtempSync(join(tmpdir(), 'r3mes-dataset-'));

const WORDS = ['the', 'cat', 'sat', 'on', 'mat', 'of', 'wisdom', 'age', 'string', 'in', 'river', 'Zürich', 'naïve', '日本', 'stone', 'at', 'ring'];
/** Deterministic documents of varying length (an LCG picks the words). */
function documents(n: number, seed: number): string[] {
  let x = seed;
  const next = () => (x = (x * 1103515245 + 12345) % 2147483648);
  const out: string[] = [];
  for (let d = 0; d < n; d++) {
    const words: string[] = [];
    const len = 20 + (next() % 120);
    for (let w = 0; w < len; w++) words.push(WORDS[next() % WORDS.length]);
    out.push(`${words.join(' ')}.`);
  }
  return out;
}

function writeInputs(dir: string): { files: string[]; docs: string[] } {
  const docs = documents(300, 7);
  const jsonl = join(dir, 'a.jsonl');
  writeFileSync(jsonl, docs.slice(0, 250).map((text, i) => JSON.stringify({ id: i, text })).join('\n') + '\n\n');
  const txt = join(dir, 'b.txt');
  writeFileSync(txt, docs.slice(250).join('\n'));
  return { files: [jsonl, txt], docs: [...docs.slice(0, 250), docs.slice(250).join('\n')] };
}

t.test('tokenizer: a byte-level BPE tokenizer.json round-trips through the library', async (t) => {
  const dir = tmp();
  const ids = writeTokenizerDir(dir);
  const tok = await loadTokenizer(dir);
  t.equal(tok.vocabSize, ids.vocabSize, 'vocabulary size = largest id + 1, added tokens included');
  t.strictSame(tok.eos, { token: EOS, id: ids.eosId }, 'EOS from tokenizer_config.json');
  t.equal(tok.cid, (await loadTokenizer(join(dir, 'tokenizer.json'))).cid, 'a directory and its tokenizer.json give one CID');
  for (const text of ['the cat sat on the mat', 'Héllo wörld 日本 🙂\n\ttabs  and  spaces\r\n', "It's 12345 o'clock!", ' leading space', '']) {
    const encoded = encodeText(tok, text);
    t.equal(decodeIds(tok, encoded), text, `round trip of ${JSON.stringify(text)}`);
    t.ok(encoded.every((id) => id >= 0 && id < ids.vocabSize));
  }
  const the = encodeText(tok, 'the the');
  t.ok(the.some((id) => id >= 256), 'merges apply: fewer tokens than bytes');
  t.ok(the.length < 7);
  t.equal((await loadTokenizer(dir, { eosToken: '<|begin_of_text|>' })).eos?.id, ids.bosId, '--eos-token overrides the config');
  await t.rejects(loadTokenizer(dir, { eosToken: '<|nope|>' }), { code: DataErrorCode.InvalidTokenizer, message: /<\|nope\|>.*not in the vocabulary/ });
  await t.rejects(loadTokenizer(join(dir, 'missing')), { code: DataErrorCode.InvalidTokenizer });
});

t.test('build: manifest, held-out split, chunks, determinism', async (t) => {
  const work = tmp();
  writeTokenizerDir(join(work, 'tok'));
  const tok = await loadTokenizer(join(work, 'tok'));
  const { files, docs } = writeInputs(work);
  const shardTokens = 2 * CHUNK_TOKENS;
  const progress: [number, number][] = [];
  const a = await buildDataset({ tokenizer: tok, files, outDir: join(work, 'a'), heldoutPermille: 200, shardTokens, onProgress: (d, n) => progress.push([d, n]) });
  const b = await buildDataset({ tokenizer: tok, files, outDir: join(work, 'b'), heldoutPermille: 200, shardTokens });
  t.equal(a.cid, b.cid, 'same inputs, same manifest CID');
  t.match(a.cid, /^bafkrei/);
  t.strictSame(progress.at(-1), [progress[0][1], progress[0][1]], 'progress ends at the total input bytes');
  const c = await buildDataset({ tokenizer: tok, files, outDir: join(work, 'c'), heldoutPermille: 100, shardTokens });
  t.not(c.cid, a.cid, 'another held-out share, another dataset');

  // Rebuild the expected streams from the rule in README.md, with the library's ids.
  const expect = { train: [] as number[], heldout: [] as number[] };
  for (const text of docs) {
    const split = isHeldOut(new TextEncoder().encode(text), 200) ? 'heldout' : 'train';
    expect[split].push(...encodeText(tok, text), tok.eos!.id);
  }
  const m = a.manifest;
  t.ok(m.heldout.documents > 20 && m.heldout.documents < 100, `about a fifth held out (${m.heldout.documents} of ${docs.length})`);
  t.equal(m.train.documents + m.heldout.documents, docs.length);
  t.equal(m.train.tokens, expect.train.length);
  t.equal(m.heldout.tokens, expect.heldout.length);
  t.equal(m.train.chunks, Math.floor(expect.train.length / CHUNK_TOKENS));
  t.ok(m.train.chunks >= 3 && m.heldout.chunks >= 1, `${m.train.chunks} train, ${m.heldout.chunks} held-out chunks`);
  t.equal(m.train.shards.length, Math.ceil(expect.train.length / shardTokens));
  t.strictSame(m.separator, { token: EOS, id: tok.eos!.id });
  t.strictSame(m.tokenizer, { cid: tok.cid, file: 'tokenizer.json' });
  t.equal(Buffer.from(canonicalManifestBytes(parseManifest(a.manifestBytes))).toString(), Buffer.from(a.manifestBytes).toString(), 'manifest bytes are canonical');

  const ds = await ManifestDataset.fromDir(join(work, 'a'));
  t.equal(ds.cid, a.cid);
  await ds.verify();
  for (const split of ['train', 'heldout'] as const) {
    for (let i = 0; i < ds.chunkCount(split); i++) {
      t.strictSame([...(await ds.chunk(i, split))], expect[split].slice(i * CHUNK_TOKENS, (i + 1) * CHUNK_TOKENS), `${split} chunk ${i}`);
    }
  }
  await t.rejects(ds.chunk(m.train.chunks), { code: DataErrorCode.ChunkIndex });
  await t.rejects(ds.byteChunk(0), { code: DataErrorCode.DatasetMismatch, message: /vocabulary of 278/ });

  // A changed shard no longer verifies; a reformatted manifest is refused.
  const shard = join(work, 'b', m.train.shards[1].file);
  const bytes = readFileSync(shard);
  bytes[5] ^= 1;
  writeFileSync(shard, bytes);
  await t.rejects((await ManifestDataset.fromDir(join(work, 'b'))).verify(), { code: DataErrorCode.DatasetMismatch, message: /train-00001\.u32 has CID/ });
  writeFileSync(join(work, 'b', 'manifest.json'), JSON.stringify(m, null, 1));
  await t.rejects(ManifestDataset.fromDir(join(work, 'b')), { code: DataErrorCode.InvalidManifest, message: /canonical/ });
});

t.test('build: errors name their cause', async (t) => {
  const work = tmp();
  const tok = BYTE_TOKENIZER;
  const file = (name: string, text: string) => {
    const path = join(work, name);
    writeFileSync(path, text);
    return path;
  };
  let n = 0;
  const out = () => join(work, `out${n++}`);
  await t.rejects(buildDataset({ tokenizer: tok, files: [], outDir: out() }), { code: DataErrorCode.EmptyDataset });
  await t.rejects(buildDataset({ tokenizer: tok, files: [file('blank.jsonl', '\n  \n{"text":""}\n')], outDir: out() }), { code: DataErrorCode.EmptyDataset, message: /no non-empty document/ });
  await t.rejects(buildDataset({ tokenizer: tok, files: [file('short.txt', 'too short')], outDir: out() }), { code: DataErrorCode.EmptyDataset, message: /less than one 2048-token chunk/ });
  const badJson = file('bad.jsonl', '{"text":"ok"}\n{"text": oops}\n');
  await t.rejects(buildDataset({ tokenizer: tok, files: [badJson], outDir: out() }), { code: DataErrorCode.InvalidInput, message: `${badJson} line 2: not JSON` });
  const noField = file('nofield.jsonl', '{"text":"ok"}\n\n{"body":"x"}\n');
  await t.rejects(buildDataset({ tokenizer: tok, files: [noField], outDir: out() }), { message: `${noField} line 3: field "text" is missing` });
  await t.rejects(buildDataset({ tokenizer: tok, files: [noField], outDir: out(), field: 'body' }), { message: `${noField} line 1: field "body" is missing` });
  const array = file('array.jsonl', '[1,2]\n');
  await t.rejects(buildDataset({ tokenizer: tok, files: [array], outDir: out() }), { message: `${array} line 1: not a JSON object` });
  await t.rejects(buildDataset({ tokenizer: tok, files: [join(work, 'absent.txt')], outDir: out() }), { code: DataErrorCode.InvalidInput, message: /absent\.txt/ });
  const big = file('big.txt', 'x'.repeat(5000));
  await t.rejects(buildDataset({ tokenizer: tok, files: [big], outDir: out(), shardTokens: 3000 }), { message: /--shard-tokens must be a multiple of 2048/ });
  await t.rejects(buildDataset({ tokenizer: tok, files: [big], outDir: out(), heldoutPermille: 1001 }), { message: /--held-out-permille/ });
  const badUtf8 = join(work, 'badutf8.jsonl');
  writeFileSync(badUtf8, Buffer.concat([Buffer.from('{"text":"ok"}\n{"text":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}\n')]));
  await t.rejects(buildDataset({ tokenizer: tok, files: [badUtf8], outDir: out() }), { message: `${badUtf8} line 2 is not valid UTF-8` });
  // A JSONL file larger than the 1 MiB read size: lines across read boundaries, errors still name their line.
  const lines = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ text: `doc ${i} ${'é'.repeat(200 + (i % 97))}` }));
  const bigJsonl = file('big.jsonl', `${lines.join('\n')}\n`);
  const built = await buildDataset({ tokenizer: tok, files: [bigJsonl], outDir: out(), heldoutPermille: 100 });
  const docs = lines.map((line) => (JSON.parse(line) as { text: string }).text);
  t.equal(built.manifest.train.documents + built.manifest.heldout.documents, 3000, 'every line read once');
  t.equal(built.manifest.train.tokens + built.manifest.heldout.tokens, docs.reduce((n, d) => n + Buffer.byteLength(d), 0));
  lines[2998] = '{"text": 5}';
  const brokenLate = file('late.jsonl', lines.join('\n'));
  await t.rejects(buildDataset({ tokenizer: tok, files: [brokenLate], outDir: out() }), { message: `${brokenLate} line 2999: field "text" is not a string (number)` });
  const used = out();
  await buildDataset({ tokenizer: tok, files: [big], outDir: used, heldoutPermille: 0 });
  await t.rejects(buildDataset({ tokenizer: tok, files: [big], outDir: used }), { message: /is not empty/ });
  const noEos = join(work, 'tok-noeos');
  writeTokenizerDir(noEos);
  writeFileSync(join(noEos, 'tokenizer_config.json'), '{}');
  await t.rejects(buildDataset({ tokenizer: await loadTokenizer(noEos), files: [big], outDir: out() }), { code: DataErrorCode.InvalidTokenizer, message: /no EOS token/ });
});

t.test('Brown corpus as a manifest dataset: same chunks, pinned CID', async (t) => {
  const brown = await brownDataset();
  t.equal(brown.cid, BROWN_MANIFEST_CID, 'the genesis dataset CID');
  t.equal(EXPORTED_BROWN_CID, BROWN_MANIFEST_CID);
  t.equal(brown.manifest.train.chunks, chunkCount('train'));
  t.equal(brown.manifest.heldout.chunks, chunkCount('heldout'));
  t.equal(brown.manifest.train.documents + brown.manifest.heldout.documents, 500);
  const dir = join(tmp(), 'brown');
  t.equal((await writeBrownDataset(dir)).cid, BROWN_MANIFEST_CID);
  const ds = await ManifestDataset.fromDir(dir);
  const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
  for (const i of [0, 1, 1023, 1024, 2047, chunkCount('train') - 1]) {
    t.equal(sha(await ds.byteChunk(i)), chunkAt(i).hash, `train chunk ${i} is corpus.ts's chunk`);
  }
  t.equal(sha(await ds.byteChunk(0, 'heldout')), chunkAt(0, 'heldout').hash);
});

t.test('training a chunk of a manifest dataset fetched by CID from a store', async (t) => {
  const work = tmp();
  const text = documents(40, 3).join('\n');
  writeFileSync(join(work, 'doc.txt'), text);
  const built = await buildDataset({ tokenizer: BYTE_TOKENIZER, files: [join(work, 'doc.txt')], outDir: join(work, 'ds'), heldoutPermille: 0 });
  t.equal(built.manifest.vocab_size, 256);
  const store = await FileBlockstore.open(join(work, 'store'));
  const published = await publishDataset(join(work, 'ds'), store);
  t.equal(published.cid, built.cid);
  const ds = await ManifestDataset.fromStore(store, built.cid);
  const chunk = await ds.byteChunk(1);
  const utf8 = new TextEncoder().encode(text);
  t.equal(Buffer.from(chunk).toString('hex'), Buffer.from(utf8.subarray(CHUNK_TOKENS, 2 * CHUNK_TOKENS)).toString('hex'), 'byte tokens = the UTF-8 text');

  const cfg: ModelConfig = { vocab: 256, dModel: 32, nLayers: 1, nHeads: 2, dFF: 64, seqLen: 64, loraRank: 4, seed: new Uint8Array(32).fill(5) };
  const bb = generateBackbone(cfg);
  const fromStore = trainStep(bb, initAdapter(cfg), chunk, 1, { lr: 256 });
  const fromText = trainStep(bb, initAdapter(cfg), utf8.slice(CHUNK_TOKENS, 2 * CHUNK_TOKENS), 1, { lr: 256 });
  t.equal(bytesToHex(fromStore.hash), bytesToHex(fromText.hash), 'the step on the fetched chunk is the step on the same bytes');
  t.ok(fromStore.lossSumQ16 !== 0);
});

t.test('a window\'s chunks come from its dataset: Brown from the bundled corpus, others by CID from the store', async (t) => {
  const work = tmp();
  writeFileSync(join(work, 'doc.txt'), documents(60, 11).join('\n'));
  const built = await buildDataset({ tokenizer: BYTE_TOKENIZER, files: [join(work, 'doc.txt')], outDir: join(work, 'ds'), heldoutPermille: 0 });
  const store = await FileBlockstore.open(join(work, 'store'));
  await publishDataset(join(work, 'ds'), store);
  const registry = new Map<bigint, { id: bigint; manifestCid: string; chunkCount: bigint }>([
    [1n, { id: 1n, manifestCid: BROWN_MANIFEST_CID, chunkCount: 2688n }],
    [2n, { id: 2n, manifestCid: built.cid, chunkCount: BigInt(built.manifest.train.chunks) }],
    [3n, { id: 3n, manifestCid: built.cid, chunkCount: BigInt(built.manifest.train.chunks) + 1n }],
  ]);
  const windows = new Map<bigint, bigint>([[10n, 0n], [11n, 1n], [12n, 2n], [13n, 3n]]);
  const asked: string[] = [];
  const chain = {
    async window(id: bigint) { asked.push(`window ${id}`); return { datasetId: windows.get(id)! }; },
    async dataset(id: bigint) { asked.push(`dataset ${id}`); return registry.get(id)!; },
  };
  const chunks = windowChunks(chain, store);
  const hex = (b: ChunkTokens) => Buffer.from(chunkBytes(b)).toString('hex');
  t.equal(hex(await chunks(5n, 10n)), hex(chunkAt(5).tokens), 'dataset 0: the Brown corpus');
  t.equal(hex(await chunks(2687n, 11n)), hex(chunkAt(2687).tokens), 'the registered Brown manifest: the bundled corpus, nothing fetched');
  await t.rejects(async () => chunks(2688n, 11n), { code: DataErrorCode.ChunkIndex });
  const utf8 = new TextEncoder().encode(documents(60, 11).join('\n'));
  const chunk = await chunks(2n, 12n);
  t.equal(hex(chunk), hex(utf8.subarray(2 * CHUNK_TOKENS, 3 * CHUNK_TOKENS)), 'dataset 2: fetched from the store by its manifest CID');
  await chunks(0n, 12n);
  t.same(asked.filter((a) => a === 'window 12' || a === 'dataset 2'), ['window 12', 'dataset 2'], 'window and dataset looked up once');
  await t.rejects(async () => chunks(0n, 13n), { code: DataErrorCode.DatasetMismatch, message: /registered/ }, 'a chain count above the manifest\'s is refused');
  const heldout = windowChunks(chain, store, 'heldout');
  t.equal(hex(await heldout(3n, 11n)), hex(chunkAt(3, 'heldout').tokens), 'held-out chunks of the Brown dataset');
  await t.rejects(async () => heldout(0n, 12n), { code: DataErrorCode.ChunkIndex }, 'dataset 2 holds nothing out (permille 0)');

  // The role's training job (roles/job.ts, on the compute thread) on that chunk: the same step
  // hashes as on the same bytes taken from the text.
  const { runTrainingJob } = await import('../src/roles/job.ts');
  const { cpuBackend } = await import('../src/backend.ts');
  const cfg: ModelConfig = { vocab: 256, dModel: 32, nLayers: 1, nHeads: 2, dFF: 64, seqLen: 64, loraRank: 4, seed: new Uint8Array(32).fill(6) };
  const model = { identity: { version: 1n, backbone: { seed: cfg.seed }, cfg }, backbone: generateBackbone(cfg) };
  const backend = cpuBackend();
  try {
    const fromDataset = await runTrainingJob({ model, chunk, steps: 2, lr: 256, backend });
    const fromText = await runTrainingJob({ model, chunk: utf8.slice(2 * CHUNK_TOKENS, 3 * CHUNK_TOKENS), steps: 2, lr: 256, backend });
    t.same(fromDataset.stepHashes.map(bytesToHex), fromText.stepHashes.map(bytesToHex));
    t.ok(fromDataset.lossAfter < fromDataset.lossBefore, `it learns: loss ${fromDataset.lossBefore} → ${fromDataset.lossAfter}`);
  } finally {
    backend.close();
  }
});

t.test('the binary: dataset build prints the CID with a progress bar on stderr; inspect verifies; bad input is one error line', async (t) => {
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  const { fileURLToPath } = await import('node:url');
  const bin = fileURLToPath(new URL('../bin/r3mes-worker', import.meta.url));
  const run = async (args: string[]) => {
    try {
      const r = await promisify(execFile)(bin, args, { timeout: 120_000 });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };
  const work = tmp();
  writeTokenizerDir(join(work, 'tok'));
  const { files } = writeInputs(work);
  const built = await run(['dataset', 'build', '--tokenizer', join(work, 'tok'), '--out', join(work, 'ds'), '--held-out-permille', '200', '--shard-tokens', '4096', ...files]);
  t.equal(built.code, 0, built.stderr);
  const summary = JSON.parse(built.stdout) as { cid: string; train: { chunks: number }; heldout: { chunks: number }; vocabSize: number };
  const inProcess = await buildDataset({ tokenizer: await loadTokenizer(join(work, 'tok')), files, outDir: join(work, 'same'), heldoutPermille: 200, shardTokens: 4096 });
  t.equal(summary.cid, inProcess.cid, 'the CLI and the library build the same dataset');
  t.equal(summary.train.chunks, inProcess.manifest.train.chunks);
  t.match(built.stderr, /dataset build \[#{24}\] 100% /, 'a finished progress bar on stderr');
  const inspected = await run(['dataset', 'inspect', join(work, 'ds')]);
  t.equal(inspected.code, 0, inspected.stderr);
  t.match(JSON.parse(inspected.stdout), { cid: inProcess.cid, verified: true, vocabSize: 278 });
  t.match(inspected.stderr, /dataset verify \[#{24}\] 100% \d+\/\d+ files/);
  const bad = join(work, 'bad.jsonl');
  writeFileSync(bad, '{"text":"a"}\n{"text":"b"}\n{"txt":"c"}\n');
  const failed = await run(['dataset', 'build', '--tokenizer', join(work, 'tok'), '--out', join(work, 'bad'), bad]);
  t.equal(failed.code, 1);
  t.match(failed.stderr, `error [data/5]: ${bad} line 3: field "text" is missing`);
  // verify --dataset: a delta trained on chunk 1 of a byte dataset re-executes from the directory.
  const text = documents(40, 5).join('\n');
  writeFileSync(join(work, 'bytes.txt'), text);
  const bytesDs = await buildDataset({ tokenizer: BYTE_TOKENIZER, files: [join(work, 'bytes.txt')], outDir: join(work, 'bytes-ds'), heldoutPermille: 0 });
  t.ok(bytesDs.manifest.train.chunks >= 2);
  const chunk1 = await (await ManifestDataset.fromDir(join(work, 'bytes-ds'))).byteChunk(1);
  const { runTrainingJob } = await import('../src/roles/job.ts');
  const { cpuBackend } = await import('../src/backend.ts');
  const { adapterDelta, encodeDelta } = await import('../src/output/delta.ts');
  const { chunkHash } = await import('../src/data/chunk.ts');
  const seed = new Uint8Array(32).fill(13);
  const cfg: ModelConfig = { vocab: 256, dModel: 16, nLayers: 1, nHeads: 2, dFF: 16, seqLen: 16, loraRank: 4, seed };
  const identity = { version: 1n, backbone: { seed }, cfg };
  const backend = cpuBackend();
  const job = await runTrainingJob({ model: { identity, backbone: generateBackbone(cfg) }, chunk: chunk1, steps: 1, lr: 256, backend });
  backend.close();
  const delta = await encodeDelta(adapterDelta(job.initial, job.final), {
    model: identity, miner: 'r3mes1x', window: 1n, ordinal: 0n, chunkIndex: 1n, chunkHash: chunkHash(chunk1), backend: 'cpu', lr: 256,
    stepHashes: job.stepHashes, lossBefore: job.lossBefore, lossAfter: job.lossAfter,
  });
  writeFileSync(join(work, 'delta'), delta.bytes);
  const fromDir = await run(['verify', '--delta', join(work, 'delta'), '--dataset', join(work, 'bytes-ds'), '--backend', 'cpu']);
  t.equal(fromDir.code, 0, fromDir.stderr);
  t.equal((JSON.parse(fromDir.stdout) as { match: boolean }).match, true, 'chunk 1 (named by the delta) read from --dataset');
  const fromBrown = await run(['verify', '--delta', join(work, 'delta'), '--backend', 'cpu']);
  t.equal(fromBrown.code, 1, 'without --dataset the Brown chunk 1 is another chunk');
  t.match(fromBrown.stderr, /not on the chunk given/);

  writeFileSync(join(work, 'ds', 'train-00000.u32'), 'tampered');
  const tampered = await run(['dataset', 'inspect', join(work, 'ds')]);
  t.equal(tampered.code, 1);
  t.match(tampered.stderr, /error \[data\/8\]: .*train-00000\.u32 is 8 bytes; the manifest says 16384/);
});
