// ternlin (SPEC §4.2): frozen ternary W [N,K] × int8 x8 [T,K] with per-token dequantization.
//   forward:  acc[t,n] = Σ_k W[n,k]·x8[t,k] (i32, |acc| ≤ 127K < 2^19)
//             c_t = mulShr(sx_t, γ, 16) (Q24); y[t,n] = mulShr(acc, c_t, 8)   (Q16; |acc·c| ≤ 2^42)
//   backward: dx[t,k] = mulShr(Σ_n W[n,k]·dy[t,n], γ, 16)   (i32 sum: |dy| ≤ G, N ≤ 2048)
// Layouts: x8 packed int8 rows (stride k16 vec4 words), W packed ternary rows (2-bit codes
// 00 = 0, 01 = +1, 10 = −1, stride k16 words); sx, dy, y, dx plain i32 row-major.

struct Params { t: u32, n: u32, k16: u32, gamma: i32, k: u32, p1: u32, p2: u32, p3: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> w: array<u32>;
// vec4u: one ternary word's 16 columns are one 16-byte load per activation row.
@group(0) @binding(2) var<storage, read> x8: array<vec4u>;
@group(0) @binding(3) var<storage, read> sx: array<i32>;
@group(0) @binding(4) var<storage, read_write> y: array<i32>;
@group(0) @binding(5) var<storage, read> dy: array<i32>;
@group(0) @binding(6) var<storage, read_write> dx: array<i32>;

// Byte b of a ternary word (four 2-bit codes) → four int8 lanes; see matmul-ternary-int8.wgsl.
fn widen(b: u32) -> u32 {
  let plus = ((b & 0x55u) * 0x41041u) & 0x01010101u;
  let minus = (((b >> 1u) & 0x55u) * 0x41041u) & 0x01010101u;
  return plus | (minus * 0xFFu);
}

// 4×4 dot4 products for byte `sh` of the weight words (see matmul-ternary-int8.wgsl).
fn block(a0: u32, a1: u32, a2: u32, a3: u32, w0: u32, w1: u32, w2: u32, w3: u32, sh: u32,
         acc1: ptr<function, vec4i>, acc2: ptr<function, vec4i>, acc3: ptr<function, vec4i>) -> vec4i {
  let x0 = widen((w0 >> sh) & 0xFFu);
  let x1 = widen((w1 >> sh) & 0xFFu);
  let x2 = widen((w2 >> sh) & 0xFFu);
  let x3 = widen((w3 >> sh) & 0xFFu);
  *acc1 += vec4i(dot4I8Packed(a1, x0), dot4I8Packed(a1, x1), dot4I8Packed(a1, x2), dot4I8Packed(a1, x3));
  *acc2 += vec4i(dot4I8Packed(a2, x0), dot4I8Packed(a2, x1), dot4I8Packed(a2, x2), dot4I8Packed(a2, x3));
  *acc3 += vec4i(dot4I8Packed(a3, x0), dot4I8Packed(a3, x1), dot4I8Packed(a3, x2), dot4I8Packed(a3, x3));
  return vec4i(dot4I8Packed(a0, x0), dot4I8Packed(a0, x1), dot4I8Packed(a0, x2), dot4I8Packed(a0, x3));
}

fn storeY(row: u32, col0: u32, acc: vec4i) {
  if (row >= p.t) { return; }
  let c = mulShr(sx[row], p.gamma, 16u);
  let base = row * p.n + col0;
  y[base] = mulShr(acc.x, c, 8u);
  if (col0 + 1u < p.n) { y[base + 1u] = mulShr(acc.y, c, 8u); }
  if (col0 + 2u < p.n) { y[base + 2u] = mulShr(acc.z, c, 8u); }
  if (col0 + 3u < p.n) { y[base + 3u] = mulShr(acc.w, c, 8u); }
}

// 4×4 block of y per invocation, 32×32 per 8×8 workgroup (as matmul-ternary-int8.wgsl).
@compute @workgroup_size(8, 8)
fn forward(@builtin(global_invocation_id) gid: vec3u) {
  let col0 = gid.x * 4u;
  let row0 = gid.y * 4u;
  if (row0 >= p.t || col0 >= p.n) { return; }
  let ra0 = min(row0, p.t - 1u) * p.k16;
  let ra1 = min(row0 + 1u, p.t - 1u) * p.k16;
  let ra2 = min(row0 + 2u, p.t - 1u) * p.k16;
  let ra3 = min(row0 + 3u, p.t - 1u) * p.k16;
  let rw0 = min(col0, p.n - 1u) * p.k16;
  let rw1 = min(col0 + 1u, p.n - 1u) * p.k16;
  let rw2 = min(col0 + 2u, p.n - 1u) * p.k16;
  let rw3 = min(col0 + 3u, p.n - 1u) * p.k16;
  var acc0 = vec4i(0);
  var acc1 = vec4i(0);
  var acc2 = vec4i(0);
  var acc3 = vec4i(0);
  for (var q = 0u; q < p.k16; q++) {
    let w0 = w[rw0 + q];
    let w1 = w[rw1 + q];
    let w2 = w[rw2 + q];
    let w3 = w[rw3 + q];
    let a0 = x8[ra0 + q];
    let a1 = x8[ra1 + q];
    let a2 = x8[ra2 + q];
    let a3 = x8[ra3 + q];
    acc0 += block(a0.x, a1.x, a2.x, a3.x, w0, w1, w2, w3, 0u, &acc1, &acc2, &acc3);
    acc0 += block(a0.y, a1.y, a2.y, a3.y, w0, w1, w2, w3, 8u, &acc1, &acc2, &acc3);
    acc0 += block(a0.z, a1.z, a2.z, a3.z, w0, w1, w2, w3, 16u, &acc1, &acc2, &acc3);
    acc0 += block(a0.w, a1.w, a2.w, a3.w, w0, w1, w2, w3, 24u, &acc1, &acc2, &acc3);
  }
  storeY(row0, col0, acc0);
  storeY(row0 + 1u, col0, acc1);
  storeY(row0 + 2u, col0, acc2);
  storeY(row0 + 3u, col0, acc3);
}

// One invocation per (t, 16-column word of W): each ternary word read serves 16 outputs.
@compute @workgroup_size(16, 4)
fn backward(@builtin(global_invocation_id) gid: vec3u) {
  let kw = gid.x;
  let t = gid.y;
  if (kw >= p.k16 || t >= p.t) { return; }
  var acc: array<i32, 16>;
  for (var j = 0u; j < 16u; j++) { acc[j] = 0; }
  for (var n = 0u; n < p.n; n++) {
    let g = dy[t * p.n + n];
    let word = w[n * p.k16 + kw];
    if (g == 0 || word == 0u) { continue; }
    for (var j = 0u; j < 16u; j++) {
      let code = (word >> (2u * j)) & 3u;
      acc[j] += select(0, g, code == 1u) - select(0, g, code == 2u);
    }
  }
  for (var j = 0u; j < 16u; j++) {
    let k = kw * 16u + j;
    if (k < p.k) { dx[t * p.k + k] = mulShr(acc[j], p.gamma, 16u); }
  }
}
