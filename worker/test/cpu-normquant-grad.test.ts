// SPEC §4.1 normquant backward is the full RMSNorm gradient (issue 17): against the float formula
// dv = (g⊙dxn − n·mean(g⊙dxn·n)) / rms with n = v/rms, against the BigInt reference (including
// rows whose dot product c passes 2^53: large gains over K = 6912), and the property that makes
// RMSNorm scale-invariant: the gradient is orthogonal to v.
import t from 'tap';
import { bf16Block } from '../src/kernels/cpu/bf16.ts';
import { normquant, normquantBackward } from '../src/kernels/cpu/normquant.ts';
import * as R from './vectors/reference.ts';

const G = 2 ** 20 - 1;
function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
}
const int = (rng: () => number, lo: number, hi: number): number => lo + Math.floor(rng() * (hi - lo + 1));

/** The float gradient in Q16 units, for rows v (Q16) and dxn (Q16), gains real (or 1). */
function floatGrad(v: Int32Array, dxn: Int32Array, T: number, K: number, g?: Float64Array): Float64Array {
  const out = new Float64Array(T * K);
  for (let r = 0; r < T; r++) {
    let ss = 0;
    for (let k = 0; k < K; k++) ss += (v[r * K + k] / 65536) ** 2;
    const rms = Math.sqrt(ss / K);
    let mu = 0;
    for (let k = 0; k < K; k++) mu += (g ? g[k] : 1) * (dxn[r * K + k] / 65536) * (v[r * K + k] / 65536 / rms);
    mu /= K;
    for (let k = 0; k < K; k++) {
      const dn = (g ? g[k] : 1) * (dxn[r * K + k] / 65536);
      out[r * K + k] = ((dn - (v[r * K + k] / 65536 / rms) * mu) / rms) * 65536;
    }
  }
  return out;
}

t.test('the integer gradient is the float RMSNorm gradient (radial term included)', async (t) => {
  const rng = xorshift(17);
  for (const K of [16, 64, 100, 1024]) {
    const T = 4;
    const scale = [2 ** 16, 2 ** 20, 2 ** 24, 2 ** 12];
    const v = Int32Array.from({ length: T * K }, (_, i) => int(rng, -scale[Math.floor(i / K)], scale[Math.floor(i / K)]));
    const nq = normquant(v, T, K);
    // dxn with a large component along x̂, the case the rms-constant backward got wrong
    const dxn = new Int32Array(T * K);
    for (let r = 0; r < T; r++) {
      let ss = 0;
      for (let k = 0; k < K; k++) ss += v[r * K + k] ** 2;
      const rms = Math.sqrt(ss / K);
      for (let k = 0; k < K; k++) dxn[r * K + k] = Math.round(20000 * (v[r * K + k] / rms)) + int(rng, -3000, 3000);
    }
    const got = normquantBackward(dxn, v, nq, T, K);
    const want = floatGrad(v, dxn, T, K);
    for (let r = 0; r < T; r++) {
      let err = 0;
      let norm = 0;
      let max = 0;
      for (let k = r * K; k < r * K + K; k++) {
        err = Math.max(err, Math.abs(got[k] - want[k]));
        norm += want[k] ** 2;
        max = Math.max(max, Math.abs(want[k]));
      }
      t.ok(max < G, 'no clamp in this case');
      t.ok(err <= 0.002 * max + 2, `K ${K} row ${r}: max |int − float| ${err.toFixed(1)} of max ${max.toFixed(0)}`);
    }
  }
});

t.test('with a learned gain: float formula and the BigInt reference, wide rows included', async (t) => {
  const rng = xorshift(71);
  for (const [K, lo, hi] of [[64, 126, 128], [6912, 132, 133], [300, 110, 133]] as const) {
    const T = 3;
    // bf16 gains with exponent in [lo, min(hi, 132)]: 132 gives |g| in [32, 64), the largest allowed
    const bits = Uint16Array.from({ length: K }, () => ((rng() < 0.5 ? 1 : 0) << 15) | (int(rng, lo, Math.min(hi, 132)) << 7) | int(rng, 0, 127));
    const gain = bf16Block(bits, 15, 'gain');
    const v = Int32Array.from({ length: T * K }, (_, i) => (i < K ? int(rng, -(2 ** 31 - 1), 2 ** 31 - 1) : i < 2 * K ? int(rng, -(2 ** 16), 2 ** 16) : int(rng, -40, 40)));
    const dxn = Int32Array.from({ length: T * K }, () => (rng() < 0.1 ? (rng() < 0.5 ? G : -G) : int(rng, -G, G)));
    const nq = normquant(v, T, K, gain);
    const got = normquantBackward(dxn, v, nq, T, K, gain);
    const ref = R.normquantBackward(Array.from(dxn, BigInt), Array.from(v, BigInt),
      { x8: [], sx: [], rinv: Array.from(nq.rinv, BigInt), z: Array.from(nq.z, BigInt) }, T, K, { q: Array.from(gain.q, BigInt), shift: gain.shift });
    t.strictSame(Array.from(got), ref.map(Number), `K ${K}: fast = BigInt reference (gain shift ${gain.shift})`);
    const g = Float64Array.from(gain.q, (q) => q / 2 ** gain.shift);
    const want = floatGrad(v, dxn, T, K, g);
    let err = 0;
    let max = 0;
    for (let k = K; k < 2 * K; k++) {
      if (Math.abs(want[k]) >= G) continue;
      err = Math.max(err, Math.abs(got[k] - want[k]));
      max = Math.max(max, Math.abs(want[k]));
    }
    t.ok(err <= 0.002 * max + 2, `K ${K} row 1: max |int − float| ${err.toFixed(1)} of ${max.toFixed(0)}`);
  }
});

t.test('dv is orthogonal to v (RMSNorm is scale-invariant)', async (t) => {
  const rng = xorshift(5);
  const K = 256;
  const T = 8;
  const v = Int32Array.from({ length: T * K }, () => int(rng, -(2 ** 22), 2 ** 22));
  const nq = normquant(v, T, K);
  const dxn = Int32Array.from({ length: T * K }, (_, i) => Math.round(v[i] / 64) + int(rng, -5000, 5000));
  const dv = normquantBackward(dxn, v, nq, T, K);
  for (let r = 0; r < T; r++) {
    let dot = 0;
    let nv = 0;
    let nd = 0;
    for (let k = r * K; k < r * K + K; k++) {
      dot += dv[k] * v[k];
      nv += v[k] ** 2;
      nd += dv[k] ** 2;
    }
    const cos = dot / Math.sqrt(nv * nd);
    t.ok(Math.abs(cos) < 1e-3, `row ${r}: cos(dv, v) = ${cos.toExponential(2)}`);
  }
});
