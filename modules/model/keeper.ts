/**
 * Model keepers, layered as in the Cosmos SDK: `ModelViewKeeper` reads the version registry,
 * proposals, votes and params (what training and subnet receive, as `ModelReader`);
 * `ModelKeeper` adds proposal submission, voting and the EndBlock lifecycle.
 */
import type { Context } from '../../app/core/context.ts';
import { concatBytes, readU64be, u64be, utf8 } from '../../app/core/bytes.ts';
import { toChainError } from '../../app/core/errors.ts';
import { EventLog } from '../../app/core/events.ts';
import { CacheStore } from '../../app/core/store/cache.ts';
import { type Page, type PageRequest, paginate, underPrefix } from '../../app/core/pagination.ts';
import { prefixStore } from '../../app/core/store/prefix.ts';
import type { KVStore } from '../../app/core/store/types.ts';
import {
  Dataset, ModelVersion, Params, Proposal, ProposalStatus, type RegisterDatasetContent, type TallyResult, Vote, VersionStatus, VoteOption,
} from '../../proto/gen/r3mes/model/v1/types.ts';
import type { MsgSubmitProposal, MsgVote } from '../../proto/gen/r3mes/model/v1/tx.ts';
import { decodeAddress, encodeAddress, moduleAddress } from '../../app/core/address.ts';
import { type Coin, parseAmount, parseCoins } from '../../app/core/coins.ts';
import { modelErrors } from './errors.ts';
import type { DepositBank, HeadRollback, ParamsRouter, StakeReader } from './expected-keepers.ts';
import { BASIS_POINTS, defaultModelParams, type ModelParams, validateModelParams } from './params.ts';
import { validateProposalContent } from './validate.ts';

export const MODULE_NAME = 'model';
/** Escrow of proposal deposits. */
export const MODEL_MODULE_ADDRESS = moduleAddress(MODULE_NAME);

/** Key layout inside the module's prefix "model/" (see README). */
const keys = {
  params: utf8('p'),
  active: utf8('a'),
  migrating: utf8('m'),
  nextProposalId: utf8('n'),
  versionPrefix: utf8('v/'),
  version: (number: bigint) => concatBytes(utf8('v/'), u64be(number)),
  proposalPrefix: utf8('q/'),
  proposal: (id: bigint) => concatBytes(utf8('q/'), u64be(id)),
  queuePrefix: utf8('e/'),
  queue: (endHeight: bigint, id: bigint) => concatBytes(utf8('e/'), u64be(endHeight), u64be(id)),
  votePrefix: utf8('o/'),
  votesOf: (id: bigint) => concatBytes(utf8('o/'), u64be(id)),
  vote: (id: bigint, voter: Uint8Array) => concatBytes(utf8('o/'), u64be(id), Uint8Array.of(voter.length), voter),
  datasetPrefix: utf8('d/'),
  dataset: (id: bigint) => concatBytes(utf8('d/'), u64be(id)),
  datasetByCid: (manifestCid: string) => concatBytes(utf8('dc/'), utf8(manifestCid)),
};

/** Store key of a vote: genesis orders votes by it. */
export const voteKey = keys.vote;

export const voteOptionNames: Readonly<Record<number, string>> = {
  [VoteOption.VOTE_OPTION_YES]: 'yes',
  [VoteOption.VOTE_OPTION_ABSTAIN]: 'abstain',
  [VoteOption.VOTE_OPTION_NO]: 'no',
  [VoteOption.VOTE_OPTION_NO_WITH_VETO]: 'no_with_veto',
};

export const versionStatusNames: Readonly<Record<number, string>> = {
  [VersionStatus.VERSION_STATUS_ACTIVE]: 'active',
  [VersionStatus.VERSION_STATUS_MIGRATION]: 'migration',
  [VersionStatus.VERSION_STATUS_DEPRECATED]: 'deprecated',
};

