// LoRA adapters beside the projections the model version targets (v1: q, k, v, o of every layer),
// their optimizer state, and gradient accumulators (SPEC.md §4.3, §6, §7).

import { isqrt, rshr } from '../kernels/cpu/int.ts';
import { int16FromSeed } from '../prng.ts';
import { LORA_TARGETS, type LoraTarget, loraDims, loraTargets, type ModelConfig } from './config.ts';

export interface LoraPair {
  /** Q16 [r, K] */
  readonly a: Int32Array;
  /** Q16 [N, r] */
  readonly b: Int32Array;
}

/**
 * One layer's adapters, keyed by target. Only the config's targets are present; v1 configs have
 * exactly q, k, v, o (the modules written before v2 read those four directly).
 */
export type LoraLayer<T = LoraPair> = Record<'q' | 'k' | 'v' | 'o', T> & Partial<Record<LoraTarget, T>>;

/** The targets present in a layer record, in canonical order (SPEC §6 state bytes). */
export function presentTargets<T>(rec: Partial<Record<LoraTarget, T>>): LoraTarget[] {
  return LORA_TARGETS.filter((p) => rec[p] !== undefined);
}

/** Per layer, per target: parameters and momentum. Arrays are mutated by the optimizer. */
export interface AdapterState {
  readonly params: readonly LoraLayer[];
  readonly momentum: readonly LoraLayer[];
}

/**
 * Exact integer gradient sums (acc64 of the spec: int64 per element, SPEC §1, §2.1), same shapes
 * as the parameters. Within SPEC §8 (chunks ≤ 2^16 tokens) every element stays below 2^48.
 */
export interface AdapterGrads {
  readonly layers: readonly LoraLayer<{ a: BigInt64Array; b: BigInt64Array }>[];
}

function zeros<T>(cfg: ModelConfig, make: (n: number) => T): LoraLayer<{ a: T; b: T }>[] {
  const r = cfg.loraRank;
  return Array.from({ length: cfg.nLayers }, () => {
    const rec: Partial<Record<LoraTarget, { a: T; b: T }>> = {};
    for (const p of loraTargets(cfg)) {
      const { K, N } = loraDims(cfg, p);
      rec[p] = { a: make(r * K), b: make(N * r) };
    }
    // A v1 module reading q/k/v/o of a config without them gets undefined at run time; only
    // v2-aware code (which goes through presentTargets) runs such configs.
    return rec as LoraLayer<{ a: T; b: T }>;
  });
}

/** A uniform on ±1/√K from `lora.{l}.{p}.A`; B = 0; momentum = 0. */
export function initAdapter(cfg: ModelConfig): AdapterState {
  const params = zeros(cfg, (n) => new Int32Array(n));
  for (let l = 0; l < cfg.nLayers; l++) {
    for (const p of loraTargets(cfg)) {
      const { K } = loraDims(cfg, p);
      const scale = isqrt(Math.floor(4294967296 / K));
      const s = int16FromSeed(cfg.seed, `lora.${l}.${p}.A`, cfg.loraRank * K);
      const a = params[l][p]!.a;
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
    for (const p of presentTargets(rec)) {
      const [ia, ib, fa, fb] = [rec[p]!.a, rec[p]!.b, from.layers[l][p]!.a, from.layers[l][p]!.b];
      for (let i = 0; i < ia.length; i++) ia[i] += fa[i];
      for (let i = 0; i < ib.length; i++) ib[i] += fb[i];
    }
  });
}

export function cloneAdapter(s: AdapterState): AdapterState {
  const copy = (rs: readonly LoraLayer[]) =>
    rs.map((rec) => {
      const out: Partial<Record<LoraTarget, LoraPair>> = {};
      for (const p of presentTargets(rec)) out[p] = { a: rec[p]!.a.slice(), b: rec[p]!.b.slice() };
      return out as LoraLayer;
    });
  return { params: copy(s.params), momentum: copy(s.momentum) };
}
