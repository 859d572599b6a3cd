// Per-op test-vector cases: fixed inputs (xorshift32, seeded), and a runner that evaluates a
// case with the fast CPU kernels. generate.ts stores the results as JSON; cpu-vectors.test.ts
// re-runs the kernels and the BigInt reference against the stored outputs.

import { attention, attentionBackward } from '../../src/kernels/cpu/attention.ts';
import { loraBackward, loraForward, loraA12, loraB10 } from '../../src/kernels/cpu/lora.ts';
import { normquant, normquantBackward } from '../../src/kernels/cpu/normquant.ts';
import { iexp, iln } from '../../src/kernels/cpu/poly.ts';
import { relu2, relu2Backward } from '../../src/kernels/cpu/relu2.ts';
import { ropeApply, ropeBackward, ropeTable } from '../../src/kernels/cpu/rope.ts';
import { signumStep } from '../../src/kernels/cpu/signum.ts';
import { packTernary } from '../../src/kernels/cpu/ternary-pack.ts';
import { ternlin, ternlinBackward } from '../../src/kernels/cpu/ternlin.ts';
import { crossEntropy } from '../../src/kernels/cpu/xent.ts';

export function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s;
  };
}
/** integers uniform in [lo, hi] (hi − lo < 2^32) */
export function ints(rng: () => number, n: number, lo: number, hi: number): number[] {
  return Array.from({ length: n }, () => lo + (rng() % (hi - lo + 1)));
}

export type Vec = number[];
export interface Case { op: string; name: string; dims: Record<string, number>; inputs: Record<string, Vec>; outputs: Record<string, Vec> }

const i32 = (v: Vec) => Int32Array.from(v);
const i8 = (v: Vec) => Int8Array.from(v);
const arr = (x: ArrayLike<number>): Vec => Array.from(x);

/** Compute outputs of a case (inputs and dims only) with the fast kernels. */
export function runKernel(c: Omit<Case, 'outputs'>): Record<string, Vec> {
  const { T = 0, N = 0, K = 0, r = 0, H = 0, dh = 0 } = c.dims;
  const I = c.inputs;
  switch (c.op) {
    case 'normquant': {
      const nq = normquant(i32(I.v), T, K);
      const dv = normquantBackward(i32(I.dxn), i32(I.v), nq, T, K);
      return { x8: arr(nq.x8), sx: arr(nq.sx), rinv: arr(nq.rinv), z: arr(nq.z), dv: arr(dv) };
    }
    case 'ternlin': {
      const w = packTernary(i8(I.w), N, K);
      return {
        y: arr(ternlin(w, I.gamma[0], i8(I.x8), i32(I.sx), T)),
        dx: arr(ternlinBackward(w, I.gamma[0], i32(I.dy), T)),
      };
    }
    case 'lora': {
      const a12 = loraA12(i32(I.A));
      const b10 = loraB10(i32(I.B));
      const y = i32(I.y0);
      const u = loraForward(a12, b10, i8(I.x8), i32(I.sx), y, T, N, K, r);
      const gA = new BigInt64Array(r * K);
      const gB = new BigInt64Array(N * r);
      const dx = new Int32Array(T * K);
      loraBackward(a12, b10, i8(I.x8), i32(I.sx), u, i32(I.dy), gA, gB, dx, T, N, K, r);
      return { y: arr(y), u: arr(u), gA: Array.from(gA, Number), gB: Array.from(gB, Number), dx: arr(dx) };
    }
    case 'rope': {
      const tab = ropeTable(T, dh);
      return {
        cos: arr(tab.cos), sin: arr(tab.sin),
        y: arr(ropeApply(i32(I.x), tab, T, H, dh)), dx: arr(ropeBackward(i32(I.g), tab, T, H, dh)),
      };
    }
    case 'attention': {
      const att = attention(i32(I.q), i32(I.k), i32(I.v), T, H, dh);
      const g = attentionBackward(i32(I.do), att, i32(I.q), i32(I.k), i32(I.v), T, H, dh);
      return { o: arr(att.o), p: arr(att.p), dq: arr(g.dq), dk: arr(g.dk), dv: arr(g.dv) };
    }
    case 'relu2':
      return { y: arr(relu2(i32(I.f))), df: arr(relu2Backward(i32(I.f), i32(I.dy))) };
    case 'xent': {
      const dl = new Int32Array(T * 256);
      const loss = crossEntropy(i32(I.logits), Int16Array.from(I.targets), T, dl);
      return { loss: [loss], dlogits: arr(dl) };
    }
    case 'iexp':
      return { e: I.d.map(iexp), ln: I.s.map(iln) };
    case 'signum': {
      const p = i32(I.p);
      const m = i32(I.m);
      signumStep(p, m, BigInt64Array.from(I.g64, BigInt), I.shift[0], I.lr[0]);
      return { p: arr(p), m: arr(m) };
    }
    default:
      throw new Error(`unknown op ${c.op}`);
  }
}