export const proposalOutcomeNames: Readonly<Record<number, string>> = {
  [ProposalStatus.PROPOSAL_STATUS_PASSED]: 'passed',
  [ProposalStatus.PROPOSAL_STATUS_REJECTED]: 'rejected',
  [ProposalStatus.PROPOSAL_STATUS_VETOED]: 'vetoed',
  [ProposalStatus.PROPOSAL_STATUS_QUORUM_NOT_MET]: 'quorum_not_met',
  [ProposalStatus.PROPOSAL_STATUS_FAILED]: 'failed',
};

/** Stake behind each option, as bigints. */
export interface Tally {
  yes: bigint;
  abstain: bigint;
  no: bigint;
  noWithVeto: bigint;
  totalStake: bigint;
}

export function tallyToProto(tally: Tally): TallyResult {
  return {
    yes: tally.yes.toString(), abstain: tally.abstain.toString(), no: tally.no.toString(),
    noWithVeto: tally.noWithVeto.toString(), totalStake: tally.totalStake.toString(),
  };
}

/** The outcome of a finished voting period, from the tally and the params at tally time. */
export function tallyOutcome(tally: Tally, params: ModelParams): ProposalStatus {
  const bp = BigInt(BASIS_POINTS);
  const voted = tally.yes + tally.abstain + tally.no + tally.noWithVeto;
  if (tally.totalStake === 0n || voted * bp < BigInt(params.quorumBp) * tally.totalStake) return ProposalStatus.PROPOSAL_STATUS_QUORUM_NOT_MET;
  if (tally.noWithVeto * bp > BigInt(params.vetoThresholdBp) * voted) return ProposalStatus.PROPOSAL_STATUS_VETOED;
  const nonAbstaining = voted - tally.abstain;
  if (nonAbstaining > 0n && tally.yes * bp > BigInt(params.thresholdBp) * nonAbstaining) return ProposalStatus.PROPOSAL_STATUS_PASSED;
  return ProposalStatus.PROPOSAL_STATUS_REJECTED;
}

/** What other modules may read: training accepts a gradient only for `acceptsVersion`. */
export interface ModelReader {
  /** The ACTIVE version (exactly one exists from genesis on). */
  activeVersion(store: KVStore): ModelVersion;
  version(store: KVStore, number: bigint): ModelVersion | undefined;
  /** True for the ACTIVE version and the one in its MIGRATION window; false otherwise. */
  acceptsVersion(store: KVStore, number: bigint): boolean;
  dataset(store: KVStore, id: bigint): Dataset | undefined;
  /** The dataset new windows of version `number` train on (README "Datasets"); undefined when none fits. */
  datasetForVersion(store: KVStore, number: bigint): Dataset | undefined;
}

/** Read-only layer. */
export class ModelViewKeeper implements ModelReader {
  static readonly storePrefix = utf8('model/');

  protected view(store: KVStore): KVStore {
    return prefixStore(store, ModelViewKeeper.storePrefix);
  }

  getParams(store: KVStore): ModelParams {
    const raw = this.view(store).get(keys.params);
    return raw === undefined ? defaultModelParams() : Params.decode(raw);
  }

  version(store: KVStore, number: bigint): ModelVersion | undefined {
    if (number < 0n || number >= 1n << 64n) return undefined;
    const raw = this.view(store).get(keys.version(number));
    return raw === undefined ? undefined : ModelVersion.decode(raw);
  }

  activeVersion(store: KVStore): ModelVersion {
    const raw = this.view(store).get(keys.active);
    const active = raw === undefined ? undefined : this.version(store, readU64be(raw));
    if (active === undefined) throw modelErrors.unknownVersion('no active model version (genesis not initialised)');
    return active;
  }

  migratingVersion(store: KVStore): ModelVersion | undefined {
    const raw = this.view(store).get(keys.migrating);
    return raw === undefined ? undefined : this.version(store, readU64be(raw));
  }

  acceptsVersion(store: KVStore, number: bigint): boolean {
    const status = this.version(store, number)?.status;
    return status === VersionStatus.VERSION_STATUS_ACTIVE || status === VersionStatus.VERSION_STATUS_MIGRATION;
  }

  /** Ascending by number. */
  versions(store: KVStore): ModelVersion[] {
    return [...this.view(store).iterate(keys.versionPrefix)].map(([, value]) => ModelVersion.decode(value));
  }

