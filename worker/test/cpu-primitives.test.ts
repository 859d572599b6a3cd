// Integer primitives and polynomials: hand-computed values, rounding ties, extreme magnitudes,
// and agreement with BigInt on many inputs.
import t from 'tap';
import { bitlen, divr, isqrt, mulShr, narrow, rshr } from '../src/kernels/cpu/int.ts';
import { iexp, iln, ln1p, pow2neg, sinq } from '../src/kernels/cpu/poly.ts';
import { normquant } from '../src/kernels/cpu/normquant.ts';
import { ropeFrequencies, sinCosTurns } from '../src/kernels/cpu/rope.ts';
import { xorshift } from './vectors/cases.ts';
import * as R from './vectors/reference.ts';

t.test('rshr rounds half away from zero, by hand', async (t) => {
  t.equal(rshr(5, 1), 3); t.equal(rshr(-5, 1), -3); // 2.5 → 3, −2.5 → −3
  t.equal(rshr(3, 1), 2); t.equal(rshr(-3, 1), -2); // 1.5 → 2
  t.equal(rshr(6, 2), 2); t.equal(rshr(-6, 2), -2); // 1.5 → 2
  t.equal(rshr(5, 2), 1); t.equal(rshr(-5, 2), -1); // 1.25 → 1
  t.equal(rshr(7, 0), 7);
  t.equal(rshr(2147483647, 31), 1); t.equal(rshr(-2147483647, 31), -1);
  t.equal(rshr(2147483647, 1), 1073741824); t.equal(rshr(-2147483647, 1), -1073741824);
});

t.test('divr, isqrt, bitlen, narrow by hand and at the edges', async (t) => {
  t.equal(divr(5, 2), 3); t.equal(divr(7, 2), 4); t.equal(divr(1, 3), 0); t.equal(divr(2, 3), 1);
  t.equal(divr(127 * 8388608, 32768), 32512);
  t.equal(divr(2 ** 31 - 1, 1), 2 ** 31 - 1);
  t.equal(isqrt(0), 0); t.equal(isqrt(15), 3); t.equal(isqrt(16), 4); t.equal(isqrt(4294967295), 65535);
  t.equal(bitlen(0), 0); t.equal(bitlen(1), 1); t.equal(bitlen(2 ** 31), 32); t.equal(bitlen(4294967295), 32);
  t.equal(narrow(2 ** 51, 0), 2147483647, 'saturates');
  t.equal(narrow(-(2 ** 51), 0), -2147483647, 'saturates symmetrically');
  t.equal(narrow(3 * 2 ** 40 + 2 ** 39, 40), 4, '3.5 → 4');
  t.equal(narrow(-(3 * 2 ** 40 + 2 ** 39), 40), -4, '−3.5 → −4');
});

t.test('primitives agree with BigInt on random inputs', async (t) => {
  const rng = xorshift(99);
  let bad = 0;
  for (let i = 0; i < 20000; i++) {
    const a = (rng() | 0) >> (rng() % 31);
    const b = (rng() % 4194304) - 2097152;
    const s = rng() % 41;
    if (mulShr(a, b, s) !== Number(R.mulShr(BigInt(a), BigInt(b), s))) bad++;
    const sh = rng() % 32;
    const r0 = rng() | 0;
    const x = r0 === -2147483648 ? 0 : r0;
    if (rshr(x, sh) !== Number(R.rha(BigInt(x), sh))) bad++;
    const u = rng() >>> 0;
    if (isqrt(u) !== Number(R.isqrt(BigInt(u)))) bad++;
    const num = rng() % 2 ** 30;
    const den = 1 + (rng() % 2 ** 20);
    if (divr(num, den) !== Number(R.divr(BigInt(num), BigInt(den)))) bad++;
  }
  t.equal(bad, 0, 'no mismatches in 80,000 checks');
});

t.test('polynomials stay within their stated error (floats only to measure error)', async (t) => {
  let e2 = 0, eln = 0, esin = 0;
  for (let x = 0; x < 32768; x++) {
    e2 = Math.max(e2, Math.abs(pow2neg(x) - 32768 * 2 ** (-x / 32768)));
    eln = Math.max(eln, Math.abs(ln1p(x) - 65536 * Math.log1p(x / 32768)));
    esin = Math.max(esin, Math.abs(sinq(x) - 32768 * Math.sin((Math.PI * x) / 65536)));
  }
  t.ok(e2 < 2, `pow2neg max error ${e2.toFixed(2)} Q15 units`);
  t.ok(eln < 5, `ln1p max error ${eln.toFixed(2)} Q16 units`);
  t.ok(esin < 2.5, `sinq max error ${esin.toFixed(2)} Q15 units`);
  t.equal(pow2neg(0), 32768); t.equal(sinq(0), 0); t.equal(sinq(32768), 32768);
  t.equal(iexp(0), 32768, 'exp(0) = 1 exactly');
  t.equal(iexp(-2147483647), 0); t.equal(iexp(-45426), 16384, 'exp(−ln 2) = 1/2');
  t.equal(iln(32768), 0, 'ln 1 = 0');
  t.ok(Math.abs(iln(256 * 32768) - 65536 * Math.log(256)) < 4, 'ln 256');
  const [s, c] = sinCosTurns(2 ** 29); // 1/8 turn = 45°
  t.ok(Math.abs(s - c) <= 1 && Math.abs(s - 11585) <= 2, `sin/cos 45° = ${s}, ${c}`);
  t.same(sinCosTurns(0), [0, 16384]); t.same(sinCosTurns(2 ** 30), [16384, 0]);
  const f = ropeFrequencies(16);
  t.ok(Math.abs(f[0] - 683565276) <= 1, 'f_0 = 1 rad per position');
});

t.test('normquant row by hand (SPEC §4.1)', async (t) => {
  // v = [1,−2,4,0]: amax 4, z 3, m16 = v<<13, R = 32512; x8 = round(127·v/4) with 63.5 → 64.
  // m10 = [128,256,512,0], ss = 344064, ms8 = 22020096, rms4 = 4692,
  // an = divr(512·2^20, 4692) = 114423 (114422.6), sx = divr(114423·256, 127) = 230648
  // (230647.9), rinv = divr(2^30, 4692) = 228845 (228844.8).
  const nq = normquant(Int32Array.from([1, -2, 4, 0]), 1, 4);
  t.strictSame(Array.from(nq.x8), [32, -64, 127, 0]);
  t.strictSame([nq.sx[0], nq.rinv[0], nq.z[0]], [230648, 228845, 3]);
  // scale-free: the same row times 2^20 quantizes identically
  const big = normquant(Int32Array.from([1, -2, 4, 0].map((x) => x * 2 ** 20)), 1, 4);
  t.strictSame(Array.from(big.x8), [32, -64, 127, 0]);
  t.equal(big.sx[0], 230648);
});
