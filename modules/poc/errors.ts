/**
 * Errors of the poc module (codespace `poc`), registered once here. Codes are part of the wire
 * contract: never renumber, only append. Malformed addresses keep `sdk` code 7.
 */
import { registerError } from '../../app/core/errors.ts';

export const POC_CODESPACE = 'poc';

export const pocErrors = {
  /** A parameter value (genesis or a parameter-change proposal) breaks a rule. */
  invalidParams: registerError(POC_CODESPACE, 2, 'invalid poc params'),
  /** Genesis state is inconsistent (order, duplicates, references). */
  invalidGenesis: registerError(POC_CODESPACE, 3, 'invalid poc genesis'),
  /** The submitter is not a registered miner. */
  minerNotRegistered: registerError(POC_CODESPACE, 4, 'miner not registered'),
  /** The miner is jailed from mining. */
  minerJailed: registerError(POC_CODESPACE, 5, 'miner jailed'),
  /** No epoch with this id. */
  epochNotFound: registerError(POC_CODESPACE, 6, 'epoch not found'),
  /** The epoch is not in its submission phase (not open yet, verifying, or ended). */
  notSubmissionPhase: registerError(POC_CODESPACE, 7, 'not in submission phase'),
  /** A batch with no claims. */
  emptyBatch: registerError(POC_CODESPACE, 8, 'empty batch'),
  /** More claims than max_claims_per_batch. */
  tooManyClaims: registerError(POC_CODESPACE, 9, 'too many claims'),
  /** Claims not in strictly ascending nonce order. */
  claimsNotAscending: registerError(POC_CODESPACE, 10, 'claims not ascending by nonce'),
  /** A nonce repeated in the batch or already claimed by the miner in the epoch. */
  duplicateClaim: registerError(POC_CODESPACE, 11, 'duplicate claim'),
  /** A claim's distance is not below the epoch's r_target. */
  distanceNotBelowTarget: registerError(POC_CODESPACE, 12, 'distance not below r_target'),
  /** The claim was not sampled for recomputation (no check). */
  checkNotFound: registerError(POC_CODESPACE, 13, 'check not found'),
  /** The signer is not the verifier drawn for the check. */
  notAssignedVerifier: registerError(POC_CODESPACE, 14, 'not the assigned verifier'),
  /** The check already has a verdict, or was marked missed. */
  checkNotPending: registerError(POC_CODESPACE, 15, 'check not pending'),
  /** The epoch is not in its verification phase. */
  notVerificationPhase: registerError(POC_CODESPACE, 16, 'not in verification phase'),
  /** No dispute with this id. */
  disputeNotFound: registerError(POC_CODESPACE, 17, 'dispute not found'),
  /** The dispute is already resolved. */
  disputeClosed: registerError(POC_CODESPACE, 18, 'dispute closed'),
  /** The signer holds no active seat on the dispute's panel. */
  notArbiter: registerError(POC_CODESPACE, 19, 'not an arbiter of the dispute'),
  /** The arbiter already voted in this dispute. */
  alreadyVoted: registerError(POC_CODESPACE, 20, 'arbiter already voted'),
  /** The vote comes after the round's deadline. */
  late: registerError(POC_CODESPACE, 21, 'deadline passed'),
  /** A commitment outside the check's commit window [submit_end_height, reveal_height). */
  notCommitWindow: registerError(POC_CODESPACE, 22, 'not in commit window'),
  /** A reveal (MsgPocVerdict) outside the reveal window [reveal_height, end_height). */
  notRevealWindow: registerError(POC_CODESPACE, 23, 'not in reveal window'),
  /** The verifier already committed to this check. */
  alreadyCommitted: registerError(POC_CODESPACE, 24, 'already committed'),
  /** A reveal without a commitment of this verifier. */
  notCommitted: registerError(POC_CODESPACE, 25, 'not committed'),
  /** The revealed distance and salt do not hash to the verifier's commitment. */
  revealMismatch: registerError(POC_CODESPACE, 26, 'reveal does not match commitment'),
  /** A commitment that is not 32 bytes. */
  invalidCommitment: registerError(POC_CODESPACE, 27, 'invalid commitment'),
} as const;
