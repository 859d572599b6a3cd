/**
 * What the training module needs from other modules, as small interfaces the caller declares
 * (Cosmos `expected_keepers.go`). `app/modules.ts` hands in the real keepers; tests hand in
 * fakes (test/helpers/training-testbed.ts). Nothing here imports another module's internals.
 */
import type { Context } from '../../app/core/context.ts';
import type { KVStore } from '../../app/core/store/types.ts';
import type { Drawer } from '../randomness/drawer.ts';

/** Stake-weighted draws from the beacon (the randomness module's Drawer): the window's proposers. */
export type { Drawer };

/** A registered miner as staking sees it. */
export interface MinerView {
  /** Bonded miner stake in ur3mes. */
  readonly stake: bigint;
  readonly jailed: boolean;
  /** Registered backend/GPU class (informational here). */
  readonly backend: string;
}

/** staking: miners. `address` is the miner's bech32 `r3mes1...` account address. */
export interface MinerReader {
  miner(store: KVStore, address: string): MinerView | undefined;
}

/**
 * staking: the bonded validator set. `address` is the bech32 `r3mes1...` ACCOUNT address that
 * controls the validator (the one that signs its transactions), not a valoper or consensus
 * address; `stake` its bonded tokens in ur3mes. Jailed validators must not be listed. Order
 * does not matter (the draw sorts by address).
 */
export interface ValidatorReader {
  bondedValidators(store: KVStore): ReadonlyArray<{ readonly address: string; readonly stake: bigint }>;
}

export type ModelVersionStatus = 'active' | 'migration' | 'deprecated';

export interface ModelVersionView {
  readonly number: bigint;
  readonly status: ModelVersionStatus;
  readonly nLayers: number;
}

/** A registered dataset as training sees it (model README "Datasets"). */
export interface DatasetView {
  readonly id: bigint;
  /** Train chunks (2048 tokens each) and held-out chunks of the dataset. */
  readonly chunkCount: bigint;
  readonly heldOutChunkCount: bigint;
}

/** model: the version registry and the dataset registry. */
export interface ModelReader {
  version(store: KVStore, number: bigint): ModelVersionView | undefined;
  /** The version new windows train (status 'active'); undefined before the first one exists. */
  activeVersion(store: KVStore): ModelVersionView | undefined;
  /** The dataset new windows of `version` train on (its default dataset); undefined when none is registered. */
  datasetFor(store: KVStore, version: bigint): DatasetView | undefined;
}

/** subnet: how many subnets a window has and which one a miner is assigned to. */
export interface SubnetReader {
  /** Subnets for windows of this model version (the subnet_count param capped at n_layers), ≥ 1. */
  subnetCount(store: KVStore, modelVersion: bigint): bigint;
  /** The subnet the window seed assigns to `miner` (subnet's pure `assignedSubnet`). */
  assignedSubnet(window: { readonly seed: Uint8Array; readonly subnetCount: bigint }, miner: string): bigint;
}

export interface WeightedAddress {
  readonly address: string;
  readonly weight: bigint;
}

/**
 * rewards: called once per finalized window, from the beginBlock that finalizes it.
 * - `miners`: every miner with accepted submissions, weight = its number of accepted
 *   submissions (each is one fixed 2048-token chunk), sorted by address.
 * - `aggregators`: the proposers whose reveal matched the majority, weight 1, in draw order.
 * - `baseReward`: ur3mes per accepted submission, as fixed when the window opened.
 * Minting and paying is the rewards module's business. It must not throw for valid input
 * (a throw in a block hook halts the chain).
 */
export interface RewardsHook {
  distributeWindow(
    ctx: Context,
    windowId: bigint,
    payout: { readonly baseReward: bigint; readonly miners: readonly WeightedAddress[]; readonly aggregators: readonly WeightedAddress[] },
  ): void;
}

export type AggregatorFault = 'missing-reveal' | 'minority-reveal';

/**
 * staking: penalises a drawn aggregation proposer (`address` as in ValidatorReader) that did
 * not reveal, or revealed a result other than the majority's. How much (slash fraction, jail)
 * is staking's param. Must not throw.
 */
export interface AggregatorSlasher {
  penalizeAggregator(ctx: Context, address: string, windowId: bigint, fault: AggregatorFault): void;
}

/**
 * Verification's view of disputes: a submission under an open dispute when its
 * window starts aggregating is held out of the accepted set (it stays pending;
 * if the miner loses, verification rejects it).
 */
export interface SubmissionHoldReader {
  isHeld(store: KVStore, submissionId: bigint): boolean;
}

/**
 * poc: how many chunks a miner may train in a window whose cap (max_submissions_per_miner) is
 * `maxPerWindow`, from its compute weight (modules/poc README "Compute weight"). Returns
 * `maxPerWindow` itself while no miner has compute weight, so a chain without PoC activity
 * behaves exactly as without this reader. Must not throw.
 */
export interface ChunkQuotaReader {
  chunkQuota(store: KVStore, miner: string, maxPerWindow: bigint): bigint;
}
