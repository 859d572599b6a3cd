// SPEC v2 (2B4T layout) CPU training step at reduced sizes: tokens per CPU-second of one step
// (forward + backward + optimizer) and the CPU time of the tied LM head alone, on a model generated from a
// seed with 2B4T's proportions (d_head 128, GQA group 4, d_ff ≈ 2.7·d_model, gated relu², gains,
// tied bf16 head, θ = 500000 rotate_half, LoRA on all seven projections).
// Run: npx tsx worker/bench/train-v2.ts [dModel] [nLayers] [vocab] [seqLen] [chunkTokens]
// The full 2B4T shape (D 2560, L 30, V 128256, 2048 tokens) is far beyond this JS reference in
// time; per-layer cost scales linearly in L, so a 2-layer figure is reported as measured.

import { initAdapter } from '../src/model/adapter.ts';
import { generateBackbone } from '../src/model/backbone.ts';
import type { ModelConfig } from '../src/model/config.ts';
import { normquant } from '../src/kernels/cpu/normquant.ts';
import { tiedHead, tiedHeadBackward } from '../src/kernels/cpu/v2ops.ts';
import { trainStep } from '../src/train/step.ts';

const [dModel, nLayers, vocab, seqLen, chunkTokens] = [512, 2, 32000, 128, 256].map((d, i) => Number(process.argv[2 + i] ?? d));
const nHeads = dModel / 128;
const cfg: ModelConfig = {
  vocab, dModel, nLayers, nHeads, nKvHeads: Math.max(1, nHeads / 4), dFF: Math.round((dModel * 2.7) / 32) * 32, seqLen, loraRank: 8,
  seed: new Uint8Array(32).fill(42), ffn: 'gated', ropeTheta: 500000, ropeLayout: 'half', normGains: true, embedding: 'bf16-tied',
  loraTargets: ['q', 'k', 'v', 'o', 'gate', 'up', 'down'], loraAlpha: 16,
};
const bb = generateBackbone(cfg);
const chunk = Uint32Array.from({ length: chunkTokens }, (_, i) => (i * 2654435761) % vocab);
const cpuMs = (f: () => void): number => {
  const c0 = process.cpuUsage();
  f();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
};
let state = initAdapter(cfg);
const stepMs = cpuMs(() => {
  state = trainStep(bb, state, chunk, 1, { lr: 256 }).state;
});
const T = seqLen;
const h = Int32Array.from({ length: T * dModel }, (_, i) => ((i * 7919) % 65536) - 32768);
const nq = normquant(h, T, dModel);
const seqs = chunkTokens / seqLen;
const headMs = seqs * cpuMs(() => {
  tiedHead(bb.embedBf16!, vocab, dModel, nq.x8, nq.sx, T);
  tiedHeadBackward(bb.embedBf16!, vocab, dModel, new Int32Array(T * vocab).fill(3), T);
});
const tok = chunkTokens;
console.log(`| shape | step CPU ms | tokens/CPU-s | tied head fwd+bwd alone, CPU ms (same tokens) |`);
console.log(`|---|---|---|---|`);
console.log(`| D ${dModel} L ${nLayers} H ${nHeads}/${cfg.nKvHeads} F ${cfg.dFF} V ${vocab} T ${seqLen}, ${tok} tokens | ${stepMs.toFixed(0)} | ${(tok / (stepMs / 1000)).toFixed(1)} | ${headMs.toFixed(0)} |`);
