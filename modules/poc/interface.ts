/**
 * How poc appears to users: `r3mesd tx poc submit-batch|commit|verdict|arbiter-vote`, `r3mesd query poc
 * ...`, REST `GET /r3mes/poc/v1/...` and the CosmJS Registry entries.
 */
import { pageRequestMessage } from '../../app/core/pagination.ts';
import type { ModuleInterface } from '../../app/core/module.ts';
import { sdkErrors } from '../../app/core/errors.ts';
import {
  QueryBatchesRequest, QueryBatchesResponse, QueryChecksRequest, QueryChecksResponse, QueryDisputeRequest, QueryDisputeResponse,
  QueryEpochRequest, QueryEpochResponse, QueryMinerEpochRequest, QueryMinerEpochResponse, QueryParamsRequest, QueryParamsResponse,
  QueryWeightsRequest, QueryWeightsResponse,
} from '../../proto/gen/r3mes/poc/v1/query.ts';
import { MsgPocArbiterVote, MsgPocCommit, MsgPocVerdict, MsgSubmitPocBatch } from '../../proto/gen/r3mes/poc/v1/tx.ts';
import { hexArg, uintArg } from '../../app/core/args.ts';
import { QUERY_PATHS } from './module.ts';
import { POC_ARBITER_VOTE_TYPE_URL, POC_COMMIT_TYPE_URL, POC_VERDICT_TYPE_URL, SUBMIT_POC_BATCH_TYPE_URL } from './msgs.ts';

/** `claims` on the command line: "nonce:distance,nonce:distance,…" (decimal). */
export function parseClaims(text: string | undefined): Array<{ nonce: bigint; distance: bigint }> {
  if (text === undefined || text === '') throw sdkErrors.invalidRequest('claims must be "nonce:distance,…", got nothing');
  return text.split(',').map((pair, i) => {
    const [nonce, distance, extra] = pair.split(':');
    if (extra !== undefined) throw sdkErrors.invalidRequest(`claim ${i} "${pair}" is not nonce:distance`);
    return { nonce: uintArg(nonce, `claim ${i} nonce`), distance: uintArg(distance, `claim ${i} distance`) };
  });
}

