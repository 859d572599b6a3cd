import { chooseBackend } from './src/backend.ts';
import { generateBackbone } from './src/model/backbone.ts';
import { initAdapter } from './src/model/adapter.ts';
const cfg = { vocab: 256 as const, dModel: 64, nLayers: 2, nHeads: 2, dFF: 128, seqLen: 64, loraRank: 8, seed: new Uint8Array(32).fill(7) };
const bb = generateBackbone(cfg);
const chunk = new Uint8Array(2048).map((_, i) => 32 + ((i * 2654435761) >>> 25));
const b = await chooseBackend('webgpu');
let ticks = 0; let maxGap = 0; let last = performance.now();
const iv = setInterval(() => { const n = performance.now(); maxGap = Math.max(maxGap, n - last); last = n; ticks++; }, 1);
for (let s = 1; s <= 3; s++) {
  ticks = 0; maxGap = 0; last = performance.now();
  const t0 = performance.now();
  await b.step(bb, initAdapter(cfg), chunk, s, { lr: 256 });
  console.log(`webgpu step ${s}: ${(performance.now() - t0).toFixed(0)} ms, ${ticks} ticks of a 1 ms timer, longest gap ${maxGap.toFixed(0)} ms`);
}
clearInterval(iv); b.close(); process.exit();
