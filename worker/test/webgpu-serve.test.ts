// The serving node's WebGPU decoder (src/serve/gpu-decoder.ts: the training kernels on a block of
// new positions + attention-cached.wgsl over a device K/V cache) against the CPU's whole-sequence
// forward, bit for bit; and the same request gives the same tokens on WebGPU and the CPU. On a
// machine without a GPU this runs on Mesa's llvmpipe (the test prints the adapter).

import t from 'tap';
import { CpuDecoder } from '../src/model/decode.ts';
import { forward, quantizeAdapter } from '../src/model/forward.ts';
import type { ModelConfig } from '../src/model/config.ts';
import { generate } from '../src/serve/engine.ts';
import { GPU_BLOCK, GpuDecoder } from '../src/serve/gpu-decoder.ts';
import { openTestGpu, rng } from './helpers/gpu.ts';
import { devnetModel, loadedModel, trainedAdapter } from './helpers/serve.ts';

const ctx = await openTestGpu();

t.test('WebGPU cached decoding = the CPU whole-sequence forward, every position', async (t) => {
  const small: ModelConfig = { vocab: 256, dModel: 32, nLayers: 2, nHeads: 4, dFF: 64, seqLen: 40, loraRank: 4, seed: new Uint8Array(32).fill(7) };
  for (const [mi, model] of [loadedModel(small), devnetModel()].entries()) {
    const cfg = model.identity.cfg;
    const lq = quantizeAdapter(trainedAdapter(cfg, 300 + mi));
    const next = rng(400 + mi);
    const T = cfg.seqLen;
    const tokens = Uint8Array.from({ length: T }, () => next() & 255);
    const want = forward(model.backbone, lq, tokens).logits;
    const dec = new GpuDecoder(ctx, model.backbone, lq);
    try {
      // A prompt longer than one device block, then single tokens, then a short block.
      const first = GPU_BLOCK + 3;
      const got = new Int32Array(T * 256);
      got.set(await dec.append(tokens.subarray(0, first), true), 0);
      let i = first;
      for (; i < first + 3; i++) got.set(await dec.append(tokens.subarray(i, i + 1), true), i * 256);
      got.set(await dec.append(tokens.subarray(i, T), true), i * 256);
      t.same(got, want, `model ${mi} (D${cfg.dModel} H${cfg.nHeads} T${T}): every position's logits identical`);
      dec.reset();
      t.same(await dec.append(tokens.subarray(0, 9)), want.subarray(8 * 256, 9 * 256), 'the last row alone, after reset');
      // More than one device block without `all`: every block must still fill the cache.
      dec.reset();
      const long = GPU_BLOCK + 5;
      t.same(await dec.append(tokens.subarray(0, long)), want.subarray((long - 1) * 256, long * 256), `${long} positions at once, last row`);
      t.same(await dec.append(tokens.subarray(long, long + 1)), want.subarray(long * 256, (long + 1) * 256), 'the next position after it');
    } finally {
      dec.close();
    }
  }
});

t.test('the same request gives the same tokens on WebGPU and the CPU', async (t) => {
  const model = devnetModel();
  const lq = quantizeAdapter(trainedAdapter(model.identity.cfg, 9));
  const prompt = new TextEncoder().encode('user: Tell me about the jury.\nassistant:');
  for (const sampling of [{ temperatureQ16: 0, topPQ16: 65536, seed: 0n }, { temperatureQ16: 52429, topPQ16: 60000, seed: -7n }]) {
    const spec = { prompt, maxTokens: 16, sampling, stop: [] };
    const gpu = new GpuDecoder(ctx, model.backbone, lq);
    try {
      const a = await generate(gpu, spec);
      const b = await generate(new CpuDecoder(model.backbone, lq), spec);
      t.same(a.tokens, b.tokens, `temperature ${sampling.temperatureQ16}, top_p ${sampling.topPQ16}, seed ${sampling.seed}: ${a.tokens.length} tokens equal`);
    } finally {
      gpu.close();
    }
  }
});
