// Output errors are values with a codespace and a stable code, registered here and only here.

export const OUTPUT_CODESPACE = 'output';

export const OutputErrorCode = {
  /** A file's bytes do not hash to the CID it was named by. */
  CidMismatch: 1,
  /** Metadata missing, malformed, or inconsistent (trace root vs step hashes, format tag). */
  BadMetadata: 2,
  /** Tensors missing, extra, of the wrong dtype or shape for the model, or out of range. */
  BadTensors: 3,
  /** A trace file that is not a trace, or a proof that does not open to its root. */
  BadTrace: 4,
} as const;

export type OutputErrorCodeValue = (typeof OutputErrorCode)[keyof typeof OutputErrorCode];

export class OutputError extends Error {
  readonly codespace = OUTPUT_CODESPACE;

  constructor(
    readonly code: OutputErrorCodeValue,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'OutputError';
  }
}
