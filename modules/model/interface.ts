/**
 * How the model module appears to users: `r3mesd tx model ...`, `r3mesd query model ...`,
 * REST `GET /r3mes/model/v1/...` and the OpenAPI document, all from this one description.
 */
import { sdkErrors } from '../../app/core/errors.ts';
import type { ModuleInterface, QueryRoute, TxCommand } from '../../app/core/module.ts';
import { pageRequestMessage } from '../../app/core/pagination.ts';
import {
  QueryActiveVersionRequest, QueryActiveVersionResponse, QueryParamsRequest, QueryParamsResponse, QueryProposalRequest,
  QueryProposalResponse, QueryProposalsRequest, QueryProposalsResponse, QueryTallyRequest, QueryTallyResponse,
  QueryVersionRequest, QueryVersionResponse, QueryVersionsRequest, QueryVersionsResponse, QueryVotesRequest, QueryVotesResponse,
  QueryDatasetRequest, QueryDatasetResponse, QueryDatasetsRequest, QueryDatasetsResponse, QueryVersionDatasetRequest,
  QueryVersionDatasetResponse,
} from '../../proto/gen/r3mes/model/v1/query.ts';
import { MsgSubmitProposal, MsgVote } from '../../proto/gen/r3mes/model/v1/tx.ts';
import { type ProposalContent, ProposalStatus, VoteOption } from '../../proto/gen/r3mes/model/v1/types.ts';
import { parseCoinString, toProtoCoins } from '../../app/core/coins.ts';
import { modelErrors } from './errors.ts';
import { GENESIS_VERSION } from './genesis.ts';
import { MODULE_NAME } from './keeper.ts';
import { MSG_SUBMIT_PROPOSAL, MSG_VOTE } from './msgs.ts';
import { validateProposalContent, validateProposalText } from './validate.ts';

const QUERY = '/r3mes.model.v1.Query';
const REST = '/r3mes/model/v1';

function uint(text: string | undefined, name: string): bigint {
  if (text === undefined || !/^\d{1,20}$/.test(text) || BigInt(text) >= 1n << 64n) {
    throw sdkErrors.invalidRequest(`${name} must be a non-negative integer, got "${text ?? ''}"`);
  }
  return BigInt(text);
}

function uint32(text: string | undefined, name: string): number {
  const value = uint(text, name);
  if (value > 0xffff_ffffn) throw sdkErrors.invalidRequest(`${name} must fit in 32 bits, got ${text}`);
  return Number(value);
}

function booleanOption(text: string, name: string): boolean {
  if (text !== 'true' && text !== 'false') throw sdkErrors.invalidRequest(`${name} must be true or false, got "${text}"`);
  return text === 'true';
}

const voteOptions: Readonly<Record<string, VoteOption>> = {
  yes: VoteOption.VOTE_OPTION_YES,
  abstain: VoteOption.VOTE_OPTION_ABSTAIN,
  no: VoteOption.VOTE_OPTION_NO,
  veto: VoteOption.VOTE_OPTION_NO_WITH_VETO,
  no_with_veto: VoteOption.VOTE_OPTION_NO_WITH_VETO,
};

const genesisArchitecture = GENESIS_VERSION.architecture!;
const genesisLora = GENESIS_VERSION.lora!;

function submission(signer: string, title: string, summary: string, deposit: string, content: ProposalContent) {
  validateProposalText(title, summary);
  validateProposalContent(content);
  return { proposer: signer, title, summary, content, initialDeposit: toProtoCoins(parseCoinString(deposit)) };
}

