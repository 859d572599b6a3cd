/**
 * What the subnet module needs from other modules (Cosmos `expected_keepers.go`).
 * `app/modules.ts` hands in the real keepers; tests hand in fakes.
 */
import type { KVStore } from '../../app/core/store/types.ts';

export interface ModelVersionView {
  readonly number: bigint;
  readonly status: 'active' | 'migration' | 'deprecated';
  readonly nLayers: number;
}

/** model: the version registry (layer counts). */
export interface ModelReader {
  version(store: KVStore, number: bigint): ModelVersionView | undefined;
  activeVersion(store: KVStore): ModelVersionView | undefined;
}

/** staking: is this bech32 address a registered miner? */
export interface MinerReader {
  miner(store: KVStore, address: string): { readonly jailed: boolean } | undefined;
}

/**
 * training: a window's status and what fixes its assignments. TrainingKeeper.windowInfo
 * satisfies it: seed = the window's global seed, subnetCount fixed when it opened.
 */
export interface WindowReader {
  windowInfo(store: KVStore, windowId: bigint): {
    readonly status: 'collecting' | 'aggregating' | 'finalized' | 'failed' | 'not-applied';
    readonly seed: Uint8Array;
    readonly modelVersion: bigint;
    readonly subnetCount: bigint;
  } | undefined;
}
