/**
 * What the poc module needs from other modules, declared by the caller (Cosmos
 * `expected_keepers.go`). `app/modules.ts` hands in the real keepers (through app/adapters.ts);
 * tests hand in the same real keepers over a test store.
 */
import type { Context } from '../../app/core/context.ts';
import type { KVStore } from '../../app/core/store/types.ts';
import type { Candidate, Drawer } from '../randomness/drawer.ts';

/** Stake-weighted draws from the beacon (the randomness module's Drawer): verifiers and panels. */
export type { Candidate, Drawer };

/** A rational in [0, 1]. */
export interface Fraction {
  readonly numerator: bigint;
  readonly denominator: bigint;
}

/** staking: miners, draw candidates, slashes. Addresses are bech32 account addresses. */
export interface PocStaking {
  /** A registered miner, or undefined. */
  miner(store: KVStore, address: string): { readonly jailed: boolean } | undefined;
  /** Bonded validators as draw candidates (id = bech32 operator account address, stake = tokens). */
  validatorCandidates(store: KVStore): Candidate[];
  /** Burn `fraction` of a miner's stake and jail it from mining; returns the amount burned. May throw (unknown miner). */
  slashMiner(ctx: Context, address: string, fraction: Fraction, reason: string): bigint;
  /** Burn `fraction` of a validator's bonded stake, no jail; returns the amount burned. May throw (unknown validator). */
  penalizeValidator(ctx: Context, address: string, fraction: Fraction, reason: string): bigint;
}

/**
 * verification: the L3 panel and penalty settings the PoC dispute shares with training
 * disputes (verification README, params): panel size, blocks a round has to vote, redraws at
 * most, the miner slash (only at L3), the liveness penalty of a missed duty, the wrong-result
 * penalty.
 */
export interface DisputeSettings {
  disputeSettings(store: KVStore): {
    readonly panelSize: bigint;
    readonly voteBlocks: bigint;
    readonly maxRedraws: bigint;
    readonly minerSlash: Fraction;
    readonly livenessPenalty: Fraction;
    readonly wrongResultPenalty: Fraction;
  };
}