const txs: TxCommand[] = [
  {
    name: 'submit-version-proposal',
    description: 'Propose a new model version (backbone seed or safetensors CID, architecture, LoRA); the deposit is paid in full now',
    args: ['title', 'deposit'],
    options: [
      { name: 'summary', description: 'longer description of the proposal', default: '' },
      { name: 'backbone-seed', description: '32-byte backbone seed, 64 hex digits (or give --model-cid)', default: '' },
      { name: 'model-cid', description: 'CIDv1 of the backbone safetensors file (or give --backbone-seed)', default: '' },
      { name: 'manifest-cid', description: 'CID of a Hugging Face model directory\'s manifest (`r3mes-worker model inspect DIR` prints it; with --architecture-hash)', default: '' },
      { name: 'architecture-hash', description: 'the directory\'s architecture hash, 64 hex digits (`r3mes-worker model inspect`)', default: '' },
      { name: 'vocab-size', description: 'vocabulary (256: byte-level; other sizes select the 2B4T family)', default: '256' },
      { name: 'n-kv-heads', description: '2B4T family: key/value heads (GQA); 0 = n-heads', default: '0' },
      { name: 'ffn', description: '2B4T family: plain | gated', default: '' },
      { name: 'rope-theta', description: '2B4T family: RoPE base; 0 = 10000', default: '0' },
      { name: 'rope-layout', description: '2B4T family: adjacent | half', default: '' },
      { name: 'norm-gains', description: '2B4T family: learned RMSNorm gains (true | false)', default: 'false' },
      { name: 'embedding', description: '2B4T family: ternary | bf16-tied', default: '' },
      { name: 'd-model', description: 'model width', default: String(genesisArchitecture.dModel) },
      { name: 'n-layers', description: 'number of layers', default: String(genesisArchitecture.nLayers) },
      { name: 'n-heads', description: 'attention heads (divides d-model)', default: String(genesisArchitecture.nHeads) },
      { name: 'd-ff', description: 'feed-forward width', default: String(genesisArchitecture.dFf) },
      { name: 'seq-len', description: 'sequence length (divides 2048)', default: String(genesisArchitecture.seqLen) },
      { name: 'lora-rank', description: 'LoRA rank, 4..64', default: String(genesisLora.rank) },
      { name: 'lora-alpha', description: 'LoRA alpha', default: String(genesisLora.alpha) },
      { name: 'lora-targets', description: 'comma-separated subset of q,k,v,o (2B4T family: also gate,up,down)', default: genesisLora.targets.join(',') },
      { name: 'migration-blocks', description: 'blocks during which old and new versions are both accepted', default: '1000' },
    ],
    typeUrl: MSG_SUBMIT_PROPOSAL,
    build(signer, args, options) {
      const content: ProposalContent = {
        registerDataset: undefined,
        headRollback: undefined,
        newVersion: {
          modelCid: options['model-cid'] ?? '',
          backboneSeed: options['backbone-seed'] ?? '',
          manifestCid: options['manifest-cid'] ?? '',
          architectureHash: options['architecture-hash'] ?? '',
          architecture: {
            dModel: uint32(options['d-model'], 'd-model'),
            nLayers: uint32(options['n-layers'], 'n-layers'),
            nHeads: uint32(options['n-heads'], 'n-heads'),
            dFf: uint32(options['d-ff'], 'd-ff'),
            vocabSize: uint32(options['vocab-size'] ?? '256', 'vocab-size'),
            seqLen: uint32(options['seq-len'], 'seq-len'),
            nKvHeads: uint32(options['n-kv-heads'] ?? '0', 'n-kv-heads'),
            ffn: options.ffn ?? '',
            ropeTheta: uint32(options['rope-theta'] ?? '0', 'rope-theta'),
            ropeLayout: options['rope-layout'] ?? '',
            normGains: booleanOption(options['norm-gains'] ?? 'false', 'norm-gains'),
            embedding: options.embedding ?? '',
          },
          lora: {
            rank: uint32(options['lora-rank'], 'lora-rank'),
            alpha: uint32(options['lora-alpha'], 'lora-alpha'),
            targets: (options['lora-targets'] ?? '').split(',').map((target) => target.trim()).filter((target) => target !== ''),
          },
          migrationBlocks: uint(options['migration-blocks'], 'migration-blocks'),
        },
        paramChange: undefined,
      };
      return submission(signer, args.title, options.summary ?? '', args.deposit, content);
    },
  },
  {
    name: 'submit-param-change-proposal',
    description: "Propose replacing one module's params as a whole (the JSON its params query shows); the deposit is paid in full now",
    args: ['module', 'params_json', 'title', 'deposit'],
    options: [{ name: 'summary', description: 'longer description of the proposal', default: '' }],
    typeUrl: MSG_SUBMIT_PROPOSAL,
    build(signer, args, options) {
      const content: ProposalContent = { newVersion: undefined, paramChange: { module: args.module, paramsJson: args.params_json }, registerDataset: undefined, headRollback: undefined };
      return submission(signer, args.title, options.summary ?? '', args.deposit, content);
    },
  },
  {
    name: 'submit-dataset-proposal',
    description: 'Propose registering a dataset (the manifest CID `r3mes-worker dataset build` prints, and its counts); the deposit is paid in full now',
    args: ['manifest_cid', 'chunk_count', 'title', 'deposit'],
    options: [
      { name: 'summary', description: 'longer description of the proposal', default: '' },
      { name: 'tokenizer-cid', description: 'CID of the tokenizer.json that produced the ids (empty: byte vocabulary)', default: '' },
      { name: 'model-version', description: 'the model version it is for (0: every version of its vocab size)', default: '0' },
      { name: 'vocab-size', description: 'vocabulary size (the manifest vocab_size)', default: '256' },
      { name: 'held-out-chunk-count', description: 'held-out chunks (the manifest heldout.chunks)', default: '0' },
    ],
    typeUrl: MSG_SUBMIT_PROPOSAL,
    build(signer, args, options) {
      const content: ProposalContent = {
        newVersion: undefined, paramChange: undefined, headRollback: undefined,
        registerDataset: {
          manifestCid: args.manifest_cid ?? '',
          tokenizerCid: options['tokenizer-cid'] ?? '',
          modelVersion: uint(options['model-version'], 'model-version'),
          vocabSize: uint32(options['vocab-size'], 'vocab-size'),
          chunkCount: uint(args.chunk_count, 'chunk_count'),
          heldOutChunkCount: uint(options['held-out-chunk-count'], 'held-out-chunk-count'),
        },
      };
      return submission(signer, args.title, options.summary ?? '', args.deposit, content);
    },
  },
  {
    name: 'submit-rollback-proposal',
    description: 'Propose setting the model head back to the base after an applied window (0: the initial adapter); later windows\' aggregates leave the base of windows opened afterwards',
    args: ['to_window', 'title', 'deposit'],
    options: [{ name: 'summary', description: 'longer description of the proposal', default: '' }],
    typeUrl: MSG_SUBMIT_PROPOSAL,
    build(signer, args, options) {
      const content: ProposalContent = { newVersion: undefined, paramChange: undefined, registerDataset: undefined, headRollback: { toWindow: uint(args.to_window, 'to_window') } };
      return submission(signer, args.title, options.summary ?? '', args.deposit, content);
    },
  },
  {
    name: 'vote',
    description: 'Vote on a proposal in its voting period (yes, no, abstain, veto); a later vote replaces an earlier one',
    args: ['proposal_id', 'option'],
    typeUrl: MSG_VOTE,
    build(signer, args) {
      const option = voteOptions[args.option?.toLowerCase() ?? ''];
      if (option === undefined) throw modelErrors.invalidVoteOption(`"${args.option}" is not yes, no, abstain or veto`);
      return { proposalId: uint(args.proposal_id, 'proposal_id'), voter: signer, option };
    },
  },
];

