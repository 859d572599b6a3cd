// Integer robust aggregation: exact rules, rounding ties, outliers, order and determinism.
import t from 'tap';
import { bytesToHex } from '@noble/hashes/utils.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { AggregateErrorCode } from '../src/aggregate/errors.ts';
import { aggregateDeltas, decodeAggregate, flatten, unflatten } from '../src/aggregate/file.ts';
import { divRound, krum, median, parseRule, ruleName, squaredDistance, trimmedMean, type Flat } from '../src/aggregate/rules.ts';
import type { ModelConfig } from '../src/model/config.ts';
import { decodeDelta, encodeDelta, type LoraPairs } from '../src/output/delta.ts';
import type { ModelIdentity } from '../src/output/metadata.ts';

const col = (...values: number[]): Flat[] => values.map((v) => [Int32Array.of(v)]);
const one = (out: Int32Array[]): number => out[0][0];

t.test('divRound rounds half away from zero', async (t) => {
  const cases: [number, number, number][] = [
    [5, 2, 3], [-5, 2, -3], [3, 2, 2], [-3, 2, -2], [7, 4, 2], [-7, 4, -2], [1, 3, 0], [2, 3, 1], [-2, 3, -1],
    [0, 5, 0], [10, 4, 3], [9, 4, 2], [-10, 4, -3], [6, 4, 2], [-6, 4, -2],
  ];
  for (const [s, n, want] of cases) t.equal(divRound(s, n), want, `${s}/${n}`);
});

t.test('coordinate-wise median: odd, even (rounded midpoint), outliers, ties', async (t) => {
  t.equal(one(median(col(1, 2, 1000))), 2, 'one outlier ignored');
  t.equal(one(median(col(1000, -1000, 5, 5, 4))), 5, 'repeated values');
  t.equal(one(median(col(1, 3, 4, 100))), 4, 'midpoint 3.5 → 4');
  t.equal(one(median(col(-3, -4))), -4, 'midpoint −3.5 → −4');
  t.equal(one(median(col(-3, 4))), 1, 'midpoint 0.5 → 1');
  t.equal(one(median(col(7))), 7);
  // Per coordinate, not per input: the result need not be any one input.
  const inputs: Flat[] = [[Int32Array.of(1, 9)], [Int32Array.of(2, 8)], [Int32Array.of(3, 7)]];
  t.same([...median(inputs)[0]], [2, 8]);
});

t.test('trimmed mean: trims k per side, rounds half away, rejects 2k ≥ N', async (t) => {
  t.equal(one(trimmedMean(col(1, 2, 3, 4, 1000000), 1)), 3);
  t.equal(one(trimmedMean(col(1, 2, 3, 4, 1000000), 2)), 3);
  t.equal(one(trimmedMean(col(1, 2), 0)), 2, 'mean 1.5 → 2');
  t.equal(one(trimmedMean(col(-1, -2), 0)), -2, 'mean −1.5 → −2');
  t.equal(one(trimmedMean(col(-1000000, 1, 2, 2, 3, 999999), 1)), 2, '(1+2+2+3)/4 = 2');
  t.throws(() => trimmedMean(col(1, 2, 3, 4), 2), { code: AggregateErrorCode.BadParameters });
  t.throws(() => trimmedMean(col(1), -1), { code: AggregateErrorCode.BadParameters });
});

t.test('median and trimmed mean match a BigInt reference on random data, in any input order', async (t) => {
  let x = 12345;
  const rnd = () => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return (x >>> 8) % 262145 - 131072;
  };
  const ref = (vals: number[], k: number): number => {
    const s = [...vals].sort((a, b) => a - b).slice(k, vals.length - k).reduce((a, b) => a + BigInt(b), 0n);
    const n = BigInt(vals.length - 2 * k);
    const mag = (2n * (s < 0n ? -s : s) + n) / (2n * n);
    return Number(s < 0n ? -mag : mag);
  };
  for (let n = 1; n <= 9; n++) {
    const inputs: Flat[] = Array.from({ length: n }, () => [Int32Array.from({ length: 50 }, rnd)]);
    const shuffled = [...inputs].reverse();
    const med = median(inputs)[0];
    t.same([...median(shuffled)[0]], [...med], `median n=${n} is order-free`);
    for (let c = 0; c < 50; c++) {
      const vals = inputs.map((v) => v[0][c]);
      const sorted = [...vals].sort((a, b) => a - b);
      const want = n % 2 ? sorted[(n - 1) / 2] : ref(sorted.slice(n / 2 - 1, n / 2 + 1), 0);
      if (med[c] !== want) t.fail(`median n=${n} c=${c}`);
      for (let k = 0; 2 * k < n; k++) if (trimmedMean(inputs, k)[0][c] !== ref(vals, k)) t.fail(`trim n=${n} k=${k} c=${c}`);
    }
  }
  t.pass('checked');
});

