// The WGSL integer library (int.wgsl, poly.wgsl) against the CPU primitives of SPEC §2–3, value
// by value: exhaustively where the domain is small (every Q15 input of the polynomials, every
// iexp input), randomly with edge values elsewhere. A probe kernel evaluates one primitive per
// element so the test runs the very functions the kernels call.

import t, { type Test } from 'tap';
import { withPrelude } from '../src/kernels/webgpu/prelude.ts';
import { bitlen, divr, isqrt, mulShr, narrow, rshr } from '../src/kernels/cpu/int.ts';
import { iexp, iln, invSqrtQ16, ln1p, pow2neg, sinq } from '../src/kernels/cpu/poly.ts';
import { openTestGpu, rng } from './helpers/gpu.ts';

const PROBE = withPrelude(
  `
struct Params { n: u32, op: u32, p2: u32, p3: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> y: array<i32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wg.x + wg.y * 32768u) * 256u + lid;
  if (i >= p.n) { return; }
  let a = x[3u * i];
  let b = x[3u * i + 1u];
  let s = x[3u * i + 2u];
  var r = 0;
  switch p.op {
    case 0u: { r = rshr(i32(a), s); }
    case 1u: { r = mulShr(i32(a), i32(b), s); }
    case 2u: { r = narrow64(vec2u(a, b), s); }
    case 3u: { r = i32(divr(a, b)); }
    case 4u: { r = i32(isqrt(a)); }
    case 5u: { r = i32(bitlen(a)); }
    case 6u: { r = pow2neg(i32(a)); }
    case 7u: { r = ln1p(i32(a)); }
    case 8u: { r = sinq(i32(a)); }
    case 9u: { r = iexpNeg(a); }
    case 10u: { r = iln(a); }
    case 11u: { r = invSqrtQ16(a); }
    default: { r = 0; }
  }
  y[i] = r;
}
`,
  { poly: true },
);

const OPS = ['rshr', 'mulShr', 'narrow', 'divr', 'isqrt', 'bitlen', 'pow2neg', 'ln1p', 'sinq', 'iexp', 'iln', 'invSqrtQ16'] as const;
type Op = (typeof OPS)[number];

const ctx = await openTestGpu();

/** Runs the probe: triples (a, b, s) as u32 words → one i32 per triple. */
async function probe(op: Op, triples: Uint32Array): Promise<Int32Array> {
  const n = triples.length / 3;
  const xBuf = ctx.upload(triples);
  const yBuf = ctx.storage(n);
  const groups = Math.ceil(n / 256);
  await ctx.run((encoder) =>
    ctx.dispatch(encoder, ctx.pipeline(PROBE), [ctx.uniform([n, OPS.indexOf(op)]), xBuf, yBuf], [
      Math.min(groups, 32768),
      Math.ceil(groups / 32768),
    ]),
  );
  const y = await ctx.readI32(yBuf, n);
  xBuf.destroy();
  yBuf.destroy();
  return y;
}

/** Uniform-ish integer with magnitude below 2^bits, random sign. */
function signedBits(r: () => number, bits: number): number {
  const mag = Math.floor((r() / 2 ** 32) * 2 ** bits);
  return r() & 1 ? -mag : mag;
}

async function check(
  t: Test,
  op: Op,
  inputs: Array<[number, number, number]>,
  ref: (a: number, b: number, s: number) => number,
  what: string,
): Promise<void> {
  const triples = new Uint32Array(inputs.length * 3);
  inputs.forEach(([a, b, s], i) => {
    triples[3 * i] = a >>> 0;
    triples[3 * i + 1] = b >>> 0;
    triples[3 * i + 2] = s >>> 0;
  });
  const got = await probe(op, triples);
  let bad = -1;
  for (let i = 0; i < inputs.length; i++) {
    if (got[i] !== (ref(...inputs[i]) | 0)) {
      bad = i;
      break;
    }
  }
  t.equal(
    bad,
    -1,
    bad < 0
      ? `${op}: ${what} (${inputs.length} values) = CPU`
      : `${op}(${inputs[bad].join(', ')}): GPU ${got[bad]} ≠ CPU ${ref(...inputs[bad])}`,
  );
}

const EDGE32 = [0, 1, -1, 2, -2, 3, -3, 127, -128, 32767, -32768, 65535, 0x7fffffff, -0x7fffffff, 1 << 30, -(1 << 30)];

t.test('rshr: every shift, ties, edges', async (t) => {
  const r = rng(1);
  const ins: Array<[number, number, number]> = [];
  for (let s = 0; s <= 31; s++) {
    for (const v of EDGE32) ins.push([v, 0, s]);
    for (let i = 0; i < 200; i++) ins.push([signedBits(r, 31), 0, s]);
    if (s > 0) for (let odd = -41; odd <= 41; odd += 2) if (Math.abs(odd * 2 ** (s - 1)) < 2 ** 31) ins.push([odd * 2 ** (s - 1), 0, s]);
  }
  await check(t, 'rshr', ins, (a, _b, s) => rshr(a, s), 'random, edges and exact ties at every shift');
});

