// LoRA tensors by name, in the one naming every output file uses:
//   lora.{layer}.{q|k|v|o}.A  I32 [r, D]     lora.{layer}.{q|k|v|o}.B  I32 [D, r]
// and, in state checkpoints only, the momentum as momentum.{layer}.{p}.A / .B (same shapes).

import type { LoraPair } from '../model/adapter.ts';
import { LORA_PROJECTIONS, type LoraProjection } from '../model/config.ts';
import type { IntTensor } from '../storage/safetensors.ts';
import { OutputError, OutputErrorCode } from './errors.ts';

/** The adapter dimensions a file must match. */
export interface AdapterShape {
  readonly nLayers: number;
  readonly dModel: number;
  readonly loraRank: number;
}

type Pairs = readonly Record<LoraProjection, LoraPair>[];

function i32(shape: number[], data: Int32Array): IntTensor {
  return { dtype: 'I32', shape, data };
}

/** Named tensors of a list of per-layer LoRA pairs (`prefix` = "lora" or "momentum"). */
export function pairsToTensors(prefix: string, pairs: Pairs, shape: AdapterShape, into = new Map<string, IntTensor>()): Map<string, IntTensor> {
  const { dModel: D, loraRank: r } = shape;
  pairs.forEach((rec, l) => {
    for (const p of LORA_PROJECTIONS) {
      into.set(`${prefix}.${l}.${p}.A`, i32([r, D], rec[p].a));
      into.set(`${prefix}.${l}.${p}.B`, i32([D, r], rec[p].b));
    }
  });
  return into;
}

/** Every tensor name of one prefix, in layer-major q,k,v,o, A then B order. */
export function tensorNames(prefix: string, shape: AdapterShape): string[] {
  const names: string[] = [];
  for (let l = 0; l < shape.nLayers; l++) for (const p of LORA_PROJECTIONS) names.push(`${prefix}.${l}.${p}.A`, `${prefix}.${l}.${p}.B`);
  return names;
}

/** Reads the per-layer pairs of `prefix` back, checking dtype, shape and |value| ≤ `bound`. */
export function tensorsToPairs(
  tensors: ReadonlyMap<string, IntTensor>, prefix: string, shape: AdapterShape, bound: number, what: string,
): Record<LoraProjection, LoraPair>[] {
  const { dModel: D, loraRank: r } = shape;
  const bad = (msg: string) => new OutputError(OutputErrorCode.BadTensors, `${what}: ${msg}`);
  const take = (name: string, dims: [number, number]): Int32Array => {
    const t = tensors.get(name);
    if (!t) throw bad(`tensor ${name} is missing`);
    if (t.dtype !== 'I32') throw bad(`tensor ${name} is ${t.dtype}, expected I32`);
    if (t.shape.length !== 2 || t.shape[0] !== dims[0] || t.shape[1] !== dims[1]) {
      throw bad(`tensor ${name} has shape [${t.shape.join(',')}], expected [${dims.join(',')}]`);
    }
    const data = t.data as Int32Array;
    for (let i = 0; i < data.length; i++) {
      if (data[i] > bound || data[i] < -bound) throw bad(`tensor ${name}[${i}] = ${data[i]} is outside ±${bound}`);
    }
    return data;
  };
  const out: Record<LoraProjection, LoraPair>[] = [];
  for (let l = 0; l < shape.nLayers; l++) {
    const rec = {} as Record<LoraProjection, LoraPair>;
    for (const p of LORA_PROJECTIONS) rec[p] = { a: take(`${prefix}.${l}.${p}.A`, [r, D]), b: take(`${prefix}.${l}.${p}.B`, [D, r]) };
    out.push(rec);
  }
  return out;
}

/** Throws unless the file holds exactly the tensors `expected` names. */
export function assertExactNames(tensors: ReadonlyMap<string, IntTensor>, expected: readonly string[], what: string): void {
  const want = new Set(expected);
  for (const name of tensors.keys()) {
    if (!want.has(name)) throw new OutputError(OutputErrorCode.BadTensors, `${what}: unexpected tensor ${name}`);
  }
  if (tensors.size !== want.size) {
    const missing = expected.filter((n) => !tensors.has(n));
    throw new OutputError(OutputErrorCode.BadTensors, `${what}: missing tensors ${missing.slice(0, 4).join(', ')}${missing.length > 4 ? ', …' : ''}`);
  }
}
