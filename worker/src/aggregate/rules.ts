// Robust aggregation of N adapter deltas in exact integer arithmetic (worker/SPEC.md §11).
// Each input is a list of Int32Array tensors (the same count and lengths for every input);
// the output has the same layout. Every rule is a pure function of the inputs in their given
// order (the chain's submission order), so honest proposers compute identical bytes.

import { AggregateError, AggregateErrorCode } from './errors.ts';

export type AggregationRule =
  | { readonly kind: 'median' }
  | { readonly kind: 'trimmed-mean'; readonly trim: number }
  | { readonly kind: 'krum'; readonly f: number; readonly m: number };

/** One input: its tensors in a fixed order (for deltas: lora.{ℓ}.{p}.A, .B, layer-major). */
export type Flat = readonly Int32Array[];

export interface AggregateResult {
  readonly tensors: Int32Array[];
  /** Krum: the indices of the selected inputs, best first; empty for the other rules */
  readonly selected: number[];
  /** Krum: every input's score (sum of squared distances to its N−f−2 nearest), as decimal strings */
  readonly scores: string[];
}

/** Inputs are bounded so that every sum below is exact in a double: |v| ≤ 2^24, N ≤ 2^20. */
const VALUE_LIMIT = 1 << 24;
const MAX_INPUTS = 1 << 20;

/** round(s / n), half away from zero: sign(s)·⌊(2|s| + n) / (2n)⌋ (exact for |s| < 2^51). */
export function divRound(s: number, n: number): number {
  const mag = Math.floor((2 * Math.abs(s) + n) / (2 * n));
  return s < 0 ? -mag : mag;
}

export function ruleName(rule: AggregationRule): string {
  switch (rule.kind) {
    case 'median': return 'median';
    case 'trimmed-mean': return `trimmed-mean:${rule.trim}`;
    case 'krum': return `krum:${rule.f}:${rule.m}`;
  }
}

/** Parses `median`, `trimmed-mean:K`, `krum:F` or `krum:F:M` (the inverse of ruleName). */
export function parseRule(text: string): AggregationRule {
  const parts = text.split(':');
  const int = (s: string | undefined, what: string): number => {
    if (s === undefined || !/^(0|[1-9][0-9]{0,8})$/.test(s)) throw new AggregateError(AggregateErrorCode.UnknownRule, `aggregation rule "${text}": ${what} must be a decimal integer`);
    return Number(s);
  };
  if (parts[0] === 'median' && parts.length === 1) return { kind: 'median' };
  if (parts[0] === 'trimmed-mean' && parts.length === 2) return { kind: 'trimmed-mean', trim: int(parts[1], 'the trim k') };
  if (parts[0] === 'krum' && (parts.length === 2 || parts.length === 3)) {
    const m = parts.length === 3 ? int(parts[2], 'the selection size m') : 1;
    return { kind: 'krum', f: int(parts[1], 'f'), m };
  }
  throw new AggregateError(AggregateErrorCode.UnknownRule, `unknown aggregation rule "${text}": use median, trimmed-mean:K, krum:F or krum:F:M`);
}

function checkInputs(inputs: readonly Flat[]): void {
  if (inputs.length === 0) throw new AggregateError(AggregateErrorCode.NoInputs, 'aggregation needs at least one input');
  if (inputs.length > MAX_INPUTS) throw new AggregateError(AggregateErrorCode.BadParameters, `at most ${MAX_INPUTS} inputs`);
  const first = inputs[0];
  inputs.forEach((x, i) => {
    if (x.length !== first.length) throw new AggregateError(AggregateErrorCode.ShapeMismatch, `input ${i} has ${x.length} tensors, input 0 has ${first.length}`);
    x.forEach((t, j) => {
      if (t.length !== first[j].length) throw new AggregateError(AggregateErrorCode.ShapeMismatch, `input ${i} tensor ${j} has ${t.length} values, input 0 has ${first[j].length}`);
      for (let k = 0; k < t.length; k++) {
        if (t[k] > VALUE_LIMIT || t[k] < -VALUE_LIMIT) throw new AggregateError(AggregateErrorCode.BadParameters, `input ${i} tensor ${j}[${k}] = ${t[k]} is outside ±2^24`);
      }
    });
  });
}

