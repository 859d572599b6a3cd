/**
 * How subnet appears to users: `r3mesd tx subnet submit-activation`, `r3mesd query subnet ...`,
 * REST `GET /r3mes/subnet/v1/...` and the CosmJS Registry entry.
 */
import { pageRequestMessage } from '../../app/core/pagination.ts';
import type { ModuleInterface } from '../../app/core/module.ts';
import {
  QueryActivationsRequest, QueryActivationsResponse, QueryAssignmentRequest, QueryAssignmentResponse,
  QueryParamsRequest, QueryParamsResponse, QuerySubnetsRequest, QuerySubnetsResponse,
} from '../../proto/gen/r3mes/subnet/v1/query.ts';
import { MsgSubmitActivation } from '../../proto/gen/r3mes/subnet/v1/tx.ts';
import { hexArg, uintArg } from '../../app/core/args.ts';
import { QUERY_PATHS } from './module.ts';
import { SUBMIT_ACTIVATION_TYPE_URL } from './msgs.ts';

export const subnetInterface: ModuleInterface = {
  module: 'subnet',
  txs: [
    {
      name: 'submit-activation',
      description: 'Hand an activation from your subnet k to subnet k+1',
      args: ['window-id', 'subnet', 'activation-cid', 'activation-hash'],
      typeUrl: SUBMIT_ACTIVATION_TYPE_URL,
      build: (signer, args) => MsgSubmitActivation.fromPartial({
        miner: signer,
        windowId: uintArg(args['window-id'], 'window-id'),
        subnet: uintArg(args.subnet, 'subnet'),
        activationCid: args['activation-cid'],
        activationHash: hexArg(args['activation-hash'], 'activation-hash'),
      }),
    },
  ],
  queries: [
    {
      name: 'params', description: 'Subnet parameters', args: [], path: QUERY_PATHS.params, rest: '/r3mes/subnet/v1/params',
      encodeRequest: () => QueryParamsRequest.encode({}).finish(),
      decodeResponse: (bytes) => QueryParamsResponse.toJSON(QueryParamsResponse.decode(bytes)),
    },
    {
      name: 'subnets', description: 'Layer ranges of a model version (0 = the active one)', args: ['model_version'],
      path: QUERY_PATHS.subnets, rest: '/r3mes/subnet/v1/subnets/{model_version}',
      paginated: true,
      encodeRequest: (args, input) => QuerySubnetsRequest.encode({ modelVersion: uintArg(args.model_version, 'model_version'), pagination: pageRequestMessage(input?.pagination) }).finish(),
      decodeResponse: (bytes) => QuerySubnetsResponse.toJSON(QuerySubnetsResponse.decode(bytes)),
    },
    {
      name: 'assignment', description: 'The subnet (and its layers) a window assigns to a miner', args: ['window_id', 'miner'],
      path: QUERY_PATHS.assignment, rest: '/r3mes/subnet/v1/windows/{window_id}/assignment/{miner}',
      encodeRequest: (args) => QueryAssignmentRequest.encode({ windowId: uintArg(args.window_id, 'window_id'), miner: args.miner ?? '' }).finish(),
      decodeResponse: (bytes) => QueryAssignmentResponse.toJSON(QueryAssignmentResponse.decode(bytes)),
    },
    {
      name: 'activations', description: 'Activations handed in a window', args: ['window_id'],
      path: QUERY_PATHS.activations, rest: '/r3mes/subnet/v1/windows/{window_id}/activations',
      paginated: true,
      encodeRequest: (args, input) => QueryActivationsRequest.encode({ windowId: uintArg(args.window_id, 'window_id'), pagination: pageRequestMessage(input?.pagination) }).finish(),
      decodeResponse: (bytes) => QueryActivationsResponse.toJSON(QueryActivationsResponse.decode(bytes)),
    },
  ],
  registryTypes: [[SUBMIT_ACTIVATION_TYPE_URL, MsgSubmitActivation]],
};
