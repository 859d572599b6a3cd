import type { BankKeeper } from '../bank/keeper.ts';
import type { StakingViewKeeper } from '../staking/keeper.ts';

/** Minting the window's reward into the rewards pool and paying it out. */
export type RewardsBankKeeper = Pick<BankKeeper, 'mint' | 'send' | 'balance'>;

/** The bonded validator set with stakes and commission, and the delegations to each validator. */
export type RewardsStakingKeeper = Pick<StakingViewKeeper, 'bondedValidators' | 'delegationsTo'>;
