import { Params } from '../../proto/gen/r3mes/staking/v1/types.ts';
import { MAX_AMOUNT, amountTextProblem } from '../../app/core/coins.ts';
import { stakingErrors } from './errors.ts';

/** A non-negative rational, numerator / denominator: commission rates, slash fractions. No floats. */
export interface Fraction {
  numerator: bigint;
  denominator: bigint;
}

export const defaultStakingParams: Params = {
  bondDenom: 'ur3mes',
  unbondingBlocks: 14_400n,
  powerReduction: '1000000',
  minSelfStake: '1000000',
  minMinerStake: '1000000',
  maxValidators: 100,
  jailBlocks: 600n,
  maxCommissionRate: '1',
};

/** Params with amounts parsed: what the keeper computes with. */
export interface StakingParams {
  bondDenom: string;
  unbondingBlocks: bigint;
  powerReduction: bigint;
  minSelfStake: bigint;
  minMinerStake: bigint;
  maxValidators: number;
  jailBlocks: bigint;
  maxCommissionRate: Fraction;
}

export const MAX_VALIDATORS_LIMIT = 10_000;
const U64_LIMIT = 1n << 64n;
const DENOM = /^[a-zA-Z][a-zA-Z0-9/:._-]{2,127}$/;

/** "0", "0.05", "1.000": at most 18 fractional digits, read exactly as numerator / 10^digits. */
export function parseRate(text: string, what: string, error = stakingErrors.invalidCommission): Fraction {
  const match = /^(\d{1,20})(?:\.(\d{1,18}))?$/.exec(text);
  if (!match) throw error(`${what} "${text}" is not a decimal like 0.05`);
  const fraction = match[2] ?? '';
  const rate = { numerator: BigInt(match[1] + fraction), denominator: 10n ** BigInt(fraction.length) };
  if (rate.numerator > rate.denominator) throw error(`${what} ${text} is above 1`);
  return rate;
}

/** a ≤ b for two fractions, by cross-multiplication. */
export function fractionAtMost(a: Fraction, b: Fraction): boolean {
  return a.numerator * b.denominator <= b.numerator * a.denominator;
}

function parseParamAmount(text: string, key: string, min: bigint): bigint {
  const problem = amountTextProblem(text, key);
  if (problem !== undefined) throw stakingErrors.invalidParams(problem);
  const value = BigInt(text);
  if (value < min || value > MAX_AMOUNT) throw stakingErrors.invalidParams(`${key} ${text} must be in [${min}, 2^256)`);
  return value;
}

/** Validates params and returns them parsed; throws staking 21 on any bad value. */
export function resolveStakingParams(params: Params): StakingParams {
  if (!DENOM.test(params.bondDenom)) throw stakingErrors.invalidParams(`bondDenom "${params.bondDenom}" is not a valid denom`);
  if (params.unbondingBlocks < 1n || params.unbondingBlocks >= U64_LIMIT) throw stakingErrors.invalidParams('unbondingBlocks must be in [1, 2^64)');
  if (params.jailBlocks < 0n || params.jailBlocks >= U64_LIMIT) throw stakingErrors.invalidParams('jailBlocks must be in [0, 2^64)');
  if (!Number.isSafeInteger(params.maxValidators) || params.maxValidators < 1 || params.maxValidators > MAX_VALIDATORS_LIMIT) {
    throw stakingErrors.invalidParams(`maxValidators must be in [1, ${MAX_VALIDATORS_LIMIT}]`);
  }
  return {
    bondDenom: params.bondDenom,
    unbondingBlocks: params.unbondingBlocks,
    powerReduction: parseParamAmount(params.powerReduction, 'powerReduction', 1n),
    minSelfStake: parseParamAmount(params.minSelfStake, 'minSelfStake', 1n),
    minMinerStake: parseParamAmount(params.minMinerStake, 'minMinerStake', 1n),
    maxValidators: params.maxValidators,
    jailBlocks: params.jailBlocks,
    maxCommissionRate: parseRate(params.maxCommissionRate, 'maxCommissionRate', stakingErrors.invalidParams),
  };
}

const PARAM_KEYS = new Set(Object.keys(Params.toJSON(Params.fromPartial({ ...defaultStakingParams })) as object));

/**
 * Params from governance JSON (the generated toJSON form: camelCase keys, uint64 as strings,
 * absent = zero value). Unknown keys are refused rather than ignored.
 */
export function stakingParamsFromJson(value: unknown): Params {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw stakingErrors.invalidParams('params must be a JSON object');
  for (const key of Object.keys(value)) {
    if (!PARAM_KEYS.has(key)) throw stakingErrors.invalidParams(`unknown staking param "${key}"`);
  }
  let params: Params;
  try {
    params = Params.fromJSON(value);
  } catch (error) {
    throw stakingErrors.invalidParams(`params do not decode: ${(error as Error).message}`);
  }
  resolveStakingParams(params);
  return params;
}
