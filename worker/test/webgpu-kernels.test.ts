// The WGSL kernels against the CPU reference, byte for byte, on whatever WebGPU adapter this
// machine has (llvmpipe when there is no GPU). No adapter at all is a failure, not a skip: the
// worker's claim is that both backends give the same bits, and a skipped test proves nothing.

import t from 'tap';
import { matmulTernaryInt8, MAX_K_TERNARY } from '../src/kernels/webgpu/matmul-ternary-int8.ts';
import { matmulInt8Int8, MAX_K_INT8 } from '../src/kernels/webgpu/matmul-int8-int8.ts';
import { quantizeAbsmaxInt8, MAX_ABS_QUANT_INPUT } from '../src/kernels/webgpu/quantize-absmax-int8.ts';
import { addI32, clampI32, shiftRightRoundI32, type RoundingMode } from '../src/kernels/webgpu/elementwise-i32.ts';
import {
  packInt8Rows,
  packTernaryRows,
  unpackInt8Rows,
  unpackTernaryRows,
} from '../src/kernels/webgpu/packing.ts';
import { openTestGpu, rng } from './helpers/gpu.ts';

// ---- naive CPU references (to be replaced by worker/src/kernels/cpu once it lands) -----------

function refMatmulNT(a: Int8Array, b: Int8Array, m: number, k: number, n: number): Int32Array {
  const y = new Int32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < k; t++) s += a[i * k + t] * b[j * k + t];
      y[i * n + j] = s;
    }
  }
  return y;
}

function refQuantizeAbsmax(x: Int32Array, rows: number, cols: number): { q: Int8Array; scale: Int32Array } {
  const q = new Int8Array(rows * cols);
  const scale = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) s = Math.max(s, Math.abs(x[r * cols + c]));
    scale[r] = s;
    if (s === 0) continue;
    for (let c = 0; c < cols; c++) {
      const v = x[r * cols + c];
      // 127·|v|/s rounded half away from zero, in exact integer arithmetic (|v| ≤ 2^23).
      const mag = Math.floor((254 * Math.abs(v) + s) / (2 * s));
      q[r * cols + c] = v < 0 ? -mag : mag;
    }
  }
  return { q, scale };
}

function refShiftRightRound(x: Int32Array, s: number, mode: RoundingMode): Int32Array {
  const y = new Int32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = BigInt(x[i]);
    if (s === 0) {
      y[i] = x[i];
      continue;
    }
    const d = 1n << BigInt(s);
    // Floor division in BigInt (BigInt `/` truncates toward zero).
    let q = v / d;
    if (v % d !== 0n && v < 0n) q -= 1n;
    const r = v - q * d;
    const twice = 2n * r;
    let up = false;
    if (mode === 'halfUp') up = twice >= d;
    else if (mode === 'halfAway') up = twice > d || (twice === d && v >= 0n);
    else if (mode === 'halfEven') up = twice > d || (twice === d && (q & 1n) === 1n);
    y[i] = Number(q + (up ? 1n : 0n));
  }
  return y;
}

// ---- seeded randomness and comparison -----------------------------------------------------------

/** splitmix32: small, seedable, good enough to pick shapes and values. */
function intIn(r: () => number, lo: number, hi: number): number {
  return lo + (r() % (hi - lo + 1));
}
function randInt8(r: () => number, n: number, edgeBias = 0.1): Int8Array {
  const out = new Int8Array(n);
  for (let i = 0; i < n; i++) {
    const u = r() / 2 ** 32;
    out[i] = u < edgeBias / 2 ? -128 : u < edgeBias ? 127 : intIn(r, -128, 127);
  }
  return out;
}
function randTernary(r: () => number, n: number): Int8Array {
  const out = new Int8Array(n);
  for (let i = 0; i < n; i++) out[i] = (r() % 3) - 1;
  return out;
}

function bytes(a: ArrayBufferView): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}
function sameBytes(got: Int8Array | Int32Array, want: Int8Array | Int32Array): string | null {
  if (got.constructor !== want.constructor) return `type ${got.constructor.name} ≠ ${want.constructor.name}`;
  if (got.length !== want.length) return `length ${got.length} ≠ ${want.length}`;
  if (bytes(got).equals(bytes(want))) return null;
  for (let i = 0; i < got.length; i++) if (got[i] !== want[i]) return `first difference at [${i}]: ${got[i]} ≠ ${want[i]}`;
  return 'bytes differ';
}

// ---- the device --------------------------------------------------------------------------------

const ctx = await openTestGpu();

