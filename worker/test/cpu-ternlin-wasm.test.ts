// The WebAssembly SIMD ternlin (src/kernels/wasm) against the JS reference kernels
// (cpu/ternlin.ts ternlinJs, ternlinBackwardJs), the BigInt reference (vectors/reference.ts)
// and the stored vector ternlin.json: the same integers, element for element, on random and
// edge inputs. Also: the committed ternlin.wasm is ternlin.wat assembled.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { GRAD_MAX } from '../src/kernels/cpu/int.ts';
import { ternlin, ternlinBackward, ternlinBackwardJs, ternlinJs } from '../src/kernels/cpu/ternlin.ts';
import { packTernary } from '../src/kernels/cpu/ternary-pack.ts';
import { assemble, WASM_URL } from '../src/kernels/wasm/build.ts';
import { ternlinBackwardWasm, ternlinWasm, wasmTernlinAvailable } from '../src/kernels/wasm/ternlin.ts';
import * as ref from './vectors/reference.ts';

function rng(seed: number): (n: number) => number {
  let s = (seed * 2654435761) >>> 0 || 1;
  return (n) => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s % n;
  };
}

/** index of the first difference, or −1 */
function firstDiff(a: Int32Array, b: Int32Array): number {
  if (a.length !== b.length) return 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

interface Case {
  T: number; N: number; K: number; w: Int8Array; x8: Int8Array; sx: Int32Array; gamma: number; dy: Int32Array;
}

function randomCase(seed: number, T: number, N: number, K: number, mode: 'random' | 'max' | 'min128' | 'sat'): Case {
  const r = rng(seed);
  const w = new Int8Array(N * K);
  const x8 = new Int8Array(T * K);
  const dy = new Int32Array(T * N);
  const sx = new Int32Array(T);
  for (let i = 0; i < w.length; i++) w[i] = r(3) - 1;
  for (let i = 0; i < x8.length; i++) x8[i] = r(255) - 127;
  for (let i = 0; i < dy.length; i++) dy[i] = r(2 * GRAD_MAX + 1) - GRAD_MAX;
  for (let i = 0; i < T; i++) sx[i] = r(1 << 24);
  let gamma = 1000 + r(200000);
  if (mode === 'max') {
    // the largest |acc| and |Σ| the bounds allow: rows of all +1 / all −1, x8 = ±127, dy = ±G
    for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) w[n * K + k] = n % 3 === 0 ? 1 : n % 3 === 1 ? -1 : w[n * K + k];
    for (let tk = 0; tk < T; tk++) {
      const s = tk % 2 === 0 ? 127 : -127;
      for (let k = 0; k < K; k++) x8[tk * K + k] = s;
      for (let n = 0; n < N; n++) dy[tk * N + n] = tk % 2 === 0 ? GRAD_MAX : -GRAD_MAX;
    }
  } else if (mode === 'min128') {
    // x8 = −128 is outside SPEC's [−127, 127], but the kernels must still agree
    for (let i = 0; i < x8.length; i += 1 + r(3)) x8[i] = -128;
    for (let i = 0; i < N * 4 && i < N * K; i++) w[i] = 1;
  } else if (mode === 'sat') {
    // c_t and y at the int32 saturation bound
    for (let i = 0; i < T; i++) sx[i] = 2147483647 - r(1000);
    gamma = 2147483647 - r(1000);
    for (let i = 0; i < x8.length; i++) x8[i] = r(2) ? 127 : -127;
  }
  return { T, N, K, w, x8, sx, gamma, dy };
}

t.ok(wasmTernlinAvailable(), 'the wasm kernel loads in this Node');

t.test('committed ternlin.wasm = ternlin.wat assembled', async (t) => {
  const built = await assemble();
  t.ok(Buffer.from(built).equals(readFileSync(WASM_URL)), 'identical bytes (run worker/src/kernels/wasm/build.ts after editing the .wat)');
});