  latestVersionNumber(store: KVStore): bigint {
    let latest = 0n;
    for (const [key] of this.view(store).iterate(keys.versionPrefix)) latest = readU64be(key.subarray(keys.versionPrefix.length));
    return latest;
  }

  proposal(store: KVStore, id: bigint): Proposal | undefined {
    if (id < 0n || id >= 1n << 64n) return undefined;
    const raw = this.view(store).get(keys.proposal(id));
    return raw === undefined ? undefined : Proposal.decode(raw);
  }

  /** Ascending by id. */
  proposals(store: KVStore): Proposal[] {
    return [...this.view(store).iterate(keys.proposalPrefix)].map(([, value]) => Proposal.decode(value));
  }

  /** A page of the versions, by number (key: u64be number). */
  versionsPage(store: KVStore, page: PageRequest | undefined): Page<ModelVersion> {
    return paginate(underPrefix(this.view(store), keys.versionPrefix), page, (_, value) => ModelVersion.decode(value), { keyLength: 8, keyMeaning: 'a u64be version number' });
  }

  /** A page of the proposals with `status` (UNSPECIFIED: all), by id (key: u64be id). */
  proposalsPage(store: KVStore, status: ProposalStatus, page: PageRequest | undefined): Page<Proposal> {
    return paginate(underPrefix(this.view(store), keys.proposalPrefix), page, (_, value) => {
      const proposal = Proposal.decode(value);
      return status === ProposalStatus.PROPOSAL_STATUS_UNSPECIFIED || proposal.status === status ? proposal : undefined;
    }, { keyLength: 8, keyMeaning: 'a u64be proposal id' });
  }

  /** A page of a proposal's votes, in key order (key: u8 voter length ‖ voter bytes). */
  votesPage(store: KVStore, id: bigint, page: PageRequest | undefined): Page<Vote> {
    return paginate(underPrefix(this.view(store), keys.votesOf(id)), page, (_, value) => Vote.decode(value));
  }

  /** Votes of a proposal in key order (voter address length, then bytes). */
  votes(store: KVStore, id: bigint): Vote[] {
    if (id < 0n || id >= 1n << 64n) return [];
    return [...this.view(store).iterate(keys.votesOf(id))].map(([, value]) => Vote.decode(value));
  }

  /** Every stored vote (only proposals in their voting period have any), in key order. */
  allVotes(store: KVStore): Vote[] {
    return [...this.view(store).iterate(keys.votePrefix)].map(([, value]) => Vote.decode(value));
  }

  nextProposalId(store: KVStore): bigint {
    const raw = this.view(store).get(keys.nextProposalId);
    return raw === undefined ? 1n : readU64be(raw);
  }

  dataset(store: KVStore, id: bigint): Dataset | undefined {
    if (id < 0n || id >= 1n << 64n) return undefined;
    const raw = this.view(store).get(keys.dataset(id));
    return raw === undefined ? undefined : Dataset.decode(raw);
  }

  /** The id of the dataset registered under `manifestCid`, or undefined. */
  datasetIdByCid(store: KVStore, manifestCid: string): bigint | undefined {
    const raw = this.view(store).get(keys.datasetByCid(manifestCid));
    return raw === undefined ? undefined : readU64be(raw);
  }

  /** Ascending by id. */
  datasets(store: KVStore): Dataset[] {
    return [...this.view(store).iterate(keys.datasetPrefix)].map(([, value]) => Dataset.decode(value));
  }

  latestDatasetId(store: KVStore): bigint {
    let latest = 0n;
    for (const [key] of this.view(store).iterate(keys.datasetPrefix)) latest = readU64be(key.subarray(keys.datasetPrefix.length));
    return latest;
  }

  /** A page of the datasets, by id (key: u64be id). */
  datasetsPage(store: KVStore, page: PageRequest | undefined): Page<Dataset> {
    return paginate(underPrefix(this.view(store), keys.datasetPrefix), page, (_, value) => Dataset.decode(value), { keyLength: 8, keyMeaning: 'a u64be dataset id' });
  }

