// Causal multi-head attention forward (SPEC §4.6), one 64-invocation workgroup per (head, query
// row t) (needs int.wgsl + poly.wgsl). Operands qr, kr, v8 are Q8 [T, H·dh] (|·| ≤ 2047).
//   s[t,u] = Σ_d qr·kr (i32, ≤ 2^22·dh); zz = mulShr(s, isd, 16), u ≤ t
//   P[t,u] = divr(iexp(zz − max zz)·2^15, Σ_u iexp(·))  (Q15; Σ ≤ T·2^15 < 2^31); 0 for u > t
//   o[t,d] = rshr(Σ_{u≤t} P·v8, 7)                      (Q23 → Q16; i32 for T ≤ 2^14)
// P [H, T, T] is written in full (zeros above the diagonal) and kept for the backward pass; its
// row doubles as scratch for zz and the exponentials. zz − max is taken as a u32 difference.
// SPEC v2 GQA: p3 = Hkv (kr, v8 are [T, Hkv·dh]; query head h reads head h / (H/Hkv)).

struct Params { t: u32, h: u32, dh: u32, p3: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> qr: array<i32>;
@group(0) @binding(2) var<storage, read> kr: array<i32>;
@group(0) @binding(3) var<storage, read> v8: array<i32>;
@group(0) @binding(4) var<storage, read_write> o: array<i32>;
@group(0) @binding(5) var<storage, read_write> prob: array<i32>;

const WG: u32 = 64u;
var<workgroup> red: array<i32, WG>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = wg.x;
  let h = wg.y;
  if (t >= p.t || h >= p.h) { return; }
  let D = p.h * p.dh;
  let Dkv = p.p3 * p.dh;
  let kvo = (h / (p.h / p.p3)) * p.dh;
  let ho = h * p.dh;
  let qo = t * D + ho;
  let po = (h * p.t + t) * p.t;
  let isd = invSqrtQ16(p.dh); // Q16 of 1/√dh

  var mx = -2147483647 - 1;
  for (var u = lid; u <= t; u += WG) {
    var s = 0;
    let ko = u * Dkv + kvo;
    for (var d = 0u; d < p.dh; d++) { s += qr[qo + d] * kr[ko + d]; }
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

  // Each invocation revisits exactly the u it wrote above, so no barrier is needed between.
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
  for (var u = lid; u < p.t; u += WG) {
    var pr = 0;
    if (u <= t) { pr = i32(divr(u32(prob[po + u]) << 15u, total)); }
    prob[po + u] = pr;
  }
  // The whole P row, written by every invocation, is read by every invocation below.
  storageBarrier();
  for (var d = lid; d < p.dh; d += WG) {
    var acc = 0;
    for (var u = 0u; u <= t; u++) { acc += prob[po + u] * v8[u * Dkv + kvo + d]; }
    o[qo + d] = rshr(acc, 7u);
  }
}
