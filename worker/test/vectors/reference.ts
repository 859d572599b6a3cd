// Naive reference of SPEC.md written independently of src/kernels/cpu: BigInt arithmetic,
// dense loops, no shared helpers. The tests check the fast kernels against it bit for bit.

const B = BigInt;
const I32 = 2n ** 31n - 1n;
const G = 2n ** 20n - 1n;
const clampB = (x: bigint, lo: bigint, hi: bigint): bigint => (x < lo ? lo : x > hi ? hi : x);
const abs = (x: bigint): bigint => (x < 0n ? -x : x);
export const sat32 = (x: bigint): bigint => clampB(x, -I32, I32);
export const satG = (x: bigint): bigint => clampB(x, -G, G);
/** round half away from zero of x / 2^s */
export function rha(x: bigint, s: number): bigint {
  if (s === 0) return x;
  const q = (abs(x) + (1n << B(s - 1))) >> B(s);
  return x < 0n ? -q : q;
}
export const mulShr = (a: bigint, b: bigint, s: number): bigint => sat32(rha(a * b, s));
export const divr = (a: bigint, b: bigint): bigint => (2n * a + b) / (2n * b);
export function isqrt(n: bigint): bigint {
  if (n < 2n) return n;
  let x = n;
  let y = (x + 1n) / 2n;
  while (y < x) {
    x = y;
    y = (x + n / x) / 2n;
  }
  return x;
}
const bitlen = (u: bigint): number => u.toString(2).length - (u === 0n ? 1 : 0);
function horner(c: bigint[], x: bigint): bigint {
  let acc = c[c.length - 1];
  for (let i = c.length - 2; i >= 0; i--) acc = c[i] + rha(acc * x, 15);
  return acc;
}
export const pow2neg = (x: bigint): bigint => horner([32768n, -22711n, 7849n, -1748n, 226n], x);
export const ln1p = (x: bigint): bigint => rha(horner([32749n, -16100n, 9431n, -4395n, 1028n], x) * x, 14);
export const sinq = (x: bigint): bigint => rha(horner([51472n, -21165n, 2603n, -142n], rha(x * x, 15)) * x, 15);
export function iexp(d: bigint): bigint {
  const a = clampB(-d, 0n, 4194304n);
  const y = mulShr(a, 24204406n, 24);
  const k = y >> 16n;
  const p = pow2neg((y & 0xffffn) >> 1n);
  return k >= 31n ? 0n : rha(p, Number(k));
}
export function iln(S: bigint): bigint {
  const n = bitlen(S) - 1;
  return B(n - 15) * 45426n + ln1p((S >> B(n - 15)) - 32768n);
}

export interface NQ { x8: bigint[]; sx: bigint[]; rinv: bigint[]; z: bigint[] }
export function normquant(v: bigint[], T: number, K: number): NQ {
  const out: NQ = { x8: [], sx: [], rinv: [], z: [] };
  for (let t = 0; t < T; t++) {
    const row = v.slice(t * K, t * K + K);
    const amax = row.reduce((m, x) => (abs(x) > m ? abs(x) : m), 0n);
    if (amax === 0n) {
      out.x8.push(...row.map(() => 0n)); out.sx.push(0n); out.rinv.push(0n); out.z.push(1n);
      continue;
    }
    const z = bitlen(amax);
    const m16 = (x: bigint) => (z > 16 ? abs(x) >> B(z - 16) : abs(x) << B(16 - z));
    const R = divr(127n << 23n, m16(amax));
    let ss = 0n;
    for (const x of row) {
      const q = clampB((m16(x) * R + (1n << 22n)) >> 23n, 0n, 127n);
      out.x8.push(x < 0n ? -q : q);
      ss += (m16(x) >> 6n) ** 2n;
    }
    const rms4 = isqrt((ss * 256n) / B(K));
    const an = divr((m16(amax) >> 6n) << 20n, rms4);
    out.sx.push(divr(an << 8n, 127n)); out.rinv.push(divr(1n << 30n, rms4)); out.z.push(B(z));
  }
  return out;
}
/**
 * Full RMSNorm gradient (SPEC §4.1 "Backward"): nh = sign(v)·rha(m16·rinv, 16), c = Σ dn·nh,
 * s2 = Σ nh², d = the top 16 bits of s2 (s2 = d·2^e + rest), μ = rha(c·2^16 / (d·2^e)),
 * dv = satG(mulShr(sat32(dn − mulShr(nh, μ, 16)), rinv, z)). gain: dn = mulShr(dxn, g, shift).
 */