  /**
   * The default dataset of a version: the newest registered for exactly that version; else the
   * newest registered for any version (model_version 0) whose vocab_size equals the version's.
   */
  datasetForVersion(store: KVStore, number: bigint): Dataset | undefined {
    const version = this.version(store, number);
    if (version === undefined) return undefined;
    let exact: Dataset | undefined;
    let generic: Dataset | undefined;
    for (const dataset of this.datasets(store)) {
      if (dataset.modelVersion === number) exact = dataset;
      else if (dataset.modelVersion === 0n && dataset.vocabSize === version.architecture?.vocabSize) generic = dataset;
    }
    return exact ?? generic;
  }

  /**
   * The checks of a dataset registration against state, at submission and again at execution:
   * the manifest is not registered yet (`model/18`); a named model version exists, is not
   * deprecated and has the dataset's vocab_size (`model/17`).
   */
  checkDatasetRegistration(store: KVStore, content: RegisterDatasetContent): void {
    const existing = this.datasetIdByCid(store, content.manifestCid);
    if (existing !== undefined) throw modelErrors.duplicateDataset(`manifest ${content.manifestCid} is already dataset ${existing}`);
    if (content.modelVersion === 0n) return;
    const version = this.version(store, content.modelVersion);
    if (version === undefined) throw modelErrors.invalidDataset(`model_version ${content.modelVersion} does not exist`);
    if (version.status === VersionStatus.VERSION_STATUS_DEPRECATED) throw modelErrors.invalidDataset(`model_version ${content.modelVersion} is deprecated`);
    const vocab = version.architecture?.vocabSize ?? 0;
    if (vocab !== content.vocabSize) {
      throw modelErrors.invalidDataset(`vocab_size ${content.vocabSize} differs from model version ${content.modelVersion}'s vocab_size ${vocab}`);
    }
  }
}

export interface ModelKeeperDeps {
  bank: DepositBank;
  stake: StakeReader;
  params: ParamsRouter;
  /** The training module's model head; without it a head-rollback proposal is refused (model/17). */
  head?: HeadRollback;
}

/** Full layer: proposals, votes, the EndBlock lifecycle, and genesis writes. */
export class ModelKeeper extends ModelViewKeeper {
  constructor(private readonly deps: ModelKeeperDeps) {
    super();
  }

  /** Validates, then replaces the params as a whole (governance and genesis only). */
  setParams(store: KVStore, params: ModelParams): void {
    validateModelParams(params);
    this.view(store).set(keys.params, Params.encode(params).finish());
  }

  /** Writes a version and keeps the active / migrating pointers in step with its status. */
  setVersion(store: KVStore, version: ModelVersion): void {
    const view = this.view(store);
    view.set(keys.version(version.number), ModelVersion.encode(version).finish());
    const number = u64be(version.number);
    const pointsAt = (key: Uint8Array) => {
      const raw = view.get(key);
      return raw !== undefined && readU64be(raw) === version.number;
    };
    if (version.status === VersionStatus.VERSION_STATUS_ACTIVE) view.set(keys.active, number);
    else if (pointsAt(keys.active)) view.delete(keys.active);
    if (version.status === VersionStatus.VERSION_STATUS_MIGRATION) view.set(keys.migrating, number);
    else if (pointsAt(keys.migrating)) view.delete(keys.migrating);
  }

  setProposal(store: KVStore, proposal: Proposal): void {
    const view = this.view(store);
    view.set(keys.proposal(proposal.id), Proposal.encode(proposal).finish());
    const queued = keys.queue(proposal.votingEndHeight, proposal.id);
    if (proposal.status === ProposalStatus.PROPOSAL_STATUS_VOTING_PERIOD) view.set(queued, Uint8Array.of(1));
    else view.delete(queued);
  }

  /** Writes a dataset and its manifest-CID index (registration and genesis only; datasets never change). */
  setDataset(store: KVStore, dataset: Dataset): void {
    const view = this.view(store);
    view.set(keys.dataset(dataset.id), Dataset.encode(dataset).finish());
    view.set(keys.datasetByCid(dataset.manifestCid), u64be(dataset.id));
  }

