// Data errors are values with a codespace and a stable code, registered here and only here.

export const DATA_CODESPACE = 'data';

export const DataErrorCode = {
  /** A chunk that is not exactly CHUNK_TOKENS tokens. */
  ChunkLength: 1,
  /** A chunk index outside the split, or not an integer. */
  ChunkIndex: 2,
  /** The corpus files are missing or not what the loader expects. */
  CorpusUnavailable: 3,
  /** A tokenizer.json / tokenizer_config.json that cannot be read or used (bad JSON, no EOS token, ids out of range). */
  InvalidTokenizer: 4,
  /** An input file for `dataset build` that cannot be used: unreadable, unknown kind, bad JSONL line, no text field. */
  InvalidInput: 5,
  /** Inputs that give no training chunk (no documents, or fewer than CHUNK_TOKENS train tokens). */
  EmptyDataset: 6,
  /** A dataset manifest that breaks the format (README.md "Dataset manifest"). */
  InvalidManifest: 7,
  /** A dataset file whose size or CID differs from the manifest, or a token id outside the vocabulary. */
  DatasetMismatch: 8,
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
