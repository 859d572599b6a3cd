import type { AppModule, ModuleParams } from '../../app/core/module.ts';
import { decodeAddress } from '../../app/core/address.ts';
import { GenesisState } from '../../proto/gen/r3mes/poc/v1/genesis.ts';
import {
  QueryBatchesRequest, QueryBatchesResponse, QueryChecksRequest, QueryChecksResponse, QueryDisputeRequest, QueryDisputeResponse,
  QueryEpochRequest, QueryEpochResponse, QueryMinerEpochRequest, QueryMinerEpochResponse, QueryParamsResponse, QueryWeightsRequest,
  QueryWeightsResponse,
} from '../../proto/gen/r3mes/poc/v1/query.ts';
import { pocErrors } from './errors.ts';
import { defaultGenesis, exportGenesis, initGenesis, parseGenesis } from './genesis.ts';
import type { PocKeeper } from './keeper.ts';
import { pocMsgHandlers } from './msgs.ts';
import { paramsFromJson, paramsToJson } from './params.ts';

export const QUERY_PATHS = {
  params: '/r3mes.poc.v1.Query/Params',
  epoch: '/r3mes.poc.v1.Query/Epoch',
  batches: '/r3mes.poc.v1.Query/Batches',
  minerEpoch: '/r3mes.poc.v1.Query/MinerEpoch',
  checks: '/r3mes.poc.v1.Query/Checks',
  dispute: '/r3mes.poc.v1.Query/Dispute',
  weights: '/r3mes.poc.v1.Query/Weights',
} as const;

export function pocParams(poc: PocKeeper): ModuleParams {
  return {
    get: (store) => paramsToJson(poc.params(store)),
    set: (store, value) => poc.setParams(store, paramsFromJson(value)),
  };
}

/** Genesis is the protobuf JSON of r3mes.poc.v1.GenesisState. */
export function pocModule(poc: PocKeeper): AppModule<unknown> {
  return {
    name: 'poc',
    msgs: pocMsgHandlers(poc),
    queries: {
      [QUERY_PATHS.params]: (store) => QueryParamsResponse.encode({ params: poc.params(store) }).finish(),
      [QUERY_PATHS.epoch]: (store, data) => {
        const { epoch: id } = QueryEpochRequest.decode(data);
        const epoch = id === 0n ? poc.latestEpoch(store) : poc.epoch(store, id);
        if (epoch === undefined) throw pocErrors.epochNotFound(id === 0n ? 'no epoch has opened yet' : `epoch ${id}`);
        return QueryEpochResponse.encode({ epoch }).finish();
      },
      [QUERY_PATHS.batches]: (store, data) => {
        const { epoch, miner, pagination } = QueryBatchesRequest.decode(data);
        if (miner !== '') decodeAddress(miner, 'miner');
        const page = poc.batchesPage(store, epoch, miner === '' ? undefined : miner, pagination);
        return QueryBatchesResponse.encode({ batches: page.items, pagination: page.pagination }).finish();
      },
      [QUERY_PATHS.minerEpoch]: (store, data) => {
        const { epoch, miner } = QueryMinerEpochRequest.decode(data);
        decodeAddress(miner, 'miner');
        const record = poc.minerEpoch(store, epoch, miner);
        if (record === undefined) throw pocErrors.epochNotFound(`${miner} submitted nothing in epoch ${epoch}`);
        return QueryMinerEpochResponse.encode({ minerEpoch: record }).finish();
      },
      [QUERY_PATHS.checks]: (store, data) => {
        const { epoch, pagination } = QueryChecksRequest.decode(data);
        const page = poc.checksPage(store, epoch, pagination);
        return QueryChecksResponse.encode({ checks: page.items, pagination: page.pagination }).finish();
      },
      [QUERY_PATHS.dispute]: (store, data) => {
        const { id } = QueryDisputeRequest.decode(data);
        const dispute = poc.dispute(store, id);
        if (dispute === undefined) throw pocErrors.disputeNotFound(`dispute ${id}`);
        return QueryDisputeResponse.encode({ dispute }).finish();
      },
      [QUERY_PATHS.weights]: (store, data) => {
        const { pagination } = QueryWeightsRequest.decode(data);
        const schedule = poc.schedule(store);
        const page = poc.weightsPage(store, pagination);
        return QueryWeightsResponse.encode({
          weightsEpoch: schedule.weightsEpoch, weightTotal: schedule.weightTotal, weightMax: schedule.weightMax, weights: page.items, pagination: page.pagination,
        }).finish();
      },
    },
    params: pocParams(poc),
    beginBlock: (ctx) => poc.beginBlock(ctx),
    defaultGenesis: () => GenesisState.toJSON(defaultGenesis()),
    initGenesis: (store, genesis) => initGenesis(poc, store, parseGenesis(genesis)),
    exportGenesis: (store) => GenesisState.toJSON(exportGenesis(poc, store)),
  };
}
