// The SPEC ops on WebGPU against the CPU reference kernels (worker/src/kernels/cpu), byte for
// byte, ≥ 20 seeds each, with edge values: −128/127 activations, zero rows, ties, saturation,
// gradients at ±G, and the largest magnitudes the SPEC's bounds allow.

import t from 'tap';
import * as gpu from '../src/kernels/webgpu/ops.ts';
import { GRAD_MAX } from '../src/kernels/cpu/int.ts';
import { ternlin, ternlinBackward } from '../src/kernels/cpu/ternlin.ts';
import { packTernary } from '../src/kernels/cpu/ternary-pack.ts';
import { normquant, normquantBackward } from '../src/kernels/cpu/normquant.ts';
import { toq8 } from '../src/kernels/cpu/toq8.ts';
import { relu2, relu2Backward } from '../src/kernels/cpu/relu2.ts';
import { signumStep } from '../src/kernels/cpu/signum.ts';
import { ropeApply, ropeBackward, ropeTable } from '../src/kernels/cpu/rope.ts';
import { crossEntropy } from '../src/kernels/cpu/xent.ts';
import { loraA12, loraB10, loraBackward, loraForward } from '../src/kernels/cpu/lora.ts';
import { attention, attentionBackward } from '../src/kernels/cpu/attention.ts';
import { openTestGpu, rng } from './helpers/gpu.ts';

const ctx = await openTestGpu();

// ---- helpers ------------------------------------------------------------------------------------

function intIn(r: () => number, lo: number, hi: number): number {
  return lo + Math.floor((r() / 2 ** 32) * (hi - lo + 1));
}
/** Values in [−bound, bound] with a share of exact extremes and zeros. */
function ints(r: () => number, n: number, bound: number, edgeShare = 0.1): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const u = r() / 2 ** 32;
    out[i] = u < edgeShare / 3 ? bound : u < (2 * edgeShare) / 3 ? -bound : u < edgeShare ? 0 : intIn(r, -bound, bound);
  }
  return out;
}
function int8s(r: () => number, n: number): Int8Array {
  const out = new Int8Array(n);
  for (let i = 0; i < n; i++) {
    const u = r() % 10;
    out[i] = u === 0 ? -127 : u === 1 ? 127 : intIn(r, -127, 127);
  }
  return out;
}
function ternary(r: () => number, n: number): Int8Array {
  const out = new Int8Array(n);
  for (let i = 0; i < n; i++) out[i] = (r() % 3) - 1;
  return out;
}
function diff(got: ArrayLike<number | bigint>, want: ArrayLike<number | bigint>): string | null {
  if (got.length !== want.length) return `length ${got.length} ≠ ${want.length}`;
  for (let i = 0; i < got.length; i++) if (got[i] !== want[i] && !(Number.isNaN(got[i]) && Number.isNaN(want[i]))) return `[${i}]: GPU ${got[i]} ≠ CPU ${want[i]}`;
  return null;
}
function sameBytes(got: Int8Array | Int32Array, want: Int8Array | Int32Array): string | null {
  if (got.constructor !== want.constructor) return `type ${got.constructor.name} ≠ ${want.constructor.name}`;
  const a = Buffer.from(got.buffer, got.byteOffset, got.byteLength);
  const b = Buffer.from(want.buffer, want.byteOffset, want.byteLength);
  return a.equals(b) ? null : (diff(got, want) ?? 'bytes differ');
}

const SEEDS = 20;

// ---- ternlin ------------------------------------------------------------------------------------

t.test('ternlin forward = CPU', async (t) => {
  for (let seed = 1; seed <= SEEDS + 2; seed++) {
    const r = rng(seed);
    const T = intIn(r, 1, 40);
    const N = intIn(r, 1, 70);
    const K = seed === 1 ? 4096 : intIn(r, 1, 300);
    const w = ternary(r, N * K);
    const x8 = int8s(r, T * K);
    if (seed === 1) {
      // Max-magnitude accumulation: every term ±127 over K = 4096 (|acc| = 520192).
      x8.fill(127, 0, K);
      w.fill(1, 0, K);
    }
    const sx = ints(r, T, 2 ** 23 - 1);
    for (let i = 0; i < T; i++) sx[i] = Math.abs(sx[i]);
    const gamma = seed % 5 === 0 ? 65536 : intIn(r, 1, 65536);
    const pw = packTernary(w, N, K);
    const got = await gpu.ternlin(ctx, pw, gamma, x8, sx, T);
    t.equal(sameBytes(got, ternlin(pw, gamma, x8, sx, T)), null, `seed ${seed}: T=${T} N=${N} K=${K} γ=${gamma}`);
  }
});