export function normquantBackward(dxn: bigint[], v: bigint[], nq: NQ, T: number, K: number, gain?: { q: bigint[]; shift: number }): bigint[] {
  const out: bigint[] = [];
  for (let t = 0; t < T; t++) {
    const r = nq.rinv[t];
    const z = Number(nq.z[t]);
    if (r === 0n) { for (let k = 0; k < K; k++) out.push(0n); continue; }
    const nh: bigint[] = [];
    const dn: bigint[] = [];
    let c = 0n;
    let s2 = 0n;
    for (let k = 0; k < K; k++) {
      const x = v[t * K + k];
      const m16 = z > 16 ? abs(x) >> B(z - 16) : abs(x) << B(16 - z);
      const h = rha(m16 * r, 16);
      nh.push(x < 0n ? -h : h);
      dn.push(gain ? mulShr(dxn[t * K + k], gain.q[k], gain.shift) : dxn[t * K + k]);
      c += dn[k] * nh[k];
      s2 += h * h;
    }
    const e = bitlen(s2) - 16;
    const d = s2 >> B(e);
    // round half away of c·2^16 / (d·2^e), on exact rationals
    const den = d << B(e);
    const q = (2n * abs(c) * 65536n + den) / (2n * den);
    const mu = c < 0n ? -q : q;
    for (let k = 0; k < K; k++) out.push(satG(mulShr(sat32(dn[k] - mulShr(nh[k], mu, 16)), r, z)));
  }
  return out;
}

/** dense W [N,K] of -1/0/1 */
export function ternlin(w: number[], gamma: bigint, x8: bigint[], sx: bigint[], T: number, N: number, K: number): bigint[] {
  const y: bigint[] = [];
  for (let t = 0; t < T; t++) {
    const c = mulShr(sx[t], gamma, 16);
    for (let n = 0; n < N; n++) {
      let acc = 0n;
      for (let k = 0; k < K; k++) acc += B(w[n * K + k]) * x8[t * K + k];
      y.push(mulShr(acc, c, 8));
    }
  }
  return y;
}
export function ternlinBackward(w: number[], gamma: bigint, dy: bigint[], T: number, N: number, K: number): bigint[] {
  const dx: bigint[] = [];
  for (let t = 0; t < T; t++) for (let k = 0; k < K; k++) {
    let acc = 0n;
    for (let n = 0; n < N; n++) acc += B(w[n * K + k]) * dy[t * N + n];
    dx.push(mulShr(acc, gamma, 16));
  }
  return dx;
}

export interface LoraRef { y: bigint[]; u: bigint[] }
export function loraForward(A: bigint[], Bm: bigint[], x8: bigint[], sx: bigint[], y0: bigint[], T: number, N: number, K: number, r: number): LoraRef {
  const a12 = A.map((a) => clampB(rha(a, 4), -4096n, 4096n));
  const b10 = Bm.map((b) => clampB(rha(b, 6), -1024n, 1024n));
  const u: bigint[] = [];
  const y = y0.slice();
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < r; j++) {
      let acc = 0n;
      for (let k = 0; k < K; k++) acc += a12[j * K + k] * x8[t * K + k];
      u.push(clampB(mulShr(acc, sx[t], 28), -4096n, 4096n));
    }
    for (let n = 0; n < N; n++) {
      let acc = 0n;
      for (let j = 0; j < r; j++) acc += b10[n * r + j] * u[t * r + j];
      y[t * N + n] += rha(acc, 2);
    }
  }
  return { y, u };
}
export function loraBackward(A: bigint[], Bm: bigint[], x8: bigint[], sx: bigint[], u: bigint[], dy: bigint[], T: number, N: number, K: number, r: number) {
  const a12 = A.map((a) => clampB(rha(a, 4), -4096n, 4096n));
  const b10 = Bm.map((b) => clampB(rha(b, 6), -1024n, 1024n));
  const gA = A.map(() => 0n);
  const gB = Bm.map(() => 0n);
  const dx: bigint[] = [];
  for (let t = 0; t < T; t++) {
    const du: bigint[] = [];
    for (let j = 0; j < r; j++) {
      let acc = 0n;
      for (let n = 0; n < N; n++) {
        acc += b10[n * r + j] * dy[t * N + n];
        gB[n * r + j] += dy[t * N + n] * u[t * r + j];
      }
      du.push(satG(sat32(rha(acc, 10))));
    }
    for (let j = 0; j < r; j++) {
      const dux = mulShr(du[j], sx[t], 24);
      for (let k = 0; k < K; k++) gA[j * K + k] += dux * x8[t * K + k];
    }
    for (let k = 0; k < K; k++) {
      let acc = 0n;
      for (let j = 0; j < r; j++) acc += a12[j * K + k] * du[j];
      dx.push(sat32(rha(acc, 12)));
    }
  }
  return { gA, gB, dx };
}

