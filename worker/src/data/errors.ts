// Data errors are values with a codespace and a stable code, registered here and only here.

export const DATA_CODESPACE = 'data';

export const DataErrorCode = {
  /** A chunk that is not exactly CHUNK_TOKENS tokens. */
  ChunkLength: 1,
  /** A chunk index outside the split, or not an integer. */
  ChunkIndex: 2,
  /** The corpus files are missing or not what the loader expects. */
  CorpusUnavailable: 3,
} as const;

export type DataErrorCodeValue = (typeof DataErrorCode)[keyof typeof DataErrorCode];

export class DataError extends Error {
  readonly codespace = DATA_CODESPACE;

  constructor(
    readonly code: DataErrorCodeValue,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DataError';
  }
}
