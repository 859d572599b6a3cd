// bf16 → fixed point, exactly (SPEC.md §1.1, v2). A checkpoint's bf16 values (norm gains, the tied
// embedding / LM head, per-tensor weight scales) enter the integer model only through these rules:
// no float is ever formed. A bf16 value is its raw 16 bits (sign, 8-bit exponent e, 7-bit
// fraction f): |x| = (128 + f)·2^(e−134) for e ≥ 1, f·2^(−133) for e = 0; e = 255 (inf/NaN) is
// refused.

import { rshr } from './int.ts';

/** |x| = m·2^e with m an integer in [0, 255]; throws on inf/NaN naming `what`. */
export function bf16Parts(bits: number, what: string): { neg: boolean; m: number; e: number } {
  const exp = (bits >>> 7) & 0xff;
  const frac = bits & 0x7f;
  if (exp === 0xff) throw new RangeError(`${what}: bf16 value 0x${bits.toString(16).padStart(4, '0')} is ${frac ? 'NaN' : 'infinite'}`);
  const neg = (bits & 0x8000) !== 0;
  return exp === 0 ? { neg, m: frac, e: -133 } : { neg, m: 128 + frac, e: exp - 134 };
}

/** roundHalfAway(m·2^sh) for 0 ≤ m < 2^8: exact left shift or rounding right shift. */
function scaleMant(m: number, sh: number): number {
  if (sh >= 0) return m * 2 ** sh;
  if (sh < -9) return 0; // m < 2^8 ≤ 2^(−sh−1): rounds to 0
  return rshr(m, -sh);
}

/**
 * A bf16 tensor as integers sharing one exponent (a "block", SPEC §1.1): real = q / 2^shift,
 * |q| < 2^bits, and the largest magnitude lands in [2^(bits−1), 2^bits) exactly. shift =
 * bits − 1 − ⌊log2 max|x|⌋; each q = sign·roundHalfAway(m·2^(e+shift)). All-zero → shift 0.
 */
export interface Bf16Block {
  readonly q: Int32Array;
  readonly shift: number;
}

export function bf16Block(values: Uint16Array, bits: number, what: string): Bf16Block {
  const parts = Array.from(values, (b) => bf16Parts(b, what));
  let top = -Infinity; // ⌊log2 max|x|⌋
  for (const p of parts) if (p.m !== 0) top = Math.max(top, 31 - Math.clz32(p.m) + p.e);
  const q = new Int32Array(values.length);
  if (top === -Infinity) return { q, shift: 0 };
  const shift = bits - 1 - top;
  parts.forEach((p, i) => {
    const v = scaleMant(p.m, p.e + shift);
    q[i] = p.neg ? -v : v;
  });
  return { q, shift };
}

/** A positive bf16 scale in Q16: roundHalfAway(x·2^16); throws unless 0 < result ≤ maxQ16. */
export function bf16ToQ16(bits: number, maxQ16: number, what: string): number {
  const p = bf16Parts(bits, what);
  if (p.neg && p.m !== 0) throw new RangeError(`${what}: scale must be positive, got a negative bf16 0x${bits.toString(16)}`);
  const sh = p.e + 16;
  if (sh > 40) throw new RangeError(`${what}: bf16 scale 0x${bits.toString(16)} exceeds ${maxQ16}/2^16`);
  const v = scaleMant(p.m, sh);
  if (v <= 0 || v > maxQ16) throw new RangeError(`${what}: bf16 scale 0x${bits.toString(16)} gives ${v} in Q16, outside (0, ${maxQ16}]`);
  return v;
}

/**
 * The bf16 nearest to a positive integer n·2^(−16) (round half to even on the 8-bit mantissa, as
 * a float→bf16 conversion does): used only to generate v2 backbones from a seed (SPEC §7).
 */
export function q16ToBf16(n: number): number {
  if (!Number.isInteger(n) || n <= 0 || n >= 2 ** 31) throw new RangeError(`q16ToBf16: ${n} out of range`);
  let top = 31 - Math.clz32(n); // n in [2^top, 2^(top+1))
  let m: number;
  if (top <= 7) m = n * 2 ** (7 - top);
  else {
    const sh = top - 7;
    const base = Math.floor(n / 2 ** sh);
    const rem = n - base * 2 ** sh;
    const half = 2 ** (sh - 1);
    m = rem > half || (rem === half && (base & 1) === 1) ? base + 1 : base;
    if (m === 256) {
      m = 128;
      top += 1;
    }
  }
  const exp = top - 16 + 127; // value = m·2^(top−7−16) = (m/128)·2^(top−16)
  return (exp << 7) | (m - 128);
}
