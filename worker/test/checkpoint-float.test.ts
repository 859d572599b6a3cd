// The float64 reference forward of BitNetForCausalLM (src/checkpoint/float-reference.ts): a
// hand-computed one-layer case, RoPE's rotate_half layout, round half to even, causality, GQA,
// and the same logits from the packed and bf16-master forms of one checkpoint.
import t, { type Test } from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bf16FromNumber } from '../src/checkpoint/bf16.ts';
import type { BitNetArchitecture } from '../src/checkpoint/config.ts';
import { applyRope, argmax, compareLogits, forwardFloat, klDivergence, logSoftmax, quantizeActivations, roundHalfEven, toFloatModel } from '../src/checkpoint/float-reference.ts';
import { loadModel } from '../src/checkpoint/loader.ts';
import { packTernary } from '../src/checkpoint/ternary.ts';
import { type TensorToWrite, writeCheckpoint } from '../src/checkpoint/write.ts';

let root = '';
t.before(async () => { root = await mkdtemp(join(tmpdir(), 'r3mes-float-')); });
t.teardown(() => rm(root, { recursive: true, force: true }));

const close = (t: Test, got: number, want: number, what: string) =>
  t.ok(Math.abs(got - want) <= 1e-12 * Math.max(1, Math.abs(want)), `${what}: ${got} ≈ ${want}`);

t.test('round half to even, activation quantization', async (t) => {
  t.same([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 63.5, 62.5, 2.4, -2.6].map(roundHalfEven), [0, 2, 2, -0, -2, -2, 64, 62, 2, -3]);
  const { q, s } = quantizeActivations(Float64Array.of(1, -1, 3, 0));
  t.same([...q], [42, -42, 127, 0]);
  t.equal(s, 127 / 3);
  const z = quantizeActivations(new Float64Array(4));
  t.equal(z.s, 127 / 1e-5, 'max|x| is floored at 1e-5');
  // −128 is reachable only by clamping, never by the symmetric scale: 127 is the largest magnitude.
  t.same([...quantizeActivations(Float64Array.of(-2, 1)).q], [-127, 64]);
});

t.test('RoPE rotates the pairs (i, i + d/2) by position · θ^(−2i/d)', async (t) => {
  const x = Float64Array.of(1, 0, 0, 0, 0, 1, 0, 0);
  applyRope(x, 2, 4, 1, 10000);
  // head 0: pair (0, 2) at frequency 1; head 1: pair (1, 3) at frequency 10000^(−1/2) = 0.01.
  close(t, x[0], Math.cos(1), 'x0');
  close(t, x[2], Math.sin(1), 'x2');
  t.equal(x[1], 0);
  t.equal(x[3], 0);
  close(t, x[5], Math.cos(0.01), 'x5');
  close(t, x[7], Math.sin(0.01), 'x7');
  const w = Float64Array.of(0, 0, 1, 0);
  applyRope(w, 1, 4, 1, 10000);
  close(t, w[0], -Math.sin(1), 'rotate_half: the second half enters the first with a minus sign');
  close(t, w[2], Math.cos(1), 'w2');
  const y = Float64Array.of(0.3, -2, 1.5, 4);
  applyRope(y, 1, 4, 0, 500000);
  t.same([...y], [0.3, -2, 1.5, 4], 'position 0 is the identity');
});

// D = 4, one head of 4, F = 4, one layer; the weights are chosen so that every step can be done by hand.
const HAND: BitNetArchitecture = {
  architecture: 'BitNetForCausalLM', hiddenSize: 4, intermediateSize: 4, numLayers: 1, numHeads: 1, numKvHeads: 1, headDim: 4,
  vocabSize: 300, maxPositions: 64, ropeTheta: 10000, rmsNormEps: 1e-6, tieWordEmbeddings: true, hiddenAct: 'relu2',
};

function handTensors(x: TensorToWrite): TensorToWrite {
  const bf16 = (values: number[]) => () => {
    const out = new Uint8Array(values.length * 2);
    values.forEach((v, i) => { const b = bf16FromNumber(v); out[2 * i] = b & 0xff; out[2 * i + 1] = b >> 8; });
    return out;
  };
  const ternary = (rows: number[][]) => () => packTernary(Int8Array.from(rows.flat()), 4, 4);
  const I = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]];
  const Z = [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]];
  const E0 = [[1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]];
  const n = x.name;
  if (n === 'model.embed_tokens.weight') {
    const e = new Array(300 * 4).fill(0);
    e.splice(0, 8, 1, -1, 3, 0, 0, 1, 0, 1);
    return { ...x, data: bf16(e) };
  }
  if (n.endsWith('_proj.weight')) {
    const m = /(q|k)_proj/.test(n) ? Z : /(v|o)_proj/.test(n) ? I : E0;
    return { ...x, data: ternary(m) };
  }
  if (n.endsWith('weight_scale')) return { ...x, data: bf16([n.includes('v_proj') ? 0.5 : n.includes('o_proj') ? 0.75 : n.includes('down_proj') ? 2 : 1]) };
  return { ...x, data: bf16(new Array(x.shape[0]).fill(1)) }; // every norm gain 1
}

