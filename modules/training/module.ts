import type { AppModule, ModuleParams } from '../../app/core/module.ts';
import { sdkErrors } from '../../app/core/errors.ts';
import { decodeAddress } from '../../app/core/address.ts';
import { GenesisState } from '../../proto/gen/r3mes/training/v1/genesis.ts';
import {
  QueryAggregationRequest, QueryAggregationResponse, QueryAssignmentRequest, QueryAssignmentResponse,
  QueryCurrentWindowResponse, QueryParamsResponse, QuerySubmissionRequest, QuerySubmissionResponse,
  QueryWindowRequest, QueryWindowResponse, QueryWindowSubmissionsRequest, QueryWindowSubmissionsResponse,
} from '../../proto/gen/r3mes/training/v1/query.ts';
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
} as const;

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
        const { windowId } = QueryWindowSubmissionsRequest.decode(data);
        if (training.window(store, windowId) === undefined) throw trainingErrors.windowNotFound(`window ${windowId}`);
        return QueryWindowSubmissionsResponse.encode({ submissions: training.windowSubmissions(store, windowId) }).finish();
      },
      [QUERY_PATHS.aggregation]: (store, data) => {
        const { windowId } = QueryAggregationRequest.decode(data);
        if (training.window(store, windowId) === undefined) throw trainingErrors.windowNotFound(`window ${windowId}`);
        return QueryAggregationResponse.encode({ commits: training.commits(store, windowId) }).finish();
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
