/**
 * Errors of the verification module (codespace `verification`), registered once here. Codes
 * are part of the wire contract: never renumber, only append. Malformed addresses keep `sdk` 7,
 * a bond the challenger cannot pay `sdk` 5.
 */
import { registerError } from '../../app/core/errors.ts';

export const VERIFICATION_CODESPACE = 'verification';

export const verificationErrors = {
  /** A parameter value (genesis or a parameter-change proposal) breaks a rule. */
  invalidParams: registerError(VERIFICATION_CODESPACE, 2, 'invalid verification params'),
  /** Genesis state is inconsistent. */
  invalidGenesis: registerError(VERIFICATION_CODESPACE, 3, 'invalid verification genesis'),
  /** No training submission with this id. */
  unknownSubmission: registerError(VERIFICATION_CODESPACE, 4, 'unknown submission'),
  /** The challenger is the submission's miner. */
  ownSubmission: registerError(VERIFICATION_CODESPACE, 5, 'cannot challenge one\'s own submission'),
  /** The submission's challenge period is over (its window's commit phase began, or it is no longer pending). */
  challengePeriodOver: registerError(VERIFICATION_CODESPACE, 6, 'challenge period over'),
  /** The bond is below challenge_bond_multiplier × base reward. */
  bondTooLow: registerError(VERIFICATION_CODESPACE, 7, 'bond below minimum'),
  /** The submission already has an open dispute. */
  alreadyDisputed: registerError(VERIFICATION_CODESPACE, 8, 'submission already disputed'),
  /** A result hash is not 32 bytes. */
  invalidHash: registerError(VERIFICATION_CODESPACE, 9, 'invalid result hash'),
  /** The signer is not the verifier drawn for this submission (L1) or dispute (L2). */
  notDrawnVerifier: registerError(VERIFICATION_CODESPACE, 10, 'not the drawn verifier'),
  /** The answer or vote comes after its deadline (the seat or task has passed to someone else). */
  late: registerError(VERIFICATION_CODESPACE, 11, 'deadline passed'),
  /** No dispute with this id. */
  disputeNotFound: registerError(VERIFICATION_CODESPACE, 12, 'dispute not found'),
  /** The signer has no seat on the dispute's panel. */
  notOnPanel: registerError(VERIFICATION_CODESPACE, 13, 'not on the arbiter panel'),
  /** The arbiter already voted, or the verifier already answered. */
  alreadyVoted: registerError(VERIFICATION_CODESPACE, 14, 'already voted'),
  /** The dispute is resolved. */
  disputeResolved: registerError(VERIFICATION_CODESPACE, 15, 'dispute already resolved'),
  /** The challenger tried to verify or vote in its own dispute. */
  challengerCannotVote: registerError(VERIFICATION_CODESPACE, 16, 'the challenger cannot verify or vote'),
  /** The miner tried to verify or vote on its own submission. */
  minerCannotVote: registerError(VERIFICATION_CODESPACE, 17, 'the miner cannot verify or vote'),
  /** The bond is not a positive decimal amount below 2^256. */
  invalidBond: registerError(VERIFICATION_CODESPACE, 18, 'invalid bond amount'),
  /** A vote on a dispute whose panel is not voting (still at L2, or drawing). */
  notVoting: registerError(VERIFICATION_CODESPACE, 19, 'dispute not in panel voting'),
  /** An unavailability vote on a dispute nobody reported unavailable. */
  noUnavailabilityReport: registerError(VERIFICATION_CODESPACE, 20, 'no unavailability report'),
  /** The dispute already carries an unavailability report. */
  alreadyReported: registerError(VERIFICATION_CODESPACE, 21, 'unavailability already reported'),
  /** A vote must carry either a 32-byte result hash or `unavailable`, not both or neither. */
  invalidVote: registerError(VERIFICATION_CODESPACE, 22, 'invalid vote'),
  /**
   * The submission was scanned but has no stored draw seed (it came from a genesis without
   * submission seeds): a dispute on it could only be drawn with a beacon chosen later.
   */
  noSubmissionSeed: registerError(VERIFICATION_CODESPACE, 23, 'submission has no draw seed'),
  /** A commit must carry only a 32-byte commitment; a reveal a 32-byte result (or unavailable) and a 32-byte salt. */
  invalidCommitment: registerError(VERIFICATION_CODESPACE, 24, 'invalid commitment or reveal'),
  /** A reveal from a verifier or arbiter that committed nothing. */
  noCommitment: registerError(VERIFICATION_CODESPACE, 25, 'no commitment to reveal'),
  /** The revealed answer and salt do not hash to the commitment. */
  revealMismatch: registerError(VERIFICATION_CODESPACE, 26, 'reveal does not match the commitment'),
  /** A reveal in the block of its commitment, or (L3) while seats may still commit. */
  revealTooEarly: registerError(VERIFICATION_CODESPACE, 27, 'reveal too early'),
  /** The verifier or arbiter already committed for this duty. */
  alreadyCommitted: registerError(VERIFICATION_CODESPACE, 28, 'already committed'),
  // Bisection (README "Bisection"): codes from 40, apart from the codes other stages add.
  /** A bisection move on a dispute that is not bisecting. */
  notBisecting: registerError(VERIFICATION_CODESPACE, 40, 'dispute not in bisection'),
  /** The signer is not the party whose move it is (the miner reveals, the disputer answers), or it is not its turn. */
  notYourMove: registerError(VERIFICATION_CODESPACE, 41, 'not this party\'s bisection move'),
  /** The move names another step than the one the chain asks for. */
  wrongStep: registerError(VERIFICATION_CODESPACE, 42, 'wrong bisection step'),
  /** The Merkle proof does not take the state hash to the submission's trace root. */
  badProof: registerError(VERIFICATION_CODESPACE, 43, 'invalid trace proof'),
  /** A malformed bisection move: hash not 32 bytes, steps out of range, a missing or oversized CID. */
  invalidMove: registerError(VERIFICATION_CODESPACE, 44, 'invalid bisection move'),
} as const;
