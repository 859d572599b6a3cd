/**
 * What verification needs from other modules, declared by the caller (Cosmos
 * `expected_keepers.go`). Bank and staking are narrowed `Pick`s of their keepers; training is
 * reached through `TrainingReader`, which the node builds from the TrainingKeeper (app/adapters.ts).
 */
import type { Context } from '../../app/core/context.ts';
import type { KVStore } from '../../app/core/store/types.ts';
import type { BankKeeper } from '../bank/keeper.ts';
import type { StakingKeeper } from '../staking/keeper.ts';
import type { Candidate, Drawer } from '../randomness/drawer.ts';

/** Stake-weighted draws from the beacon (the randomness module's Drawer). */
export type { Candidate, Drawer };

/** Bonds move into and out of the module account; bounties are minted (within the supply bound, hence `supplyOf`). */
export type VerificationBankKeeper = Pick<BankKeeper, 'send' | 'mint' | 'supplyOf'>;

/**
 * Draw candidates (bonded validators, id = bech32 operator address, stake = tokens), the L3
 * miner slash (burn + jail from mining) and validator penalties (burn, no jail).
 */
export type VerificationStakingKeeper = Pick<StakingKeeper, 'validatorCandidates' | 'slashMiner' | 'slashValidator'>;

export type SubmissionStatusName = 'pending' | 'accepted' | 'rejected';

/** A training submission as verification reads it. */
export interface SubmissionView {
  readonly id: bigint;
  readonly miner: string;
  readonly windowId: bigint;
  readonly gradientCid: string;
  /** 32 bytes: what re-executing the chunk must reproduce (the result hash of README). */
  readonly gradientHash: Uint8Array;
  /** 32 bytes: the Merkle root over the job's per-step state hashes (worker SPEC §6), what bisection proofs open. */
  readonly traceRoot: Uint8Array;
  readonly status: SubmissionStatusName;
  readonly height: bigint;
}

export interface WindowView {
  /** The submission's challenge period ends here: its window's aggregation start. */
  readonly commitStartHeight: bigint;
  /** ur3mes per accepted submission, fixed when the window opened. */
  readonly baseReward: bigint;
}

/** training: submissions, their windows, and rejection of a submission whose miner lost. */
export interface TrainingReader {
  submission(store: KVStore, submissionId: bigint): SubmissionView | undefined;
  window(store: KVStore, windowId: bigint): WindowView | undefined;
  /** The id the next submission will get: ids below it exist. */
  nextSubmissionId(store: KVStore): bigint;
  /** Throws unless the submission is pending (training 26); verification checks status first. */
  rejectSubmission(ctx: Context, submissionId: bigint, reason: string): void;
}

/**
 * What verification offers training (to be declared in training's expected-keepers): a held
 * submission has an open dispute and must not be accepted into its window's aggregation until
 * the dispute resolves. See README "Interaction with training".
 */
export interface SubmissionHoldReader {
  isHeld(store: KVStore, submissionId: bigint): boolean;
}
