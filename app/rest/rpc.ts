/**
 * A small typed client for the CometBFT v0.38 JSON-RPC (HTTP POST, JSON-RPC 2.0).
 *
 * Every method resolves to a value, never throws: `{ ok: true, value }` or
 * `{ ok: false, error }` where the error says what kind of failure it was
 * (node unreachable, timeout, HTTP error, JSON-RPC error, malformed answer) and
 * carries a human-readable message. Callers decide what an error means for them
 * (the REST server maps `unreachable`/`timeout` to 503).
 *
 * Wire encodings follow CometBFT's JSON-RPC server (the same CosmJS's
 * Comet38Client uses): `abci_query.data` is hex, `broadcast_tx_*.tx` and
 * `tx.hash` are base64, int64 values travel as decimal strings.
 */
import { fromBase64, fromHex, toBase64, toHex } from '@cosmjs/encoding';

export type RpcErrorKind = 'unreachable' | 'timeout' | 'http' | 'rpc' | 'malformed';

export interface RpcError {
  kind: RpcErrorKind;
  message: string;
  /** JSON-RPC error code, when `kind` is `rpc` (CometBFT uses -32603 for most failures). */
  rpcCode?: number;
  /** JSON-RPC error `data`, when `kind` is `rpc`: CometBFT puts the real reason here. */
  rpcData?: string;
  /** HTTP status, when `kind` is `http`. */
  httpStatus?: number;
}

export type RpcResult<T> = { ok: true; value: T } | { ok: false; error: RpcError };

export interface AbciQueryOptions {
  /** Query state as of this height; omitted or 0n means the latest committed state. */
  height?: bigint;
  prove?: boolean;
}

export interface AbciQueryResult {
  code: number;
  codespace: string;
  log: string;
  info: string;
  key: Uint8Array;
  value: Uint8Array;
  height: bigint;
}

export interface BroadcastTxResult {
  code: number;
  codespace: string;
  log: string;
  /** Data returned by CheckTx, hex as CometBFT sends it (usually empty). */
  dataHex: string;
  /** sha256 of the tx bytes, upper-case hex. */
  hash: string;
}

export interface RpcEventAttribute {
  key: string;
  value: string;
  index: boolean;
}

export interface RpcEvent {
  type: string;
  attributes: RpcEventAttribute[];
}

export interface ExecTxResult {
  code: number;
  codespace: string;
  log: string;
  info: string;
  data: Uint8Array;
  gasWanted: bigint;
  gasUsed: bigint;
  events: RpcEvent[];
}

export interface TxResult {
  /** Upper-case hex. */
  hash: string;
  height: bigint;
  index: number;
  tx: Uint8Array;
  result: ExecTxResult;
}

export interface TxSearchOptions {
  page?: number;
  perPage?: number;
  orderBy?: 'asc' | 'desc';
  prove?: boolean;
}

export interface TxSearchResult {
  txs: TxResult[];
  totalCount: bigint;
}

export interface StatusResult {
  network: string;
  nodeVersion: string;
  moniker: string;
  latestBlockHeight: bigint;
  latestBlockHash: string;
  latestAppHash: string;
  /** RFC 3339, as CometBFT reports it. */
  latestBlockTime: string;
  catchingUp: boolean;
}

export interface BlockHeaderResult {
  height: bigint;
  /** RFC 3339, as CometBFT reports it. */
  time: string;
  chainId: string;
}

export interface CometRpcOptions {
  /** Per-request timeout in milliseconds (default 10 000). */
  timeoutMs?: number;
  /** Injected for tests; defaults to the global fetch. */
  fetch?: typeof fetch;
}

/** Thrown only inside this module while decoding; surfaces as a `malformed` error value. */
class MalformedAnswer extends Error {}

type JsonRecord = Record<string, unknown>;

function asRecord(value: unknown, what: string): JsonRecord {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new MalformedAnswer(`${what}: expected an object`);
  }
  return value as JsonRecord;
}

function optString(rec: JsonRecord, key: string): string {
  const value = rec[key];
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw new MalformedAnswer(`${key}: expected a string`);
  return value;
}

function optUint32(rec: JsonRecord, key: string): number {
  const value = rec[key];
  if (value === undefined || value === null) return 0;
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 0xffff_ffff) {
    throw new MalformedAnswer(`${key}: expected an unsigned 32-bit integer`);
  }
  return n;
}

function optInt64(rec: JsonRecord, key: string): bigint {
  const value = rec[key];
  if (value === undefined || value === null || value === '') return 0n;
  if (typeof value === 'string' && /^-?\d{1,20}$/.test(value)) return BigInt(value);
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  throw new MalformedAnswer(`${key}: expected an int64 as a decimal string`);
}

