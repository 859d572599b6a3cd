import type { Any } from 'cosmjs-types/google/protobuf/any';
import type { ValidatorUpdate } from 'cosmjs-types/tendermint/abci/types';
import type { Context } from './context.ts';
import type { KVStore } from './store/types.ts';

/**
 * One message type a module handles. `decode` and `signers` are stateless
 * (they run before any state is read); `execute` runs on the tx's cache layer.
 */
export interface MsgHandler<Msg = unknown> {
  readonly typeUrl: string;
  /** Module name for the `message.module` event. */
  readonly module: string;
  decode(bytes: Uint8Array): Msg;
  /** Addresses that must sign, after validating the message's own fields. */
  signers(msg: Msg): Uint8Array[];
  execute(ctx: Context, msg: Msg): Any;
}

/** A query answers protobuf bytes for protobuf bytes, reading committed state. */
export type QueryHandler = (store: KVStore, request: Uint8Array) => Uint8Array;

/** Block hooks every module may implement; the app calls them in module order. */
export interface BlockHooks {
  beginBlock?(ctx: Context): void;
  /** May return validator power changes for CometBFT (staking does). */
  endBlock?(ctx: Context): ValidatorUpdate[] | void;
}

/**
 * A module's parameters as governance sees them: read as JSON, replaced as a
 * whole by a passed parameter-change proposal. `set` validates and throws a
 * ChainError on a bad value, changing nothing. Parameters change only this way.
 */
export interface ModuleParams {
  get(store: KVStore): unknown;
  set(store: KVStore, value: unknown): void;
}

export interface AppModule<Genesis = unknown> extends BlockHooks {
  readonly name: string;
  readonly msgs: MsgHandler[];
  /** ABCI query path (e.g. `/cosmos.bank.v1beta1.Query/Balance`) → handler. */
  readonly queries: Record<string, QueryHandler>;
  readonly params?: ModuleParams;
  defaultGenesis(): Genesis;
  /** Validates and writes the module's genesis; throws a ChainError on bad input. */
  initGenesis(store: KVStore, genesis: Genesis): void;
  /** `exportGenesis(initGenesis(g))` equals `g`. */
  exportGenesis(store: KVStore): Genesis;
}
