// Per-token absmax int8 quantization (BitNet b1.58 activations), one workgroup per row:
//   s[r] = max_c |x[r, c]|
//   q[r, c] = sign(x) · floor((254·|x| + s) / (2·s))    (= 127·x/s rounded half away from zero)
//   q = 0 for a row of zeros (s = 0).
// |q| ≤ 127 since |x| ≤ s. Bound: |x| ≤ 2^23, so 254·|x| + s < 2^32 and the u32 division is exact
// and never by zero. q is written as packed int8 rows (stride rowWords, zero padding included).

struct Params { rows: u32, cols: u32, rowWords: u32, pad: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<i32>;
@group(0) @binding(2) var<storage, read_write> q: array<u32>;
@group(0) @binding(3) var<storage, read_write> scale: array<i32>;

const WG: u32 = 256u;
const GRID_X: u32 = 32768u;
var<workgroup> partial: array<u32, WG>;

fn quant(v: i32, s: u32) -> u32 {
  let mag = u32(abs(v));
  let r = (254u * mag + s) / (2u * s);
  let signed = select(i32(r), -i32(r), v < 0);
  return u32(signed) & 0xFFu;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  // Uniform control flow: every invocation reaches both barriers, even in a workgroup past the
  // last row (the 2-D grid may overshoot), which then only skips its loads and stores.
  let row = wg.x + wg.y * GRID_X;
  let live = row < p.rows;
  let base = row * p.cols;

  var m = 0u;
  if (live) {
    for (var c = lid; c < p.cols; c += WG) {
      m = max(m, u32(abs(x[base + c])));
    }
  }
  partial[lid] = m;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (lid < stride) {
      partial[lid] = max(partial[lid], partial[lid + stride]);
    }
    workgroupBarrier();
  }
  let s = workgroupUniformLoad(&partial[0]);
  if (!live) { return; }
  if (lid == 0u) { scale[row] = i32(s); }

  for (var j = lid; j < p.rowWords; j += WG) {
    var word = 0u;
    if (s != 0u) {
      for (var lane = 0u; lane < 4u; lane++) {
        let c = j * 4u + lane;
        if (c < p.cols) { word |= quant(x[base + c], s) << (lane * 8u); }
      }
    }
    q[row * p.rowWords + j] = word;
  }
}
