// The embedded blockstore: one file per CID under `<root>/blocks/<shard>/<cid>`.
//
// Files rather than LevelDB because blocks are adapter deltas of megabytes, written once and
// read whole: LevelDB would copy every such value again at each compaction, while a file is
// written once, and a temp-file + fsync + rename makes each put atomic (a crash leaves either
// the whole block or none). It also keeps bulky blobs out of the chain's state database.
// The shard is the two characters before the CID's last one, as Kubo's flatfs does, to keep
// directories small. Nothing here is trusted on read: every get re-hashes the file.

import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { CID } from 'multiformats/cid';
import { assertContentCid, cidOf, verifyBytes } from './cid.ts';
import type { ContentStore } from './content-store.ts';
import { StorageError, StorageErrorCode } from './errors.ts';

export interface BlockstoreOptions {
  /** Largest block accepted by put and served by get. Default 256 MiB. */
  maxBlockBytes?: number;
}

export const DEFAULT_MAX_BLOCK_BYTES = 256 * 1024 * 1024;

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}

export class FileBlockstore implements ContentStore {
  readonly maxBlockBytes: number;
  private readonly blocksDir: string;

  private constructor(readonly root: string, options: BlockstoreOptions) {
    this.maxBlockBytes = options.maxBlockBytes ?? DEFAULT_MAX_BLOCK_BYTES;
    this.blocksDir = join(root, 'blocks');
  }

  /** Opens (creating if needed) a blockstore rooted at `root`. */
  static async open(root: string, options: BlockstoreOptions = {}): Promise<FileBlockstore> {
    const store = new FileBlockstore(root, options);
    await mkdir(store.blocksDir, { recursive: true });
    return store;
  }

  /** Where the block for `cid` lives on disk (exposed for tests and operators). */
  pathOf(cid: CID): string {
    assertContentCid(cid);
    const text = cid.toString();
    return join(this.blocksDir, text.slice(-3, -1), text);
  }

  private tooLarge(size: number, what: string): StorageError {
    return new StorageError(
      StorageErrorCode.TooLarge,
      `blockstore: ${what} is ${size} bytes, over the limit of ${this.maxBlockBytes}`,
    );
  }

  async put(bytes: Uint8Array): Promise<CID> {
    if (bytes.length > this.maxBlockBytes) throw this.tooLarge(bytes.length, 'block');
    const cid = await cidOf(bytes);
    const path = this.pathOf(cid);
    // Always rewrite, even when present: puts are rare and this repairs a damaged copy.
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
    return cid;
  }

  async get(cid: CID): Promise<Uint8Array> {
    const path = this.pathOf(cid);
    let size: number;
    try {
      size = (await stat(path)).size;
    } catch (err) {
      if (isNotFound(err)) throw new StorageError(StorageErrorCode.NotFound, `blockstore: ${cid} not found`);
      throw err;
    }
    // Checked before reading so a planted huge file cannot exhaust memory.
    if (size > this.maxBlockBytes) throw this.tooLarge(size, `stored block ${cid}`);
    const file = await readFile(path);
    // A plain Uint8Array over the same memory: a Buffer's slice() would surprise callers.
    const bytes = new Uint8Array(file.buffer, file.byteOffset, file.byteLength);
    await verifyBytes(cid, bytes, `blockstore file ${path}`);
    return bytes;
  }

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
