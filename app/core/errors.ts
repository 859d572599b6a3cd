/**
 * Errors are values with a codespace and a code, as in the Cosmos SDK, so a
 * client can branch on (codespace, code) and a person can read the message.
 * Each module registers its codes once, in its own errors.ts; registering the
 * same (codespace, code) twice is a programming error caught at start-up.
 */
export class ChainError extends Error {
  constructor(
    readonly codespace: string,
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'ChainError';
  }
}

export interface ErrorKind {
  readonly codespace: string;
  readonly code: number;
  readonly description: string;
  /** A ChainError of this kind with a message that says what was wrong. */
  (detail: string): ChainError;
}

const registered = new Map<string, string>();

export function registerError(codespace: string, code: number, description: string): ErrorKind {
  const id = `${codespace}/${code}`;
  const earlier = registered.get(id);
  if (earlier !== undefined) throw new Error(`error ${id} registered twice: "${earlier}" and "${description}"`);
  registered.set(id, description);
  const make = (detail: string) => new ChainError(codespace, code, `${detail}: ${description}`);
  return Object.assign(make, { codespace, code, description });
}

/** Codes of the Cosmos SDK's `sdk` codespace that clients already know. */
export const sdkErrors = {
  txDecode: registerError('sdk', 2, 'tx parse error'),
  invalidSequence: registerError('sdk', 3, 'invalid sequence'),
  unauthorized: registerError('sdk', 4, 'unauthorized'),
  insufficientFunds: registerError('sdk', 5, 'insufficient funds'),
  unknownRequest: registerError('sdk', 6, 'unknown request'),
  invalidAddress: registerError('sdk', 7, 'invalid address'),
  invalidPubKey: registerError('sdk', 8, 'invalid pubkey'),
  unknownAddress: registerError('sdk', 9, 'unknown address'),
  invalidCoins: registerError('sdk', 10, 'invalid coins'),
  outOfGas: registerError('sdk', 11, 'out of gas'),
  memoTooLarge: registerError('sdk', 12, 'memo too large'),
  insufficientFee: registerError('sdk', 13, 'insufficient fee'),
  tooManySignatures: registerError('sdk', 14, 'maximum number of signatures exceeded'),
  noSignatures: registerError('sdk', 15, 'no signatures supplied'),
  invalidRequest: registerError('sdk', 18, 'invalid request'),
  txInMempoolCache: registerError('sdk', 19, 'tx already in mempool'),
  txTooLarge: registerError('sdk', 21, 'tx too large'),
  keyNotFound: registerError('sdk', 22, 'key not found'),
  invalidType: registerError('sdk', 29, 'invalid type'),
  txTimeoutHeight: registerError('sdk', 30, 'tx timeout height'),
  unknownExtensionOptions: registerError('sdk', 31, 'unknown extension options'),
  wrongSequence: registerError('sdk', 32, 'incorrect account sequence'),
  invalidChainId: registerError('sdk', 28, 'invalid chain-id'),
  notFound: registerError('sdk', 38, 'not found'),
  invalidGasLimit: registerError('sdk', 41, 'invalid gas limit'),
} as const;

/** Turns anything thrown inside tx execution into a ChainError; unknown throws are bugs, reported as code 1. */
export function toChainError(thrown: unknown): ChainError {
  if (thrown instanceof ChainError) return thrown;
  const message = thrown instanceof Error ? thrown.message : String(thrown);
  return new ChainError('sdk', 1, `internal error: ${message}`);
}
