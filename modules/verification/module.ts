import type { AppModule, ModuleParams } from '../../app/core/module.ts';
import { sdkErrors } from '../../app/core/errors.ts';
import { paginateArray } from '../../app/core/pagination.ts';
import { GenesisState } from '../../proto/gen/r3mes/verification/v1/genesis.ts';
import { decodeAddress } from '../../app/core/address.ts';
import {
  QueryChecksByVerifierRequest, QueryChecksByVerifierResponse, QueryDisputeRequest, QueryDisputeResponse, QueryDisputesRequest, QueryDisputesResponse, QueryOpenDisputesRequest, QueryOpenDisputesResponse, QueryPanelRequest, QueryPanelResponse,
  QueryParamsResponse, QuerySubmissionRequest, QuerySubmissionResponse, QueryVotesRequest, QueryVotesResponse,
} from '../../proto/gen/r3mes/verification/v1/query.ts';
import { DisputeStage } from '../../proto/gen/r3mes/verification/v1/types.ts';
import { verificationErrors } from './errors.ts';
import { defaultGenesis, exportGenesis, initGenesis, parseGenesis } from './genesis.ts';
import { MODULE_NAME, type VerificationKeeper } from './keeper.ts';
import { verificationMsgHandlers } from './msgs.ts';
import { paramsFromJson, paramsToJson } from './params.ts';

export const QUERY_PATHS = {
  params: '/r3mes.verification.v1.Query/Params',
  dispute: '/r3mes.verification.v1.Query/Dispute',
  openDisputes: '/r3mes.verification.v1.Query/OpenDisputes',
  disputes: '/r3mes.verification.v1.Query/Disputes',
  panel: '/r3mes.verification.v1.Query/Panel',
  votes: '/r3mes.verification.v1.Query/Votes',
  submission: '/r3mes.verification.v1.Query/Submission',
  checksByVerifier: '/r3mes.verification.v1.Query/ChecksByVerifier',
} as const;

/** Governance's view of the params: the JSON form of README "Params". */
export function verificationParams(keeper: VerificationKeeper): ModuleParams {
  return {
    get: (store) => paramsToJson(keeper.params(store)),
    set: (store, value) => keeper.setParams(store, paramsFromJson(value)),
  };
}

/** Genesis is the protobuf JSON of r3mes.verification.v1.GenesisState. */
export function verificationModule(keeper: VerificationKeeper): AppModule<unknown> {
  const requireDispute = (store: Parameters<VerificationKeeper['dispute']>[0], id: bigint) => {
    const dispute = keeper.dispute(store, id);
    if (dispute === undefined) throw verificationErrors.disputeNotFound(`dispute ${id}`);
    return dispute;
  };
  return {
    name: MODULE_NAME,
    msgs: verificationMsgHandlers(keeper),
    queries: {
      [QUERY_PATHS.params]: (store) => QueryParamsResponse.encode({ params: keeper.params(store) }).finish(),
      [QUERY_PATHS.dispute]: (store, data) => {
        const { disputeId } = QueryDisputeRequest.decode(data);
        return QueryDisputeResponse.encode({ dispute: requireDispute(store, disputeId) }).finish();
      },
      [QUERY_PATHS.openDisputes]: (store, data) => {
        const page = keeper.disputesPage(store, 'open', QueryOpenDisputesRequest.decode(data).pagination);
        return QueryOpenDisputesResponse.encode({ disputes: page.items, pagination: page.pagination }).finish();
      },
      [QUERY_PATHS.disputes]: (store, data) => {
        const { status, pagination } = QueryDisputesRequest.decode(data);
        const filter = status === '' ? 'all' : status;
        if (filter !== 'open' && filter !== 'resolved' && filter !== 'all') throw sdkErrors.invalidRequest(`status "${status}" is not open, resolved or all`);
        const page = keeper.disputesPage(store, filter, pagination);
        return QueryDisputesResponse.encode({ disputes: page.items, pagination: page.pagination }).finish();
      },
      [QUERY_PATHS.panel]: (store, data) => {
        const { disputeId } = QueryPanelRequest.decode(data);
        const dispute = requireDispute(store, disputeId);
        const voting = dispute.stage === DisputeStage.DISPUTE_STAGE_L3_VOTING;
        return QueryPanelResponse.encode({
          disputeId, round: dispute.l3Round, deadlineHeight: voting ? dispute.nextActionHeight : 0n, seats: dispute.panel,
          draws: dispute.draws,
        }).finish();
      },
      [QUERY_PATHS.votes]: (store, data) => {
        const { disputeId, pagination } = QueryVotesRequest.decode(data);
        // Computed from the dispute record (seats in draw order): paged by position, key u64be(index).
        const page = paginateArray(requireDispute(store, disputeId).panel.filter((seat) => seat.voted), pagination);
        return QueryVotesResponse.encode({ votes: page.items, pagination: page.pagination }).finish();
      },
      [QUERY_PATHS.submission]: (store, data) => {
        const { submissionId } = QuerySubmissionRequest.decode(data);
        return QuerySubmissionResponse.encode({
          submissionId, l1Check: keeper.l1Check(store, submissionId), disputes: keeper.submissionDisputes(store, submissionId),
          held: keeper.isHeld(store, submissionId),
        }).finish();
      },
      [QUERY_PATHS.checksByVerifier]: (store, data) => {
        const { verifier, startAfter, limit } = QueryChecksByVerifierRequest.decode(data);
        decodeAddress(verifier, 'verifier');
        return QueryChecksByVerifierResponse.encode(keeper.pendingChecksByVerifier(store, verifier, startAfter, limit)).finish();
      },
    },
    params: verificationParams(keeper),
    endBlock: (ctx) => keeper.endBlock(ctx),
    defaultGenesis: () => GenesisState.toJSON(defaultGenesis()),
    initGenesis(store, genesis) {
      if (typeof genesis !== 'object' || genesis === null) throw sdkErrors.invalidRequest('verification genesis must be a JSON object');
      initGenesis(keeper, store, parseGenesis(genesis));
    },
    exportGenesis: (store) => GenesisState.toJSON(exportGenesis(keeper, store)),
  };
}