t.test('ternlin backward = CPU', async (t) => {
  for (let seed = 31; seed <= 31 + SEEDS; seed++) {
    const r = rng(seed);
    const T = intIn(r, 1, 30);
    const N = seed === 31 ? 2048 : intIn(r, 1, 80);
    const K = intIn(r, 1, 200);
    const w = ternary(r, N * K);
    if (seed === 31) w.fill(1);
    const dy = ints(r, T * N, GRAD_MAX, seed === 31 ? 1 : 0.2);
    if (seed === 31) dy.fill(GRAD_MAX); // Σ = (2^20 − 1)·2048, the SPEC's i32 bound
    const gamma = intIn(r, 1, 65536);
    const pw = packTernary(w, N, K);
    const got = await gpu.ternlinBackward(ctx, pw, gamma, dy, T);
    t.equal(sameBytes(got, ternlinBackward(pw, gamma, dy, T)), null, `seed ${seed}: T=${T} N=${N} K=${K}`);
  }
  await t.rejects(gpu.ternlinBackward(ctx, packTernary(Int8Array.of(1), 1, 1), 1, Int32Array.of(GRAD_MAX + 1), 1), RangeError);
});

// ---- normquant ----------------------------------------------------------------------------------

t.test('normquant = CPU (x8, sx, rinv, z)', async (t) => {
  for (let seed = 61; seed <= 61 + SEEDS + 4; seed++) {
    const r = rng(seed);
    const T = intIn(r, 1, 12);
    const K = seed === 61 ? 4096 : seed === 62 ? 1 : intIn(r, 1, 1100);
    const bound = [1, 100, 65535, 2 ** 20, 2 ** 30, 2 ** 31 - 1][seed % 6];
    const v = ints(r, T * K, bound, 0.2);
    if (seed % 3 === 0) v.fill(0, 0, K); // zero row
    if (seed % 4 === 0 && T > 1) {
      v.fill(0, K, 2 * K); // one spike: max/rms = √K, the largest normalized amax
      v[K] = -bound;
    }
    const got = await gpu.normquant(ctx, v, T, K);
    const want = normquant(v, T, K);
    for (const f of ['x8', 'sx', 'rinv', 'z'] as const) {
      t.equal(sameBytes(got[f], want[f]), null, `seed ${seed}: ${f}, T=${T} K=${K} |v| ≤ ${bound}`);
    }
  }
  // SPEC §4.1: Σ m10² fits u32 only for K ≤ 4096; WebGPU refuses longer rows. The CPU takes
  // rows up to 32768 (SPEC v2 §4.1: Σ m10² an exact acc64) and refuses longer ones.
  t.throws(() => normquant(new Int32Array(32769), 1, 32769), RangeError, 'CPU: K = 32769 refused');
  await t.rejects(async () => gpu.normquant(ctx, new Int32Array(4097), 1, 4097), RangeError, 'WebGPU: K = 4097 refused');
});

t.test('normquant backward = CPU', async (t) => {
  for (let seed = 91; seed <= 91 + SEEDS; seed++) {
    const r = rng(seed);
    const T = intIn(r, 1, 12);
    const K = intIn(r, 1, 600);
    const v = ints(r, T * K, [255, 2 ** 16, 2 ** 30][seed % 3], 0.2);
    if (seed % 4 === 0) v.fill(0, 0, K);
    const nq = normquant(v, T, K);
    const dxn = ints(r, T * K, GRAD_MAX, 0.2);
    const got = await gpu.normquantBackward(ctx, dxn, v, nq, T, K);
    t.equal(sameBytes(got, normquantBackward(dxn, v, nq, T, K)), null, `seed ${seed}: T=${T} K=${K}`);
  }
});

