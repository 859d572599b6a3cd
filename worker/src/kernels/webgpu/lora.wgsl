// LoRA forward (SPEC §4.3), rank-r adapter beside a ternlin on the same x8, sx:
//   narrow:  A12 = clamp(rshr(A, 4), ±2^12), B10 = clamp(rshr(B, 6), ±2^10)   (shift, bound params)
//   u:       u[t,j] = clamp(mulShr(Σ_k A12[j,k]·x8[t,k], sx_t, 28), ±2^12)      (i32 Σ < 2^30, K ≤ 1024)
//   y:       y[t,n] += rshr(Σ_j B10[n,j]·u[t,j], 2)                            (i32 Σ ≤ 2^22·r)
// The += wraps like the CPU's Int32Array store. x8 is packed int8 rows (stride xWords words).
// SPEC v2 alpha ≠ r: y[t,n] += mulDivRound(Σ_j B10·u, alpha, 4r) (the exact product S·alpha, acc64).

struct Params { t: u32, n: u32, k: u32, r: u32, xWords: u32, shift: u32, bound: i32, count: u32, alpha: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<i32>;
@group(0) @binding(2) var<storage, read_write> dst: array<i32>;
@group(0) @binding(3) var<storage, read> a12: array<i32>;
@group(0) @binding(4) var<storage, read> x8: array<u32>;
@group(0) @binding(5) var<storage, read> sx: array<i32>;
@group(0) @binding(6) var<storage, read_write> u: array<i32>;
@group(0) @binding(7) var<storage, read> b10: array<i32>;
@group(0) @binding(8) var<storage, read_write> y: array<i32>;

const GRID_X: u32 = 32768u;

fn linear(wg: vec3u, lid: u32) -> u32 { return (wg.x + wg.y * GRID_X) * 64u + lid; }

// Lane `lane` of a packed int8 word, sign-extended.
fn lane8(word: u32, lane: u32) -> i32 { return extractBits(bitcast<i32>(word), lane * 8u, 8u); }

@compute @workgroup_size(64)
fn narrowCopy(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = linear(wg, lid);
  if (i >= p.count) { return; }
  dst[i] = clamp(rshr(src[i], p.shift), -p.bound, p.bound);
}

@compute @workgroup_size(64)
fn down(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = linear(wg, lid);
  if (i >= p.t * p.r) { return; }
  let t = i / p.r;
  let j = i - t * p.r;
  var acc = 0;
  for (var w = 0u; w < p.xWords; w++) {
    let word = x8[t * p.xWords + w];
    if (word == 0u) { continue; }
    for (var lane = 0u; lane < 4u; lane++) {
      let k = w * 4u + lane;
      if (k < p.k) { acc += a12[j * p.k + k] * lane8(word, lane); }
    }
  }
  u[i] = clamp(mulShr(acc, sx[t], 28u), -4096, 4096);
}

@compute @workgroup_size(64)
fn up(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = linear(wg, lid);
  if (i >= p.t * p.n) { return; }
  let t = i / p.n;
  let n = i - t * p.n;
  var acc = 0;
  for (var j = 0u; j < p.r; j++) { acc += b10[n * p.r + j] * u[t * p.r + j]; }
  if (p.alpha == p.r) {
    y[i] += rshr(acc, 2u);
  } else {
    y[i] += divRound64(mulI64(acc, i32(p.alpha)), 4u * p.r);
  }
}
