// The one way we turn content into IPFS blocks, and back: the UnixFS import profile
// `unixfs-v1-2025` of IPIP-499 (https://specs.ipfs.tech/ipips/ipip-0499/), which is what
// `ipfs add --cid-version=1 --raw-leaves --chunker=size-1048576 --max-file-links=1024` (balanced
// layout, sha2-256) gives on Kubo, and what Kubo's `unixfs-v1-2025` config profile sets:
//
//   - the content is cut into 1 MiB chunks (the last one shorter), each stored as a raw block
//     (CIDv1, codec raw 0x55, sha2-256);
//   - content of at most one chunk (the empty content included) is that one raw block: its CID is
//     the raw CID of the bytes, exactly as before UnixFS (`bafkrei…`);
//   - longer content gets a balanced tree of dag-pb (0x70) UnixFS `file` nodes of at most 1024
//     links each, all leaves at the same depth, filled left to right; its root is the CID
//     (`bafybei…`). One level holds up to 1 GiB, two levels 1 TiB.
//
// Every choice is fixed, so the same bytes always give the same CID, here and on any Kubo node
// (checked against a real Kubo in test/storage-kubo.test.ts). Reading walks the tree from the
// root, re-hashes every block against the CID that named it, and refuses anything outside this
// profile; the caller then re-imports the bytes and compares roots, so only the canonical DAG of
// the content is ever accepted.
//
// Encoding uses @ipld/dag-pb (the DAG-PB codec) and ipfs-unixfs (the UnixFS Data message), both
// maintained by the IPFS project; the layout itself is the few lines below rather than
// ipfs-unixfs-importer, which would bring directory sharding, rabin chunking and async batching
// we never use.

