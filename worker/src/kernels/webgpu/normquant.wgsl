// normquant (SPEC §4.1): RMSNorm (no gain) fused with per-token int8 absmax quantization, one
// 256-invocation workgroup per row; and its backward (the full RMSNorm gradient), one per row too.
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

// Full RMSNorm backward (SPEC §4.1 "Backward"), one 256-invocation workgroup per row:
// nh_c = sign(v_c)·rshr(m16_c·rinv, 16) (Q16 of v/rms); dn_c = dxn_c (or mulShr(dxn_c, g_c, sG));
// c = Σ dn·nh, s2 = Σ nh² (acc64); d = the top 16 bits of s2 (s2 = d·2^e + rest, e ≥ 17);
// μ = sign(c)·⌊⌊(|c| + d·2^(e−17)) / 2^(e−16)⌋ / d⌋;
// dv_c = satG(mulShr(sat32(dn_c − mulShr(nh_c, μ, 16)), rinv, z)). rinv = 0 (zero row) gives
// nh = 0, c = s2 = 0, μ = 0 and dv = 0 with no branch, so every barrier stays in uniform control flow.
var<workgroup> red64: array<vec2u, WG>;
var<workgroup> red64b: array<vec2u, WG>;

// ⌊m / d⌋ for a 64-bit magnitude m and 0 < d < 2^16, 16 bits at a time (the remainder stays
// below d, so remainder·2^16 + digit < 2^32: u32 division, exact).
fn divFloor64(m: vec2u, d: u32) -> vec2u {
  var rem = 0u;
  var q = vec2u(0u, 0u);
  for (var i = 0u; i < 4u; i++) {
    let word = select(m.x, m.y, i < 2u);
    let digit = (word >> ((1u - (i % 2u)) * 16u)) & 0xFFFFu;
    let cur = (rem << 16u) | digit;
    let qd = cur / d;
    rem = cur - qd * d;
    if (i < 2u) { q.y = (q.y << 16u) | qd; } else { q.x = (q.x << 16u) | qd; }
  }
  return q;
}

fn bitlen64(a: vec2u) -> u32 {
  if (a.y != 0u) { return 32u + bitlen(a.y); }
  return bitlen(a.x);
}

// d·2^s for d < 2^16, s ≤ 47, as a 64-bit magnitude
fn shl16(d: u32, s: u32) -> vec2u {
  if (s >= 32u) { return vec2u(0u, d << (s - 32u)); }
  if (s == 0u) { return vec2u(d, 0u); }
  return vec2u(d << s, d >> (32u - s));
}

fn nhOf(val: i32, r: i32, down: u32, up: u32) -> i32 {
  let m16 = (mag32(val) >> down) << up;
  let h = mulShr(i32(m16), r, 16u);
  return select(h, -h, val < 0);
}

// Without a gain the host binds dxn again at the gain binding (never read: useGain is false).
fn dnOf(i: u32, c: u32, useGain: bool) -> i32 {
  if (useGain) { return mulShr(dxn[i], gain[c], p.p3); }
  return dxn[i];
}

fn backwardRow(row: u32, lid: u32, useGain: bool) {
  let base = row * p.k;
  let r = rinv[row];
  let zt = u32(z[row]);
  let down = select(0u, zt - 16u, zt > 16u);
  let up = select(0u, 16u - zt, zt < 16u);
  var acc = vec2u(0u, 0u);
  var acc2 = vec2u(0u, 0u);
  for (var c = lid; c < p.k; c += WG) {
    let nh = nhOf(v[base + c], r, down, up);
    acc = add64(acc, mulI64(dnOf(base + c, c, useGain), nh));
    acc2 = add64(acc2, mulWide(mag32(nh), mag32(nh)));
  }
  red64[lid] = acc;
  red64b[lid] = acc2;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      red64[lid] = add64(red64[lid], red64[lid + s]);
      red64b[lid] = add64(red64b[lid], red64b[lid + s]);
    }
    workgroupBarrier();
  }
  let tot = workgroupUniformLoad(&red64[0]);
  let s2 = workgroupUniformLoad(&red64b[0]);
  // s2 ≥ 2^32 on a nonzero row; a zero row (s2 = 0, c = 0) takes e = 17, d = 1 and gives μ = 0
  let e = max(bitlen64(s2), 33u) - 16u;
  let d = max(shr64(s2, e).x, 1u);
  let neg = isNeg64(tot);
  let m = add64(select(tot, neg64(tot), neg), shl16(d, e - 17u));
  let q = divFloor64(shr64(m, e - 16u), d);
  let mu = sat32Mag(neg, q);
  for (var c = lid; c < p.k; c += WG) {
    let i = base + c;
    let nh = nhOf(v[i], r, down, up);
    let dn = dnOf(i, c, useGain);
    dv[i] = satG(mulShr(sub32Sat(dn, mulShr(nh, mu, 16u)), r, zt));
  }
}

// sat32(a − b) for |a|, |b| ≤ 2^31 − 1, on the exact difference.
fn sub32Sat(a: i32, b: i32) -> i32 {
  let d = add64(addI32To64(vec2u(0u, 0u), a), neg64(addI32To64(vec2u(0u, 0u), b)));
  let neg = isNeg64(d);
  return sat32Mag(neg, select(d, neg64(d), neg));
}

@compute @workgroup_size(256)
fn backward(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wg.x + wg.y * GRID_X;
  if (row >= p.t) { return; }
  backwardRow(row, lid, false);
}

// ---- SPEC v2 §4.1g: normquant with a learned gain (block gq, shift sG = p3) ----
// w_c = sign(v_c)·m16_c·gq_c (|w| < 2^31) is quantized by its own absmax; the rms is v's;
// an = shiftRound(divr(aw10·2^20, rms4), zw − 16 − sG); sx = min(divr(an·2^8, 127), 2^31 − 1)
// (a 64-bit divr); backward: backwardRow with dn = mulShr(dxn, gq, sG).
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
  let row = wg.x + wg.y * GRID_X;
  if (row >= p.t) { return; }
  backwardRow(row, lid, true);
}
