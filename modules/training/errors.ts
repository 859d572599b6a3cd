/**
 * Errors of the training module (codespace `training`), registered once here. Codes are part
 * of the wire contract: never renumber, only append. Each check raises exactly one of these;
 * malformed addresses keep the `sdk` code 7.
 */
import { registerError } from '../../app/core/errors.ts';

export const TRAINING_CODESPACE = 'training';

export const trainingErrors = {
  /** A parameter value (genesis or a parameter-change proposal) breaks a rule. */
  invalidParams: registerError(TRAINING_CODESPACE, 2, 'invalid training params'),
  /** Genesis state is inconsistent (order, counters, references). */
  invalidGenesis: registerError(TRAINING_CODESPACE, 3, 'invalid training genesis'),
  /** The submitter is not a registered miner. */
  minerNotRegistered: registerError(TRAINING_CODESPACE, 4, 'miner not registered'),
  /** The miner is jailed. */
  minerJailed: registerError(TRAINING_CODESPACE, 5, 'miner jailed'),
  /** The miner's stake is below min_miner_stake. */
  insufficientMinerStake: registerError(TRAINING_CODESPACE, 6, 'miner stake below minimum'),
  /** No window with this id. */
  windowNotFound: registerError(TRAINING_CODESPACE, 7, 'window not found'),
  /** The window exists but no longer (or not yet) collects submissions. */
  windowNotCollecting: registerError(TRAINING_CODESPACE, 8, 'window not collecting'),
  /** The subnet is not the one the window seed assigns to this miner. */
  wrongSubnet: registerError(TRAINING_CODESPACE, 9, 'wrong subnet for miner'),
  /** The chunk index is not the one the window seed assigns to this submission. */
  wrongChunk: registerError(TRAINING_CODESPACE, 10, 'wrong chunk for miner'),
  /** Not a CIDv1 / raw / sha2-256 CID in canonical base32. */
  invalidCid: registerError(TRAINING_CODESPACE, 11, 'invalid CID'),
  /** The model version is unknown or deprecated (must be active or in migration). */
  modelVersionNotUsable: registerError(TRAINING_CODESPACE, 12, 'model version not active or in migration'),
  /** The miner already used all its submissions in this window. */
  rateLimited: registerError(TRAINING_CODESPACE, 13, 'submission rate limit reached'),
  /** A submission with this gradient CID already exists. */
  duplicateSubmission: registerError(TRAINING_CODESPACE, 14, 'duplicate submission'),
  /** A hash field (gradient hash, trace root, result hash, commitment) is not 32 bytes. */
  invalidHash: registerError(TRAINING_CODESPACE, 15, 'invalid hash length'),
  /** The backend name is empty, too long or has characters outside [a-z0-9-]. */
  invalidBackend: registerError(TRAINING_CODESPACE, 16, 'invalid backend'),
  /** A commit outside the window's commit phase. */
  notCommitPhase: registerError(TRAINING_CODESPACE, 17, 'window not in commit phase'),
  /** A reveal outside the window's reveal phase. */
  notRevealPhase: registerError(TRAINING_CODESPACE, 18, 'window not in reveal phase'),
  /** The signer is not one of the window's drawn aggregation proposers. */
  notProposer: registerError(TRAINING_CODESPACE, 19, 'not an aggregation proposer of the window'),
  /** The proposer already committed for this window. */
  alreadyCommitted: registerError(TRAINING_CODESPACE, 20, 'already committed'),
  /** A reveal from a proposer that did not commit. */
  noCommitment: registerError(TRAINING_CODESPACE, 21, 'no commitment to reveal'),
  /** The proposer already revealed for this window. */
  alreadyRevealed: registerError(TRAINING_CODESPACE, 22, 'already revealed'),
  /** sha256(result_cid ‖ result_hash ‖ nonce) differs from the commitment. */
  commitmentMismatch: registerError(TRAINING_CODESPACE, 23, 'reveal does not match commitment'),
  /** The nonce is not 32 bytes. */
  invalidNonce: registerError(TRAINING_CODESPACE, 24, 'invalid nonce'),
  /** No submission with this id. */
  submissionNotFound: registerError(TRAINING_CODESPACE, 25, 'submission not found'),
  /** The submission is no longer pending (its window's accepted set is fixed). */
  submissionNotPending: registerError(TRAINING_CODESPACE, 26, 'submission not pending'),
  /** The submission names another model version than its window's: its delta was trained on another base. */
  wrongModelVersion: registerError(TRAINING_CODESPACE, 27, 'wrong model version'),
  /** A reveal's exclusion list is not strictly ascending by submission id, or names no (or an unknown) reason. */
  invalidExclusions: registerError(TRAINING_CODESPACE, 28, 'invalid exclusion list'),
  /** A reveal excludes a submission that is not an ACCEPTED submission of the window. */
  exclusionNotAccepted: registerError(TRAINING_CODESPACE, 29, 'excluded submission not accepted in the window'),
  /**
   * A reveal with a result excludes every accepted submission (nothing left to aggregate), or a
   * "nothing to aggregate" reveal (empty result) leaves an accepted submission included.
   */
  exclusionSetMismatch: registerError(TRAINING_CODESPACE, 30, 'exclusions do not fit the result'),
  /** Held-out losses in a "nothing to aggregate" reveal or in a window that evaluates nothing. */
  lossesMismatch: registerError(TRAINING_CODESPACE, 31, 'held-out losses do not fit the reveal'),
  /** A head rollback to a window that is not an applied, finalized window of the active version still in the head. */
  invalidRollback: registerError(TRAINING_CODESPACE, 32, 'invalid head rollback'),
  /** A reveal carries a checkpoint (CID or state hash) in a window that carries none, or only half of one. */
  unexpectedCheckpoint: registerError(TRAINING_CODESPACE, 33, 'checkpoint does not fit the window'),
  /** No checkpoint (not rolled back) of the model version: query LatestCheckpoint. */
  checkpointNotFound: registerError(TRAINING_CODESPACE, 34, 'checkpoint not found'),
} as const;
