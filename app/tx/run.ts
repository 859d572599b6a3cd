import { TxMsgData } from 'cosmjs-types/cosmos/base/abci/v1beta1/abci';
import type { Any } from 'cosmjs-types/google/protobuf/any';
import type { Event } from 'cosmjs-types/tendermint/abci/types';
import type { Context, ExecMode } from '../core/context.ts';
import { toChainError } from '../core/errors.ts';
import { DiscardedEventLog, EventLog } from '../core/events.ts';
import { CacheStore } from '../core/store/cache.ts';
import type { KVStore } from '../core/store/types.ts';
import { encodeAddress } from '../core/address.ts';
import type { DecodedTx } from './decode.ts';
import { GasMeter, GasMeteredStore, infiniteGasMeter } from '../core/gas.ts';

export interface TxOutcome {
  code: number;
  codespace: string;
  log: string;
  data: Uint8Array;
  gasWanted: bigint;
  gasUsed: bigint;
  events: Event[];
  msgResponses: Any[];
}

export interface BlockInfo {
  chainId: string;
  height: bigint;
  blockTimeSeconds: bigint;
  /** Hash and proposer of the block; zero bytes outside FinalizeBlock. */
  block: { hash: Uint8Array; proposer: Uint8Array };
}

/** A log that keeps nothing holds no state: one serves every CheckTx. */
const DISCARDED_EVENTS = new DiscardedEventLog();
const EMPTY = new Uint8Array(0);

/** What CheckTx and simulation see as "the block": nothing to depend on. */
export const NO_BLOCK = { hash: new Uint8Array(32), proposer: new Uint8Array(20) };

/**
 * The stateful checks before a tx's messages run (signature, sequence, fee), as the Cosmos SDK's
 * `sdk.AnteHandler`: it throws to refuse the tx. The node wires the auth module's
 * (modules/auth/ante.ts); the pipeline knows no module.
 */
export type AnteHandler = (ctx: Context, tx: DecodedTx) => void;

/**
 * Runs one tx on a cache layer of `base`, ante handler (fee, sequence) first, then the messages.
 * Ante fails → the layer is dropped, nothing charged. A message fails → its writes are undone
 * (in a block: back to a savepoint taken after the ante handler, so the fee is paid and the
 * sequence used, as in the Cosmos SDK); in CheckTx the whole layer is dropped, so the tx never
 * enters the mempool.
 */
export function runTx(mode: ExecMode, base: KVStore, tx: DecodedTx, block: BlockInfo, ante: AnteHandler): TxOutcome {
  const gas = mode === 'simulate' ? infiniteGasMeter() : new GasMeter(Number(tx.gasLimit));
  const layer = new CacheStore(base);
  const metered = new GasMeteredStore(layer, gas);
  // CheckTx and ReCheckTx answer only whether the tx enters (stays in) the mempool: no events
  // (see DiscardedEventLog). Delivery and simulation keep them.
  const keepEvents = mode === 'deliver' || mode === 'simulate';
  const anteEvents = keepEvents ? new EventLog() : DISCARDED_EVENTS;

  try {
    ante(txContext(metered, anteEvents, gas, mode, block), tx);
  } catch (thrown) {
    return failedOutcome(thrown, [], tx, gas);
  }

  if (mode === 'deliver') layer.savepoint();
  const msgEvents = keepEvents ? new EventLog() : DISCARDED_EVENTS;
  const msgResponses: Any[] = [];
  try {
    const msgContext = txContext(metered, msgEvents, gas, mode, block);
    for (const { handler, msg } of tx.msgs) {
      if (msgEvents.enabled) msgEvents.emit('message', [
        ['action', handler.typeUrl],
        ['sender', encodeAddress(tx.signer)],
        ['module', handler.module],
      ]);
      msgResponses.push(handler.execute(msgContext, msg));
    }
  } catch (thrown) {
    if (mode === 'deliver') {
      layer.rollbackToSavepoint();
      layer.write();
    }
    return failedOutcome(thrown, mode === 'deliver' ? anteEvents.events : [], tx, gas);
  }

  layer.write();
  anteEvents.append(msgEvents);
  return {
    // CheckTx answers without data (app.ts checkTx): its TxMsgData would be encoded for nothing.
    code: 0, codespace: '', log: '', data: keepEvents ? TxMsgData.encode({ data: [], msgResponses }).finish() : EMPTY,
    gasWanted: tx.gasLimit, gasUsed: BigInt(gas.consumed), events: keepEvents ? anteEvents.events : [], msgResponses,
  };
}

function txContext(store: GasMeteredStore, events: EventLog, gas: GasMeter, mode: ExecMode, block: BlockInfo): Context {
  return {
    store, gas, events, mode,
    chainId: block.chainId, height: block.height, blockTimeSeconds: block.blockTimeSeconds, block: block.block,
  };
}

function failedOutcome(thrown: unknown, events: Event[], tx: DecodedTx, gas: GasMeter): TxOutcome {
  const error = toChainError(thrown);
  return {
    code: error.code, codespace: error.codespace, log: error.message, data: new Uint8Array(),
    gasWanted: tx.gasLimit, gasUsed: BigInt(gas.consumed), events, msgResponses: [],
  };
}
