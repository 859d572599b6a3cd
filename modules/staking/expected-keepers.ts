import type { BankKeeper } from '../bank/keeper.ts';
import type { Candidate } from '../randomness/drawer.ts';

/** The draw candidate a validator is to the randomness module's draws (id, stake). */
export type { Candidate };

/**
 * What staking needs from the bank: moving stake into and out of the pool
 * accounts, burning slashed stake, and reading pool balances (genesis check,
 * Pool query). Nothing else.
 */
export type StakingBankKeeper = Pick<BankKeeper, 'send' | 'burn' | 'balance'>;
