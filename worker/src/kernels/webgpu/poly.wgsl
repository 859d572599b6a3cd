// Fixed integer polynomials and constants of SPEC.md §3 (needs int.wgsl before it). Horner in
// Q15 unrolled with the coefficients inline: every product is < 2^31 as the SPEC states.

const LOG2E_Q24: i32 = 24204406;
const LN2_Q16: i32 = 45426;
const LOG2_10000_Q16: u32 = 870824u;
const TURN_Q32: i32 = 683565276;

// 2^(−x), x ∈ [0, 2^15) Q15 → Q15.
fn pow2neg(x: i32) -> i32 {
  var acc = 226;
  acc = -1748 + rshr(acc * x, 15u);
  acc = 7849 + rshr(acc * x, 15u);
  acc = -22711 + rshr(acc * x, 15u);
  acc = 32768 + rshr(acc * x, 15u);
  return acc;
}

// ln(1 + x), x ∈ [0, 2^15) Q15 → Q16.
fn ln1p(x: i32) -> i32 {
  var acc = 1028;
  acc = -4395 + rshr(acc * x, 15u);
  acc = 9431 + rshr(acc * x, 15u);
  acc = -16100 + rshr(acc * x, 15u);
  acc = 32749 + rshr(acc * x, 15u);
  return rshr(acc * x, 14u);
}

// sin(πx/2), x ∈ [0, 2^15] Q15 → Q15.
fn sinq(x: i32) -> i32 {
  let x2 = rshr(x * x, 15u);
  var acc = -142;
  acc = 2603 + rshr(acc * x2, 15u);
  acc = -21165 + rshr(acc * x2, 15u);
  acc = 51472 + rshr(acc * x2, 15u);
  return rshr(acc * x, 15u);
}

// iexp(−a): exp of a non-positive Q16 number given as its magnitude a = −d ≥ 0 (u32). Taking
// the magnitude as u32 lets callers pass `mx − y` for any two i32 logits: the difference fits a
// u32 exactly where an i32 subtraction could wrap (the CPU computes it in exact doubles).
fn iexpNeg(aIn: u32) -> i32 {
  let a = i32(min(aIn, 4194304u));
  let y = mulShr(a, LOG2E_Q24, 24u);
  let k = u32(y) >> 16u;
  let x = (y & 0xFFFF) >> 1u;
  if (k >= 31u) { return 0; }
  return rshr(pow2neg(x), k);
}

// ln(S / 2^15) in Q16 for a Q15 sum 2^15 ≤ S < 2^31.
fn iln(sum: u32) -> i32 {
  let n = bitlen(sum) - 1u;
  let f = sum >> (n - 15u);
  return i32(n - 15u) * LN2_Q16 + ln1p(i32(f) - 32768);
}

// 1/√dh in Q16: divr(2^24, isqrt(dh·2^16)).
fn invSqrtQ16(dh: u32) -> i32 { return i32(divr(16777216u, isqrt(dh * 65536u))); }