export const pocInterface: ModuleInterface = {
  module: 'poc',
  txs: [
    {
      name: 'submit-batch',
      description: 'Submit PoC claims of an epoch: claims as "nonce:distance,…", ascending by nonce',
      args: ['epoch', 'claims'],
      typeUrl: SUBMIT_POC_BATCH_TYPE_URL,
      build: (signer, args) => MsgSubmitPocBatch.fromPartial({ miner: signer, epoch: uintArg(args.epoch, 'epoch'), claims: parseClaims(args.claims) }),
    },
    {
      name: 'verdict',
      description: 'As a drawn verifier, reveal the recomputed distance of a check and the salt of its commitment (hex)',
      args: ['epoch', 'miner', 'nonce', 'distance', 'salt'],
      typeUrl: POC_VERDICT_TYPE_URL,
      build: (signer, args) => MsgPocVerdict.fromPartial({
        verifier: signer, epoch: uintArg(args.epoch, 'epoch'), miner: args.miner ?? '', nonce: uintArg(args.nonce, 'nonce'),
        distanceRecomputed: uintArg(args.distance, 'distance'), salt: hexArg(args.salt, 'salt'),
      }),
    },
    {
      name: 'commit',
      description: 'As a drawn verifier, commit to the recomputed distance of a check (32-byte hex, modules/poc README)',
      args: ['epoch', 'miner', 'nonce', 'commitment'],
      typeUrl: POC_COMMIT_TYPE_URL,
      build: (signer, args) => MsgPocCommit.fromPartial({
        verifier: signer, epoch: uintArg(args.epoch, 'epoch'), miner: args.miner ?? '', nonce: uintArg(args.nonce, 'nonce'),
        commitment: hexArg(args.commitment, 'commitment'),
      }),
    },
    {
      name: 'arbiter-vote',
      description: 'As an L3 arbiter of a PoC dispute, report the recomputed distance',
      args: ['dispute-id', 'distance'],
      typeUrl: POC_ARBITER_VOTE_TYPE_URL,
      build: (signer, args) => MsgPocArbiterVote.fromPartial({
        arbiter: signer, disputeId: uintArg(args['dispute-id'], 'dispute-id'), distanceRecomputed: uintArg(args.distance, 'distance'),
      }),
    },
  ],
  queries: [
    {
      name: 'params', description: 'PoC parameters', args: [], path: QUERY_PATHS.params, rest: '/r3mes/poc/v1/params',
      encodeRequest: () => QueryParamsRequest.encode({}).finish(),
      decodeResponse: (bytes) => QueryParamsResponse.toJSON(QueryParamsResponse.decode(bytes)),
    },
    {
      name: 'epoch', description: 'A PoC epoch (default: the current or latest): seed (hex), phase, heights, model', args: [],
      path: QUERY_PATHS.epoch, rest: '/r3mes/poc/v1/epoch',
      filters: [{ name: 'epoch', description: 'the epoch id (0 or absent: the current or latest epoch)' }],
      encodeRequest: (_args, input) => {
        const id = input?.filters?.epoch;
        return QueryEpochRequest.encode({ epoch: id === undefined || id === '' ? 0n : uintArg(id, 'epoch') }).finish();
      },
      decodeResponse: (bytes) => QueryEpochResponse.toJSON(QueryEpochResponse.decode(bytes)),
    },
    {
      name: 'batches', description: "A miner's batches in an epoch", args: ['epoch', 'miner'],
      path: QUERY_PATHS.batches, rest: '/r3mes/poc/v1/epochs/{epoch}/batches/{miner}',
      paginated: true,
      encodeRequest: (args, input) => QueryBatchesRequest.encode({ epoch: uintArg(args.epoch, 'epoch'), miner: args.miner ?? '', pagination: pageRequestMessage(input?.pagination) }).finish(),
      decodeResponse: (bytes) => QueryBatchesResponse.toJSON(QueryBatchesResponse.decode(bytes)),
    },
    {
      name: 'miner-epoch', description: "A miner's claims, status and weight in an epoch", args: ['epoch', 'miner'],
      path: QUERY_PATHS.minerEpoch, rest: '/r3mes/poc/v1/epochs/{epoch}/miners/{miner}',
      encodeRequest: (args) => QueryMinerEpochRequest.encode({ epoch: uintArg(args.epoch, 'epoch'), miner: args.miner ?? '' }).finish(),
      decodeResponse: (bytes) => QueryMinerEpochResponse.toJSON(QueryMinerEpochResponse.decode(bytes)),
    },
    {
      name: 'checks', description: 'The sampled claims of an epoch and their verifiers', args: ['epoch'],
      path: QUERY_PATHS.checks, rest: '/r3mes/poc/v1/epochs/{epoch}/checks',
      paginated: true,
      encodeRequest: (args, input) => QueryChecksRequest.encode({ epoch: uintArg(args.epoch, 'epoch'), pagination: pageRequestMessage(input?.pagination) }).finish(),
      decodeResponse: (bytes) => QueryChecksResponse.toJSON(QueryChecksResponse.decode(bytes)),
    },
    {
      name: 'dispute', description: 'A PoC dispute and its L3 panel', args: ['id'],
      path: QUERY_PATHS.dispute, rest: '/r3mes/poc/v1/disputes/{id}',
      encodeRequest: (args) => QueryDisputeRequest.encode({ id: uintArg(args.id, 'id') }).finish(),
      decodeResponse: (bytes) => QueryDisputeResponse.toJSON(QueryDisputeResponse.decode(bytes)),
    },
    {
      name: 'weights', description: 'The compute weights in force', args: [],
      path: QUERY_PATHS.weights, rest: '/r3mes/poc/v1/weights',
      paginated: true,
      encodeRequest: (_args, input) => QueryWeightsRequest.encode({ pagination: pageRequestMessage(input?.pagination) }).finish(),
      decodeResponse: (bytes) => QueryWeightsResponse.toJSON(QueryWeightsResponse.decode(bytes)),
    },
  ],
  registryTypes: [
    [SUBMIT_POC_BATCH_TYPE_URL, MsgSubmitPocBatch],
    [POC_VERDICT_TYPE_URL, MsgPocVerdict],
    [POC_ARBITER_VOTE_TYPE_URL, MsgPocArbiterVote],
    [POC_COMMIT_TYPE_URL, MsgPocCommit],
  ],
};
