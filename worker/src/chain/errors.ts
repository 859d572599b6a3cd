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

/** A network failure (as opposed to an answer we dislike): connection refused, reset, DNS, abort. */
export function isNetworkError(err: unknown): boolean {
  const text = `${(err as Error)?.message ?? ''} ${(err as { cause?: Error })?.cause?.message ?? ''} ${(err as { code?: string })?.code ?? ''}`;
  return /ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ETIMEDOUT|fetch failed|socket hang up|network|aborted|timeout/i.test(text);
}
