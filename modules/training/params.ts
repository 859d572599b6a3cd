/**
 * Training parameters: defaults, rules, and the JSON form governance reads and replaces
 * (ModuleParams). The JSON form is the protobuf JSON of `Params` with every field present:
 * camelCase keys, every value a string: decimal for numbers and amounts, the rule's spelling
 * for `aggregationRule`.
 */
import { strictParamsFromJson } from '../../app/core/params-json.ts';
import type { ErrorKind } from '../../app/core/errors.ts';
import { Params } from '../../proto/gen/r3mes/training/v1/types.ts';
import { DEFAULT_AGGREGATION_RULE, parseAggregationRule } from './aggregation-rule.ts';
import { trainingErrors } from './errors.ts';

export const MAX_AMOUNT = (1n << 256n) - 1n;
/** Each evaluated chunk costs every proposer two forwards over 2048 tokens: keep it bounded. */
export const MAX_EVAL_CHUNKS = 64n;
/** 2^32 Q16 nats per byte = 65536 nats: beyond any loss the integer cross-entropy can produce. */
export const MAX_MIN_IMPROVEMENT = 1n << 32n;

export function defaultParams(): Params {
  return {
    // With the 410-block challenge period below: challenge + commit + reveal = 430 ≤ 3 × 150.
    windowBlocks: 150n,
    chunkTokens: 2048n,
    chunkCount: 1024n,
    maxSubmissionsPerMinerPerWindow: 4n,
    minMinerStake: '1000000',
    baseReward: '1000000',
    // ≥ the re-execution window of verification's README "Response windows" (397): a watcher
    // re-executes a submission of the last collecting block within it; and ≥ verification's
    // l1ResponseBlocks + revealBlocks (405), so an L1 check ends before the commit phase.
    challengePeriodBlocks: 410n,
    aggregationProposers: 3n,
    commitPeriodBlocks: 10n,
    revealPeriodBlocks: 10n,
    aggregationRule: DEFAULT_AGGREGATION_RULE,
    // Proof of Learning (README): 4 held-out chunks of the Brown corpus's 303 (worker/src/data);
    // an aggregate is applied when it does not worsen the held-out loss.
    evalChunks: 4n,
    heldoutChunkCount: 303n,
    minImprovement: 0n,
    // Checkpoints (README "Checkpoints"): a consolidated head every 10 applied windows bounds a new
    // worker's start-up to at most ~10 aggregates to fetch (the devnet genesis uses 2).
    checkpointInterval: 10n,
  };
}

/** [min, max] of every uint64 parameter. */
const RANGES: Record<string, readonly [bigint, bigint]> = {
  windowBlocks: [1n, 1_000_000n],
  chunkTokens: [2048n, 2048n], // the worker's chunks are fixed at 2048 tokens (worker/SPEC.md)
  chunkCount: [1n, 1n << 40n],
  maxSubmissionsPerMinerPerWindow: [1n, 10_000n],
  challengePeriodBlocks: [0n, 1_000_000n],
  aggregationProposers: [1n, 100n],
  commitPeriodBlocks: [1n, 1_000_000n],
  revealPeriodBlocks: [1n, 1_000_000n],
  evalChunks: [0n, MAX_EVAL_CHUNKS],
  heldoutChunkCount: [1n, 1n << 40n],
  minImprovement: [0n, MAX_MIN_IMPROVEMENT],
  checkpointInterval: [0n, 1_000_000n],
};
/**
 * How many windows before the collecting one may still be aggregating: `r3mes-worker aggregate`
 * looks for its duties in the three windows before the collecting one (and `watch` at the
 * collecting one and three before it), so a window must finish its reveal phase before the
 * fourth window after it opens: `challenge + commit + reveal ≤ 3 · window_blocks`. Beyond that
 * an honest proposer would miss its reveal and be penalised (`missing-reveal`).
 */
export const AGGREGATION_LOOKBACK_WINDOWS = 3n;
const AMOUNTS = ['minMinerStake', 'baseReward'] as const;
/** String-valued keys of the governance JSON: the amounts and the aggregation rule. */
const STRING_KEYS: readonly string[] = [...AMOUNTS, 'aggregationRule'];
export const PARAM_KEYS = Object.keys(defaultParams()) as Array<keyof Params>;

/** Parses a decimal amount string in [0, 2^256). */
export function parseAmountString(text: string, what: string, error: ErrorKind): bigint {
  if (typeof text !== 'string' || !/^(0|[1-9]\d{0,77})$/.test(text)) throw error(`${what} "${String(text)}" is not a decimal integer`);
  const amount = BigInt(text);
  if (amount > MAX_AMOUNT) throw error(`${what} ${text} overflows 2^256-1`);
  return amount;
}

export function validateParams(params: Params, error: ErrorKind = trainingErrors.invalidParams): void {
  for (const [key, [min, max]] of Object.entries(RANGES)) {
    const value = params[key as keyof Params] as bigint;
    if (typeof value !== 'bigint' || value < min || value > max) throw error(`${key} must be in [${min}, ${max}], got ${String(value)}`);
  }
  for (const key of AMOUNTS) parseAmountString(params[key], key, error);
  parseAggregationRule(params.aggregationRule, error);
  if (params.evalChunks > params.heldoutChunkCount) {
    throw error(`evalChunks (${params.evalChunks}) must be at most heldoutChunkCount (${params.heldoutChunkCount}): the evaluation sample is drawn without repetition`);
  }
  const phases = params.challengePeriodBlocks + params.commitPeriodBlocks + params.revealPeriodBlocks;
  if (phases > AGGREGATION_LOOKBACK_WINDOWS * params.windowBlocks) {
    throw error(`challengePeriodBlocks + commitPeriodBlocks + revealPeriodBlocks (${phases}) must be at most ${AGGREGATION_LOOKBACK_WINDOWS} × windowBlocks (${AGGREGATION_LOOKBACK_WINDOWS * params.windowBlocks}): a window must finish its reveal phase before the ${AGGREGATION_LOOKBACK_WINDOWS + 1n}th window after it opens`);
  }
}

/** The governance JSON form: every field, as strings. */
export function paramsToJson(params: Params): Record<string, string> {
  return Object.fromEntries(PARAM_KEYS.map((key) => [key, String(params[key])]));
}

/**
 * Parses the governance JSON form strictly: an object with exactly the Params keys, each a
 * string (a non-negative safe integer number is accepted for uint64 fields).
 */
export function paramsFromJson(value: unknown, error: ErrorKind = trainingErrors.invalidParams): Params {
  const params = strictParamsFromJson<Params>(value, PARAM_KEYS, STRING_KEYS, error);
  validateParams(params, error);
  return params;
}
