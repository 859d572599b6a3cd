// Every storage failure is a value with a codespace and a stable code, registered here and
// only here, so callers (gateway status codes, chain-side CID checks, logs) can branch on the
// code instead of parsing messages.

export const STORAGE_CODESPACE = 'storage';

export const StorageErrorCode = {
  /** A CID string or object that is not CIDv1 / raw or dag-pb / sha2-256 in canonical base32. */
  InvalidCid: 1,
  /** The content is not in this store. */
  NotFound: 2,
  /** Bytes whose sha2-256 does not match the CID they were stored or served under. */
  IntegrityMismatch: 3,
  /** Content over the configured size limit. */
  TooLarge: 4,
  /** A safetensors file that breaks the format or our canonical profile. */
  CorruptSafetensors: 5,
  /** Tensors or metadata that cannot be written (bad name, dtype, shape or data length). */
  InvalidTensor: 6,
  /** A remote store (our gateway or Kubo) failed or answered something unusable. */
  RemoteFailure: 7,
} as const;

export type StorageErrorCodeValue = (typeof StorageErrorCode)[keyof typeof StorageErrorCode];

export class StorageError extends Error {
  readonly codespace = STORAGE_CODESPACE;

  constructor(
    readonly code: StorageErrorCodeValue,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StorageError';
  }
}

export function isStorageError(err: unknown, code?: StorageErrorCodeValue): err is StorageError {
  return err instanceof StorageError && (code === undefined || err.code === code);
}