function optBase64(rec: JsonRecord, key: string): Uint8Array {
  const text = optString(rec, key);
  try {
    return fromBase64(text);
  } catch {
    throw new MalformedAnswer(`${key}: expected base64`);
  }
}

function decodeEvents(value: unknown): RpcEvent[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new MalformedAnswer('events: expected an array');
  return value.map((raw) => {
    const ev = asRecord(raw, 'event');
    const attrs = ev.attributes;
    if (attrs !== undefined && attrs !== null && !Array.isArray(attrs)) {
      throw new MalformedAnswer('event attributes: expected an array');
    }
    return {
      type: optString(ev, 'type'),
      attributes: (attrs ?? []).map((rawAttr: unknown) => {
        const attr = asRecord(rawAttr, 'event attribute');
        return { key: optString(attr, 'key'), value: optString(attr, 'value'), index: attr.index === true };
      }),
    };
  });
}

function decodeExecTxResult(value: unknown): ExecTxResult {
  const rec = asRecord(value, 'tx_result');
  return {
    code: optUint32(rec, 'code'),
    codespace: optString(rec, 'codespace'),
    log: optString(rec, 'log'),
    info: optString(rec, 'info'),
    data: optBase64(rec, 'data'),
    gasWanted: optInt64(rec, 'gas_wanted'),
    gasUsed: optInt64(rec, 'gas_used'),
    events: decodeEvents(rec.events),
  };
}

function decodeTxResult(value: unknown): TxResult {
  const rec = asRecord(value, 'tx');
  return {
    hash: optString(rec, 'hash').toUpperCase(),
    height: optInt64(rec, 'height'),
    index: optUint32(rec, 'index'),
    tx: optBase64(rec, 'tx'),
    result: decodeExecTxResult(rec.tx_result),
  };
}

function describeFetchFailure(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as Error & { cause?: unknown }).cause;
    if (cause instanceof Error && cause.message) return cause.message;
    return err.message;
  }
  return String(err);
}

export class CometRpc {
  readonly url: string;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;
  private nextId = 1;

  constructor(url: string, options: CometRpcOptions = {}) {
    // Accept the `tcp://` form config.toml uses for `[rpc] laddr`.
    this.url = url.replace(/^tcp:\/\//, 'http://').replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.fetchImpl = options.fetch ?? fetch;
  }

  /** One JSON-RPC call; `result` is returned undecoded. Use the typed methods when one exists. */
  async call(method: string, params: JsonRecord = {}): Promise<RpcResult<unknown>> {
    const id = this.nextId++;
    let response: Response;
    try {
      response = await this.fetchImpl(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id, method, params }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
        return fail('timeout', `CometBFT RPC ${this.url} did not answer ${method} within ${this.timeoutMs} ms`);
      }
      return fail('unreachable', `CometBFT RPC ${this.url} unreachable: ${describeFetchFailure(err)}`);
    }
    let text: string;
    try {
      text = await response.text();
    } catch (err) {
      return fail('unreachable', `CometBFT RPC ${this.url}: reading ${method} answer failed: ${describeFetchFailure(err)}`);
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      if (!response.ok) {
        return { ok: false, error: { kind: 'http', httpStatus: response.status, message: `CometBFT RPC ${method}: HTTP ${response.status}` } };
      }
      return fail('malformed', `CometBFT RPC ${method}: answer is not JSON`);
    }
    if (typeof body !== 'object' || body === null) return fail('malformed', `CometBFT RPC ${method}: answer is not an object`);
    const envelope = body as JsonRecord;
    if (envelope.error !== undefined && envelope.error !== null) {
      const e = typeof envelope.error === 'object' ? (envelope.error as JsonRecord) : {};
      const rpcCode = typeof e.code === 'number' ? e.code : undefined;
      const rpcMessage = typeof e.message === 'string' ? e.message : 'error';
      const rpcData = typeof e.data === 'string' ? e.data : undefined;
      return {
        ok: false,
        error: {
          kind: 'rpc',
          rpcCode,
          rpcData,
          message: `CometBFT RPC ${method}: ${rpcMessage}${rpcData ? `: ${rpcData}` : ''}`,
        },
      };
    }
    if (!response.ok) {
      return { ok: false, error: { kind: 'http', httpStatus: response.status, message: `CometBFT RPC ${method}: HTTP ${response.status}` } };
    }
    if (!('result' in envelope)) return fail('malformed', `CometBFT RPC ${method}: answer has no result`);
    return { ok: true, value: envelope.result };
  }

