/**
 * PoC parameters and their governance JSON form (the protobuf JSON of `Params`: every field
 * present, every value a decimal string). Ranges: README "Params".
 */
import { strictParamsFromJson } from '../../app/core/params-json.ts';
import type { ErrorKind } from '../../app/core/errors.ts';
import { Params } from '../../proto/gen/r3mes/poc/v1/types.ts';
import { pocErrors } from './errors.ts';

export const BPS = 10_000n;
export const POC_VOCAB_SIZE = 256n;

/**
 * Defaults: an epoch of 1000 blocks, half for submissions, half for recomputation (at least
 * verification's l1_response_blocks, app/params-constraints.ts). r_target is in the worker's
 * distance units (worker/SPEC.md, PoC); the dims are a small byte model a CPU recomputes in
 * well under a second per nonce.
 */
export function defaultParams(): Params {
  return {
    epochBlocks: 1000n,
    submitBlocks: 500n,
    rTarget: 110_000n,
    sampleSize: 8n,
    maxClaimsPerBatch: 1000n,
    dModel: 64n,
    nLayers: 2n,
    nHeads: 4n,
    dFf: 128n,
    seqLen: 32n,
    rewardWeightBps: 5000n,
    unweightedChunkQuota: 1n,
  };
}

const U64_MAX = (1n << 64n) - 1n;

/** [min, max] of every parameter. */
export const RANGES: Readonly<Record<keyof Params, readonly [bigint, bigint]>> = {
  epochBlocks: [2n, 1_000_000n],
  submitBlocks: [1n, 999_999n],
  rTarget: [1n, U64_MAX],
  sampleSize: [0n, 1_000n],
  maxClaimsPerBatch: [1n, 10_000n],
  dModel: [1n, 4096n],
  nLayers: [1n, 128n],
  nHeads: [1n, 128n],
  dFf: [1n, 65_536n],
  seqLen: [1n, 4096n],
  rewardWeightBps: [0n, BPS],
  unweightedChunkQuota: [0n, 10_000n],
};

export const PARAM_KEYS = Object.keys(defaultParams()) as Array<keyof Params>;

export function validateParams(params: Params, error: ErrorKind = pocErrors.invalidParams): void {
  for (const key of PARAM_KEYS) {
    const [min, max] = RANGES[key];
    const value = params[key];
    if (typeof value !== 'bigint' || value < min || value > max) throw error(`${key} must be in [${min}, ${max}], got ${String(value)}`);
  }
  if (params.submitBlocks + 2n > params.epochBlocks) throw error(`submitBlocks (${params.submitBlocks}) must be at most epochBlocks − 2 (${params.epochBlocks - 2n}): the verification phase needs a block to commit and one to reveal`);
  if (params.dModel % params.nHeads !== 0n) throw error(`dModel (${params.dModel}) must be a multiple of nHeads (${params.nHeads})`);
}

export function paramsToJson(params: Params): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of PARAM_KEYS) out[key] = params[key].toString();
  return out;
}

export function paramsFromJson(value: unknown): Params {
  const params = strictParamsFromJson<Params>(value, PARAM_KEYS, [], pocErrors.invalidParams);
  validateParams(params);
  return params;
}
