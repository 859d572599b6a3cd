/**
 * Pure functions a worker needs to compute exactly what the chain checks (spec: README.md,
 * "Chunk assignment" and "Commit-reveal"). Only @noble/hashes: the worker may import this
 * file or mirror it.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';

export const CHUNK_DOMAIN = 'r3mes/training/chunk/v1';
export const SEED_BYTES = 32;
export const NONCE_BYTES = 32;
export const RESULT_HASH_BYTES = 32;

function u32be(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n, false);
  return out;
}

function u64be(n: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, n, false);
  return out;
}

function uint256be(bytes: Uint8Array): bigint {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

/**
 * The chunk the window seed assigns to a miner's `ordinal`-th submission (0-based) in a window:
 * uint256_be(sha256(utf8("r3mes/training/chunk/v1") ‖ seed[32] ‖ u32be(len m) ‖ m ‖ u64be(ordinal))) mod chunkCount,
 * where m = utf8(miner bech32 address).
 */
export function assignedChunk(seed: Uint8Array, miner: string, ordinal: bigint, chunkCount: bigint): bigint {
  if (seed.length !== SEED_BYTES) throw new RangeError(`seed must be ${SEED_BYTES} bytes, got ${seed.length}`);
  if (ordinal < 0n || ordinal >= 1n << 64n) throw new RangeError(`ordinal out of u64 range: ${ordinal}`);
  if (chunkCount <= 0n) throw new RangeError(`chunkCount must be positive, got ${chunkCount}`);
  const minerBytes = utf8ToBytes(miner);
  const digest = sha256(concatBytes(utf8ToBytes(CHUNK_DOMAIN), seed, u32be(minerBytes.length), minerBytes, u64be(ordinal)));
  return uint256be(digest) % chunkCount;
}

/** An aggregation commitment: sha256(utf8(result_cid) ‖ result_hash[32] ‖ nonce[32]). */
export function commitHash(resultCid: string, resultHash: Uint8Array, nonce: Uint8Array): Uint8Array {
  if (resultHash.length !== RESULT_HASH_BYTES) throw new RangeError(`result hash must be ${RESULT_HASH_BYTES} bytes`);
  if (nonce.length !== NONCE_BYTES) throw new RangeError(`nonce must be ${NONCE_BYTES} bytes`);
  return sha256(concatBytes(utf8ToBytes(resultCid), resultHash, nonce));
}
