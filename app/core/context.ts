import type { KVStore } from './store/types.ts';
import type { GasMeter } from './gas.ts';
import type { EventLog } from './events.ts';

/** Why a tx is being run: it changes which checks apply (simulation skips signatures). */
export type ExecMode = 'check' | 'recheck' | 'simulate' | 'deliver';

/**
 * Everything a message handler or block hook may see. `store` is a cache layer
 * of the block state: the caller merges it on success and drops it on failure,
 * so a handler never undoes its own writes.
 */
export interface Context {
  readonly store: KVStore;
  readonly gas: GasMeter;
  readonly events: EventLog;
  readonly chainId: string;
  /** Height of the block being built (for CheckTx: last committed + 1). */
  readonly height: bigint;
  /** Block time from the header, seconds since the Unix epoch; never the wall clock. */
  readonly blockTimeSeconds: bigint;
  readonly mode: ExecMode;
  /**
   * The block being executed: its hash (the seed of draws until the VRF
   * beacon backs them) and its proposer's consensus address. In CheckTx and
   * simulation these are zero bytes: nothing there may depend on them.
   */
  readonly block: { readonly hash: Uint8Array; readonly proposer: Uint8Array };
}
