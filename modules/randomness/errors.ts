import { registerError } from '../../app/core/errors.ts';

/**
 * Errors of the randomness module, registered in one place (codespace + code), in the
 * style of Cosmos SDK `errors.Register`. Codes are part of the wire contract: never
 * renumber, only append.
 */

export const RANDOMNESS_CODESPACE = 'randomness';

export const RandomnessErrorCode = {
  /** A secret key, public key, proof or alpha has the wrong length or type. */
  BAD_INPUT_LENGTH: 2,
  /** Unknown VRF suite byte (only 0x03 TAI and 0x04 ELL2 are implemented). */
  UNKNOWN_SUITE: 3,
  /** A draw asked for more winners than there are eligible candidates. */
  NOT_ENOUGH_CANDIDATES: 4,
  /** Two candidates share an id. */
  DUPLICATE_CANDIDATE: 5,
  /** A stake is negative or not below 2^256. */
  BAD_STAKE: 6,
  /** k is not a non-negative safe integer. */
  BAD_DRAW_SIZE: 7,
  /** Encode-to-curve (TAI) ran out of counter values; probability ~2^-256. */
  ENCODE_TO_CURVE_FAILED: 8,
  /** A VRF proof given to proofToHash does not decode (length, Gamma, or s >= q). */
  MALFORMED_PROOF: 9,
  /** A candidate id is not a well-formed (UTF-16, hence UTF-8 encodable) string. */
  BAD_CANDIDATE_ID: 10,
} as const;

export type RandomnessErrorCode = (typeof RandomnessErrorCode)[keyof typeof RandomnessErrorCode];

export class RandomnessError extends Error {
  readonly codespace = RANDOMNESS_CODESPACE;
  constructor(
    readonly code: RandomnessErrorCode,
    message: string,
  ) {
    super(`${RANDOMNESS_CODESPACE}/${code}: ${message}`);
    this.name = 'RandomnessError';
  }
}

/**
 * Beacon errors, as ChainErrors (they reach users through CheckTx results, queries and genesis).
 * Same codespace, numbered after the codes above so a (codespace, code) pair means one thing.
 */
export const beaconErrors = {
  /** A beacon-format tx (magic 0x00 "R3VRF") sent by a user: only the proposer adds one, in PrepareProposal. */
  beaconTxFromUser: registerError(RANDOMNESS_CODESPACE, 11, 'beacon txs are added by the block proposer, not accepted from users'),
  /** In a block: a beacon-format tx that is not the block's valid beacon tx in first position. */
  invalidBeaconTx: registerError(RANDOMNESS_CODESPACE, 12, 'invalid or misplaced beacon tx'),
  beaconNotFound: registerError(RANDOMNESS_CODESPACE, 13, 'beacon not found'),
  invalidParams: registerError(RANDOMNESS_CODESPACE, 14, 'invalid randomness params'),
  invalidGenesis: registerError(RANDOMNESS_CODESPACE, 15, 'invalid randomness genesis'),
} as const;