t.test('mulShr: exact products up to 2^52, shifts 0..40, saturation', async (t) => {
  for (let seed = 1; seed <= 20; seed++) {
    const r = rng(100 + seed);
    const ins: Array<[number, number, number]> = [];
    for (let i = 0; i < 2000; i++) {
      const ab = 1 + (r() % 52); // total product bits
      const aBits = Math.min(31, 1 + (r() % ab));
      const bBits = Math.min(31, Math.max(0, ab - aBits));
      ins.push([signedBits(r, aBits), signedBits(r, bBits), r() % 41]);
    }
    // ties: a·b = odd·2^(s−1)
    for (let s = 1; s <= 40; s++) ins.push([(2 * (r() % 1000) + 1) * (s > 20 ? 1 << 10 : 1), 2 ** Math.min(30, s > 20 ? s - 11 : s - 1), s]);
    for (const a of [0x7fffffff, -0x7fffffff, 1 << 26, -(1 << 26)]) for (const b of [0x3ffffff, -0x3ffffff, 1, -1]) ins.push([a, b, r() % 41]);
    await check(t, 'mulShr', ins, (a, b, s) => mulShr(a, b, s), `seed ${seed}`);
  }
});

t.test('narrow: acc64 (lo, hi) below 2^52', async (t) => {
  const r = rng(7);
  const ins: Array<[number, number, number]> = [];
  const vals: number[] = [0, 1, -1, 2 ** 52 - 1, -(2 ** 52 - 1), 2 ** 32, -(2 ** 32), 2 ** 31, -(2 ** 31), 2 ** 31 - 1];
  for (let i = 0; i < 20000; i++) vals.push(signedBits(r, 1 + (r() % 52)));
  vals.forEach((v, i) => {
    const hi = Math.floor(v / 2 ** 32);
    const lo = v - hi * 2 ** 32;
    ins.push([lo, hi, i % 41]);
  });
  await check(t, 'narrow', ins, (lo, hi, s) => narrow((hi | 0) * 2 ** 32 + (lo >>> 0), s), 'random magnitudes, every shift 0..40');
});

t.test('divr, isqrt, bitlen', async (t) => {
  const r = rng(9);
  const d: Array<[number, number, number]> = [];
  for (let i = 0; i < 20000; i++) {
    const b = 1 + (r() % 2 ** (1 + (r() % 31)));
    const aMax = Math.floor((2 ** 32 - 1 - b) / 2);
    d.push([r() % (aMax + 1), b, 0]);
  }
  d.push([0, 1, 0], [1, 2, 0], [3, 2, 0], [Math.floor((2 ** 32 - 2) / 2), 1, 0]);
  await check(t, 'divr', d, (a, b) => divr(a >>> 0, b >>> 0), 'random with 2a + b < 2^32');
  const q: Array<[number, number, number]> = [];
  for (let i = 0; i < 20000; i++) q.push([r() >>> (r() % 32), 0, 0]);
  for (let k = 0; k < 65536; k += 97) q.push([k * k, 0, 0], [k * k - 1, 0, 0], [k * k + 1, 0, 0]);
  q.push([0xffffffff, 0, 0], [0xfffe0001, 0, 0], [0xfffe0000, 0, 0]);
  await check(t, 'isqrt', q, (a) => isqrt(a >>> 0), 'random, squares and neighbours, u32 max');
  await check(t, 'bitlen', q, (a) => bitlen(a >>> 0), 'same inputs');
});

t.test('polynomials over their whole Q15 domain', async (t) => {
  const all = (n: number): Array<[number, number, number]> => Array.from({ length: n }, (_, i) => [i, 0, 0]);
  await check(t, 'pow2neg', all(32768), (a) => pow2neg(a), 'x ∈ [0, 2^15)');
  await check(t, 'ln1p', all(32768), (a) => ln1p(a), 'x ∈ [0, 2^15)');
  await check(t, 'sinq', all(32769), (a) => sinq(a), 'x ∈ [0, 2^15]');
});

t.test('iexp over every input up to the cap, and far beyond', async (t) => {
  const ins: Array<[number, number, number]> = [];
  for (let a = 0; a <= 4194304 + 16; a++) ins.push([a, 0, 0]);
  for (const a of [2 ** 31 - 1, 2 ** 31, 2 ** 32 - 2, 2 ** 32 - 1, 5e6]) ins.push([a, 0, 0]);
  // The CPU takes d = −a as an exact double; the GPU takes the u32 magnitude.
  await check(t, 'iexp', ins, (a) => iexp(-(a >>> 0)), 'a ∈ [0, 2^22 + 16] and u32 extremes');
});

t.test('iln over Q15 sums', async (t) => {
  const r = rng(11);
  const ins: Array<[number, number, number]> = [];
  for (let s = 32768; s < 32768 * 64; s += 7) ins.push([s, 0, 0]);
  for (let i = 0; i < 20000; i++) ins.push([32768 + (r() % (2 ** 31 - 32768)), 0, 0]);
  ins.push([2 ** 31 - 1, 0, 0], [2 ** 23, 0, 0], [2 ** 27, 0, 0]);
  await check(t, 'iln', ins, (a) => iln(a >>> 0), 'S ∈ [2^15, 2^31)');
});

t.test('invSqrtQ16 for every even head size', async (t) => {
  const ins: Array<[number, number, number]> = [];
  for (let dh = 2; dh <= 256; dh += 2) ins.push([dh, 0, 0]);
  await check(t, 'invSqrtQ16', ins, (a) => invSqrtQ16(a), 'dh ∈ {2, 4, …, 256}');
});
