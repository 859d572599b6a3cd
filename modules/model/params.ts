/**
 * Model (governance) parameters. Stored proto-encoded; shown to governance as JSON with every
 * field present (bigints and amounts as decimal strings, basis points as integers). A parameter
 * change replaces them as a whole: the JSON must name exactly these fields.
 */
import { parseAmount, validateDenom } from '../../app/core/coins.ts';
import { ChainError } from '../../app/core/errors.ts';
import type { Params } from '../../proto/gen/r3mes/model/v1/types.ts';
import { modelErrors } from './errors.ts';

export type ModelParams = Params;

/** 10000 basis points = 100%. */
export const BASIS_POINTS = 10_000;
export const MAX_VOTING_PERIOD_BLOCKS = 10_000_000n;

export function defaultModelParams(): ModelParams {
  return {
    minDeposit: '10000000',
    depositDenom: 'ur3mes',
    votingPeriodBlocks: 600n,
    quorumBp: 3340,
    thresholdBp: 5000,
    vetoThresholdBp: 3340,
  };
}

export interface ModelParamsJson {
  minDeposit: string;
  depositDenom: string;
  votingPeriodBlocks: string;
  quorumBp: number;
  thresholdBp: number;
  vetoThresholdBp: number;
}

const FIELDS = ['minDeposit', 'depositDenom', 'votingPeriodBlocks', 'quorumBp', 'thresholdBp', 'vetoThresholdBp'] as const;

export function paramsToJson(params: ModelParams): ModelParamsJson {
  return {
    minDeposit: params.minDeposit,
    depositDenom: params.depositDenom,
    votingPeriodBlocks: params.votingPeriodBlocks.toString(),
    quorumBp: params.quorumBp,
    thresholdBp: params.thresholdBp,
    vetoThresholdBp: params.vetoThresholdBp,
  };
}

/** Strict: a JSON object with exactly the six fields, of the right JSON types; then validated. */
export function paramsFromJson(value: unknown): ModelParams {
  const fail = (why: string): never => {
    throw modelErrors.invalidParams(why);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('params must be a JSON object');
  const object = value as Record<string, unknown>;
  for (const key of Object.keys(object).sort()) {
    if (!(FIELDS as readonly string[]).includes(key)) fail(`unknown field "${key}"`);
  }
  for (const key of FIELDS) if (!(key in object)) fail(`missing field "${key}"`);
  const text = (key: string): string => (typeof object[key] === 'string' ? (object[key] as string) : fail(`${key} must be a string`));
  const integer = (key: string): number => {
    const field = object[key];
    return typeof field === 'number' && Number.isSafeInteger(field) ? field : fail(`${key} must be an integer`);
  };
  const votingPeriod = text('votingPeriodBlocks');
  if (!/^\d{1,20}$/.test(votingPeriod)) fail('votingPeriodBlocks must be a decimal integer string');
  const params: ModelParams = {
    minDeposit: text('minDeposit'),
    depositDenom: text('depositDenom'),
    votingPeriodBlocks: BigInt(votingPeriod),
    quorumBp: integer('quorumBp'),
    thresholdBp: integer('thresholdBp'),
    vetoThresholdBp: integer('vetoThresholdBp'),
  };
  validateModelParams(params);
  return params;
}

export function validateModelParams(params: ModelParams): void {
  const fail = (why: string): never => {
    throw modelErrors.invalidParams(why);
  };
  let minDeposit = 0n;
  try {
    minDeposit = parseAmount(params.minDeposit, 'minDeposit');
    validateDenom(params.depositDenom);
  } catch (error) {
    fail(error instanceof ChainError ? error.message : String(error));
  }
  if (minDeposit === 0n) fail('minDeposit must be positive');
  if (params.votingPeriodBlocks < 1n || params.votingPeriodBlocks > MAX_VOTING_PERIOD_BLOCKS) {
    fail(`votingPeriodBlocks must be in [1, ${MAX_VOTING_PERIOD_BLOCKS}], got ${params.votingPeriodBlocks}`);
  }
  for (const key of ['quorumBp', 'thresholdBp', 'vetoThresholdBp'] as const) {
    const value = params[key];
    if (!Number.isSafeInteger(value) || value < 0 || value > BASIS_POINTS) fail(`${key} must be an integer in [0, ${BASIS_POINTS}], got ${value}`);
  }
}
