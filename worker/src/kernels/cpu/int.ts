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

/**
 * How often each clamp of the spec fired since the last reset: test instrumentation only (tests
 * assert that a whole-step vector exercises the clamps and the gradient joins, SPEC §9). Counting
 * never changes a value.
 */
export const fired = { satG: 0, join: 0, residual: 0, toq8: 0, loraU: 0 };
export function resetFired(): void {
  fired.satG = fired.join = fired.residual = fired.toq8 = fired.loraU = 0;
}

/** Clamp a gradient to ±(2^20−1). */
export function satG(x: number): number {
  if (x > GRAD_MAX) {
    fired.satG++;
    return GRAD_MAX;
  }
  if (x < -GRAD_MAX) {
    fired.satG++;
    return -GRAD_MAX;
  }
  return x;
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

// ---- SPEC v2 (§2.2): exact products and divisions beyond 2^53 ----
// v2 models (d_model ≤ 8192, d_ff ≤ 32768, gains, alpha) have call sites whose exact product can
// pass 2^53. The definition does not change — round half away of the exact value — only how the
// CPU reaches it: a JS number while the product is provably below 2^53, BigInt otherwise. On v1
// configs every call site stays in the fast path, so v1 integers are unchanged.

const TWO53 = 9007199254740992;

function sat32Big(q: bigint): number {
  return q > 2147483647n ? I32_MAX : q < -2147483647n ? -I32_MAX : Number(q);
}

/** sat32(roundHalfAway(a·b / 2^s)) for exact integers a, b (any size product). */
export function mulShrWide(a: number, b: number, s: number): number {
  const p = a * b;
  if (p < TWO53 && p > -TWO53) return narrow(p, s);
  return sat32Big(roundShiftBig(BigInt(a) * BigInt(b), s));
}

/** roundHalfAway(x / 2^s) on a BigInt. */
export function roundShiftBig(x: bigint, s: number): bigint {
  if (s === 0) return x;
  const sh = BigInt(s);
  const half = 1n << (sh - 1n);
  return x >= 0n ? (x + half) >> sh : -((-x + half) >> sh);
}

/** sat32(roundHalfAway(x·m / d)) for exact integers x, m and d > 0 (v2: LoRA alpha scaling). */
export function mulDivRound(x: number, m: number, d: number): number {
  const p = x * m;
  if (p < TWO53 / 4 && p > -TWO53 / 4 && d < TWO53 / 4) {
    const q = Math.floor((2 * Math.abs(p) + d) / (2 * d));
    return sat32(p < 0 ? -q : q);
  }
  const P = BigInt(x) * BigInt(m);
  const D = BigInt(d);
  const mag = (2n * (P < 0n ? -P : P) + D) / (2n * D);
  return sat32Big(P < 0n ? -mag : mag);
}

/** divr on exact integers (a ≥ 0, b > 0) without the u32 limit: ⌊(2a + b) / (2b)⌋, 2a + b < 2^53. */
export function divrWide(a: number, b: number): number {
  return Math.floor((2 * a + b) / (2 * b));
}

/** x·2^e (e ≥ 0, saturated to ±(2^31−1)) or rshr(x, −e) (e < 0): a signed rounding shift. */
export function shiftRound(x: number, e: number): number {
  if (e >= 0) return sat32(x * POW2[e]);
  return narrow(x, -e);
}
