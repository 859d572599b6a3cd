// Fixed integer polynomials and constants (SPEC.md §3). The coefficients are data: fitted once
// offline, rounded to Q15, and never recomputed, so every backend evaluates the same integers.

import { bitlen, divr, isqrt, mulShr, rshr } from './int.ts';

export const LOG2E_Q24 = 24204406;
export const LN2_Q16 = 45426;
export const LOG2_10000_Q16 = 870824;
/** 2^32 / 2π: Q32 turns per radian. */
export const TURN_Q32 = 683565276;

const POW2NEG = [32768, -22711, 7849, -1748, 226];
const LN1P = [32749, -16100, 9431, -4395, 1028];
const SINQ = [51472, -21165, 2603, -142];

/** Horner in Q15; |acc| < 2^16 and x ≤ 2^15 keep every product below 2^31. */
function hornerQ15(c: readonly number[], x: number): number {
  let acc = c[c.length - 1];
  for (let i = c.length - 2; i >= 0; i--) acc = c[i] + rshr(acc * x, 15);
  return acc;
}

/** 2^(−x) for x ∈ [0, 2^15) in Q15, result Q15 in (2^14, 2^15]. */
export function pow2neg(x: number): number {
  return hornerQ15(POW2NEG, x);
}

/** ln(1 + x) for x ∈ [0, 2^15) in Q15, result in Q16. */
export function ln1p(x: number): number {
  return rshr(hornerQ15(LN1P, x) * x, 14);
}

/** sin(πx/2) for x ∈ [0, 2^15] in Q15, result Q15. */
export function sinq(x: number): number {
  const x2 = rshr(x * x, 15);
  return rshr(hornerQ15(SINQ, x2) * x, 15);
}

/** exp(d) for d ≤ 0 in Q16, result Q15; iexp(0) = 32768 exactly. */
export function iexp(d: number): number {
  const a = -d < 4194304 ? -d : 4194304;
  const y = mulShr(a, LOG2E_Q24, 24);
  const k = Math.floor(y / 65536);
  const x = (y & 0xffff) >>> 1;
  return k >= 31 ? 0 : rshr(pow2neg(x), k);
}

/** ln(S / 2^15) in Q16 for a Q15 sum S ≥ 2^15 (S < 2^32; v2 vocabularies: an acc64 S < 2^34). */
export function iln(sum: number): number {
  if (sum >= 4294967296) {
    const n = bitlen(Math.floor(sum / 4294967296)) + 31;
    const f = Math.floor(sum / 2 ** (n - 15));
    return (n - 15) * LN2_Q16 + ln1p(f - 32768);
  }
  const n = bitlen(sum) - 1;
  const f = sum >>> (n - 15);
  return (n - 15) * LN2_Q16 + ln1p(f - 32768);
}

/** 1/√dh in Q16, as attention uses it: divr(2^24, isqrt(dh·2^16)). */
export function invSqrtQ16(dh: number): number {
  return divr(16777216, isqrt(dh * 65536));
}