t.test('Krum: picks an honest input despite outliers; ties go to the lowest index; multi-Krum averages', async (t) => {
  const honest = [[10, 10], [11, 9], [9, 11], [10, 12], [12, 10]];
  const inputs: Flat[] = [...honest, [5000, -5000], [-9000, 7000]].map((v) => [Int32Array.from(v)]);
  const r = krum(inputs, 2, 1);
  t.ok(r.selected[0] < 5, 'an honest input wins');
  t.equal(r.selected[0], 0, '[10,10] is closest to the others');
  t.same([...r.tensors[0]], [10, 10], 'Krum returns that input exactly');
  t.equal(r.scores.length, 7);
  t.equal(squaredDistance(inputs[0], inputs[5]), BigInt(4990 ** 2 + 5010 ** 2));
  // Identical inputs: every score equal → the first index.
  const same: Flat[] = Array.from({ length: 5 }, () => [Int32Array.of(3, 4)]);
  t.same(krum(same, 1, 1).selected, [0]);
  // m = 3: the mean of the three best, rounded half away.
  const m3 = krum(inputs, 2, 3);
  t.equal(m3.selected.length, 3);
  t.ok(m3.selected.every((i) => i < 5));
  t.throws(() => krum(inputs, 3, 1), { code: AggregateErrorCode.BadParameters }, 'N = 7 < 2·3 + 3');
  t.throws(() => krum(inputs, 1, 7), { code: AggregateErrorCode.BadParameters }, 'm > N − f');
  // Exactness far past 2^53: 2^20 coordinates at distance 2^25 each → 2^70.
  const big = 1 << 20;
  const a: Flat = [new Int32Array(big).fill(1 << 24)];
  const b: Flat = [new Int32Array(big).fill(-(1 << 24))];
  t.equal(squaredDistance(a, b), 2n ** 70n);
});

t.test('rule names round-trip; bad inputs are refused', async (t) => {
  for (const s of ['median', 'trimmed-mean:2', 'krum:1:1', 'krum:3:2']) t.equal(ruleName(parseRule(s)), s);
  t.equal(ruleName(parseRule('krum:1')), 'krum:1:1');
  for (const s of ['mean', 'trimmed-mean', 'trimmed-mean:-1', 'krum:a', 'median:1', 'krum:01']) {
    t.throws(() => parseRule(s), { code: AggregateErrorCode.UnknownRule }, s);
  }
  t.throws(() => median([]), { code: AggregateErrorCode.NoInputs });
  t.throws(() => median([[Int32Array.of(1)], [Int32Array.of(1, 2)]]), { code: AggregateErrorCode.ShapeMismatch });
  t.throws(() => median([[Int32Array.of(1)], [Int32Array.of(1), Int32Array.of(2)]]), { code: AggregateErrorCode.ShapeMismatch });
  t.throws(() => median([[Int32Array.of(1 << 25)]]), { code: AggregateErrorCode.BadParameters });
});

t.test('aggregate files: deterministic bytes, round trip, model mismatch refused', async (t) => {
  const cfg: ModelConfig = { vocab: 256, dModel: 16, nLayers: 1, nHeads: 2, dFF: 16, seqLen: 16, loraRank: 4, seed: new Uint8Array(32).fill(5) };
  const model: ModelIdentity = { version: 2n, backbone: { seed: cfg.seed }, cfg };
  const mk = async (k: number, m: ModelIdentity = model) => {
    const flat = Array.from({ length: 8 }, (_, j) => Int32Array.from({ length: 64 }, (_, i) => ((i * 31 + j * 7 + k * 13) % 41) - 20 + (k === 3 ? 90000 : 0)));
    const delta: LoraPairs = unflatten(flat, 1);
    const enc = await encodeDelta(delta, {
      model: m, miner: `r3mes1m${k}`, window: 4n, ordinal: 0n, chunkIndex: BigInt(k), chunkHash: bytesToHex(sha256(Uint8Array.of(k))),
      backend: 'cpu', lr: 256, stepHashes: [sha256(Uint8Array.of(k))], lossBefore: 1, lossAfter: 1,
    });
    return { cid: enc.cid.toString(), file: await decodeDelta(enc.bytes) };
  };
  const inputs = await Promise.all([0, 1, 2, 3, 4].map((k) => mk(k)));
  for (const rule of ['median', 'trimmed-mean:1', 'krum:1:1'].map(parseRule)) {
    const a = await aggregateDeltas(inputs, rule, 4n);
    const b = await aggregateDeltas(inputs, rule, 4n);
    t.equal(a.cid.toString(), b.cid.toString(), `${ruleName(rule)}: same CID`);
    t.equal(bytesToHex(a.resultHash), bytesToHex(b.resultHash));
    const back = await decodeAggregate(a.bytes, { cid: a.cid });
    t.equal(ruleName(back.rule), ruleName(rule));
    t.same(back.inputCids, inputs.map((x) => x.cid));
    t.ok(flatten(back.delta).every((x) => x.every((v) => Math.abs(v) < 1000)), `${ruleName(rule)}: the outlier (input 3) did not pull the result`);
  }
  const other = await mk(5, { ...model, version: 3n });
  await t.rejects(aggregateDeltas([...inputs, other], parseRule('median'), 4n), { code: AggregateErrorCode.ShapeMismatch });
  await t.rejects(aggregateDeltas([], parseRule('median'), 4n), { code: AggregateErrorCode.NoInputs });
});