t.test('a one-layer model computed by hand', async (t) => {
  const dir = join(root, 'hand');
  await writeCheckpoint(dir, HAND, { form: 'packed', seed: 0, mutate: handTensors });
  const [logits] = forwardFloat(toFloatModel(await loadModel(dir)), [0]);
  const eps = 1e-6;
  // x = embed[0] = (1, −1, 3, 0); h = x / √(mean x² + ε) = x / √(11/4 + ε).
  const inv = 1 / Math.sqrt(11 / 4 + eps);
  // v_proj: Q(h) = round(x · 127/3) = (42, −42, 127, 0), identity weight, scale 0.5, ÷ s = 127 / (3·inv).
  const c = (0.5 * 3 * inv) / 127;
  const v = [42 * c, -42 * c, 127 * c, 0];
  // One position: attention returns v. attn_sub_norm (gain 1), then o_proj (identity, scale 0.75)
  // gives 0.75 × that vector: its quantization (42, −42, 127, 0) is exact.
  const rmsV = Math.sqrt((c * c * (42 * 42 + 42 * 42 + 127 * 127)) / 4 + eps);
  const x1 = [1 + (0.75 * v[0]) / rmsV, -1 + (0.75 * v[1]) / rmsV, 3 + (0.75 * v[2]) / rmsV, 0];
  // FFN: gate and up read only coordinate 0 (row 0 = e0), so g0 = u0 = Q-dequantized h2[0].
  const inv2 = 1 / Math.sqrt(x1.reduce((s, a) => s + a * a, 0) / 4 + eps);
  const h2 = x1.map((a) => a * inv2);
  const s2 = 127 / Math.max(...h2.map(Math.abs));
  const g0 = Math.round(h2[0] * s2) / s2;
  t.ok(h2[0] * s2 % 1 !== 0.5, 'no rounding tie in this case');
  const y0 = g0 * g0 * g0; // relu(g0)² · u0 with g0 = u0 > 0
  t.ok(g0 > 0);
  // ffn_sub_norm of (y0, 0, 0, 0) is (y0 / √(y0²/4 + ε), 0, 0, 0); down_proj (row 0 = e0, scale 2)
  // returns twice that (its quantization (127, 0, 0, 0) is exact).
  const x2 = [x1[0] + (2 * y0) / Math.sqrt((y0 * y0) / 4 + eps), x1[1], x1[2], x1[3]];
  const inv3 = 1 / Math.sqrt(x2.reduce((s, a) => s + a * a, 0) / 4 + eps);
  const hf = x2.map((a) => a * inv3);
  close(t, logits[0], hf[0] - hf[1] + 3 * hf[2], 'logit of token 0 = h · (1, −1, 3, 0)');
  close(t, logits[1], hf[1] + hf[3], 'logit of token 1 = h · (0, 1, 0, 1)');
  t.ok(logits.subarray(2).every((l) => l === 0), 'zero embedding rows give zero logits');
  t.equal(argmax(logits), 0);
});

const SMALL: BitNetArchitecture = {
  architecture: 'BitNetForCausalLM', hiddenSize: 128, intermediateSize: 352, numLayers: 2, numHeads: 8, numKvHeads: 2, headDim: 16,
  vocabSize: 300, maxPositions: 512, ropeTheta: 500000, rmsNormEps: 1e-5, tieWordEmbeddings: true, hiddenAct: 'relu2',
};

