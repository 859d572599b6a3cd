import type { AppModule, ModuleParams } from '../../app/core/module.ts';
import { GenesisState } from '../../proto/gen/r3mes/rewards/v1/genesis.ts';
import {
  QueryParamsResponse, QueryWindowRewardsRequest, QueryWindowRewardsResponse,
} from '../../proto/gen/r3mes/rewards/v1/query.ts';
import { Params } from '../../proto/gen/r3mes/rewards/v1/types.ts';
import { rewardsErrors } from './errors.ts';
import { REWARDS_POOL, type RewardsKeeper } from './keeper.ts';
import { encodeAddress } from '../../app/core/address.ts';
import { AMOUNT_TEXT, formatCoins } from '../../app/core/coins.ts';
import { defaultRewardsParams, resolveRewardsParams, rewardsParamsFromJson } from './params.ts';

const Q = '/r3mes.rewards.v1.Query/';

/** Rewards genesis is the generated GenesisState's JSON. */
export type RewardsGenesisJson = unknown;

export function rewardsParams(rewards: RewardsKeeper): ModuleParams {
  return {
    get: (store) => Params.toJSON(rewards.getParams(store)),
    set: (store, value) => rewards.setParams(store, rewardsParamsFromJson(value)),
  };
}

/** The rewards AppModule: no messages, no block hooks (training calls distributeWindow). */
export function rewardsModule(rewards: RewardsKeeper): AppModule<RewardsGenesisJson> {
  return {
    name: 'rewards',
    msgs: [],
    params: rewardsParams(rewards),
    queries: {
      [`${Q}Params`]: (store) => QueryParamsResponse.encode({ params: rewards.getParams(store) }).finish(),
      [`${Q}WindowRewards`]: (store, data) => {
        const request = QueryWindowRewardsRequest.decode(data);
        const window = rewards.windowRewards(store, request.windowId);
        if (window === undefined) throw rewardsErrors.windowNotFound(`window ${request.windowId}`);
        return QueryWindowRewardsResponse.encode({ window }).finish();
      },
    },
    defaultGenesis: () => GenesisState.toJSON({ params: Params.fromPartial(defaultRewardsParams), windows: [] }),
    initGenesis(store, json) {
      let genesis: GenesisState;
      try {
        genesis = GenesisState.fromJSON(json);
      } catch (error) {
        throw rewardsErrors.invalidGenesis(`does not decode: ${(error as Error).message}`);
      }
      const params = genesis.params ?? Params.fromPartial(defaultRewardsParams);
      resolveRewardsParams(params);
      rewards.setParams(store, params);
      let previous = -1n;
      for (const window of genesis.windows) {
        if (window.windowId <= previous) throw rewardsErrors.invalidGenesis('windows must be sorted by window_id and unique');
        previous = window.windowId;
        const amounts = [window.minted, window.minersPaid, window.verifiersPaid, window.validatorsPaid, window.communityPool];
        if (amounts.some((amount) => !AMOUNT_TEXT.test(amount))) throw rewardsErrors.invalidGenesis(`window ${window.windowId} has a malformed amount (decimal digits, no leading zero)`);
        const [minted, ...parts] = amounts.map(BigInt);
        if (parts.reduce((a, b) => a + b, 0n) !== minted) throw rewardsErrors.invalidGenesis(`window ${window.windowId}: paid + community pool ≠ minted`);
        rewards.setWindowRewards(store, window);
      }
      // The rewards pool is transit: empty between windows. A genesis balance there is refused (the
      // bank's genesis runs first); a surplus that still gets in is swept at the next window.
      const held = rewards.poolHoldings(store);
      if (held.length > 0) throw rewardsErrors.invalidGenesis(`the rewards pool ${encodeAddress(REWARDS_POOL)} holds ${formatCoins(held)}; it must be empty`);
    },
    exportGenesis: (store) => GenesisState.toJSON({ params: rewards.getParams(store), windows: [...rewards.allWindowRewards(store)] }),
  };
}
