// The embedded blockstore: one file per block under `<root>/blocks/<shard>/<block CID>`.
//
// Content goes in as the blocks of its UnixFS import (unixfs.ts): one raw block for content of
// at most 1 MiB, else 1 MiB raw leaves plus the dag-pb file node(s) above them; so the store
// holds the same blocks under the same CIDs as a Kubo node that added the same bytes, and its
// gateway serves a UnixFS root CID as any IPFS gateway would.
//
// Files rather than LevelDB because blocks are up to a megabyte, written once and read whole:
// LevelDB would copy every such value again at each compaction, while a file is written once,
// and a temp-file + fsync + rename makes each block write atomic (a crash leaves either the
// whole block or none). The root block is written last, so a root on disk means a complete put.
// It also keeps bulky blobs out of the chain's state database. The shard is the two characters
// before the CID's last one, as Kubo's flatfs does, to keep directories small. Nothing here is
// trusted on read: every block is re-hashed, and the assembled content re-imported.

import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { CID } from 'multiformats/cid';
import { assertContentCid, verifyBytes } from './cid.ts';
import type { ContentStore } from './content-store.ts';
import { StorageError, StorageErrorCode } from './errors.ts';
import { DAG_PB_CODE, exportFile, importFile } from './unixfs.ts';

export interface BlockstoreOptions {
  /** Largest content accepted by put and assembled by get. Default 256 MiB. */
  maxBytes?: number;
}

export const DEFAULT_MAX_CONTENT_BYTES = 256 * 1024 * 1024;

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}

export class FileBlockstore implements ContentStore {
  readonly maxBytes: number;
  private readonly blocksDir: string;

  private constructor(readonly root: string, options: BlockstoreOptions) {
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_CONTENT_BYTES;
    this.blocksDir = join(root, 'blocks');
  }

  /** Opens (creating if needed) a blockstore rooted at `root`. */
  static async open(root: string, options: BlockstoreOptions = {}): Promise<FileBlockstore> {
    const store = new FileBlockstore(root, options);
    await mkdir(store.blocksDir, { recursive: true });
    return store;
  }

  /** Where the block named `cid` lives on disk (exposed for tests and operators). */
  pathOf(cid: CID): string {
    assertContentCid(cid);
    const text = cid.toString();
    return join(this.blocksDir, text.slice(-3, -1), text);
  }

  async put(bytes: Uint8Array): Promise<CID> {
    if (bytes.length > this.maxBytes) {
      throw new StorageError(StorageErrorCode.TooLarge, `blockstore: content is ${bytes.length} bytes, over the limit of ${this.maxBytes}`);
    }
    const { root, blocks } = await importFile(bytes);
    // Children first, root last. Always rewrite, even when present: puts are rare and this
    // repairs a damaged copy.
    for (const block of blocks) await this.writeBlock(block.cid, block.bytes);
    return root;
  }

  /** Writes one block atomically (temp file, fsync, rename). */
  private async writeBlock(cid: CID, bytes: Uint8Array): Promise<void> {
    const path = this.pathOf(cid);
    await mkdir(dirname(path), { recursive: true });
    const temp = `${path}.${randomUUID()}.tmp`;
    const handle = await open(temp, 'wx');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await rename(temp, path);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }

  /** Reads one block file, refusing one larger than `limit` before reading it (a planted huge file cannot exhaust memory). */
  private async readBlock(cid: CID, limit: number): Promise<Uint8Array> {
    const path = this.pathOf(cid);
    let size: number;
    try {
      size = (await stat(path)).size;
    } catch (err) {
      if (isNotFound(err)) throw new StorageError(StorageErrorCode.NotFound, `blockstore: ${cid} not found`);
      throw err;
    }
    if (size > limit) throw new StorageError(StorageErrorCode.TooLarge, `blockstore: stored block ${cid} is ${size} bytes, over the limit of ${limit}`);
    const file = await readFile(path);
    // A plain Uint8Array over the same memory: a Buffer's slice() would surprise callers.
    return new Uint8Array(file.buffer, file.byteOffset, file.byteLength);
  }

  async get(cid: CID): Promise<Uint8Array> {
    assertContentCid(cid);
    const bytes = await exportFile(cid, {
      getBlock: (block, limit) => this.readBlock(block, limit),
      maxBytes: this.maxBytes,
      source: (block) => `blockstore file ${this.pathOf(block)}`,
    });
    // Every block matched its CID; re-importing also refuses a tree of another shape than ours.
    if (cid.code === DAG_PB_CODE) await verifyBytes(cid, bytes, `blockstore ${cid}`);
    return bytes;
  }

  /** True when the root block of `cid` is on disk (put writes it last). */
  async has(cid: CID): Promise<boolean> {
    try {
      await stat(this.pathOf(cid));
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }
}
