import t, { type Test } from 'tap';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import {
  type Candidate,
  type DrawRequest,
  compareIds,
  draw,
  drawReference,
  slotRandom,
} from '../../modules/randomness/draw.ts';
import { RandomnessError, RandomnessErrorCode } from '../../modules/randomness/errors.ts';

/** Deterministic seeds: sha256("seed" ‖ n). No Math.random anywhere, so no flaky runs. */
function seedOf(n: number): Uint8Array {
  return sha256(utf8ToBytes(`seed-${n}`));
}

/** A small deterministic PRNG (sha256 counter) for building random inputs. */
function* stream(label: string): Generator<number, never, void> {
  for (let block = 0; ; block++) {
    const h = sha256(utf8ToBytes(`${label}/${block}`));
    for (let i = 0; i + 4 <= h.length; i += 4) {
      yield ((h[i] << 24) | (h[i + 1] << 16) | (h[i + 2] << 8) | h[i + 3]) >>> 0;
    }
  }
}

function ids(result: readonly Candidate[]): string[] {
  return result.map((c) => c.id);
}

function request(partial: Partial<DrawRequest> & Pick<DrawRequest, 'candidates' | 'k'>): DrawRequest {
  return { seed: seedOf(0), purpose: 'verify-panel', subjectId: 'window-1', ...partial };
}

function expectCode(t: Test, fn: () => unknown, code: number, name: string): void {
  try {
    fn();
    t.fail(`${name}: expected to throw`);
  } catch (err) {
    t.ok(err instanceof RandomnessError && err.code === code, `${name}: code ${code}`);
  }
}

const FOUR: readonly Candidate[] = [
  { id: 'val-d', stake: 4n },
  { id: 'val-a', stake: 1n },
  { id: 'val-c', stake: 3n },
  { id: 'val-b', stake: 2n },
];

t.test('slotRandom is sha256 over the documented preimage, big-endian', async (t) => {
  const seed = seedOf(7);
  const preimage = new Uint8Array([
    ...seed,
    0, 0, 0, 3, ...utf8ToBytes('abc'),
    0, 0, 0, 2, ...utf8ToBytes('w1'),
    0, 0, 0, 5,
  ]);
  t.equal(slotRandom(seed, 'abc', 'w1', 5), BigInt('0x' + bytesToHex(sha256(preimage))));
  t.not(slotRandom(seed, 'abc', 'w1', 5), slotRandom(seed, 'ab', 'cw1', 5), 'length prefix separates fields');
  t.equal(slotRandom(seed, utf8ToBytes('abc'), 'w1', 5), slotRandom(seed, 'abc', 'w1', 5), 'string = its UTF-8');
});

t.test('determinism: same inputs, same winners; input order irrelevant', async (t) => {
  const a = draw(request({ candidates: FOUR, k: 3 }));
  t.same(ids(draw(request({ candidates: FOUR, k: 3 }))), ids(a), 'repeatable');
  t.same(ids(draw(request({ candidates: [...FOUR].reverse(), k: 3 }))), ids(a), 'input order does not matter');
  t.same(ids(drawReference(request({ candidates: FOUR, k: 3 }))), ids(a), 'reference agrees');
  // Changing any of seed, purpose, subject changes the draw over a few tries.
  const many: Candidate[] = Array.from({ length: 50 }, (_, i) => ({ id: `v${i}`, stake: 10n }));
  const base = ids(draw(request({ candidates: many, k: 5 })));
  t.not(ids(draw(request({ candidates: many, k: 5, seed: seedOf(1) }))).join(), base.join(), 'seed matters');
  t.not(ids(draw(request({ candidates: many, k: 5, purpose: 'other' }))).join(), base.join(), 'purpose matters');
  t.not(ids(draw(request({ candidates: many, k: 5, subjectId: 'window-2' }))).join(), base.join(), 'subject matters');
  // Prefix property: the first j winners of a k-draw are the j-draw.
  t.same(ids(draw(request({ candidates: many, k: 3 }))), base.slice(0, 3), 'k=3 is a prefix of k=5');
});

