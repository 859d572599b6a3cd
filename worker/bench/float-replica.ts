// A float64 replica of the v1 integer model (SPEC §5) for the learning benchmark (bench/learning.ts):
// the same generated backbone (ternary weights × γ, ternary embedding), the same LoRA adapters on
// q, k, v, o (α = r), RoPE base 10000 on adjacent pairs, causal softmax attention scaled by 1/√dh,
// squared-ReLU FFN, RMSNorm (no gain, no ε) before every linear input, cross-entropy over 256 bytes.
// No quantization, no clamps. The backward is written out by hand; `radial: false` drops the
// radial term of the RMSNorm Jacobian (what SPEC §4.1 did before the full gradient), for ablation.
// Bench code only: nothing here is hashed.

import type { AdapterState } from '../src/model/adapter.ts';
import type { Backbone, TernaryTensor } from '../src/model/backbone.ts';

type F = Float64Array;
const PROJ = ['q', 'k', 'v', 'o'] as const;
type Proj = (typeof PROJ)[number];

export interface FloatLora { a: F; b: F }
export type FloatParams = Record<Proj, FloatLora>[];

interface Dense { w: F; N: number; K: number }

export interface FloatModel {
  D: number; H: number; F: number; r: number; dh: number;
  embed: Int8Array;
  layers: { q: Dense; k: Dense; v: Dense; o: Dense; w1: Dense; w2: Dense }[];
  head: Dense;
  cos: F; sin: F; T: number;
}

function dense(t: TernaryTensor): Dense {
  const g = t.gamma / 65536;
  return { w: Float64Array.from(t.w, (x) => x * g), N: t.rows, K: t.cols };
}

export function floatModel(bb: Backbone): FloatModel {
  const { dModel: D, nHeads: H, dFF, loraRank: r, seqLen: T } = bb.cfg;
  const dh = D / H;
  const cos = new Float64Array(T * (dh / 2));
  const sin = new Float64Array(T * (dh / 2));
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < dh / 2; i++) {
      const ang = t * 10000 ** (-(2 * i) / dh);
      cos[t * (dh / 2) + i] = Math.cos(ang);
      sin[t * (dh / 2) + i] = Math.sin(ang);
    }
  }
  return {
    D, H, F: dFF, r, dh, T, cos, sin, embed: bb.embed,
    layers: bb.layers.map((L) => ({ q: dense(L.wq), k: dense(L.wk), v: dense(L.wv), o: dense(L.wo), w1: dense(L.w1!), w2: dense(L.w2!) })),
    head: dense(bb.head!),
  };
}

/** The integer state's master parameters as reals (A, B are Q16). */
export function floatParams(s: AdapterState): FloatParams {
  return s.params.map((rec) => Object.fromEntries(PROJ.map((p) => [p, {
    a: Float64Array.from(rec[p].a, (x) => x / 65536), b: Float64Array.from(rec[p].b, (x) => x / 65536),
  }])) as Record<Proj, FloatLora>);
}

export function zeroGrads(P: FloatParams): FloatParams {
  return P.map((rec) => Object.fromEntries(PROJ.map((p) => [p, { a: new Float64Array(rec[p].a.length), b: new Float64Array(rec[p].b.length) }])) as Record<Proj, FloatLora>);
}

function linear(W: Dense, x: F, T: number): F {
  const { w, N, K } = W;
  const y = new Float64Array(T * N);
  for (let t = 0; t < T; t++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      const wo = n * K;
      const xo = t * K;
      for (let k = 0; k < K; k++) s += w[wo + k] * x[xo + k];
      y[t * N + n] = s;
    }
  }
  return y;
}

function linearBack(W: Dense, dy: F, T: number, dx: F): void {
  const { w, N, K } = W;
  for (let t = 0; t < T; t++) {
    for (let n = 0; n < N; n++) {
      const g = dy[t * N + n];
      if (g === 0) continue;
      const wo = n * K;
      const xo = t * K;
      for (let k = 0; k < K; k++) dx[xo + k] += w[wo + k] * g;
    }
  }
}

