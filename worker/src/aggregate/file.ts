// A window's aggregate as a canonical safetensors file: the robust combination of the accepted
// adapter deltas, with the rule, its parameters and the input CIDs in the metadata. Honest
// proposers given the same accepted submissions produce the same bytes, hence the same CID.

import type { CID } from 'multiformats/cid';
import { type LoraLayer, type LoraPair, presentTargets } from '../model/adapter.ts';
import { LORA_PROJECTIONS, type LoraTarget, loraTargets } from '../model/config.ts';
import { DELTA_BOUND, type DeltaFile, gradientHash, type LoraPairs, shapeOfModel } from '../output/delta.ts';
import { OutputError, OutputErrorCode } from '../output/errors.ts';
import { dec, MetaReader, type ModelIdentity, modelMetadata, parseModelMetadata } from '../output/metadata.ts';
import { assertExactNames, pairsToTensors, tensorNames, tensorsToPairs } from '../output/tensors.ts';
import { cidOf, parseCid } from '../storage/cid.ts';
import { decodeSafetensors, encodeSafetensors } from '../storage/safetensors.ts';
import { AggregateError, AggregateErrorCode } from './errors.ts';
import { aggregate, type AggregateResult, type AggregationRule, type Flat, parseRule, ruleName } from './rules.ts';

export const AGGREGATE_FORMAT = 'r3mes/aggregate/v1';

/** The rule used when the chain names none: coordinate-wise median (no parameter to agree on). */
export const DEFAULT_RULE: AggregationRule = { kind: 'median' };

export function flatten(pairs: LoraPairs): Flat {
  const out: Int32Array[] = [];
  for (const rec of pairs) for (const p of presentTargets(rec)) out.push(rec[p]!.a, rec[p]!.b);
  return out;
}

/** The inverse of flatten for a model with `targets` (default: v1's q, k, v, o). */
export function unflatten(flat: readonly Int32Array[], nLayers: number, targets: readonly LoraTarget[] = LORA_PROJECTIONS): LoraPairs {
  const out: LoraPairs = [];
  for (let l = 0, i = 0; l < nLayers; l++) {
    const rec: Partial<Record<LoraTarget, LoraPair>> = {};
    for (const p of targets) {
      rec[p] = { a: flat[i], b: flat[i + 1] };
      i += 2;
    }
    out.push(rec as LoraLayer);
  }
  return out;
}

export interface AggregateInput {
  readonly cid: string;
  readonly file: DeltaFile;
}

export interface EncodedAggregate {
  readonly bytes: Uint8Array;
  readonly cid: CID;
  /** result_hash on chain: the gradient hash (numbers only) of the aggregate */
  readonly resultHash: Uint8Array;
  readonly result: AggregateResult;
  readonly delta: LoraPairs;
}

/** Same model identity (every metadata field of the version, backbone and config). */
export function sameModel(a: ModelIdentity, b: ModelIdentity): boolean {
  const ma = modelMetadata(a);
  const mb = modelMetadata(b);
  return Object.keys(ma).every((k) => ma[k] === mb[k]);
}

/** Aggregates `inputs` (in the chain's submission order) for `window` with `rule`. */
export async function aggregateDeltas(inputs: readonly AggregateInput[], rule: AggregationRule, window: bigint): Promise<EncodedAggregate> {
  if (inputs.length === 0) throw new AggregateError(AggregateErrorCode.NoInputs, `window ${window}: no accepted deltas to aggregate`);
  const model = inputs[0].file.info.model;
  inputs.forEach((x, i) => {
    if (!sameModel(x.file.info.model, model)) throw new AggregateError(AggregateErrorCode.ShapeMismatch, `input ${i} (${x.cid}) was trained on another model than input 0`);
  });
  const result = aggregate(inputs.map((x) => flatten(x.file.delta)), rule);
  const delta = unflatten(result.tensors, model.cfg.nLayers, loraTargets(model.cfg));
  const shape = shapeOfModel(model);
  const meta: Record<string, string> = {
    ...modelMetadata(model),
    format: AGGREGATE_FORMAT,
    window: dec(window),
    rule: ruleName(rule),
    inputs: dec(inputs.length),
    input_cids: inputs.map((x) => x.cid).join(','),
  };
  if (rule.kind === 'krum') meta.selected = result.selected.join(',');
  const bytes = encodeSafetensors(pairsToTensors('lora', delta, shape), meta);
  return { bytes, cid: await cidOf(bytes), resultHash: gradientHash(delta, shape), result, delta };
}

export interface AggregateFile {
  readonly model: ModelIdentity;
  readonly window: bigint;
  readonly rule: AggregationRule;
  readonly inputCids: string[];
  readonly delta: LoraPairs;
}

export async function decodeAggregate(bytes: Uint8Array, options: { cid?: CID | string } = {}): Promise<AggregateFile> {
  if (options.cid !== undefined) {
    const want = typeof options.cid === 'string' ? parseCid(options.cid) : options.cid;
    const got = await cidOf(bytes);
    if (!got.equals(want)) throw new OutputError(OutputErrorCode.CidMismatch, `aggregate: the bytes hash to ${got}, not to ${want}`);
  }
  const file = decodeSafetensors(bytes, { requireCanonical: true });
  const r = new MetaReader(file.metadata, 'aggregate');
  r.expect('format', AGGREGATE_FORMAT);
  const model = parseModelMetadata(r);
  const shape = shapeOfModel(model);
  assertExactNames(file.tensors, tensorNames('lora', shape), 'aggregate');
  const inputCids = r.str('input_cids').split(',');
  if (inputCids.length !== r.num('inputs')) throw new OutputError(OutputErrorCode.BadMetadata, 'aggregate: input_cids does not list `inputs` CIDs');
  return {
    model,
    window: r.big('window'),
    rule: parseRule(r.str('rule')),
    inputCids,
    delta: tensorsToPairs(file.tensors, 'lora', shape, DELTA_BOUND, 'aggregate'),
  };
}
