import type { BankKeeper } from '../bank/keeper.ts';
import type { StakingViewKeeper } from '../staking/keeper.ts';

/**
 * Minting the window's reward into the rewards pool and paying it out; the supply (a mint must
 * stay below 2^256) and everything the pool holds (the sweep of a surplus).
 */
export type RewardsBankKeeper = Pick<BankKeeper, 'mint' | 'send' | 'balance' | 'allBalances' | 'supplyOf'>;

/** The bonded validator set with stakes and commission, and the delegations to each validator. */
export type RewardsStakingKeeper = Pick<StakingViewKeeper, 'bondedValidators' | 'delegationsTo'>;
