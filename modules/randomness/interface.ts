import type { ModuleInterface } from '../../app/core/module.ts';
import {
  QueryBeaconRequest, QueryBeaconResponse, QueryLatestBeaconRequest, QueryLatestBeaconResponse, QueryParamsRequest, QueryParamsResponse,
} from '../../proto/gen/r3mes/randomness/v1/query.ts';
import { beaconErrors } from './errors.ts';
import { beaconToJson } from './module.ts';

/** Randomness has queries only: beacons are written by block proposers, never by a user's tx. Bytes are hex. */
export const randomnessInterface: ModuleInterface = {
  module: 'randomness',
  txs: [],
  queries: [
    {
      name: 'params', description: 'Randomness (beacon) parameters', args: [], path: '/r3mes.randomness.v1.Query/Params', rest: '/r3mes/randomness/v1/params',
      encodeRequest: () => QueryParamsRequest.encode({}).finish(),
      decodeResponse: (bytes) => ({ params: { beaconRetentionBlocks: (QueryParamsResponse.decode(bytes).params?.beaconRetentionBlocks ?? 0n).toString() } }),
    },
    {
      name: 'latest-beacon', description: 'The beacon of the latest finalized height', args: [],
      path: '/r3mes.randomness.v1.Query/LatestBeacon', rest: '/r3mes/randomness/v1/beacons/latest',
      encodeRequest: () => QueryLatestBeaconRequest.encode({}).finish(),
      decodeResponse: (bytes) => {
        const { beacon } = QueryLatestBeaconResponse.decode(bytes);
        return { beacon: beacon === undefined ? null : beaconToJson(beacon) };
      },
    },
    {
      name: 'beacon', description: 'The beacon value of one height (its VRF proof and proposer)', args: ['height'],
      path: '/r3mes.randomness.v1.Query/Beacon', rest: '/r3mes/randomness/v1/beacons/{height}',
      encodeRequest: (args) => {
        if (!/^\d{1,20}$/.test(args.height ?? '') || BigInt(args.height) >= 1n << 64n) throw beaconErrors.beaconNotFound(`height "${args.height}" is not a u64`);
        return QueryBeaconRequest.encode({ height: BigInt(args.height) }).finish();
      },
      decodeResponse: (bytes) => {
        const { beacon } = QueryBeaconResponse.decode(bytes);
        return { beacon: beacon === undefined ? null : beaconToJson(beacon) };
      },
    },
  ],
  registryTypes: [],
};
