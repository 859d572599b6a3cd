// The HTTP transport under the worker's Comet38Clients: one JSON-RPC POST on a connection of its
// own (no keep-alive pool), with a timeout.
//
// Why not CosmJS's HttpClient: it posts through the global fetch, whose pool keeps the socket of
// the previous request open. A worker re-executes a job for minutes on the event loop; meanwhile
// the node closes the idle socket, the close is not processed until the loop is free, and the next
// request goes out on the dead socket: `fetch failed` (cause UND_ERR_SOCKET other side closed).
// A fresh connection per request costs a TCP handshake (to a node that is usually on loopback) and
// never meets a stale socket; errors keep Node's code (ECONNREFUSED, ECONNRESET, ETIMEDOUT) so
// isConnectionError (errors.ts) can tell a broken connection from an answer.

import http from 'node:http';
import https from 'node:https';
import type { RpcClient } from '@cosmjs/tendermint-rpc';

type JsonRpcRequest = Parameters<RpcClient['execute']>[0];
type JsonRpcSuccessResponse = Awaited<ReturnType<RpcClient['execute']>>;

export const DEFAULT_RPC_TIMEOUT_MS = 30_000;

/** An error of the connection itself, with Node's code (ECONNRESET, …) and the original as `cause`. */
export class RpcConnectionError extends Error {
  constructor(message: string, readonly code: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RpcConnectionError';
  }
}

export class HttpRpcClient implements RpcClient {
  private readonly url: URL;

  constructor(endpoint: string, private readonly timeoutMs = DEFAULT_RPC_TIMEOUT_MS) {
    this.url = new URL(endpoint);
    if (this.url.protocol !== 'http:' && this.url.protocol !== 'https:') throw new Error(`the node's RPC must be an http(s) URL, got "${endpoint}"`);
  }

  readonly disconnect = (): void => {
    // Nothing is kept open between requests.
  };

  readonly execute = async (request: JsonRpcRequest): Promise<JsonRpcSuccessResponse> => {
    const { status, body } = await this.post(JSON.stringify(request), request.method);
    let parsed: { result?: unknown; error?: { code: number; message: string; data?: string } };
    try {
      parsed = JSON.parse(body) as typeof parsed;
    } catch {
      throw new Error(`${request.method}: the node answered HTTP ${status} with a body that is not JSON: ${body.slice(0, 200)}`);
    }
    // As CosmJS's HttpClient: a JSON-RPC error is thrown as its JSON ("tx already exists in cache", "tx … not found").
    if (parsed.error) throw new Error(JSON.stringify(parsed.error));
    if (status >= 400) throw new Error(`${request.method}: bad status on response: ${status}`);
    if (!('result' in parsed)) throw new Error(`${request.method}: the node's answer has neither result nor error`);
    return parsed as JsonRpcSuccessResponse;
  };

  private post(payload: string, method: string): Promise<{ status: number; body: string }> {
    const lib = this.url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (err: Error & { code?: string }) => {
        if (settled) return;
        settled = true;
        const code = err.code ?? 'ECONNRESET';
        reject(new RpcConnectionError(`${method} to ${this.url.origin}: ${err.message}${err.message.includes(code) ? '' : ` [${code}]`}`, code, { cause: err }));
      };
      const req = lib.request(this.url, {
        method: 'POST', agent: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), connection: 'close' },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', fail);
        res.on('aborted', () => fail(Object.assign(new Error('the node closed the connection mid-answer'), { code: 'ECONNRESET' })));
        res.on('end', () => {
          if (settled) return;
          if (!res.complete) return fail(Object.assign(new Error('the node closed the connection mid-answer'), { code: 'ECONNRESET' }));
          settled = true;
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
        });
      });
      req.setTimeout(this.timeoutMs, () => {
        const err = Object.assign(new Error(`no answer within ${this.timeoutMs} ms`), { code: 'ETIMEDOUT' });
        fail(err);
        req.destroy(err);
      });
      req.on('error', fail);
      req.end(payload);
    });
  }
}
