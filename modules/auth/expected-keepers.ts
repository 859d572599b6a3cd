import type { KVStore } from '../../app/core/store/types.ts';
import type { EventLog } from '../../app/core/events.ts';
import type { Coin } from '../../app/core/coins.ts';

/** What the ante handler needs of the bank: the fee payer's balance and the fee transfer. */
export interface FeeBank {
  balance(store: KVStore, address: Uint8Array, denom: string): bigint;
  send(store: KVStore, events: EventLog, from: Uint8Array, to: Uint8Array, coins: Coin[]): void;
}