// ---- elementwise SPEC ops -------------------------------------------------------------------------

t.test('toq8 = CPU', async (t) => {
  for (let seed = 121; seed <= 121 + SEEDS; seed++) {
    const r = rng(seed);
    const y = ints(r, intIn(r, 1, 5000), [600000, 2 ** 31 - 1][seed % 2], 0.1);
    // ties of rshr(·, 8): ±(odd·128)
    for (let i = 0; i < Math.min(40, y.length); i++) y[i] = (2 * intIn(r, -3000, 3000) + 1) * 128;
    t.equal(sameBytes(await gpu.toq8(ctx, y), toq8(y)), null, `seed ${seed}: n=${y.length}`);
  }
});

t.test('relu2 forward and backward = CPU', async (t) => {
  for (let seed = 151; seed <= 151 + SEEDS; seed++) {
    const r = rng(seed);
    const n = intIn(r, 1, 5000);
    const f = ints(r, n, [2 ** 24, 2 ** 24 + 5, 2 ** 31 - 1, 70000][seed % 4], 0.2);
    f[0] = 2 ** 24;
    if (n > 1) f[1] = 2 ** 24 - 1;
    const dy = ints(r, n, GRAD_MAX, 0.2);
    t.equal(sameBytes(await gpu.relu2(ctx, f), relu2(f)), null, `seed ${seed}: forward n=${n}`);
    t.equal(sameBytes(await gpu.relu2Backward(ctx, f, dy), relu2Backward(f, dy)), null, `seed ${seed}: backward`);
  }
});

t.test('signumStep = CPU (param and momentum in place)', async (t) => {
  for (let seed = 181; seed <= 181 + SEEDS; seed++) {
    const r = rng(seed);
    const n = intIn(r, 1, 3000);
    const param = ints(r, n, 65536, 0.2);
    const momentum = ints(r, n, 2 ** 30 - 1, 0.2);
    const grad = new BigInt64Array(n);
    for (let i = 0; i < n; i++) {
      const bits = intIn(r, 0, 51);
      grad[i] = BigInt((r() & 1 ? -1 : 1) * Math.floor((r() / 2 ** 32) * 2 ** bits));
    }
    grad[0] = 2n ** 52n - 1n;
    if (n > 1) grad[1] = -(2n ** 52n - 1n);
    const shift = seed % 2 ? 16 : 8;
    const lr = intIn(r, 0, 4096);
    const [p1, m1] = [param.slice(), momentum.slice()];
    signumStep(p1, m1, grad, shift, lr);
    const [p2, m2] = [param.slice(), momentum.slice()];
    await gpu.signumStep(ctx, p2, m2, grad, shift, lr);
    t.equal(sameBytes(p2, p1), null, `seed ${seed}: param n=${n} shift=${shift} lr=${lr}`);
    t.equal(sameBytes(m2, m1), null, `seed ${seed}: momentum`);
  }
});

// ---- RoPE ---------------------------------------------------------------------------------------

t.test('ropeTable = CPU for every even dh, positions through u32 wrap', async (t) => {
  let checked = 0;
  for (let dh = 2; dh <= 256; dh += 2) {
    const T = dh % 64 === 0 ? 4096 : 64;
    const got = await gpu.ropeTable(ctx, T, dh);
    const want = ropeTable(T, dh);
    const bad = sameBytes(got.cos, want.cos) ?? sameBytes(got.sin, want.sin);
    if (bad !== null) t.fail(`dh=${dh} T=${T}: ${bad}`);
    checked++;
  }
  t.equal(checked, 128, 'cos and sin tables identical for dh = 2..256 (T = 4096 for multiples of 64)');
});

