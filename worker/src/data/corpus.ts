// The default training data: the Brown corpus as byte-level tokens, cut into fixed chunks.
//
// A split's token stream is its plain text (brown.ts) as bytes, one token per byte. Chunk i is
// tokens [i*2048, (i+1)*2048); the tail shorter than a chunk is dropped, so every chunk is full
// and chunk indices are stable. Chunks run across file boundaries: the stream is one text.
// The text is built once per process, on first use, and kept in memory (~6 MB).

import { CHUNK_TOKENS, chunkHash } from './chunk.ts';
import { loadBrownText, type Split } from './brown.ts';
import { DataError, DataErrorCode } from './errors.ts';

export type { Split };

export interface Chunk {
  split: Split;
  index: number;
  /** CHUNK_TOKENS byte tokens; a fresh copy the caller may keep or change. */
  tokens: Uint8Array;
  /** sha256 of `tokens`, lower-case hex. */
  hash: string;
}

let streams: Record<Split, Uint8Array> | undefined;

/** The token stream of a split, loaded on first use. Shared with every caller: do not write to it. */
export function tokenStream(split: Split = 'train'): Uint8Array {
  streams ??= loadBrownText();
  return streams[split];
}

export function chunkCount(split: Split = 'train'): number {
  return Math.floor(tokenStream(split).length / CHUNK_TOKENS);
}

export function chunkAt(index: number, split: Split = 'train'): Chunk {
  const count = chunkCount(split);
  if (!Number.isSafeInteger(index) || index < 0 || index >= count) {
    throw new DataError(DataErrorCode.ChunkIndex, `chunk index ${index} is outside the ${split} split's 0..${count - 1}`);
  }
  const start = index * CHUNK_TOKENS;
  const tokens = new Uint8Array(tokenStream(split).subarray(start, start + CHUNK_TOKENS));
  return { split, index, tokens, hash: chunkHash(tokens) };
}
