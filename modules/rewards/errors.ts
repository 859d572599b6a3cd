import { registerError } from '../../app/core/errors.ts';

/** Errors of the rewards module (codespace `rewards`). Codes are wire contract: never renumber, only append. */
export const REWARDS_CODESPACE = 'rewards';

export const rewardsErrors = {
  windowAlreadyDistributed: registerError(REWARDS_CODESPACE, 2, 'window rewards already distributed'),
  invalidWeight: registerError(REWARDS_CODESPACE, 3, 'invalid weight'),
  duplicateRecipient: registerError(REWARDS_CODESPACE, 4, 'recipient listed twice'),
  invalidParams: registerError(REWARDS_CODESPACE, 5, 'invalid rewards params'),
  windowNotFound: registerError(REWARDS_CODESPACE, 6, 'window rewards not found'),
  invalidGenesis: registerError(REWARDS_CODESPACE, 7, 'invalid rewards genesis'),
} as const;
