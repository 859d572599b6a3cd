// The Brown corpus (brown.ts, corpus.ts) as a dataset manifest: the genesis dataset of the
// byte-level model. Token = byte value, no tokenizer file, no separator (files run on as one
// text), held-out split by file name. Its train stream is exactly corpus.ts's stream, so chunk i
// of this dataset is corpus.ts's chunk i byte for byte and every training hash stays the same.

import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cidOf } from '../storage/cid.ts';
import { CHUNK_TOKENS } from './chunk.ts';
import { brownCorpusDir, brownFileNames, splitOf } from './brown.ts';
import { tokenStream } from './corpus.ts';
import {
  canonicalManifestBytes, DEFAULT_SHARD_TOKENS, type DatasetManifest, encodeShard, MANIFEST_FORMAT, shardFileName, type ShardEntry,
  type SplitEntry, type SplitName,
} from './manifest.ts';

/** The Brown dataset's manifest CID (the genesis dataset; the test checks brownDataset() gives it). */
export const BROWN_MANIFEST_CID = 'bafkreic6s42hokkcmasjqv3mwkmtioy6frj3khpvb6tak3sgh2ggryzr6q';

export interface BrownDataset {
  readonly manifest: DatasetManifest;
  readonly manifestBytes: Uint8Array;
  readonly cid: string;
  /** File name → bytes, for every shard. */
  readonly files: ReadonlyMap<string, Uint8Array>;
}

let built: Promise<BrownDataset> | undefined;

async function split(name: SplitName, documents: number, files: Map<string, Uint8Array>): Promise<SplitEntry> {
  const stream = tokenStream(name);
  const shards: ShardEntry[] = [];
  for (let start = 0, i = 0; start < stream.length; start += DEFAULT_SHARD_TOKENS, i++) {
    const bytes = encodeShard(Uint32Array.from(stream.subarray(start, start + DEFAULT_SHARD_TOKENS)));
    const file = shardFileName(name, i);
    files.set(file, bytes);
    shards.push({ file, tokens: bytes.length / 4, bytes: bytes.length, cid: (await cidOf(bytes)).toString() });
  }
  return { documents, tokens: stream.length, chunks: Math.floor(stream.length / CHUNK_TOKENS), shards };
}

/** Builds (once per process) the Brown dataset: manifest, its CID, the shard files. */
export function brownDataset(): Promise<BrownDataset> {
  built ??= (async () => {
    const names = brownFileNames(brownCorpusDir());
    const heldoutFiles = names.filter((n) => splitOf(n) === 'heldout').length;
    const files = new Map<string, Uint8Array>();
    const train = await split('train', names.length - heldoutFiles, files);
    const heldout = await split('heldout', heldoutFiles, files);
    const manifest: DatasetManifest = {
      format: MANIFEST_FORMAT, chunk_tokens: CHUNK_TOKENS, shard_tokens: DEFAULT_SHARD_TOKENS, token_encoding: 'uint32le', vocab_size: 256,
      tokenizer: null, separator: null, split_rule: { kind: 'brown-file-name' }, train, heldout,
    };
    const manifestBytes = canonicalManifestBytes(manifest);
    return { manifest, manifestBytes, cid: (await cidOf(manifestBytes)).toString(), files };
  })();
  return built;
}

/** Writes the Brown dataset directory (manifest.json and its shards) into an empty or absent `dir`. */
export async function writeBrownDataset(dir: string): Promise<{ cid: string; dir: string; trainChunks: number; heldoutChunks: number }> {
  mkdirSync(dir, { recursive: true });
  if (readdirSync(dir).length > 0) throw new Error(`--out ${dir} is not empty; a dataset is written into an empty directory`);
  const b = await brownDataset();
  for (const [file, bytes] of b.files) writeFileSync(join(dir, file), bytes);
  writeFileSync(join(dir, 'manifest.json'), b.manifestBytes);
  return { cid: b.cid, dir, trainChunks: b.manifest.train.chunks, heldoutChunks: b.manifest.heldout.chunks };
}