/** The fixed inputs of every stored case. */
export function caseInputs(seed = 20251121): Omit<Case, 'outputs'>[] {
  const rng = xorshift(seed);
  const out: Omit<Case, 'outputs'>[] = [];
  const G = 1048575;
  {
    const T = 4, K = 8;
    // row 0 hand-checked in cpu-ops.test.ts; row 1 max magnitudes; row 2 zeros; row 3 random.
    const v = [1, -2, 4, 0, 0, 0, 0, 0, 2147483647, -2147483647, 1, -1, 1073741824, 0, 5, -5, 0, 0, 0, 0, 0, 0, 0, 0, ...ints(rng, 8, 0, 2 ** 21).map((x) => x - 2 ** 20)];
    out.push({ op: 'normquant', name: 'normquant-edges', dims: { T, K }, inputs: { v, dxn: ints(rng, T * K, 0, 2 * G).map((x) => x - G) } });
  }
  {
    const T = 5, N = 6, K = 16;
    const x8 = ints(rng, T * K, 0, 254).map((x) => x - 127);
    x8.fill(127, 0, K); // token 0: all +127 (largest accumulation)
    const dy = ints(rng, T * N, 0, 2 * G).map((x) => x - G);
    dy.fill(G, 0, N);
    out.push({ op: 'ternlin', name: 'ternlin', dims: { T, N, K }, inputs: {
      w: ints(rng, N * K, 0, 2).map((x) => x - 1), gamma: [23170] /* isqrt(2^33/16) */, x8, sx: ints(rng, T, 100000, 8000000), dy,
    } });
  }
  {
    const T = 3, N = 8, K = 8, r = 4;
    out.push({ op: 'lora', name: 'lora', dims: { T, N, K, r }, inputs: {
      A: ints(rng, r * K, 0, 131072).map((x) => x - 65536), B: ints(rng, N * r, 0, 131072).map((x) => x - 65536),
      x8: ints(rng, T * K, 0, 254).map((x) => x - 127), sx: ints(rng, T, 100000, 8000000),
      y0: ints(rng, T * N, 0, 2 ** 20), dy: ints(rng, T * N, 0, 2 * G).map((x) => x - G),
    } });
  }
  {
    const T = 5, H = 2, dh = 8;
    out.push({ op: 'rope', name: 'rope', dims: { T, H, dh }, inputs: {
      x: ints(rng, T * H * dh, 0, 4094).map((x) => x - 2047), g: ints(rng, T * H * dh, 0, 2 * G).map((x) => x - G),
    } });
  }
  {
    const T = 5, H = 2, dh = 4;
    const n = T * H * dh;
    out.push({ op: 'attention', name: 'attention', dims: { T, H, dh }, inputs: {
      // q, k of real size ≲ 1 so the softmax is not one-hot and dq, dk are informative
      q: ints(rng, n, 0, 600).map((x) => x - 300), k: ints(rng, n, 0, 600).map((x) => x - 300),
      v: ints(rng, n, 0, 4094).map((x) => x - 2047), do: ints(rng, n, 0, 2 ** 17).map((x) => x - 2 ** 16),
    } });
  }
  out.push({ op: 'relu2', name: 'relu2', dims: {}, inputs: {
    f: [0, 1, -1, 65536, 98304, 16777215, 16777216, 2147483647, -2147483647, ...ints(rng, 7, 0, 2 ** 22)],
    dy: [G, G, G, -G, G, -G, G, G, G, ...ints(rng, 7, 0, 2 * G).map((x) => x - G)],
  } });
  {
    const T = 3;
    const logits = ints(rng, T * 256, 0, 2 ** 22).map((x) => x - 2 ** 21);
    logits.fill(0, 256, 512); // token 1: uniform logits, loss = ln 256
    logits[512] = 2 ** 29; // token 2: one huge logit
    out.push({ op: 'xent', name: 'xent', dims: { T }, inputs: { logits, targets: [7, 200, 0] } });
  }
  out.push({ op: 'iexp', name: 'iexp-iln', dims: {}, inputs: {
    d: [0, -1, -32768, -45426, -65536, -1048576, -4194304, -2147483647, ...ints(rng, 8, 0, 2 ** 21).map((x) => -x)],
    s: [32768, 32769, 65535, 65536, 8388608, ...ints(rng, 5, 32768, 8388608)],
  } });
  out.push({ op: 'signum', name: 'signum', dims: {}, inputs: {
    p: [0, 65536, -65536, 100, -100, 5, 0, 0], m: [0, 0, 0, 7, -7, 1073741823, -1073741823, 3],
    g64: [0, 2 ** 40, -(2 ** 40), -3, 3, 2 ** 51, -(2 ** 51), 128], shift: [8], lr: [64],
  } });
  return out;
}