  setVote(store: KVStore, vote: Vote): void {
    this.view(store).set(keys.vote(vote.proposalId, decodeAddress(vote.voter, 'voter')), Vote.encode(vote).finish());
  }

  setNextProposalId(store: KVStore, id: bigint): void {
    this.view(store).set(keys.nextProposalId, u64be(id));
  }

  /** MsgSubmitProposal after its stateless checks: escrows the deposit and opens the voting period at once. */
  submitProposal(ctx: Context, msg: MsgSubmitProposal): bigint {
    const params = this.getParams(ctx.store);
    const proposer = decodeAddress(msg.proposer, 'proposer');
    const kind = validateProposalContent(msg.content);
    const deposit = parseCoins(msg.initialDeposit, { what: 'initial_deposit' });
    const minDeposit = parseAmount(params.minDeposit, 'min_deposit');
    const coin = deposit[0];
    if (deposit.length !== 1 || coin.denom !== params.depositDenom || coin.amount < minDeposit) {
      throw modelErrors.insufficientDeposit(`initial_deposit must be one coin of at least ${minDeposit}${params.depositDenom}`);
    }
    const change = msg.content?.paramChange;
    if (change !== undefined) {
      if (!this.deps.params.modules().includes(change.module)) throw modelErrors.unknownParamsModule(`module "${change.module}" has no governable params`);
      this.checkParamChange(ctx.store, change.module, change.paramsJson);
    }
    if (msg.content?.registerDataset !== undefined) this.checkDatasetRegistration(ctx.store, msg.content.registerDataset);
    const rollback = msg.content?.headRollback;
    if (rollback !== undefined) this.checkHeadRollback(ctx.store, rollback.toWindow);
    this.deps.bank.send(ctx.store, ctx.events, proposer, MODEL_MODULE_ADDRESS, [coin]);
    const id = this.nextProposalId(ctx.store);
    this.setNextProposalId(ctx.store, id + 1n);
    this.setProposal(ctx.store, {
      id, proposer: msg.proposer, title: msg.title, summary: msg.summary, content: msg.content,
      deposit: { denom: coin.denom, amount: coin.amount.toString() },
      status: ProposalStatus.PROPOSAL_STATUS_VOTING_PERIOD,
      submitHeight: ctx.height, votingEndHeight: ctx.height + params.votingPeriodBlocks,
      finalTally: undefined, failureReason: '', createdVersion: 0n, createdDataset: 0n,
    });
    ctx.events.emit('proposal_submitted', [
      ['id', id.toString()], ['proposer', msg.proposer], ['kind', kind],
      ['voting_end_height', (ctx.height + params.votingPeriodBlocks).toString(), false],
    ]);
    return id;
  }

  /**
   * A parameter change as it would execute now: the router's `set` (the module's own validator,
   * its checks against state, and the app's constraints across modules) runs on a throwaway layer
   * over `store`, so the params after the change are checked as a whole and nothing is written.
   * Any refusal becomes `model/16` naming the module and its error. Execution runs the same `set`
   * again (params may have changed in between: then the proposal fails, state untouched).
   */
  checkParamChange(store: KVStore, module: string, paramsJson: string): void {
    try {
      this.deps.params.set(new CacheStore(store), module, JSON.parse(paramsJson));
    } catch (error) {
      const cause = toChainError(error);
      throw modelErrors.invalidParamChange(`${module} params refused: ${cause.codespace}/${cause.code}: ${cause.message}`);
    }
  }

  /** A head rollback as it would execute now (training's `check`); any refusal becomes `model/17`. */
  checkHeadRollback(store: KVStore, toWindow: bigint): void {
    if (this.deps.head === undefined) throw modelErrors.invalidHeadRollback('no training module is wired to roll back');
    try {
      this.deps.head.check(store, toWindow);
    } catch (error) {
      const cause = toChainError(error);
      throw modelErrors.invalidHeadRollback(`rollback to window ${toWindow} refused: ${cause.codespace}/${cause.code}: ${cause.message}`);
    }
  }

