import { paginateArray } from '../../app/core/pagination.ts';
import type { AppModule, ModuleParams } from '../../app/core/module.ts';
import { decodeAddress } from '../../app/core/address.ts';
import { GenesisState } from '../../proto/gen/r3mes/subnet/v1/genesis.ts';
import {
  QueryActivationsRequest, QueryActivationsResponse, QueryAssignmentRequest, QueryAssignmentResponse,
  QueryParamsResponse, QuerySubnetsRequest, QuerySubnetsResponse,
} from '../../proto/gen/r3mes/subnet/v1/query.ts';
import { subnetErrors } from './errors.ts';
import { defaultGenesis, exportGenesis, initGenesis, parseGenesis } from './genesis.ts';
import type { ActivationDeps, SubnetKeeper } from './keeper.ts';
import { msgSubmitActivationHandler } from './msgs.ts';
import { paramsFromJson, paramsToJson } from './params.ts';

export const QUERY_PATHS = {
  params: '/r3mes.subnet.v1.Query/Params',
  subnets: '/r3mes.subnet.v1.Query/Subnets',
  assignment: '/r3mes.subnet.v1.Query/Assignment',
  activations: '/r3mes.subnet.v1.Query/Activations',
} as const;

export function subnetParams(subnet: SubnetKeeper): ModuleParams {
  return {
    get: (store) => paramsToJson(subnet.params(store)),
    set: (store, value) => subnet.setParams(store, paramsFromJson(value)),
  };
}

/**
 * `deps.windows` is the training keeper (its `windowInfo`); `deps.miners` staking's miners.
 * Genesis is the protobuf JSON of r3mes.subnet.v1.GenesisState.
 */
export function subnetModule(subnet: SubnetKeeper, deps: ActivationDeps): AppModule<unknown> {
  return {
    name: 'subnet',
    msgs: [msgSubmitActivationHandler(subnet, deps)] as AppModule['msgs'],
    queries: {
      [QUERY_PATHS.params]: (store) => QueryParamsResponse.encode({ params: subnet.params(store) }).finish(),
      [QUERY_PATHS.subnets]: (store, data) => {
        const { modelVersion, pagination } = QuerySubnetsRequest.decode(data);
        const { version, subnets } = subnet.subnets(store, modelVersion);
        // Computed from the version's layers (at most 128): paged by position, key u64be(index).
        const page = paginateArray(subnets, pagination);
        return QuerySubnetsResponse.encode({ modelVersion: version.number, nLayers: BigInt(version.nLayers), subnets: page.items, pagination: page.pagination }).finish();
      },
      [QUERY_PATHS.assignment]: (store, data) => {
        const { windowId, miner } = QueryAssignmentRequest.decode(data);
        decodeAddress(miner, 'miner');
        const assignment = subnet.assignment(store, deps.windows, windowId, miner);
        return QueryAssignmentResponse.encode({ windowId, miner, ...assignment }).finish();
      },
      [QUERY_PATHS.activations]: (store, data) => {
        const { windowId, pagination } = QueryActivationsRequest.decode(data);
        if (deps.windows.windowInfo(store, windowId) === undefined) throw subnetErrors.windowNotFound(`window ${windowId}`);
        const page = subnet.activationsPage(store, windowId, pagination);
        return QueryActivationsResponse.encode({ activations: page.items, pagination: page.pagination }).finish();
      },
    },
    params: subnetParams(subnet),
    defaultGenesis: () => GenesisState.toJSON(defaultGenesis()),
    initGenesis: (store, genesis) => initGenesis(subnet, store, parseGenesis(genesis)),
    exportGenesis: (store) => GenesisState.toJSON(exportGenesis(subnet, store)),
  };
}
