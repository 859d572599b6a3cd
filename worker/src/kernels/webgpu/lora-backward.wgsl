// LoRA backward (SPEC §4.3), straight-through the clamps and roundings:
//   du:    du[t,j] = satG(narrow(Σ_n B10[n,j]·dy[t,n], 10)); dux[t,j] = mulShr(du, sx_t, 24)
//   gB:    gB[n,j] += Σ_t dy[t,n]·u[t,j]           (acc64; terms ≤ 2^32)
//   gA:    gA[j,k] += Σ_t dux[t,j]·x8[t,k]         (acc64)
//   dx:    dxl[t,k] = narrow(Σ_j A12[j,k]·du[t,j], 12)   (the caller adds it to ternlin's dx)
// Every Σ here is an exact 64-bit sum (int.wgsl), so the order of accumulation is free.
// gA, gB are acc64 pairs updated in place; each invocation owns one element (no atomics).
// SPEC v2 alpha ≠ r: du = satG(mulDivRound(Σ_n B10·dy, alpha, 2^10·r)), the Σ taken as
// Σ_n (B10·alpha)·dy (|B10·alpha| ≤ 2^26: i32 operands of the exact 64-bit products).

struct Params { t: u32, n: u32, k: u32, r: u32, xWords: u32, p5: u32, p6: u32, p7: u32, alpha: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a12: array<i32>;
@group(0) @binding(2) var<storage, read> b10: array<i32>;
@group(0) @binding(3) var<storage, read> x8: array<u32>;
@group(0) @binding(4) var<storage, read> sx: array<i32>;
@group(0) @binding(5) var<storage, read> u: array<i32>;
@group(0) @binding(6) var<storage, read> dy: array<i32>;
@group(0) @binding(7) var<storage, read_write> du: array<i32>;
@group(0) @binding(8) var<storage, read_write> dux: array<i32>;
@group(0) @binding(9) var<storage, read_write> gA: array<vec2u>;
@group(0) @binding(10) var<storage, read_write> gB: array<vec2u>;
@group(0) @binding(11) var<storage, read_write> dxl: array<i32>;

const GRID_X: u32 = 32768u;

fn linear(wg: vec3u, lid: u32) -> u32 { return (wg.x + wg.y * GRID_X) * 64u + lid; }

fn x8At(t: u32, k: u32) -> i32 {
  return extractBits(bitcast<i32>(x8[t * p.xWords + k / 4u]), (k % 4u) * 8u, 8u);
}

@compute @workgroup_size(64)
fn gradU(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = linear(wg, lid);
  if (i >= p.t * p.r) { return; }
  let t = i / p.r;
  let j = i - t * p.r;
  var acc = vec2u(0u, 0u);
  var d = 0;
  if (p.alpha == p.r) {
    for (var n = 0u; n < p.n; n++) { acc = add64(acc, mulI64(b10[n * p.r + j], dy[t * p.n + n])); }
    d = satG(narrow64(acc, 10u));
  } else {
    let al = i32(p.alpha);
    for (var n = 0u; n < p.n; n++) { acc = add64(acc, mulI64(b10[n * p.r + j] * al, dy[t * p.n + n])); }
    d = satG(divRound64(acc, 1024u * p.r));
  }
  du[i] = d;
  dux[i] = mulShr(d, sx[t], 24u);
}

@compute @workgroup_size(64)
fn gradB(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = linear(wg, lid);
  if (i >= p.n * p.r) { return; }
  let n = i / p.r;
  let j = i - n * p.r;
  var acc = gB[i];
  for (var t = 0u; t < p.t; t++) { acc = add64(acc, mulI64(dy[t * p.n + n], u[t * p.r + j])); }
  gB[i] = acc;
}

@compute @workgroup_size(64)
fn gradA(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = linear(wg, lid);
  if (i >= p.r * p.k) { return; }
  let j = i / p.k;
  let k = i - j * p.k;
  var acc = gA[i];
  for (var t = 0u; t < p.t; t++) { acc = add64(acc, mulI64(dux[t * p.r + j], x8At(t, k))); }
  gA[i] = acc;
}

@compute @workgroup_size(64)
fn gradX(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = linear(wg, lid);
  if (i >= p.t * p.k) { return; }
  let t = i / p.k;
  let k = i - t * p.k;
  var acc = vec2u(0u, 0u);
  for (var j = 0u; j < p.r; j++) { acc = add64(acc, mulI64(a12[j * p.k + k], du[t * p.r + j])); }
  dxl[i] = narrow64(acc, 12u);
}