function rmsnorm(v: F, T: number, K: number): { x: F; inv: F } {
  const x = new Float64Array(T * K);
  const inv = new Float64Array(T);
  for (let t = 0; t < T; t++) {
    let ss = 0;
    for (let k = 0; k < K; k++) ss += v[t * K + k] ** 2;
    const i = ss === 0 ? 0 : 1 / Math.sqrt(ss / K);
    inv[t] = i;
    for (let k = 0; k < K; k++) x[t * K + k] = v[t * K + k] * i;
  }
  return { x, inv };
}

function rmsnormBack(dx: F, n: { x: F; inv: F }, T: number, K: number, radial: boolean): F {
  const dv = new Float64Array(T * K);
  for (let t = 0; t < T; t++) {
    let mu = 0;
    if (radial) {
      for (let k = 0; k < K; k++) mu += dx[t * K + k] * n.x[t * K + k];
      mu /= K;
    }
    for (let k = 0; k < K; k++) dv[t * K + k] = n.inv[t] * (dx[t * K + k] - n.x[t * K + k] * mu);
  }
  return dv;
}

/** y += B(Ax); returns u = Ax [T, r] */
function loraFwd(L: FloatLora, x: F, y: F, T: number, N: number, K: number, r: number): F {
  const u = new Float64Array(T * r);
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < r; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += L.a[j * K + k] * x[t * K + k];
      u[t * r + j] = s;
    }
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let j = 0; j < r; j++) s += L.b[n * r + j] * u[t * r + j];
      y[t * N + n] += s;
    }
  }
  return u;
}

function loraBack(L: FloatLora, G: FloatLora, x: F, u: F, dy: F, dx: F, T: number, N: number, K: number, r: number): void {
  const du = new Float64Array(r);
  for (let t = 0; t < T; t++) {
    du.fill(0);
    for (let n = 0; n < N; n++) {
      const g = dy[t * N + n];
      for (let j = 0; j < r; j++) {
        G.b[n * r + j] += g * u[t * r + j];
        du[j] += L.b[n * r + j] * g;
      }
    }
    for (let j = 0; j < r; j++) {
      const d = du[j];
      for (let k = 0; k < K; k++) {
        G.a[j * K + k] += d * x[t * K + k];
        dx[t * K + k] += L.a[j * K + k] * d;
      }
    }
  }
}

function rope(m: FloatModel, x: F, T: number, back: boolean): F {
  const { H, dh } = m;
  const D = H * dh;
  const y = new Float64Array(x.length);
  const half = dh / 2;
  for (let t = 0; t < T; t++) {
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < half; i++) {
        const c = m.cos[t * half + i];
        const s = back ? -m.sin[t * half + i] : m.sin[t * half + i];
        const o = t * D + h * dh + 2 * i;
        const a = x[o];
        const b = x[o + 1];
        y[o] = a * c - b * s;
        y[o + 1] = a * s + b * c;
      }
    }
  }
  return y;
}

interface LayerFwd {
  n1: { x: F; inv: F }; u: Partial<Record<Proj, F>>; q: F; k: F; v: F; P: F; n2: { x: F; inv: F };
  n3: { x: F; inv: F }; f: F; n4: { x: F; inv: F };
}

export interface FloatStats {
  /** per layer: RMS of the q / k projection outputs (what attention sees, before RoPE) */
  qRms: number[]; kRms: number[];
  /** per layer: RMS of the LoRA part of q / k */
  qAdRms: number[]; kAdRms: number[];
  /** per layer: mean over heads and rows t ≥ 1 of max_u P[t,u] */
  maxP: number[];
}

/**
 * One sequence: loss (nats, summed over the T−1 targets); accumulates gradients into G when given;
 * adds the attention / adapter statistics into `acc` when given.
 */
