// The stored per-op test vectors (test/vectors/*.json, SPEC.md §9) run through the WebGPU
// kernels: every output must equal the stored one (which the CPU kernels and the independent
// BigInt reference also reproduce) and hash to the stored SHA-256.

import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import * as gpu from '../src/kernels/webgpu/ops.ts';
import { withPrelude } from '../src/kernels/webgpu/prelude.ts';
import { vectorHash } from './vectors/hash.ts';
import { openTestGpu } from './helpers/gpu.ts';

type Vec = number[];
interface StoredCase {
  op: string;
  name: string;
  dims: Record<string, number>;
  inputs: Record<string, Vec>;
  outputs: Record<string, Vec>;
  sha256: Record<string, string>;
}

const ctx = await openTestGpu();

// iexp and iln have no kernel of their own (they live inside softmax and xent); this probe runs
// the very WGSL functions those kernels call.
const POLY_PROBE = withPrelude(
  `
struct Params { n: u32, op: u32, p2: u32, p3: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<i32>;
@group(0) @binding(2) var<storage, read_write> y: array<i32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3u) {
  if (g.x >= p.n) { return; }
  // iexp takes d ≤ 0; the kernels pass its magnitude as a u32.
  y[g.x] = select(iln(u32(x[g.x])), iexpNeg(u32(-x[g.x])), p.op == 0u);
}
`,
  { poly: true },
);

async function probe(op: 0 | 1, xs: Vec): Promise<Vec> {
  const xb = ctx.upload(Int32Array.from(xs));
  const yb = ctx.storage(xs.length);
  await ctx.run((e) => ctx.dispatch(e, ctx.pipeline(POLY_PROBE), [ctx.uniform([xs.length, op]), xb, yb], [Math.ceil(xs.length / 64)]));
  const y = Array.from(await ctx.readI32(yb, xs.length));
  xb.destroy();
  yb.destroy();
  return y;
}

/** Dense ternary int8 → the CPU's sparse form (the GPU wrappers take the CPU's types). */
function sparse(w: Int8Array, rows: number, cols: number) {
  const idx: number[] = [];
  const start = new Int32Array(rows + 1);
  const mid = new Int32Array(rows);
  for (let n = 0; n < rows; n++) {
    start[n] = idx.length;
    for (let k = 0; k < cols; k++) if (w[n * cols + k] === 1) idx.push(k);
    mid[n] = idx.length;
    for (let k = 0; k < cols; k++) if (w[n * cols + k] === -1) idx.push(k);
  }
  start[rows] = idx.length;
  return { rows, cols, idx: Int32Array.from(idx), start, mid };
}

const i32 = (v: Vec) => Int32Array.from(v);
const i8 = (v: Vec) => Int8Array.from(v);
const arr = (x: ArrayLike<number>): Vec => Array.from(x);

async function runGpu(c: StoredCase): Promise<Record<string, Vec>> {
  const { T = 0, N = 0, K = 0, r = 0, H = 0, dh = 0 } = c.dims;
  const I = c.inputs;
  switch (c.op) {
    case 'normquant': {
      const nq = await gpu.normquant(ctx, i32(I.v), T, K);
      const dv = await gpu.normquantBackward(ctx, i32(I.dxn), i32(I.v), nq, T, K);
      return { x8: arr(nq.x8), sx: arr(nq.sx), rinv: arr(nq.rinv), z: arr(nq.z), dv: arr(dv) };
    }
    case 'ternlin': {
      const w = sparse(i8(I.w), N, K);
      return {
        y: arr(await gpu.ternlin(ctx, w, I.gamma[0], i8(I.x8), i32(I.sx), T)),
        dx: arr(await gpu.ternlinBackward(ctx, w, I.gamma[0], i32(I.dy), T)),
      };
    }
    case 'lora': {
      const a12 = await gpu.loraA12(ctx, i32(I.A));
      const b10 = await gpu.loraB10(ctx, i32(I.B));
      const y = i32(I.y0);
      const u = await gpu.loraForward(ctx, a12, b10, i8(I.x8), i32(I.sx), y, T, N, K, r);
      const gA = new BigInt64Array(r * K);
      const gB = new BigInt64Array(N * r);
      const dx = new Int32Array(T * K);
      await gpu.loraBackward(ctx, a12, b10, i8(I.x8), i32(I.sx), u, i32(I.dy), gA, gB, dx, T, N, K, r);
      return { y: arr(y), u: arr(u), gA: Array.from(gA, Number), gB: Array.from(gB, Number), dx: arr(dx) };
    }
    case 'rope': {
      const tab = await gpu.ropeTable(ctx, T, dh);
      return {
        cos: arr(tab.cos),
        sin: arr(tab.sin),
        y: arr(await gpu.ropeApply(ctx, i32(I.x), tab, T, H, dh)),
        dx: arr(await gpu.ropeBackward(ctx, i32(I.g), tab, T, H, dh)),
      };
    }
    case 'attention': {
      const att = await gpu.attention(ctx, i32(I.q), i32(I.k), i32(I.v), T, H, dh);
      const g = await gpu.attentionBackward(ctx, i32(I.do), att, i32(I.q), i32(I.k), i32(I.v), T, H, dh);
      return { o: arr(att.o), p: arr(att.p), dq: arr(g.dq), dk: arr(g.dk), dv: arr(g.dv) };
    }
    case 'relu2':
      return { y: arr(await gpu.relu2(ctx, i32(I.f))), df: arr(await gpu.relu2Backward(ctx, i32(I.f), i32(I.dy))) };
    case 'xent': {
      const dl = new Int32Array(T * 256);
      const loss = await gpu.crossEntropy(ctx, i32(I.logits), Int16Array.from(I.targets), T, dl);
      return { loss: [loss], dlogits: arr(dl) };
    }
    case 'iexp':
      return { e: await probe(0, I.d), ln: await probe(1, I.s) };
    case 'signum': {
      const p = i32(I.p);
      const m = i32(I.m);
      await gpu.signumStep(ctx, p, m, BigInt64Array.from(I.g64, BigInt), I.shift[0], I.lr[0]);
      return { p: arr(p), m: arr(m) };
    }
    default:
      throw new Error(`unknown op ${c.op}: add it to the WebGPU vector runner`);
  }
}

const dir = new URL('./vectors/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.json') && f !== 'train-step.json').sort();
t.ok(files.length >= 9, `${files.length} vector files`);

for (const f of files) {
  const c = JSON.parse(readFileSync(new URL(f, dir), 'utf8')) as StoredCase;
  t.test(`${c.name} on WebGPU`, async (t) => {
    const got = await runGpu(c);
    for (const [k, want] of Object.entries(c.outputs)) {
      t.strictSame(got[k], want, `${k}: WebGPU = stored`);
      t.equal(vectorHash(c.op, k, got[k]), c.sha256[k], `${k}: sha256`);
    }
  });
}
