// Evaluates a test-vector case with the BigInt reference (reference.ts), mirroring
// cases.ts/runKernel, so the stored vectors are checked by an independent implementation.
import type { Case, Vec } from './cases.ts';
import * as R from './reference.ts';

const b = (v: Vec): bigint[] => v.map((x) => BigInt(x));
const n = (v: bigint[]): Vec => v.map((x) => Number(x));

export function runReference(c: Omit<Case, 'outputs'>): Record<string, Vec> {
  const { T = 0, N = 0, K = 0, r = 0, H = 0, dh = 0 } = c.dims;
  const I = c.inputs;
  switch (c.op) {
    case 'normquant': {
      const nq = R.normquant(b(I.v), T, K);
      return { x8: n(nq.x8), sx: n(nq.sx), rinv: n(nq.rinv), z: n(nq.z), dv: n(R.normquantBackward(b(I.dxn), b(I.v), nq, T, K)) };
    }
    case 'ternlin':
      return {
        y: n(R.ternlin(I.w, BigInt(I.gamma[0]), b(I.x8), b(I.sx), T, N, K)),
        dx: n(R.ternlinBackward(I.w, BigInt(I.gamma[0]), b(I.dy), T, N, K)),
      };
    case 'lora': {
      const f = R.loraForward(b(I.A), b(I.B), b(I.x8), b(I.sx), b(I.y0), T, N, K, r);
      const g = R.loraBackward(b(I.A), b(I.B), b(I.x8), b(I.sx), f.u, b(I.dy), T, N, K, r);
      return { y: n(f.y), u: n(f.u), gA: n(g.gA), gB: n(g.gB), dx: n(g.dx) };
    }
    case 'rope': {
      const tab = R.ropeTable(T, dh);
      return { cos: n(tab.cos), sin: n(tab.sin), y: n(R.ropeApply(b(I.x), tab, T, H, dh)), dx: n(R.ropeBackward(b(I.g), tab, T, H, dh)) };
    }
    case 'attention': {
      const f = R.attention(b(I.q), b(I.k), b(I.v), T, H, dh);
      const g = R.attentionBackward(b(I.do), f.P, b(I.q), b(I.k), b(I.v), T, H, dh);
      return { o: n(f.o), p: n(f.P), dq: n(g.dq), dk: n(g.dk), dv: n(g.dv) };
    }
    case 'relu2':
      return { y: n(R.relu2(b(I.f))), df: n(R.relu2Backward(b(I.f), b(I.dy))) };
    case 'xent': {
      const x = R.crossEntropy(b(I.logits), I.targets, T);
      return { loss: [Number(x.loss)], dlogits: n(x.dlogits) };
    }
    case 'iexp':
      return { e: n(b(I.d).map(R.iexp)), ln: n(b(I.s).map(R.iln)) };
    case 'signum': {
      const x = R.signum(b(I.p), b(I.m), b(I.g64), I.shift[0], BigInt(I.lr[0]));
      return { p: n(x.p), m: n(x.m) };
    }
    default:
      throw new Error(`unknown op ${c.op}`);
  }
}
