/**
 * Stake-weighted draw of exactly k distinct winners, without replacement. Integer-only and
 * deterministic: every node that sees the same (seed, purpose, subjectId, candidates,
 * exclusions, k) gets the same winners in the same order. Spec: ./README.md.
 *
 * Two implementations with identical output:
 *   drawReference — the spec, literally: a linear walk over cumulative stakes per slot, O(k·n).
 *   draw          — the same walk done on a Fenwick (binary indexed) tree, O(n + k·log n).
 * test/unit/draw.test.ts compares them on many random inputs.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { RandomnessError, RandomnessErrorCode } from './errors.ts';

export interface Candidate {
  /** Validator (or worker) id; sorted by its UTF-8 bytes, ascending. */
  readonly id: string;
  /** Stake, in base units. 0 ≤ stake < 2^256; zero-stake candidates are never drawn. */
  readonly stake: bigint;
}

export interface DrawRequest {
  /** Randomness, e.g. a VRF beta or a beacon output. Not length-prefixed: keep one length per purpose. */
  readonly seed: Uint8Array;
  /** Domain separation: what the panel is for, e.g. "verify-panel". */
  readonly purpose: string | Uint8Array;
  /** What this draw is about, e.g. a windowId or taskId: independent draws per subject. */
  readonly subjectId: string | Uint8Array;
  readonly candidates: readonly Candidate[];
  /** Ids removed before the draw (e.g. the submitter itself, jailed validators). Unknown ids are ignored. */
  readonly exclusions?: Iterable<string>;
  /** Number of winners. Must not exceed the number of eligible (non-excluded, stake > 0) candidates. */
  readonly k: number;
}

/** Winners in slot order: winners[i] was drawn in slot i. */
export type DrawResult = readonly Candidate[];

export const MIN_SEED_LENGTH = 16;
const UINT256_LIMIT = 1n << 256n;
const UINT32_LIMIT = 2 ** 32;

function toBytes(value: string | Uint8Array): Uint8Array {
  return typeof value === 'string' ? utf8ToBytes(value) : value;
}

function u32be(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n, false);
  return out;
}

function lengthPrefixed(bytes: Uint8Array): Uint8Array {
  if (bytes.length >= UINT32_LIMIT) {
    throw new RandomnessError(RandomnessErrorCode.BAD_INPUT_LENGTH, 'field longer than 2^32-1 bytes');
  }
  return concatBytes(u32be(bytes.length), bytes);
}

function bytesToUint256BE(bytes: Uint8Array): bigint {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

/**
 * Order of ids: ascending by their UTF-8 bytes (unsigned, shorter prefix first), which is the
 * store's key order. UTF-8 byte order equals Unicode code point order, so this compares code
 * points straight from the UTF-16 string without encoding: at the first differing code unit,
 * surrogates (U+D800..DFFF, i.e. code points >= U+10000) must sort after U+E000..FFFF, which
 * plain JS `<` gets wrong. The remap below fixes exactly that. Ids must be well-formed UTF-16
 * (checked in prepare), otherwise two ids could encode to the same bytes.
 */
export function compareIds(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codeUnitRank(x) - codeUnitRank(y);
  }
  return a.length - b.length;
}

function codeUnitRank(unit: number): number {
  if (unit >= 0xe000) return unit - 0x800; // U+E000..FFFF -> 0xD800..0xF7FF
  if (unit >= 0xd800) return unit + 0x2000; // surrogates   -> 0xF800..0xFFFF
  return unit;
}

/** Code units whose UTF-16 order differs from code point order somewhere (see compareIds). */
const NEEDS_REMAP = /[\uD800-\uFFFF]/;

/** A lone (unpaired) surrogate: the string is not well-formed UTF-16 and has no UTF-8 encoding. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * The slot's random number before reduction:
 * uint256_be(sha256(seed ‖ u32be(len purpose) ‖ purpose ‖ u32be(len subjectId) ‖ subjectId ‖ u32be(slot))).
 */
export function slotRandom(
  seed: Uint8Array,
  purpose: string | Uint8Array,
  subjectId: string | Uint8Array,
  slot: number,
): bigint {
  if (!Number.isSafeInteger(slot) || slot < 0 || slot >= UINT32_LIMIT) {
    throw new RandomnessError(RandomnessErrorCode.BAD_DRAW_SIZE, `slot ${slot} out of u32 range`);
  }
  const preimage = concatBytes(
    seed,
    lengthPrefixed(toBytes(purpose)),
    lengthPrefixed(toBytes(subjectId)),
    u32be(slot),
  );
  return bytesToUint256BE(sha256(preimage));
}

interface Prepared {
  /** Eligible candidates (not excluded, stake > 0), ascending by id bytes. */
  readonly eligible: readonly Candidate[];
  readonly total: bigint;
}

