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

/**
 * One submission a proposer leaves out of its aggregate (the generated `Exclusion` fits):
 * `reason` is an ExclusionReason value (1 unavailable, 2 undecodable, 3 wrong model).
 */
export interface CommittedExclusion {
  readonly submissionId: bigint;
  readonly reason: number;
}

/** The held-out losses a reveal carries (Q16 nats per byte); both 0 = none (README "Commit-reveal"). */
export interface CommittedLosses {
  readonly lossBase: bigint;
  readonly lossAggregate: bigint;
}

export const NO_LOSSES: CommittedLosses = { lossBase: 0n, lossAggregate: 0n };

/**
 * An aggregation commitment:
 * sha256(utf8(result_cid) ‖ result_hash ‖ nonce[32] ‖ for each exclusion, ascending by id: u64be(id) ‖ u8(reason)).
 * ‖ (unless both losses are 0) u64be(loss_base) ‖ u64be(loss_aggregate).
 * With no exclusions and no losses this is the original sha256(utf8(result_cid) ‖ result_hash[32] ‖ nonce[32]).
 * A reveal with a checkpoint (CID and 32-byte state hash) commits to
 * sha256(utf8("r3mes/training/checkpoint/v1") ‖ utf8(checkpoint_cid) ‖ checkpoint_hash ‖ sha256(the preimage above)).
 * `result_cid` and `result_hash` are both empty only in a "nothing to aggregate" reveal; else the
 * hash is 32 bytes. Exclusions must be strictly ascending by submission id (one encoding per set).
 */
export function commitHash(
  resultCid: string, resultHash: Uint8Array, nonce: Uint8Array, excluded: readonly CommittedExclusion[] = [], losses: CommittedLosses = NO_LOSSES,
  checkpoint: CommittedCheckpoint = NO_CHECKPOINT,
): Uint8Array {
  const inner = commitPreimage(resultCid, resultHash, nonce, excluded, losses);
  if (checkpoint.checkpointCid === '' && checkpoint.checkpointHash.length === 0) return sha256(inner);
  if (checkpoint.checkpointCid === '' || checkpoint.checkpointHash.length !== RESULT_HASH_BYTES) {
    throw new RangeError(`a checkpoint needs both a CID and a ${RESULT_HASH_BYTES}-byte state hash (or neither)`);
  }
  // 28 + 59 + 32 + 32 = 151 bytes: no length the form without a checkpoint can have (README "Commit-reveal").
  return sha256(concatBytes(utf8ToBytes(CHECKPOINT_COMMIT_DOMAIN), utf8ToBytes(checkpoint.checkpointCid), checkpoint.checkpointHash, sha256(inner)));
}

/** The checkpoint a reveal carries (README "Checkpoints"); both empty = none. */
export interface CommittedCheckpoint {
  readonly checkpointCid: string;
  readonly checkpointHash: Uint8Array;
}

export const NO_CHECKPOINT: CommittedCheckpoint = { checkpointCid: '', checkpointHash: new Uint8Array() };
export const CHECKPOINT_COMMIT_DOMAIN = 'r3mes/training/checkpoint/v1';

function commitPreimage(
  resultCid: string, resultHash: Uint8Array, nonce: Uint8Array, excluded: readonly CommittedExclusion[], losses: CommittedLosses,
): Uint8Array {
  const nothing = resultCid === '' && resultHash.length === 0;
  if (!nothing && resultHash.length !== RESULT_HASH_BYTES) throw new RangeError(`result hash must be ${RESULT_HASH_BYTES} bytes (or empty with an empty result CID)`);
  if (nonce.length !== NONCE_BYTES) throw new RangeError(`nonce must be ${NONCE_BYTES} bytes`);
  const parts: Uint8Array[] = [utf8ToBytes(resultCid), resultHash, nonce];
  let previous = -1n;
  for (const { submissionId, reason } of excluded) {
    if (submissionId <= previous || submissionId >= 1n << 64n) throw new RangeError(`exclusions must be strictly ascending u64 submission ids (${submissionId} after ${previous})`);
    if (!Number.isInteger(reason) || reason < 0 || reason > 255) throw new RangeError(`exclusion reason ${reason} is not a u8`);
    previous = submissionId;
    parts.push(u64be(submissionId), Uint8Array.of(reason));
  }
  for (const [what, value] of [['loss_base', losses.lossBase], ['loss_aggregate', losses.lossAggregate]] as const) {
    if (value < 0n || value >= 1n << 64n) throw new RangeError(`${what} ${value} is not a u64`);
  }
  if (losses.lossBase !== 0n || losses.lossAggregate !== 0n) parts.push(u64be(losses.lossBase), u64be(losses.lossAggregate));
  return concatBytes(...parts);
}

const EVAL_DOMAIN = 'r3mes/training/eval/v1';

/**
 * The window's evaluation sample (README "Proof of Learning"): `count` distinct held-out chunk
 * indices, ascending. Candidate j (j = 0, 1, …) is
 * uint256_be(sha256(utf8("r3mes/training/eval/v1") ‖ seed[32] ‖ u64be(window id) ‖ u64be(j))) mod heldoutCount;
 * a candidate already drawn is skipped, until `count` are drawn. Needs count ≤ heldoutCount.
 */
export function evalChunkSample(seed: Uint8Array, windowId: bigint, count: bigint, heldoutCount: bigint): bigint[] {
  if (seed.length !== SEED_BYTES) throw new RangeError(`seed must be ${SEED_BYTES} bytes, got ${seed.length}`);
  if (count < 0n || count > heldoutCount) throw new RangeError(`cannot draw ${count} distinct chunks of ${heldoutCount}`);
  const drawn = new Set<bigint>();
  const prefix = concatBytes(utf8ToBytes(EVAL_DOMAIN), seed, u64be(windowId));
  for (let j = 0n; BigInt(drawn.size) < count; j++) drawn.add(uint256be(sha256(concatBytes(prefix, u64be(j)))) % heldoutCount);
  return [...drawn].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * The Proof of Learning gate (README "Proof of Learning"): a majority result whose held-out losses
 * are `lossBase` (the window's base) and `lossAggregate` (base + result) is applied iff it improves
 * the loss by at least `minImprovement`: lossAggregate + minImprovement ≤ lossBase (a tie at the
 * threshold is applied). All Q16 nats per byte.
 */
export function gateApplies(lossBase: bigint, lossAggregate: bigint, minImprovement: bigint): boolean {
  return lossAggregate + minImprovement <= lossBase;
}
