/**
 * How training appears to users: `r3mesd tx training ...`, `r3mesd query training ...`,
 * REST `GET /r3mes/training/v1/...` and the CosmJS Registry entries.
 */
import type { ModuleInterface, QueryRoute } from '../../app/core/module.ts';
import { hexArg, uintArg } from '../../app/core/args.ts';
import {
  QueryAggregationRequest, QueryAggregationResponse, QueryAssignmentRequest, QueryAssignmentResponse,
  QueryCurrentWindowRequest, QueryCurrentWindowResponse, QueryParamsRequest, QueryParamsResponse,
  QuerySubmissionRequest, QuerySubmissionResponse, QueryWindowRequest, QueryWindowResponse,
  QueryWindowSubmissionsRequest, QueryWindowSubmissionsResponse, QueryWindowsRequest, QueryWindowsResponse,
  QueryMinerSubmissionsRequest, QueryMinerSubmissionsResponse,
  QueryCheckpointsRequest, QueryCheckpointsResponse, QueryLatestCheckpointRequest, QueryLatestCheckpointResponse,
} from '../../proto/gen/r3mes/training/v1/query.ts';
import { pageRequestMessage } from '../../app/core/pagination.ts';
import { MsgCommitAggregation, MsgRevealAggregation, MsgSubmitGradient } from '../../proto/gen/r3mes/training/v1/tx.ts';
import { type Exclusion, ExclusionReason } from '../../proto/gen/r3mes/training/v1/types.ts';
import { sdkErrors } from '../../app/core/errors.ts';
import { QUERY_PATHS, WINDOW_STATUS_FILTER } from './module.ts';
import { TYPE_URLS } from './msgs.ts';

const REASONS: Record<string, ExclusionReason> = {
  unavailable: ExclusionReason.EXCLUSION_REASON_UNAVAILABLE,
  undecodable: ExclusionReason.EXCLUSION_REASON_UNDECODABLE,
  'wrong-model': ExclusionReason.EXCLUSION_REASON_WRONG_MODEL,
};

/** `--excluded 3:unavailable,7:wrong-model` → exclusions, in the order given (the chain checks it). */
export function exclusionsArg(text: string): Exclusion[] {
  if (text === '') return [];
  return text.split(',').map((item) => {
    const [id, reason, extra] = item.split(':');
    const code = reason === undefined ? undefined : REASONS[reason];
    if (extra !== undefined || code === undefined) throw sdkErrors.invalidRequest(`--excluded: "${item}" is not ID:REASON with REASON unavailable, undecodable or wrong-model`);
    return { submissionId: uintArg(id, 'excluded submission id'), reason: code };
  });
}

function route(
  name: string, description: string, args: string[], path: string, rest: string,
  encodeRequest: QueryRoute['encodeRequest'], decodeResponse: QueryRoute['decodeResponse'],
): QueryRoute {
  return { name, description, args, path, rest, encodeRequest, decodeResponse };
}