/** `--status` / `?status=` of the proposals list. */
const proposalStatuses: Readonly<Record<string, ProposalStatus>> = {
  voting_period: ProposalStatus.PROPOSAL_STATUS_VOTING_PERIOD,
  passed: ProposalStatus.PROPOSAL_STATUS_PASSED,
  rejected: ProposalStatus.PROPOSAL_STATUS_REJECTED,
  vetoed: ProposalStatus.PROPOSAL_STATUS_VETOED,
  quorum_not_met: ProposalStatus.PROPOSAL_STATUS_QUORUM_NOT_MET,
  failed: ProposalStatus.PROPOSAL_STATUS_FAILED,
};

function proposalStatusArg(value: string | undefined): ProposalStatus {
  if (value === undefined || value === '' || value === 'all') return ProposalStatus.PROPOSAL_STATUS_UNSPECIFIED;
  const status = proposalStatuses[value];
  if (status === undefined) throw sdkErrors.invalidRequest(`status "${value}" is not one of ${Object.keys(proposalStatuses).join(', ')} (or all)`);
  return status;
}

const queries: QueryRoute[] = [
  {
    name: 'params', description: 'Governance parameters (deposit, voting period, quorum / threshold / veto in basis points)', args: [],
    path: `${QUERY}/Params`, rest: `${REST}/params`,
    encodeRequest: () => QueryParamsRequest.encode({}).finish(),
    decodeResponse: (bytes) => QueryParamsResponse.toJSON(QueryParamsResponse.decode(bytes)),
  },
  {
    name: 'versions', description: 'Every model version, ascending by number', args: [],
    path: `${QUERY}/Versions`, rest: `${REST}/versions`,
    paginated: true,
    encodeRequest: (_, input) => QueryVersionsRequest.encode({ pagination: pageRequestMessage(input?.pagination) }).finish(),
    decodeResponse: (bytes) => QueryVersionsResponse.toJSON(QueryVersionsResponse.decode(bytes)),
  },
  {
    name: 'version', description: 'One model version', args: ['number'],
    path: `${QUERY}/Version`, rest: `${REST}/versions/{number}`,
    encodeRequest: (args) => QueryVersionRequest.encode({ number: uint(args.number, 'number') }).finish(),
    decodeResponse: (bytes) => QueryVersionResponse.toJSON(QueryVersionResponse.decode(bytes)),
  },
  {
    name: 'active-version', description: 'The active model version and the one migrating, if any', args: [],
    path: `${QUERY}/ActiveVersion`, rest: `${REST}/active_version`,
    encodeRequest: () => QueryActiveVersionRequest.encode({}).finish(),
    decodeResponse: (bytes) => QueryActiveVersionResponse.toJSON(QueryActiveVersionResponse.decode(bytes)),
  },
  {
    name: 'proposals', description: 'Proposals, ascending by id (all, or those with --status)', args: [],
    path: `${QUERY}/Proposals`, rest: `${REST}/proposals`,
    paginated: true,
    filters: [{ name: 'status', description: 'only proposals with this status', values: Object.keys(proposalStatuses) }],
    encodeRequest: (_, input) => QueryProposalsRequest.encode({ status: proposalStatusArg(input?.filters?.status), pagination: pageRequestMessage(input?.pagination) }).finish(),
    decodeResponse: (bytes) => QueryProposalsResponse.toJSON(QueryProposalsResponse.decode(bytes)),
  },
  {
    name: 'proposal', description: 'One proposal', args: ['proposal_id'],
    path: `${QUERY}/Proposal`, rest: `${REST}/proposals/{proposal_id}`,
    encodeRequest: (args) => QueryProposalRequest.encode({ proposalId: uint(args.proposal_id, 'proposal_id') }).finish(),
    decodeResponse: (bytes) => QueryProposalResponse.toJSON(QueryProposalResponse.decode(bytes)),
  },
  {
    name: 'votes', description: "A proposal's votes (empty once tallied)", args: ['proposal_id'],
    path: `${QUERY}/Votes`, rest: `${REST}/proposals/{proposal_id}/votes`,
    paginated: true,
    encodeRequest: (args, input) => QueryVotesRequest.encode({ proposalId: uint(args.proposal_id, 'proposal_id'), pagination: pageRequestMessage(input?.pagination) }).finish(),
    decodeResponse: (bytes) => QueryVotesResponse.toJSON(QueryVotesResponse.decode(bytes)),
  },
  {
    name: 'tally', description: "A proposal's tally: current stake while voting, the final tally afterwards", args: ['proposal_id'],
    path: `${QUERY}/Tally`, rest: `${REST}/proposals/{proposal_id}/tally`,
    encodeRequest: (args) => QueryTallyRequest.encode({ proposalId: uint(args.proposal_id, 'proposal_id') }).finish(),
    decodeResponse: (bytes) => QueryTallyResponse.toJSON(QueryTallyResponse.decode(bytes)),
  },
  {
    name: 'datasets', description: 'Every registered dataset, ascending by id', args: [],
    path: `${QUERY}/Datasets`, rest: `${REST}/datasets`,
    paginated: true,
    encodeRequest: (_, input) => QueryDatasetsRequest.encode({ pagination: pageRequestMessage(input?.pagination) }).finish(),
    decodeResponse: (bytes) => QueryDatasetsResponse.toJSON(QueryDatasetsResponse.decode(bytes)),
  },
  {
    name: 'dataset', description: 'One registered dataset', args: ['id'],
    path: `${QUERY}/Dataset`, rest: `${REST}/datasets/{id}`,
    encodeRequest: (args) => QueryDatasetRequest.encode({ id: uint(args.id, 'id') }).finish(),
    decodeResponse: (bytes) => QueryDatasetResponse.toJSON(QueryDatasetResponse.decode(bytes)),
  },
  {
    name: 'version-dataset', description: 'The dataset new windows of a model version train on', args: ['number'],
    path: `${QUERY}/VersionDataset`, rest: `${REST}/versions/{number}/dataset`,
    encodeRequest: (args) => QueryVersionDatasetRequest.encode({ number: uint(args.number, 'number') }).finish(),
    decodeResponse: (bytes) => QueryVersionDatasetResponse.toJSON(QueryVersionDatasetResponse.decode(bytes)),
  },
];

export const modelInterface: ModuleInterface = {
  module: MODULE_NAME,
  txs,
  queries,
  registryTypes: [
    [MSG_SUBMIT_PROPOSAL, MsgSubmitProposal],
    [MSG_VOTE, MsgVote],
  ],
};
