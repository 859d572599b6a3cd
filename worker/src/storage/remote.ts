// Remote content stores behind the one ContentStore interface:
//   - GatewayClient: our own gateway (gateway.ts) on another worker or the devnet node;
//   - KuboClient: a Kubo (go-ipfs) node's RPC API, for `--ipfs-api URL`.
// Neither server is trusted. Every download is re-hashed against the CID it was asked for and
// rejected on mismatch; every upload's answered CID must equal the one we computed locally.

import { CID } from 'multiformats/cid';
import { assertContentCid, cidOf, parseCid, verifyBytes } from './cid.ts';
import type { ContentStore } from './content-store.ts';
import { StorageError, StorageErrorCode } from './errors.ts';
import { CHUNK_BYTES, MAX_FILE_LINKS } from './unixfs.ts';

export interface RemoteOptions {
  /** Largest block uploaded or downloaded. Default 256 MiB. */
  maxBytes?: number;
  /** Per request, body included. Default 60 s. */
  timeoutMs?: number;
  /** Injected for tests; defaults to the global fetch. */
  fetch?: typeof globalThis.fetch;
  /** A gateway's upload token (sent as `Authorization: Bearer <token>` with uploads). */
  uploadToken?: string;
}

export const DEFAULT_REMOTE_MAX_BYTES = 256 * 1024 * 1024;
export const DEFAULT_REMOTE_TIMEOUT_MS = 60_000;

function remoteFailure(message: string, cause?: unknown): StorageError {
  return new StorageError(StorageErrorCode.RemoteFailure, message, cause === undefined ? undefined : { cause });
}

function tooLarge(source: string, size: number | string, limit: number): StorageError {
  return new StorageError(StorageErrorCode.TooLarge, `${source}: ${size} bytes is over the limit of ${limit}`);
}

/** Shared HTTP plumbing: timeouts, bounded bodies, error wrapping. */
class HttpTransport {
  readonly maxBytes: number;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof globalThis.fetch;

  constructor(readonly source: string, options: RemoteOptions) {
    this.maxBytes = options.maxBytes ?? DEFAULT_REMOTE_MAX_BYTES;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_REMOTE_TIMEOUT_MS;
    this.fetchImpl = options.fetch ?? globalThis.fetch;
  }

  async send(url: URL, init: RequestInit): Promise<Response> {
    try {
      return await this.fetchImpl(url, { ...init, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (cause) {
      throw remoteFailure(`${this.source}: ${init.method ?? 'GET'} ${url} failed: ${(cause as Error).message}`, cause);
    }
  }

  /** Reads the body, refusing (and cancelling) it as soon as it passes `maxBytes`. */
  async readBytes(response: Response): Promise<Uint8Array> {
    const declared = response.headers.get('content-length');
    if (declared !== null && Number(declared) > this.maxBytes) {
      await response.body?.cancel();
      throw tooLarge(this.source, declared, this.maxBytes);
    }
    if (response.body === null) return new Uint8Array(0);
    const reader = response.body.getReader();
    const parts: Uint8Array[] = [];
    let total = 0;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        total += value.byteLength;
        if (total > this.maxBytes) {
          await reader.cancel();
          throw tooLarge(this.source, `more than ${this.maxBytes}`, this.maxBytes);
        }
        parts.push(value);
      }
    } catch (cause) {
      if (cause instanceof StorageError) throw cause;
      throw remoteFailure(`${this.source}: reading the response failed: ${(cause as Error).message}`, cause);
    }
    const bytes = new Uint8Array(total);
    let at = 0;
    for (const part of parts) {
      bytes.set(part, at);
      at += part.byteLength;
    }
    return bytes;
  }

  /** A short, printable account of a failed response. */
  async describe(response: Response): Promise<string> {
    let text = '';
    try {
      text = (await response.text()).slice(0, 500);
    } catch {
      // The status alone still says what happened.
    }
    return `HTTP ${response.status}${text ? `: ${text}` : ''}`;
  }
}

function asBlob(bytes: Uint8Array): Blob {
  // Blob wants ArrayBuffer-backed views; copy only when handed a view over something else.
  return new Blob([bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : bytes.slice()]);
}

function withTrailingSlash(base: string): URL {
  const url = new URL(base);
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}

/** Client of our gateway (gateway.ts): POST /ipfs, GET and HEAD /ipfs/{cid}. */
export class GatewayClient implements ContentStore {
  private readonly base: URL;
  private readonly http: HttpTransport;
  private readonly uploadHeaders: Record<string, string>;

  constructor(baseUrl: string, options: RemoteOptions = {}) {
    this.base = withTrailingSlash(baseUrl);
    this.http = new HttpTransport(`gateway ${this.base.origin}`, options);
    this.uploadHeaders = { 'content-type': 'application/octet-stream', ...(options.uploadToken ? { authorization: `Bearer ${options.uploadToken}` } : {}) };
  }

