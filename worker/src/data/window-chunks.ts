// The chunks a window trains: chunk i of the train split of the window's dataset (training
// module README, `dataset_id`). The Brown corpus (dataset 0, or a dataset whose manifest is the
// Brown manifest) is read from the bundled corpus, as before; any other dataset is opened by its
// manifest CID through the content store and its shards fetched by CID on first use. A dataset
// whose vocabulary exceeds 256 gives uint32 token ids; the others byte tokens, as before.

import type { ContentStore } from '../storage/content-store.ts';
import { BROWN_MANIFEST_CID } from './brown-dataset.ts';
import { assertChunk, type ChunkTokens } from './chunk.ts';
import { chunkAt, chunkCount } from './corpus.ts';
import { ManifestDataset } from './dataset.ts';
import { DataError, DataErrorCode } from './errors.ts';
import type { SplitName } from './manifest.ts';

/** What the chunk source asks the chain: a window's dataset id, a dataset's manifest. */
export interface DatasetChain {
  window(windowId: bigint): Promise<{ readonly datasetId: bigint }>;
  dataset(id: bigint): Promise<{ readonly id: bigint; readonly manifestCid: string; readonly chunkCount: bigint }>;
}

/** Chunk `index` of the window's dataset: byte tokens (vocabulary ≤ 256) or uint32 token ids (data/chunk.ts). */
export type WindowChunk = (index: bigint, windowId: bigint) => ChunkTokens | Promise<ChunkTokens>;

function brownChunk(index: bigint, split: SplitName): Uint8Array {
  const count = BigInt(chunkCount(split));
  if (index < 0n || index >= count) {
    throw new DataError(DataErrorCode.ChunkIndex, `chunk index ${index} is outside the Brown corpus ${split} split (0..${count - 1n}); the chain's chunk_count must not exceed it`);
  }
  return chunkAt(Number(index), split).tokens;
}

/**
 * Chunks of the windows' datasets: the train split (what windows assign), or with
 * `split = 'heldout'` the held-out chunks of the same dataset (for evaluation).
 */
export function windowChunks(chain: DatasetChain, store: ContentStore, split: SplitName = 'train'): WindowChunk {
  const datasetOfWindow = new Map<bigint, bigint>();
  const opened = new Map<bigint, Promise<ManifestDataset | 'brown'>>();
  const open = (datasetId: bigint): Promise<ManifestDataset | 'brown'> => {
    let ds = opened.get(datasetId);
    if (ds === undefined) {
      ds = (async () => {
        if (datasetId === 0n) return 'brown' as const;
        const registered = await chain.dataset(datasetId);
        if (registered.manifestCid === BROWN_MANIFEST_CID) return 'brown' as const;
        const manifest = await ManifestDataset.fromStore(store, registered.manifestCid);
        if (BigInt(manifest.chunkCount('train')) < registered.chunkCount) {
          throw new DataError(DataErrorCode.DatasetMismatch, `dataset ${datasetId}: its manifest ${registered.manifestCid} has ${manifest.chunkCount('train')} train chunks; the chain registered ${registered.chunkCount}`);
        }
        return manifest;
      })();
      // A failed open (store unreachable) is tried again on the next call.
      ds.catch(() => opened.delete(datasetId));
      opened.set(datasetId, ds);
    }
    return ds;
  };
  return async (index, windowId) => {
    let datasetId = datasetOfWindow.get(windowId);
    if (datasetId === undefined) {
      datasetId = (await chain.window(windowId)).datasetId;
      datasetOfWindow.set(windowId, datasetId);
    }
    const ds = await open(datasetId);
    if (ds === 'brown') return brownChunk(index, split);
    if (index < 0n || index > BigInt(Number.MAX_SAFE_INTEGER)) throw new DataError(DataErrorCode.ChunkIndex, `chunk index ${index} is out of range`);
    // Byte-level datasets keep their byte chunks (and chunk hashes); larger vocabularies are token ids.
    const chunk = ds.manifest.vocab_size > 256 ? await ds.chunk(Number(index), split) : await ds.byteChunk(Number(index), split);
    assertChunk(chunk);
    return chunk;
  };
}
