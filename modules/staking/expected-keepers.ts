import type { BankKeeper } from '../bank/keeper.ts';

/**
 * What staking needs from the bank: moving stake into and out of the pool
 * accounts, burning slashed stake, and reading pool balances (genesis check,
 * Pool query). Nothing else.
 */
export type StakingBankKeeper = Pick<BankKeeper, 'send' | 'burn' | 'balance'>;
