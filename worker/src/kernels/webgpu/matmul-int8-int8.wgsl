// y[m, n] = Σ_k a[m, k] · b[n, k]   (int8 × int8, exact i32 sums; the LoRA products)
//
// a, b: int8 rows, 4 lanes per u32, row stride k4 words (rows zero-padded to 16 elements).
// Bound: |a·b| ≤ 2^14 per term, so K ≤ 131071 sums without leaving i32.
//
// Each invocation computes a 4×4 block of y; an 8×8 workgroup covers 32×32.

struct Params { m: u32, n: u32, k4: u32, pad: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<u32>;
@group(0) @binding(2) var<storage, read> b: array<u32>;
@group(0) @binding(3) var<storage, read_write> y: array<i32>;

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let col0 = gid.x * 4u;
  let row0 = gid.y * 4u;
  if (row0 >= p.m || col0 >= p.n) { return; }
  // Past-the-edge rows/columns re-read the last valid one; their sums are never stored.
  let ra0 = min(row0, p.m - 1u) * p.k4;
  let ra1 = min(row0 + 1u, p.m - 1u) * p.k4;
  let ra2 = min(row0 + 2u, p.m - 1u) * p.k4;
  let ra3 = min(row0 + 3u, p.m - 1u) * p.k4;
  let rb0 = min(col0, p.n - 1u) * p.k4;
  let rb1 = min(col0 + 1u, p.n - 1u) * p.k4;
  let rb2 = min(col0 + 2u, p.n - 1u) * p.k4;
  let rb3 = min(col0 + 3u, p.n - 1u) * p.k4;

  var acc0 = vec4i(0);
  var acc1 = vec4i(0);
  var acc2 = vec4i(0);
  var acc3 = vec4i(0);
  for (var t = 0u; t < p.k4; t++) {
    let x0 = b[rb0 + t];
    let x1 = b[rb1 + t];
    let x2 = b[rb2 + t];
    let x3 = b[rb3 + t];
    let a0 = a[ra0 + t];
    let a1 = a[ra1 + t];
    let a2 = a[ra2 + t];
    let a3 = a[ra3 + t];
    acc0 += vec4i(dot4I8Packed(a0, x0), dot4I8Packed(a0, x1), dot4I8Packed(a0, x2), dot4I8Packed(a0, x3));
    acc1 += vec4i(dot4I8Packed(a1, x0), dot4I8Packed(a1, x1), dot4I8Packed(a1, x2), dot4I8Packed(a1, x3));
    acc2 += vec4i(dot4I8Packed(a2, x0), dot4I8Packed(a2, x1), dot4I8Packed(a2, x2), dot4I8Packed(a2, x3));
    acc3 += vec4i(dot4I8Packed(a3, x0), dot4I8Packed(a3, x1), dot4I8Packed(a3, x2), dot4I8Packed(a3, x3));
  }
  store(row0, col0, acc0);
  store(row0 + 1u, col0, acc1);
  store(row0 + 2u, col0, acc2);
  store(row0 + 3u, col0, acc3);
}

fn store(row: u32, col0: u32, v: vec4i) {
  if (row >= p.m) { return; }
  let base = row * p.n + col0;
  y[base] = v.x;
  if (col0 + 1u < p.n) { y[base + 1u] = v.y; }
  if (col0 + 2u < p.n) { y[base + 2u] = v.z; }
  if (col0 + 3u < p.n) { y[base + 3u] = v.w; }
}