/** Applies `reduce` to the sorted column of every coordinate. */
function coordinatewise(inputs: readonly Flat[], reduce: (sorted: Int32Array) => number): Int32Array[] {
  const n = inputs.length;
  const column = new Int32Array(n);
  return inputs[0].map((t0, j) => {
    const out = new Int32Array(t0.length);
    for (let k = 0; k < t0.length; k++) {
      for (let i = 0; i < n; i++) column[i] = inputs[i][j][k];
      column.sort(); // typed-array sort is numeric
      out[k] = reduce(column);
    }
    return out;
  });
}

export function median(inputs: readonly Flat[]): Int32Array[] {
  checkInputs(inputs);
  const n = inputs.length;
  const h = n >> 1;
  return coordinatewise(inputs, (c) => (n % 2 === 1 ? c[h] : divRound(c[h - 1] + c[h], 2)));
}

export function trimmedMean(inputs: readonly Flat[], trim: number): Int32Array[] {
  checkInputs(inputs);
  const n = inputs.length;
  if (!Number.isSafeInteger(trim) || trim < 0 || 2 * trim >= n) {
    throw new AggregateError(AggregateErrorCode.BadParameters, `trimmed mean: trim k = ${trim} needs 0 ≤ 2k < N = ${n}`);
  }
  const kept = n - 2 * trim;
  return coordinatewise(inputs, (c) => {
    let s = 0;
    for (let i = trim; i < n - trim; i++) s += c[i];
    return divRound(s, kept);
  });
}

/** Exact Σ (a − b)² over every coordinate, as a bigint. */
export function squaredDistance(a: Flat, b: Flat): bigint {
  // |a|, |b| ≤ 2^24, so d² ≤ 2^50 is exact, and flushing the running sum at 2^52 keeps it exact.
  let total = 0n;
  let part = 0;
  for (let j = 0; j < a.length; j++) {
    const x = a[j];
    const y = b[j];
    for (let k = 0; k < x.length; k++) {
      const d = x[k] - y[k];
      part += d * d;
      if (part >= 4503599627370496) {
        total += BigInt(part);
        part = 0;
      }
    }
  }
  return total + BigInt(part);
}

export function krum(inputs: readonly Flat[], f: number, m: number): AggregateResult {
  checkInputs(inputs);
  const n = inputs.length;
  if (!Number.isSafeInteger(f) || f < 0 || n < 2 * f + 3) {
    throw new AggregateError(AggregateErrorCode.BadParameters, `krum: f = ${f} needs N ≥ 2f + 3, N = ${n}`);
  }
  if (!Number.isSafeInteger(m) || m < 1 || m > n - f) {
    throw new AggregateError(AggregateErrorCode.BadParameters, `krum: m = ${m} needs 1 ≤ m ≤ N − f = ${n - f}`);
  }
  const dist: bigint[][] = Array.from({ length: n }, () => new Array<bigint>(n).fill(0n));
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) dist[i][j] = dist[j][i] = squaredDistance(inputs[i], inputs[j]);
  }
  const nearest = n - f - 2;
  const scores = dist.map((row, i) => {
    const others = row.filter((_, j) => j !== i).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return others.slice(0, nearest).reduce((s, d) => s + d, 0n);
  });
  const order = scores.map((s, i) => i).sort((a, b) => (scores[a] < scores[b] ? -1 : scores[a] > scores[b] ? 1 : a - b));
  const selected = order.slice(0, m);
  const chosen = selected.map((i) => inputs[i]);
  const tensors = m === 1 ? chosen[0].map((t) => t.slice()) : trimmedMean(chosen, 0);
  return { tensors, selected, scores: scores.map((s) => s.toString()) };
}

export function aggregate(inputs: readonly Flat[], rule: AggregationRule): AggregateResult {
  switch (rule.kind) {
    case 'median': return { tensors: median(inputs), selected: [], scores: [] };
    case 'trimmed-mean': return { tensors: trimmedMean(inputs, rule.trim), selected: [], scores: [] };
    case 'krum': return krum(inputs, rule.f, rule.m);
  }
}
