// The frozen ternary backbone (SPEC.md §5, §7): built from weights — generated from the model
// version's seed, or (later) read from a checkpoint — by one function, `buildBackbone`, which
// applies the exact bf16 → fixed-point rules of SPEC §1.1 to every bf16 value it is given.

import { type Bf16Block, bf16Block, bf16ToQ16, q16ToBf16 } from '../kernels/cpu/bf16.ts';
import { isqrt } from '../kernels/cpu/int.ts';
import { type PackedTernary, packTernary } from '../kernels/cpu/ternary-pack.ts';
import { prngBytes, ternaryFromSeed } from '../prng.ts';
import { headDim, isV2, kvHeads, type ModelConfig, type V2Feature, v2FeatureList, validateConfig } from './config.ts';

/** A ternary weight [rows, cols] with its per-tensor scale γ (Q16). */
export interface TernaryTensor {
  readonly w: Int8Array;
  readonly rows: number;
  readonly cols: number;
  readonly gamma: number;
  /** the same weights as index lists, for the CPU kernels */
  readonly packed: PackedTernary;
}

/** Learned RMSNorm gains of one layer (v2 `normGains`), as bf16 blocks (SPEC §1.1, 15 bits). */
export interface LayerGains {
  readonly attnNorm: Bf16Block;
  readonly attnSubNorm: Bf16Block;
  readonly ffnNorm: Bf16Block;
  readonly ffnSubNorm: Bf16Block;
}

export interface BackboneLayer {
  readonly wq: TernaryTensor;
  /** [Hkv·dh, D] */
  readonly wk: TernaryTensor;
  /** [Hkv·dh, D] */
  readonly wv: TernaryTensor;
  readonly wo: TernaryTensor;
  /** plain FFN: [F, D] and [D, F] */
  readonly w1?: TernaryTensor;
  readonly w2?: TernaryTensor;
  /** gated FFN: [F, D], [F, D], [D, F] */
  readonly wgate?: TernaryTensor;
  readonly wup?: TernaryTensor;
  readonly wdown?: TernaryTensor;
  readonly gains?: LayerGains;
}

export interface Backbone {
  readonly cfg: ModelConfig;
  /** tern [V, D] (empty with a bf16 embedding) */
  readonly embed: Int8Array;
  /** bf16-tied embedding as a 15-bit block [V, D]; it is also the LM head */
  readonly embedBf16?: Bf16Block;
  readonly layers: readonly BackboneLayer[];
  /** ternary LM head [V, D] (absent when tied) */
  readonly head?: TernaryTensor;
  readonly finalGain?: Bf16Block;
}

// ---- the weights form a loader fills (bf16 values as raw uint16 bits) ----

export interface TernaryWeight {
  /** {−1, 0, +1}, row-major [rows, cols] ([out, in], as a checkpoint's BitLinear) */
  readonly w: Int8Array;
  readonly rows: number;
  readonly cols: number;
  /** bf16 bits of the per-tensor scale (v2); absent: the generated γ of SPEC §5 (v1) */
  readonly scaleBits?: number;
}
export interface LayerWeights {
  readonly wq: TernaryWeight;
  readonly wk: TernaryWeight;
  readonly wv: TernaryWeight;
  readonly wo: TernaryWeight;
  readonly w1?: TernaryWeight;
  readonly w2?: TernaryWeight;
  readonly wgate?: TernaryWeight;
  readonly wup?: TernaryWeight;
  readonly wdown?: TernaryWeight;
  /** bf16 bits, each [D] except ffnSubNorm [F] */
  readonly gains?: { attnNorm: Uint16Array; attnSubNorm: Uint16Array; ffnNorm: Uint16Array; ffnSubNorm: Uint16Array };
}
export interface BackboneWeights {
  /** ternary [V, D] or bf16 bits [V, D] (tied: also the head) */
  readonly embed: { ternary: Int8Array } | { bf16: Uint16Array };
  readonly layers: readonly LayerWeights[];
  /** ternary head [V, D]; absent when the embedding is tied */
  readonly head?: TernaryWeight;
  /** bf16 bits [D] */
  readonly finalNorm?: Uint16Array;
}

/** γ = isqrt(⌊2^33 / K⌋) = 2^16·√(2/K): unit output variance for unit-RMS inputs. */
export function generatedGamma(fanIn: number): number {
  return isqrt(Math.floor(8589934592 / fanIn));
}

/** Largest γ (Q16) a bf16 weight scale may give: 2^20 (real 16), SPEC v2 §8. */
export const GAMMA_MAX = 1048576;

function tensor(name: string, tw: TernaryWeight, rows: number, cols: number): TernaryTensor {
  if (tw.rows !== rows || tw.cols !== cols || tw.w.length !== rows * cols) {
    throw new RangeError(`backbone: ${name} is [${tw.rows}, ${tw.cols}] (${tw.w.length} values), expected [${rows}, ${cols}]`);
  }
  for (let i = 0; i < tw.w.length; i++) {
    const v = tw.w[i];
    if (v !== 0 && v !== 1 && v !== -1) throw new RangeError(`backbone: ${name} holds ${v} at ${i}, not ternary`);
  }
  const gamma = tw.scaleBits === undefined ? generatedGamma(cols) : bf16ToQ16(tw.scaleBits, GAMMA_MAX, `${name} weight_scale`);
  return { w: tw.w, rows, cols, gamma, packed: packTernary(tw.w, rows, cols) };
}

