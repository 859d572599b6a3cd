// Integer sampling of the next token (SPEC.md §12): temperature and top_p as Q16 integers, weights
// from the spec's iexp, a cumulative top_p cut, and a draw from the SHA-256 counter stream of
// SPEC §7. Nothing here is floating point after the request's numbers are turned into Q16, so the
// same logits, parameters and seed give the same token on every machine and backend.

import { sha256 } from '@noble/hashes/sha2.js';
import { iexp } from '../kernels/cpu/poly.ts';

export const Q16 = 65536;
/** Largest temperature: 2.0 (OpenAI's range), Q16. */
export const TEMPERATURE_MAX_Q16 = 2 * Q16;
/** The cap of the scaled logit distance before iexp (iexp clamps at 2^22 itself). */
const D_CAP = 4194304;

export interface SamplingParams {
  /** temperature, Q16, 0..2^17; 0 = argmax (lowest index on ties) */
  readonly temperatureQ16: number;
  /** top_p, Q16, 0..2^16 */
  readonly topPQ16: number;
  /** the request's seed: a signed 64-bit integer */
  readonly seed: bigint;
}

/**
 * A request number in [0, max] → Q16: round(x·2^16), half up. x·2^16 is exact in binary64 (a
 * power-of-two scaling), so this is the only place a float meets the sampler and it is exact.
 */
export function toQ16(x: number): number {
  return Math.floor(x * Q16 + 0.5);
}

const UTF8 = new TextEncoder();
const SEED_DOMAIN = UTF8.encode('r3mes/sample-seed/v1');
const STREAM_NAME = UTF8.encode('r3mes/sample/v1');

/** key = SHA-256(utf8("r3mes/sample-seed/v1") ‖ i64le(seed)): the 32-byte seed of the stream. */
export function sampleKey(seed: bigint): Uint8Array {
  if (seed < -(1n << 63n) || seed >= 1n << 63n) throw new RangeError(`seed ${seed} is not a signed 64-bit integer`);
  const msg = new Uint8Array(SEED_DOMAIN.length + 8);
  msg.set(SEED_DOMAIN, 0);
  new DataView(msg.buffer).setBigInt64(SEED_DOMAIN.length, seed, true);
  return sha256(msg);
}

/**
 * Draw i of a request = u64le of bytes 8i..8i+7 of stream(key, "r3mes/sample/v1") (SPEC §7:
 * block j = SHA-256(SHA-256(key ‖ name) ‖ u64le(j)), four draws per block).
 */
export class DrawStream {
  private readonly streamKey: Uint8Array;
  private blockIndex = -1;
  private block = new Uint8Array(32);

  constructor(seed: bigint) {
    const key = sampleKey(seed);
    const input = new Uint8Array(32 + STREAM_NAME.length);
    input.set(key, 0);
    input.set(STREAM_NAME, 32);
    this.streamKey = sha256(input);
  }

  draw(i: number): bigint {
    const j = Math.floor(i / 4);
    if (j !== this.blockIndex) {
      const msg = new Uint8Array(40);
      msg.set(this.streamKey, 0);
      const view = new DataView(msg.buffer);
      view.setUint32(32, j >>> 0, true);
      view.setUint32(36, Math.floor(j / 4294967296), true);
      this.block = sha256(msg);
      this.blockIndex = j;
    }
    return new DataView(this.block.buffer, this.block.byteOffset).getBigUint64((i % 4) * 8, true);
  }
}

/** argmax with the lowest index on ties. */
export function argmax(logits: Int32Array, off = 0, n = logits.length - off): number {
  let best = 0;
  for (let v = 1; v < n; v++) if (logits[off + v] > logits[off + best]) best = v;
  return best;
}

/**
 * The weights w_v (Q15) of SPEC §12 for temperature τ > 0:
 * d_v = min(⌊((mx − y_v)·2^17 + τ) / (2τ)⌋, 2^22), w_v = iexp(−d_v).
 */
export function sampleWeights(logits: Int32Array, temperatureQ16: number): Int32Array {
  const n = logits.length;
  let mx = logits[0];
  for (let v = 1; v < n; v++) if (logits[v] > mx) mx = logits[v];
  const w = new Int32Array(n);
  for (let v = 0; v < n; v++) {
    const a = mx - logits[v]; // < 2^32; a·2^17 < 2^49: exact
    const d = Math.floor((a * 131072 + temperatureQ16) / (2 * temperatureQ16));
    w[v] = iexp(-(d < D_CAP ? d : D_CAP));
  }
  return w;
}

/**
 * The token ids kept by top_p π (Q16), ascending: order by (w desc, id asc), keep the shortest
 * prefix whose weight sum C satisfies C·2^16 ≥ π·S (S = Σ w). Never empty (the max has w = 2^15).
 */
export function topPKeep(w: Int32Array, topPQ16: number): number[] {
  const order = Array.from(w.keys()).sort((x, y) => w[y] - w[x] || x - y);
  let total = 0;
  for (let v = 0; v < w.length; v++) total += w[v];
  const goal = topPQ16 * total; // ≤ 2^16·2^23: exact
  const kept: number[] = [];
  let c = 0;
  for (const v of order) {
    kept.push(v);
    c += w[v];
    if (c * Q16 >= goal) break;
  }
  return kept.sort((x, y) => x - y);
}

/** The token of draw `i` for one position's logits (Q16 [V]). */
export function sampleToken(logits: Int32Array, p: SamplingParams, draws: DrawStream, i: number): number {
  if (p.temperatureQ16 === 0) return argmax(logits);
  const w = sampleWeights(logits, p.temperatureQ16);
  const kept = topPKeep(w, p.topPQ16);
  let z = 0;
  for (const v of kept) z += w[v];
  const r = Number((draws.draw(i) * BigInt(z)) >> 64n); // ⌊u·Z / 2^64⌋ ∈ [0, Z)
  let c = 0;
  for (const v of kept) {
    c += w[v];
    if (c > r) return v;
  }
  throw new Error('sampler: draw beyond the kept weights (cannot happen)');
}

/** Checks the integer parameters (SPEC §12 ranges). */
export function checkSampling(p: SamplingParams): void {
  if (!Number.isInteger(p.temperatureQ16) || p.temperatureQ16 < 0 || p.temperatureQ16 > TEMPERATURE_MAX_Q16) throw new RangeError(`temperature_q16 must be an integer in 0..${TEMPERATURE_MAX_Q16}`);
  if (!Number.isInteger(p.topPQ16) || p.topPQ16 < 0 || p.topPQ16 > Q16) throw new RangeError(`top_p_q16 must be an integer in 0..${Q16}`);
  sampleKey(p.seed);
}
