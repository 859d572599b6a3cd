/**
 * Adapters between the keepers' own types and the small interfaces other
 * modules declare in their expected-keepers.ts (Cosmos SDK habit: the caller
 * states what it needs; the wiring satisfies it). Only app/modules.ts uses them.
 */
import type { Context } from './core/context.ts';
import { decodeAddress } from './core/address.ts';
import { type StakingKeeper, backendName } from '../modules/staking/keeper.ts';
import type { ModelViewKeeper } from '../modules/model/keeper.ts';
import { type ModelVersion, VersionStatus } from '../proto/gen/r3mes/model/v1/types.ts';
import type { RewardsKeeper } from '../modules/rewards/keeper.ts';
import type {
  AggregatorSlasher, MinerReader, ModelReader, ModelVersionView, RewardsHook, ValidatorReader,
} from '../modules/training/expected-keepers.ts';
import type { TrainingKeeper } from '../modules/training/keeper.ts';
import { SubmissionStatus } from '../proto/gen/r3mes/training/v1/types.ts';
import type { SubmissionStatusName, TrainingReader } from '../modules/verification/expected-keepers.ts';
import type { VerificationViewKeeper } from '../modules/verification/keeper.ts';
import type { DisputeSettings, PocStaking } from '../modules/poc/expected-keepers.ts';
import type { PocViewKeeper } from '../modules/poc/keeper.ts';
import { blendComputeWeights } from '../modules/rewards/compute-weight.ts';

/** Share of an aggregator's stake taken for a missing or minority reveal: 1/1000. */
export const AGGREGATOR_PENALTY = { numerator: 1n, denominator: 1000n } as const;

export function minerReader(staking: StakingKeeper): MinerReader {
  return {
    miner(store, address) {
      let raw: Uint8Array;
      try {
        raw = decodeAddress(address);
      } catch {
        return undefined;
      }
      const info = staking.miner(store, raw);
      return info === undefined ? undefined : { stake: info.stake, jailed: info.jailed, backend: backendName(info.backend) };
    },
  };
}

export function validatorReader(staking: StakingKeeper): ValidatorReader {
  return {
    bondedValidators: (store) => staking.bondedValidators(store).map((v) => ({ address: v.operatorAddress, stake: v.tokens })),
  };
}

function versionView(version: ModelVersion | undefined): ModelVersionView | undefined {
  if (version === undefined) return undefined;
  const status = version.status === VersionStatus.VERSION_STATUS_ACTIVE ? 'active'
    : version.status === VersionStatus.VERSION_STATUS_MIGRATION ? 'migration' : 'deprecated';
  return { number: version.number, status, nLayers: version.architecture?.nLayers ?? 0 };
}

export function modelReader(model: ModelViewKeeper): ModelReader {
  return {
    version: (store, number) => versionView(model.version(store, number)),
    activeVersion(store) {
      // The model keeper throws when no version is active; training then simply opens no window.
      try {
        return versionView(model.activeVersion(store));
      } catch {
        return undefined;
      }
    },
    datasetFor(store, version) {
      const dataset = model.datasetForVersion(store, version);
      return dataset === undefined ? undefined : { id: dataset.id, chunkCount: dataset.chunkCount, heldOutChunkCount: dataset.heldOutChunkCount };
    },
  };
}

/** Compute weights (poc) and the share of the miners' budget they set. */
export interface ComputeWeightSource {
  computeWeight(store: Context['store'], miner: string): bigint;
  rewardWeightBps(store: Context['store']): bigint;
}

export function computeWeightSource(poc: Pick<PocViewKeeper, 'computeWeight' | 'params'>): ComputeWeightSource {
  return {
    computeWeight: (store, miner) => poc.computeWeight(store, miner),
    rewardWeightBps: (store) => poc.params(store).rewardWeightBps,
  };
}

/** PoC's view of staking: miners by bech32 address, validators to draw, the slash and penalty paths verification uses. */
export function pocStaking(staking: StakingKeeper): PocStaking {
  const miners = minerReader(staking);
  return {
    miner(store, address) {
      const info = miners.miner(store, address);
      return info === undefined ? undefined : { jailed: info.jailed };
    },
    validatorCandidates: (store) => staking.validatorCandidates(store),
    slashMiner: (ctx, address, fraction, reason) => staking.slashMiner(ctx, decodeAddress(address), fraction.numerator, fraction.denominator, reason, true),
    penalizeValidator: (ctx, address, fraction, reason) => staking.slashValidator(ctx, decodeAddress(address), fraction.numerator, fraction.denominator, reason, false),
  };
}

