// Counter-mode SHA-256 PRNG (SPEC §7) and the generated backbone.
import t from 'tap';
import { createHash } from 'node:crypto';
import { int16FromSeed, prngBytes, ternaryFromSeed } from '../src/prng.ts';
import { generateBackbone } from '../src/model/backbone.ts';
import { initAdapter } from '../src/model/adapter.ts';
import { tensorHash } from '../src/train/hash.ts';

const seedA = new Uint8Array(32).fill(1);
const seedB = new Uint8Array(32).fill(1);
seedB[31] = 2;

t.test('stream is SHA-256(key ‖ u64le(i)), key = SHA-256(seed ‖ name)', async (t) => {
  const key = createHash('sha256').update(seedA).update('embed').digest();
  const block = (i: number) => {
    const c = Buffer.alloc(8);
    c.writeBigUInt64LE(BigInt(i));
    return createHash('sha256').update(key).update(c).digest();
  };
  const want = Buffer.concat([block(0), block(1), block(2)]).subarray(0, 70);
  t.strictSame(Buffer.from(prngBytes(seedA, 'embed', 70)), want);
});

t.test('same seed → same bytes; different seed or name → different', async (t) => {
  t.strictSame(prngBytes(seedA, 'x', 100), prngBytes(seedA, 'x', 100));
  t.notSame(prngBytes(seedA, 'x', 100), prngBytes(seedB, 'x', 100));
  t.notSame(prngBytes(seedA, 'x', 100), prngBytes(seedA, 'y', 100));
  t.strictSame(prngBytes(seedA, 'x', 33).subarray(0, 20), prngBytes(seedA, 'x', 20), 'prefix-stable');
});

t.test('ternary mapping and distribution', async (t) => {
  const bytes = prngBytes(seedA, 'w', 1);
  const w = ternaryFromSeed(seedA, 'w', 4);
  const map = [0, 1, -1, 0];
  t.strictSame(Array.from(w), [0, 1, 2, 3].map((i) => map[(bytes[0] >> (2 * i)) & 3]));
  const big = ternaryFromSeed(seedA, 'big', 40000);
  const zeros = big.filter((x) => x === 0).length;
  t.ok(Math.abs(zeros - 20000) < 600, `about half zeros (${zeros})`);
  const s = int16FromSeed(seedA, 'a', 2);
  const b = prngBytes(seedA, 'a', 4);
  t.equal(s[0], ((b[1] << 8) | b[0]) << 16 >> 16, 'int16 little-endian');
});

t.test('backbone and LoRA init are functions of the seed', async (t) => {
  const cfg = (seed: Uint8Array) => ({ vocab: 256 as const, dModel: 32, nLayers: 1, nHeads: 2, dFF: 64, seqLen: 8, loraRank: 4, seed });
  const a1 = generateBackbone(cfg(seedA));
  const a2 = generateBackbone(cfg(seedA));
  const b1 = generateBackbone(cfg(seedB));
  t.equal(tensorHash(a1.layers[0].w1!.w), tensorHash(a2.layers[0].w1!.w));
  t.not(tensorHash(a1.layers[0].w1!.w), tensorHash(b1.layers[0].w1!.w));
  t.equal(a1.layers[0].wq.gamma, 16384, 'γ = isqrt(2^33/32) = 2^16·√(2/32)');
  const la = initAdapter(cfg(seedA));
  t.equal(tensorHash(la.params[0].q.a), tensorHash(initAdapter(cfg(seedA)).params[0].q.a));
  t.not(tensorHash(la.params[0].q.a), tensorHash(initAdapter(cfg(seedB)).params[0].q.a));
  t.ok(la.params[0].q.b.every((x) => x === 0), 'B starts at zero');
  const amax = la.params[0].q.a.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
  t.ok(amax <= 11586 && amax > 9000, `A uniform on ±2^16/√32 (max ${amax})`);
});
