/**
 * Stateless checks of training messages: they read no state, so they run in `signers` (before
 * the ante handler) and again at the start of execution.
 */
import { decodeAddress } from '../../app/core/address.ts';
import type { MsgCommitAggregation, MsgRevealAggregation, MsgSubmitGradient } from '../../proto/gen/r3mes/training/v1/tx.ts';
import { ExclusionReason, type Exclusion } from '../../proto/gen/r3mes/training/v1/types.ts';
import { NONCE_BYTES, RESULT_HASH_BYTES } from './assignment.ts';
import { contentCidProblem } from '../../app/core/cid.ts';
import { trainingErrors } from './errors.ts';

const BACKEND = /^[a-z0-9][a-z0-9-]{0,31}$/;

function requireHash(bytes: Uint8Array, field: string): void {
  if (bytes.length !== RESULT_HASH_BYTES) throw trainingErrors.invalidHash(`${field} is ${bytes.length} bytes, must be ${RESULT_HASH_BYTES}`);
}

export function requireCid(text: string, field: string): void {
  const problem = contentCidProblem(text);
  if (problem !== undefined) throw trainingErrors.invalidCid(`${field}: ${problem}`);
}

/** Returns the signer (the miner's address bytes). */
export function validateSubmitGradient(msg: MsgSubmitGradient): Uint8Array {
  const miner = decodeAddress(msg.miner, 'miner');
  requireHash(msg.gradientHash, 'gradient_hash');
  requireHash(msg.traceRoot, 'trace_root');
  if (!BACKEND.test(msg.backend)) throw trainingErrors.invalidBackend(`backend "${msg.backend.slice(0, 64)}" must match ${BACKEND.source}`);
  requireCid(msg.gradientCid, 'gradient_cid');
  return miner;
}

export function validateCommitAggregation(msg: MsgCommitAggregation): Uint8Array {
  const proposer = decodeAddress(msg.proposer, 'proposer');
  requireHash(msg.commitment, 'commitment');
  return proposer;
}

/** The reasons a reveal may give (ExclusionReason without UNSPECIFIED). */
export const EXCLUSION_REASON_NAMES: Readonly<Record<number, string>> = {
  [ExclusionReason.EXCLUSION_REASON_UNAVAILABLE]: 'unavailable',
  [ExclusionReason.EXCLUSION_REASON_UNDECODABLE]: 'undecodable',
  [ExclusionReason.EXCLUSION_REASON_WRONG_MODEL]: 'wrong-model',
};

/** A reveal without a result: empty result_cid and result_hash ("nothing to aggregate"). */
export function isNothingToAggregate(msg: { readonly resultCid: string; readonly resultHash: Uint8Array }): boolean {
  return msg.resultCid === '' && msg.resultHash.length === 0;
}

/** Strictly ascending submission ids (so no duplicates), each with a known reason other than UNSPECIFIED. */
export function validateExclusions(excluded: readonly Exclusion[]): void {
  let previous = 0n;
  excluded.forEach(({ submissionId, reason }, i) => {
    if (i > 0 && submissionId <= previous) {
      throw trainingErrors.invalidExclusions(`exclusion ${i} (submission ${submissionId}) does not follow submission ${previous}: exclusions must be strictly ascending by submission id, without duplicates`);
    }
    if (EXCLUSION_REASON_NAMES[reason] === undefined) {
      throw trainingErrors.invalidExclusions(`exclusion ${i} (submission ${submissionId}) has reason ${reason}; must be 1 unavailable, 2 undecodable or 3 wrong model`);
    }
    previous = submissionId;
  });
}

export function validateRevealAggregation(msg: MsgRevealAggregation): Uint8Array {
  const proposer = decodeAddress(msg.proposer, 'proposer');
  if (isNothingToAggregate(msg)) {
    if (msg.excluded.length === 0) throw trainingErrors.exclusionSetMismatch('a reveal without a result must exclude every accepted submission, and excludes none');
  } else {
    requireCid(msg.resultCid, 'result_cid');
    requireHash(msg.resultHash, 'result_hash');
  }
  if (msg.nonce.length !== NONCE_BYTES) throw trainingErrors.invalidNonce(`nonce is ${msg.nonce.length} bytes, must be ${NONCE_BYTES}`);
  validateExclusions(msg.excluded);
  validateRevealedCheckpoint(msg);
  return proposer;
}

/**
 * A reveal's checkpoint fields (README "Checkpoints"): both empty (none), or a content CID (11)
 * and a 32-byte state hash (15); one without the other is 33.
 */
export function validateRevealedCheckpoint(msg: { readonly checkpointCid: string; readonly checkpointHash: Uint8Array }): void {
  const cid = msg.checkpointCid ?? '';
  const hash = msg.checkpointHash ?? new Uint8Array();
  if (cid === '' && hash.length === 0) return;
  if (cid === '' || hash.length === 0) {
    throw trainingErrors.unexpectedCheckpoint(`a checkpoint needs both checkpoint_cid and checkpoint_hash (got ${cid === '' ? 'a hash without a CID' : 'a CID without a hash'})`);
  }
  requireCid(cid, 'checkpoint_cid');
  requireHash(hash, 'checkpoint_hash');
}
