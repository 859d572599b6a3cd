// toq8 (SPEC §4.4): q8 = clamp(rshr(y, 8), ±2047). Backward is the identity (no kernel).

struct Params { n: u32, p1: u32, p2: u32, p3: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> y: array<i32>;
@group(0) @binding(2) var<storage, read_write> q8: array<i32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wg.x + wg.y * 32768u) * 256u + lid;
  if (i >= p.n) { return; }
  q8[i] = clamp(rshr(y[i], 8u), -2047, 2047);
}