export function floatSeq(m: FloatModel, P: FloatParams, tokens: Uint8Array, G: FloatParams | null, radial = true, acc?: StatsAcc): number {
  const { D, H, F: FF, r, dh } = m;
  const T = tokens.length;
  const scale = 1 / Math.sqrt(dh);
  let h = new Float64Array(T * D);
  for (let t = 0; t < T; t++) for (let k = 0; k < D; k++) h[t * D + k] = m.embed[tokens[t] * D + k];
  const caches: LayerFwd[] = [];
  m.layers.forEach((L, l) => {
    const A = P[l];
    const n1 = rmsnorm(h, T, D);
    const u: Partial<Record<Proj, F>> = {};
    const proj = (p: Proj, W: Dense, x: F): F => {
      const y = linear(W, x, T);
      if (acc && (p === 'q' || p === 'k')) {
        const y0 = y.slice();
        u[p] = loraFwd(A[p], x, y, T, W.N, W.K, r);
        let ss = 0;
        let sa = 0;
        for (let i = 0; i < y.length; i++) { ss += y[i] ** 2; sa += (y[i] - y0[i]) ** 2; }
        acc.add(l, p, ss, sa, y.length);
      } else {
        u[p] = loraFwd(A[p], x, y, T, W.N, W.K, r);
      }
      return y;
    };
    const q = rope(m, proj('q', L.q, n1.x), T, false);
    const k = rope(m, proj('k', L.k, n1.x), T, false);
    const v = proj('v', L.v, n1.x);
    const Pm = new Float64Array(H * T * T);
    const o = new Float64Array(T * D);
    for (let hh = 0; hh < H; hh++) {
      for (let t = 0; t < T; t++) {
        let mx = -Infinity;
        const row = hh * T * T + t * T;
        for (let s = 0; s <= t; s++) {
          let d = 0;
          for (let e = 0; e < dh; e++) d += q[t * D + hh * dh + e] * k[s * D + hh * dh + e];
          Pm[row + s] = d * scale;
          if (Pm[row + s] > mx) mx = Pm[row + s];
        }
        let Z = 0;
        for (let s = 0; s <= t; s++) { Pm[row + s] = Math.exp(Pm[row + s] - mx); Z += Pm[row + s]; }
        let pmax = 0;
        for (let s = 0; s <= t; s++) { Pm[row + s] /= Z; if (Pm[row + s] > pmax) pmax = Pm[row + s]; }
        if (acc && t >= 1) acc.addP(l, pmax);
        for (let e = 0; e < dh; e++) {
          let s2 = 0;
          for (let s = 0; s <= t; s++) s2 += Pm[row + s] * v[s * D + hh * dh + e];
          o[t * D + hh * dh + e] = s2;
        }
      }
    }
    const n2 = rmsnorm(o, T, D);
    const yo = proj('o', L.o, n2.x);
    h = h.map((x, i) => x + yo[i]);
    const n3 = rmsnorm(h, T, D);
    const f = linear(L.w1, n3.x, T);
    const a2 = f.map((x) => (x > 0 ? x * x : 0));
    const n4 = rmsnorm(a2, T, FF);
    const y2 = linear(L.w2, n4.x, T);
    h = h.map((x, i) => x + y2[i]);
    caches.push({ n1, u, q, k, v, P: Pm, n2, n3, f, n4 });
  });
  const nf = rmsnorm(h, T, D);
  const logits = linear(m.head, nf.x, T);
  const V = m.head.N;
  let loss = 0;
  const dlog = new Float64Array(T * V);
  for (let t = 0; t < T - 1; t++) {
    let mx = -Infinity;
    for (let c = 0; c < V; c++) mx = Math.max(mx, logits[t * V + c]);
    let Z = 0;
    for (let c = 0; c < V; c++) Z += Math.exp(logits[t * V + c] - mx);
    const tgt = tokens[t + 1];
    loss += mx + Math.log(Z) - logits[t * V + tgt];
    for (let c = 0; c < V; c++) dlog[t * V + c] = Math.exp(logits[t * V + c] - mx) / Z;
    dlog[t * V + tgt] -= 1;
  }
  if (!G) return loss;

  const dxf = new Float64Array(T * D);
  linearBack(m.head, dlog, T, dxf);
  let gh = rmsnormBack(dxf, nf, T, D, radial);
  for (let l = m.layers.length - 1; l >= 0; l--) {
    const L = m.layers[l];
    const c = caches[l];
    const A = P[l];
    const Gl = G[l];
    // FFN
    const dx4 = new Float64Array(T * FF);
    linearBack(L.w2, gh, T, dx4);
    const da = rmsnormBack(dx4, c.n4, T, FF, radial);
    const df = da.map((g, i) => (c.f[i] > 0 ? 2 * c.f[i] * g : 0));
    const dx3 = new Float64Array(T * D);
    linearBack(L.w1, df, T, dx3);
    const b3 = rmsnormBack(dx3, c.n3, T, D, radial);
    gh = gh.map((x, i) => x + b3[i]);
    // attention output projection
    const dx2 = new Float64Array(T * D);
    linearBack(L.o, gh, T, dx2);
    loraBack(A.o, Gl.o, c.n2.x, c.u.o!, gh, dx2, T, D, D, r);
    const dout = rmsnormBack(dx2, c.n2, T, D, radial);
    const dq = new Float64Array(T * D);
    const dk = new Float64Array(T * D);
    const dv = new Float64Array(T * D);
    const dP = new Float64Array(T);
    for (let hh = 0; hh < H; hh++) {
      for (let t = 0; t < T; t++) {
        const row = hh * T * T + t * T;
        let rho = 0;
        for (let s = 0; s <= t; s++) {
          let d = 0;
          for (let e = 0; e < dh; e++) {
            d += dout[t * D + hh * dh + e] * c.v[s * D + hh * dh + e];
            dv[s * D + hh * dh + e] += c.P[row + s] * dout[t * D + hh * dh + e];
          }
          dP[s] = d;
          rho += c.P[row + s] * d;
        }
        for (let s = 0; s <= t; s++) {
          const ds = c.P[row + s] * (dP[s] - rho) * scale;
          for (let e = 0; e < dh; e++) {
            dq[t * D + hh * dh + e] += ds * c.k[s * D + hh * dh + e];
            dk[s * D + hh * dh + e] += ds * c.q[t * D + hh * dh + e];
          }
        }
      }
    }
    const dqr = rope(m, dq, T, true);
    const dkr = rope(m, dk, T, true);
    const dx1 = new Float64Array(T * D);
    for (const [p, W, dy] of [['q', L.q, dqr], ['k', L.k, dkr], ['v', L.v, dv]] as const) {
      linearBack(W, dy, T, dx1);
      loraBack(A[p], Gl[p], c.n1.x, c.u[p]!, dy, dx1, T, D, D, r);
    }
    const b1 = rmsnormBack(dx1, c.n1, T, D, radial);
    gh = gh.map((x, i) => x + b1[i]);
  }
  return loss;
}

