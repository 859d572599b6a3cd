// A dataset named by its manifest CID: chunks read from its shards, from a directory or from a
// content store (each shard fetched by CID, so the store re-hashes it). README.md "Datasets".

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ContentStore } from '../storage/content-store.ts';
import { cidOf, parseCid } from '../storage/cid.ts';
import { CHUNK_TOKENS } from './chunk.ts';
import { DataError, DataErrorCode } from './errors.ts';
import { type DatasetManifest, decodeShard, MANIFEST_FILE, parseManifest, type ShardEntry, type SplitName } from './manifest.ts';

/** Where shard bytes come from: a directory (checked against the manifest CIDs) or a store. */
export interface ShardSource {
  readShard(entry: ShardEntry): Promise<Uint8Array>;
  readonly describe: string;
}

const mismatch = (message: string) => new DataError(DataErrorCode.DatasetMismatch, message);

export function dirSource(dir: string): ShardSource {
  return {
    describe: dir,
    async readShard(entry) {
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(readFileSync(join(dir, entry.file)));
      } catch (cause) {
        throw new DataError(DataErrorCode.DatasetMismatch, `cannot read shard ${entry.file} of ${dir}: ${(cause as Error).message}`, { cause });
      }
      if (bytes.length !== entry.bytes) throw mismatch(`${join(dir, entry.file)} is ${bytes.length} bytes; the manifest says ${entry.bytes}`);
      const cid = (await cidOf(bytes)).toString();
      if (cid !== entry.cid) throw mismatch(`${join(dir, entry.file)} has CID ${cid}; the manifest says ${entry.cid}`);
      return bytes;
    },
  };
}

export function storeSource(store: ContentStore, describe = 'the content store'): ShardSource {
  return {
    describe,
    async readShard(entry) {
      // The store re-hashes what it returns against the CID.
      const bytes = await store.get(parseCid(entry.cid));
      if (bytes.length !== entry.bytes) throw mismatch(`shard ${entry.file} (${entry.cid}) is ${bytes.length} bytes; the manifest says ${entry.bytes}`);
      return bytes;
    },
  };
}

export class ManifestDataset {
  private cache: { file: string; tokens: Uint32Array }[] = [];

  constructor(readonly manifest: DatasetManifest, readonly cid: string, private readonly source: ShardSource) {}

  /** Opens `dir`/manifest.json; shards are read from `dir` and checked against their CIDs. */
  static async fromDir(dir: string): Promise<ManifestDataset> {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(readFileSync(join(dir, MANIFEST_FILE)));
    } catch (cause) {
      throw new DataError(DataErrorCode.InvalidManifest, `cannot read ${join(dir, MANIFEST_FILE)}: ${(cause as Error).message}`, { cause });
    }
    const manifest = parseManifest(bytes, join(dir, MANIFEST_FILE));
    return new ManifestDataset(manifest, (await cidOf(bytes)).toString(), dirSource(dir));
  }

  /** Fetches the manifest `cid` from `store`; shards are fetched by CID on first use. */
  static async fromStore(store: ContentStore, cid: string): Promise<ManifestDataset> {
    const bytes = await store.get(parseCid(cid));
    return new ManifestDataset(parseManifest(bytes, `manifest ${cid}`), cid, storeSource(store));
  }

  chunkCount(split: SplitName = 'train'): number {
    return this.manifest[split].chunks;
  }

  private async shardTokens(entry: ShardEntry): Promise<Uint32Array> {
    const hit = this.cache.find((c) => c.file === entry.file);
    if (hit !== undefined) return hit.tokens;
    const tokens = decodeShard(await this.source.readShard(entry), this.manifest.vocab_size, entry.file);
    // Two shards at most stay decoded: chunks are drawn at random, a shard is up to 1 GiB.
    this.cache = [{ file: entry.file, tokens }, ...this.cache].slice(0, 2);
    return tokens;
  }

  /** Tokens [2048 i, 2048 (i + 1)) of the split's stream: one shard holds them (shard_tokens is a multiple of 2048). */
  async chunk(index: number, split: SplitName = 'train'): Promise<Uint32Array> {
    const count = this.chunkCount(split);
    if (!Number.isSafeInteger(index) || index < 0 || index >= count) {
      throw new DataError(DataErrorCode.ChunkIndex, `chunk index ${index} is outside the ${split} split's 0..${count - 1} of dataset ${this.cid}`);
    }
    const start = index * CHUNK_TOKENS;
    const shardIndex = Math.floor(start / this.manifest.shard_tokens);
    const tokens = await this.shardTokens(this.manifest[split].shards[shardIndex]);
    const at = start - shardIndex * this.manifest.shard_tokens;
    return tokens.slice(at, at + CHUNK_TOKENS);
  }

  /** A chunk as byte tokens, for the byte-level models (vocabulary ≤ 256). */
  async byteChunk(index: number, split: SplitName = 'train'): Promise<Uint8Array> {
    if (this.manifest.vocab_size > 256) {
      throw new DataError(DataErrorCode.DatasetMismatch, `dataset ${this.cid} has a vocabulary of ${this.manifest.vocab_size}; byte tokens need at most 256`);
    }
    return Uint8Array.from(await this.chunk(index, split));
  }

  /** Reads every shard, checks its size, CID and token range; (done, total) shards as it goes. */
  async verify(onProgress?: (done: number, total: number) => void): Promise<void> {
    const all = [...this.manifest.train.shards, ...this.manifest.heldout.shards];
    onProgress?.(0, all.length);
    for (let i = 0; i < all.length; i++) {
      decodeShard(await this.source.readShard(all[i]), this.manifest.vocab_size, all[i].file);
      onProgress?.(i + 1, all.length);
    }
  }
}

/** Puts a dataset directory into `store` after checking it: the manifest, every shard, tokenizer.json. */
export async function publishDataset(dir: string, store: ContentStore): Promise<{ cid: string; files: number; bytes: number }> {
  const ds = await ManifestDataset.fromDir(dir);
  let files = 0;
  let bytes = 0;
  const put = async (data: Uint8Array, expect: string, name: string) => {
    const cid = (await store.put(data)).toString();
    if (cid !== expect) throw mismatch(`${name} was stored as ${cid}, not ${expect}`);
    files += 1;
    bytes += data.length;
  };
  for (const entry of [...ds.manifest.train.shards, ...ds.manifest.heldout.shards]) {
    await put(await dirSource(dir).readShard(entry), entry.cid, entry.file);
  }
  if (ds.manifest.tokenizer !== null) {
    await put(new Uint8Array(readFileSync(join(dir, ds.manifest.tokenizer.file))), ds.manifest.tokenizer.cid, ds.manifest.tokenizer.file);
  }
  await put(new Uint8Array(readFileSync(join(dir, MANIFEST_FILE))), ds.cid, MANIFEST_FILE);
  return { cid: ds.cid, files, bytes };
}
