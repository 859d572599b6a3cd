// LoRA tensors by name, in the one naming every output file uses:
//   lora.{layer}.{p}.A  I32 [r, K_p]     lora.{layer}.{p}.B  I32 [N_p, r]
// for each target p of the model (v1: q, k, v, o with K = N = D; SPEC v2 §5.1, §6.1), and, in
// state checkpoints only, the momentum as momentum.{layer}.{p}.A / .B (same shapes).

import type { LoraLayer, LoraPair } from '../model/adapter.ts';
import { LORA_PROJECTIONS, type LoraTarget } from '../model/config.ts';
import type { IntTensor } from '../storage/safetensors.ts';
import { OutputError, OutputErrorCode } from './errors.ts';

/** The adapter dimensions a file must match. */
export interface AdapterShape {
  readonly nLayers: number;
  readonly dModel: number;
  readonly loraRank: number;
  /** the model's LoRA targets in canonical order (absent: v1's q, k, v, o) */
  readonly targets?: readonly LoraTarget[];
  /** input width K and output width N beside target p (absent: D, D) */
  readonly dims?: (p: LoraTarget) => { K: number; N: number };
}

type Pairs = readonly LoraLayer[];

function targetsOf(shape: AdapterShape): readonly LoraTarget[] {
  return shape.targets ?? LORA_PROJECTIONS;
}
function dimsOf(shape: AdapterShape, p: LoraTarget): { K: number; N: number } {
  return shape.dims?.(p) ?? { K: shape.dModel, N: shape.dModel };
}

function i32(shape: number[], data: Int32Array): IntTensor {
  return { dtype: 'I32', shape, data };
}

/** Named tensors of a list of per-layer LoRA pairs (`prefix` = "lora" or "momentum"). */
export function pairsToTensors(prefix: string, pairs: Pairs, shape: AdapterShape, into = new Map<string, IntTensor>()): Map<string, IntTensor> {
  const r = shape.loraRank;
  pairs.forEach((rec, l) => {
    for (const p of targetsOf(shape)) {
      const pair = rec[p];
      if (!pair) throw new OutputError(OutputErrorCode.BadTensors, `LoRA target ${p} of layer ${l} is missing`);
      const { K, N } = dimsOf(shape, p);
      into.set(`${prefix}.${l}.${p}.A`, i32([r, K], pair.a));
      into.set(`${prefix}.${l}.${p}.B`, i32([N, r], pair.b));
    }
  });
  return into;
}

/** Every tensor name of one prefix, in layer-major target order, A then B. */
export function tensorNames(prefix: string, shape: AdapterShape): string[] {
  const names: string[] = [];
  for (let l = 0; l < shape.nLayers; l++) for (const p of targetsOf(shape)) names.push(`${prefix}.${l}.${p}.A`, `${prefix}.${l}.${p}.B`);
  return names;
}

/** Reads the per-layer pairs of `prefix` back, checking dtype, shape and |value| ≤ `bound`. */
export function tensorsToPairs(
  tensors: ReadonlyMap<string, IntTensor>, prefix: string, shape: AdapterShape, bound: number, what: string,
): LoraLayer[] {
  const r = shape.loraRank;
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
  const out: LoraLayer[] = [];
  for (let l = 0; l < shape.nLayers; l++) {
    const rec: Partial<Record<LoraTarget, LoraPair>> = {};
    for (const p of targetsOf(shape)) {
      const { K, N } = dimsOf(shape, p);
      rec[p] = { a: take(`${prefix}.${l}.${p}.A`, [r, K]), b: take(`${prefix}.${l}.${p}.B`, [N, r]) };
    }
    out.push(rec as LoraLayer);
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