t.test('ropeApply and ropeBackward = CPU', async (t) => {
  for (let seed = 211; seed <= 211 + SEEDS; seed++) {
    const r = rng(seed);
    const T = intIn(r, 1, 40);
    const H = intIn(r, 1, 4);
    const dh = 2 * intIn(r, 1, 32);
    const tab = ropeTable(T, dh);
    const x = ints(r, T * H * dh, 2047, 0.2);
    const g = ints(r, T * H * dh, seed % 2 ? GRAD_MAX : 2 ** 31 - 1, 0.2);
    t.equal(sameBytes(await gpu.ropeApply(ctx, x, tab, T, H, dh), ropeApply(x, tab, T, H, dh)), null, `seed ${seed}: apply T=${T} H=${H} dh=${dh}`);
    t.equal(sameBytes(await gpu.ropeBackward(ctx, g, tab, T, H, dh), ropeBackward(g, tab, T, H, dh)), null, `seed ${seed}: backward`);
  }
});

// ---- cross-entropy -------------------------------------------------------------------------------

t.test('crossEntropy = CPU (loss sum and dlogits)', async (t) => {
  for (let seed = 241; seed <= 241 + SEEDS + 2; seed++) {
    const r = rng(seed);
    const T = intIn(r, 1, 50);
    const bound = [1, 65536, 2 ** 20, 2 ** 24, 2 ** 31 - 1][seed % 5];
    const logits = ints(r, T * 256, bound, 0.05);
    if (seed === 241) {
      // The widest spread: one logit at +max, the rest at −max (mx − y = 2^32 − 2).
      logits.fill(-(2 ** 31 - 1));
      logits[0] = 2 ** 31 - 1;
    }
    if (seed === 242) logits.fill(12345); // a flat row: S = 256·2^15 = 2^23
    const targets = new Int16Array(T);
    for (let i = 0; i < T; i++) targets[i] = r() % 7 === 0 ? -1 : intIn(r, 0, 255);
    if (seed === 241) targets[0] = 1;
    const d1 = new Int32Array(T * 256).fill(7);
    const d2 = new Int32Array(T * 256).fill(9);
    const want = crossEntropy(logits, targets, T, d1);
    const got = await gpu.crossEntropy(ctx, logits, targets, T, d2);
    t.equal(got, want, `seed ${seed}: loss T=${T} |y| ≤ ${bound}`);
    t.equal(sameBytes(d2, d1), null, `seed ${seed}: dlogits`);
  }
});

// ---- LoRA ---------------------------------------------------------------------------------------

t.test('loraA12 / loraB10 = CPU', async (t) => {
  for (let seed = 271; seed <= 271 + SEEDS; seed++) {
    const r = rng(seed);
    const a = ints(r, intIn(r, 1, 3000), seed % 2 ? 65536 : 2 ** 31 - 1, 0.2);
    for (let i = 0; i < Math.min(30, a.length); i++) a[i] = (2 * intIn(r, -5000, 5000) + 1) * (seed % 2 ? 8 : 32); // ties
    t.equal(sameBytes(await gpu.loraA12(ctx, a), loraA12(a)), null, `seed ${seed}: A12 n=${a.length}`);
    t.equal(sameBytes(await gpu.loraB10(ctx, a), loraB10(a)), null, `seed ${seed}: B10`);
  }
});

function loraCase(seed: number) {
  const r = rng(seed);
  const T = intIn(r, 1, 24);
  const N = intIn(r, 1, 40);
  const K = seed % 7 === 0 ? 1024 : intIn(r, 1, 130);
  const rank = [4, 8, 16, 64, 5][seed % 5];
  const a12 = loraA12(ints(r, rank * K, 65536, 0.2));
  const b10 = loraB10(ints(r, N * rank, 65536, 0.2));
  const x8 = int8s(r, T * K);
  if (seed % 7 === 0) {
    // Max-magnitude down-projection: A12 = 2^12 against x8 = 127 over K = 1024 (Σ ≈ 2^29).
    a12.fill(4096, 0, K);
    x8.fill(127, 0, K);
  }
  const sx = ints(r, T, 2 ** 23 - 1, 0.2).map(Math.abs);
  const y = ints(r, T * N, 2 ** 31 - 1, 0.1);
  return { r, T, N, K, rank, a12, b10, x8, sx, y };
}

