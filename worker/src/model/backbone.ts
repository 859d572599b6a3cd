// The frozen ternary backbone, generated from the model version's seed (SPEC.md §5, §7).

import { isqrt } from '../kernels/cpu/int.ts';
import { type PackedTernary, packTernary } from '../kernels/cpu/ternary-pack.ts';
import { ternaryFromSeed } from '../prng.ts';
import { type ModelConfig, validateConfig } from './config.ts';

/** A ternary weight [rows, cols] with its per-tensor scale γ (Q16). */
export interface TernaryTensor {
  readonly w: Int8Array;
  readonly rows: number;
  readonly cols: number;
  readonly gamma: number;
  /** the same weights as index lists, for the CPU kernels */
  readonly packed: PackedTernary;
}

export interface BackboneLayer {
  readonly wq: TernaryTensor;
  readonly wk: TernaryTensor;
  readonly wv: TernaryTensor;
  readonly wo: TernaryTensor;
  readonly w1: TernaryTensor;
  readonly w2: TernaryTensor;
}

export interface Backbone {
  readonly cfg: ModelConfig;
  /** tern [256, D] */
  readonly embed: Int8Array;
  readonly layers: readonly BackboneLayer[];
  readonly head: TernaryTensor;
}

/** γ = isqrt(⌊2^33 / K⌋) = 2^16·√(2/K): unit output variance for unit-RMS inputs. */
export function generatedGamma(fanIn: number): number {
  return isqrt(Math.floor(8589934592 / fanIn));
}

function ternary(seed: Uint8Array, name: string, rows: number, cols: number): TernaryTensor {
  const w = ternaryFromSeed(seed, name, rows * cols);
  return { w, rows, cols, gamma: generatedGamma(cols), packed: packTernary(w, rows, cols) };
}

export function generateBackbone(cfg: ModelConfig): Backbone {
  validateConfig(cfg);
  const { seed, dModel: D, dFF: F } = cfg;
  const layers: BackboneLayer[] = [];
  for (let l = 0; l < cfg.nLayers; l++) {
    layers.push({
      wq: ternary(seed, `layer.${l}.wq`, D, D),
      wk: ternary(seed, `layer.${l}.wk`, D, D),
      wv: ternary(seed, `layer.${l}.wv`, D, D),
      wo: ternary(seed, `layer.${l}.wo`, D, D),
      w1: ternary(seed, `layer.${l}.w1`, F, D),
      w2: ternary(seed, `layer.${l}.w2`, D, F),
    });
  }
  return {
    cfg,
    embed: ternaryFromSeed(seed, 'embed', 256 * D),
    layers,
    head: ternary(seed, 'head', 256, D),
  };
}
