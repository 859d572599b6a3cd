// The distribution of PoC distances (SPEC §14.4), to set r_target: for 16 epoch seeds, the
// distances of nonces 0..N−1 under the default PoC dims; the share of nonces below each candidate
// threshold, per seed (min, mean, max over seeds). The default r_target (DEFAULT_R_TARGET) is
// checked against the share SPEC §14.4 states.
// Run: npx tsx worker/bench/poc-distances.ts [N]

import { sha256 } from '@noble/hashes/sha2.js';
import { buildPocModel, DEFAULT_POC_DIMS, pocDistanceOf } from '../src/poc/compute.ts';
import { DEFAULT_R_TARGET } from '../src/cli/poc.ts';

const N = Number(process.argv[2] ?? 256);
const SEEDS = 16;
const thresholds = [90000n, 100000n, DEFAULT_R_TARGET, 120000n, 131072n];
const shares: number[][] = thresholds.map(() => []);
let lo = Infinity;
let hi = 0;
const all: number[] = [];
for (let s = 0; s < SEEDS; s++) {
  const m = buildPocModel(sha256(new TextEncoder().encode(`poc distances ${s}`)), DEFAULT_POC_DIMS);
  const ds = Array.from({ length: N }, (_, n) => pocDistanceOf(m, BigInt(n)));
  thresholds.forEach((r, i) => shares[i].push(ds.filter((d) => d < r).length / N));
  for (const d of ds) {
    lo = Math.min(lo, Number(d));
    hi = Math.max(hi, Number(d));
    all.push(Number(d));
  }
}
all.sort((a, b) => a - b);
const q = (p: number): number => all[Math.floor(p * (all.length - 1))];
console.log(`default PoC dims ${JSON.stringify(DEFAULT_POC_DIMS)}; ${SEEDS} seeds × ${N} nonces`);
console.log(`distance over all: min ${lo}, 1% ${q(0.01)}, 5% ${q(0.05)}, 10% ${q(0.1)}, median ${q(0.5)}, max ${hi} (2^17 = 131072: orthogonal)`);
console.log('r_target     share below: min    mean     max (over seeds)');
thresholds.forEach((r, i) => {
  const v = shares[i];
  const pct = (x: number): string => `${(x * 100).toFixed(1)}%`.padStart(7);
  console.log(`${r.toString().padEnd(12)}${' '.repeat(12)}${pct(Math.min(...v))} ${pct(v.reduce((a, b) => a + b, 0) / v.length)} ${pct(Math.max(...v))}${r === DEFAULT_R_TARGET ? '   (default)' : ''}`);
});