/** A gain vector as a 15-bit block; |g| < 64 (SPEC v2 §4.1g) and shift ≤ 40. */
function gain(name: string, bits: Uint16Array | undefined, n: number): Bf16Block {
  if (!bits || bits.length !== n) throw new RangeError(`backbone: gain ${name} has ${bits?.length ?? 'no'} values, expected ${n}`);
  const b = bf16Block(bits, 15, name);
  if (b.q.some((x) => x !== 0) && (b.shift < 9 || b.shift > 40)) {
    throw new RangeError(`backbone: gain ${name} has max |g| outside [2^−26, 64) (block shift ${b.shift})`);
  }
  return b;
}

/** Checks every shape against `cfg` and converts the bf16 values (SPEC §1.1); errors name the tensor. */
export function buildBackbone(cfg: ModelConfig, wts: BackboneWeights): Backbone {
  validateConfig(cfg);
  const { dModel: D, dFF: F, vocab: V } = cfg;
  const Dkv = kvHeads(cfg) * headDim(cfg);
  const gated = cfg.ffn === 'gated';
  const tied = cfg.embedding === 'bf16-tied';
  if (wts.layers.length !== cfg.nLayers) throw new RangeError(`backbone: ${wts.layers.length} layers, config says ${cfg.nLayers}`);
  const layers = wts.layers.map((lw, l): BackboneLayer => {
    const need = (x: TernaryWeight | undefined, n: string): TernaryWeight => {
      if (!x) throw new RangeError(`backbone: layer.${l}.${n} missing`);
      return x;
    };
    const t = (x: TernaryWeight | undefined, n: string, rows: number, cols: number) => tensor(`layer.${l}.${n}`, need(x, n), rows, cols);
    return {
      wq: t(lw.wq, 'wq', D, D),
      wk: t(lw.wk, 'wk', Dkv, D),
      wv: t(lw.wv, 'wv', Dkv, D),
      wo: t(lw.wo, 'wo', D, D),
      ...(gated
        ? { wgate: t(lw.wgate, 'wgate', F, D), wup: t(lw.wup, 'wup', F, D), wdown: t(lw.wdown, 'wdown', D, F) }
        : { w1: t(lw.w1, 'w1', F, D), w2: t(lw.w2, 'w2', D, F) }),
      ...(cfg.normGains
        ? {
          gains: {
            attnNorm: gain(`layer.${l}.attn_norm`, lw.gains?.attnNorm, D),
            attnSubNorm: gain(`layer.${l}.attn_sub_norm`, lw.gains?.attnSubNorm, D),
            ffnNorm: gain(`layer.${l}.ffn_norm`, lw.gains?.ffnNorm, D),
            ffnSubNorm: gain(`layer.${l}.ffn_sub_norm`, lw.gains?.ffnSubNorm, F),
          },
        }
        : {}),
    };
  });
  let embed: Int8Array = new Int8Array(0);
  let embedBf16: Bf16Block | undefined;
  if (tied) {
    if (!('bf16' in wts.embed) || wts.embed.bf16.length !== V * D) throw new RangeError(`backbone: embed must be bf16 [${V}, ${D}]`);
    embedBf16 = bf16Block(wts.embed.bf16, 15, 'embed');
    if (embedBf16.q.some((x) => x !== 0) && (embedBf16.shift < 0 || embedBf16.shift > 40)) {
      throw new RangeError(`backbone: embed has max |E| outside [2^−26, 2^15) (block shift ${embedBf16.shift})`);
    }
  } else {
    if (!('ternary' in wts.embed) || wts.embed.ternary.length !== V * D) throw new RangeError(`backbone: embed must be ternary [${V}, ${D}]`);
    embed = wts.embed.ternary;
  }
  const head = tied ? undefined : tensor('head', wts.head ?? { w: new Int8Array(0), rows: 0, cols: 0 }, V, D);
  const finalGain = cfg.normGains ? gain('final_norm', wts.finalNorm, D) : undefined;
  return { cfg, embed, embedBf16, layers, head, finalGain };
}

// ---- generation from the seed (SPEC §7) ----

/** Gains from `stream(seed, name)`: bits = 0x3F60 + (byte & 0x3F), i.e. 0.875 .. 1.2421875. */
export function gainBitsFromSeed(seed: Uint8Array, name: string, n: number): Uint16Array {
  const b = prngBytes(seed, name, n);
  return Uint16Array.from(b, (x) => 0x3f60 + (x & 0x3f));
}

