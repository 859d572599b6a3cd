// Causal attention for inference with a K/V cache (SPEC §4.6, the rows of a block of new
// positions): one 64-invocation workgroup per (new row i, head). Query row i (absolute position
// t = n0 + i) of qr [m, H·dh] attends to the cached keys/values kc, vc [capacity, H·dh] at
// positions u ≤ t — the same integers as attention.wgsl computes for row t of the whole sequence:
//   s = Σ_d qr·kc (i32); zz = mulShr(s, isd, 16); P = divr(iexp(zz − max)·2^15, Σ iexp) (Q15);
//   o[i,d] = rshr(Σ_{u≤t} P·vc, 7)
// prob [H, m, n0 + m] is scratch (zz, then the exponentials, then P).

struct Params { m: u32, h: u32, dh: u32, n0: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> qr: array<i32>;
@group(0) @binding(2) var<storage, read> kc: array<i32>;
@group(0) @binding(3) var<storage, read> vc: array<i32>;
@group(0) @binding(4) var<storage, read_write> o: array<i32>;
@group(0) @binding(5) var<storage, read_write> prob: array<i32>;

const WG: u32 = 64u;
var<workgroup> red: array<i32, WG>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = wg.x;
  let h = wg.y;
  if (i >= p.m || h >= p.h) { return; }
  let t = p.n0 + i;
  let S = p.n0 + p.m;
  let D = p.h * p.dh;
  let ho = h * p.dh;
  let qo = i * D + ho;
  let po = (h * p.m + i) * S;
  let isd = invSqrtQ16(p.dh);

  var mx = -2147483647 - 1;
  for (var u = lid; u <= t; u += WG) {
    var s = 0;
    let ko = u * D + ho;
    for (var d = 0u; d < p.dh; d++) { s += qr[qo + d] * kc[ko + d]; }
    let zz = mulShr(s, isd, 16u);
    prob[po + u] = zz;
    mx = max(mx, zz);
  }
  red[lid] = mx;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = max(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  let rowMax = workgroupUniformLoad(&red[0]);

  var sum = 0;
  for (var u = lid; u <= t; u += WG) {
    let e = iexpNeg(u32(rowMax) - u32(prob[po + u]));
    prob[po + u] = e;
    sum += e;
  }
  workgroupBarrier();
  red[lid] = sum;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  let total = u32(workgroupUniformLoad(&red[0]));
  for (var u = lid; u <= t; u += WG) {
    prob[po + u] = i32(divr(u32(prob[po + u]) << 15u, total));
  }
  storageBarrier();
  for (var d = lid; d < p.dh; d += WG) {
    var acc = 0;
    for (var u = 0u; u <= t; u++) { acc += prob[po + u] * vc[u * D + ho + d]; }
    o[qo + d] = rshr(acc, 7u);
  }
}
