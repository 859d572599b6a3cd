import t from 'tap';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CID } from 'multiformats/cid';
import { FileBlockstore } from '../src/storage/blockstore.ts';
import { cidOf } from '../src/storage/cid.ts';
import { StorageErrorCode } from '../src/storage/errors.ts';
import { importFile } from '../src/storage/unixfs.ts';

const bytesOf = (text: string) => new TextEncoder().encode(text);

async function allFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

t.test('put, has and get round trip under the content CID', async (t) => {
  const root = t.testdir();
  const store = await FileBlockstore.open(root);
  const bytes = bytesOf('lora delta bytes');
  const expected = await cidOf(bytes);
  t.equal(await store.has(expected), false);
  const cid = await store.put(bytes);
  t.ok(cid.equals(expected), 'put returns the content CID');
  t.equal(await store.has(cid), true);
  t.same(Buffer.from(await store.get(cid)), Buffer.from(bytes));
  t.ok((await store.get(cid)).constructor === Uint8Array, 'a plain Uint8Array, not a Buffer');
  t.ok((await store.put(bytes)).equals(cid), 'put again is idempotent');
  t.equal(store.pathOf(cid), join(root, 'blocks', cid.toString().slice(-3, -1), cid.toString()));
  t.same(await allFiles(root), [store.pathOf(cid)], 'one file, no temp files left behind');

  const empty = await store.put(new Uint8Array(0));
  t.equal(empty.toString(), 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku');
  t.equal((await store.get(empty)).length, 0);

  const reopened = await FileBlockstore.open(root);
  t.same(Buffer.from(await reopened.get(cid)), Buffer.from(bytes), 'survives reopening');
});

t.test('unknown and foreign CIDs', async (t) => {
  const store = await FileBlockstore.open(t.testdir());
  const absent = await cidOf(bytesOf('never stored'));
  await t.rejects(store.get(absent), { name: 'StorageError', code: StorageErrorCode.NotFound, message: /not found/ });
  const dagPb = CID.createV1(0x70, absent.multihash);
  await t.rejects(store.get(dagPb), { code: StorageErrorCode.NotFound }, 'an absent UnixFS root');
  t.equal(await store.has(dagPb), false);
  const dagCbor = CID.createV1(0x71, absent.multihash);
  await t.rejects(store.get(dagCbor), { code: StorageErrorCode.InvalidCid });
  await t.rejects(store.has(dagCbor), { code: StorageErrorCode.InvalidCid });
});

t.test('bytes tampered with on disk are rejected on read', async (t) => {
  const store = await FileBlockstore.open(t.testdir());
  const bytes = bytesOf('the honest gradient');
  const cid = await store.put(bytes);
  const path = store.pathOf(cid);

  const flipped = Uint8Array.from(await readFile(path));
  flipped[3] ^= 0x40;
  await writeFile(path, flipped);
  await t.rejects(store.get(cid), {
    name: 'StorageError',
    code: StorageErrorCode.IntegrityMismatch,
    message: new RegExp(`blockstore file .*: 19 bytes hash to bafkrei\\w+, not to the requested ${cid}; rejected`),
  }, 'one flipped bit');

  await writeFile(path, bytes.subarray(0, 10));
  await t.rejects(store.get(cid), { code: StorageErrorCode.IntegrityMismatch }, 'truncated');

  await writeFile(path, bytesOf('an entirely different block'));
  await t.rejects(store.get(cid), { code: StorageErrorCode.IntegrityMismatch }, 'replaced');

  t.equal(await store.has(cid), true, 'has() only looks for the file');
  await store.put(bytes);
  t.same(Buffer.from(await store.get(cid)), Buffer.from(bytes), 'a fresh put repairs the block');
});

t.test('size limits on put and on read', async (t) => {
  const store = await FileBlockstore.open(t.testdir(), { maxBytes: 16 });
  t.ok(await store.put(new Uint8Array(16)), 'exactly at the limit');
  await t.rejects(store.put(new Uint8Array(17)), {
    code: StorageErrorCode.TooLarge,
    message: /content is 17 bytes, over the limit of 16/,
  });
  // A planted oversized file is refused before it is read into memory.
  const small = bytesOf('small');
  const cid = await store.put(small);
  await writeFile(store.pathOf(cid), new Uint8Array(1000));
  await t.rejects(store.get(cid), { code: StorageErrorCode.TooLarge, message: /stored block .* is 1000 bytes/ });
});

t.test('content over 1 MiB is stored as its UnixFS blocks and read back through them', async (t) => {
  const root = t.testdir();
  const store = await FileBlockstore.open(root);
  const bytes = Uint8Array.from({ length: 2.5 * 1024 * 1024 }, (_, i) => (i * 7 + (i >> 12) + (i >> 20)) & 0xff);
  const { root: expected, blocks } = await importFile(bytes);
  const cid = await store.put(bytes);
  t.ok(cid.equals(expected) && cid.equals(await cidOf(bytes)), 'put returns the UnixFS root');
  t.equal(cid.code, 0x70);
  t.same((await allFiles(root)).sort(), blocks.map((b) => store.pathOf(b.cid)).sort(), 'one file per block: 3 leaves and the root');
  t.equal(await store.has(cid), true);
  t.same(Buffer.from(await store.get(cid)), Buffer.from(bytes));
  t.same(Buffer.from(await store.get(blocks[2].cid)), Buffer.from(bytes.subarray(2 * 1024 * 1024)), 'a leaf is itself content (its raw CID)');

  const leaf = store.pathOf(blocks[1].cid);
  const flipped = Uint8Array.from(await readFile(leaf));
  flipped[0] ^= 1;
  await writeFile(leaf, flipped);
  await t.rejects(store.get(cid), { code: StorageErrorCode.IntegrityMismatch, message: new RegExp(`blockstore file ${leaf}: 1048576 bytes hash to bafkrei\\w+, not to the requested ${blocks[1].cid}`) }, 'a tampered leaf');
  await rm(leaf);
  await t.rejects(store.get(cid), { code: StorageErrorCode.NotFound, message: new RegExp(`${blocks[1].cid} not found`) }, 'a missing leaf');
  await store.put(bytes);
  t.same(Buffer.from(await store.get(cid)), Buffer.from(bytes), 'a fresh put repairs it');

  const limited = await FileBlockstore.open(root, { maxBytes: 2 * 1024 * 1024 });
  await t.rejects(limited.get(cid), { code: StorageErrorCode.TooLarge, message: /2621440 bytes, over the limit of 2097152/ });
});

t.test('concurrent puts of the same and different blocks', async (t) => {
  const store = await FileBlockstore.open(t.testdir());
  const blocks = Array.from({ length: 20 }, (_, i) => bytesOf(`block ${i % 5}`));
  const cids = await Promise.all(blocks.map((bytes) => store.put(bytes)));
  for (let i = 0; i < blocks.length; i++) {
    t.same(Buffer.from(await store.get(cids[i])), Buffer.from(blocks[i]));
  }
  t.equal((await allFiles(store.root)).length, 5, 'five distinct blocks, no temp files');
});
