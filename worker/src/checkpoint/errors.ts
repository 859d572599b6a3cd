// Checkpoint errors are values with a codespace and a stable code, registered here and only here.
// Every message names the file or tensor at fault.

export const CHECKPOINT_CODESPACE = 'checkpoint';

export const CheckpointErrorCode = {
  /** A file the loader needs is absent or unreadable. */
  MissingFile: 1,
  /** config.json is not JSON, names another architecture, or has a field out of range. */
  BadConfig: 2,
  /** A safetensors file (or the sharded index) breaks the format, or is shorter than its header says. */
  CorruptFile: 3,
  /** A tensor the architecture needs is not in the checkpoint. */
  MissingTensor: 4,
  /** A tensor has the wrong shape for the architecture. */
  WrongShape: 5,
  /** A tensor has the wrong dtype for its role and form. */
  WrongDtype: 6,
  /** A packed weight holds the code 3 (not a ternary value), or a bf16 value is NaN or infinite. */
  BadValue: 7,
  /** A file or the whole directory does not have the CID the manifest names. */
  CidMismatch: 8,
  /** A manifest that is not the canonical manifest JSON. */
  BadManifest: 9,
} as const;

export type CheckpointErrorCodeValue = (typeof CheckpointErrorCode)[keyof typeof CheckpointErrorCode];

export class CheckpointError extends Error {
  readonly codespace = CHECKPOINT_CODESPACE;

  constructor(
    readonly code: CheckpointErrorCodeValue,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CheckpointError';
  }
}

export function isCheckpointError(err: unknown, code?: CheckpointErrorCodeValue): err is CheckpointError {
  return err instanceof CheckpointError && (code === undefined || err.code === code);
}