  /** MsgVote after its stateless checks: records or overwrites the voter's vote. */
  vote(ctx: Context, msg: MsgVote): void {
    const proposal = this.proposal(ctx.store, msg.proposalId);
    if (proposal === undefined) throw modelErrors.unknownProposal(`proposal ${msg.proposalId}`);
    if (proposal.status !== ProposalStatus.PROPOSAL_STATUS_VOTING_PERIOD || ctx.height > proposal.votingEndHeight) {
      throw modelErrors.inactiveProposal(`proposal ${msg.proposalId} voting ended at height ${proposal.votingEndHeight}`);
    }
    this.setVote(ctx.store, { proposalId: msg.proposalId, voter: msg.voter, option: msg.option });
    ctx.events.emit('proposal_vote', [['id', msg.proposalId.toString()], ['voter', msg.voter], ['option', voteOptionNames[msg.option]]]);
  }

  /** The tally if it ran now: each voter's voting stake read from staking at this moment. */
  tally(store: KVStore, proposalId: bigint): Tally {
    const tally: Tally = { yes: 0n, abstain: 0n, no: 0n, noWithVeto: 0n, totalStake: this.deps.stake.totalVotingStake(store) };
    for (const vote of this.votes(store, proposalId)) {
      const stake = this.deps.stake.votingStake(store, decodeAddress(vote.voter, 'voter'));
      if (vote.option === VoteOption.VOTE_OPTION_YES) tally.yes += stake;
      else if (vote.option === VoteOption.VOTE_OPTION_ABSTAIN) tally.abstain += stake;
      else if (vote.option === VoteOption.VOTE_OPTION_NO) tally.no += stake;
      else if (vote.option === VoteOption.VOTE_OPTION_NO_WITH_VETO) tally.noWithVeto += stake;
    }
    return tally;
  }

  /**
   * EndBlock: first a migration whose window ends at or before this height completes; then
   * every proposal whose voting period ended at or before this height is tallied, in
   * (voting_end_height, id) order, each seeing the effects of the ones before it.
   */
  endBlock(ctx: Context): void {
    this.completeMigration(ctx);
    const due: bigint[] = [];
    for (const [key] of this.view(ctx.store).iterate(keys.queuePrefix)) {
      const endHeight = readU64be(key.subarray(2, 10));
      if (endHeight > ctx.height) break;
      due.push(readU64be(key.subarray(10, 18)));
    }
    for (const id of due) this.finishProposal(ctx, id);
  }

  private completeMigration(ctx: Context): void {
    const migrating = this.migratingVersion(ctx.store);
    if (migrating === undefined || migrating.migrationEndHeight > ctx.height) return;
    const previous = this.activeVersion(ctx.store);
    this.setVersion(ctx.store, { ...previous, status: VersionStatus.VERSION_STATUS_DEPRECATED, deprecatedHeight: ctx.height });
    this.setVersion(ctx.store, { ...migrating, status: VersionStatus.VERSION_STATUS_ACTIVE });
    ctx.events.emit('model_version', [['number', previous.number.toString()], ['status', 'deprecated']]);
    ctx.events.emit('model_version', [['number', migrating.number.toString()], ['status', 'active']]);
  }

