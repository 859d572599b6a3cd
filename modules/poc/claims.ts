/**
 * Pure functions a worker needs to compute exactly what the chain computes (spec: README.md,
 * "Batch root" and "Sampling"). Only @noble/hashes: the worker may import this file (through
 * @r3mes/client) or mirror it.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';

export const CLAIM_DOMAIN = 'r3mes/poc/claim/v1';
export const SAMPLE_DOMAIN = 'r3mes/poc/sample/v1';
const U64_LIMIT = 1n << 64n;

export interface PocClaim {
  readonly nonce: bigint;
  readonly distance: bigint;
}

function u64le(n: bigint): Uint8Array {
  if (n < 0n || n >= U64_LIMIT) throw new RangeError(`u64 out of range: ${n}`);
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, n, true);
  return out;
}

function u64be(n: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, n, false);
  return out;
}

function u32be(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n, false);
  return out;
}

/** x = SHA-256(utf8("r3mes/poc/claim/v1") ‖ u64le(nonce) ‖ u64le(distance)). */
export function claimHash(claim: PocClaim): Uint8Array {
  return sha256(concatBytes(utf8ToBytes(CLAIM_DOMAIN), u64le(claim.nonce), u64le(claim.distance)));
}

/**
 * The trace-root construction of worker/SPEC.md §6 over 32-byte items: leaves SHA-256(0x00 ‖ x),
 * inner nodes SHA-256(0x01 ‖ left ‖ right), an unpaired last node carried up unchanged; the root of
 * one leaf is that leaf; of zero items, 32 zero bytes.
 */
export function merkleRoot(items: readonly Uint8Array[]): Uint8Array {
  if (items.length === 0) return new Uint8Array(32);
  let level: Uint8Array[] = items.map((x) => sha256(concatBytes(Uint8Array.of(0), x)));
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(sha256(concatBytes(Uint8Array.of(1), level[i], level[i + 1])));
    if (level.length % 2 === 1) next.push(level[level.length - 1]);
    level = next;
  }
  return level[0];
}

/** A batch's root: merkleRoot over claimHash of each claim, in the batch's (ascending nonce) order. */
export function batchRoot(claims: readonly PocClaim[]): Uint8Array {
  return merkleRoot(claims.map(claimHash));
}

/**
 * Which of a miner's `count` claims of an epoch (ordered by ascending nonce, all its batches
 * together) are recomputed: min(k, count) distinct positions, by a partial Fisher–Yates shuffle
 * of [0, count) where step j swaps position j with j + (r_j mod (count − j)),
 * r_j = uint256_be(SHA-256(utf8("r3mes/poc/sample/v1") ‖ sampleSeed[32] ‖ u32be(len m) ‖ m ‖ u64be(j))),
 * m = utf8(miner bech32 address). Returned ascending.
 */
export function samplePositions(sampleSeed: Uint8Array, miner: string, count: bigint, k: bigint): bigint[] {
  if (sampleSeed.length !== 32) throw new RangeError(`sample seed must be 32 bytes, got ${sampleSeed.length}`);
  const take = k < count ? k : count;
  const minerBytes = utf8ToBytes(miner);
  const prefix = concatBytes(utf8ToBytes(SAMPLE_DOMAIN), sampleSeed, u32be(minerBytes.length), minerBytes);
  // Sparse permutation: only the positions a swap touched are stored.
  const moved = new Map<bigint, bigint>();
  const at = (i: bigint) => moved.get(i) ?? i;
  const picked: bigint[] = [];
  for (let j = 0n; j < take; j++) {
    let r = 0n;
    for (const b of sha256(concatBytes(prefix, u64be(j)))) r = (r << 8n) | BigInt(b);
    const other = j + (r % (count - j));
    const chosen = at(other);
    moved.set(other, at(j));
    moved.set(j, chosen);
    picked.push(chosen);
  }
  return picked.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

export const TRAP_DOMAIN = 'r3mes/poc/trap/v1';
export const COMMIT_DOMAIN = 'r3mes/poc/commit/v1';
/** Candidates tried beyond the traps wanted before giving up (only on a hash collision with a claim). */
export const TRAP_SPARE_TRIES = 64n;

/**
 * The trap nonces of a miner in an epoch (README "Traps"): candidates
 * t_j = u64be(first 8 bytes of SHA-256(utf8("r3mes/poc/trap/v1") ‖ sampleSeed[32] ‖ u32be(len m) ‖ m ‖ u64be(j))),
 * j = 0, 1, …, skipping a nonce the miner claimed (`claimed`) or already picked, until `k` are
 * picked or j reaches k + 64. Returned in pick order.
 */
export function trapNonces(sampleSeed: Uint8Array, miner: string, k: bigint, claimed: (nonce: bigint) => boolean): bigint[] {
  if (sampleSeed.length !== 32) throw new RangeError(`sample seed must be 32 bytes, got ${sampleSeed.length}`);
  const minerBytes = utf8ToBytes(miner);
  const prefix = concatBytes(utf8ToBytes(TRAP_DOMAIN), sampleSeed, u32be(minerBytes.length), minerBytes);
  const picked: bigint[] = [];
  for (let j = 0n; BigInt(picked.length) < k && j < k + TRAP_SPARE_TRIES; j++) {
    const digest = sha256(concatBytes(prefix, u64be(j)));
    const nonce = new DataView(digest.buffer, digest.byteOffset, 8).getBigUint64(0, false);
    if (claimed(nonce) || picked.includes(nonce)) continue;
    picked.push(nonce);
  }
  return picked;
}

/**
 * A verifier's commitment to its distance of a check (README "Verifier commit-reveal"):
 * SHA-256(utf8("r3mes/poc/commit/v1") ‖ u32be(len v) ‖ v ‖ u64be(epoch) ‖ u32be(len m) ‖ m ‖ u64be(nonce) ‖ u64be(distance) ‖ salt),
 * v and m the utf8 bech32 addresses of verifier and miner. Bound to the verifier: another one
 * cannot reuse it.
 */
export function pocCommitment(verifier: string, epoch: bigint, miner: string, nonce: bigint, distance: bigint, salt: Uint8Array): Uint8Array {
  const v = utf8ToBytes(verifier);
  const m = utf8ToBytes(miner);
  return sha256(concatBytes(utf8ToBytes(COMMIT_DOMAIN), u32be(v.length), v, u64be(epoch), u32be(m.length), m, u64be(nonce), u64be(distance), salt));
}