t.test('sort is by UTF-8 bytes, not UTF-16 code units', async (t) => {
  // U+FF61 (UTF-8 ef bd a1) vs U+1F600 (UTF-8 f0 9f 98 80; UTF-16 d83d de00).
  // UTF-16 order puts the emoji first; byte order puts U+FF61 first.
  const emoji = '\u{1F600}';
  const halfwidth = '\uFF61';
  t.ok(emoji < halfwidth, 'JS string order: emoji first');
  // One slot, two equal stakes: r < stake picks the first in byte order. Find a seed with r even.
  let seed = seedOf(0);
  for (let n = 0; slotRandom(seed, 'p', 's', 0) % 2n !== 0n; n++) seed = seedOf(n);
  const winner = draw({ seed, purpose: 'p', subjectId: 's', k: 1, candidates: [
    { id: emoji, stake: 1n },
    { id: halfwidth, stake: 1n },
  ] });
  t.same(ids(winner), [halfwidth], 'r = 0 picks the byte-order-first id');
});

t.test('compareIds equals unsigned UTF-8 byte order', async (t) => {
  const rnd = stream('compare-ids');
  const next = (): number => rnd.next().value;
  // Code points from every UTF-8 length class, including both sides of the surrogate gap.
  const pool = [0x41, 0x7a, 0x7f, 0x80, 0x7ff, 0x800, 0xd7ff, 0xe000, 0xff61, 0xffff, 0x10000, 0x1f600, 0x10ffff];
  const randomId = (): string =>
    String.fromCodePoint(...Array.from({ length: next() % 4 }, () => pool[next() % pool.length]));
  const byteCompare = (a: string, b: string): number => {
    const x = utf8ToBytes(a);
    const y = utf8ToBytes(b);
    for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
    return x.length - y.length;
  };
  let mismatches = 0;
  for (let i = 0; i < 20_000; i++) {
    const a = randomId();
    const b = randomId();
    if (Math.sign(compareIds(a, b)) !== Math.sign(byteCompare(a, b))) mismatches++;
  }
  t.equal(mismatches, 0, '20,000 random pairs agree');
  expectCode(t, () => draw(request({ candidates: [{ id: 'ok\uD800', stake: 1n }], k: 1 })), RandomnessErrorCode.BAD_CANDIDATE_ID, 'lone high surrogate');
  expectCode(t, () => draw(request({ candidates: [{ id: '\uDC00x', stake: 1n }], k: 1 })), RandomnessErrorCode.BAD_CANDIDATE_ID, 'lone low surrogate');
  t.same(ids(draw(request({ candidates: [{ id: '\u{1F600}', stake: 1n }], k: 1 }))), ['\u{1F600}'], 'pairs are fine');
});

t.test('exactly k distinct winners; k = all; k = 0', async (t) => {
  const many: Candidate[] = Array.from({ length: 200 }, (_, i) => ({ id: `v${i}`, stake: BigInt(1 + (i % 7)) }));
  for (const k of [1, 2, 3, 10, 199, 200]) {
    const w = ids(draw(request({ candidates: many, k })));
    t.equal(w.length, k, `k=${k}: length`);
    t.equal(new Set(w).size, k, `k=${k}: distinct`);
  }
  const all = ids(draw(request({ candidates: many, k: 200 })));
  t.same([...all].sort(), many.map((c) => c.id).sort(), 'k = all returns every candidate');
  t.same(draw(request({ candidates: many, k: 0 })), [], 'k = 0');
  t.same(draw(request({ candidates: [], k: 0 })), [], 'no candidates, k = 0');
});

t.test('exclusions are removed before the draw', async (t) => {
  const w = ids(draw(request({ candidates: FOUR, k: 3, exclusions: ['val-d'] })));
  t.same([...w].sort(), ['val-a', 'val-b', 'val-c'], 'excluded never drawn, rest all drawn');
  const many: Candidate[] = Array.from({ length: 30 }, (_, i) => ({ id: `v${i}`, stake: 5n }));
  const excluded = new Set(['v0', 'v3', 'v17', 'not-a-candidate']);
  for (let n = 0; n < 200; n++) {
    const got = ids(draw(request({ seed: seedOf(n), candidates: many, k: 5, exclusions: excluded })));
    if (got.some((id) => excluded.has(id))) {
      t.fail(`seed ${n}: drew an excluded id`);
      return;
    }
  }
  t.pass('200 draws, no excluded id');
  // The draw equals a draw over the list without them.
  const without = many.filter((c) => !excluded.has(c.id));
  t.same(
    ids(draw(request({ candidates: many, k: 5, exclusions: excluded }))),
    ids(draw(request({ candidates: without, k: 5 }))),
    'exclusion = removal from the list',
  );
  expectCode(t, () => draw(request({ candidates: FOUR, k: 4, exclusions: ['val-a'] })), RandomnessErrorCode.NOT_ENOUGH_CANDIDATES, 'k > eligible after exclusion');
});

