/**
 * How verification appears to users: `r3mesd tx verification ...`, `r3mesd query verification
 * ...`, REST `GET /r3mes/verification/v1/...` and the CosmJS Registry entries.
 */
import type { ModuleInterface, QueryRoute } from '../../app/core/module.ts';
import { hexArg, uintArg } from '../../app/core/args.ts';
import { pageRequestMessage } from '../../app/core/pagination.ts';
import {
  QueryChecksByVerifierRequest, QueryChecksByVerifierResponse, QueryDisputeRequest, QueryDisputeResponse, QueryDisputesRequest, QueryDisputesResponse, QueryOpenDisputesRequest, QueryOpenDisputesResponse, QueryPanelRequest,
  QueryPanelResponse, QueryParamsRequest, QueryParamsResponse, QuerySubmissionRequest, QuerySubmissionResponse,
  QueryVotesRequest, QueryVotesResponse,
} from '../../proto/gen/r3mes/verification/v1/query.ts';
import { MsgArbiterVote, MsgBisectRespond, MsgBisectReveal, MsgChallenge, MsgReportUnavailable, MsgSubmitVerification } from '../../proto/gen/r3mes/verification/v1/tx.ts';
import { MODULE_NAME } from './keeper.ts';
import { QUERY_PATHS } from './module.ts';
import { TYPE_URLS } from './msgs.ts';

function route(
  name: string, description: string, args: string[], path: string, rest: string,
  encodeRequest: QueryRoute['encodeRequest'], decodeResponse: QueryRoute['decodeResponse'],
): QueryRoute {
  return { name, description, args, path, rest, encodeRequest, decodeResponse };
}

const byDispute = (args: Readonly<Record<string, string>>) => ({ disputeId: uintArg(args.dispute_id, 'dispute_id') });

