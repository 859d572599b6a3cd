// Chain-facing errors: values with a codespace and a stable code, registered here only.

export const CHAIN_CODESPACE = 'chain';

export const ChainErrorCode = {
  /** The node's RPC cannot be reached (connection refused, DNS, timeout). */
  Unreachable: 1,
  /** An ABCI query answered with a non-zero code, or bytes that do not decode. */
  QueryFailed: 2,
  /** A transaction was refused (CheckTx or DeliverTx code ≠ 0). */
  TxFailed: 3,
  /** The keyring could not give us a signer. */
  KeyUnavailable: 4,
} as const;

export type ChainErrorCodeValue = (typeof ChainErrorCode)[keyof typeof ChainErrorCode];

export class ChainError extends Error {
  readonly codespace = CHAIN_CODESPACE;

  constructor(
    readonly code: ChainErrorCodeValue,
    message: string,
    readonly detail: { codespace?: string; abciCode?: number; txhash?: string } = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ChainError';
  }
}

/** Error codes of a connection that failed or broke (Node's net/http, undici under fetch, our rpc.ts). */
const CONNECTION_CODES = /^(ECONNREFUSED|ECONNRESET|ECONNABORTED|EPIPE|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ENETDOWN|UND_ERR_(SOCKET|CLOSED|CONNECT_TIMEOUT|HEADERS_TIMEOUT|BODY_TIMEOUT|ABORTED))$/;
const CONNECTION_MESSAGES = /ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|fetch failed|socket hang up|other side closed|connect timeout|timed out|aborted due to timeout/i;

/** The error and its `cause` chain (fetch failed → SocketError other side closed → …), outermost first. */
function causeChain(err: unknown): Array<{ message: string; code?: string; name?: string }> {
  const out: Array<{ message: string; code?: string; name?: string }> = [];
  for (let e = err as { message?: unknown; code?: unknown; name?: unknown; cause?: unknown } | undefined; e && out.length < 8; e = e.cause as typeof e) {
    if (typeof e !== 'object') {
      out.push({ message: String(e) });
      break;
    }
    out.push({ message: typeof e.message === 'string' ? e.message : '', code: typeof e.code === 'string' ? e.code : undefined, name: typeof e.name === 'string' ? e.name : undefined });
  }
  return out;
}

/**
 * A connection that could not be made or broke (refused, reset, closed by the other side, socket
 * hang up, DNS, a timeout): the node may be busy or restarting, and a retry on a fresh connection
 * may succeed. An answer we dislike (a JSON-RPC error, a refused tx) is not one.
 */
export function isConnectionError(err: unknown): boolean {
  return causeChain(err).some((e) => (e.code !== undefined && CONNECTION_CODES.test(e.code)) || e.name === 'TimeoutError' || CONNECTION_MESSAGES.test(e.message));
}

/** A network failure (as opposed to an answer we dislike): connection refused, reset, DNS, abort. */
export function isNetworkError(err: unknown): boolean {
  if (isConnectionError(err)) return true;
  const text = `${(err as Error)?.message ?? ''} ${(err as { cause?: Error })?.cause?.message ?? ''} ${(err as { code?: string })?.code ?? ''}`;
  return /ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ETIMEDOUT|fetch failed|socket hang up|network|aborted|timeout/i.test(text);
}

/**
 * The message with the causes under it, so that "fetch failed" says why:
 * `fetch failed (cause: UND_ERR_SOCKET other side closed)`.
 */
export function describeError(err: unknown): string {
  const [top, ...causes] = causeChain(err);
  if (!top) return String(err);
  let seen = top.message;
  const parts: string[] = [];
  for (const c of causes) {
    const part = [c.code && !seen.includes(c.code) ? c.code : '', c.message && !seen.includes(c.message) ? c.message : ''].filter((x) => x).join(' ');
    if (part !== '') parts.push(part);
    seen += ` ${part}`;
  }
  const own = top.code && !top.message.includes(top.code) ? `${top.message} [${top.code}]` : top.message;
  return parts.length > 0 ? `${own} (cause: ${parts.join(' ← ')})` : own;
}
