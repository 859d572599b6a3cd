// Proof-of-Compute on the CPU reference (SPEC.md §14): the PoC model is the §7 backbone of a
// config built from the epoch's PoC dims with the epoch seed, run by the existing integer forward
// (src/model/forward.ts) with every LoRA term zero; a nonce's input is seq_len bytes of
// stream(seed, "poc.input." + nonce); its output is the final normquant row of the last position
// (int8[D]); its distance is the exact integer squared L2 distance between it and the epoch's
// int8 target, both normalised to unit length (§14.4).
// `pocDistance(seed, dims, nonce)` is what the verify role calls to recompute a claim.

import { hexToBytes } from '@noble/hashes/utils.js';
import { generateBackbone, type Backbone } from '../model/backbone.ts';
import type { ModelConfig } from '../model/config.ts';
import { validateConfig } from '../model/config.ts';
import { forward, type LayerLoraQ } from '../model/forward.ts';
import { LORA_PROJECTIONS } from '../model/config.ts';
import { prngBytes } from '../prng.ts';

/** The PoC model dims, chain governance params of module `poc` (byte vocabulary 256). */
export interface PocDims {
  readonly dModel: number;
  readonly nLayers: number;
  readonly nHeads: number;
  readonly dFF: number;
  readonly seqLen: number;
}

/** The worker's defaults (the chain's params override them: `--d-model` … on the command line). */
export const DEFAULT_POC_DIMS: PocDims = { dModel: 64, nLayers: 2, nHeads: 4, dFF: 128, seqLen: 32 };

/** LoRA rank of the PoC config: the smallest §5 allows; every LoRA tensor is zero, so it adds nothing. */
export const POC_LORA_RANK = 4;

export class PocError extends Error {
  readonly codespace = 'poc';
  constructor(message: string) {
    super(message);
    this.name = 'PocError';
  }
}

/** 64 hex digits → 32 bytes, or a PocError naming the problem. */
export function parseSeedHex(hex: string): Uint8Array {
  const h = hex.startsWith('0x') ? hex.slice(2) : hex;
  if (!/^[0-9a-fA-F]{64}$/.test(h)) throw new PocError(`epoch seed must be 64 hex digits (32 bytes), got "${hex}"`);
  return hexToBytes(h.toLowerCase());
}

/** The §5 config of the PoC model (throws a PocError naming a dim outside §5's limits). */
export function pocConfig(seed: Uint8Array, dims: PocDims): ModelConfig {
  const cfg: ModelConfig = { vocab: 256, ...pick(dims), loraRank: POC_LORA_RANK, seed };
  try {
    validateConfig(cfg);
  } catch (err) {
    throw new PocError(`PoC dims: ${(err as Error).message}`);
  }
  return cfg;
}

function pick(d: PocDims): PocDims {
  return { dModel: d.dModel, nLayers: d.nLayers, nHeads: d.nHeads, dFF: d.dFF, seqLen: d.seqLen };
}

/** The input of `nonce`: seq_len bytes of stream(seed, "poc.input." + decimal nonce). */
export function pocInput(seed: Uint8Array, seqLen: number, nonce: bigint): Uint8Array {
  if (nonce < 0n) throw new PocError(`nonce must be ≥ 0, got ${nonce}`);
  return prngBytes(seed, `poc.input.${nonce.toString(10)}`, seqLen);
}

/** The epoch's target int8[D]: bytes of stream(seed, "poc.target") as two's complement, −128 → −127. */
export function pocTarget(seed: Uint8Array, dModel: number): Int8Array {
  const bytes = prngBytes(seed, 'poc.target', dModel);
  const t = new Int8Array(dModel);
  for (let k = 0; k < dModel; k++) t[k] = Math.max(-127, (bytes[k] << 24) >> 24);
  return t;
}

/** ⌊√n⌋ of a non-negative bigint (Newton's method from above; exact). */
export function isqrtBig(n: bigint): bigint {
  if (n < 0n) throw new RangeError('isqrtBig: negative');
  if (n < 2n) return n;
  let x = 1n << (BigInt(n.toString(2).length + 1) >> 1n);
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

/** ⌊a / b⌋ for b > 0 (BigInt division truncates toward zero). */
function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a < 0n && q * b !== a ? q - 1n : q;
}

