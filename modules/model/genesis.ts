/**
 * Model genesis: the generated GenesisState's JSON form, with params in their governance JSON
 * form (every field present) and every list present. `exportGenesis(initGenesis(g))` is `g`
 * for any `g` in this canonical form (what `defaultGenesis` and `exportGenesis` produce).
 */
import { GenesisState } from '../../proto/gen/r3mes/model/v1/genesis.ts';
import {
  Dataset, ModelVersion, Proposal, ProposalStatus, Vote, VersionStatus,
} from '../../proto/gen/r3mes/model/v1/types.ts';
import type { KVStore } from '../../app/core/store/types.ts';
import { decodeAddress } from '../../app/core/address.ts';
import { parseAmount, validateDenom } from '../../app/core/coins.ts';
import { modelErrors } from './errors.ts';
import { type ModelKeeper, voteKey, voteOptionNames } from './keeper.ts';
import { defaultModelParams, type ModelParamsJson, paramsFromJson, paramsToJson } from './params.ts';
import {
  MAX_MIGRATION_BLOCKS, validateArchitecture, validateBackbone, validateDatasetContent, validateLoraFor, validateProposalContent, validateProposalText,
} from './validate.ts';

export interface ModelGenesis {
  params: ModelParamsJson;
  /** ModelVersion JSON (generated toJSON). */
  versions: unknown[];
  /** Proposal JSON. */
  proposals: unknown[];
  /** Vote JSON. */
  votes: unknown[];
  nextProposalId: string;
  /** Dataset JSON, ascending ids 1, 2, ... */
  datasets: unknown[];
}

/** Version 1 of a new chain: a generated backbone, seed sha256("r3mes/backbone/v1"). */
export const GENESIS_VERSION: ModelVersion = {
  number: 1n,
  modelCid: '',
  manifestCid: '',
  architectureHash: '',
  backboneSeed: 'b9a6241e00cbd88e28dad64fe73a284d1cb1254d923eff557a47716e3687635a',
  architecture: { dModel: 256, nLayers: 4, nHeads: 4, dFf: 1024, vocabSize: 256, seqLen: 256, nKvHeads: 0, ffn: '', ropeTheta: 0, ropeLayout: '', normGains: false, embedding: '' },
  lora: { rank: 8, alpha: 16, targets: ['q', 'k', 'v', 'o'] },
  status: VersionStatus.VERSION_STATUS_ACTIVE,
  activationHeight: 0n,
  migrationBlocks: 0n,
  migrationEndHeight: 0n,
  deprecatedHeight: 0n,
  proposalId: 0n,
};

/**
 * Dataset 1 of a new chain: the Brown corpus as a manifest dataset (worker/src/data/README.md
 * "The Brown corpus as a dataset"), byte vocabulary, for every byte-level version (model_version 0).
 * The worker's test pins the same manifest CID and counts.
 */
export const GENESIS_DATASET: Dataset = {
  id: 1n,
  manifestCid: 'bafkreic6s42hokkcmasjqv3mwkmtioy6frj3khpvb6tak3sgh2ggryzr6q',
  tokenizerCid: '',
  modelVersion: 0n,
  vocabSize: 256,
  chunkCount: 2688n,
  heldOutChunkCount: 303n,
  proposalId: 0n,
  registeredHeight: 0n,
};

export function defaultModelGenesis(): ModelGenesis {
  return {
    params: paramsToJson(defaultModelParams()),
    versions: [ModelVersion.toJSON(GENESIS_VERSION)],
    proposals: [],
    votes: [],
    nextProposalId: '1',
    datasets: [Dataset.toJSON(GENESIS_DATASET)],
  };
}

function parseState(genesis: ModelGenesis): GenesisState {
  if (typeof genesis !== 'object' || genesis === null) throw modelErrors.invalidGenesis('model genesis must be a JSON object');
  for (const list of ['versions', 'proposals', 'votes', 'datasets'] as const) {
    if (!Array.isArray(genesis[list])) throw modelErrors.invalidGenesis(`${list} must be a list`);
  }
  if (typeof genesis.nextProposalId !== 'string' || !/^\d{1,20}$/.test(genesis.nextProposalId)) {
    throw modelErrors.invalidGenesis('nextProposalId must be a decimal integer string');
  }
  try {
    const { versions, proposals, votes, nextProposalId, datasets } = genesis;
    return GenesisState.fromJSON({ versions, proposals, votes, nextProposalId, datasets });
  } catch (error) {
    throw modelErrors.invalidGenesis(`malformed model genesis: ${(error as Error).message}`);
  }
}

