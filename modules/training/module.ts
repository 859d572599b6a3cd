import type { AppModule, ModuleParams } from '../../app/core/module.ts';
import { sdkErrors } from '../../app/core/errors.ts';
import { decodeAddress } from '../../app/core/address.ts';
import { GenesisState } from '../../proto/gen/r3mes/training/v1/genesis.ts';
import {
  QueryAggregationRequest, QueryAggregationResponse, QueryAssignmentRequest, QueryAssignmentResponse,
  QueryCurrentWindowResponse, QueryParamsResponse, QuerySubmissionRequest, QuerySubmissionResponse,
  QueryWindowRequest, QueryWindowResponse, QueryWindowSubmissionsRequest, QueryWindowSubmissionsResponse,
  QueryWindowsRequest, QueryWindowsResponse, QueryMinerSubmissionsRequest, QueryMinerSubmissionsResponse,
  QueryCheckpointsRequest, QueryCheckpointsResponse, QueryLatestCheckpointRequest, QueryLatestCheckpointResponse,
} from '../../proto/gen/r3mes/training/v1/query.ts';
import { WindowStatus } from '../../proto/gen/r3mes/training/v1/types.ts';
import { trainingErrors } from './errors.ts';
import { defaultGenesis, exportGenesis, initGenesis, parseGenesis } from './genesis.ts';
import type { TrainingKeeper } from './keeper.ts';
import { msgCommitAggregationHandler, msgRevealAggregationHandler, msgSubmitGradientHandler } from './msgs.ts';
import { paramsFromJson, paramsToJson } from './params.ts';

export const QUERY_PATHS = {
  params: '/r3mes.training.v1.Query/Params',
  window: '/r3mes.training.v1.Query/Window',
  currentWindow: '/r3mes.training.v1.Query/CurrentWindow',
  submission: '/r3mes.training.v1.Query/Submission',
  windowSubmissions: '/r3mes.training.v1.Query/WindowSubmissions',
  aggregation: '/r3mes.training.v1.Query/Aggregation',
  assignment: '/r3mes.training.v1.Query/Assignment',
  windows: '/r3mes.training.v1.Query/Windows',
  minerSubmissions: '/r3mes.training.v1.Query/MinerSubmissions',
  checkpoints: '/r3mes.training.v1.Query/Checkpoints',
  latestCheckpoint: '/r3mes.training.v1.Query/LatestCheckpoint',
} as const;

/** The `status` filter of the windows list (empty or "all": every window). */
export const WINDOW_STATUS_FILTER: Readonly<Record<string, WindowStatus>> = {
  collecting: WindowStatus.WINDOW_STATUS_COLLECTING,
  aggregating: WindowStatus.WINDOW_STATUS_AGGREGATING,
  finalized: WindowStatus.WINDOW_STATUS_FINALIZED,
  failed: WindowStatus.WINDOW_STATUS_FAILED,
  not_applied: WindowStatus.WINDOW_STATUS_NOT_APPLIED,
};

function windowStatusFilter(status: string): WindowStatus | undefined {
  if (status === '' || status === 'all') return undefined;
  const found = WINDOW_STATUS_FILTER[status];
  if (found === undefined) throw sdkErrors.invalidRequest(`status "${status}" is not one of ${Object.keys(WINDOW_STATUS_FILTER).join(', ')} (or all)`);
  return found;
}

/** Governance's view of the params: the JSON form of README "Params". */
export function trainingParams(training: TrainingKeeper): ModuleParams {
  return {
    get: (store) => paramsToJson(training.params(store)),
    set(store, value) {
      const params = paramsFromJson(value);
      // Windows already open keep their phases: they too must end within the lookback once windows get shorter.
      const problem = training.lookbackProblem(store, params.windowBlocks);
      if (problem !== undefined) throw trainingErrors.invalidParams(problem);
      training.setParams(store, params);
    },
  };
}

