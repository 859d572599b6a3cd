// LoRA adapters on q, k, v, o of every layer, their optimizer state, and gradient accumulators
// (SPEC.md §4.3, §6, §7).

import { isqrt, rshr } from '../kernels/cpu/int.ts';
import { int16FromSeed } from '../prng.ts';
import { LORA_PROJECTIONS, type LoraProjection, type ModelConfig } from './config.ts';

export interface LoraPair {
  /** Q16 [r, D] */
  readonly a: Int32Array;
  /** Q16 [D, r] */
  readonly b: Int32Array;
}

/** Per layer, per projection: parameters and momentum. Arrays are mutated by the optimizer. */
export interface AdapterState {
  readonly params: readonly Record<LoraProjection, LoraPair>[];
  readonly momentum: readonly Record<LoraProjection, LoraPair>[];
}

/**
 * Exact integer gradient sums (acc64 of the spec: int64 per element, SPEC §1, §2.1), same shapes
 * as the parameters. Within SPEC §8 (chunks ≤ 2^16 tokens) every element stays below 2^48.
 */
export interface AdapterGrads {
  readonly layers: readonly Record<LoraProjection, { a: BigInt64Array; b: BigInt64Array }>[];
}

function zeros<T>(cfg: ModelConfig, make: (n: number) => T): Record<LoraProjection, { a: T; b: T }>[] {
  const n = cfg.loraRank * cfg.dModel;
  return Array.from({ length: cfg.nLayers }, () => {
    const rec = {} as Record<LoraProjection, { a: T; b: T }>;
    for (const p of LORA_PROJECTIONS) rec[p] = { a: make(n), b: make(n) };
    return rec;
  });
}

/** A uniform on ±1/√D from `lora.{l}.{p}.A`; B = 0; momentum = 0. */
export function initAdapter(cfg: ModelConfig): AdapterState {
  const params = zeros(cfg, (n) => new Int32Array(n));
  const scale = isqrt(Math.floor(4294967296 / cfg.dModel));
  for (let l = 0; l < cfg.nLayers; l++) {
    for (const p of LORA_PROJECTIONS) {
      const s = int16FromSeed(cfg.seed, `lora.${l}.${p}.A`, cfg.loraRank * cfg.dModel);
      const a = params[l][p].a;
      for (let i = 0; i < s.length; i++) a[i] = rshr(s[i] * scale, 15);
    }
  }
  return { params, momentum: zeros(cfg, (n) => new Int32Array(n)) };
}

export function newGrads(cfg: ModelConfig): AdapterGrads {
  return { layers: zeros(cfg, (n) => new BigInt64Array(n)) };
}

/** into += from, exactly (int64; both hold sums below 2^52 by SPEC §8, so no wrap-around). */
export function addGrads(into: AdapterGrads, from: AdapterGrads): void {
  into.layers.forEach((rec, l) => {
    for (const p of LORA_PROJECTIONS) {
      const [ia, ib, fa, fb] = [rec[p].a, rec[p].b, from.layers[l][p].a, from.layers[l][p].b];
      for (let i = 0; i < ia.length; i++) ia[i] += fa[i];
      for (let i = 0; i < ib.length; i++) ib[i] += fb[i];
    }
  });
}

export function cloneAdapter(s: AdapterState): AdapterState {
  const copy = (rs: readonly Record<LoraProjection, LoraPair>[]) =>
    rs.map((rec) => {
      const out = {} as Record<LoraProjection, LoraPair>;
      for (const p of LORA_PROJECTIONS) out[p] = { a: rec[p].a.slice(), b: rec[p].b.slice() };
      return out;
    });
  return { params: copy(s.params), momentum: copy(s.momentum) };
}
