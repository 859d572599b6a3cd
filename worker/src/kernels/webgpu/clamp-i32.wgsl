// y[i] = min(max(x[i], lo), hi) over i32, lo ≤ hi (checked on the host).

struct Params { n: u32, lo: i32, hi: i32, pad: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<i32>;
@group(0) @binding(2) var<storage, read_write> y: array<i32>;

const GRID_X: u32 = 32768u;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wg.x + wg.y * GRID_X) * 256u + lid;
  if (i >= p.n) { return; }
  y[i] = min(max(x[i], p.lo), p.hi);
}
