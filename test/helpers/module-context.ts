/**
 * A Context over a fresh in-memory state, for testing keepers and message
 * handlers directly (no ABCI, no LevelDB): what a block would hand them.
 */
import { createHash } from 'node:crypto';
import type { Context, ExecMode } from '../../app/core/context.ts';
import { EventLog } from '../../app/core/events.ts';
import { CacheStore } from '../../app/core/store/cache.ts';
import type { KVStore } from '../../app/core/store/types.ts';
import { infiniteGasMeter } from '../../app/core/gas.ts';

/** An empty state: a cache over a store with nothing in it. Writes stay in the cache. */
export function emptyState(): CacheStore {
  const nothing: KVStore = {
    get: () => undefined,
    has: () => false,
    iterate: function* () {},
    set: () => { throw new Error('write through the cache'); },
    delete: () => { throw new Error('write through the cache'); },
  };
  return new CacheStore(nothing);
}

export interface TestBlock {
  height?: bigint;
  timeSeconds?: bigint;
  mode?: ExecMode;
  /** Seed for the block hash: sha256("block-" + seed + "-" + height). */
  hashSeed?: string;
}

export function testContext(store: KVStore, block: TestBlock = {}): Context {
  const height = block.height ?? 1n;
  const hash = new Uint8Array(createHash('sha256').update(`block-${block.hashSeed ?? 'test'}-${height}`).digest());
  return {
    store, gas: infiniteGasMeter(), events: new EventLog(), chainId: 'r3mes-test-1', height,
    blockTimeSeconds: block.timeSeconds ?? 1_700_000_000n + height, mode: block.mode ?? 'deliver',
    block: { hash, proposer: new Uint8Array(20) },
  };
}
