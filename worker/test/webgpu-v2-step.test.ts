// The WebGPU training step on the SPEC v2 features it implements — grouped-query attention (group
// sizes 1–8), RoPE for any θ, the rotate_half layout, LoRA on any subset of the seven projections, LoRA alpha, the gated FFN, vocabularies ≠ 256, learned norm gains, the tied bf16 embedding/head — against the CPU step, byte for byte: state
// hashes and loss sums over 24 random seeds and shapes, and micro-batch invariance.
import t from 'tap';
import { bytesToHex } from '@noble/hashes/utils.js';
import { initAdapter } from '../src/model/adapter.ts';
import { generateBackbone } from '../src/model/backbone.ts';
import type { ModelConfig } from '../src/model/config.ts';
import { trainStep } from '../src/train/step.ts';
import { WebGpuTrainer } from '../src/train/step-webgpu.ts';
import { openTestGpu, rng } from './helpers/gpu.ts';

const ctx = await openTestGpu();

t.test('GQA / θ / rotate_half steps: WebGPU = CPU over 24 seeds', async (t) => {
  for (let seed = 0; seed < 24; seed++) {
    const next = rng(7700 + seed);
    const group = 1 + (seed % 8);
    const Hkv = 1 + (next() % 2);
    const H = Hkv * group;
    const dh = 2 * Math.max(1, Math.ceil(16 / H / 2) + (next() % 3)); // D = H·dh ≥ 16
    const cfg: ModelConfig = {
      dModel: H * dh, nLayers: 1 + (next() % 2), nHeads: H, nKvHeads: Hkv, dFF: 16 + 8 * (next() % 4),
      seqLen: 4 + (next() % 9), loraRank: 4, seed: Uint8Array.from({ length: 32 }, () => next() & 255),
      ropeTheta: [10000, 500000, 1000000, 31][seed % 4], ropeLayout: seed % 3 === 0 ? 'adjacent' : 'half',
      loraTargets: (seed % 2
        ? [['q', 'k', 'v', 'o', 'gate', 'up', 'down'], ['v', 'gate'], ['q', 'o', 'up'], ['down'], ['k', 'up', 'down']]
        : [['q', 'k', 'v', 'o'], ['v', 'up'], ['q', 'o'], ['k', 'v', 'o', 'down'], ['up', 'down']])[seed % 5] as ModelConfig['loraTargets'],
      loraAlpha: [4, 8, 1, 65536, 12, 5][seed % 6],
      ffn: seed % 2 ? 'gated' : 'plain',
      vocab: [256, 77, 300, 1000, 2, 257][seed % 6],
      normGains: seed % 4 !== 1,
      embedding: seed % 3 === 2 ? 'bf16-tied' : 'ternary',
    };
    const bb = generateBackbone(cfg);
    const chunk = Uint32Array.from({ length: cfg.seqLen * (1 + (next() % 3)) }, () => next() % cfg.vocab);
    const lr = [256, 4096, 65536][seed % 3];
    const s0 = initAdapter(cfg);
    const c1 = trainStep(bb, s0, chunk, 1, { lr });
    const c2 = trainStep(bb, c1.state, chunk, 2, { lr });
    const gpu = new WebGpuTrainer(ctx, bb);
    try {
      const g1 = await gpu.step(s0, chunk, 1, { lr });
      const g2 = await gpu.step(g1.state, chunk, 2, { lr, microBatch: 1 });
      const what = `seed ${seed}: D ${cfg.dModel} H ${H}/${Hkv} L ${cfg.nLayers} T ${cfg.seqLen} θ ${cfg.ropeTheta} ${cfg.ropeLayout} targets ${cfg.loraTargets!.join(',')} alpha ${cfg.loraAlpha} ${cfg.ffn} V ${cfg.vocab}${cfg.normGains ? ' gains' : ''} ${cfg.embedding}`;
      t.strictSame([bytesToHex(g1.hash), g1.lossSumQ16, bytesToHex(g2.hash), g2.lossSumQ16], [bytesToHex(c1.hash), c1.lossSumQ16, bytesToHex(c2.hash), c2.lossSumQ16], what);
    } finally {
      gpu.destroy();
    }
  }
});

t.test('the stored whole v2 job (SPEC §9.1: every v2 feature, all seven LoRA targets) on WebGPU', async (t) => {
  const { readFileSync } = await import('node:fs');
  const stored = JSON.parse(readFileSync(new URL('./vectors/v2/train-step.json', import.meta.url), 'utf8')) as Record<string, string>;
  const cfg: ModelConfig = {
    vocab: 300, dModel: 64, nLayers: 2, nHeads: 8, nKvHeads: 2, dFF: 96, seqLen: 16, loraRank: 4, seed: new Uint8Array(32).fill(0x2b),
    ffn: 'gated', ropeTheta: 500000, ropeLayout: 'half', normGains: true, embedding: 'bf16-tied',
    loraTargets: ['q', 'k', 'v', 'o', 'gate', 'up', 'down'], loraAlpha: 8,
  };
  const chunk = Uint32Array.from({ length: 64 }, (_, i) => (i * 7919 + 13) % 300);
  const gpu = new WebGpuTrainer(ctx, generateBackbone(cfg));
  try {
    let state = initAdapter(cfg);
    const hashes: string[] = [];
    for (let k = 1; k <= 4; k++) {
      const r = await gpu.step(state, chunk, k, { lr: 16384, microBatch: k % 2 ? 4 : 1 });
      if (k === 1) t.equal(r.lossSumQ16, Number(stored.step1LossSumQ16), 'step-1 loss sum');
      hashes.push(bytesToHex(r.hash));
      state = r.state;
    }
    t.strictSame(hashes, [stored.step1, stored.step2, stored.step3, stored.step4], 'the four state hashes of the CPU vector');
  } finally {
    gpu.destroy();
  }
});