/** Q16 scale of the distance: 2^17 = the squared distance of two orthogonal unit vectors. */
export const DISTANCE_ONE = 65536n;

/**
 * The PoC distance of SPEC §14.4: the squared L2 distance between x/|x| and t/|t| in Q16,
 * `d = 2^17 − ⌊2^17 · P / isqrt(X · Tn)⌋` with P = Σ x_k t_k, X = Σ x_k², Tn = Σ t_k² (exact
 * integers; d ∈ [0, 2^18]). An all-zero x or t has no direction: d = 2^17.
 */
export function pocDistanceFromOutput(x: Int8Array, t: Int8Array): bigint {
  if (x.length !== t.length) throw new PocError(`distance: output has ${x.length} values, target ${t.length}`);
  let P = 0;
  let X = 0;
  let Tn = 0;
  for (let k = 0; k < x.length; k++) {
    P += x[k] * t[k];
    X += x[k] * x[k];
    Tn += t[k] * t[k];
  }
  const two17 = 2n * DISTANCE_ONE;
  if (X === 0 || Tn === 0) return two17;
  const s = isqrtBig(BigInt(X) * BigInt(Tn));
  return two17 - floorDiv(two17 * BigInt(P), s);
}

/** Zero forward copies of the LoRA (A12 = B10 = 0): lora adds rshr(0, 2) = 0 to every projection. */
export function zeroLora(cfg: ModelConfig): LayerLoraQ[] {
  const n = cfg.loraRank * cfg.dModel;
  return Array.from({ length: cfg.nLayers }, () => {
    const rec = {} as LayerLoraQ;
    for (const p of LORA_PROJECTIONS) rec[p] = { a12: new Int32Array(n), b10: new Int32Array(n) };
    return rec;
  });
}

/** Everything an epoch's computation needs, built once per (seed, dims). */
export interface PocModel {
  readonly seed: Uint8Array;
  readonly dims: PocDims;
  readonly bb: Backbone;
  readonly lq: readonly LayerLoraQ[];
  readonly target: Int8Array;
}

export function buildPocModel(seed: Uint8Array, dims: PocDims): PocModel {
  const cfg = pocConfig(seed, dims);
  const bb = generateBackbone(cfg);
  return { seed, dims: pick(dims), bb, lq: zeroLora(cfg), target: pocTarget(seed, dims.dModel) };
}

const cache: Array<{ key: string; model: PocModel }> = [];
/** buildPocModel with a small cache (the last 2 epochs: a verifier may check the previous one). */
export function pocModelFor(seed: Uint8Array, dims: PocDims): PocModel {
  const key = `${Buffer.from(seed).toString('hex')}/${dims.dModel}/${dims.nLayers}/${dims.nHeads}/${dims.dFF}/${dims.seqLen}`;
  const hit = cache.find((c) => c.key === key);
  if (hit) return hit.model;
  const model = buildPocModel(seed, dims);
  cache.unshift({ key, model });
  cache.length = Math.min(cache.length, 2);
  return model;
}

/** The output vector of a nonce (int8[D]): the final normquant row of the last position. */
export function pocOutput(m: PocModel, nonce: bigint): Int8Array {
  const { seqLen: T, dModel: D } = m.dims;
  const cache = forward(m.bb, m.lq, pocInput(m.seed, T, nonce));
  return cache.nqf.x8.slice((T - 1) * D, T * D);
}

/** The distance of a nonce on the CPU reference. */
export function pocDistanceOf(m: PocModel, nonce: bigint): bigint {
  return pocDistanceFromOutput(pocOutput(m, nonce), m.target);
}

/** Recomputes a claim's distance (the verify role's check): exact, any backend agrees. */
export function pocDistance(seed: Uint8Array, dims: PocDims, nonce: bigint): bigint {
  return pocDistanceOf(pocModelFor(seed, dims), nonce);
}