t.test('zero-stake candidates are never drawn', async (t) => {
  const cands: Candidate[] = [
    { id: 'a', stake: 0n },
    { id: 'b', stake: 1n },
    { id: 'c', stake: 0n },
    { id: 'd', stake: 1n },
    { id: 'e', stake: 0n },
  ];
  for (let n = 0; n < 300; n++) {
    const got = ids(draw(request({ seed: seedOf(n), candidates: cands, k: 2 })));
    if ([...got].sort().join() !== 'b,d') {
      t.fail(`seed ${n}: got ${got.join()}`);
      return;
    }
  }
  t.pass('300 draws of k=2 always {b, d}');
  expectCode(t, () => draw(request({ candidates: cands, k: 3 })), RandomnessErrorCode.NOT_ENOUGH_CANDIDATES, 'k > positive-stake count');
  expectCode(t, () => draw(request({ candidates: [{ id: 'z', stake: 0n }], k: 1 })), RandomnessErrorCode.NOT_ENOUGH_CANDIDATES, 'all zero');
});

t.test('error cases', async (t) => {
  expectCode(t, () => draw(request({ candidates: FOUR, k: 5 })), RandomnessErrorCode.NOT_ENOUGH_CANDIDATES, 'k > n');
  expectCode(t, () => draw(request({ candidates: FOUR, k: -1 })), RandomnessErrorCode.BAD_DRAW_SIZE, 'negative k');
  expectCode(t, () => draw(request({ candidates: FOUR, k: 1.5 })), RandomnessErrorCode.BAD_DRAW_SIZE, 'fractional k');
  expectCode(t, () => draw(request({ candidates: [...FOUR, { id: 'val-a', stake: 9n }], k: 1 })), RandomnessErrorCode.DUPLICATE_CANDIDATE, 'duplicate id');
  expectCode(t, () => draw(request({ candidates: [{ id: 'x', stake: -1n }], k: 0 })), RandomnessErrorCode.BAD_STAKE, 'negative stake');
  expectCode(t, () => draw(request({ candidates: [{ id: 'x', stake: 1n << 256n }], k: 0 })), RandomnessErrorCode.BAD_STAKE, 'stake >= 2^256');
  expectCode(
    t,
    () => draw(request({ candidates: [{ id: 'x', stake: (1n << 256n) - 1n }, { id: 'y', stake: 1n }], k: 1 })),
    RandomnessErrorCode.BAD_STAKE,
    'total >= 2^256',
  );
  expectCode(t, () => draw(request({ candidates: FOUR, k: 1, seed: new Uint8Array(8) })), RandomnessErrorCode.BAD_INPUT_LENGTH, 'short seed');
  expectCode(t, () => drawReference(request({ candidates: FOUR, k: 5 })), RandomnessErrorCode.NOT_ENOUGH_CANDIDATES, 'reference: k > n');
});

t.test('draw (Fenwick) equals drawReference (linear walk) on random inputs', async (t) => {
  const rnd = stream('fenwick-vs-reference');
  const next = (): number => rnd.next().value;
  let cases = 0;
  for (let c = 0; c < 300; c++) {
    const n = 1 + (next() % 60);
    const candidates: Candidate[] = [];
    for (let i = 0; i < n; i++) {
      // Mix of zero, small and huge stakes.
      const kind = next() % 4;
      const stake = kind === 0 ? 0n : kind === 1 ? BigInt(next() % 10) : (BigInt(next()) << BigInt(next() % 180)) + 1n;
      candidates.push({ id: `id-${next().toString(36)}-${i}`, stake });
    }
    const exclusions = candidates.filter(() => next() % 8 === 0).map((x) => x.id);
    const eligible = candidates.filter((x) => x.stake > 0n && !exclusions.includes(x.id)).length;
    const k = eligible === 0 ? 0 : next() % (eligible + 1);
    const req: DrawRequest = { seed: seedOf(10_000 + c), purpose: 'cmp', subjectId: `case-${c}`, candidates, exclusions, k };
    const fast = ids(draw(req));
    const slow = ids(drawReference(req));
    if (fast.join('|') !== slow.join('|')) {
      t.fail(`case ${c}: ${fast.join()} != ${slow.join()}`);
      return;
    }
    cases++;
  }
  t.equal(cases, 300, '300 random cases identical');
});

