// The serving node's KV-cached decoder (src/model/decode.ts) against the whole-sequence forward
// (src/model/forward.ts), bit for bit: every position's logits, whatever the block sizes the
// sequence is fed in, with a non-zero LoRA adapter; and generation with and without the cache
// gives the same tokens.

import t from 'tap';
import { CpuDecoder } from '../src/model/decode.ts';
import { forward, quantizeAdapter } from '../src/model/forward.ts';
import type { ModelConfig } from '../src/model/config.ts';
import { generate } from '../src/serve/engine.ts';
import { rng } from './helpers/gpu.ts';
import { devnetModel, loadedModel, trainedAdapter } from './helpers/serve.ts';

const configs: ModelConfig[] = [
  { vocab: 256, dModel: 32, nLayers: 2, nHeads: 4, dFF: 64, seqLen: 16, loraRank: 4, seed: new Uint8Array(32).fill(7) },
  { vocab: 256, dModel: 48, nLayers: 1, nHeads: 2, dFF: 32, seqLen: 37, loraRank: 8, seed: new Uint8Array(32).fill(8) },
];

function tokensOf(next: () => number, n: number): Uint8Array {
  return Uint8Array.from({ length: n }, () => next() & 255);
}

t.test('cached decoding = the whole-sequence forward, every position, any block sizes', async (t) => {
  const models = [...configs.map((c) => loadedModel(c)), devnetModel()];
  for (const [mi, model] of models.entries()) {
    const cfg = model.identity.cfg;
    const lq = quantizeAdapter(trainedAdapter(cfg, 100 + mi));
    const next = rng(200 + mi);
    for (let c = 0; c < 3; c++) {
      const T = c === 0 ? cfg.seqLen : 1 + (next() % cfg.seqLen);
      const tokens = tokensOf(next, T);
      const want = forward(model.backbone, lq, tokens).logits;
      const dec = new CpuDecoder(model.backbone, lq);
      const got = new Int32Array(T * 256);
      const blocks: number[] = [];
      for (let i = 0; i < T;) {
        const m = Math.min(T - i, c === 1 ? 1 : 1 + (next() % 9));
        got.set(await dec.append(tokens.subarray(i, i + m), true), i * 256);
        blocks.push(m);
        i += m;
      }
      t.same(got, want, `model ${mi} (D${cfg.dModel} L${cfg.nLayers} H${cfg.nHeads} T${cfg.seqLen}), ${T} tokens in blocks ${blocks.join(',')}: logits identical`);
      // Default: only the last position's logits.
      dec.reset();
      const last = await dec.append(tokens);
      t.same(last, want.subarray((T - 1) * 256, T * 256), `model ${mi}: the last row alone`);
    }
  }
});

t.test('the LoRA adapter reaches the cached logits (a test that could fail)', async (t) => {
  const model = devnetModel();
  const tokens = new TextEncoder().encode('It was the best of times');
  const a = await new CpuDecoder(model.backbone, quantizeAdapter(trainedAdapter(model.identity.cfg, 1))).append(tokens);
  const b = await new CpuDecoder(model.backbone, quantizeAdapter(trainedAdapter(model.identity.cfg, 2))).append(tokens);
  t.not(Buffer.from(a.buffer).toString('hex'), Buffer.from(b.buffer).toString('hex'), 'two adapters give different logits');
});

t.test('the decoder refuses positions beyond the context length', async (t) => {
  const model = loadedModel(configs[0]);
  const dec = new CpuDecoder(model.backbone, quantizeAdapter(trainedAdapter(model.identity.cfg, 3)));
  await dec.append(new Uint8Array(10));
  await t.rejects(dec.append(new Uint8Array(7)), /17 positions exceed the context length 16/);
  t.equal(dec.length, 10, 'a refused append changes nothing');
  await t.rejects(dec.append(new Uint8Array(0)), /at least one token/);
});

t.test('generation with the KV cache = generation recomputing the whole sequence', async (t) => {
  const model = devnetModel();
  const lq = quantizeAdapter(trainedAdapter(model.identity.cfg, 4));
  const prompt = new TextEncoder().encode('The jury said it did find that the ');
  for (const sampling of [{ temperatureQ16: 0, topPQ16: 65536, seed: 1n }, { temperatureQ16: 65536, topPQ16: 58982, seed: 42n }]) {
    const spec = { prompt, maxTokens: 20, sampling, stop: [] };
    const cached = await generate(new CpuDecoder(model.backbone, lq), spec, { prefillBlock: 5 });
    const full = await generate(new CpuDecoder(model.backbone, lq), spec, { noCache: true });
    t.same(cached.tokens, full.tokens, `temperature ${sampling.temperatureQ16}/65536: same ${cached.tokens.length} tokens`);
    t.equal(cached.tokens.length, 20);
  }
});
