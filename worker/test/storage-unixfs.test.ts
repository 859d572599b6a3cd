import t from 'tap';
import { createHash } from 'node:crypto';
import * as dagPb from '@ipld/dag-pb';
import { UnixFS } from 'ipfs-unixfs';
import { CID } from 'multiformats/cid';
import { sha256 } from 'multiformats/hashes/sha2';
import { StorageErrorCode } from '../src/storage/errors.ts';
import { type Block, CHUNK_BYTES, exportFile, importFile, MAX_FILE_LINKS } from '../src/storage/unixfs.ts';

/** Deterministic test inputs: sha256 counter stream. */
function inputOf(length: number, label: string): Uint8Array {
  const out = new Uint8Array(length);
  for (let block = 0; block * 32 < length; block++) {
    out.set(createHash('sha256').update(`${label}/${block}`).digest().subarray(0, Math.min(32, length - block * 32)), block * 32);
  }
  return out;
}

const mapOf = (blocks: Block[]) => new Map(blocks.map((b) => [b.cid.toString(), Uint8Array.from(b.bytes)]));

function exporter(blocks: Map<string, Uint8Array>, maxBytes = 1 << 30) {
  const reads: string[] = [];
  return {
    reads,
    options: {
      maxBytes,
      source: () => 'test',
      getBlock: async (cid: CID) => {
        reads.push(cid.toString());
        const bytes = blocks.get(cid.toString());
        if (!bytes) throw Object.assign(new Error(`${cid} not found`), { code: StorageErrorCode.NotFound });
        return bytes;
      },
    },
  };
}

t.test('profile constants are IPIP-499 unixfs-v1-2025', async (t) => {
  t.equal(CHUNK_BYTES, 1048576);
  t.equal(MAX_FILE_LINKS, 1024);
});

t.test('at most one chunk: one raw block, its CID the hash of the bytes', async (t) => {
  for (const length of [0, 1, CHUNK_BYTES]) {
    const bytes = inputOf(length, `one-${length}`);
    const { root, blocks } = await importFile(bytes);
    t.equal(blocks.length, 1, `${length} bytes: one block`);
    t.ok(root.equals(CID.createV1(0x55, await sha256.digest(bytes))), 'raw CID');
    t.same(Buffer.from(await exportFile(root, exporter(mapOf(blocks)).options)), Buffer.from(bytes));
  }
});

t.test('2.5 MiB: three raw leaves under one dag-pb file node', async (t) => {
  const bytes = inputOf(2.5 * CHUNK_BYTES, 'two-and-a-half');
  const { root, blocks } = await importFile(bytes);
  t.same(blocks.map((b) => b.bytes.length).slice(0, 3), [CHUNK_BYTES, CHUNK_BYTES, CHUNK_BYTES / 2], 'leaves of 1 MiB, 1 MiB, 0.5 MiB');
  t.ok(blocks.at(-1)!.cid.equals(root), 'the root comes last');
  t.equal(root.code, 0x70);
  const node = dagPb.decode(blocks.at(-1)!.bytes);
  t.same(node.Links.map((l) => [l.Hash.toString(), l.Name, l.Tsize]), blocks.slice(0, 3).map((b) => [b.cid.toString(), '', b.bytes.length]), 'links: leaf CID, empty name, Tsize = leaf size');
  const file = UnixFS.unmarshal(node.Data!);
  t.equal(file.type, 'file');
  t.same(file.blockSizes, [BigInt(CHUNK_BYTES), BigInt(CHUNK_BYTES), BigInt(CHUNK_BYTES / 2)]);
  t.equal(file.fileSize(), BigInt(bytes.length));
  t.same(Buffer.from(await exportFile(root, exporter(mapOf(blocks)).options)), Buffer.from(bytes), 'exported back');
  t.ok((await importFile(Uint8Array.from(bytes))).root.equals(root), 'deterministic');
});

t.test('deep trees (small chunks and fan-out, as a test of the balanced layout)', async (t) => {
  const bytes = inputOf(100, 'deep');
  const { root, blocks } = await importFile(bytes, { chunkBytes: 7, maxLinks: 3 });
  // 15 leaves → 5 nodes → 2 nodes → root: 15 + 5 + 2 + 1 blocks.
  t.equal(blocks.length, 23);
  t.same(Buffer.from(await exportFile(root, exporter(mapOf(blocks)).options)), Buffer.from(bytes));
  const rootNode = dagPb.decode(blocks.at(-1)!.bytes);
  t.equal(rootNode.Links.length, 2, 'the root has 2 children');
  t.same(UnixFS.unmarshal(rootNode.Data!).blockSizes, [63n, 37n], 'first child full (3 × 3 × 7 bytes), the rest in the second');
});

t.test('export re-hashes every block and refuses trees outside the profile', async (t) => {
  const bytes = inputOf(2.5 * CHUNK_BYTES, 'tamper');
  const { root, blocks } = await importFile(bytes);
  const leaf = blocks[1].cid.toString();

  const flipped = mapOf(blocks);
  flipped.get(leaf)![10] ^= 1;
  await t.rejects(exportFile(root, exporter(flipped).options), { code: StorageErrorCode.IntegrityMismatch, message: new RegExp(`hash to bafkrei\\w+, not to the requested ${leaf}`) }, 'a flipped bit in a leaf');

  const missing = mapOf(blocks);
  missing.delete(leaf);
  await t.rejects(exportFile(root, exporter(missing).options), { message: new RegExp(`${leaf} not found`) }, 'a missing leaf');

  const small = exporter(mapOf(blocks), 2 * CHUNK_BYTES);
  await t.rejects(exportFile(root, small.options), { code: StorageErrorCode.TooLarge, message: /2621440 bytes, over the limit of 2097152/ });
  t.same(small.reads, [root.toString()], 'refused from the root alone, before any leaf is read');

  // A well-formed dag-pb node of another kind, or whose sizes lie, is refused.
  const forge = async (data: Uint8Array, links: dagPb.PBLink[]) => {
    const node = dagPb.encode({ Data: data, Links: links });
    const cid = CID.createV1(0x70, await sha256.digest(node));
    const map = mapOf(blocks);
    map.set(cid.toString(), Uint8Array.from(node));
    return exportFile(cid, exporter(map).options);
  };
  const links = blocks.slice(0, 3).map((b) => ({ Hash: b.cid, Name: '', Tsize: b.bytes.length }));
  await t.rejects(forge(new UnixFS({ type: 'directory' }).marshal(), links), { code: StorageErrorCode.IntegrityMismatch, message: /UnixFS directory, not a file/ });
  await t.rejects(forge(new UnixFS({ type: 'file', blockSizes: [1n, 1n, 1n] }).marshal(), links), { code: StorageErrorCode.IntegrityMismatch, message: /larger than the 1 bytes its parent says/ }, 'block sizes that lie');
  await t.rejects(forge(new UnixFS({ type: 'file', data: Uint8Array.of(1), blockSizes: blocks.slice(0, 3).map((b) => BigInt(b.bytes.length)) }).marshal(), links), { message: /inline data/ });
});