/** The L3 panel and penalty settings of verification, for PoC disputes. */
export function disputeSettings(verification: Pick<VerificationViewKeeper, 'resolvedParams'>): DisputeSettings {
  return {
    disputeSettings(store) {
      const params = verification.resolvedParams(store);
      return {
        panelSize: params.raw.panelSize, voteBlocks: params.raw.l3VoteBlocks, maxRedraws: params.raw.maxRedraws,
        minerSlash: params.minerSlash, livenessPenalty: params.livenessPenalty, wrongResultPenalty: params.wrongResultPenalty,
      };
    },
  };
}

/** Where the verifiers' share of a window goes: confirmed L1 checks (the verification keeper's ledger). */
export interface VerifierCreditSource {
  /** Every verifier's confirmed, unpaid L1 checks, and the ledger emptied (VerificationKeeper.takeVerifierCredits). */
  takeVerifierCredits(store: Context['store']): ReadonlyArray<{ readonly verifier: string; readonly checks: bigint }>;
}

/**
 * Pays a finalized window through rewards: miners by accepted submissions; the verifiers' share
 * to the L1 verifiers whose answers were confirmed since the previous finalized window, weight =
 * the number of such checks (modules/verification/README.md "L1 verifiers are paid"). Nobody
 * confirmed → that share goes to the community pool (rewards' remainder rule). Aggregation
 * proposers are not paid from it: they are bonded validators, paid by the validators' share, and
 * penalised for a missing or minority reveal (training).
 */
export function rewardsHook(rewards: Pick<RewardsKeeper, 'distributeWindow'>, credits: () => VerifierCreditSource | undefined, compute?: () => ComputeWeightSource | undefined): RewardsHook {
  return {
    distributeWindow(ctx: Context, windowId, payout) {
      const bytes = (list: ReadonlyArray<{ address: string; weight: bigint }>) =>
        list.map((entry) => ({ address: decodeAddress(entry.address), weight: entry.weight }));
      const verifiers = (credits()?.takeVerifierCredits(ctx.store) ?? []).map((c) => ({ address: c.verifier, weight: c.checks }));
      // The miners' share by accepted submissions and, where PoC compute weights exist, by compute (rewards README "Compute weight").
      const source = compute?.();
      const miners = source === undefined ? payout.miners
        : blendComputeWeights(payout.miners, (address) => source.computeWeight(ctx.store, address), source.rewardWeightBps(ctx.store));
      rewards.distributeWindow(ctx, windowId, { miners: bytes(miners), verifiers: bytes(verifiers) });
    },
  };
}

export function aggregatorSlasher(staking: StakingKeeper): AggregatorSlasher {
  return {
    penalizeAggregator(ctx, address, windowId, fault) {
      // A penalty must never abort the block hook that applies it: an operator that is gone is simply skipped.
      try {
        staking.slashValidator(ctx, decodeAddress(address), AGGREGATOR_PENALTY.numerator, AGGREGATOR_PENALTY.denominator, `aggregation window ${windowId}: ${fault}`, false);
      } catch {
        ctx.events.emit('aggregator_penalty_skipped', [['aggregator', address], ['window', windowId.toString()], ['fault', fault]]);
      }
    },
  };
}

/** Verification's TrainingReader over the TrainingKeeper (tests use it over the real keeper too). */
const STATUS: Record<number, SubmissionStatusName> = {
  [SubmissionStatus.SUBMISSION_STATUS_PENDING]: 'pending',
  [SubmissionStatus.SUBMISSION_STATUS_ACCEPTED]: 'accepted',
  [SubmissionStatus.SUBMISSION_STATUS_REJECTED]: 'rejected',
  // Left out of its window's aggregate by the proposers' majority: like a rejected one, out of the update.
  [SubmissionStatus.SUBMISSION_STATUS_EXCLUDED]: 'rejected',
};

export function trainingReader(training: Pick<TrainingKeeper, 'submission' | 'window' | 'schedule' | 'rejectSubmission'>): TrainingReader {
  return {
    submission(store, submissionId) {
      const submission = training.submission(store, submissionId);
      if (submission === undefined) return undefined;
      return {
        id: submission.id, miner: submission.miner, windowId: submission.windowId, gradientCid: submission.gradientCid,
        gradientHash: submission.gradientHash, traceRoot: submission.traceRoot, status: STATUS[submission.status] ?? 'rejected', height: submission.height,
      };
    },
    window(store, windowId) {
      const window = training.window(store, windowId);
      if (window === undefined) return undefined;
      return { commitStartHeight: window.commitStartHeight, baseReward: BigInt(window.baseReward) };
    },
    nextSubmissionId: (store) => training.schedule(store).nextSubmissionId,
    rejectSubmission: (ctx, submissionId, reason) => training.rejectSubmission(ctx, submissionId, reason),
  };
}