t.test('loraForward = CPU (u, and y in place)', async (t) => {
  for (let seed = 301; seed <= 301 + SEEDS + 1; seed++) {
    const { T, N, K, rank, a12, b10, x8, sx, y } = loraCase(seed);
    const y1 = y.slice();
    const y2 = y.slice();
    const u1 = loraForward(a12, b10, x8, sx, y1, T, N, K, rank);
    const u2 = await gpu.loraForward(ctx, a12, b10, x8, sx, y2, T, N, K, rank);
    t.equal(sameBytes(u2, u1), null, `seed ${seed}: u T=${T} N=${N} K=${K} r=${rank}`);
    t.equal(sameBytes(y2, y1), null, `seed ${seed}: y`);
  }
});

t.test('loraBackward = CPU (gA, gB in place; dx term written)', async (t) => {
  for (let seed = 331; seed <= 331 + SEEDS + 1; seed++) {
    const { r, T, N, K, rank, a12, b10, x8, sx } = loraCase(seed);
    const u = ints(r, T * rank, 4096, 0.2);
    const dy = ints(r, T * N, GRAD_MAX, seed % 4 === 0 ? 1 : 0.2);
    const gA0 = BigInt64Array.from({ length: rank * K }, () => BigInt((r() & 1 ? -1 : 1) * Math.floor((r() / 2 ** 32) * 2 ** 40)));
    const gB0 = BigInt64Array.from({ length: N * rank }, () => BigInt((r() & 1 ? -1 : 1) * Math.floor((r() / 2 ** 32) * 2 ** 40)));
    // dx receives lora's term (written, not added): both sides start from the same stale values.
    const dx0 = Int32Array.from({ length: T * K }, () => intIn(r, -(2 ** 31 - 1), 2 ** 31 - 1));
    const [gA1, gB1, dx1] = [gA0.slice(), gB0.slice(), dx0.slice()];
    const [gA2, gB2, dx2] = [gA0.slice(), gB0.slice(), dx0.slice()];
    loraBackward(a12, b10, x8, sx, u, dy, gA1, gB1, dx1, T, N, K, rank);
    await gpu.loraBackward(ctx, a12, b10, x8, sx, u, dy, gA2, gB2, dx2, T, N, K, rank);
    t.equal(diff(gA2, gA1), null, `seed ${seed}: gA T=${T} N=${N} K=${K} r=${rank}`);
    t.equal(diff(gB2, gB1), null, `seed ${seed}: gB`);
    t.equal(diff(dx2, dx1), null, `seed ${seed}: dx`);
  }
});

// ---- attention ----------------------------------------------------------------------------------

t.test('attention forward and backward = CPU', async (t) => {
  for (let seed = 361; seed <= 361 + SEEDS + 1; seed++) {
    const r = rng(seed);
    const T = seed === 361 ? 130 : intIn(r, 1, 40);
    const H = intIn(r, 1, 3);
    const dh = seed === 362 ? 256 : 2 * intIn(r, 1, 32);
    const n = T * H * dh;
    const qr = ints(r, n, 2047, 0.2);
    const kr = ints(r, n, 2047, 0.2);
    const v8 = ints(r, n, 2047, 0.2);
    if (seed % 5 === 0) {
      // Saturated operands: the largest scores and the sharpest softmax.
      qr.fill(2047);
      kr.fill(seed % 2 ? 2047 : -2047);
    }
    const dout = ints(r, n, GRAD_MAX, seed % 4 === 0 ? 1 : 0.2);
    const want = attention(qr, kr, v8, T, H, dh);
    const got = await gpu.attention(ctx, qr, kr, v8, T, H, dh);
    t.equal(sameBytes(got.p, want.p), null, `seed ${seed}: P T=${T} H=${H} dh=${dh}`);
    t.equal(sameBytes(got.o, want.o), null, `seed ${seed}: o`);
    const gw = attentionBackward(dout, want, qr, kr, v8, T, H, dh);
    const gg = await gpu.attentionBackward(ctx, dout, want, qr, kr, v8, T, H, dh);
    t.equal(sameBytes(gg.dq, gw.dq), null, `seed ${seed}: dq`);
    t.equal(sameBytes(gg.dk, gw.dk), null, `seed ${seed}: dk`);
    t.equal(sameBytes(gg.dv, gw.dv), null, `seed ${seed}: dv`);
  }
});
