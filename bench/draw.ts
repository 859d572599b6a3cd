/**
 * Stake-weighted draw cost: a 3-member panel among 10,000 validators, plus larger k, for the
 * Fenwick implementation (draw) against the literal spec walk (drawReference, the baseline).
 * Run: npx tsx bench/draw.ts
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { type Candidate, type DrawRequest, draw, drawReference } from '../modules/randomness/draw.ts';

function timeMs(fn: (i: number) => void, minMs = 1000, minRuns = 3): number {
  fn(0); // warm-up
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < minMs || n < minRuns) fn(++n);
  return (performance.now() - start) / n;
}

function validators(n: number): Candidate[] {
  // Deterministic, skewed stakes (1 .. ~1e24 base units), ids like cosmos valoper addresses.
  return Array.from({ length: n }, (_, i) => {
    const h = sha256(new TextEncoder().encode(`v${i}`));
    const stake = (BigInt(h[0]) * 1000n + BigInt(h[1]) + 1n) * 10n ** BigInt(6 + (h[2] % 18));
    const id = 'r3mesvaloper1' + Array.from(h.subarray(3, 23), (b) => b.toString(16).padStart(2, '0')).join('');
    return { id, stake };
  });
}

const seedFor = (i: number): Uint8Array => sha256(new TextEncoder().encode(`beacon-${i}`));
const rows: string[] = [];
for (const [n, k, withReference] of [
  [10_000, 0, true], // prepare only: validation + sort + filter
  [10_000, 3, true],
  [10_000, 100, true],
  [10_000, 10_000, false], // reference is O(n·k): ~minutes, skipped
  [1_000, 1_000, true],
] as [number, number, boolean][]) {
  const candidates = validators(n);
  const req = (i: number): DrawRequest => ({ seed: seedFor(i), purpose: 'verify-panel', subjectId: `window-${i}`, candidates, k });
  const fast = timeMs((i) => void draw(req(i)));
  const slow = withReference ? timeMs((i) => void drawReference(req(i))) : NaN;
  rows.push(
    `| ${n.toLocaleString('en')} | ${k.toLocaleString('en')} | ${fast.toFixed(2)} | ${withReference ? slow.toFixed(2) : 'skipped'} | ` +
      `${withReference ? (slow / fast).toFixed(1) + '×' : '—'} | ${k > 0 ? ((fast * 1000) / k).toFixed(1) : '—'} |`,
  );
}
console.log(`node ${process.version}, ${process.arch}, single thread; times are per whole draw call`);
console.log('| validators | k | draw ms | drawReference ms | speed-up | draw µs per winner |');
console.log('|---:|---:|---:|---:|---:|---:|');
for (const r of rows) console.log(r);
