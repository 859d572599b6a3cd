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

/**
 * Genesis also asks whether an address is blocked (a module account): no module account may be
 * a validator operator, delegator, miner or unbonding recipient, or it would be paid rewards and
 * stake its module does not account for.
 */
export type StakingGenesisBankKeeper = Pick<BankKeeper, 'balance' | 'isBlocked'>;
