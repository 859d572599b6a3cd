// y[i] = a[i] + b[i] over i32. WGSL integer addition wraps on overflow, like the CPU's `(a + b) | 0`;
// callers keep operands inside the SPEC's bounds so wrapping never happens in practice.

struct Params { n: u32, p1: u32, p2: u32, p3: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<i32>;
@group(0) @binding(2) var<storage, read> b: array<i32>;
@group(0) @binding(3) var<storage, read_write> y: array<i32>;

const GRID_X: u32 = 32768u;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wg.x + wg.y * GRID_X) * 256u + lid;
  if (i >= p.n) { return; }
  y[i] = a[i] + b[i];
}
