// A training chunk: exactly CHUNK_TOKENS tokens, named by the sha256 of its bytes. Byte-level
// datasets (vocabulary ≤ 256) give byte tokens (a Uint8Array; the hash is over those 2048 bytes,
// SPEC §6/§15); larger vocabularies give uint32 token ids (a Uint32Array; the hash is over the
// 2048 ids as uint32 little-endian, 8192 bytes, the bytes of the dataset's shard). The chain
// assigns chunks by index; the hash lets a verifier check it trains on the same tokens as the
// miner before spending any compute.

import { createHash } from 'node:crypto';
import { DataError, DataErrorCode } from './errors.ts';

export const CHUNK_TOKENS = 2048;
export const VOCAB_SIZE = 256;

/** A chunk's tokens: bytes (vocabulary ≤ 256) or uint32 token ids. */
export type ChunkTokens = Uint8Array | Uint32Array;

/** Throws a ChunkLength DataError unless `tokens` is exactly one chunk long. */
export function assertChunk(tokens: ChunkTokens): void {
  if (!(tokens instanceof Uint8Array) && !(tokens instanceof Uint32Array)) {
    throw new DataError(DataErrorCode.ChunkLength, 'chunk must be a Uint8Array of byte tokens or a Uint32Array of token ids');
  }
  if (tokens.length !== CHUNK_TOKENS) {
    throw new DataError(
      DataErrorCode.ChunkLength,
      `chunk has ${tokens.length} tokens; every chunk is exactly ${CHUNK_TOKENS}`,
    );
  }
}

/** The bytes a chunk's hash covers: the bytes, or the ids as uint32 little-endian. */
export function chunkBytes(tokens: ChunkTokens): Uint8Array {
  if (tokens instanceof Uint8Array) return tokens;
  const out = new Uint8Array(tokens.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < tokens.length; i++) view.setUint32(4 * i, tokens[i], true);
  return out;
}

/** Lower-case hex sha256 of a chunk's bytes (above); rejects a chunk of the wrong length. */
export function chunkHash(tokens: ChunkTokens): string {
  assertChunk(tokens);
  return createHash('sha256').update(chunkBytes(tokens)).digest('hex');
}
