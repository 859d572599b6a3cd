// SPEC v2 op vectors: fixed inputs (xorshift32, seeded) through the v2 CPU kernels; the SHA-256 of
// each output (int32 LE; x8 as int8) is stored in v2/ops.json by v2/generate.ts and re-checked by
// test/cpu-v2.test.ts. Edge inputs: the largest magnitudes, zero rows, rounding ties, gains of
// both signs, vocabularies that are not multiples of 64, GQA groups 1..8.

import { createHash } from 'node:crypto';
import { attention, attentionBackward } from '../../../src/kernels/cpu/attention.ts';
import { bf16Block } from '../../../src/kernels/cpu/bf16.ts';
import { loraBackward, loraForward } from '../../../src/kernels/cpu/lora.ts';
import { normquant, normquantBackward } from '../../../src/kernels/cpu/normquant.ts';
import { log2Q16, ropeApply, ropeBackward, ropeTable } from '../../../src/kernels/cpu/rope.ts';
import { crossEntropy } from '../../../src/kernels/cpu/xent.ts';
import { embedBf16, gatedMul, gatedMulBackward, tiedHead, tiedHeadBackward } from '../../../src/kernels/cpu/v2ops.ts';
import { ints, xorshift } from '../cases.ts';

export function outHash(x: Int8Array | Int32Array | BigInt64Array): string {
  const b = Buffer.alloc(x.length * x.BYTES_PER_ELEMENT);
  if (x instanceof Int8Array) x.forEach((v, i) => b.writeInt8(v, i));
  else if (x instanceof Int32Array) x.forEach((v, i) => b.writeInt32LE(v, 4 * i));
  else x.forEach((v, i) => b.writeBigInt64LE(v, 8 * i));
  return createHash('sha256').update(b).digest('hex');
}

const I32 = 2147483647;
const G = 1048575;
const i32 = (v: number[]) => Int32Array.from(v);
/** random bf16 bits with exponent in [lo, hi] and random sign */
function bf16s(rng: () => number, n: number, lo: number, hi: number, signed: boolean): Uint16Array {
  return Uint16Array.from({ length: n }, () => {
    const e = lo + (rng() % (hi - lo + 1));
    return ((signed && rng() & 1) ? 0x8000 : 0) | (e << 7) | (rng() & 0x7f);
  });
}

