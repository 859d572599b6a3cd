// Aggregation errors: values with a codespace and a stable code, registered here only.

export const AGGREGATE_CODESPACE = 'aggregate';

export const AggregateErrorCode = {
  /** Nothing to aggregate. */
  NoInputs: 1,
  /** Inputs whose tensors differ in count or shape. */
  ShapeMismatch: 2,
  /** A rule parameter outside its range for the number of inputs (e.g. 2k ≥ N). */
  BadParameters: 3,
  /** A rule name or spelling we do not know. */
  UnknownRule: 4,
  /** A held-out evaluation sample that cannot be evaluated (empty, or chunks shorter than a sequence). */
  EvalSample: 5,
} as const;

export type AggregateErrorCodeValue = (typeof AggregateErrorCode)[keyof typeof AggregateErrorCode];

export class AggregateError extends Error {
  readonly codespace = AGGREGATE_CODESPACE;

  constructor(
    readonly code: AggregateErrorCodeValue,
    message: string,
  ) {
    super(message);
    this.name = 'AggregateError';
  }
}
