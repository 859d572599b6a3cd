/**
 * Verification parameters: defaults, rules, and the JSON form governance reads and replaces
 * (ModuleParams): the protobuf JSON of `Params` with every field present, every value a string.
 */
import { strictParamsFromJson } from '../../app/core/params-json.ts';
import type { ErrorKind } from '../../app/core/errors.ts';
import { Params } from '../../proto/gen/r3mes/verification/v1/types.ts';
import { verificationErrors } from './errors.ts';

export const BPS = 10_000n;
export const MAX_AMOUNT = (1n << 256n) - 1n;

/** A rational in [0, 1]: no floats anywhere in the state machine. */
export interface Fraction {
  readonly numerator: bigint;
  readonly denominator: bigint;
}

/**
 * The response windows (l1ResponseBlocks, l2ResponseBlocks, l3VoteBlocks, revealBlocks) follow the
 * rule of README.md "Response windows": ≥ ⌈(2 × worst-case CPU re-execution of a genesis-model
 * chunk + 3 s) / 1 s per block⌉ + 2, measured by bench/reexecution.ts.
 */
export function defaultParams(): Params {
  return {
    l1SampleBps: 1000n,
    l1ResponseBlocks: 400n,
    challengeBondMultiplier: 10n,
    l2ResponseBlocks: 400n,
    l3VoteBlocks: 400n,
    panelSize: 3n,
    bountyMultiplier: 15n,
    minerSlashFraction: '0.1',
    livenessPenaltyFraction: '0.001',
    wrongResultPenaltyFraction: '0.01',
    maxRedraws: 3n,
    bondMinerShareBps: 5000n,
    l2VerifierFeeBps: 1000n,
    revealBlocks: 5n,
    trapSampleBps: 500n,
    // ≥ 121 blocks for one genesis-model step (README "Bisection": ⌈(2 × 58 s + 3 s) / 1 s⌉ + 2), and a
    // miner's train loop busy with one job (201 blocks).
    bisectRoundBlocks: 210n,
  };
}

/** [min, max] of every integer parameter. */
const RANGES: Record<string, readonly [bigint, bigint]> = {
  l1SampleBps: [0n, BPS],
  l1ResponseBlocks: [1n, 1_000_000n],
  challengeBondMultiplier: [1n, 1_000_000n],
  l2ResponseBlocks: [1n, 1_000_000n],
  l3VoteBlocks: [1n, 1_000_000n],
  panelSize: [1n, 21n],
  bountyMultiplier: [10n, 20n],
  maxRedraws: [0n, 100n],
  bondMinerShareBps: [0n, BPS],
  l2VerifierFeeBps: [0n, BPS],
  revealBlocks: [1n, 1_000_000n],
  trapSampleBps: [0n, BPS],
  // 0: bisection off (a genesis from before it), every dispute takes the whole-chunk panel.
  bisectRoundBlocks: [0n, 1_000_000n],
};
const FRACTIONS = ['minerSlashFraction', 'livenessPenaltyFraction', 'wrongResultPenaltyFraction'] as const;
export const PARAM_KEYS = Object.keys(defaultParams()) as Array<keyof Params>;

/** "0.1", "1", "0.001": at most 18 fractional digits, in [0, 1], read exactly. */
export function parseFraction(text: string, what: string, error: ErrorKind = verificationErrors.invalidParams): Fraction {
  const match = typeof text === 'string' ? /^(\d{1,20})(?:\.(\d{1,18}))?$/.exec(text) : null;
  if (match === null) throw error(`${what} "${String(text)}" is not a decimal like 0.1`);
  const digits = match[2] ?? '';
  const fraction = { numerator: BigInt(match[1] + digits), denominator: 10n ** BigInt(digits.length) };
  if (fraction.numerator > fraction.denominator) throw error(`${what} ${text} is above 1`);
  return fraction;
}

/** Parses a decimal amount in [0, 2^256). */
export function parseAmount(text: string, what: string, error: ErrorKind): bigint {
  if (typeof text !== 'string' || !/^(0|[1-9]\d{0,77})$/.test(text)) throw error(`${what} "${String(text)}" is not a decimal integer`);
  const amount = BigInt(text);
  if (amount > MAX_AMOUNT) throw error(`${what} ${text} overflows 2^256-1`);
  return amount;
}

export function validateParams(params: Params, error: ErrorKind = verificationErrors.invalidParams): void {
  for (const [key, [min, max]] of Object.entries(RANGES)) {
    const value = params[key as keyof Params] as unknown;
    if (typeof value !== 'bigint' || value < min || value > max) throw error(`${key} must be in [${min}, ${max}], got ${String(value)}`);
  }
  for (const key of FRACTIONS) parseFraction(params[key], key, error);
  if (parseFraction(params.minerSlashFraction, 'minerSlashFraction', error).numerator === 0n) throw error('minerSlashFraction must be above 0');
}

export function paramsToJson(params: Params): Record<string, string> {
  return Object.fromEntries(PARAM_KEYS.map((key) => [key, String(params[key])]));
}

/** Strict: exactly the Params keys; integers as decimal strings (or safe integer numbers), fractions as strings. */
export function paramsFromJson(value: unknown, error: ErrorKind = verificationErrors.invalidParams): Params {
  const params = strictParamsFromJson<Params>(value, PARAM_KEYS, FRACTIONS, error);
  validateParams(params, error);
  return params;
}