  async put(bytes: Uint8Array): Promise<CID> {
    if (bytes.length > this.http.maxBytes) throw tooLarge(this.http.source, bytes.length, this.http.maxBytes);
    const expected = await cidOf(bytes);
    const response = await this.http.send(new URL('ipfs', this.base), {
      method: 'POST',
      headers: this.uploadHeaders,
      body: asBlob(bytes),
    });
    if (response.status === 413) {
      throw new StorageError(StorageErrorCode.TooLarge, `${this.http.source}: refused ${bytes.length} bytes as too large (HTTP 413)`);
    }
    if (!response.ok) throw remoteFailure(`${this.http.source}: upload failed: ${await this.http.describe(response)}`);
    let answered: CID;
    try {
      answered = parseCid(((await response.json()) as { cid?: unknown }).cid as string);
    } catch (cause) {
      throw remoteFailure(`${this.http.source}: upload answer has no valid "cid"`, cause);
    }
    if (!answered.equals(expected)) {
      throw new StorageError(
        StorageErrorCode.IntegrityMismatch,
        `${this.http.source}: answered CID ${answered} for content whose CID is ${expected}; rejected`,
      );
    }
    return expected;
  }

  async get(cid: CID): Promise<Uint8Array> {
    assertContentCid(cid);
    const response = await this.http.send(new URL(`ipfs/${cid}`, this.base), { method: 'GET' });
    if (response.status === 404) {
      await response.body?.cancel();
      throw new StorageError(StorageErrorCode.NotFound, `${this.http.source}: ${cid} not found`);
    }
    if (!response.ok) throw remoteFailure(`${this.http.source}: GET ${cid} failed: ${await this.http.describe(response)}`);
    const bytes = await this.http.readBytes(response);
    await verifyBytes(cid, bytes, this.http.source);
    return bytes;
  }

  async has(cid: CID): Promise<boolean> {
    assertContentCid(cid);
    const response = await this.http.send(new URL(`ipfs/${cid}`, this.base), { method: 'HEAD' });
    if (response.status === 404) return false;
    if (response.ok) return true;
    throw remoteFailure(`${this.http.source}: HEAD ${cid} failed: HTTP ${response.status}`);
  }
}

/** Accepts an http(s) URL or Kubo's own multiaddr form, e.g. /ip4/127.0.0.1/tcp/5001. */
export function kuboApiUrl(text: string): URL {
  const match = /^\/(ip4|ip6|dns|dns4|dns6)\/([^/]+)\/tcp\/(\d+)(?:\/(http|https))?\/?$/.exec(text);
  if (match) {
    const [, proto, host, port, scheme] = match;
    return new URL(`${scheme ?? 'http'}://${proto === 'ip6' ? `[${host}]` : host}:${port}/`);
  }
  return withTrailingSlash(text);
}

interface KuboError {
  Message?: unknown;
  Type?: unknown;
}

/**
 * Client of a Kubo node's RPC API (`/api/v0`, POST only).
 * put: `add` with every import option of our profile spelled out (unixfs.ts: CIDv1, raw leaves,
 * sha2-256, 1 MiB chunks, balanced, 1024 links), so the node's own defaults cannot change the
 * CID; the answer must be the CID computed here. Content larger than a chunk thus becomes a
 * UnixFS file of ≤ 1 MiB blocks that every Kubo node exchanges over bitswap.
 * get: `cat?arg=CID` (the node fetches missing blocks from its peers), re-imported and compared
 * here. has: `block/stat?arg=CID&offline=true` (local presence only).
 */
export class KuboClient implements ContentStore {
  private readonly base: URL;
  private readonly http: HttpTransport;

  constructor(apiUrl: string, options: RemoteOptions = {}) {
    this.base = kuboApiUrl(apiUrl);
    this.http = new HttpTransport(`kubo ${this.base.origin}`, options);
  }

  private endpoint(command: string, params: Record<string, string>): URL {
    const url = new URL(`api/v0/${command}`, this.base);
    for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
    return url;
  }

  /** Kubo reports failures as HTTP 500 with {"Message", "Code", "Type": "error"}. */
  private async errorMessage(response: Response): Promise<string> {
    const text = await response.text().catch(() => '');
    try {
      const parsed = JSON.parse(text) as KuboError;
      if (typeof parsed.Message === 'string') return parsed.Message;
    } catch {
      // Not JSON: fall through to the raw text.
    }
    return `HTTP ${response.status} ${text.slice(0, 500)}`;
  }