export function ropeTable(T: number, dh: number): { cos: bigint[]; sin: bigint[] } {
  const cos: bigint[] = [];
  const sin: bigint[] = [];
  const f: bigint[] = [];
  for (let i = 0; i < dh / 2; i++) {
    const e = divr(B(2 * i) * 870824n, B(dh));
    f.push(sat32(rha(683565276n * pow2neg((e & 0xffffn) >> 1n), 15 + Number(e >> 16n))));
  }
  for (let t = 0; t < T; t++) for (let i = 0; i < dh / 2; i++) {
    const phi = (B(t) * f[i]) % (1n << 32n);
    const qd = phi >> 30n;
    const x = (phi & (2n ** 30n - 1n)) >> 15n;
    const s0 = sinq(x);
    const c0 = sinq(32768n - x);
    const [s, c] = qd === 0n ? [s0, c0] : qd === 1n ? [c0, -s0] : qd === 2n ? [-s0, -c0] : [-c0, s0];
    sin.push(rha(s, 1)); cos.push(rha(c, 1));
  }
  return { cos, sin };
}
export function ropeApply(x: bigint[], tab: { cos: bigint[]; sin: bigint[] }, T: number, H: number, dh: number): bigint[] {
  const out = x.slice();
  for (let t = 0; t < T; t++) for (let h = 0; h < H; h++) for (let i = 0; i < dh / 2; i++) {
    const c = tab.cos[t * (dh / 2) + i], s = tab.sin[t * (dh / 2) + i];
    const p = t * H * dh + h * dh + 2 * i;
    out[p] = clampB(rha(x[p] * c - x[p + 1] * s, 14), -2047n, 2047n);
    out[p + 1] = clampB(rha(x[p] * s + x[p + 1] * c, 14), -2047n, 2047n);
  }
  return out;
}
export function ropeBackward(g: bigint[], tab: { cos: bigint[]; sin: bigint[] }, T: number, H: number, dh: number): bigint[] {
  const out = g.slice();
  for (let t = 0; t < T; t++) for (let h = 0; h < H; h++) for (let i = 0; i < dh / 2; i++) {
    const c = tab.cos[t * (dh / 2) + i], s = tab.sin[t * (dh / 2) + i];
    const p = t * H * dh + h * dh + 2 * i;
    out[p] = satG(sat32(rha(g[p] * c + g[p + 1] * s, 14)));
    out[p + 1] = satG(sat32(rha(g[p + 1] * c - g[p] * s, 14)));
  }
  return out;
}