/** Accumulates FloatStats over sequences. */
export class StatsAcc {
  private readonly ss: number[][];
  private readonly n: number[][];
  private readonly pSum: number[];
  private readonly pN: number[];
  constructor(readonly layers: number) {
    this.ss = Array.from({ length: layers }, () => [0, 0, 0, 0]);
    this.n = Array.from({ length: layers }, () => [0, 0]);
    this.pSum = new Array(layers).fill(0);
    this.pN = new Array(layers).fill(0);
  }
  add(l: number, p: 'q' | 'k', ss: number, sa: number, n: number): void {
    const i = p === 'q' ? 0 : 1;
    this.ss[l][i] += ss;
    this.ss[l][2 + i] += sa;
    this.n[l][i] += n;
  }
  addP(l: number, pmax: number): void {
    this.pSum[l] += pmax;
    this.pN[l]++;
  }
  stats(): FloatStats {
    const L = [...Array(this.layers).keys()];
    return {
      qRms: L.map((l) => Math.sqrt(this.ss[l][0] / this.n[l][0])),
      kRms: L.map((l) => Math.sqrt(this.ss[l][1] / this.n[l][1])),
      qAdRms: L.map((l) => Math.sqrt(this.ss[l][2] / this.n[l][0])),
      kAdRms: L.map((l) => Math.sqrt(this.ss[l][3] / this.n[l][1])),
      maxP: L.map((l) => this.pSum[l] / this.pN[l]),
    };
  }
}

export { PROJ };