t.test('adapter genuinely runs WGSL', async (t) => {
  t.ok(ctx.opened.hasDot4I8Packed, 'dot4I8Packed (packed_4x8_integer_dot_product) available');
  // A kernel whose answer cannot come from anywhere but the shader.
  const y = await addI32(ctx, Int32Array.of(1, 2, 0x7fffffff), Int32Array.of(40, 3, 1));
  t.same([...y], [41, 5, -0x80000000], 'WGSL add ran (and wrapped like the CPU)');
});

t.test('packing round-trips', async (t) => {
  const r = rng(7);
  for (const [rows, cols] of [[1, 1], [3, 15], [2, 16], [5, 33], [4, 100]]) {
    const v8 = randInt8(r, rows * cols);
    t.equal(sameBytes(unpackInt8Rows(packInt8Rows(v8, rows, cols), rows, cols), v8), null, `int8 ${rows}×${cols}`);
    const v3 = randTernary(r, rows * cols);
    t.equal(sameBytes(unpackTernaryRows(packTernaryRows(v3, rows, cols), rows, cols), v3), null, `ternary ${rows}×${cols}`);
  }
  t.throws(() => packTernaryRows(Int8Array.of(2), 1, 1), RangeError, 'non-ternary weight rejected');
});

// ---- matmuls ------------------------------------------------------------------------------------

t.test('matmulTernaryInt8 = CPU, byte for byte', async (t) => {
  for (let seed = 1; seed <= 24; seed++) {
    const r = rng(seed);
    const m = intIn(r, 1, 70);
    const k = intIn(r, 1, 300);
    const n = intIn(r, 1, 70);
    const a = randInt8(r, m * k, 0.2);
    const w = randTernary(r, n * k);
    const got = await matmulTernaryInt8(ctx, a, w, m, k, n);
    t.equal(sameBytes(got, refMatmulNT(a, w, m, k, n)), null, `seed ${seed}: ${m}×${k}·${n}`);
  }
  // Max-magnitude sums: every term ±128 (−128 × ∓1) over a long K, both signs.
  for (const [k, av, wv] of [[131071, -128, 1], [131071, -128, -1], [65536, 127, 1]] as const) {
    const a = new Int8Array(2 * k).fill(av);
    const w = new Int8Array(3 * k).fill(wv);
    const got = await matmulTernaryInt8(ctx, a, w, 2, k, 3);
    t.equal(sameBytes(got, new Int32Array(6).fill(av * wv * k)), null, `all ${av}·${wv} over K=${k}: ${av * wv * k}`);
  }
  t.ok(MAX_K_TERNARY >= 131071);
});

t.test('matmulInt8Int8 = CPU, byte for byte', async (t) => {
  for (let seed = 101; seed <= 124; seed++) {
    const r = rng(seed);
    const m = intIn(r, 1, 70);
    const k = intIn(r, 1, 300);
    const n = intIn(r, 1, 70);
    const a = randInt8(r, m * k, 0.3);
    const b = randInt8(r, n * k, 0.3);
    const got = await matmulInt8Int8(ctx, a, b, m, k, n);
    t.equal(sameBytes(got, refMatmulNT(a, b, m, k, n)), null, `seed ${seed}: ${m}×${k}·${n}`);
  }
  // The largest K whose worst case fits i32: (−128)·(−128)·131071 = 2^31 − 2^14.
  const k = MAX_K_INT8;
  const a = new Int8Array(k).fill(-128);
  const b = new Int8Array(2 * k).fill(-128);
  b.fill(127, k);
  const got = await matmulInt8Int8(ctx, a, b, 1, k, 2);
  t.equal(sameBytes(got, Int32Array.of(16384 * k, -16256 * k)), null, `extreme sums over K=${k}`);
});

// ---- quantization -------------------------------------------------------------------------------

t.test('quantizeAbsmaxInt8 = CPU, byte for byte', async (t) => {
  for (let seed = 201; seed <= 224; seed++) {
    const r = rng(seed);
    const rows = intIn(r, 1, 40);
    const cols = intIn(r, 1, 700);
    const bound = [1, 127, 255, 1 << 12, MAX_ABS_QUANT_INPUT][seed % 5];
    const x = new Int32Array(rows * cols);
    for (let i = 0; i < x.length; i++) x[i] = intIn(r, -bound, bound);
    if (seed % 3 === 0) x.fill(0, 0, cols); // an all-zero row: scale 0, q 0
    if (seed % 4 === 0) x[0] = -bound; // the extreme itself
    const got = await quantizeAbsmaxInt8(ctx, x, rows, cols);
    const want = refQuantizeAbsmax(x, rows, cols);
    t.equal(sameBytes(got.q, want.q), null, `seed ${seed}: q ${rows}×${cols}, |x| ≤ ${bound}`);
    t.equal(sameBytes(got.scale, want.scale), null, `seed ${seed}: scale`);
  }
  // Rounding ties: with s = 254, 127·x/s = x/2, so odd x lands exactly on .5.
  const x = Int32Array.of(254, 1, -1, 3, -3, 5, -5, 253, -253, 0);
  const got = await quantizeAbsmaxInt8(ctx, x, 1, x.length);
  t.same([...got.q], [127, 1, -1, 2, -2, 3, -3, 127, -127, 0], 'ties round half away from zero');
  t.equal(sameBytes(got.q, refQuantizeAbsmax(x, 1, x.length).q), null, 'ties = CPU');
});