export function attention(qr: bigint[], kr: bigint[], v8: bigint[], T: number, H: number, dh: number) {
  const D = H * dh;
  const isd = divr(1n << 24n, isqrt(B(dh) << 16n));
  const o: bigint[] = new Array(T * D).fill(0n);
  const P: bigint[] = new Array(H * T * T).fill(0n);
  for (let h = 0; h < H; h++) for (let t = 0; t < T; t++) {
    const z: bigint[] = [];
    for (let u = 0; u <= t; u++) {
      let s = 0n;
      for (let d = 0; d < dh; d++) s += qr[t * D + h * dh + d] * kr[u * D + h * dh + d];
      z.push(mulShr(s, isd, 16));
    }
    const mx = z.reduce((m, x) => (x > m ? x : m));
    const e = z.map((x) => iexp(x - mx));
    const Z = e.reduce((a, b) => a + b, 0n);
    e.forEach((ev, u) => { P[(h * T + t) * T + u] = divr(ev * 32768n, Z); });
    for (let d = 0; d < dh; d++) {
      let acc = 0n;
      for (let u = 0; u <= t; u++) acc += P[(h * T + t) * T + u] * v8[u * D + h * dh + d];
      o[t * D + h * dh + d] = rha(acc, 7);
    }
  }
  return { o, P };
}
export function attentionBackward(dout: bigint[], P: bigint[], qr: bigint[], kr: bigint[], v8: bigint[], T: number, H: number, dh: number) {
  const D = H * dh;
  const isd = divr(1n << 24n, isqrt(B(dh) << 16n));
  const dq: bigint[] = new Array(T * D).fill(0n);
  const dk: bigint[] = new Array(T * D).fill(0n);
  const dv: bigint[] = new Array(T * D).fill(0n);
  for (let h = 0; h < H; h++) {
    const ds: bigint[] = new Array(T * T).fill(0n);
    for (let u = 0; u < T; u++) for (let d = 0; d < dh; d++) {
      let acc = 0n;
      for (let t = u; t < T; t++) acc += P[(h * T + t) * T + u] * dout[t * D + h * dh + d];
      dv[u * D + h * dh + d] = satG(sat32(rha(acc, 15)));
    }
    for (let t = 0; t < T; t++) {
      const dP: bigint[] = [];
      for (let u = 0; u <= t; u++) {
        let s = 0n;
        for (let d = 0; d < dh; d++) s += dout[t * D + h * dh + d] * v8[u * D + h * dh + d];
        dP.push(satG(sat32(rha(s, 8))));
      }
      let rho = 0n;
      for (let u = 0; u <= t; u++) rho += mulShr(P[(h * T + t) * T + u], dP[u], 15);
      for (let u = 0; u <= t; u++) ds[t * T + u] = mulShr(satG(mulShr(P[(h * T + t) * T + u], dP[u] - rho, 15)), isd, 16);
    }
    for (let t = 0; t < T; t++) for (let d = 0; d < dh; d++) {
      let a = 0n;
      for (let u = 0; u <= t; u++) a += ds[t * T + u] * kr[u * D + h * dh + d];
      dq[t * D + h * dh + d] = satG(sat32(rha(a, 8)));
    }
    for (let u = 0; u < T; u++) for (let d = 0; d < dh; d++) {
      let a = 0n;
      for (let t = u; t < T; t++) a += ds[t * T + u] * qr[t * D + h * dh + d];
      dk[u * D + h * dh + d] = satG(sat32(rha(a, 8)));
    }
  }
  return { dq, dk, dv };
}

const CAP = 1n << 24n;
export const relu2 = (f: bigint[]): bigint[] => f.map((x) => { const a = clampB(x, 0n, CAP); return mulShr(a, a, 16); });
export const relu2Backward = (f: bigint[], dy: bigint[]): bigint[] =>
  f.map((x, i) => (x > 0n && x < CAP ? satG(mulShr(dy[i], x, 15)) : 0n));

export function crossEntropy(logits: bigint[], targets: number[], T: number): { loss: bigint; dlogits: bigint[] } {
  let loss = 0n;
  const dl: bigint[] = [];
  for (let t = 0; t < T; t++) {
    const row = logits.slice(t * 256, t * 256 + 256);
    if (targets[t] < 0) { dl.push(...row.map(() => 0n)); continue; }
    const mx = row.reduce((m, x) => (x > m ? x : m));
    const e = row.map((x) => iexp(x - mx));
    const S = e.reduce((a, b) => a + b, 0n);
    loss += mx - row[targets[t]] + iln(S);
    e.forEach((ev, v) => dl.push(2n * (divr(ev * 32768n, S) - (v === targets[t] ? 32768n : 0n))));
  }
  return { loss, dlogits: dl };
}

export function signum(p: bigint[], m: bigint[], g64: bigint[], shift: number, lr: bigint) {
  const G30 = 2n ** 30n - 1n;
  const P = p.slice(), M = m.slice();
  for (let i = 0; i < p.length; i++) {
    const g = clampB(sat32(rha(g64[i], shift)), -G30, G30);
    M[i] = M[i] + rha(g - M[i], 3);
    P[i] = clampB(P[i] - (M[i] > 0n ? lr : M[i] < 0n ? -lr : 0n), -65536n, 65536n);
  }
  return { p: P, m: M };
}