/** bf16 embedding from u16 LE pairs b: bits = (b & 0x807F) | ((0x78 + ((b >> 7) & 3)) << 7): ±[2^−7, 2^−3). */
export function embedBitsFromSeed(seed: Uint8Array, name: string, n: number): Uint16Array {
  const b = prngBytes(seed, name, 2 * n);
  const out = new Uint16Array(n);
  for (let i = 0; i < n; i++) {
    const u = b[2 * i] | (b[2 * i + 1] << 8);
    out[i] = (u & 0x807f) | ((0x78 + ((u >>> 7) & 3)) << 7);
  }
  return out;
}

/** The generated weights of a config (v1: exactly the v1 backbone; v2: bf16 scales, gains, embedding). */
export function generateWeights(cfg: ModelConfig): BackboneWeights {
  validateConfig(cfg);
  const { seed, dModel: D, dFF: F, vocab: V } = cfg;
  const Dkv = kvHeads(cfg) * headDim(cfg);
  const v2 = isV2(cfg);
  const tw = (name: string, rows: number, cols: number): TernaryWeight => ({
    w: ternaryFromSeed(seed, name, rows * cols), rows, cols,
    ...(v2 ? { scaleBits: q16ToBf16(generatedGamma(cols)) } : {}),
  });
  const layers: LayerWeights[] = [];
  for (let l = 0; l < cfg.nLayers; l++) {
    const p = `layer.${l}.`;
    layers.push({
      wq: tw(`${p}wq`, D, D), wk: tw(`${p}wk`, Dkv, D), wv: tw(`${p}wv`, Dkv, D), wo: tw(`${p}wo`, D, D),
      ...(cfg.ffn === 'gated'
        ? { wgate: tw(`${p}wgate`, F, D), wup: tw(`${p}wup`, F, D), wdown: tw(`${p}wdown`, D, F) }
        : { w1: tw(`${p}w1`, F, D), w2: tw(`${p}w2`, D, F) }),
      ...(cfg.normGains
        ? {
          gains: {
            attnNorm: gainBitsFromSeed(seed, `${p}attn_norm`, D),
            attnSubNorm: gainBitsFromSeed(seed, `${p}attn_sub_norm`, D),
            ffnNorm: gainBitsFromSeed(seed, `${p}ffn_norm`, D),
            ffnSubNorm: gainBitsFromSeed(seed, `${p}ffn_sub_norm`, F),
          },
        }
        : {}),
    });
  }
  const tied = cfg.embedding === 'bf16-tied';
  return {
    embed: tied ? { bf16: embedBitsFromSeed(seed, 'embed', V * D) } : { ternary: ternaryFromSeed(seed, 'embed', V * D) },
    layers,
    ...(tied ? {} : { head: tw('head', V, D) }),
    ...(cfg.normGains ? { finalNorm: gainBitsFromSeed(seed, 'final_norm', D) } : {}),
  };
}

export function generateBackbone(cfg: ModelConfig): Backbone {
  return buildBackbone(cfg, generateWeights(cfg));
}

// ---- for code that implements only v1 (the WebGPU step and decoder) ----

/**
 * Throws naming every v2-only feature of `cfg` that `who` does not implement (SPEC v2: a backend
 * either reproduces the CPU integers or refuses the config; it never approximates).
 */
export function refuseV2(cfg: ModelConfig, who: string, implemented: readonly V2Feature[] = []): void {
  const f = v2FeatureList(cfg).filter((x) => !implemented.includes(x.key)).map((x) => x.text);
  if (f.length === 0) return;
  const what = implemented.length === 0 ? 'SPEC v1 configs only' : `SPEC v1 configs and of v2 only ${v2FeatureNames(implemented)}`;
  throw new RangeError(`${who} implements ${what}; this model uses ${f.join(', ')} (run it on the CPU backend)`);
}

const FEATURE_NAMES: Record<V2Feature, string> = {
  vocab: 'vocab ≠ 256', gqa: 'grouped-query attention', gatedFfn: 'the gated FFN', ropeTheta: 'ropeTheta', ropeHalf: 'the rotate_half layout',
  normGains: 'norm gains', tiedEmbedding: 'the tied bf16 head', loraTargets: 'LoRA targets', loraAlpha: 'LoRA alpha', wide: 'd_model > 1024 / d_ff > 2048',
};
function v2FeatureNames(keys: readonly V2Feature[]): string {
  return keys.map((k) => FEATURE_NAMES[k]).join(', ');
}

/** The plain FFN's W1 [F, D] and W2 [D, F] (v1 layers). */
export function plainFfn(L: BackboneLayer): { w1: TernaryTensor; w2: TernaryTensor } {
  if (!L.w1 || !L.w2) throw new RangeError('this layer has a gated FFN (wgate/wup/wdown), not W1/W2');
  return { w1: L.w1, w2: L.w2 };
}

/** The ternary LM head (v1 and untied v2 backbones). */
export function ternaryHead(bb: Backbone): TernaryTensor {
  if (!bb.head) throw new RangeError('this backbone has a tied bf16 LM head, not a ternary one');
  return bb.head;
}
