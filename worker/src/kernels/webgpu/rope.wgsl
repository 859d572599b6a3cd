// RoPE (SPEC §4.5) from integer angle tables (needs int.wgsl + poly.wgsl).
//   table:    f_i = narrow(TURN_Q32 · pow2neg((e_i & 0xFFFF) >> 1), 15 + (e_i >> 16)),
//             e_i = divr(2i·LOG2_10000_Q16, dh); φ = t·f_i mod 2^32 (u32 wrapping multiply);
//             (sin, cos) from the quadrant of φ and sinq, each rshr(·, 1) → Q14.  [T, dh/2]
//   apply:    a' = clamp(rshr(a·c − b·s, 14), ±2047), b' = clamp(rshr(a·s + b·c, 14), ±2047)
//             (|a·c ± b·s| < 2^26: i32)
//   backward: ga = satG(narrow(ga'·c + gb'·s, 14)), gb = satG(narrow(gb'·c − ga'·s, 14))
//             (gradients up to 2^31 × Q14: exact 64-bit sums)
// Pairs are adjacent elements (2i, 2i+1) within each head; x is [T, H·dh] row-major. SPEC v2:
// `table` takes log2(θ) in Q16 as p3 (0: θ = 10000), and apply/backward take the layout as p3
// (0: adjacent; 1: rotate_half, pairs (i, i + dh/2)).

struct Params { t: u32, h: u32, dh: u32, p3: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> cosT: array<i32>;
@group(0) @binding(2) var<storage, read_write> sinT: array<i32>;
@group(0) @binding(3) var<storage, read> x: array<i32>;
@group(0) @binding(4) var<storage, read_write> y: array<i32>;

const GRID_X: u32 = 32768u;

fn ropeFrequency(i: u32, dh: u32) -> u32 {
  let lg = select(LOG2_10000_Q16, p.p3, p.p3 != 0u);
  let e = divr(2u * i * lg, dh);
  let k = e >> 16u;
  // TURN_Q32 · pow2neg(·) < 2^45; narrow to f_i < 2^30.
  return u32(narrow64(mulI64(TURN_Q32, pow2neg(i32((e & 0xFFFFu) >> 1u))), 15u + k));
}

@compute @workgroup_size(256)
fn table(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let idx = (wg.x + wg.y * GRID_X) * 256u + lid;
  let half = p.dh / 2u;
  if (idx >= p.t * half) { return; }
  let t = idx / half;
  let i = idx - t * half;
  let phi = t * ropeFrequency(i, p.dh);
  let qd = phi >> 30u;
  let xq = i32((phi & 0x3FFFFFFFu) >> 15u);
  let s0 = sinq(xq);
  let c0 = sinq(32768 - xq);
  var s = s0;
  var c = c0;
  switch qd {
    case 1u: { s = c0; c = -s0; }
    case 2u: { s = -s0; c = -c0; }
    case 3u: { s = -c0; c = s0; }
    default: {}
  }
  sinT[idx] = rshr(s, 1u);
  cosT[idx] = rshr(c, 1u);
}

// One invocation per pair (t, h, i).
fn pairIndex(wg: vec3u, lid: u32, tab: ptr<function, u32>) -> u32 {
  let idx = (wg.x + wg.y * GRID_X) * 256u + lid;
  let half = p.dh / 2u;
  let perRow = p.h * half;
  let t = idx / perRow;
  let rem = idx - t * perRow;
  let h = rem / half;
  let i = rem - h * half;
  *tab = t * half + i;
  return t * p.h * p.dh + h * p.dh + select(2u * i, i, p.p3 == 1u);
}

@compute @workgroup_size(256)
fn apply(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  if ((wg.x + wg.y * GRID_X) * 256u + lid >= p.t * p.h * (p.dh / 2u)) { return; }
  var tab = 0u;
  let o = pairIndex(wg, lid, &tab);
  let c = cosT[tab];
  let s = sinT[tab];
  let ob = o + select(1u, p.dh / 2u, p.p3 == 1u);
  let a = x[o];
  let b = x[ob];
  y[o] = clamp(rshr(a * c - b * s, 14u), -2047, 2047);
  y[ob] = clamp(rshr(a * s + b * c, 14u), -2047, 2047);
}

@compute @workgroup_size(256)
fn backward(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  if ((wg.x + wg.y * GRID_X) * 256u + lid >= p.t * p.h * (p.dh / 2u)) { return; }
  var tab = 0u;
  let o = pairIndex(wg, lid, &tab);
  let c = cosT[tab];
  let s = sinT[tab];
  let ob = o + select(1u, p.dh / 2u, p.p3 == 1u);
  let ga = x[o];
  let gb = x[ob];
  y[o] = satG(narrow64(add64(mulI64(ga, c), mulI64(gb, s)), 14u));
  y[ob] = satG(narrow64(add64(mulI64(gb, c), neg64(mulI64(ga, s))), 14u));
}
