/**
 * The aggregation rule in the training params (`aggregation_rule`): which robust aggregation
 * every drawn proposer applies to a window's accepted deltas (worker/SPEC.md §11). The chain
 * never aggregates; it only checks that the rule is one the workers know, spelled as they parse
 * it, with parameters in range, so that a governance change cannot set a rule the proposers
 * would read differently. (The chain does not import worker code: this mirrors the worker's
 * `parseRule` syntax, worker/src/aggregate/rules.ts.)
 *
 *   median            coordinate-wise median
 *   trimmed-mean:K    trimmed mean dropping the K lowest and K highest, 0 ≤ K ≤ 10⁴
 *   krum:F            Krum tolerating F faulty inputs, 0 ≤ F ≤ 10⁴ (M = 1)
 *   krum:F:M          multi-Krum averaging the M best, 1 ≤ M ≤ 10⁴
 *
 * Integers are decimal without leading zeros. Whether a rule fits a window's input count
 * (2K < N, N ≥ 2F + 3, M ≤ N − F) is known only at aggregation; see the training README.
 */
import type { ErrorKind } from '../../app/core/errors.ts';

export const DEFAULT_AGGREGATION_RULE = 'median';
export const MAX_RULE_PARAMETER = 10_000;

export type ChainAggregationRule =
  | { readonly kind: 'median' }
  | { readonly kind: 'trimmed-mean'; readonly trim: number }
  | { readonly kind: 'krum'; readonly f: number; readonly m: number };

const SYNTAX = 'median, trimmed-mean:K, krum:F or krum:F:M';

/** Parses and range-checks an aggregation rule; throws `error` with the reason. */
export function parseAggregationRule(text: string, error: ErrorKind, what = 'aggregationRule'): ChainAggregationRule {
  if (typeof text !== 'string') throw error(`${what} must be a string`);
  const shown = JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}…` : text);
  const parts = text.split(':');
  const int = (s: string, name: string, min: number): number => {
    if (!/^(0|[1-9][0-9]{0,8})$/.test(s)) throw error(`${what} ${shown}: ${name} must be a decimal integer without leading zeros`);
    const n = Number(s);
    if (n < min || n > MAX_RULE_PARAMETER) throw error(`${what} ${shown}: ${name} must be in [${min}, ${MAX_RULE_PARAMETER}], got ${n}`);
    return n;
  };
  if (parts[0] === 'median' && parts.length === 1) return { kind: 'median' };
  if (parts[0] === 'trimmed-mean' && parts.length === 2) return { kind: 'trimmed-mean', trim: int(parts[1], 'the trim K', 0) };
  if (parts[0] === 'krum' && (parts.length === 2 || parts.length === 3)) {
    const f = int(parts[1], 'F', 0);
    return { kind: 'krum', f, m: parts.length === 3 ? int(parts[2], 'M', 1) : 1 };
  }
  throw error(`${what} ${shown} is not an aggregation rule: use ${SYNTAX}`);
}
