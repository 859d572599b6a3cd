import type { Event } from 'cosmjs-types/tendermint/abci/types';

/**
 * Collects the Cosmos-style events of one tx or block hook. Attributes are
 * strings; `indexed` marks those CometBFT's kv indexer should make searchable
 * (tx_search by transfer.recipient, message.sender, ...).
 */
export class EventLog {
  readonly events: Event[] = [];
  /** False for a log that drops everything: callers may skip building attributes. */
  get enabled(): boolean {
    return true;
  }

  emit(type: string, attributes: Array<[key: string, value: string, indexed?: boolean]>): void {
    this.events.push({
      type,
      attributes: attributes.map(([key, value, indexed]) => ({ key, value, index: indexed ?? true })),
    });
  }

  /** Appends another log's events (a successful nested execution). */
  append(other: EventLog): void {
    this.events.push(...other.events);
  }
}

/**
 * A log that keeps nothing, for CheckTx and ReCheckTx. Their events reach no one: CometBFT's
 * mempool reads the code (and gas) of a CheckTx to admit or evict a tx and indexes nothing from
 * it; broadcast_tx_sync answers without events; only broadcast_tx_commit echoes the CheckTx
 * response, whose events would repeat what the block's tx result carries. Building, encoding and
 * sending them was about a tenth of CheckTx's time (bench/chain-inprocess.ts).
 */
export class DiscardedEventLog extends EventLog {
  override get enabled(): boolean {
    return false;
  }

  override emit(): void {}

  override append(): void {}
}