t.test('causal, and the packed and bf16 forms give the same logits', async (t) => {
  const packed = join(root, 'packed');
  const bf16 = join(root, 'bf16');
  await writeCheckpoint(packed, SMALL, { form: 'packed', seed: 4 });
  await writeCheckpoint(bf16, SMALL, { form: 'bf16', seed: 4, shards: 2 });
  const m = toFloatModel(await loadModel(packed));
  const a = [5, 17, 250, 3, 99, 42, 7, 180];
  const b = [5, 17, 250, 3, 12, 13, 14, 15];
  const la = forwardFloat(m, a);
  const lb = forwardFloat(m, b);
  for (let pos = 0; pos < 4; pos++) t.same([...la[pos]], [...lb[pos]], `position ${pos}: logits do not depend on later tokens`);
  for (let pos = 4; pos < 8; pos++) t.ok(klDivergence(la[pos], lb[pos]) > 1e-6, `position ${pos}: logits depend on the changed token`);
  const lbf = forwardFloat(toFloatModel(await loadModel(bf16)), a);
  for (let pos = 0; pos < a.length; pos++) t.same([...lbf[pos]], [...la[pos]], `position ${pos}: same logits from the bf16 master`);
  // The fidelity measures: a model against itself, and against the same model with a perturbed head.
  const self = compareLogits(la, la, a);
  t.same([self.positions, self.top1Agreement, self.meanKl], [7, 1, 0]);
  t.equal(self.perplexityReference, self.perplexityOther);
  t.ok(Number.isFinite(self.perplexityReference) && self.perplexityReference > 1, `perplexity ${self.perplexityReference.toFixed(1)} (random tokens: a random model is confidently wrong)`);
  const shifted = la.map((row) => row.map((v, i) => (i === 0 ? v + 30 : v)));
  const cmp = compareLogits(la, shifted, a);
  t.ok(cmp.meanKl > 0.01, `KL ${cmp.meanKl.toFixed(3)} > 0 for a shifted logit`);
  t.ok(cmp.top1Agreement < 1, 'token 0 becomes the top token');
  t.ok(cmp.perplexityOther !== cmp.perplexityReference);
  // Realistic statistics: a next-token distribution neither flat nor one-hot.
  for (const row of la) {
    const lp = logSoftmax(row);
    const entropy = -lp.reduce((s, l) => s + Math.exp(l) * l, 0);
    t.ok(entropy > 0.5 && entropy < Math.log(300) - 0.05, `entropy ${entropy.toFixed(2)} nats`);
  }
});

t.test('GQA: query head j reads key/value head ⌊j / (H/KV)⌋', async (t) => {
  // 4 query heads on 2 key/value heads. The same model with each key/value head written out
  // once per query head of its group, in order (heads 0, 1 → kv 0; heads 2, 3 → kv 1), is plain
  // multi-head attention and must give the same logits; a j mod KV assignment would not.
  const gqa: BitNetArchitecture = { ...HAND, hiddenSize: 16, intermediateSize: 16, numHeads: 4, numKvHeads: 2, vocabSize: 300 };
  const dir = join(root, 'gqa');
  await writeCheckpoint(dir, gqa, { form: 'packed', seed: 8 });
  const m = toFloatModel(await loadModel(dir));
  const hd = 4;
  const spread = (w: typeof m.layers[0]['proj']['k']) => {
    const rowsOf = (kvHead: number) => w.values.subarray(kvHead * hd * w.cols, (kvHead + 1) * hd * w.cols);
    return { ...w, rows: 16, values: Int8Array.from([...rowsOf(0), ...rowsOf(0), ...rowsOf(1), ...rowsOf(1)]) };
  };
  const layer = m.layers[0];
  const mha = { ...m, arch: { ...m.arch, numKvHeads: 4 }, layers: [{ ...layer, proj: { ...layer.proj, k: spread(layer.proj.k), v: spread(layer.proj.v) } }] };
  const interleave = (w: typeof m.layers[0]['proj']['k']) => {
    const rowsOf = (kvHead: number) => w.values.subarray(kvHead * hd * w.cols, (kvHead + 1) * hd * w.cols);
    return { ...w, rows: 16, values: Int8Array.from([...rowsOf(0), ...rowsOf(1), ...rowsOf(0), ...rowsOf(1)]) };
  };
  const modKv = { ...mha, layers: [{ ...layer, proj: { ...layer.proj, k: interleave(layer.proj.k), v: interleave(layer.proj.v) } }] };
  const tokens = [1, 200, 37, 5, 77];
  const x = forwardFloat(m, tokens);
  const y = forwardFloat(mha, tokens);
  let worst = 0;
  for (let pos = 0; pos < tokens.length; pos++) for (let i = 0; i < 300; i++) worst = Math.max(worst, Math.abs(x[pos][i] - y[pos][i]));
  t.ok(worst < 1e-9, `GQA equals MHA with the key/value heads repeated per group (max |Δ| ${worst})`);
  // The comparison can fail: the j mod KV assignment (kv 0, 1, 0, 1) gives other logits.
  const z = forwardFloat(modKv, tokens);
  t.ok(z.some((row, pos) => row.some((v, i) => Math.abs(v - x[pos][i]) > 1e-6)), 'the j mod KV assignment gives other logits');
});
