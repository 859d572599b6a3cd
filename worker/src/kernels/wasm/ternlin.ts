// ternlin (SPEC §4.2) on WebAssembly SIMD: the same integers as cpu/ternlin.ts, faster. The
// JS kernel stays the readable reference; worker/test/cpu-ternlin-wasm.test.ts proves this one
// equal to it. The kernel (ternlin.wat, assembled into the committed ternlin.wasm by build.ts)
// uses only plain 128-bit SIMD, whose results are fully defined: no relaxed SIMD, no floats.
//
// Forward: W's rows are paired into i16 (P = W[2p] + 2^14·W[2p+1], see ternlin.wat), x8 is
// widened to i16, and `i32x4.dot_i16x8_s` gives 16 multiply-adds per instruction; the per-token
// dequant mulShr(acc, c_t, 8) runs in wasm on the exact i64 product.
// Backward: dx = Wᵀ·dy with dy (|dy| ≤ 2^20 − 1) split into three base-2^7 digits in [−64, 64],
// each a row through the same paired kernel over Wᵀ, joined as d0 + 2^7·d1 + 2^14·d2 in i32
// (the true Σ is an i32 by SPEC §4.2) before mulShr(·, γ, 16).
// Operands are copied into the instance's memory per call (weights as cached i16 layouts):
// O(T·K + N·K) copying against O(T·N·K) work.

import { readFileSync } from 'node:fs';
import { GRAD_MAX, mulShr } from '../cpu/int.ts';
import type { PackedTernary } from '../cpu/ternary-pack.ts';

interface Exports {
  memory: WebAssembly.Memory;
  /** returns 1 if some value is −128 */
  prepx(src: number, dst: number, rows: number, kp: number): number;
  mm(x: number, p: number, out: number, rows: number, pairs: number, kp: number, chunk: number, ostride: number): void;
  /** h = 2^(s−1), inv = 2^−s */
  dequant(acc: number, stride: number, c: number, y: number, T: number, N: number, h: number, inv: number): void;
  /** returns 1 if some |dy| > G */
  splitdy(src: number, dst: number, T: number, N: number, tp: number, np: number): number;
  joindx(r: number, stride: number, tp: number): void;
}

let inst: Exports | null | undefined;

function load(): Exports | null {
  if (inst !== undefined) return inst;
  try {
    const bytes = readFileSync(new URL('./ternlin.wasm', import.meta.url));
    inst = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports as unknown as Exports;
  } catch {
    inst = null;
  }
  return inst;
}

/** Whether the wasm kernel loaded (WebAssembly SIMD available and ternlin.wasm readable). */
export function wasmTernlinAvailable(): boolean {
  return load() !== null;
}

const up = (x: number, m: number): number => Math.ceil(x / m) * m;

/** Weight bytes per `mm` call: column groups whose paired rows stay in cache over all tokens. */
const GROUP_BYTES = 1 << 17;

/** mm over column groups of at most GROUP_BYTES of weights (out rows are 2·pairs i32s). */
function mmGrouped(e: Exports, x: number, p: number, out: number, rows: number, pairs: number, kp: number, chunk: number): void {
  const g = Math.max(2, Math.floor(GROUP_BYTES / (kp * 4)) * 2); // pairs per group, even
  for (let p0 = 0; p0 < pairs; p0 += g) {
    e.mm(x, p + p0 * kp * 2, out + p0 * 8, rows, Math.min(g, pairs - p0), kp, chunk, 2 * pairs);
  }
}
const SCRATCH = 256; // the kernel's long accumulators live at [0, 256)

/** Byte offsets of consecutive regions (16-aligned) after the scratch; grows memory to fit. */
function regions(e: Exports, sizes: number[]): number[] {
  const offs: number[] = [];
  let o = SCRATCH;
  for (const s of sizes) {
    offs.push(o);
    o += up(s, 16);
  }
  const have = e.memory.buffer.byteLength;
  if (o > have) e.memory.grow(Math.ceil((o - have) / 65536));
  return offs;
}

/**
 * Paired i16 layout (ternlin.wat's P): rows padded to 4, inner to 8; row r's entry at inner
 * index i goes to pair p = r >> 1 with weight 1 (even r) or 2^14 (odd r).
 */
function pairLayout(rows4: number, inner8: number, visit: (add: (r: number, i: number, v: number) => void) => void): Int16Array {
  const out = new Int16Array((rows4 / 2) * inner8);
  const blk = (inner8 / 8) * 16;
  visit((r, i, v) => {
    const p = r >> 1;
    out[(p >> 1) * blk + (i >> 3) * 16 + (p & 1) * 8 + (i & 7)] += (r & 1 ? 16384 : 1) * v;
  });
  return out;
}

