// bfloat16 as raw bits (Uint16: sign, 8 exponent bits, 7 mantissa bits — the top half of a
// float32), and the exact conversions the loader needs. The integer model takes bf16 values as
// these raw bits; floats appear here only to print values and in the float reference.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The value of bf16 bits, exactly (every bf16 is a float32, hence a float64). */
export function bf16ToNumber(bits: number): number {
  u32[0] = (bits & 0xffff) << 16;
  return f32[0];
}

/** True for the bits of ±Infinity and NaN (exponent field 255). */
export function bf16IsFinite(bits: number): boolean {
  return (bits & 0x7f80) !== 0x7f80;
}

/**
 * bf16 bits of `x`, rounded to nearest, ties to even, through float32 (Math.fround, then the
 * top 16 bits rounded to nearest even). The double rounding can differ from a direct
 * float64 → bf16 rounding in rare near-tie cases: used only to write test data, never on a
 * value the model is defined by.
 */
export function bf16FromNumber(x: number): number {
  f32[0] = x;
  const bits = u32[0];
  if ((bits & 0x7f800000) === 0x7f800000) return (bits >>> 16) | ((bits & 0xffff) !== 0 ? 0x40 : 0); // inf / NaN
  const lower = bits & 0xffff;
  let upper = bits >>> 16;
  if (lower > 0x8000 || (lower === 0x8000 && (upper & 1) === 1)) upper += 1;
  return upper & 0xffff;
}

/**
 * |value| of bf16 bits as an exact integer count of 2^-133 (the smallest bf16 subnormal), split as
 * mantissa × 2^shift so sums can be grouped by exponent: exponent field E = 0 gives
 * (M, 0); E ≥ 1 gives (128 + M, E − 1).
 */
export function bf16Units(bits: number): { mantissa: number; shift: number } {
  const e = (bits >>> 7) & 0xff;
  const m = bits & 0x7f;
  return e === 0 ? { mantissa: m, shift: 0 } : { mantissa: 128 + m, shift: e - 1 };
}

/** 2^-133 is one unit of `bf16Units`. */
export const BF16_UNIT_LOG2 = 133;

function bitLength(x: bigint): number {
  return x === 0n ? 0 : x.toString(2).length;
}

/**
 * bf16 bits of the positive rational num/den, rounded to nearest, ties to even. The result must
 * be a normal bf16 (2^-126 ≤ value < 2^128 after rounding); anything else throws RangeError.
 */
export function ratioToBf16(num: bigint, den: bigint): number {
  if (num <= 0n || den <= 0n) throw new RangeError('ratioToBf16: num and den must be positive');
  // e = floor(log2(num/den)).
  let e = bitLength(num) - bitLength(den);
  const ge = (k: number): boolean => (k >= 0 ? num >= den << BigInt(k) : num << BigInt(-k) >= den);
  if (!ge(e)) e -= 1;
  // q = floor(num · 2^(7−e) / den) has 8 significant bits: 128 ≤ q < 256.
  const sh = 7 - e;
  const n2 = sh >= 0 ? num << BigInt(sh) : num;
  const d2 = sh >= 0 ? den : den << BigInt(-sh);
  let q = n2 / d2;
  const r = n2 - q * d2;
  if (2n * r > d2 || (2n * r === d2 && (q & 1n) === 1n)) q += 1n;
  if (q === 256n) {
    q = 128n;
    e += 1;
  }
  const biased = e + 127;
  if (biased < 1 || biased > 254) throw new RangeError(`ratioToBf16: ${num}/${den} is outside the normal bf16 range`);
  return (biased << 7) | (Number(q) - 128);
}