// ---- elementwise ------------------------------------------------------------------------------------

const I32_EDGES = [0, 1, -1, 2, -2, 0x7fffffff, -0x80000000, 0x7ffffffe, -0x7fffffff, 1 << 30, -(1 << 30)];

function randI32(r: () => number, n: number, withEdges: boolean): Int32Array {
  const x = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const u = r() % 8;
    x[i] = withEdges && u === 0 ? I32_EDGES[r() % I32_EDGES.length] : u < 4 ? intIn(r, -1000, 1000) : r() | 0;
  }
  return x;
}

t.test('addI32 = CPU, byte for byte (wrapping)', async (t) => {
  for (let seed = 301; seed <= 322; seed++) {
    const r = rng(seed);
    const n = intIn(r, 1, 5000);
    const a = randI32(r, n, true);
    const b = randI32(r, n, true);
    const want = new Int32Array(n);
    for (let i = 0; i < n; i++) want[i] = (a[i] + b[i]) | 0;
    t.equal(sameBytes(await addI32(ctx, a, b), want), null, `seed ${seed}: n=${n}`);
  }
});

t.test('shiftRightRoundI32 = CPU, byte for byte, every rounding mode', async (t) => {
  const modes: RoundingMode[] = ['floor', 'halfUp', 'halfAway', 'halfEven'];
  for (let seed = 401; seed <= 424; seed++) {
    const r = rng(seed);
    const shift = seed === 401 ? 0 : seed === 402 ? 31 : intIn(r, 1, 31);
    const n = intIn(r, 1, 3000);
    const x = randI32(r, n, true);
    // Exact ties (±odd·2^(s−1)) and their neighbours.
    if (shift > 0) {
      for (let i = 0; i + 2 < n && i < 60; i += 3) {
        const odd = 2 * intIn(r, -(2 ** Math.max(0, 30 - shift)), 2 ** Math.max(0, 30 - shift)) + 1;
        const tie = odd * 2 ** (shift - 1);
        if (tie >= -(2 ** 31) && tie < 2 ** 31) {
          x[i] = tie;
          x[i + 1] = (tie + 1) | 0;
          x[i + 2] = (tie - 1) | 0;
        }
      }
    }
    for (const mode of modes) {
      const got = await shiftRightRoundI32(ctx, x, shift, mode);
      t.equal(sameBytes(got, refShiftRightRound(x, shift, mode)), null, `seed ${seed}: >> ${shift} ${mode}, n=${n}`);
    }
  }
  const ties = Int32Array.of(1, -1, 3, -3, 5, -5, 0x7fffffff, -0x80000000);
  t.same([...(await shiftRightRoundI32(ctx, ties, 1, 'halfUp'))], [1, 0, 2, -1, 3, -2, 0x40000000, -0x40000000]);
  t.same([...(await shiftRightRoundI32(ctx, ties, 1, 'halfAway'))], [1, -1, 2, -2, 3, -3, 0x40000000, -0x40000000]);
  t.same([...(await shiftRightRoundI32(ctx, ties, 1, 'halfEven'))], [0, 0, 2, -2, 2, -2, 0x40000000, -0x40000000]);
});

t.test('clampI32 = CPU, byte for byte', async (t) => {
  for (let seed = 501; seed <= 522; seed++) {
    const r = rng(seed);
    const n = intIn(r, 1, 4000);
    const x = randI32(r, n, true);
    const [lo, hi] = seed % 4 === 0 ? [-128, 127] : seed % 4 === 1 ? [-0x80000000, 0x7fffffff] : [intIn(r, -5000, 0), intIn(r, 0, 5000)];
    const want = x.map((v) => Math.min(Math.max(v, lo), hi));
    t.equal(sameBytes(await clampI32(ctx, x, lo, hi), want), null, `seed ${seed}: [${lo}, ${hi}] n=${n}`);
  }
  await t.rejects(clampI32(ctx, Int32Array.of(1), 2, 1), RangeError, 'lo > hi rejected');
});