function forEachEntry(w: PackedTernary, f: (n: number, k: number, v: number) => void): void {
  const { rows, idx, start, mid } = w;
  for (let n = 0; n < rows; n++) {
    for (let i = start[n]; i < mid[n]; i++) f(n, idx[i], 1);
    for (let i = mid[n]; i < start[n + 1]; i++) f(n, idx[i], -1);
  }
}

const fwdCache = new WeakMap<PackedTernary, Int16Array>();
const bwdCache = new WeakMap<PackedTernary, Int16Array>();

function fwdPairs(w: PackedTernary): Int16Array {
  let p = fwdCache.get(w);
  if (!p) {
    p = pairLayout(up(w.rows, 4), up(w.cols, 8), (add) => forEachEntry(w, (n, k, v) => add(n, k, v)));
    fwdCache.set(w, p);
  }
  return p;
}

function bwdPairs(w: PackedTernary): Int16Array {
  let p = bwdCache.get(w);
  if (!p) {
    p = pairLayout(up(w.cols, 4), up(w.rows, 8), (add) => forEachEntry(w, (n, k, v) => add(k, n, v)));
    bwdCache.set(w, p);
  }
  return p;
}

const isI32 = (v: number): boolean => Number.isInteger(v) && v >= -2147483648 && v <= 2147483647;

/** cpu/ternlin.ts `ternlin` in wasm; null when the wasm kernel is unavailable. */
export function ternlinWasm(w: PackedTernary, gamma: number, x8: Int8Array, sx: Int32Array, T: number): Int32Array | null {
  const e = load();
  const { rows: N, cols: K } = w;
  if (!e || !isI32(gamma)) return null;
  if (T === 0 || N === 0 || K === 0) return new Int32Array(T * N);
  const Tp = up(T, 4);
  const Kp = up(K, 8);
  const pairs = up(N, 4) / 2;
  const Np = 2 * pairs;
  const P = fwdPairs(w);
  const [src, X, Pw, out, c, y] = regions(e, [Tp * Kp, Tp * Kp * 2, P.byteLength, Tp * Np * 4, T * 4, T * N * 4]);
  const mem = e.memory.buffer;
  const u8 = new Int8Array(mem);
  if (Kp === K) {
    u8.set(x8.subarray(0, T * K), src);
    u8.fill(0, src + T * K, src + Tp * Kp);
  } else {
    u8.fill(0, src, src + Tp * Kp);
    for (let t = 0; t < T; t++) u8.set(x8.subarray(t * K, (t + 1) * K), src + t * Kp);
  }
  new Int16Array(mem, Pw, P.length).set(P);
  const cs = new Int32Array(mem, c, T);
  for (let t = 0; t < T; t++) cs[t] = mulShr(sx[t], gamma, 16);
  const has128 = e.prepx(src, X, Tp, Kp);
  mmGrouped(e, X, Pw, out, Tp, pairs, Kp, has128 ? 31 : 32);
  e.dequant(out, Np, c, y, T, N, 2 ** 7, 2 ** -8);
  return new Int32Array(mem, y, T * N).slice();
}

/** cpu/ternlin.ts `ternlinBackward` in wasm; null when the wasm kernel is unavailable. */
export function ternlinBackwardWasm(w: PackedTernary, gamma: number, dy: Int32Array, T: number): Int32Array | null {
  const e = load();
  const { rows: N, cols: K } = w;
  if (!e || !isI32(gamma)) return null;
  const outOfRange = (): RangeError => new RangeError('ternlinBackward: gradient out of range');
  if (T === 0 || N === 0 || K === 0) {
    for (let i = 0; i < T * N; i++) if (dy[i] > GRAD_MAX || dy[i] < -GRAD_MAX) throw outOfRange();
    return new Int32Array(T * K);
  }
  const Tp = up(T, 4);
  const N8 = up(N, 8);
  const kpairs = up(K, 4) / 2;
  const Kr = 2 * kpairs;
  const P = bwdPairs(w);
  const [src, dig, X, Pw, R, g, dx] = regions(e, [T * N * 4, 3 * Tp * N8, 3 * Tp * N8 * 2, P.byteLength, 3 * Tp * Kr * 4, T * 4, T * K * 4]);
  const mem = e.memory.buffer;
  new Int32Array(mem, src, T * N).set(dy.subarray(0, T * N));
  new Int8Array(mem).fill(0, dig, dig + 3 * Tp * N8);
  new Int16Array(mem, Pw, P.length).set(P);
  new Int32Array(mem, g, T).fill(gamma);
  if (e.splitdy(src, dig, T, N, Tp, N8)) throw outOfRange(); // checks |dy| ≤ G as it splits
  e.prepx(dig, X, 3 * Tp, N8); // digits are in [−64, 64]: chunks of 32
  mmGrouped(e, X, Pw, R, 3 * Tp, kpairs, N8, 32);
  e.joindx(R, Kr, Tp);
  e.dequant(R, Kr, g, dx, T, K, 2 ** 15, 2 ** -16);
  return new Int32Array(mem, dx, T * K).slice();
}