import * as dagPb from '@ipld/dag-pb';
import { UnixFS } from 'ipfs-unixfs';
import { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';
import { sha256 } from 'multiformats/hashes/sha2';
import { StorageError, StorageErrorCode } from './errors.ts';

/** Chunk size of the profile: 1 MiB, Kubo's largest chunk and its block size limit for `block put`. */
export const CHUNK_BYTES = 1024 * 1024;
/** Largest number of links in one UnixFS file node. */
export const MAX_FILE_LINKS = 1024;
/** Largest block we read or write: a chunk, or a file node of 1024 links (about 42 KB). */
export const MAX_BLOCK_BYTES = CHUNK_BYTES;
/** Deepest tree we follow: 1 MiB × 1024^4 is more than any store allows. */
const MAX_DEPTH = 4;

export const RAW_CODE = raw.code; // 0x55
export const DAG_PB_CODE = dagPb.code; // 0x70

export interface Block {
  cid: CID;
  bytes: Uint8Array;
}

export interface ImportedFile {
  /** The content's CID: the raw leaf for at most one chunk, else the dag-pb root. */
  root: CID;
  /** Every block, children before parents, the root last (a store that writes them in this order has the root only once it has all). */
  blocks: Block[];
}

export interface ImportOptions {
  /** For tests of the layout only (deep trees from small inputs): any other value is not our profile. Default CHUNK_BYTES. */
  chunkBytes?: number;
  /** For tests of the layout only. Default MAX_FILE_LINKS. */
  maxLinks?: number;
}

/** Imports `bytes` with the profile; the blocks are views into `bytes` and fresh node encodings. */
export async function importFile(bytes: Uint8Array, options: ImportOptions = {}): Promise<ImportedFile> {
  const chunkBytes = options.chunkBytes ?? CHUNK_BYTES;
  const maxLinks = options.maxLinks ?? MAX_FILE_LINKS;
  if (!(chunkBytes >= 1 && maxLinks >= 2)) throw new RangeError('importFile: chunkBytes must be ≥ 1 and maxLinks ≥ 2');
  const blocks: Block[] = [];
  let level: TreeNode[] = [];
  for (let at = 0; at < bytes.length || at === 0; at += chunkBytes) {
    const chunk = bytes.subarray(at, Math.min(at + chunkBytes, bytes.length));
    const cid = CID.createV1(RAW_CODE, await sha256.digest(chunk));
    blocks.push({ cid, bytes: chunk });
    level.push({ cid, fileSize: chunk.length, dagSize: chunk.length });
    if (bytes.length === 0) break;
  }
  level = await buildTree(level, maxLinks, (block) => blocks.push(block));
  return { root: level[0].cid, blocks };
}

/** A leaf or node of the tree: what its parent's link records. */
export interface TreeNode {
  cid: CID;
  /** Content bytes below this node. */
  fileSize: number;
  /** Serialized bytes of this node and everything below it (dag-pb's Tsize). */
  dagSize: number;
}

/**
 * Builds the balanced file-node levels above `leaves` (the raw leaves, left to right) and returns
 * the one-node top level; `onBlock` receives each node, children before parents.
 */
export async function buildTree(leaves: TreeNode[], maxLinks: number, onBlock: (block: Block) => void): Promise<TreeNode[]> {
  let level = leaves;
  while (level.length > 1) {
    const parents: TreeNode[] = [];
    for (let i = 0; i < level.length; i += maxLinks) {
      const children = level.slice(i, i + maxLinks);
      const data = new UnixFS({ type: 'file', blockSizes: children.map((c) => BigInt(c.fileSize)) }).marshal();
      const node = dagPb.encode({ Data: data, Links: children.map((c) => ({ Hash: c.cid, Name: '', Tsize: c.dagSize })) });
      const cid = CID.createV1(DAG_PB_CODE, await sha256.digest(node));
      onBlock({ cid, bytes: node });
      parents.push({
        cid,
        fileSize: children.reduce((sum, c) => sum + c.fileSize, 0),
        dagSize: node.length + children.reduce((sum, c) => sum + c.dagSize, 0),
      });
    }
    level = parents;
  }
  return level;
}

function invalidDag(message: string): StorageError {
  return new StorageError(StorageErrorCode.IntegrityMismatch, message);
}

/** Throws IntegrityMismatch unless `bytes` hash (sha2-256) to the digest in `cid`. */
export async function verifyBlock(cid: CID, bytes: Uint8Array, source: string): Promise<void> {
  const digest = await sha256.digest(bytes);
  const want = cid.multihash.digest;
  if (digest.digest.length !== want.length || !digest.digest.every((b, i) => b === want[i])) {
    const actual = CID.createV1(cid.code, digest);
    throw invalidDag(`${source}: ${bytes.length} bytes hash to ${actual}, not to the requested ${cid}; rejected`);
  }
}

export interface ExportOptions {
  /**
   * Where the blocks come from; each is re-hashed here against its CID. `limit` is the most
   * bytes the block may have: a store should refuse a larger one before reading it.
   */
  getBlock: (cid: CID, limit: number) => Promise<Uint8Array>;
  /** Largest content assembled; a root that declares more is refused before any leaf is read. */
  maxBytes: number;
  /** Names the source of a block in errors. */
  source: (cid: CID) => string;
}

/**
 * Reassembles the content under `root` (a raw block, or a UnixFS file tree of this profile's
 * shape: file nodes without inline data whose block sizes match their links, raw leaves).
 * Verifies every block's hash; throws IntegrityMismatch on any block or shape that does not fit,
 * TooLarge above `maxBytes`.
 */
export async function exportFile(root: CID, options: ExportOptions): Promise<Uint8Array> {
  const source = options.source(root);
  const readBlock = async (cid: CID, limit: number): Promise<Uint8Array> => {
    const bytes = await options.getBlock(cid, limit);
    if (bytes.length > limit) {
      throw new StorageError(StorageErrorCode.TooLarge, `${options.source(cid)}: block ${cid} is ${bytes.length} bytes, over the limit of ${limit}`);
    }
    await verifyBlock(cid, bytes, options.source(cid));
    return bytes;
  };

  if (root.code === RAW_CODE) return readBlock(root, Math.min(options.maxBytes, MAX_BLOCK_BYTES));

  let out: Uint8Array | undefined;
  let written = 0;
  const visit = async (cid: CID, expectedSize: number | undefined, depth: number): Promise<void> => {
    if (cid.code === RAW_CODE) {
      // A leaf larger than its parent says breaks the tree, whatever a store's limit calls it.
      const leaf = await readBlock(cid, Math.min(expectedSize ?? 0, MAX_BLOCK_BYTES)).catch((err: unknown) => {
        throw err instanceof StorageError && err.code === StorageErrorCode.TooLarge
          ? invalidDag(`${source}: leaf ${cid} is larger than the ${expectedSize} bytes its parent says`) : err;
      });
      if (leaf.length !== expectedSize) throw invalidDag(`${source}: leaf ${cid} is ${leaf.length} bytes where its parent says ${expectedSize}`);
      out!.set(leaf, written);
      written += leaf.length;
      return;
    }
    if (cid.code !== DAG_PB_CODE || cid.version !== 1) throw invalidDag(`${source}: ${cid} in the tree of ${root} is neither a raw block nor a dag-pb node`);
    if (depth >= MAX_DEPTH) throw invalidDag(`${source}: the tree of ${root} is deeper than ${MAX_DEPTH} levels`);
    const bytes = await readBlock(cid, MAX_BLOCK_BYTES);
    let node: dagPb.PBNode;
    let file: UnixFS;
    try {
      node = dagPb.decode(bytes);
      if (node.Data === undefined) throw new Error('no UnixFS data');
      file = UnixFS.unmarshal(node.Data);
    } catch (cause) {
      throw invalidDag(`${source}: ${cid} is not a UnixFS node: ${(cause as Error).message}`);
    }
    if (file.type !== 'file') throw invalidDag(`${source}: ${cid} is a UnixFS ${file.type}, not a file`);
    if (file.data !== undefined && file.data.length > 0) throw invalidDag(`${source}: ${cid} holds inline data, which this profile never writes`);
    if (node.Links.length === 0 || node.Links.length > MAX_FILE_LINKS || file.blockSizes.length !== node.Links.length) {
      throw invalidDag(`${source}: ${cid} has ${node.Links.length} links and ${file.blockSizes.length} block sizes`);
    }
    const size = file.fileSize();
    if (depth === 0) {
      if (size > BigInt(options.maxBytes)) throw new StorageError(StorageErrorCode.TooLarge, `${source}: ${root} is ${size} bytes, over the limit of ${options.maxBytes}`);
      out = new Uint8Array(Number(size));
    } else if (size !== BigInt(expectedSize ?? -1)) {
      throw invalidDag(`${source}: ${cid} holds ${size} bytes where its parent says ${expectedSize}`);
    }
    for (let i = 0; i < node.Links.length; i++) {
      const childSize = Number(file.blockSizes[i]);
      if (written + childSize > out!.length) throw invalidDag(`${source}: the block sizes under ${root} add up to more than its ${out!.length} bytes`);
      await visit(node.Links[i].Hash, childSize, depth + 1);
    }
  };
  await visit(root, undefined, 0);
  if (written !== out!.length) throw invalidDag(`${source}: the leaves under ${root} hold ${written} bytes, not the ${out!.length} it declares`);
  return out!;
}