export const verificationInterface: ModuleInterface = {
  module: MODULE_NAME,
  txs: [
    {
      name: 'submit-verification',
      description: 'As the drawn L1 or L2 verifier: commit (--commitment) to the gradient hash your re-execution produced, then, in a later block, reveal it (result-hash and --salt)',
      args: ['submission-id', 'result-hash'],
      options: [
        { name: 'salt', description: 'reveal: the 32-byte salt of your commitment (hex)', default: '' },
        { name: 'commitment', description: 'commit: sha256(u8(len(domain)) ‖ domain ‖ result_hash ‖ salt ‖ verifier) (hex); result-hash is then ignored', default: '' },
      ],
      typeUrl: TYPE_URLS.submitVerification,
      build: (signer, args, options) => {
        const submissionId = uintArg(args['submission-id'], 'submission-id');
        if ((options?.commitment ?? '') !== '') return MsgSubmitVerification.fromPartial({ verifier: signer, submissionId, commitment: hexArg(options.commitment, 'commitment') });
        return MsgSubmitVerification.fromPartial({
          verifier: signer, submissionId, resultHash: hexArg(args['result-hash'], 'result-hash'),
          salt: (options?.salt ?? '') === '' ? Buffer.alloc(0) : hexArg(options.salt, 'salt'),
        });
      },
    },
    {
      name: 'challenge',
      description: 'Dispute a pending submission, bonding at least challenge_bond_multiplier × base reward (ur3mes)',
      args: ['submission-id', 'bond'],
      typeUrl: TYPE_URLS.challenge,
      build: (signer, args) => MsgChallenge.fromPartial({
        challenger: signer, submissionId: uintArg(args['submission-id'], 'submission-id'), bond: (args.bond ?? '').replace(/ur3mes$/, ''),
      }),
    },
    {
      name: 'arbiter-vote',
      description: 'As an L3 panel arbiter, vote with your CPU re-execution result (or --unavailable true)',
      args: ['dispute-id'],
      options: [
        { name: 'result-hash', description: 'the gradient hash your CPU re-execution produced (hex)', default: '' },
        { name: 'unavailable', description: 'vote that the miner did not serve the gradient (true/false)', default: 'false' },
        { name: 'salt', description: 'reveal: the 32-byte salt of your commitment (hex)', default: '' },
        { name: 'commitment', description: 'commit: sha256(u8(len(domain)) ‖ domain ‖ result_hash (32 zero bytes if unavailable) ‖ salt ‖ arbiter) (hex)', default: '' },
      ],
      typeUrl: TYPE_URLS.arbiterVote,
      build: (signer, args, options) => {
        const disputeId = uintArg(args['dispute-id'], 'dispute-id');
        if ((options.commitment ?? '') !== '') return MsgArbiterVote.fromPartial({ arbiter: signer, disputeId, commitment: hexArg(options.commitment, 'commitment') });
        const unavailable = options.unavailable === 'true';
        return MsgArbiterVote.fromPartial({
          arbiter: signer, disputeId, unavailable,
          resultHash: unavailable || (options['result-hash'] ?? '') === '' ? Buffer.alloc(0) : hexArg(options['result-hash'], 'result-hash'),
          salt: (options.salt ?? '') === '' ? Buffer.alloc(0) : hexArg(options.salt, 'salt'),
        });
      },
    },
    {
      name: 'report-unavailable',
      description: 'As a drawn verifier or arbiter, report that the miner does not serve the submission\'s gradient CID',
      args: ['submission-id'],
      typeUrl: TYPE_URLS.reportUnavailable,
      build: (signer, args) => MsgReportUnavailable.fromPartial({ reporter: signer, submissionId: uintArg(args['submission-id'], 'submission-id') }),
    },
    {
      name: 'bisect-reveal',
      description: 'As the miner of a bisecting dispute, reveal stateHash at the step the chain asks for, with its trace proof and state CID',
      args: ['dispute-id', 'step', 'state-hash', 'state-cid'],
      options: [
        { name: 'steps', description: 'the job\'s steps n (first reveal)', default: '0' },
        { name: 'proof', description: 'the sibling hashes from the leaf up, comma-separated hex', default: '' },
      ],
      typeUrl: TYPE_URLS.bisectReveal,
      build: (signer, args, options) => MsgBisectReveal.fromPartial({
        miner: signer, disputeId: uintArg(args['dispute-id'], 'dispute-id'), step: uintArg(args.step, 'step'),
        steps: uintArg(options.steps ?? '0', 'steps'), stateHash: hexArg(args['state-hash'], 'state-hash'), stateCid: args['state-cid'] ?? '',
        proof: (options.proof ?? '') === '' ? [] : (options.proof ?? '').split(',').map((h, i) => hexArg(h, `proof[${i}]`)),
      }),
    },
    {
      name: 'bisect-respond',
      description: 'As the disputer of a bisecting dispute, agree or disagree with the miner\'s stateHash at the pending step',
      args: ['dispute-id', 'step', 'agree'],
      options: [
        { name: 'own-hash', description: 'your own stateHash at that step (hex; required: agree exactly when it is the miner\'s)', default: '' },
        { name: 'own-root', description: 'your own trace root (hex; required in your first answer)', default: '' },
        { name: 'own-proof', description: 'the sibling hashes of your own hash against your root, from the leaf up, comma-separated hex', default: '' },
      ],
      typeUrl: TYPE_URLS.bisectRespond,
      build: (signer, args, options) => MsgBisectRespond.fromPartial({
        disputer: signer, disputeId: uintArg(args['dispute-id'], 'dispute-id'), step: uintArg(args.step, 'step'), agree: args.agree === 'true',
        ownHash: (options['own-hash'] ?? '') === '' ? Buffer.alloc(0) : hexArg(options['own-hash'], 'own-hash'),
        ownRoot: (options['own-root'] ?? '') === '' ? Buffer.alloc(0) : hexArg(options['own-root'], 'own-root'),
        ownProof: (options['own-proof'] ?? '') === '' ? [] : (options['own-proof'] ?? '').split(',').map((h, i) => hexArg(h, `own-proof[${i}]`)),
      }),
    },
  ],
  queries: [
    route('params', 'Verification parameters', [], QUERY_PATHS.params, '/r3mes/verification/v1/params',
      () => QueryParamsRequest.encode({}).finish(), (bytes) => QueryParamsResponse.toJSON(QueryParamsResponse.decode(bytes))),
    route('dispute', 'A dispute: stage, verifiers, panel, votes, draws (with their seeds), outcome', ['dispute_id'], QUERY_PATHS.dispute,
      '/r3mes/verification/v1/disputes/{dispute_id}',
      (args) => QueryDisputeRequest.encode(byDispute(args)).finish(), (bytes) => QueryDisputeResponse.toJSON(QueryDisputeResponse.decode(bytes))),
    {
      ...route('disputes', 'Disputes by id, open ones unless --status resolved|all (resolved disputes stay listable)', [], QUERY_PATHS.disputes, '/r3mes/verification/v1/disputes',
        (_, input) => QueryDisputesRequest.encode({ status: input?.filters?.status ?? 'open', pagination: pageRequestMessage(input?.pagination) }).finish(),
        (bytes) => QueryDisputesResponse.toJSON(QueryDisputesResponse.decode(bytes))),
      paginated: true,
      filters: [{ name: 'status', description: 'open (the default), resolved or all', values: ['open', 'resolved', 'all'] }],
    },
    {
      ...route('open-disputes', 'Disputes not yet resolved, by id', [], QUERY_PATHS.openDisputes, '/r3mes/verification/v1/open_disputes',
        (_, input) => QueryOpenDisputesRequest.encode({ pagination: pageRequestMessage(input?.pagination) }).finish(),
        (bytes) => QueryOpenDisputesResponse.toJSON(QueryOpenDisputesResponse.decode(bytes))),
      paginated: true,
    },
    route('panel', 'The L3 arbiter panel of a dispute: seats, round, deadline, draw seeds', ['dispute_id'], QUERY_PATHS.panel,
      '/r3mes/verification/v1/disputes/{dispute_id}/panel',
      (args) => QueryPanelRequest.encode(byDispute(args)).finish(), (bytes) => QueryPanelResponse.toJSON(QueryPanelResponse.decode(bytes))),
    route('votes', 'The arbiter votes cast in a dispute', ['dispute_id'], QUERY_PATHS.votes, '/r3mes/verification/v1/disputes/{dispute_id}/votes',
      (args, input) => QueryVotesRequest.encode({ ...byDispute(args), pagination: pageRequestMessage(input?.pagination) }).finish(),
      (bytes) => QueryVotesResponse.toJSON(QueryVotesResponse.decode(bytes))),
    route('submission', 'A submission\'s L1 check (verifier, seed, result), its disputes and whether it is held', ['submission_id'],
      QUERY_PATHS.submission, '/r3mes/verification/v1/submissions/{submission_id}',
      (args) => QuerySubmissionRequest.encode({ submissionId: uintArg(args.submission_id, 'submission_id') }).finish(),
      (bytes) => QuerySubmissionResponse.toJSON(QuerySubmissionResponse.decode(bytes))),
    route('checks-by-verifier', 'The pending L1 checks drawn to a verifier, by submission id (first page: up to 100)', ['verifier'],
      QUERY_PATHS.checksByVerifier, '/r3mes/verification/v1/verifiers/{verifier}/l1_checks',
      (args) => QueryChecksByVerifierRequest.encode({ verifier: args.verifier ?? '', startAfter: 0n, limit: 0n }).finish(),
      (bytes) => QueryChecksByVerifierResponse.toJSON(QueryChecksByVerifierResponse.decode(bytes))),
    route('checks-by-verifier-after', 'The next page of a verifier\'s pending L1 checks: those with submission id > start_after', ['verifier', 'start_after'],
      QUERY_PATHS.checksByVerifier, '/r3mes/verification/v1/verifiers/{verifier}/l1_checks/after/{start_after}',
      (args) => QueryChecksByVerifierRequest.encode({ verifier: args.verifier ?? '', startAfter: uintArg(args.start_after, 'start_after'), limit: 0n }).finish(),
      (bytes) => QueryChecksByVerifierResponse.toJSON(QueryChecksByVerifierResponse.decode(bytes))),
  ],
  registryTypes: [
    [TYPE_URLS.submitVerification, MsgSubmitVerification],
    [TYPE_URLS.challenge, MsgChallenge],
    [TYPE_URLS.arbiterVote, MsgArbiterVote],
    [TYPE_URLS.reportUnavailable, MsgReportUnavailable],
    [TYPE_URLS.bisectReveal, MsgBisectReveal],
    [TYPE_URLS.bisectRespond, MsgBisectRespond],
  ],
};
