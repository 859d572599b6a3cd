import type { Any } from 'cosmjs-types/google/protobuf/any';
import type { ValidatorUpdate } from 'cosmjs-types/tendermint/abci/types';
import type { Context } from './context.ts';
import type { KVStore } from './store/types.ts';
import type { ProtoFields } from './proto-fields.ts';
import type { PageRequest } from './pagination.ts';

/**
 * One message type a module handles. `decode` and `signers` are stateless
 * (they run before any state is read); `execute` runs on the tx's cache layer.
 */
export interface MsgHandler<Msg = unknown> {
  readonly typeUrl: string;
  /** Module name for the `message.module` event. */
  readonly module: string;
  decode(bytes: Uint8Array): Msg;
  /**
   * The field table (app/core/proto-fields.ts) holding this message type (`typeUrl` without its
   * "/") and every type it nests, e.g. the generated `protoFields` of proto/gen/fields.ts: the tx
   * decoder refuses a message carrying a field not declared there, at any depth (sdk/2, ADR-020).
   */
  readonly fields: ProtoFields;
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

/**
 * How a module appears to users: `r3mesd tx <module> <name>`, `r3mesd query
 * <module> <name>`, REST `GET /r3mes/<module>/v1/...` and the OpenAPI document
 * are all generated from this description (app/cli/module-commands.ts,
 * app/rest/module-routes.ts), so the three never disagree.
 */
export interface TxCommand {
  /** kebab-case: `create-validator`. */
  readonly name: string;
  readonly description: string;
  /** Positional argument names, in order: ['amount', 'moniker']. */
  readonly args: readonly string[];
  readonly options?: ReadonlyArray<{ readonly name: string; readonly description: string; readonly default?: string }>;
  readonly typeUrl: string;
  /** The message value (what the generated type's fromPartial takes) from the CLI input; throws a ChainError on bad input. */
  build(signer: string, args: Readonly<Record<string, string>>, options: Readonly<Record<string, string>>): unknown;
}

/** An optional filter of a list query: REST `?name=value`, CLI `--name value`. */
export interface QueryFilter {
  /** snake_case: `status`. */
  readonly name: string;
  readonly description: string;
  /** The accepted values, when they are a fixed set. */
  readonly values?: readonly string[];
}

/** What a list query takes besides its positional arguments. */
export interface QueryInput {
  /** `pagination.*` (REST) / `--page-key --limit --offset --count-total --reverse` (CLI); absent = the first page of 100. */
  readonly pagination?: PageRequest;
  readonly filters?: Readonly<Record<string, string | undefined>>;
}

export interface QueryRoute {
  /** kebab-case: `validators`, `window`. */
  readonly name: string;
  readonly description: string;
  /** Positional argument names; the same names appear as {params} in `rest`. */
  readonly args: readonly string[];
  /** ABCI query path: `/r3mes.staking.v1.Query/Validators`. */
  readonly path: string;
  /** REST path: `/r3mes/staking/v1/validators/{address}`. */
  readonly rest: string;
  /** A list query that takes a Cosmos PageRequest and answers a PageResponse (`pagination`). */
  readonly paginated?: boolean;
  readonly filters?: readonly QueryFilter[];
  encodeRequest(args: Readonly<Record<string, string>>, input?: QueryInput): Uint8Array;
  /** JSON-ready response (the generated type's toJSON). */
  decodeResponse(bytes: Uint8Array): unknown;
}

/** A message type for CosmJS's Registry: the generated codec. */
export interface RegistryType {
  encode(message: never): { finish(): Uint8Array };
  decode(input: Uint8Array): unknown;
  fromPartial(object: never): unknown;
}

export interface ModuleInterface {
  readonly module: string;
  readonly txs: readonly TxCommand[];
  readonly queries: readonly QueryRoute[];
  /** Every Msg type of the module, for the exported CosmJS Registry. */
  readonly registryTypes: ReadonlyArray<readonly [typeUrl: string, type: RegistryType]>;
}