/** Genesis is the protobuf JSON of r3mes.training.v1.GenesisState. */
export function trainingModule(training: TrainingKeeper): AppModule<unknown> {
  return {
    name: 'training',
    msgs: [
      msgSubmitGradientHandler(training), msgCommitAggregationHandler(training), msgRevealAggregationHandler(training),
    ] as AppModule['msgs'],
    queries: {
      [QUERY_PATHS.params]: (store) => QueryParamsResponse.encode({ params: training.params(store) }).finish(),
      [QUERY_PATHS.window]: (store, data) => {
        const { windowId } = QueryWindowRequest.decode(data);
        const window = training.window(store, windowId);
        if (window === undefined) throw trainingErrors.windowNotFound(`window ${windowId}`);
        return QueryWindowResponse.encode({ window }).finish();
      },
      [QUERY_PATHS.currentWindow]: (store) => QueryCurrentWindowResponse.encode({ window: training.currentWindow(store) }).finish(),
      [QUERY_PATHS.submission]: (store, data) => {
        const { submissionId } = QuerySubmissionRequest.decode(data);
        const submission = training.submission(store, submissionId);
        if (submission === undefined) throw trainingErrors.submissionNotFound(`submission ${submissionId}`);
        return QuerySubmissionResponse.encode({ submission }).finish();
      },
      [QUERY_PATHS.windowSubmissions]: (store, data) => {
        const { windowId, pagination } = QueryWindowSubmissionsRequest.decode(data);
        if (training.window(store, windowId) === undefined) throw trainingErrors.windowNotFound(`window ${windowId}`);
        const page = training.windowSubmissionsPage(store, windowId, pagination);
        return QueryWindowSubmissionsResponse.encode({ submissions: page.items, pagination: page.pagination }).finish();
      },
      [QUERY_PATHS.aggregation]: (store, data) => {
        const { windowId, pagination } = QueryAggregationRequest.decode(data);
        if (training.window(store, windowId) === undefined) throw trainingErrors.windowNotFound(`window ${windowId}`);
        const page = training.commitsPage(store, windowId, pagination);
        return QueryAggregationResponse.encode({ commits: page.items, pagination: page.pagination }).finish();
      },
      [QUERY_PATHS.windows]: (store, data) => {
        const { status, pagination } = QueryWindowsRequest.decode(data);
        const page = training.windowsPage(store, windowStatusFilter(status), pagination);
        return QueryWindowsResponse.encode({ windows: page.items, pagination: page.pagination }).finish();
      },
      [QUERY_PATHS.minerSubmissions]: (store, data) => {
        const { miner, pagination } = QueryMinerSubmissionsRequest.decode(data);
        decodeAddress(miner, 'miner');
        const page = training.minerSubmissionsPage(store, miner, pagination);
        return QueryMinerSubmissionsResponse.encode({ submissions: page.items, pagination: page.pagination }).finish();
      },
      [QUERY_PATHS.checkpoints]: (store, data) => {
        const { modelVersion, pagination } = QueryCheckpointsRequest.decode(data);
        const page = training.checkpointsPage(store, modelVersion, pagination);
        return QueryCheckpointsResponse.encode({ checkpoints: page.items, pagination: page.pagination }).finish();
      },
      [QUERY_PATHS.latestCheckpoint]: (store, data) => {
        const { modelVersion } = QueryLatestCheckpointRequest.decode(data);
        const checkpoint = training.latestCheckpoint(store, modelVersion);
        if (checkpoint === undefined) throw trainingErrors.checkpointNotFound(`model version ${modelVersion} has no checkpoint that is not rolled back`);
        return QueryLatestCheckpointResponse.encode({ checkpoint }).finish();
      },
      [QUERY_PATHS.assignment]: (store, data) => {
        const { windowId, miner } = QueryAssignmentRequest.decode(data);
        decodeAddress(miner, 'miner');
        const assignment = training.assignment(store, windowId, miner);
        return QueryAssignmentResponse.encode({ windowId, miner, ...assignment }).finish();
      },
    },
    params: trainingParams(training),
    beginBlock: (ctx) => training.beginBlock(ctx),
    defaultGenesis: () => GenesisState.toJSON(defaultGenesis()),
    initGenesis(store, genesis) {
      if (typeof genesis !== 'object' || genesis === null) throw sdkErrors.invalidRequest('training genesis must be a JSON object');
      initGenesis(training, store, parseGenesis(genesis));
    },
    exportGenesis: (store) => GenesisState.toJSON(exportGenesis(training, store)),
  };
}
