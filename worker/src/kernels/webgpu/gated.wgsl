// Gated FFN product (SPEC v2 §4.12), a = relu2(gate) and u = up (Q16):
//   forward:  m = mulShr(a, u, 16)                       (exact 64-bit product, sat32)
//   backward: da = satG(mulShr(dm, u, 16)), du = satG(mulShr(dm, a, 16))

struct Params { n: u32, p1: u32, p2: u32, p3: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<i32>;
@group(0) @binding(2) var<storage, read> u: array<i32>;
@group(0) @binding(3) var<storage, read_write> m: array<i32>;
@group(0) @binding(4) var<storage, read> dm: array<i32>;
@group(0) @binding(5) var<storage, read_write> da: array<i32>;
@group(0) @binding(6) var<storage, read_write> du: array<i32>;

@compute @workgroup_size(256)
fn forward(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wg.x + wg.y * 32768u) * 256u + lid;
  if (i >= p.n) { return; }
  m[i] = mulShr(a[i], u[i], 16u);
}

@compute @workgroup_size(256)
fn backward(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wg.x + wg.y * 32768u) * 256u + lid;
  if (i >= p.n) { return; }
  da[i] = satG(mulShr(dm[i], u[i], 16u));
  du[i] = satG(mulShr(dm[i], a[i], 16u));
}
