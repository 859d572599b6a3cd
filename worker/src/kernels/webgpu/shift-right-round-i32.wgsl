// y[i] = x[i] / 2^shift, rounded by `mode`, for i32 x and shift in [0, 31]:
//   0 floor              (plain arithmetic shift)
//   1 half up            ties toward +∞:   floor(x / 2^s + 1/2)
//   2 half away from 0   ties away from 0
//   3 half to even       ties to the even quotient
// Computed as floor quotient + remainder test, never as x + 2^(s−1), so no input overflows:
// exact for every i32.

struct Params { n: u32, shift: u32, mode: u32, pad: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<i32>;
@group(0) @binding(2) var<storage, read_write> y: array<i32>;

const GRID_X: u32 = 32768u;

fn shr_round(v: i32, s: u32, mode: u32) -> i32 {
  if (s == 0u) { return v; }
  let q = v >> s;                          // arithmetic: floor(v / 2^s)
  let r = bitcast<u32>(v) & ((1u << s) - 1u); // v − q·2^s, in [0, 2^s)
  let half = 1u << (s - 1u);
  var up = false;
  switch mode {
    case 1u: { up = r >= half; }
    case 2u: { up = r > half || (r == half && v >= 0); }
    case 3u: { up = r > half || (r == half && (q & 1) == 1); }
    default: { up = false; }
  }
  // q ≤ (2^31 − 1) >> 1 when s ≥ 1, so q + 1 cannot overflow.
  return q + select(0, 1, up);
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wg.x + wg.y * GRID_X) * 256u + lid;
  if (i >= p.n) { return; }
  y[i] = shr_round(x[i], p.shift, p.mode);
}
