import { sdkErrors } from '../../app/core/errors.ts';

/**
 * Auth parameters. The minimum gas price is a chain parameter (not a node
 * setting as in the Cosmos SDK) so that CheckTx and FinalizeBlock apply the
 * same rule and the fee check is deterministic. It is a decimal string, held
 * as a fraction of two bigints: no floats.
 */
export interface AuthParams {
  maxMemoCharacters: number;
  txSizeCostPerByte: number;
  sigVerifyCostSecp256k1: number;
  /** Largest tx, in bytes, that CheckTx accepts. */
  maxTxBytes: number;
  /** e.g. "0.025": ur3mes per unit of gas. */
  minGasPrice: string;
  feeDenom: string;
}

export const defaultAuthParams: AuthParams = {
  maxMemoCharacters: 256,
  txSizeCostPerByte: 10,
  sigVerifyCostSecp256k1: 1000,
  maxTxBytes: 1_048_576,
  minGasPrice: '0.025',
  feeDenom: 'ur3mes',
};

/** A non-negative decimal as numerator / 10^scale. */
export interface Decimal {
  numerator: bigint;
  denominator: bigint;
}

export function parseDecimal(text: string): Decimal {
  const match = /^(\d{1,30})(?:\.(\d{1,18}))?$/.exec(text);
  if (!match) throw sdkErrors.invalidRequest(`"${text}" is not a non-negative decimal`);
  const fraction = match[2] ?? '';
  return { numerator: BigInt(match[1] + fraction), denominator: 10n ** BigInt(fraction.length) };
}

/** Smallest fee amount that pays `gasLimit` at `price`: ceil(gasLimit * price). */
export function requiredFee(gasLimit: bigint, price: Decimal): bigint {
  return (gasLimit * price.numerator + price.denominator - 1n) / price.denominator;
}

export function validateAuthParams(params: AuthParams): void {
  const positive = ['maxMemoCharacters', 'txSizeCostPerByte', 'sigVerifyCostSecp256k1', 'maxTxBytes'] as const;
  for (const key of positive) {
    const value = params[key];
    if (!Number.isSafeInteger(value) || value < 0) throw sdkErrors.invalidRequest(`auth param ${key} must be a non-negative integer, got ${value}`);
  }
  parseDecimal(params.minGasPrice);
  if (!/^[a-zA-Z][a-zA-Z0-9/:._-]{2,127}$/.test(params.feeDenom)) throw sdkErrors.invalidRequest(`auth param feeDenom "${params.feeDenom}" is not a valid denom`);
}
