// The serving node's generation speed: time to first token (prefill + one sample) and decode
// tokens/s, with the KV cache (src/model/decode.ts, src/serve/gpu-decoder.ts: one position per new
// token) and without it (the whole sequence recomputed for every token), on the CPU and on WebGPU,
// for the devnet model and the genesis model; beside them the CPU training step's tokens/s.
// Every run of one model must produce the same tokens (checked: the bench fails otherwise).
// Run: npx tsx --conditions=r3mes-source worker/bench/serve.ts [--no-webgpu]
// On a machine without a GPU the WebGPU rows are Mesa's llvmpipe (the same WGSL on the same CPU
// cores): they show the kernels' cost structure, not a GPU's speed.

import { bytesToHex } from '@noble/hashes/utils.js';
import { GpuContext } from '../src/kernels/webgpu/device.ts';
import { initAdapter } from '../src/model/adapter.ts';
import { generateBackbone } from '../src/model/backbone.ts';
import type { ModelConfig } from '../src/model/config.ts';
import { CpuDecoder, type Decoder } from '../src/model/decode.ts';
import { quantizeAdapter } from '../src/model/forward.ts';
import { generate } from '../src/serve/engine.ts';
import { GpuDecoder } from '../src/serve/gpu-decoder.ts';
import { trainStep } from '../src/train/step.ts';

const configs: Array<[string, number, number, number, number, number]> = [
  ['devnet (D64 L2 H2 F128 T64)', 64, 2, 2, 128, 64],
  ['genesis (D256 L4 H4 F1024 T256)', 256, 4, 4, 1024, 256],
];
const withGpu = !process.argv.includes('--no-webgpu');
const now = (): number => Number(process.hrtime.bigint()) / 1e6;

let ctx: GpuContext | undefined;
if (withGpu) {
  try {
    ctx = await GpuContext.open();
    console.log(`webgpu adapter: ${ctx.label}`);
  } catch (err) {
    console.log(`webgpu: not available (${(err as Error).message}); CPU rows only`);
  }
}
console.log('prompt = seqLen/4 bytes, then generate to the full context (temperature 0.8, top_p 0.95, seed 1)');
console.log('TTFT = prefill + first token (median of 5); decode tok/s = tokens after the first / time after the first');
console.log('');
console.log('model                            backend  cache    prompt  tokens   TTFT ms  decode tok/s  cache speed-up');
for (const [name, dModel, nLayers, nHeads, dFF, seqLen] of configs) {
  const cfg: ModelConfig = { vocab: 256, dModel, nLayers, nHeads, dFF, seqLen, loraRank: 8, seed: new Uint8Array(32).fill(42) };
  const bb = generateBackbone(cfg);
  const state = initAdapter(cfg);
  for (const rec of state.params) for (const p of ['q', 'k', 'v', 'o'] as const) rec[p].b.forEach((_, i, b) => { b[i] = ((i * 7919) % 8193) - 4096; });
  const lq = quantizeAdapter(state);
  const P = seqLen / 4;
  const prompt = new TextEncoder().encode('It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of foolishness, it was the epoch of belief, it was the epoch of incredulity, it was the season of Light, it was the season of Darkness, it was the spring of hope, it was the winter of despair.'.repeat(4)).subarray(0, P);
  const spec = { prompt, maxTokens: seqLen - P, sampling: { temperatureQ16: 52429, topPQ16: 62259, seed: 1n }, stop: [] };
  let reference: string | undefined;
  const backends: Array<[string, () => Decoder]> = [['cpu', () => new CpuDecoder(bb, lq)]];
  if (ctx) backends.push(['webgpu', () => new GpuDecoder(ctx!, bb, lq)]);
  for (const [bname, make] of backends) {
    const rates: number[] = [];
    for (const noCache of [false, true]) {
      const dec = make();
      await generate(dec, { ...spec, maxTokens: 8 }, { noCache, prefillBlock: 64 }); // warm-up (JIT, pipelines, wasm)
      // TTFT: the median of 5 runs of prefill + one token (the same work with and without the cache).
      const ttfts: number[] = [];
      for (let k = 0; k < 5; k++) ttfts.push((await generate(dec, { ...spec, maxTokens: 1 }, { noCache, prefillBlock: 64 })).firstTokenMs);
      const ttft = ttfts.sort((a, b) => a - b)[2];
      const t0 = now();
      const g = await generate(dec, spec, { noCache, prefillBlock: 64 });
      const total = now() - t0;
      dec.close();
      const tokens = bytesToHex(g.tokens);
      if (reference === undefined) reference = tokens;
      else if (tokens !== reference) {
        console.log(`${name}: ${bname} ${noCache ? 'no-cache' : 'KV cache'} produced OTHER tokens`);
        process.exitCode = 1;
      }
      const rate = ((g.tokens.length - 1) * 1000) / (total - g.firstTokenMs);
      rates.push(rate);
      console.log(
        `${name.padEnd(32)} ${bname.padEnd(8)} ${(noCache ? 'none' : 'KV').padEnd(6)} ${String(P).padStart(7)} ${String(g.tokens.length).padStart(7)} `
          + `${ttft.toFixed(1).padStart(9)} ${rate.toFixed(1).padStart(13)} ${noCache ? `${(rates[0] / rate).toFixed(1).padStart(14)}×` : ''}`,
      );
    }
  }
  // The training step on the same model, for scale (one 2048-token chunk, forward + backward).
  const chunk = new Uint8Array(2048);
  for (let i = 0; i < chunk.length; i++) chunk[i] = 32 + ((i * 2654435761) >>> 25);
  const t0 = now();
  trainStep(bb, initAdapter(cfg), chunk, 1, { lr: 64 });
  const ms = now() - t0;
  console.log(`${name.padEnd(32)} cpu      training step: ${((2048 * 1000) / ms).toFixed(0)} tok/s (2048-token chunk, forward + backward)`);
}
ctx?.destroy();
