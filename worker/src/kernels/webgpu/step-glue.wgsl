// The joins of the model (SPEC §5) that sit between ops, for the whole-step WebGPU trainer:
//   addClamp:  a[i] = clamp(a[i] + b[i], ±bound)   exact sum, then clamp (residual ±2^30, gradient joins ±G)
//   clampIn:   a[i] = clamp(a[i], ±bound)          (satG of an op's output)
//   accAdd:    acc[i] += b[i]                       acc64 pair, exact (§2.1)
//   accSatG:   out[i] = satG(acc[i])                the "sum over consumers, clamped once" of §5
// The sums go through the 64-bit emulation, so they are exact for every i32 operand: clamping
// the sat32 of an exact sum to a narrower bound equals clamping the exact sum.

struct Params { n: u32, bound: i32, p2: u32, p3: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> a: array<i32>;
@group(0) @binding(2) var<storage, read> b: array<i32>;
@group(0) @binding(3) var<storage, read_write> acc: array<vec2u>;
@group(0) @binding(4) var<storage, read_write> out: array<i32>;

fn index(wg: vec3u, lid: u32) -> u32 { return (wg.x + wg.y * 32768u) * 256u + lid; }

fn ext64(x: i32) -> vec2u { return vec2u(u32(x), select(0u, 0xFFFFFFFFu, x < 0)); }

@compute @workgroup_size(256)
fn addClamp(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = index(wg, lid);
  if (i >= p.n) { return; }
  a[i] = clamp(narrow64(addI32To64(ext64(a[i]), b[i]), 0u), -p.bound, p.bound);
}

@compute @workgroup_size(256)
fn clampIn(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = index(wg, lid);
  if (i >= p.n) { return; }
  a[i] = clamp(a[i], -p.bound, p.bound);
}

@compute @workgroup_size(256)
fn accAdd(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = index(wg, lid);
  if (i >= p.n) { return; }
  acc[i] = addI32To64(acc[i], b[i]);
}

@compute @workgroup_size(256)
fn accSatG(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = index(wg, lid);
  if (i >= p.n) { return; }
  out[i] = satG(narrow64(acc[i], 0u));
}
