import type { ModuleInterface } from '../../app/core/module.ts';
import {
  QueryParamsRequest, QueryParamsResponse, QueryWindowRewardsRequest, QueryWindowRewardsResponse,
} from '../../proto/gen/r3mes/rewards/v1/query.ts';
import { rewardsErrors } from './errors.ts';

/** Rewards has queries only: payouts happen when training finalizes a window. */
export const rewardsInterface: ModuleInterface = {
  module: 'rewards',
  txs: [],
  queries: [
    {
      name: 'params', description: 'Rewards parameters', args: [], path: '/r3mes.rewards.v1.Query/Params', rest: '/r3mes/rewards/v1/params',
      encodeRequest: () => QueryParamsRequest.encode({}).finish(),
      decodeResponse: (bytes) => QueryParamsResponse.toJSON(QueryParamsResponse.decode(bytes)),
    },
    {
      name: 'window', description: 'What a finalized window minted and paid', args: ['window_id'],
      path: '/r3mes.rewards.v1.Query/WindowRewards', rest: '/r3mes/rewards/v1/windows/{window_id}',
      encodeRequest: (args) => {
        if (!/^\d{1,20}$/.test(args.window_id ?? '') || BigInt(args.window_id) >= 1n << 64n) throw rewardsErrors.windowNotFound(`window id "${args.window_id}" is not a u64`);
        return QueryWindowRewardsRequest.encode({ windowId: BigInt(args.window_id) }).finish();
      },
      decodeResponse: (bytes) => QueryWindowRewardsResponse.toJSON(QueryWindowRewardsResponse.decode(bytes)),
    },
  ],
  registryTypes: [],
};