/** name → output tensors of each v2 case */
export function v2Cases(): Record<string, Record<string, Int8Array | Int32Array | BigInt64Array>> {
  const out: Record<string, Record<string, Int8Array | Int32Array | BigInt64Array>> = {};
  // normquant with gains: K = 40, rows: random, ±I32 extremes, zeros, one nonzero; gains ±[0.5, 8)
  {
    const rng = xorshift(0x51);
    const K = 40;
    const rows = [
      ints(rng, K, -(2 ** 20), 2 ** 20), ints(rng, K, -I32, I32),
      Array.from({ length: K }, (_, k) => (k % 2 ? I32 : -I32)), new Array(K).fill(0),
      Array.from({ length: K }, (_, k) => (k === 7 ? -3 : 0)), ints(rng, K, -5, 5),
    ];
    const T = rows.length;
    const gain = bf16Block(bf16s(rng, K, 126, 129, true), 15, 'gain');
    const nq = normquant(i32(rows.flat()), T, K, gain);
    const dxn = i32(ints(rng, T * K, -G, G));
    out['normquant-gain'] = { x8: nq.x8, sx: nq.sx, rinv: nq.rinv, z: nq.z, dv: normquantBackward(dxn, i32(rows.flat()), nq, T, K, gain) };
  }
  // RoPE θ = 500000, rotate_half, dh = 64, T = 33 (positions past one turn of the fast pairs)
  {
    const rng = xorshift(0x52);
    const T = 33, H = 2, dh = 64;
    const tab = ropeTable(T, dh, log2Q16(500000));
    const x = i32(ints(rng, T * H * dh, -2047, 2047));
    const g = i32(ints(rng, T * H * dh, -G, G));
    out['rope-half-500k'] = { cos: tab.cos, sin: tab.sin, y: ropeApply(x, tab, T, H, dh, 'half'), dx: ropeBackward(g, tab, T, H, dh, 'half') };
  }
  // GQA: H = 8 over Hkv ∈ {1, 2, 4, 8}, dh = 8, T = 9; q/k/v at the ±2047 bounds sometimes
  for (const Hkv of [1, 2, 4, 8]) {
    const rng = xorshift(0x53 + Hkv);
    const T = 9, H = 8, dh = 8;
    const q8 = (n: number) => i32(Array.from({ length: n }, () => (rng() % 5 === 0 ? (rng() & 1 ? 2047 : -2047) : (rng() % 4095) - 2047)));
    const qr = q8(T * H * dh);
    const kr = q8(T * Hkv * dh);
    const v8 = q8(T * Hkv * dh);
    const att = attention(qr, kr, v8, T, H, dh, Hkv);
    const g = attentionBackward(i32(ints(rng, T * H * dh, -G, G)), att, qr, kr, v8, T, H, dh, Hkv);
    out[`attention-gqa-${H / Hkv}`] = { o: att.o, p: att.p, dq: g.dq, dk: g.dk, dv: g.dv };
  }
  // LoRA with alpha ≠ r and K = 3000 (wide uacc): r = 4, alpha = 16, N = 24, T = 3
  {
    const rng = xorshift(0x54);
    const T = 3, K = 3000, N = 24, r = 4, alpha = 16;
    const a12 = i32(ints(rng, r * K, -4096, 4096));
    const b10 = i32(ints(rng, N * r, -1024, 1024));
    const x8 = Int8Array.from(ints(rng, T * K, -127, 127));
    const sx = i32([2 ** 23 - 1, 1, 12345678]);
    const y = i32(ints(rng, T * N, -(2 ** 24), 2 ** 24));
    const u = loraForward(a12, b10, x8, sx, y, T, N, K, r, alpha);
    const gA = new BigInt64Array(r * K);
    const gB = new BigInt64Array(N * r);
    const dxl = new Int32Array(T * K);
    loraBackward(a12, b10, x8, sx, u, i32(ints(rng, T * N, -G, G)), gA, gB, dxl, T, N, K, r, alpha);
    out['lora-alpha'] = { y, u, gA, gB, dx: dxl };
  }
  // tied head, V = 77 (not a multiple of 64), D = 48; embedding ±[2^−9, 2^−2); embed lookup; xent
  {
    const rng = xorshift(0x55);
    const V = 77, D = 48, T = 4;
    const E = bf16Block(bf16s(rng, V * D, 118, 124, true), 15, 'embed');
    const x8 = Int8Array.from(ints(rng, T * D, -127, 127));
    const sx = i32([2 ** 23 - 1, 0, 1, 7777777]);
    const logits = tiedHead(E, V, D, x8, sx, T);
    const dy = i32(ints(rng, T * V, -(2 ** 16), 2 ** 16));
    const tg = i32([5, 76, -1, 0]);
    const dl = new Int32Array(T * V);
    const loss = crossEntropy(logits, tg, T, dl, V);
    out['tied-head'] = {
      h: embedBf16(E, D, [0, 76, 3]), logits, dx: tiedHeadBackward(E, V, D, dy, T), loss: i32([loss]), dlogits: dl,
    };
  }
  // gated product: relu² outputs up to the 2^31−1 saturation, up at ±I32
  {
    const rng = xorshift(0x56);
    const n = 64;
    const a = i32(Array.from({ length: n }, (_, i) => (i < 4 ? I32 : rng() % 2 ** 31)));
    const u = i32(Array.from({ length: n }, (_, i) => (i < 2 ? -I32 : (rng() | 0))));
    const dm = i32(ints(rng, n, -G, G));
    const m = gatedMul(a, u);
    const g = gatedMulBackward(a, u, dm);
    out['gated'] = { m, da: g.da, du: g.du };
  }
  return out;
}

export function v2CaseHashes(): Record<string, Record<string, string>> {
  const res: Record<string, Record<string, string>> = {};
  for (const [name, outs] of Object.entries(v2Cases())) {
    res[name] = {};
    for (const [k, v] of Object.entries(outs)) res[name][k] = outHash(v);
  }
  return res;
}
