/**
 * Pagination of list queries, as the Cosmos SDK's `query.Paginate` / `FilteredPaginate`:
 * a `PageRequest {key, offset, limit, count_total, reverse}` in, the page's items and a
 * `PageResponse {next_key, total}` out. Lists walk state in key order (ascending bytes; `reverse`
 * descending), so pages are deterministic and every item is on exactly one page.
 *
 * - `key`: the `next_key` of the previous page: the page starts at (and includes) that key.
 *   `key` and `offset` together are refused. A key of the wrong shape for the list (e.g. not the
 *   8 bytes of an id) is refused with a message saying what it must be.
 * - `offset`: matching items to skip (without `key`).
 * - `limit`: items per page; 0 = DEFAULT_PAGE_LIMIT (100), and then — without `key` — the total
 *   is counted, as in the SDK; above MAX_PAGE_LIMIT (1000) it is capped to it.
 * - `count_total`: count every matching item into `total` (ignored with `key`: `total` is 0).
 * - `next_key`: the key of the first matching item after the page, relative to the list's
 *   prefix; empty on the last page.
 *
 * A filter (e.g. a status) counts only matching items for `offset`, `limit` and `total`.
 * The structural types match the generated `cosmos.base.query.v1beta1` messages
 * (proto/cosmos/base/query/v1beta1/pagination.proto) and cosmjs-types' ones.
 */
import { sdkErrors } from './errors.ts';
import { compareBytes, readU64be, u64be } from './bytes.ts';

export interface PageRequest {
  key: Uint8Array;
  offset: bigint;
  limit: bigint;
  countTotal: boolean;
  reverse: boolean;
}

/** `nextKey` is a Buffer, as in the generated (env=node) message types. */
export interface PageResponse {
  nextKey: Buffer;
  total: bigint;
}

export interface Page<T> {
  items: T[];
  pagination: PageResponse;
}

export const DEFAULT_PAGE_LIMIT = 100n;
export const MAX_PAGE_LIMIT = 1000n;

export interface PaginateOptions {
  /** The byte length every key of this list has (relative to its prefix): a `pagination.key` must have it. */
  readonly keyLength?: number;
  /** Else a shape rule for a `pagination.key` (e.g. a length-prefixed address). */
  readonly validKey?: (key: Uint8Array) => boolean;
  /** What the key is, for the refusal: "a u64be window id". */
  readonly keyMeaning?: string;
}

/** `validKey` of lists keyed by u8(length) ‖ address bytes. */
export const lengthPrefixedKey = (key: Uint8Array): boolean => key.length >= 2 && key[0] === key.length - 1;

/**
 * One page of `entries` (key relative to the list's prefix, value), which must come in ascending
 * key order. `decode` turns an entry into an item, or `undefined` to leave it out (a filter);
 * it runs only for entries at or past the start key.
 */
export function paginate<T>(
  entries: Iterable<[Uint8Array, Uint8Array]>,
  request: PageRequest | undefined,
  decode: (key: Uint8Array, value: Uint8Array) => T | undefined,
  options: PaginateOptions = {},
): Page<T> {
  const page = request ?? { key: new Uint8Array(), offset: 0n, limit: 0n, countTotal: false, reverse: false };
  const start = page.key.length > 0 ? page.key : undefined;
  if (start !== undefined && page.offset > 0n) throw sdkErrors.invalidRequest('pagination.key and pagination.offset cannot both be set');
  if (start !== undefined && options.keyLength !== undefined && start.length !== options.keyLength) {
    throw sdkErrors.invalidRequest(`pagination.key must be ${options.keyLength} bytes (${options.keyMeaning ?? 'a key of this list'}, as a next_key returned it), got ${start.length}`);
  }
  if (start !== undefined && options.validKey !== undefined && !options.validKey(start)) {
    throw sdkErrors.invalidRequest(`pagination.key is not ${options.keyMeaning ?? 'a key of this list'} (pass the next_key a page returned)`);
  }
  let limit = page.limit;
  let countTotal = page.countTotal && start === undefined;
  if (limit === 0n) {
    limit = DEFAULT_PAGE_LIMIT;
    if (start === undefined) countTotal = true;
  }
  if (limit > MAX_PAGE_LIMIT) limit = MAX_PAGE_LIMIT;

  const source = page.reverse ? [...entries].reverse() : entries;
  const items: T[] = [];
  let nextKey = Buffer.alloc(0);
  let skipped = 0n;
  let total = 0n;
  for (const [key, value] of source) {
    if (start !== undefined) {
      const order = compareBytes(key, start);
      if (page.reverse ? order > 0 : order < 0) continue;
    }
    const item = decode(key, value);
    if (item === undefined) continue;
    total += 1n;
    if (skipped < page.offset) {
      skipped += 1n;
      continue;
    }
    if (BigInt(items.length) < limit) {
      items.push(item);
      continue;
    }
    if (nextKey.length === 0) nextKey = Buffer.from(key);
    if (!countTotal) break;
  }
  return { items, pagination: { nextKey, total: countTotal ? total : 0n } };
}

/** A PageRequest for a generated request message (whose `key` is a Buffer); undefined stays undefined. */
export function pageRequestMessage(page: PageRequest | undefined): (Omit<PageRequest, 'key'> & { key: Buffer }) | undefined {
  return page === undefined ? undefined : { ...page, key: Buffer.from(page.key) };
}

/**
 * A computed list (not stored under its own keys) paged the same way: item i has the key
 * u64be(i), so `next_key` is the 8-byte index of the next item.
 */
export function paginateArray<T>(list: readonly T[], request: PageRequest | undefined): Page<T> {
  const entries = list.map((_, index) => [u64be(BigInt(index)), EMPTY] as [Uint8Array, Uint8Array]);
  return paginate(entries, request, (key) => list[Number(readU64be(key))], { keyLength: 8, keyMeaning: 'the u64be position in the list' });
}

const EMPTY = new Uint8Array();

/**
 * The JSON a Cosmos client reads for a PageResponse (gateway style): `{next_key: base64 | null,
 * total: "<decimal>"}`, from the generated toJSON form (`{nextKey?, total?}`, defaults omitted).
 */
export function pageResponseJson(json: unknown): { next_key: string | null; total: string } {
  const page = (typeof json === 'object' && json !== null ? json : {}) as { nextKey?: string; total?: string };
  return { next_key: page.nextKey !== undefined && page.nextKey !== '' ? page.nextKey : null, total: page.total ?? '0' };
}

/** The entries under `prefix` of `store`, keys relative to the prefix: the input of `paginate` for a stored list. */
export function* underPrefix(store: { iterate(prefix: Uint8Array): IterableIterator<[Uint8Array, Uint8Array]> }, prefix: Uint8Array): IterableIterator<[Uint8Array, Uint8Array]> {
  for (const [key, value] of store.iterate(prefix)) yield [key.subarray(prefix.length), value];
}