/** Validation, sort by id bytes, exclusions and zero stakes removed: shared by both implementations. */
function prepare(request: DrawRequest): Prepared {
  const { seed, candidates, k } = request;
  if (!(seed instanceof Uint8Array) || seed.length < MIN_SEED_LENGTH) {
    throw new RandomnessError(
      RandomnessErrorCode.BAD_INPUT_LENGTH,
      `seed must be at least ${MIN_SEED_LENGTH} bytes`,
    );
  }
  if (!Number.isSafeInteger(k) || k < 0 || k >= UINT32_LIMIT) {
    throw new RandomnessError(RandomnessErrorCode.BAD_DRAW_SIZE, `k must be an integer in [0, 2^32), got ${k}`);
  }
  const excluded = new Set(request.exclusions ?? []);
  const eligible: Candidate[] = [];
  const seen = new Set<string>();
  for (const candidate of candidates) {
    const { id, stake } = candidate;
    if (typeof id !== 'string' || LONE_SURROGATE.test(id)) {
      throw new RandomnessError(RandomnessErrorCode.BAD_CANDIDATE_ID, 'candidate id must be a well-formed string');
    }
    if (seen.has(id)) {
      throw new RandomnessError(RandomnessErrorCode.DUPLICATE_CANDIDATE, `duplicate candidate id ${JSON.stringify(id)}`);
    }
    seen.add(id);
    if (typeof stake !== 'bigint' || stake < 0n || stake >= UINT256_LIMIT) {
      throw new RandomnessError(RandomnessErrorCode.BAD_STAKE, `stake of ${JSON.stringify(id)} not in [0, 2^256)`);
    }
    if (stake === 0n || excluded.has(id)) continue;
    eligible.push({ id, stake });
  }
  // Where no id has a code unit >= U+D800, JS string order already is code point order.
  if (eligible.some((c) => NEEDS_REMAP.test(c.id))) eligible.sort((a, b) => compareIds(a.id, b.id));
  else eligible.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  let total = 0n;
  for (const c of eligible) total += c.stake;
  if (total >= UINT256_LIMIT) {
    throw new RandomnessError(RandomnessErrorCode.BAD_STAKE, 'total stake not below 2^256');
  }
  if (k > eligible.length) {
    throw new RandomnessError(
      RandomnessErrorCode.NOT_ENOUGH_CANDIDATES,
      `asked for ${k} winners, only ${eligible.length} eligible candidates (non-excluded, stake > 0)`,
    );
  }
  return { eligible, total };
}

/**
 * The spec, written as plainly as possible. For slot i: r = slotRandom(i) mod remainingTotal;
 * walk the remaining candidates in id order, pick the first whose cumulative stake exceeds r,
 * remove it.
 */
export function drawReference(request: DrawRequest): DrawResult {
  const { eligible, total } = prepare(request);
  const remaining = [...eligible];
  let remainingTotal = total;
  const winners: Candidate[] = [];
  for (let slot = 0; slot < request.k; slot++) {
    const r = slotRandom(request.seed, request.purpose, request.subjectId, slot) % remainingTotal;
    let cumulative = 0n;
    let index = 0;
    for (; index < remaining.length; index++) {
      cumulative += remaining[index].stake;
      if (cumulative > r) break;
    }
    const [winner] = remaining.splice(index, 1);
    winners.push(winner);
    remainingTotal -= winner.stake;
  }
  return winners;
}

/**
 * Same result as drawReference, on a Fenwick tree of stakes: a removed candidate's stake is set
 * to 0, which is exactly what skipping it in the walk does.
 */
export function draw(request: DrawRequest): DrawResult {
  const { eligible, total } = prepare(request);
  const n = eligible.length;
  // tree[i] (1-based) holds the sum of stakes over (i - lowbit(i), i]; built in O(n).
  const tree: bigint[] = new Array<bigint>(n + 1).fill(0n);
  for (let i = 1; i <= n; i++) {
    tree[i] += eligible[i - 1].stake;
    const parent = i + (i & -i);
    if (parent <= n) tree[parent] += tree[i];
  }
  let topBit = 1;
  while (topBit * 2 <= n) topBit *= 2;

  let remainingTotal = total;
  const winners: Candidate[] = [];
  for (let slot = 0; slot < request.k; slot++) {
    const r = slotRandom(request.seed, request.purpose, request.subjectId, slot) % remainingTotal;
    // Largest pos with prefixSum(pos) <= r; the winner is pos + 1 (first with prefix > r).
    let pos = 0;
    let rest = r;
    for (let step = topBit; step > 0; step >>= 1) {
      const next = pos + step;
      if (next <= n && tree[next] <= rest) {
        pos = next;
        rest -= tree[next];
      }
    }
    const winner = eligible[pos]; // 0-based index of 1-based position pos + 1
    winners.push(winner);
    remainingTotal -= winner.stake;
    for (let i = pos + 1; i <= n; i += i & -i) tree[i] -= winner.stake;
  }
  return winners;
}
