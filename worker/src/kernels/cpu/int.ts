// Exact integer primitives shared by every CPU kernel (SPEC.md §2).
//
// JS numbers are exact integers below 2^53, so a product or sum that the spec bounds below 2^52
// is computed directly; the WGSL port reaches the same integers with the 64-bit emulation of
// SPEC §2.1. No value here is ever fractional: divisions by 2^s are followed by floor on an
// exactly representable quotient.

export const I32_MAX = 2147483647;
/** Gradient clamp G = 2^20 − 1 (SPEC §1). */
export const GRAD_MAX = 1048575;

const POW2: number[] = Array.from({ length: 64 }, (_, i) => 2 ** i);

/** Clamp to the symmetric int32 range [−(2^31−1), 2^31−1]. */
export function sat32(x: number): number {
  return x > I32_MAX ? I32_MAX : x < -I32_MAX ? -I32_MAX : x;
}

/** Clamp a gradient to ±(2^20−1). */
export function satG(x: number): number {
  return x > GRAD_MAX ? GRAD_MAX : x < -GRAD_MAX ? -GRAD_MAX : x;
}

export function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

/** Number of significant bits of a non-negative integer < 2^32 (0 for 0). */
export function bitlen(u: number): number {
  return u === 0 ? 0 : 32 - Math.clz32(u);
}

/** Rounding right shift, half away from zero, on an int32 (|x| ≤ 2^31−1, s ≤ 31). */
export function rshr(x: number, s: number): number {
  if (s === 0) return x;
  if (x >= 0) return (x + POW2[s - 1]) / POW2[s] >>> 0;
  return -((-x + POW2[s - 1]) / POW2[s] >>> 0);
}

/**
 * round-half-away(x / 2^s), saturated to int32, for an exact integer |x| < 2^52 (an acc64 or an
 * exact product). The quotient (|x| + 2^(s−1)) / 2^s is exact in binary, so floor is exact.
 */
export function narrow(x: number, s: number): number {
  if (s === 0) return sat32(x);
  const half = POW2[s - 1];
  const q = x >= 0 ? Math.floor((x + half) / POW2[s]) : -Math.floor((-x + half) / POW2[s]);
  return sat32(q);
}

/** mulShr(a, b, s) = sat32(roundHalfAway(a·b / 2^s)); call sites bound |a·b| < 2^52. */
export function mulShr(a: number, b: number, s: number): number {
  return narrow(a * b, s);
}

/** divr(a, b) = ⌊(2a + b) / (2b)⌋ for a ≥ 0, b > 0, 2a + b < 2^32: a/b rounded half up. */
export function divr(a: number, b: number): number {
  return Math.floor((2 * a + b) / (2 * b));
}

/** ⌊√n⌋ for a u32 n, digit by digit (the same loop a WGSL port runs on u32). */
export function isqrt(n: number): number {
  let rem = n >>> 0;
  let res = 0;
  let bit = 1 << 30;
  while (bit > rem) bit = bit >>> 2;
  while (bit !== 0) {
    if (rem >= res + bit) {
      rem = rem - (res + bit);
      res = (res >>> 1) + bit;
    } else {
      res = res >>> 1;
    }
    bit = bit >>> 2;
  }
  return res;
}