export const trainingInterface: ModuleInterface = {
  module: 'training',
  txs: [
    {
      name: 'submit-gradient',
      description: 'Submit a gradient (LoRA delta) for the chunk the window seed assigns to you',
      args: ['window-id', 'subnet', 'model-version', 'gradient-cid', 'gradient-hash', 'trace-root', 'chunk-index'],
      options: [
        { name: 'loss-before', description: 'loss before training, fixed-point integer', default: '0' },
        { name: 'loss-after', description: 'loss after training, fixed-point integer', default: '0' },
        { name: 'backend', description: 'backend that trained (webgpu, cpu, ...)', default: 'webgpu' },
      ],
      typeUrl: TYPE_URLS.submitGradient,
      build: (signer, args, options) => MsgSubmitGradient.fromPartial({
        miner: signer,
        windowId: uintArg(args['window-id'], 'window-id'),
        subnet: uintArg(args.subnet, 'subnet'),
        modelVersion: uintArg(args['model-version'], 'model-version'),
        gradientCid: args['gradient-cid'],
        gradientHash: hexArg(args['gradient-hash'], 'gradient-hash'),
        traceRoot: hexArg(args['trace-root'], 'trace-root'),
        chunkIndex: uintArg(args['chunk-index'], 'chunk-index'),
        lossBefore: uintArg(options['loss-before'] ?? '0', 'loss-before'),
        lossAfter: uintArg(options['loss-after'] ?? '0', 'loss-after'),
        backend: options.backend ?? 'webgpu',
      }),
    },
    {
      name: 'commit-aggregation',
      description: 'As a drawn aggregation proposer, commit sha256(result_cid ‖ result_hash ‖ nonce ‖ exclusions) (training README "Commit-reveal")',
      args: ['window-id', 'commitment'],
      typeUrl: TYPE_URLS.commitAggregation,
      build: (signer, args) => MsgCommitAggregation.fromPartial({
        proposer: signer, windowId: uintArg(args['window-id'], 'window-id'), commitment: hexArg(args.commitment, 'commitment'),
      }),
    },
    {
      name: 'reveal-aggregation',
      description: 'Reveal the committed aggregation result (result-cid and result-hash "" with every accepted submission excluded: nothing to aggregate)',
      args: ['window-id', 'result-cid', 'result-hash', 'nonce'],
      options: [
        { name: 'checkpoint-cid', description: 'the committed checkpoint CID, in a window that carries a checkpoint (README "Checkpoints")', default: '' },
        { name: 'checkpoint-hash', description: 'the committed checkpoint state hash (hex)', default: '' },
        { name: 'excluded', description: 'accepted submissions left out, ascending: ID:REASON,… with REASON unavailable, undecodable or wrong-model', default: '' },
        { name: 'loss-base', description: 'committed held-out loss of the window\'s base, Q16 nats per byte (Proof of Learning; 0 in a window without eval_chunks)', default: '0' },
        { name: 'loss-aggregate', description: 'committed held-out loss of base + result, Q16 nats per byte', default: '0' },
      ],
      typeUrl: TYPE_URLS.revealAggregation,
      build: (signer, args, options) => MsgRevealAggregation.fromPartial({
        proposer: signer, windowId: uintArg(args['window-id'], 'window-id'), resultCid: args['result-cid'],
        resultHash: args['result-cid'] === '' && args['result-hash'] === '' ? Buffer.alloc(0) : hexArg(args['result-hash'], 'result-hash'),
        nonce: hexArg(args.nonce, 'nonce'),
        excluded: exclusionsArg(options.excluded ?? ''),
        lossBase: uintArg(options['loss-base'] ?? '0', 'loss-base'),
        lossAggregate: uintArg(options['loss-aggregate'] ?? '0', 'loss-aggregate'),
        checkpointCid: options['checkpoint-cid'] ?? '',
        checkpointHash: (options['checkpoint-hash'] ?? '') === '' ? Buffer.alloc(0) : hexArg(options['checkpoint-hash'] ?? '', 'checkpoint-hash'),
      }),
    },
  ],
  queries: [
    route('params', 'Training parameters', [], QUERY_PATHS.params, '/r3mes/training/v1/params',
      () => QueryParamsRequest.encode({}).finish(), (bytes) => QueryParamsResponse.toJSON(QueryParamsResponse.decode(bytes))),
    route('window', 'A training window: status, seed, phases, proposers, result', ['window_id'], QUERY_PATHS.window, '/r3mes/training/v1/windows/{window_id}',
      (args) => QueryWindowRequest.encode({ windowId: uintArg(args.window_id, 'window_id') }).finish(),
      (bytes) => QueryWindowResponse.toJSON(QueryWindowResponse.decode(bytes))),
    route('current-window', 'The window now collecting submissions (empty when none)', [], QUERY_PATHS.currentWindow, '/r3mes/training/v1/current_window',
      () => QueryCurrentWindowRequest.encode({}).finish(), (bytes) => QueryCurrentWindowResponse.toJSON(QueryCurrentWindowResponse.decode(bytes))),
    route('submission', 'One gradient submission', ['submission_id'], QUERY_PATHS.submission, '/r3mes/training/v1/submissions/{submission_id}',
      (args) => QuerySubmissionRequest.encode({ submissionId: uintArg(args.submission_id, 'submission_id') }).finish(),
      (bytes) => QuerySubmissionResponse.toJSON(QuerySubmissionResponse.decode(bytes))),
    {
      ...route('windows', 'Windows by id (--reverse: newest first), all or those with --status', [], QUERY_PATHS.windows, '/r3mes/training/v1/windows',
        (_, input) => QueryWindowsRequest.encode({ status: input?.filters?.status ?? '', pagination: pageRequestMessage(input?.pagination) }).finish(),
        (bytes) => QueryWindowsResponse.toJSON(QueryWindowsResponse.decode(bytes))),
      paginated: true,
      filters: [{ name: 'status', description: 'only windows with this status', values: Object.keys(WINDOW_STATUS_FILTER) }],
    },
    {
      ...route('window-submissions', 'Submissions of a window, by id', ['window_id'], QUERY_PATHS.windowSubmissions, '/r3mes/training/v1/windows/{window_id}/submissions',
        (args, input) => QueryWindowSubmissionsRequest.encode({ windowId: uintArg(args.window_id, 'window_id'), pagination: pageRequestMessage(input?.pagination) }).finish(),
        (bytes) => QueryWindowSubmissionsResponse.toJSON(QueryWindowSubmissionsResponse.decode(bytes))),
      paginated: true,
    },
    {
      ...route('miner-submissions', 'A miner\'s submissions in every window, by id', ['miner'], QUERY_PATHS.minerSubmissions, '/r3mes/training/v1/miners/{miner}/submissions',
        (args, input) => QueryMinerSubmissionsRequest.encode({ miner: args.miner ?? '', pagination: pageRequestMessage(input?.pagination) }).finish(),
        (bytes) => QueryMinerSubmissionsResponse.toJSON(QueryMinerSubmissionsResponse.decode(bytes))),
      paginated: true,
    },
    {
      ...route('aggregation', 'Commitments and reveals of a window\'s aggregation proposers, by proposer', ['window_id'], QUERY_PATHS.aggregation, '/r3mes/training/v1/windows/{window_id}/aggregation',
        (args, input) => QueryAggregationRequest.encode({ windowId: uintArg(args.window_id, 'window_id'), pagination: pageRequestMessage(input?.pagination) }).finish(),
        (bytes) => QueryAggregationResponse.toJSON(QueryAggregationResponse.decode(bytes))),
      paginated: true,
    },
    {
      ...route('checkpoints', 'Checkpoints of the model head by (model version, through window) (--model_version V: one version)', [], QUERY_PATHS.checkpoints, '/r3mes/training/v1/checkpoints',
        (_, input) => QueryCheckpointsRequest.encode({
          modelVersion: uintArg(input?.filters?.model_version ?? '0', 'model_version'), pagination: pageRequestMessage(input?.pagination),
        }).finish(),
        (bytes) => QueryCheckpointsResponse.toJSON(QueryCheckpointsResponse.decode(bytes))),
      paginated: true,
      filters: [{ name: 'model_version', description: 'only checkpoints of this model version (0 or absent: every version)' }],
    },
    route('latest-checkpoint', 'The latest checkpoint of a model version that is not rolled back (training 34 when none)', ['model_version'], QUERY_PATHS.latestCheckpoint,
      '/r3mes/training/v1/models/{model_version}/latest_checkpoint',
      (args) => QueryLatestCheckpointRequest.encode({ modelVersion: uintArg(args.model_version, 'model_version') }).finish(),
      (bytes) => QueryLatestCheckpointResponse.toJSON(QueryLatestCheckpointResponse.decode(bytes))),
    route('assignment', 'Subnet, next ordinal and chunk a miner must train in a window', ['window_id', 'miner'], QUERY_PATHS.assignment, '/r3mes/training/v1/windows/{window_id}/assignment/{miner}',
      (args) => QueryAssignmentRequest.encode({ windowId: uintArg(args.window_id, 'window_id'), miner: args.miner ?? '' }).finish(),
      (bytes) => QueryAssignmentResponse.toJSON(QueryAssignmentResponse.decode(bytes))),
  ],
  registryTypes: [
    [TYPE_URLS.submitGradient, MsgSubmitGradient],
    [TYPE_URLS.commitAggregation, MsgCommitAggregation],
    [TYPE_URLS.revealAggregation, MsgRevealAggregation],
  ],
};