/**
 * Frequencies over N = 10,000 draws (seeds 0..9,999, deterministic). Tolerance: each observed
 * frequency must be within 4.5 standard deviations, 4.5·sqrt(p(1−p)/N), of the exact
 * probability (≤ 0.0221 absolute for p = 0.4). A correct sampler fails this with probability
 * under 1e-4 per check — and since the seeds are fixed, the result never changes between runs.
 */
const N = 10_000;
const tolerance = (p: number): number => 4.5 * Math.sqrt((p * (1 - p)) / N);

t.test('k = 1: win frequencies match stake shares (10,000 draws)', async (t) => {
  const counts = new Map<string, number>();
  for (let n = 0; n < N; n++) {
    const [w] = draw(request({ seed: seedOf(n), candidates: FOUR, k: 1 }));
    counts.set(w.id, (counts.get(w.id) ?? 0) + 1);
  }
  const total = FOUR.reduce((s, c) => s + Number(c.stake), 0);
  for (const c of FOUR) {
    const p = Number(c.stake) / total;
    const f = (counts.get(c.id) ?? 0) / N;
    t.ok(Math.abs(f - p) <= tolerance(p), `${c.id}: freq ${f.toFixed(4)} vs p ${p.toFixed(4)} ± ${tolerance(p).toFixed(4)}`);
  }
});

t.test('k = 2: inclusion frequencies match sampling without replacement (10,000 draws)', async (t) => {
  // P(i in panel of 2) = p_i + Σ_{j≠i} p_j · p_i / (1 − p_j).
  const total = FOUR.reduce((s, c) => s + Number(c.stake), 0);
  const p = new Map(FOUR.map((c) => [c.id, Number(c.stake) / total]));
  const counts = new Map<string, number>();
  const firstCounts = new Map<string, number>();
  for (let n = 0; n < N; n++) {
    const w = draw(request({ seed: seedOf(n), candidates: FOUR, k: 2, subjectId: 'k2' }));
    firstCounts.set(w[0].id, (firstCounts.get(w[0].id) ?? 0) + 1);
    for (const c of w) counts.set(c.id, (counts.get(c.id) ?? 0) + 1);
  }
  for (const c of FOUR) {
    const pi = p.get(c.id) ?? 0;
    let inclusion = pi;
    for (const [j, pj] of p) if (j !== c.id) inclusion += (pj * pi) / (1 - pj);
    const f = (counts.get(c.id) ?? 0) / N;
    t.ok(Math.abs(f - inclusion) <= tolerance(inclusion), `${c.id}: inclusion ${f.toFixed(4)} vs ${inclusion.toFixed(4)}`);
    const f0 = (firstCounts.get(c.id) ?? 0) / N;
    t.ok(Math.abs(f0 - pi) <= tolerance(pi), `${c.id}: first slot ${f0.toFixed(4)} vs ${pi.toFixed(4)}`);
  }
});

t.test('2:1 stakes: the draw gives 2/3; ranking by output/stake would give 3/4', async (t) => {
  const pair: Candidate[] = [
    { id: 'heavy', stake: 2n },
    { id: 'light', stake: 1n },
  ];
  let drawHeavy = 0;
  let rankHeavy = 0;
  for (let n = 0; n < N; n++) {
    const [w] = draw(request({ seed: seedOf(n), candidates: pair, k: 1, subjectId: 'two-to-one' }));
    if (w.id === 'heavy') drawHeavy++;
    // The biased alternative: each draws u uniform in [0, 2^256), lowest u / stake wins.
    const uHeavy = slotRandom(seedOf(n), 'rank', 'heavy', 0);
    const uLight = slotRandom(seedOf(n), 'rank', 'light', 0);
    if (uHeavy * 1n < uLight * 2n) rankHeavy++; // uHeavy/2 < uLight/1
  }
  t.ok(Math.abs(drawHeavy / N - 2 / 3) <= tolerance(2 / 3), `draw: ${(drawHeavy / N).toFixed(4)} ≈ 0.6667`);
  t.ok(Math.abs(rankHeavy / N - 3 / 4) <= tolerance(3 / 4), `ranking: ${(rankHeavy / N).toFixed(4)} ≈ 0.75 (biased)`);
});
