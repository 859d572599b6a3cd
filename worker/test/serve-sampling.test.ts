// Integer sampling (SPEC.md §12): fixed vectors a reimplementation can check, determinism per
// seed, temperature 0 = argmax with the lowest index on ties, the top_p cut, and draws that follow
// the weights.

import t from 'tap';
import { bytesToHex } from '@noble/hashes/utils.js';
import { argmax, checkSampling, DrawStream, sampleKey, sampleToken, sampleWeights, topPKeep, toQ16 } from '../src/serve/sampling.ts';

/** Three live tokens: 10 (max), 20 (ln 2 below: weight 2^14), 30 (2 ln 2 below: 2^13); the rest at −2^22. */
function threeTokens(): Int32Array {
  const y = new Int32Array(256).fill(-4194304);
  y[10] = 0;
  y[20] = -45426;
  y[30] = -90852;
  return y;
}

t.test('vectors (SPEC §12)', async (t) => {
  t.equal(bytesToHex(sampleKey(42n)), '2773189a4fe1f8482e1bd100b7c0a1bbf007991307566c3469486b50dea1bade', 'key of seed 42');
  const d = new DrawStream(42n);
  t.same([0, 1, 2, 3, 4].map((i) => d.draw(i).toString(16)), ['31a5443898a68f6', '692287c2b9514781', 'f3574b3464c51eb6', '814684b279805d3d', '7b4da3e53ec1f3b9'], 'draws 0..4 of seed 42 (draw 4 opens block 1)');
  const w = sampleWeights(threeTokens(), 65536);
  t.same([w[10], w[20], w[30], w[0]], [32768, 16384, 8192, 0], 'weights at temperature 1');
  const ds = new DrawStream(42n);
  const toks = Array.from({ length: 12 }, (_, i) => sampleToken(threeTokens(), { temperatureQ16: 65536, topPQ16: 65536, seed: 42n }, ds, i));
  t.same(toks, [10, 10, 30, 10, 10, 20, 20, 20, 10, 30, 10, 20], 'twelve tokens of seed 42, temperature 1, top_p 1');
  t.same([toQ16(0), toQ16(0.7), toQ16(0.9), toQ16(1), toQ16(2)], [0, 45875, 58982, 65536, 131072], 'request numbers → Q16');
});

t.test('temperature 0 is argmax, lowest index on ties, whatever the seed', async (t) => {
  const y = new Int32Array(256);
  y[7] = 5;
  y[200] = 5;
  y[3] = 4;
  t.equal(argmax(y), 7);
  for (const seed of [0n, 1n, -1n, 123456789n]) {
    const d = new DrawStream(seed);
    t.equal(sampleToken(y, { temperatureQ16: 0, topPQ16: 1, seed }, d, 0), 7, `seed ${seed}`);
  }
  t.equal(argmax(new Int32Array(256)), 0, 'all equal → token 0');
});

t.test('top_p keeps the shortest heaviest prefix', async (t) => {
  const w = sampleWeights(threeTokens(), 65536); // S = 57344
  t.same(topPKeep(w, 0), [10], 'top_p 0 → the top token');
  t.same(topPKeep(w, 32768), [10], 'top_p 0.5: 32768 ≥ S/2');
  // The top token alone holds 32768/57344 of S: top_p ≤ 37449 (= ⌊32768·2^16/57344⌋) keeps it alone.
  t.same(topPKeep(w, 37449), [10], 'top_p 37449/65536: the top token covers it');
  t.same(topPKeep(w, 37450), [10, 20], 'one unit more needs the second token');
  t.same(topPKeep(w, 65536), [10, 20, 30], 'top_p 1: every token with a weight, none without');
  // Ties in weight: the lower id comes first in the order.
  const tie = new Int32Array(256);
  tie[9] = 100; tie[4] = 100; tie[6] = 50;
  t.same(topPKeep(tie, 20000), [4], 'equal weights: the lower id is taken first');
  // With top_p 0.5 no draw can give another token than the top one.
  const d = new DrawStream(5n);
  for (let i = 0; i < 50; i++) t.equal(sampleToken(threeTokens(), { temperatureQ16: 65536, topPQ16: 32768, seed: 5n }, d, i), 10);
});

t.test('temperature scales the distance before iexp', async (t) => {
  const y = threeTokens();
  const hot = sampleWeights(y, 131072); // τ = 2: distances halved
  t.same([hot[10], hot[20], hot[30]], [32768, 23170, 16384], 'τ = 2: 2^(−1/2), 2^(−1) (iexp of ln2/2, ln2)');
  const cold = sampleWeights(y, 6554); // τ ≈ 0.1: ×10
  t.equal(cold[10], 32768);
  t.ok(cold[20] < 40 && cold[30] === 0, `τ = 0.1: token 20 → ${cold[20]}, token 30 → 0`);
});

t.test('the same seed gives the same tokens, another seed others; draws follow the weights', async (t) => {
  const y = threeTokens();
  const p = (seed: bigint) => ({ temperatureQ16: 65536, topPQ16: 65536, seed });
  const run = (seed: bigint, n: number) => {
    const d = new DrawStream(seed);
    return Array.from({ length: n }, (_, i) => sampleToken(y, p(seed), d, i));
  };
  t.same(run(77n, 64), run(77n, 64), 'seed 77 twice');
  t.not(run(77n, 64).join(), run(78n, 64).join(), 'seeds 77 and 78 differ');
  const counts = new Map<number, number>();
  for (const tok of run(1n, 7000)) counts.set(tok, (counts.get(tok) ?? 0) + 1);
  // Expected 4000 / 2000 / 1000 (weights 4:2:1); these fixed draws land within 5% of it.
  t.same([...counts.keys()].sort((a, b) => a - b), [10, 20, 30]);
  t.ok(Math.abs(counts.get(10)! - 4000) < 200 && Math.abs(counts.get(20)! - 2000) < 100 && Math.abs(counts.get(30)! - 1000) < 50, `counts ${JSON.stringify([...counts])}`);
});

t.test('parameter ranges are enforced', async (t) => {
  t.throws(() => checkSampling({ temperatureQ16: 131073, topPQ16: 65536, seed: 0n }), /temperature_q16/);
  t.throws(() => checkSampling({ temperatureQ16: 1, topPQ16: 65537, seed: 0n }), /top_p_q16/);
  t.throws(() => checkSampling({ temperatureQ16: 1, topPQ16: 1, seed: 1n << 63n }), /signed 64-bit/);
  t.doesNotThrow(() => checkSampling({ temperatureQ16: 0, topPQ16: 0, seed: -(1n << 63n) }));
});
