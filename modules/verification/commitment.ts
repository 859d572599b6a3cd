/**
 * Commit, then reveal (README "Commit, then reveal"): what a verifier or arbiter commits to before
 * it reveals its answer. Pure: the chain checks reveals with it and clients (the worker, through
 * `@r3mes/client`) compute commitments with it.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, utf8 } from '../../app/core/bytes.ts';

export const COMMITMENT_BYTES = 32;
export const SALT_BYTES = 32;
/** What an `unavailable` arbiter vote commits to in place of a result hash. */
export const UNAVAILABLE_RESULT = new Uint8Array(32);

export type CommitStage = 'l1' | 'l2' | 'l3';

/**
 * The domain of a commitment: `r3mes/verification/l1/{submission_id}`,
 * `r3mes/verification/l2/{dispute_id}/{l2_round}` or `r3mes/verification/l3/{dispute_id}`.
 */
export function commitDomain(stage: 'l1', submissionId: bigint): string;
export function commitDomain(stage: 'l2', disputeId: bigint, round: bigint): string;
export function commitDomain(stage: 'l3', disputeId: bigint): string;
export function commitDomain(stage: CommitStage, id: bigint, round?: bigint): string {
  return stage === 'l2' ? `r3mes/verification/l2/${id}/${round ?? 0n}` : `r3mes/verification/${stage}/${id}`;
}

/** sha256(u8(len(domain)) ‖ domain ‖ result_hash ‖ salt ‖ utf8(verifier)); result 32 bytes (UNAVAILABLE_RESULT for an unavailable vote), salt 32 bytes. */
export function verificationCommitment(domain: string, resultHash: Uint8Array, salt: Uint8Array, verifier: string): Uint8Array {
  const d = utf8(domain);
  if (d.length > 255) throw new RangeError('commitment domain longer than 255 bytes');
  if (resultHash.length !== 32) throw new RangeError('result hash must be 32 bytes');
  if (salt.length !== SALT_BYTES) throw new RangeError(`salt must be ${SALT_BYTES} bytes`);
  return sha256(concatBytes(Uint8Array.of(d.length), d, resultHash, salt, utf8(verifier)));
}
