// Exact integer primitives of SPEC.md §2 and §2.1, prepended to every kernel that needs them
// (see prelude.ts). WGSL has no 64-bit integers: a 64-bit value is a vec2u (lo, hi), either an
// unsigned magnitude or a two's-complement acc64 (hi read as i32). Everything here is exact for
// every i32 input, wider than the SPEC's bounds require, so the GPU never leaves the integers the
// CPU computes while the SPEC's bounds hold.

const I32_MAX: i32 = 2147483647;
const GRAD_MAX: i32 = 1048575;

fn satG(x: i32) -> i32 { return clamp(x, -GRAD_MAX, GRAD_MAX); }

fn bitlen(u: u32) -> u32 { return 32u - countLeadingZeros(u); }

// |x| as u32; exact for every i32 (abs(−2^31) wraps to −2^31, whose u32 reading is 2^31).
fn mag32(x: i32) -> u32 { return u32(abs(x)); }

// rshr: rounding right shift, half away from zero, s ≤ 31. The magnitude plus half is < 2^32.
fn rshr(x: i32, s: u32) -> i32 {
  if (s == 0u) { return x; }
  let m = (mag32(x) + (1u << (s - 1u))) >> s;
  return select(i32(m), -i32(m), x < 0);
}

// divr(a, b) = ⌊(2a + b) / (2b)⌋ = ⌊a/b⌋ + (2·(a mod b) ≥ b), computed in the second form so it
// is exact for every u32 a and 0 < b ≤ 2^31, not only where the SPEC's 2a + b < 2^32 holds: a
// call site at the edge of its bound cannot wrap. Callers never pass b = 0.
fn divr(a: u32, b: u32) -> u32 {
  let q = a / b;
  let r = a - q * b;
  return q + select(0u, 1u, r >= b - r);
}

// isqrt: ⌊√n⌋ digit by digit, the CPU's loop (the starting bit is lowered first, as there).
fn isqrt(n: u32) -> u32 {
  var rem = n;
  var res = 0u;
  var bit = 1u << 30u;
  while (bit > rem) { bit >>= 2u; }
  while (bit != 0u) {
    if (rem >= res + bit) {
      rem -= res + bit;
      res = (res >> 1u) + bit;
    } else {
      res >>= 1u;
    }
    bit >>= 2u;
  }
  return res;
}

// ---- 64-bit emulation (SPEC §2.1) ----

// Full 64-bit product of two u32 by 16-bit limbs: ah·bh·2^32 + (ah·bl + al·bh)·2^16 + al·bl.
fn mulWide(a: u32, b: u32) -> vec2u {
  let al = a & 0xFFFFu;
  let ah = a >> 16u;
  let bl = b & 0xFFFFu;
  let bh = b >> 16u;
  let ll = al * bl;
  let lh = al * bh;
  let hl = ah * bl;
  let hh = ah * bh;
  let mid = lh + hl;                                   // may carry past 2^32: that carry is 2^48
  let midCarry = select(0u, 0x10000u, mid < lh);
  let lo = ll + (mid << 16u);
  let loCarry = select(0u, 1u, lo < ll);
  return vec2u(lo, hh + (mid >> 16u) + midCarry + loCarry);
}

fn add64(a: vec2u, b: vec2u) -> vec2u {
  let lo = a.x + b.x;
  return vec2u(lo, a.y + b.y + select(0u, 1u, lo < a.x));
}

fn neg64(a: vec2u) -> vec2u { return add64(~a, vec2u(1u, 0u)); }

fn isNeg64(a: vec2u) -> bool { return (a.y >> 31u) != 0u; }

// acc64 += t for an i32 t (sign-extended add).
fn addI32To64(acc: vec2u, t: i32) -> vec2u {
  return add64(acc, vec2u(u32(t), select(0u, 0xFFFFFFFFu, t < 0)));
}

// Exact signed product as a two's-complement acc64.
fn mulI64(a: i32, b: i32) -> vec2u {
  let m = mulWide(mag32(a), mag32(b));
  return select(m, neg64(m), (a < 0) != (b < 0));
}

// Logical right shift of a 64-bit magnitude, s ≤ 63.
fn shr64(a: vec2u, s: u32) -> vec2u {
  if (s == 0u) { return a; }
  if (s < 32u) { return vec2u((a.x >> s) | (a.y << (32u - s)), a.y >> s); }
  return vec2u(a.y >> (s - 32u), 0u);
}

// ⌊(m + 2^(s−1)) / 2^s⌋ for a magnitude m < 2^63, s ≤ 63.
fn roundShr64(m: vec2u, s: u32) -> vec2u {
  if (s == 0u) { return m; }
  var half = vec2u(0u, 0u);
  if (s <= 32u) { half.x = 1u << (s - 1u); } else { half.y = 1u << (s - 33u); }
  return shr64(add64(m, half), s);
}

// sat32 of a sign and a 64-bit magnitude: ±(2^31 − 1) at most (symmetric, SPEC §2).
fn sat32Mag(neg: bool, m: vec2u) -> i32 {
  var v = I32_MAX;
  if (m.y == 0u && m.x <= 0x7FFFFFFFu) { v = i32(m.x); }
  return select(v, -v, neg);
}

// narrow(x64, s) = sat32(roundHalfAway(x / 2^s)) for a two's-complement acc64.
fn narrow64(x: vec2u, s: u32) -> i32 {
  let neg = isNeg64(x);
  return sat32Mag(neg, roundShr64(select(x, neg64(x), neg), s));
}

// mulShr(a, b, s) = sat32(roundHalfAway(a·b / 2^s)) on the exact product.
fn mulShr(a: i32, b: i32, s: u32) -> i32 {
  return sat32Mag((a < 0) != (b < 0), roundShr64(mulWide(mag32(a), mag32(b)), s));
}

// SPEC v2 mulDivRound on an acc64: sat32(sign(x)·⌊(2|x| + d)/(2d)⌋) for 0 < d ≤ 2^20, |x| < 2^62.
// The u64 numerator is divided by 2d (≤ 2^21) a byte at a time from the top: the running
// remainder stays below 2d, so remainder·256 + byte < 2^29 (u32 division, exact).
fn divRound64(x: vec2u, d: u32) -> i32 {
  let neg = isNeg64(x);
  let m = select(x, neg64(x), neg);
  let num = add64(add64(m, m), vec2u(d, 0u));
  let den = 2u * d;
  var rem = 0u;
  var q = vec2u(0u, 0u);
  for (var i = 0u; i < 8u; i++) {
    let word = select(num.x, num.y, i < 4u);
    let byte = (word >> ((3u - (i % 4u)) * 8u)) & 0xFFu;
    let cur = rem * 256u + byte;
    let qb = cur / den;
    rem = cur - qb * den;
    if (i < 4u) { q.y = (q.y << 8u) | qb; } else { q.x = (q.x << 8u) | qb; }
  }
  return sat32Mag(neg, q);
}
