// signum (SPEC §4.9), in place per element:
//   g = clamp(narrow(G64, shift), ±(2^30 − 1)); m ← m + rshr(g − m, 3); p ← clamp(p − lr·sign(m), ±2^16)
// G64 arrives as acc64 pairs (lo, hi). |g|, |m| ≤ 2^30 − 1 keep g − m inside i32.

struct Params { n: u32, shift: u32, lr: i32, p3: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> param: array<i32>;
@group(0) @binding(2) var<storage, read_write> momentum: array<i32>;
@group(0) @binding(3) var<storage, read> grad64: array<vec2u>;

const G_OPT: i32 = 1073741823;
const P_MAX: i32 = 65536;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wg.x + wg.y * 32768u) * 256u + lid;
  if (i >= p.n) { return; }
  let g = clamp(narrow64(grad64[i], p.shift), -G_OPT, G_OPT);
  let m = momentum[i] + rshr(g - momentum[i], 3u);
  momentum[i] = m;
  param[i] = clamp(param[i] - p.lr * sign(m), -P_MAX, P_MAX);
}
