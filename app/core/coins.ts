import type { Coin as ProtoCoin } from 'cosmjs-types/cosmos/base/v1beta1/coin';
import { sdkErrors } from './errors.ts';

/** Amounts are bigint bounded like the Cosmos SDK's `Int`: 0 ≤ amount < 2^256. */
export const MAX_AMOUNT = (1n << 256n) - 1n;
const DENOM = /^[a-zA-Z][a-zA-Z0-9/:._-]{2,127}$/;

export interface Coin {
  denom: string;
  amount: bigint;
}

/**
 * The one spelling of an amount: decimal digits, no sign, no leading zero ("0" itself is the
 * spelling of zero), at most 78 digits. As the Cosmos SDK's `math.Int` refuses "007" in JSON:
 * a proto Coin with amount "007" must not be the same coin as "7" (two encodings, one meaning).
 */
export const AMOUNT_TEXT = /^(0|[1-9]\d{0,77})$/;

/** Why `text` is not an amount's spelling (AMOUNT_TEXT), or undefined when it is one; `what` names the field. */
export function amountTextProblem(text: unknown, what: string): string | undefined {
  if (typeof text !== 'string' || !/^\d{1,78}$/.test(text)) return `${what} "${String(text)}" is not a non-negative integer`;
  if (!AMOUNT_TEXT.test(text)) return `${what} "${text}" has a leading zero`;
  return undefined;
}

export function parseAmount(text: string, what = 'amount'): bigint {
  const problem = amountTextProblem(text, what);
  if (problem !== undefined) throw sdkErrors.invalidCoins(problem);
  const amount = BigInt(text);
  if (amount > MAX_AMOUNT) throw sdkErrors.invalidCoins(`${what} ${text} overflows 2^256-1`);
  return amount;
}

export function validateDenom(denom: string): void {
  if (!DENOM.test(denom)) throw sdkErrors.invalidCoins(`invalid denom "${denom}"`);
}

/**
 * Coins as a message carries them: each amount positive (or zero where
 * `allowZero`), denoms valid, sorted and unique, as the SDK requires.
 */
export function parseCoins(coins: ProtoCoin[], { allowZero = false, what = 'coins' } = {}): Coin[] {
  const parsed: Coin[] = [];
  for (const coin of coins) {
    validateDenom(coin.denom);
    const amount = parseAmount(coin.amount, `${what}: ${coin.denom} amount`);
    if (amount === 0n && !allowZero) throw sdkErrors.invalidCoins(`${what}: ${coin.denom} amount must be positive`);
    const previous = parsed[parsed.length - 1];
    if (previous !== undefined && previous.denom >= coin.denom) throw sdkErrors.invalidCoins(`${what}: denoms must be sorted and unique`);
    parsed.push({ denom: coin.denom, amount });
  }
  return parsed;
}

export function formatCoins(coins: Coin[]): string {
  return coins.map((coin) => `${coin.amount}${coin.denom}`).join(',');
}

/** Parses the CLI and event form "100ur3mes,5uatom" (amounts spelled as `parseAmount` requires). */
export function parseCoinString(text: string): Coin[] {
  if (text.trim() === '') return [];
  const coins = text.split(',').map((part) => {
    const match = /^(\d+)([a-zA-Z][a-zA-Z0-9/:._-]{2,127})$/.exec(part.trim());
    if (!match) throw sdkErrors.invalidCoins(`"${part}" is not an amount followed by a denom, like 1000ur3mes`);
    return { denom: match[2], amount: match[1] };
  });
  coins.sort((a, b) => (a.denom < b.denom ? -1 : a.denom > b.denom ? 1 : 0));
  return parseCoins(coins);
}

export function toProtoCoins(coins: Coin[]): ProtoCoin[] {
  return coins.map((coin) => ({ denom: coin.denom, amount: coin.amount.toString() }));
}
