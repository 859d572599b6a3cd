// relu2 (SPEC §4.7), squared ReLU in Q16 with the input capped at 2^24:
//   forward:  a = min(max(f, 0), 2^24); y = mulShr(a, a, 16)          (a² < 2^49: 64-bit product)
//   backward: df = (0 < f < 2^24) ? satG(mulShr(dy, f, 15)) : 0

struct Params { n: u32, p1: u32, p2: u32, p3: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> f: array<i32>;
@group(0) @binding(2) var<storage, read_write> y: array<i32>;
@group(0) @binding(3) var<storage, read> dy: array<i32>;
@group(0) @binding(4) var<storage, read_write> df: array<i32>;

const CAP: i32 = 16777216;

@compute @workgroup_size(256)
fn forward(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wg.x + wg.y * 32768u) * 256u + lid;
  if (i >= p.n) { return; }
  let a = clamp(f[i], 0, CAP);
  y[i] = mulShr(a, a, 16u);
}

@compute @workgroup_size(256)
fn backward(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wg.x + wg.y * 32768u) * 256u + lid;
  if (i >= p.n) { return; }
  let a = f[i];
  df[i] = select(0, satG(mulShr(dy[i], a, 15u)), a > 0 && a < CAP);
}