  private finishProposal(ctx: Context, id: bigint): void {
    const proposal = this.proposal(ctx.store, id);
    if (proposal === undefined) throw new Error(`queued proposal ${id} is missing`);
    const tally = this.tally(ctx.store, id);
    let status = tallyOutcome(tally, this.getParams(ctx.store));
    let failureReason = '';
    let createdVersion = 0n;
    let createdDataset = 0n;
    if (status === ProposalStatus.PROPOSAL_STATUS_PASSED) {
      // Execution runs on its own layer: a throw drops every write it made.
      const layer = new CacheStore(ctx.store);
      const events = new EventLog();
      try {
        const created = this.execute(layer, events, ctx.height, proposal);
        if (proposal.content?.registerDataset !== undefined) createdDataset = created;
        else createdVersion = created;
        layer.write();
        ctx.events.append(events);
      } catch (error) {
        status = ProposalStatus.PROPOSAL_STATUS_FAILED;
        const failure = toChainError(error);
        failureReason = `${failure.codespace}/${failure.code}: ${failure.message}`;
        createdVersion = 0n;
        createdDataset = 0n;
      }
    }
    for (const vote of this.votes(ctx.store, id)) this.view(ctx.store).delete(keys.vote(id, decodeAddress(vote.voter, 'voter')));
    this.setProposal(ctx.store, { ...proposal, status, finalTally: tallyToProto(tally), failureReason, createdVersion, createdDataset });
    const deposit: Coin[] = proposal.deposit === undefined ? [] : [{ denom: proposal.deposit.denom, amount: BigInt(proposal.deposit.amount) }];
    const burn = status === ProposalStatus.PROPOSAL_STATUS_VETOED || status === ProposalStatus.PROPOSAL_STATUS_QUORUM_NOT_MET;
    if (deposit.length > 0 && deposit[0].amount > 0n) {
      if (burn) this.deps.bank.burn(ctx.store, ctx.events, MODEL_MODULE_ADDRESS, deposit);
      else this.deps.bank.send(ctx.store, ctx.events, MODEL_MODULE_ADDRESS, decodeAddress(proposal.proposer, 'proposer'), deposit);
    }
    ctx.events.emit('proposal_finished', [
      ['id', id.toString()], ['outcome', proposalOutcomeNames[status]], ['deposit', burn ? 'burned' : 'refunded'],
      ...(failureReason === '' ? [] : [['reason', failureReason, false] as [string, string, boolean]]),
    ]);
  }

  /** Carries out a passed proposal on `store` (a throwaway layer); returns the version or dataset it created, or 0. */
  private execute(store: KVStore, events: EventLog, height: bigint, proposal: Proposal): bigint {
    const content = proposal.content;
    if (content?.paramChange !== undefined) {
      const { module, paramsJson } = content.paramChange;
      if (!this.deps.params.modules().includes(module)) throw modelErrors.unknownParamsModule(`module "${module}" has no governable params`);
      this.deps.params.set(store, module, JSON.parse(paramsJson));
      events.emit('params_changed', [['module', module], ['proposal_id', proposal.id.toString()]]);
      return 0n;
    }
    const register = content?.registerDataset;
    if (register !== undefined) {
      this.checkDatasetRegistration(store, register);
      const id = this.latestDatasetId(store) + 1n;
      this.setDataset(store, { id, ...register, proposalId: proposal.id, registeredHeight: height });
      events.emit('dataset_registered', [
        ['id', id.toString()], ['manifest_cid', register.manifestCid], ['model_version', register.modelVersion.toString()],
        ['proposal_id', proposal.id.toString()],
      ]);
      return id;
    }
    const rollback = content?.headRollback;
    if (rollback !== undefined) {
      if (this.deps.head === undefined) throw modelErrors.invalidHeadRollback('no training module is wired to roll back');
      this.deps.head.rollback(store, events, height, rollback.toWindow, proposal.id);
      return 0n;
    }
    const newVersion = content?.newVersion;
    if (newVersion === undefined) throw modelErrors.invalidProposalContent(`proposal ${proposal.id} has no content`);
    const migrating = this.migratingVersion(store);
    if (migrating !== undefined) {
      throw modelErrors.migrationInProgress(`version ${migrating.number} migrates until height ${migrating.migrationEndHeight}`);
    }
    const number = this.latestVersionNumber(store) + 1n;
    this.setVersion(store, {
      number, modelCid: newVersion.modelCid, backboneSeed: newVersion.backboneSeed,
      manifestCid: newVersion.manifestCid, architectureHash: newVersion.architectureHash,
      architecture: newVersion.architecture, lora: newVersion.lora,
      status: VersionStatus.VERSION_STATUS_MIGRATION, activationHeight: height,
      migrationBlocks: newVersion.migrationBlocks, migrationEndHeight: height + newVersion.migrationBlocks,
      deprecatedHeight: 0n, proposalId: proposal.id,
    });
    events.emit('model_version', [['number', number.toString()], ['status', 'migration'], ['proposal_id', proposal.id.toString()]]);
    return number;
  }
}
