// PoC claims and claim batches (SPEC.md §14.5): a claim is (nonce u64, distance u64); a batch
// lists its claims in ascending nonce order, each with distance < r_target, and commits to them
// with the trace-root Merkle construction of SPEC §6 over the claim hashes.

import { sha256 } from '@noble/hashes/sha2.js';
import { traceRoot } from '../train/trace.ts';
import { U64_MAX } from './nonce.ts';

export interface Claim {
  readonly nonce: bigint;
  readonly distance: bigint;
}

const TAG = new TextEncoder().encode('r3mes/poc/claim/v1');

/** SHA-256(utf8("r3mes/poc/claim/v1") ‖ u64le(nonce) ‖ u64le(distance)) */
export function claimLeaf(c: Claim): Uint8Array {
  if (c.nonce < 0n || c.nonce > U64_MAX) throw new RangeError(`claim: nonce ${c.nonce} is not a u64`);
  if (c.distance < 0n || c.distance > U64_MAX) throw new RangeError(`claim: distance ${c.distance} is not a u64`);
  const msg = new Uint8Array(TAG.length + 16);
  msg.set(TAG, 0);
  const v = new DataView(msg.buffer);
  v.setBigUint64(TAG.length, c.nonce, true);
  v.setBigUint64(TAG.length + 8, c.distance, true);
  return sha256(msg);
}

/** The batch root: SPEC §6's trace root with the claim leaves in the place of the state hashes. */
export function claimsRoot(claims: readonly Claim[]): Uint8Array {
  return traceRoot(claims.map(claimLeaf));
}

export interface ClaimBatch {
  /** ascending nonce, distinct, each distance < rTarget */
  readonly claims: readonly Claim[];
  readonly root: Uint8Array;
  /** computed nonces left out (distance ≥ r_target) */
  readonly rejected: number;
}

/**
 * The batch a miner submits from what it computed: the claims with distance < rTarget, sorted by
 * nonce. Pure. A nonce computed twice must carry the same distance (else the computation is
 * broken, and this throws); it appears once.
 */
export function buildClaimBatch(computed: readonly Claim[], rTarget: bigint): ClaimBatch {
  const byNonce = new Map<bigint, bigint>();
  for (const c of computed) {
    const prev = byNonce.get(c.nonce);
    if (prev !== undefined && prev !== c.distance) throw new RangeError(`claim batch: nonce ${c.nonce} computed twice with distances ${prev} and ${c.distance}`);
    byNonce.set(c.nonce, c.distance);
  }
  const claims = [...byNonce].filter(([, d]) => d < rTarget).map(([nonce, distance]) => ({ nonce, distance }));
  claims.sort((a, b) => (a.nonce < b.nonce ? -1 : a.nonce > b.nonce ? 1 : 0));
  return { claims, root: claimsRoot(claims), rejected: byNonce.size - claims.length };
}
