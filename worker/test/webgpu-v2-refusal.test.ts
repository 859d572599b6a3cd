// SPEC v2 configs on WebGPU: not ported yet (SPEC §10), so every WebGPU entry point refuses a v2
// model with an error naming each v2 feature it uses — on the real device, before any buffer is
// made — while a v1 model on the same device still trains.
import t from 'tap';
import { webgpuBackend } from '../src/backend.ts';
import { initAdapter } from '../src/model/adapter.ts';
import { generateBackbone } from '../src/model/backbone.ts';
import type { ModelConfig } from '../src/model/config.ts';
import { quantizeAdapter } from '../src/model/forward.ts';
import { GpuDecoder } from '../src/serve/gpu-decoder.ts';
import { WebGpuTrainer } from '../src/train/step-webgpu.ts';
import { openTestGpu } from './helpers/gpu.ts';

const ctx = await openTestGpu();
const seed = new Uint8Array(32).fill(0x2b);
const v1: ModelConfig = { vocab: 256, dModel: 32, nLayers: 1, nHeads: 2, dFF: 64, seqLen: 16, loraRank: 4, seed };

// GQA, θ, rotate_half, LoRA target subsets, alpha, the gated FFN, vocab ≤ 32768, norm gains and the tied head run on the WebGPU step (webgpu-v2-step.test.ts) but not in the decoder.
const decoderOnly: [string, Partial<ModelConfig>, RegExp][] = [
  ['GQA', { nHeads: 4, nKvHeads: 2 }, /grouped-query attention \(nKvHeads 2\)/],
  ['θ', { ropeTheta: 500000 }, /ropeTheta 500000/],
  ['rotate_half', { ropeLayout: 'half' }, /rotate_half RoPE layout/],
  ['targets', { loraTargets: ['q', 'v'] }, /LoRA targets q,v/],
  ['alpha', { loraAlpha: 16 }, /LoRA alpha 16 ≠ rank/],
  ['gated FFN', { ffn: 'gated' }, /gated FFN/],
  ['vocab', { vocab: 300 }, /vocab 300/],
  ['gains', { normGains: true }, /learned norm gains/],
  ['tied bf16 head', { embedding: 'bf16-tied', vocab: 1000 }, /bf16 tied embedding\/LM head/],
];
for (const [name, over, re] of decoderOnly) {
  t.test(`refused by the decoder only: ${name}`, async (t) => {
    const cfg = { ...v1, ...over };
    const bb = generateBackbone(cfg);
    new WebGpuTrainer(ctx, bb).destroy();
    t.throws(() => new GpuDecoder(ctx, bb, quantizeAdapter(initAdapter(cfg))), re, 'the WebGPU decoder names the feature');
  });
}

const cases: [string, Partial<ModelConfig>, RegExp][] = [
  ['d_model > 1024', { dModel: 1040, nHeads: 8 }, /d_model > 1024 or d_ff > 2048/],
];

for (const [name, over, re] of cases) {
  t.test(`refused: ${name}`, async (t) => {
    const cfg = { ...v1, ...over };
    const bb = generateBackbone(cfg);
    t.throws(() => new WebGpuTrainer(ctx, bb), re, 'the WebGPU step names the feature');
    t.throws(() => new GpuDecoder(ctx, bb, quantizeAdapter(initAdapter(cfg))), re, 'the WebGPU decoder names the feature');
  });
}

t.test('a vocabulary past 32768 is refused by the WebGPU step', async (t) => {
  t.throws(() => new WebGpuTrainer(ctx, generateBackbone({ ...v1, dModel: 16, vocab: 40000 })), /implements vocabularies up to 32768; this model has 40000/);
});

t.test('the webgpu backend refuses a v2 step with a BackendError, then still trains v1', async (t) => {
  const be = webgpuBackend(ctx);
  const cfg: ModelConfig = { ...v1, dModel: 1040, nHeads: 8, nKvHeads: 1 };
  await t.rejects(be.step(generateBackbone(cfg), initAdapter(cfg), new Uint8Array(16), 1, { lr: 256 }), {
    name: 'BackendError',
    message: 'backend webgpu implements SPEC v1 configs and of v2 only grouped-query attention, ropeTheta, the rotate_half layout, LoRA targets, LoRA alpha, the gated FFN, vocab ≠ 256, norm gains, the tied bf16 head; this model uses d_model > 1024 or d_ff > 2048 (run it on the CPU backend)',
  });
  const r = await be.step(generateBackbone(v1), initAdapter(v1), new TextEncoder().encode('It was the best of times, it was'), 1, { lr: 256 });
  t.equal(r.hash.length, 32, 'a v1 step still runs on the device');
});