  async put(bytes: Uint8Array): Promise<CID> {
    if (bytes.length > this.http.maxBytes) throw tooLarge(this.http.source, bytes.length, this.http.maxBytes);
    const expected = await cidOf(bytes);
    const url = this.endpoint('add', {
      'cid-version': '1',
      'raw-leaves': 'true',
      hash: 'sha2-256',
      chunker: `size-${CHUNK_BYTES}`,
      'max-file-links': String(MAX_FILE_LINKS),
      trickle: 'false',
      pin: 'true',
    });
    const form = new FormData();
    form.append('file', asBlob(bytes), 'file');
    const response = await this.http.send(url, { method: 'POST', body: form });
    if (!response.ok) throw remoteFailure(`${this.http.source}: upload failed: ${await this.errorMessage(response)}`);

    // add streams one JSON object a line (progress, then one per file).
    const lines = (await response.text()).split('\n').filter((line) => line.trim() !== '');
    let answered: string | undefined;
    for (const line of lines) {
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(line) as Record<string, unknown>;
      } catch (cause) {
        throw remoteFailure(`${this.http.source}: upload answer is not JSON: ${line.slice(0, 200)}`, cause);
      }
      if (parsed.Type === 'error') throw remoteFailure(`${this.http.source}: upload failed: ${String(parsed.Message)}`);
      if (typeof parsed.Hash === 'string') answered = parsed.Hash;
    }
    if (answered === undefined) throw remoteFailure(`${this.http.source}: upload answer names no CID`);
    let cid: CID;
    try {
      cid = CID.parse(answered);
    } catch (cause) {
      throw remoteFailure(`${this.http.source}: upload answered "${answered.slice(0, 100)}", not a CID`, cause);
    }
    if (!cid.equals(expected)) {
      throw new StorageError(
        StorageErrorCode.IntegrityMismatch,
        `${this.http.source}: stored the content as ${cid}, not as ${expected} (our import profile); rejected`,
      );
    }
    return expected;
  }

  async get(cid: CID): Promise<Uint8Array> {
    assertContentCid(cid);
    const response = await this.http.send(this.endpoint('cat', { arg: cid.toString() }), { method: 'POST' });
    if (!response.ok) {
      const message = await this.errorMessage(response);
      const code = /not found/i.test(message) ? StorageErrorCode.NotFound : StorageErrorCode.RemoteFailure;
      throw new StorageError(code, `${this.http.source}: cat ${cid}: ${message}`);
    }
    const bytes = await this.http.readBytes(response);
    await verifyBytes(cid, bytes, this.http.source);
    return bytes;
  }

  /** `swarm/connect` to a peer's multiaddr (ending /p2p/<peer id>): bitswap can then ask it directly. */
  async connect(multiaddr: string): Promise<void> {
    const response = await this.http.send(this.endpoint('swarm/connect', { arg: multiaddr }), { method: 'POST' });
    if (!response.ok) throw remoteFailure(`${this.http.source}: swarm/connect ${multiaddr}: ${await this.errorMessage(response)}`);
    await response.arrayBuffer();
  }

  /**
   * Who the node is to other operators: its peer id, the addresses it announces (its provider
   * records carry them) and how many peers it has now (none: nobody can find its content).
   */
  async identity(): Promise<{ peerId: string; addresses: string[]; peers: number }> {
    const rpc = async <T>(command: string): Promise<T> => {
      const response = await this.http.send(this.endpoint(command, {}), { method: 'POST' });
      if (!response.ok) throw remoteFailure(`${this.http.source}: ${command}: ${await this.errorMessage(response)}`);
      try {
        return (await response.json()) as T;
      } catch (cause) {
        throw remoteFailure(`${this.http.source}: ${command} answered something that is not JSON`, cause);
      }
    };
    const id = await rpc<{ ID?: unknown; Addresses?: unknown }>('id');
    if (typeof id.ID !== 'string') throw remoteFailure(`${this.http.source}: id answered no peer id`);
    const peers = await rpc<{ Peers?: unknown }>('swarm/peers');
    return {
      peerId: id.ID,
      addresses: Array.isArray(id.Addresses) ? id.Addresses.filter((a): a is string => typeof a === 'string') : [],
      peers: Array.isArray(peers.Peers) ? peers.Peers.length : 0,
    };
  }

  async has(cid: CID): Promise<boolean> {
    assertContentCid(cid);
    const url = this.endpoint('block/stat', { arg: cid.toString(), offline: 'true' });
    const response = await this.http.send(url, { method: 'POST' });
    if (response.ok) {
      await response.body?.cancel();
      return true;
    }
    const message = await this.errorMessage(response);
    if (/not found/i.test(message)) return false;
    throw remoteFailure(`${this.http.source}: block/stat ${cid}: ${message}`);
  }
}