t.test('wasm = JS kernels on random and edge shapes', async (t) => {
  const shapes: [number, number, number][] = [
    [1, 1, 1], [1, 7, 3], [2, 8, 4], [3, 16, 5], [4, 9, 8], [5, 13, 7], [1, 255, 31], [7, 256, 33],
    [4, 257, 12], [9, 511, 18], [1, 1024, 64], [6, 1000, 9], [13, 2048, 17], [2, 4096, 10], [3, 4095, 6],
    [64, 64, 256], [33, 129, 65], [17, 300, 100], [8, 2048, 2048], [1, 4096, 1], [11, 62, 2047], [4, 64, 4],
  ];
  const modes = ['random', 'max', 'min128', 'sat'] as const;
  let seed = 1;
  let checked = 0;
  for (const [T, N, K] of shapes) {
    for (const mode of modes) {
      if (mode !== 'random' && T * N * K > 1 << 22) continue;
      const c = randomCase(seed++, T, N, K, mode);
      const w = packTernary(c.w, N, K);
      const yw = ternlinWasm(w, c.gamma, c.x8, c.sx, T);
      const yj = ternlinJs(w, c.gamma, c.x8, c.sx, T);
      const d1 = yw ? firstDiff(yw, yj) : -2;
      if (d1 !== -1) t.fail(`forward T=${T} N=${N} K=${K} ${mode}: first difference at ${d1}`);
      const dw = ternlinBackwardWasm(w, c.gamma, c.dy, T);
      const dj = ternlinBackwardJs(w, c.gamma, c.dy, T);
      const d2 = dw ? firstDiff(dw, dj) : -2;
      if (d2 !== -1) t.fail(`backward T=${T} N=${N} K=${K} ${mode}: first difference at ${d2}`);
      checked++;
    }
  }
  t.ok(checked >= 60, `${checked} cases (${seed - 1} seeds), forward and backward equal`);
});

t.test('wasm = BigInt reference (small shapes)', async (t) => {
  for (let seed = 100; seed < 110; seed++) {
    const r = rng(seed);
    const T = 1 + r(6), N = 1 + r(9), K = 1 + r(40);
    const c = randomCase(seed, T, N, K, seed % 3 === 0 ? 'max' : 'random');
    const w = packTernary(c.w, N, K);
    const wn = Array.from(c.w);
    const y = ref.ternlin(wn, BigInt(c.gamma), Array.from(c.x8, BigInt), Array.from(c.sx, BigInt), T, N, K);
    const dx = ref.ternlinBackward(wn, BigInt(c.gamma), Array.from(c.dy, BigInt), T, N, K);
    t.strictSame(Array.from(ternlinWasm(w, c.gamma, c.x8, c.sx, T) ?? []), y.map(Number), `forward ${T}×${N}×${K}`);
    t.strictSame(Array.from(ternlinBackwardWasm(w, c.gamma, c.dy, T) ?? []), dx.map(Number), `backward ${T}×${N}×${K}`);
  }
});

t.test('wasm reproduces the stored vector ternlin.json', async (t) => {
  const v = JSON.parse(readFileSync(new URL('./vectors/ternlin.json', import.meta.url), 'utf8'));
  const { T, N, K } = v.dims;
  const w = packTernary(Int8Array.from(v.inputs.w), N, K);
  const gamma = v.inputs.gamma[0];
  t.strictSame(Array.from(ternlinWasm(w, gamma, Int8Array.from(v.inputs.x8), Int32Array.from(v.inputs.sx), T) ?? []), v.outputs.y, 'y');
  t.strictSame(Array.from(ternlinBackwardWasm(w, gamma, Int32Array.from(v.inputs.dy), T) ?? []), v.outputs.dx, 'dx');
});

t.test('routing and errors', async (t) => {
  const c = randomCase(7, 5, 12, 40, 'random');
  const w = packTernary(c.w, 12, 40);
  t.strictSame(ternlin(w, c.gamma, c.x8, c.sx, 5), ternlinJs(w, c.gamma, c.x8, c.sx, 5), 'ternlin = ternlinJs');
  t.strictSame(ternlinBackward(w, c.gamma, c.dy, 5), ternlinBackwardJs(w, c.gamma, c.dy, 5), 'ternlinBackward = ternlinBackwardJs');
  // the same weights a second time come from the layout cache
  t.strictSame(ternlinWasm(w, c.gamma, c.x8, c.sx, 5), ternlinJs(w, c.gamma, c.x8, c.sx, 5), 'cached weights');
  for (const bad of [GRAD_MAX + 1, -GRAD_MAX - 1, 2147483647, -2147483648]) {
    const dy = c.dy.slice();
    dy[37] = bad;
    t.throws(() => ternlinBackwardWasm(w, c.gamma, dy, 5), RangeError, `dy = ${bad} rejected`);
  }
  t.strictSame(ternlinWasm(packTernary(new Int8Array(0), 3, 0), c.gamma, new Int8Array(0), c.sx, 2), new Int32Array(6), 'K = 0');
  t.strictSame(ternlinWasm(w, c.gamma, new Int8Array(0), new Int32Array(0), 0), new Int32Array(0), 'T = 0');
});
