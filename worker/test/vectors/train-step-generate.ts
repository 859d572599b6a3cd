// Writes train-step.json and v2/train-step.json (SPEC §9, §9.1 whole-step vectors) from the CPU
// reference, and prints the loss sums SPEC quotes. Run once after a reviewed change of the
// training definition: `npx tsx worker/test/vectors/train-step-generate.ts`. The configs and chunks
// are the ones test/train-step.test.ts and test/cpu-v2.test.ts check.
import { bytesToHex } from '@noble/hashes/utils.js';
import { writeFileSync } from 'node:fs';
import { initAdapter } from '../../src/model/adapter.ts';
import { generateBackbone } from '../../src/model/backbone.ts';
import type { ModelConfig } from '../../src/model/config.ts';
import { runJob } from '../../src/train/job.ts';
import { trainStep } from '../../src/train/step.ts';

{
  const cfg: ModelConfig = { vocab: 256, dModel: 32, nLayers: 2, nHeads: 2, dFF: 64, seqLen: 16, loraRank: 4, seed: new Uint8Array(32).fill(9) };
  const bb = generateBackbone(cfg);
  const text = new TextEncoder().encode('It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of foolishness, ');
  const chunk = text.subarray(0, 96);
  const a = trainStep(bb, initAdapter(cfg), chunk, 1, { lr: 256 });
  const b = trainStep(bb, a.state, chunk, 2, { lr: 256 });
  const job = runJob(bb, initAdapter(cfg), [chunk, text.subarray(16, 96), chunk], { lr: 256 });
  const out = {
    config: 'dModel 32, nLayers 2, nHeads 2, dFF 64, seqLen 16, loraRank 4, seed 0x09×32, lr 256; chunk = first 96 bytes of the Dickens sentence in train-step.test.ts',
    step1: bytesToHex(a.hash), step2: bytesToHex(b.hash), traceRoot: bytesToHex(job.traceRoot),
  };
  writeFileSync(new URL('./train-step.json', import.meta.url), `${JSON.stringify(out, null, 1)}\n`);
  console.log('v1', out, 'loss sums', a.lossSumQ16, Math.floor(a.lossSumQ16 / 90), b.lossSumQ16, Math.floor(b.lossSumQ16 / 90));
}
{
  const cfg: ModelConfig = {
    vocab: 300, dModel: 64, nLayers: 2, nHeads: 8, nKvHeads: 2, dFF: 96, seqLen: 16, loraRank: 4, seed: new Uint8Array(32).fill(0x2b),
    ffn: 'gated', ropeTheta: 500000, ropeLayout: 'half', normGains: true, embedding: 'bf16-tied',
    loraTargets: ['q', 'k', 'v', 'o', 'gate', 'up', 'down'], loraAlpha: 8,
  };
  const chunk = Uint32Array.from({ length: 64 }, (_, i) => (i * 7919 + 13) % 300);
  const bb = generateBackbone(cfg);
  let s = initAdapter(cfg);
  const hashes: string[] = [];
  let loss1 = 0;
  for (let k = 1; k <= 4; k++) {
    const r = trainStep(bb, s, chunk, k, { lr: 16384 });
    if (k === 1) loss1 = r.lossSumQ16;
    hashes.push(bytesToHex(r.hash));
    s = r.state;
  }
  const job = runJob(bb, initAdapter(cfg), [chunk, chunk, chunk.subarray(16), chunk], { lr: 16384 });
  const out = { step1: hashes[0], step1LossSumQ16: String(loss1), step2: hashes[1], step3: hashes[2], step4: hashes[3], traceRoot: bytesToHex(job.traceRoot) };
  writeFileSync(new URL('./v2/train-step.json', import.meta.url), `${JSON.stringify(out, null, 1)}\n`);
  console.log('v2', out, 'mean', Math.floor(loss1 / 60));
}