  async abciQuery(path: string, data: Uint8Array, options: AbciQueryOptions = {}): Promise<RpcResult<AbciQueryResult>> {
    const params: JsonRecord = { path, data: toHex(data), prove: options.prove ?? false };
    if (options.height !== undefined && options.height > 0n) params.height = options.height.toString();
    return this.typed('abci_query', params, (result) => {
      const rec = asRecord(asRecord(result, 'result').response, 'response');
      return {
        code: optUint32(rec, 'code'),
        codespace: optString(rec, 'codespace'),
        log: optString(rec, 'log'),
        info: optString(rec, 'info'),
        key: optBase64(rec, 'key'),
        value: optBase64(rec, 'value'),
        height: optInt64(rec, 'height'),
      };
    });
  }

  broadcastTxSync(tx: Uint8Array): Promise<RpcResult<BroadcastTxResult>> {
    return this.broadcast('broadcast_tx_sync', tx);
  }

  broadcastTxAsync(tx: Uint8Array): Promise<RpcResult<BroadcastTxResult>> {
    return this.broadcast('broadcast_tx_async', tx);
  }

  /** Looks a committed tx up by its hash (64 hex digits, any case). */
  async tx(hashHex: string, prove = false): Promise<RpcResult<TxResult>> {
    let hash: Uint8Array;
    try {
      hash = fromHex(hashHex);
    } catch {
      return fail('malformed', `tx hash ${JSON.stringify(hashHex)} is not hex`);
    }
    return this.typed('tx', { hash: toBase64(hash), prove }, decodeTxResult);
  }

  /** Searches the tx index, e.g. `transfer.recipient='r3mes1...'` (CometBFT query syntax). */
  async txSearch(query: string, options: TxSearchOptions = {}): Promise<RpcResult<TxSearchResult>> {
    const params: JsonRecord = { query, prove: options.prove ?? false, order_by: options.orderBy ?? 'asc' };
    if (options.page !== undefined) params.page = String(options.page);
    if (options.perPage !== undefined) params.per_page = String(options.perPage);
    return this.typed('tx_search', params, (result) => {
      const rec = asRecord(result, 'result');
      const txs = rec.txs ?? [];
      if (!Array.isArray(txs)) throw new MalformedAnswer('txs: expected an array');
      return { txs: txs.map(decodeTxResult), totalCount: optInt64(rec, 'total_count') };
    });
  }

  async status(): Promise<RpcResult<StatusResult>> {
    return this.typed('status', {}, (result) => {
      const rec = asRecord(result, 'result');
      const nodeInfo = asRecord(rec.node_info, 'node_info');
      const syncInfo = asRecord(rec.sync_info, 'sync_info');
      return {
        network: optString(nodeInfo, 'network'),
        nodeVersion: optString(nodeInfo, 'version'),
        moniker: optString(nodeInfo, 'moniker'),
        latestBlockHeight: optInt64(syncInfo, 'latest_block_height'),
        latestBlockHash: optString(syncInfo, 'latest_block_hash'),
        latestAppHash: optString(syncInfo, 'latest_app_hash'),
        latestBlockTime: optString(syncInfo, 'latest_block_time'),
        catchingUp: syncInfo.catching_up === true,
      };
    });
  }

  /** The header fields of one block (the latest when `height` is omitted). */
  async blockHeader(height?: bigint): Promise<RpcResult<BlockHeaderResult>> {
    const params: JsonRecord = height !== undefined && height > 0n ? { height: height.toString() } : {};
    return this.typed('block', params, (result) => {
      const block = asRecord(asRecord(result, 'result').block, 'block');
      const header = asRecord(block.header, 'header');
      return { height: optInt64(header, 'height'), time: optString(header, 'time'), chainId: optString(header, 'chain_id') };
    });
  }

  private async broadcast(method: string, tx: Uint8Array): Promise<RpcResult<BroadcastTxResult>> {
    return this.typed(method, { tx: toBase64(tx) }, (result) => {
      const rec = asRecord(result, 'result');
      return {
        code: optUint32(rec, 'code'),
        codespace: optString(rec, 'codespace'),
        log: optString(rec, 'log'),
        dataHex: optString(rec, 'data'),
        hash: optString(rec, 'hash').toUpperCase(),
      };
    });
  }

  private async typed<T>(method: string, params: JsonRecord, decode: (result: unknown) => T): Promise<RpcResult<T>> {
    const raw = await this.call(method, params);
    if (!raw.ok) return raw;
    try {
      return { ok: true, value: decode(raw.value) };
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      return fail('malformed', `CometBFT RPC ${method}: unexpected answer (${reason})`);
    }
  }
}

function fail(kind: RpcErrorKind, message: string): { ok: false; error: RpcError } {
  return { ok: false, error: { kind, message } };
}
