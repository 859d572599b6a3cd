/**
 * Stake-weighted draw cost: a 3-member panel among 10,000 validators, plus larger k, for the
 * Fenwick implementation (draw) against the literal spec walk (drawReference, the baseline).
 * Run: npx tsx bench/draw.ts
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { type Candidate, type DrawRequest, draw, drawReference, slotRandom } from '../modules/randomness/draw.ts';

/** Best of several rounds (see bench/vrf.ts): minimum ms per call after a warm-up. */
function timeMs(fn: (i: number) => void, rounds = 5, roundMs = 300): number {
  fn(0); // warm-up
  let best = Infinity;
  let n = 0;
  for (let r = 0; r < rounds; r++) {
    const start = performance.now();
    let count = 0;
    do {
      fn(++n);
      count++;
    } while (performance.now() - start < roundMs);
    best = Math.min(best, (performance.now() - start) / count);
  }
  return best;
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
const prepareMs = new Map<number, number>();
for (const [n, k, withReference] of [
  [10_000, 0, true], // prepare only: validation, exclusions, sort by id
  [10_000, 3, true], // the panel
  [10_000, 100, true],
  [10_000, 10_000, false], // reference is O(n·k) here: skipped
  [1_000, 0, true],
  [1_000, 1_000, true],
] as [number, number, boolean][]) {
  const candidates = validators(n);
  const req = (i: number): DrawRequest => ({ seed: seedFor(i), purpose: 'verify-panel', subjectId: `window-${i}`, candidates, k });
  const fast = timeMs((i) => void draw(req(i)));
  const slow = withReference ? timeMs((i) => void drawReference(req(i))) : NaN;
  if (k === 0) prepareMs.set(n, fast);
  const base = prepareMs.get(n) ?? 0;
  const perWinnerUs = k > 0 ? (((fast - base) * 1000) / k).toFixed(1) : '—';
  rows.push(
    `| ${n.toLocaleString('en')} | ${k.toLocaleString('en')} | ${fast.toFixed(2)} | ${withReference ? slow.toFixed(2) : 'skipped'} | ` +
      `${withReference ? (slow / fast).toFixed(1) + '×' : '—'} | ${perWinnerUs} |`,
  );
}
const seed = seedFor(0);
const slotUs = timeMs((i) => void slotRandom(seed, 'verify-panel', 'window-1', i & 0xffff)) * 1000;

console.log(`node ${process.version}, ${process.arch}, single thread; best of 5 rounds, times per whole draw call`);
console.log('| validators | k | draw ms | drawReference ms | reference / draw | draw µs per winner beyond k=0 |');
console.log('|---:|---:|---:|---:|---:|---:|');
for (const r of rows) console.log(r);
console.log(`slotRandom (one sha256 + uint256): ${slotUs.toFixed(1)} µs`);
