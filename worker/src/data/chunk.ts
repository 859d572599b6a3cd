// A training chunk: exactly CHUNK_TOKENS byte-level tokens (vocabulary 256, token = byte), named
// by the sha256 of those bytes. The chain assigns chunks by index; the hash lets a verifier
// check it trains on the same tokens as the miner before spending any compute.

import { createHash } from 'node:crypto';
import { DataError, DataErrorCode } from './errors.ts';

export const CHUNK_TOKENS = 2048;
export const VOCAB_SIZE = 256;

/** Throws a ChunkLength DataError unless `tokens` is exactly one chunk long. */
export function assertChunk(tokens: Uint8Array): void {
  if (!(tokens instanceof Uint8Array)) {
    throw new DataError(DataErrorCode.ChunkLength, 'chunk must be a Uint8Array of byte tokens');
  }
  if (tokens.length !== CHUNK_TOKENS) {
    throw new DataError(
      DataErrorCode.ChunkLength,
      `chunk has ${tokens.length} tokens; every chunk is exactly ${CHUNK_TOKENS}`,
    );
  }
}

/** Lower-case hex sha256 of a chunk's tokens; rejects a chunk of the wrong length. */
export function chunkHash(tokens: Uint8Array): string {
  assertChunk(tokens);
  return createHash('sha256').update(tokens).digest('hex');
}
