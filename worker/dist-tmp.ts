import { pocModelFor, pocDistanceOf, DEFAULT_POC_DIMS } from './src/poc/compute.ts';
import { sha256 } from '@noble/hashes/sha2.js';
const dims = DEFAULT_POC_DIMS;
const N = Number(process.argv[2] ?? 300);
const thr = [90000, 95000, 100000, 105000];
for (let s = 0; s < 8; s++) {
  const seed = sha256(new Uint8Array([s]));
  const m = pocModelFor(seed, dims);
  const ds: number[] = [];
  for (let n = 0n; n < BigInt(N); n++) ds.push(Number(pocDistanceOf(m, n)));
  ds.sort((a,b)=>a-b);
  const q = (p: number) => ds[Math.floor(p * ds.length)];
  console.log(s, 'min', ds[0], 'q1', q(0.01), 'q5', q(0.05), 'q10', q(0.1), 'q50', q(0.5), 'max', ds[ds.length-1], thr.map(t => (ds.filter(d => d < t).length / N * 100).toFixed(1)+'%').join(' '));
}
