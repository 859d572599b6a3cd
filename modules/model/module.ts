import type { AppModule, ModuleParams } from '../../app/core/module.ts';
import {
  QueryActiveVersionRequest, QueryActiveVersionResponse, QueryParamsResponse, QueryProposalRequest, QueryProposalResponse,
  QueryProposalsRequest, QueryProposalsResponse, QueryTallyRequest, QueryTallyResponse, QueryVersionRequest,
  QueryVersionResponse, QueryVersionsRequest, QueryVersionsResponse, QueryVotesRequest, QueryVotesResponse,
  QueryDatasetRequest, QueryDatasetResponse, QueryDatasetsRequest, QueryDatasetsResponse, QueryVersionDatasetRequest,
  QueryVersionDatasetResponse,
} from '../../proto/gen/r3mes/model/v1/query.ts';
import { ProposalStatus } from '../../proto/gen/r3mes/model/v1/types.ts';
import { modelErrors } from './errors.ts';
import { defaultModelGenesis, exportModelGenesis, initModelGenesis, type ModelGenesis } from './genesis.ts';
import { type ModelKeeper, MODULE_NAME, tallyToProto } from './keeper.ts';
import { msgSubmitProposalHandler, msgVoteHandler } from './msgs.ts';
import { paramsFromJson, paramsToJson } from './params.ts';

export const MODEL_QUERY = '/r3mes.model.v1.Query';

/** The model module's params as governance sees them: the JSON of `paramsToJson`, replaced as a whole. */
export function modelParams(keeper: ModelKeeper): ModuleParams {
  return {
    get: (store) => paramsToJson(keeper.getParams(store)),
    set: (store, value) => keeper.setParams(store, paramsFromJson(value)),
  };
}

export function modelModule(keeper: ModelKeeper): AppModule<ModelGenesis> {
  const proposalOrThrow = (store: Parameters<ModelKeeper['proposal']>[0], id: bigint) => {
    const proposal = keeper.proposal(store, id);
    if (proposal === undefined) throw modelErrors.unknownProposal(`proposal ${id}`);
    return proposal;
  };
  return {
    name: MODULE_NAME,
    msgs: [msgSubmitProposalHandler(keeper), msgVoteHandler(keeper)] as AppModule['msgs'],
    queries: {
      [`${MODEL_QUERY}/Params`]: (store) => QueryParamsResponse.encode({ params: keeper.getParams(store) }).finish(),
      [`${MODEL_QUERY}/Versions`]: (store, data) => {
        const { items, pagination } = keeper.versionsPage(store, QueryVersionsRequest.decode(data).pagination);
        return QueryVersionsResponse.encode({ versions: items, pagination }).finish();
      },
      [`${MODEL_QUERY}/Version`]: (store, data) => {
        const { number } = QueryVersionRequest.decode(data);
        const version = keeper.version(store, number);
        if (version === undefined) throw modelErrors.unknownVersion(`version ${number}`);
        return QueryVersionResponse.encode({ version }).finish();
      },
      [`${MODEL_QUERY}/ActiveVersion`]: (store, data) => {
        QueryActiveVersionRequest.decode(data);
        return QueryActiveVersionResponse.encode({ active: keeper.activeVersion(store), migrating: keeper.migratingVersion(store) }).finish();
      },
      [`${MODEL_QUERY}/Proposals`]: (store, data) => {
        const { status, pagination } = QueryProposalsRequest.decode(data);
        const page = keeper.proposalsPage(store, status, pagination);
        return QueryProposalsResponse.encode({ proposals: page.items, pagination: page.pagination }).finish();
      },
      [`${MODEL_QUERY}/Proposal`]: (store, data) => {
        const { proposalId } = QueryProposalRequest.decode(data);
        return QueryProposalResponse.encode({ proposal: proposalOrThrow(store, proposalId) }).finish();
      },
      [`${MODEL_QUERY}/Votes`]: (store, data) => {
        const { proposalId, pagination } = QueryVotesRequest.decode(data);
        proposalOrThrow(store, proposalId);
        const page = keeper.votesPage(store, proposalId, pagination);
        return QueryVotesResponse.encode({ votes: page.items, pagination: page.pagination }).finish();
      },
      [`${MODEL_QUERY}/Tally`]: (store, data) => {
        const { proposalId } = QueryTallyRequest.decode(data);
        const proposal = proposalOrThrow(store, proposalId);
        const tally = proposal.status === ProposalStatus.PROPOSAL_STATUS_VOTING_PERIOD ? tallyToProto(keeper.tally(store, proposalId)) : proposal.finalTally;
        return QueryTallyResponse.encode({ tally }).finish();
      },
      [`${MODEL_QUERY}/Datasets`]: (store, data) => {
        const { items, pagination } = keeper.datasetsPage(store, QueryDatasetsRequest.decode(data).pagination);
        return QueryDatasetsResponse.encode({ datasets: items, pagination }).finish();
      },
      [`${MODEL_QUERY}/Dataset`]: (store, data) => {
        const { id } = QueryDatasetRequest.decode(data);
        const dataset = keeper.dataset(store, id);
        if (dataset === undefined) throw modelErrors.unknownDataset(`dataset ${id}`);
        return QueryDatasetResponse.encode({ dataset }).finish();
      },
      [`${MODEL_QUERY}/VersionDataset`]: (store, data) => {
        const { number } = QueryVersionDatasetRequest.decode(data);
        if (keeper.version(store, number) === undefined) throw modelErrors.unknownVersion(`version ${number}`);
        const dataset = keeper.datasetForVersion(store, number);
        if (dataset === undefined) throw modelErrors.unknownDataset(`no dataset is registered for version ${number}`);
        return QueryVersionDatasetResponse.encode({ dataset }).finish();
      },
    },
    params: modelParams(keeper),
    defaultGenesis: defaultModelGenesis,
    initGenesis: (store, genesis) => initModelGenesis(keeper, store, genesis),
    exportGenesis: (store) => exportModelGenesis(keeper, store),
    endBlock: (ctx) => keeper.endBlock(ctx),
  };
}