/** Validates the whole genesis before writing anything. */
export function initModelGenesis(keeper: ModelKeeper, store: KVStore, genesis: ModelGenesis): void {
  const state = parseState(genesis);
  const params = paramsFromJson(genesis.params);
  const fail = (why: string): never => {
    throw modelErrors.invalidGenesis(why);
  };

  // Versions: numbers 1..n; statuses deprecated*, active, migration? in number order.
  if (state.versions.length === 0) fail('at least one model version (version 1) is required');
  const letters = state.versions.map((version, index) => {
    if (version.number !== BigInt(index + 1)) fail(`versions must be numbered 1, 2, ... in order; found ${version.number} at position ${index + 1}`);
    validateBackbone(version.modelCid, version.backboneSeed, version.manifestCid, version.architectureHash);
    validateArchitecture(version.architecture);
    validateLoraFor(version.lora, version.architecture);
    if (version.status === VersionStatus.VERSION_STATUS_MIGRATION) {
      if (version.migrationBlocks < 1n || version.migrationBlocks > MAX_MIGRATION_BLOCKS) fail(`version ${version.number}: migrationBlocks out of range`);
      if (version.migrationEndHeight !== version.activationHeight + version.migrationBlocks) {
        fail(`version ${version.number}: migrationEndHeight must be activationHeight + migrationBlocks`);
      }
    }
    return version.status === VersionStatus.VERSION_STATUS_DEPRECATED ? 'D'
      : version.status === VersionStatus.VERSION_STATUS_ACTIVE ? 'A'
      : version.status === VersionStatus.VERSION_STATUS_MIGRATION ? 'M' : '?';
  });
  if (!/^D*AM?$/.test(letters.join(''))) {
    fail('version statuses must be: deprecated ones, then exactly one active, then at most one in migration');
  }

  // Proposals: ascending ids below nextProposalId, each well-formed.
  const nextProposalId = state.nextProposalId;
  if (nextProposalId < 1n) fail('nextProposalId must be at least 1');
  let previousId = 0n;
  const voting = new Set<bigint>();
  for (const proposal of state.proposals) {
    if (proposal.id <= previousId) fail(`proposals must be sorted by id, unique, ids from 1 (at ${proposal.id})`);
    if (proposal.id >= nextProposalId) fail(`proposal ${proposal.id} is not below nextProposalId ${nextProposalId}`);
    previousId = proposal.id;
    decodeAddress(proposal.proposer, `proposal ${proposal.id} proposer`);
    validateProposalText(proposal.title, proposal.summary);
    validateProposalContent(proposal.content);
    if (proposal.deposit === undefined) fail(`proposal ${proposal.id} has no deposit`);
    validateDenom(proposal.deposit!.denom);
    parseAmount(proposal.deposit!.amount, `proposal ${proposal.id} deposit`);
    if (!(proposal.status >= ProposalStatus.PROPOSAL_STATUS_VOTING_PERIOD && proposal.status <= ProposalStatus.PROPOSAL_STATUS_FAILED)) {
      fail(`proposal ${proposal.id} has no valid status`);
    }
    if (proposal.status === ProposalStatus.PROPOSAL_STATUS_VOTING_PERIOD) voting.add(proposal.id);
  }

  // Votes: only on proposals in their voting period, in store key order.
  let previousKey: Uint8Array | undefined;
  for (const vote of state.votes) {
    if (!voting.has(vote.proposalId)) fail(`vote on proposal ${vote.proposalId}, which is not in its voting period`);
    const key = voteKey(vote.proposalId, decodeAddress(vote.voter, 'genesis voter'));
    if (voteOptionNames[vote.option] === undefined) fail(`vote of ${vote.voter} on ${vote.proposalId} has no valid option`);
    if (previousKey !== undefined && Buffer.compare(previousKey, key) >= 0) {
      fail('votes must be sorted by (proposal id, voter address length, voter address bytes) and unique');
    }
    previousKey = key;
  }

  // Datasets: ids 1..n in order, each valid, manifests unique, for no version or an existing one of its vocab_size.
  const manifests = new Set<string>();
  state.datasets.forEach((dataset, index) => {
    if (dataset.id !== BigInt(index + 1)) fail(`datasets must be numbered 1, 2, ... in order; found ${dataset.id} at position ${index + 1}`);
    validateDatasetContent(dataset);
    if (manifests.has(dataset.manifestCid)) fail(`dataset ${dataset.id}: manifest ${dataset.manifestCid} is registered twice`);
    manifests.add(dataset.manifestCid);
    if (dataset.proposalId >= nextProposalId) fail(`dataset ${dataset.id}: proposal ${dataset.proposalId} is not below nextProposalId`);
    if (dataset.modelVersion !== 0n) {
      const version = state.versions.find((v) => v.number === dataset.modelVersion);
      if (version === undefined) fail(`dataset ${dataset.id}: model version ${dataset.modelVersion} does not exist`);
      if (version!.architecture?.vocabSize !== dataset.vocabSize) fail(`dataset ${dataset.id}: vocab_size differs from model version ${dataset.modelVersion}'s`);
    }
  });

  keeper.setParams(store, params);
  for (const dataset of state.datasets) keeper.setDataset(store, dataset);
  for (const version of state.versions) keeper.setVersion(store, version);
  for (const proposal of state.proposals) keeper.setProposal(store, proposal);
  for (const vote of state.votes) keeper.setVote(store, vote);
  keeper.setNextProposalId(store, nextProposalId);
}

export function exportModelGenesis(keeper: ModelKeeper, store: KVStore): ModelGenesis {
  return {
    params: paramsToJson(keeper.getParams(store)),
    versions: keeper.versions(store).map((version) => ModelVersion.toJSON(version)),
    proposals: keeper.proposals(store).map((proposal) => Proposal.toJSON(proposal)),
    votes: keeper.allVotes(store).map((vote) => Vote.toJSON(vote)),
    nextProposalId: keeper.nextProposalId(store).toString(),
    datasets: keeper.datasets(store).map((dataset) => Dataset.toJSON(dataset)),
  };
}
