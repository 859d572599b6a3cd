import { Params } from '../../proto/gen/r3mes/rewards/v1/types.ts';
import { AMOUNT_TEXT, MAX_AMOUNT } from '../../app/core/coins.ts';
import { rewardsErrors } from './errors.ts';

export const BPS = 10_000n;

/** 100 R3MES a window: 70% miners, 20% verifiers, 10% validators (and their delegators). */
export const defaultRewardsParams: Params = {
  rewardDenom: 'ur3mes',
  rewardPerWindow: '100000000',
  minersShareBps: 7000,
  verifiersShareBps: 2000,
  validatorsShareBps: 1000,
};

export interface RewardsParams {
  rewardDenom: string;
  rewardPerWindow: bigint;
  minersShareBps: bigint;
  verifiersShareBps: bigint;
  validatorsShareBps: bigint;
}

const DENOM = /^[a-zA-Z][a-zA-Z0-9/:._-]{2,127}$/;

/** Validates params and returns them parsed; throws rewards 5 on any bad value. */
export function resolveRewardsParams(params: Params): RewardsParams {
  if (!DENOM.test(params.rewardDenom)) throw rewardsErrors.invalidParams(`rewardDenom "${params.rewardDenom}" is not a valid denom`);
  if (!AMOUNT_TEXT.test(params.rewardPerWindow) || BigInt(params.rewardPerWindow) > MAX_AMOUNT) {
    throw rewardsErrors.invalidParams(`rewardPerWindow "${params.rewardPerWindow}" is not an integer in [0, 2^256) without a leading zero`);
  }
  const shares = [params.minersShareBps, params.verifiersShareBps, params.validatorsShareBps];
  if (shares.some((share) => !Number.isSafeInteger(share) || share < 0 || share > 10_000)) throw rewardsErrors.invalidParams('shares must be integers in [0, 10000]');
  if (shares[0] + shares[1] + shares[2] !== 10_000) throw rewardsErrors.invalidParams(`shares sum to ${shares[0] + shares[1] + shares[2]} basis points, not 10000`);
  return {
    rewardDenom: params.rewardDenom,
    rewardPerWindow: BigInt(params.rewardPerWindow),
    minersShareBps: BigInt(params.minersShareBps),
    verifiersShareBps: BigInt(params.verifiersShareBps),
    validatorsShareBps: BigInt(params.validatorsShareBps),
  };
}

const PARAM_KEYS = new Set(Object.keys(Params.toJSON(Params.fromPartial(defaultRewardsParams)) as object));

/** Params from governance JSON (generated toJSON form; absent = zero value); unknown keys are refused. */
export function rewardsParamsFromJson(value: unknown): Params {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw rewardsErrors.invalidParams('params must be a JSON object');
  for (const key of Object.keys(value)) {
    if (!PARAM_KEYS.has(key)) throw rewardsErrors.invalidParams(`unknown rewards param "${key}"`);
  }
  let params: Params;
  try {
    params = Params.fromJSON(value);
  } catch (error) {
    throw rewardsErrors.invalidParams(`params do not decode: ${(error as Error).message}`);
  }
  resolveRewardsParams(params);
  return params;
}
