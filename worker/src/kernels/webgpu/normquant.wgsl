// normquant (SPEC §4.1): RMSNorm (no gain) fused with per-token int8 absmax quantization, one
// 256-invocation workgroup per row; and its straight-through backward, one invocation per element.
// x8 is written as packed int8 rows (stride rowWords, zero padding included). K ≤ 4096 keeps the
// sum of squared 10-bit mantissas inside u32, as the SPEC requires.

struct Params { t: u32, k: u32, rowWords: u32, p3: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> v: array<i32>;
@group(0) @binding(2) var<storage, read_write> x8: array<u32>;
@group(0) @binding(3) var<storage, read_write> sx: array<i32>;
@group(0) @binding(4) var<storage, read_write> rinv: array<i32>;
@group(0) @binding(5) var<storage, read_write> z: array<i32>;
@group(0) @binding(6) var<storage, read> dxn: array<i32>;
@group(0) @binding(7) var<storage, read_write> dv: array<i32>;

const WG: u32 = 256u;
const GRID_X: u32 = 32768u;
var<workgroup> red: array<u32, WG>;

@compute @workgroup_size(256)
fn forward(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  // row depends only on the workgroup id, so this return keeps control flow uniform.
  let row = wg.x + wg.y * GRID_X;
  if (row >= p.t) { return; }
  let base = row * p.k;

  var m = 0u;
  for (var c = lid; c < p.k; c += WG) { m = max(m, mag32(v[base + c])); }
  red[lid] = m;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = max(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  let amax = workgroupUniformLoad(&red[0]);

  if (amax == 0u) {
    for (var j = lid; j < p.rowWords; j += WG) { x8[row * p.rowWords + j] = 0u; }
    if (lid == 0u) { sx[row] = 0; rinv[row] = 0; z[row] = 1; }
    return;
  }

  let zt = bitlen(amax);
  // 16-bit mantissas: a truncating right shift or an exact left shift (one of the two is 0).
  let down = select(0u, zt - 16u, zt > 16u);
  let up = select(0u, 16u - zt, zt < 16u);
  let amax16 = (amax >> down) << up;
  let recip = divr(127u << 23u, amax16);

  var ss = 0u;
  for (var j = lid; j < p.rowWords; j += WG) {
    var word = 0u;
    for (var lane = 0u; lane < 4u; lane++) {
      let c = j * 4u + lane;
      if (c < p.k) {
        let val = v[base + c];
        let m16 = (mag32(val) >> down) << up;
        let q = min((m16 * recip + (1u << 22u)) >> 23u, 127u);
        let qs = select(i32(q), -i32(q), val < 0);
        word |= (u32(qs) & 0xFFu) << (lane * 8u);
        let m10 = m16 >> 6u;
        ss += m10 * m10;
      }
    }
    x8[row * p.rowWords + j] = word;
  }
  workgroupBarrier();
  red[lid] = ss;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  if (lid == 0u) {
    let total = red[0];
    let q = total / p.k;
    let ms8 = q * 256u + ((total - q * p.k) * 256u) / p.k;
    let rms4 = isqrt(ms8);
    let an = divr((amax16 >> 6u) << 20u, rms4);
    sx[row] = i32(divr(an * 256u, 127u));
    rinv[row] = i32(divr(1u << 30u, rms4));
    z[row] = i32(zt);
  }
}

// dv = satG(mulShr(dxn, rinv, z)) per element; 0 for a zero row (rinv = 0).
@compute @workgroup_size(256)
fn backward(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wg.x + wg.y * GRID_X) * WG + lid;
  if (i >= p.t * p.k) { return; }
  let row = i / p.k;
  let r = rinv[row];
  dv[i] = select(0, satG(mulShr(dxn[i], r, u32(z[row]))), r != 0);
}

// ---- SPEC v2 §4.1g: normquant with a learned gain (block gq, shift sG = p3) ----
// w_c = sign(v_c)·m16_c·gq_c (|w| < 2^31) is quantized by its own absmax; the rms is v's;
// an = shiftRound(divr(aw10·2^20, rms4), zw − 16 − sG); sx = min(divr(an·2^8, 127), 2^31 − 1)
// (a 64-bit divr); backward dv = satG(roundHalfAway(dxn·gq·rinv / 2^(z + sG))) on the exact
// product (< 2^58).
@group(0) @binding(8) var<storage, read> gain: array<i32>;
var<workgroup> redW: array<u32, WG>;

fn shiftRoundPos(x: i32, e: i32) -> i32 {
  if (e >= 0) {
    if (e >= 31 || x > (I32_MAX >> u32(e))) { return select(0, I32_MAX, x > 0); }
    return x << u32(e);
  }
  if (-e >= 32) { return 0; }
  return rshr(x, u32(-e));
}

@compute @workgroup_size(256)
fn forwardGain(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wg.x + wg.y * GRID_X;
  if (row >= p.t) { return; }
  let base = row * p.k;
  var m = 0u;
  for (var c = lid; c < p.k; c += WG) { m = max(m, mag32(v[base + c])); }
  red[lid] = m;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = max(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  let amax = workgroupUniformLoad(&red[0]);
  let zt = bitlen(max(amax, 1u));
  let down = select(0u, zt - 16u, zt > 16u);
  let up = select(0u, 16u - zt, zt < 16u);
  // amax of w and ss of v's 10-bit mantissas
  var mw = 0u;
  var ss = 0u;
  for (var c = lid; c < p.k; c += WG) {
    let val = v[base + c];
    let m16 = (mag32(val) >> down) << up;
    mw = max(mw, m16 * mag32(gain[c]));
    let m10 = m16 >> 6u;
    ss += m10 * m10;
  }
  workgroupBarrier();
  red[lid] = ss;
  redW[lid] = mw;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] += red[lid + s]; redW[lid] = max(redW[lid], redW[lid + s]); }
    workgroupBarrier();
  }
  let amaxW = workgroupUniformLoad(&redW[0]);
  let total = workgroupUniformLoad(&red[0]);
  if (amax == 0u || amaxW == 0u) {
    for (var j = lid; j < p.rowWords; j += WG) { x8[row * p.rowWords + j] = 0u; }
    if (lid == 0u) { sx[row] = 0; rinv[row] = 0; z[row] = 1; }
    return;
  }
  let zw = bitlen(amaxW);
  let downW = select(0u, zw - 16u, zw > 16u);
  let upW = select(0u, 16u - zw, zw < 16u);
  let aw16 = (amaxW >> downW) << upW;
  let recip = divr(127u << 23u, aw16);
  for (var j = lid; j < p.rowWords; j += WG) {
    var word = 0u;
    for (var lane = 0u; lane < 4u; lane++) {
      let c = j * 4u + lane;
      if (c < p.k) {
        let val = v[base + c];
        let g = gain[c];
        let w16 = ((((mag32(val) >> down) << up) * mag32(g)) >> downW) << upW;
        let q = min((w16 * recip + (1u << 22u)) >> 23u, 127u);
        let qs = select(i32(q), -i32(q), (val < 0) != (g < 0));
        word |= (u32(qs) & 0xFFu) << (lane * 8u);
      }
    }
    x8[row * p.rowWords + j] = word;
  }
  if (lid == 0u) {
    let q = total / p.k;
    let ms8 = q * 256u + ((total - q * p.k) * 256u) / p.k;
    let rms4 = isqrt(ms8);
    let an = shiftRoundPos(i32(divr((aw16 >> 6u) << 20u, rms4)), i32(zw) - 16 - i32(p.p3));
    sx[row] = divRound64(mulI64(an, 256), 127u);
    rinv[row] = i32(divr(1u << 30u, rms4));
    z[row] = i32(zt);
  }
}

@compute @workgroup_size(256)
fn backwardGain(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wg.x + wg.y * GRID_X) * WG + lid;
  if (i >= p.t * p.k) { return; }
  let row = i / p.k;
  let c = i - row * p.k;
  let r = rinv[row];
  if (r == 0) { dv[i] = 0; return; }
  let g = gain[c];
  let m1 = mulWide(mag32(dxn[i]), mag32(g));             // ≤ 2^35
  let lo = mulWide(m1.x, u32(r));
  let prod = vec2u(lo.x, lo.y + m1.y * u32(r));           // ≤ 2^58
  let s = u32(z[row]) + p.p3;
  var q = 0;
  if (s < 64u) { q = sat32Mag((dxn[i] < 0) != (g < 0), roundShr64(prod, s)); }
  dv[i] = satG(q);
}
