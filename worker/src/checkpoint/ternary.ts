// Ternary weights: the packed 2-bit layout of Hugging Face BitNet checkpoints, and the exact
// absmean quantization of bf16 master weights (README "Ternary weights").

import { BF16_UNIT_LOG2, bf16IsFinite, ratioToBf16 } from './bf16.ts';
import { CheckpointError, CheckpointErrorCode } from './errors.ts';

/**
 * Unpacks a uint8 [rows/4, cols] packed weight into an Int8Array [rows, cols] of −1, 0, 1: row
 * k·R + r (R = rows/4) is bits 2k..2k+1 of byte row r, coded as w + 1. The code 3 is not a
 * ternary value: a BadValue error naming `name` and the element.
 */
export function unpackTernary(packed: Uint8Array, rows: number, cols: number, name: string): Int8Array {
  if (rows % 4 !== 0) throw new RangeError(`unpackTernary: ${rows} rows is not a multiple of 4`);
  const R = rows / 4;
  if (packed.length !== R * cols) throw new RangeError(`unpackTernary: ${packed.length} bytes, expected ${R * cols}`);
  const out = new Int8Array(rows * cols);
  for (let r = 0; r < R; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) {
      const byte = packed[base + c];
      for (let k = 0; k < 4; k++) {
        const code = (byte >>> (2 * k)) & 3;
        if (code === 3) {
          throw new CheckpointError(
            CheckpointErrorCode.BadValue,
            `${name}: packed byte [${r}, ${c}] holds the code 3 in bits ${2 * k}..${2 * k + 1} (weight row ${k * R + r}, column ${c}); only 0, 1, 2 (−1, 0, +1) are ternary`,
          );
        }
        out[(k * R + r) * cols + c] = code - 1;
      }
    }
  }
  return out;
}

/** The inverse of `unpackTernary`: Int8Array [rows, cols] of −1, 0, 1 → uint8 [rows/4, cols]. */
export function packTernary(values: Int8Array, rows: number, cols: number): Uint8Array {
  if (rows % 4 !== 0) throw new RangeError(`packTernary: ${rows} rows is not a multiple of 4`);
  if (values.length !== rows * cols) throw new RangeError(`packTernary: ${values.length} values, expected ${rows * cols}`);
  const R = rows / 4;
  const out = new Uint8Array(R * cols);
  for (let row = 0; row < rows; row++) {
    const k = Math.floor(row / R);
    const r = row % R;
    for (let c = 0; c < cols; c++) {
      const w = values[row * cols + c];
      if (w < -1 || w > 1) throw new RangeError(`packTernary: value ${w} at [${row}, ${c}] is not ternary`);
      out[r * cols + c] |= (w + 1) << (2 * k);
    }
  }
  return out;
}

export interface QuantizedWeight {
  /** Int8Array [rows, cols] of −1, 0, 1. */
  values: Int8Array;
  /** bf16 bits of the effective scale (mean|W|, or 1e-5 when the mean is below it), rounded to nearest even. */
  scaleBits: number;
  /** The exact mean|W| as a rational in units of 2^-133: numerator (sum of |W|) and denominator (count). */
  sumUnits: bigint;
  count: number;
  /** True when mean|W| < 1e-5 and the floor 1e-5 was used instead. */
  floored: boolean;
}

/** The floor of the absmean divisor: exactly 1/100000. */
const FLOOR_DEN = 100000n;

/**
 * Absmean quantization of a bf16 master weight, exactly (README "bf16 master"): with
 * m = mean|W| over all elements (or 1/100000 when m < 1/100000), w = clip(round_half_even(W / m), −1, 1).
 * Since |W|/m ≥ 1.5 clips to 1 anyway, |w| = 1 exactly when 2·|W| > m (a tie |W| = m/2 rounds
 * to the even 0), and sign(w) = sign(W). Compared in integers: |W| and the sum are counts of
 * 2^-133, so no float rounding enters. NaN or ±Inf: BadValue naming `name`.
 */
export function quantizeAbsmean(bits: Uint16Array, name: string): QuantizedWeight {
  const n = bits.length;
  // Sum of mantissas per exponent field (each < 256 · 2^32 elements, exact in a double).
  const byShift = new Float64Array(254);
  for (let i = 0; i < n; i++) {
    const b = bits[i];
    if (!bf16IsFinite(b)) {
      throw new CheckpointError(CheckpointErrorCode.BadValue, `${name}: element ${i} is ${(b & 0x7f) === 0 ? 'infinite' : 'NaN'} (bf16 bits 0x${b.toString(16).padStart(4, '0')})`);
    }
    const e = (b >>> 7) & 0xff;
    // bf16Units inlined (hot loop): E = 0 → (M, 0); E ≥ 1 → (128 + M, E − 1).
    if (e === 0) byShift[0] += b & 0x7f;
    else byShift[e - 1] += 128 + (b & 0x7f);
  }
  let sum = 0n;
  for (let s = 0; s < byShift.length; s++) if (byShift[s] !== 0) sum += BigInt(byShift[s]) << BigInt(s);
  // The divisor m = dNum / dDen in units of 2^-133.
  const unit = 1n << BigInt(BF16_UNIT_LOG2);
  const floored = n === 0 || sum * FLOOR_DEN < BigInt(n) * unit;
  const dNum = floored ? unit : sum;
  const dDen = floored ? FLOOR_DEN : BigInt(n);
  // For each exponent: the smallest mantissa m with 2 · m · 2^shift · dDen > dNum.
  const threshold = new Uint16Array(254);
  for (let s = 0; s < threshold.length; s++) {
    const t = dNum / ((2n * dDen) << BigInt(s)) + 1n;
    threshold[s] = t > 256n ? 256 : Number(t);
  }
  const values = new Int8Array(n);
  for (let i = 0; i < n; i++) {
    const b = bits[i];
    const e = (b >>> 7) & 0xff;
    const mantissa = e === 0 ? b & 0x7f : 128 + (b & 0x7f);
    if (mantissa >= threshold[e === 0 ? 0 : e - 1]) values[i] = (b & 0x8000) !== 0 ? -1 : 1;
  }
  const scaleBits = ratioToBf16(dNum, dDen * unit);
  return { values, scaleBits, sumUnits: sum, count: n, floored };
}
