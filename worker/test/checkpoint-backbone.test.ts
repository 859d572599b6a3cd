// A Hugging Face BitNet checkpoint (src/checkpoint, written here in the published layouts) becomes
// the SPEC v2 integer model (src/checkpoint/to-backbone.ts → buildBackbone): both forms (packed
// 2-bit + weight_scale, bf16 master quantized by absmean at load) give the same integer model
// and the same training steps, and the integer forward behaves like the float model it came
// from (fidelity: next-token agreement and KL against the float64 reference forward).
import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { BitNetArchitecture } from '../src/checkpoint/config.ts';
import { compareLogits, forwardFloat, toFloatModel } from '../src/checkpoint/float-reference.ts';
import { loadModel } from '../src/checkpoint/loader.ts';
import { backboneOfCheckpoint, configOfArchitecture } from '../src/checkpoint/to-backbone.ts';
import { writeCheckpoint } from '../src/checkpoint/write.ts';
import { initAdapter } from '../src/model/adapter.ts';
import { forward, quantizeAdapter } from '../src/model/forward.ts';
import { trainStep } from '../src/train/step.ts';

const root = await mkdtemp(join(tmpdir(), 'r3mes-ckpt-bb-'));
t.teardown(() => rm(root, { recursive: true, force: true }));

const SMALL: BitNetArchitecture = {
  architecture: 'BitNetForCausalLM', hiddenSize: 128, intermediateSize: 352, numLayers: 2, numHeads: 8, numKvHeads: 2, headDim: 16,
  vocabSize: 300, maxPositions: 512, ropeTheta: 500000, rmsNormEps: 1e-5, tieWordEmbeddings: true, hiddenAct: 'relu2',
};
const CHOICES = { seqLen: 64, loraRank: 8, loraAlpha: 16, loraTargets: ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] as const, seed: new Uint8Array(32).fill(3) };

t.test('a 2B4T-layout checkpoint: the config, both forms to one integer model, training steps equal', async (t) => {
  const packed = join(root, 'packed');
  const bf16 = join(root, 'bf16');
  await writeCheckpoint(packed, SMALL, { form: 'packed', seed: 11 });
  await writeCheckpoint(bf16, SMALL, { form: 'bf16', seed: 11, shards: 2 });
  const cfg = configOfArchitecture(SMALL, CHOICES);
  t.match(cfg, { vocab: 300, dModel: 128, nLayers: 2, nHeads: 8, nKvHeads: 2, dFF: 352, ffn: 'gated', ropeTheta: 500000, ropeLayout: 'half', normGains: true, embedding: 'bf16-tied', loraAlpha: 16 });
  t.throws(() => configOfArchitecture({ ...SMALL, tieWordEmbeddings: false }, CHOICES), /tie_word_embeddings/, 'an untied head is refused by name');
  t.throws(() => configOfArchitecture(SMALL, { ...CHOICES, seqLen: 1024 }), /max_position_embeddings/);

  const a = backboneOfCheckpoint(await loadModel(packed), CHOICES);
  const b = backboneOfCheckpoint(await loadModel(bf16), CHOICES);
  t.same(a.layers.map((l) => [l.wq.gamma, l.wdown!.gamma]), b.layers.map((l) => [l.wq.gamma, l.wdown!.gamma]), 'the same γ from both forms');

  // Two steps on a chunk of ids < vocab (two 64-token sequences), from the initial adapter.
  const chunk = Uint32Array.from({ length: 128 }, (_, i) => (i * 37 + 11) % 300);
  const run = (bb: typeof a) => {
    let state = initAdapter(bb.cfg);
    const hashes: string[] = [];
    for (let s = 1; s <= 2; s++) {
      const r = trainStep(bb, state, chunk, s, { lr: 256 });
      state = r.state;
      hashes.push(bytesToHex(r.hash));
    }
    return hashes;
  };
  const ha = run(a);
  t.same(run(b), ha, 'packed and bf16-master checkpoints train to the same state hashes');
  t.not(ha[0], ha[1], 'the steps change the adapter');
});

t.test('fidelity: the integer forward of a checkpoint against the float64 reference of the same weights', async (t) => {
  const dir = join(root, 'fidelity');
  await writeCheckpoint(dir, SMALL, { form: 'packed', seed: 5 });
  const loaded = await loadModel(dir);
  const bb = backboneOfCheckpoint(loaded, CHOICES);
  const floatModel = toFloatModel(loaded);
  let agree = 0;
  let positions = 0;
  let kl = 0;
  let pplInt = 0;
  let pplFloat = 0;
  for (let seq = 0; seq < 4; seq++) {
    const tokens = Array.from({ length: 64 }, (_, i) => (i * (31 + 2 * seq) + 7 * seq + 3) % 300);
    const ref = forwardFloat(floatModel, tokens);
    const q16 = forward(bb, quantizeAdapter(initAdapter(bb.cfg)), Uint32Array.from(tokens)).logits;
    const V = SMALL.vocabSize;
    const ours = tokens.map((_, p) => Float64Array.from(q16.subarray(p * V, (p + 1) * V), (x) => x / 65536));
    const r = compareLogits(ref, ours, tokens);
    agree += r.top1Agreement * r.positions;
    kl += r.meanKl * r.positions;
    pplInt += Math.log(r.perplexityOther) * r.positions;
    pplFloat += Math.log(r.perplexityReference) * r.positions;
    positions += r.positions;
  }
  const report = { positions, top1Agreement: agree / positions, meanKl: kl / positions, perplexityFloat: Math.exp(pplFloat / positions), perplexityInteger: Math.exp(pplInt / positions) };
  t.comment(`fidelity (hidden 128, 2 layers, GQA 8:2, vocab 300, initial LoRA B = 0): ${JSON.stringify(report)}`);
  t.ok(report.top1Agreement >= 0.9, `next-token top-1 agreement ${(100 * report.top1Agreement).toFixed(1)}% ≥ 90%`);
  t.ok(report.meanKl <= 0.01, `mean KL ${report.meanKl.toFixed(4)} nats ≤ 0.01 (the issue's target)`);
});
