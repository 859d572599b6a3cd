/**
 * The paging of every list query (app/core/pagination.ts): limit, next_key round trips that
 * cover every item exactly once, reverse, offset, count_total, filters, the default and maximum
 * limits, and refused keys — over a real store (CacheStore) with a prefix, as the keepers use it.
 */
import t from 'tap';
import { ChainError } from '../../app/core/errors.ts';
import { concatBytes, u64be, utf8 } from '../../app/core/bytes.ts';
import {
  DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT, type PageRequest, paginate, paginateArray, underPrefix,
} from '../../app/core/pagination.ts';
import { emptyState } from '../helpers/module-context.ts';

const PREFIX = utf8('w/');
const ID = { keyLength: 8, keyMeaning: 'a u64be window id' };

/** Ids 1..n under w/ (value: the id as text), plus keys before and after the prefix. */
function store(n: number) {
  const s = emptyState();
  for (let id = 1; id <= n; id++) s.set(concatBytes(PREFIX, u64be(BigInt(id))), utf8(String(id)));
  s.set(utf8('v/x'), utf8('before'));
  s.set(utf8('x/x'), utf8('after'));
  return s;
}

const req = (over: Partial<PageRequest> = {}): PageRequest => ({ key: new Uint8Array(), offset: 0n, limit: 0n, countTotal: false, reverse: false, ...over });
const decodeId = (_: Uint8Array, value: Uint8Array) => Number(Buffer.from(value).toString());

/** Follows next_key from the first page to the last. */
function walk(s: ReturnType<typeof store>, first: PageRequest, filter: (id: number) => boolean = () => true): { ids: number[]; pages: number } {
  const ids: number[] = [];
  let page = first;
  for (let pages = 1; pages < 1000; pages++) {
    const answer = paginate(underPrefix(s, PREFIX), page, (k, v) => (filter(decodeId(k, v)) ? decodeId(k, v) : undefined), ID);
    ids.push(...answer.items);
    if (answer.pagination.nextKey.length === 0) return { ids, pages };
    page = { ...page, key: answer.pagination.nextKey, offset: 0n };
  }
  throw new Error('no last page');
}

t.test('limit and next_key: every item exactly once, in key order, across pages', (t) => {
  const s = store(25);
  const first = paginate(underPrefix(s, PREFIX), req({ limit: 10n }), decodeId, ID);
  t.same(first.items, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  t.same([...first.pagination.nextKey], [...u64be(11n)], 'next_key is the key of the first item after the page, relative to the prefix');
  t.equal(first.pagination.total, 0n, 'no total unless asked');
  const all = walk(s, req({ limit: 10n }));
  t.same(all.ids, Array.from({ length: 25 }, (_, i) => i + 1), 'the round trip covers 1..25 once each');
  t.equal(all.pages, 3);
  t.same(walk(s, req({ limit: 25n })).pages, 1, 'exactly one full page: no next_key');
  t.same(walk(s, req({ limit: 1n })).ids.length, 25);
  t.end();
});

t.test('reverse: descending from the end, or from next_key inclusive', (t) => {
  const s = store(12);
  const first = paginate(underPrefix(s, PREFIX), req({ limit: 5n, reverse: true }), decodeId, ID);
  t.same(first.items, [12, 11, 10, 9, 8]);
  t.same([...first.pagination.nextKey], [...u64be(7n)]);
  t.same(walk(s, req({ limit: 5n, reverse: true })).ids, [12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
  t.end();
});

t.test('count_total, offset, and the defaults (limit 0 → 100 and a total, as the Cosmos SDK)', (t) => {
  const s = store(250);
  const counted = paginate(underPrefix(s, PREFIX), req({ limit: 7n, countTotal: true }), decodeId, ID);
  t.equal(counted.items.length, 7);
  t.equal(counted.pagination.total, 250n, 'count_total counts every item');
  const defaults = paginate(underPrefix(s, PREFIX), undefined, decodeId, ID);
  t.equal(BigInt(defaults.items.length), DEFAULT_PAGE_LIMIT, 'no pagination: the first 100');
  t.equal(defaults.pagination.total, 250n, 'and the total');
  t.same([...defaults.pagination.nextKey], [...u64be(101n)]);
  const offset = paginate(underPrefix(s, PREFIX), req({ offset: 245n, limit: 3n, countTotal: true }), decodeId, ID);
  t.same(offset.items, [246, 247, 248]);
  t.equal(offset.pagination.total, 250n);
  const keyed = paginate(underPrefix(s, PREFIX), req({ key: u64be(200n), countTotal: true }), decodeId, ID);
  t.equal(keyed.pagination.total, 0n, 'count_total is ignored with a key');
  t.same(keyed.items.slice(0, 2), [200, 201]);
  t.end();
});

t.test('the maximum limit caps a bigger one', (t) => {
  const s = store(1200);
  const page = paginate(underPrefix(s, PREFIX), req({ limit: 5000n }), decodeId, ID);
  t.equal(BigInt(page.items.length), MAX_PAGE_LIMIT);
  t.same([...page.pagination.nextKey], [...u64be(1001n)]);
  t.end();
});

t.test('a filter pages over matching items only (offset, limit, total, next_key)', (t) => {
  const s = store(30);
  const even = (id: number) => id % 2 === 0;
  const first = paginate(underPrefix(s, PREFIX), req({ limit: 4n, countTotal: true }), (k, v) => (even(decodeId(k, v)) ? decodeId(k, v) : undefined), ID);
  t.same(first.items, [2, 4, 6, 8]);
  t.equal(first.pagination.total, 15n);
  t.same([...first.pagination.nextKey], [...u64be(10n)], 'next_key is the next matching item');
  t.same(walk(s, req({ limit: 4n }), even).ids, Array.from({ length: 15 }, (_, i) => 2 * (i + 1)));
  t.same(walk(s, req({ limit: 4n, reverse: true }), even).ids, Array.from({ length: 15 }, (_, i) => 30 - 2 * i));
  t.end();
});

t.test('bad requests are refused with a clear sdk/18', (t) => {
  const s = store(3);
  const refuse = (page: PageRequest, message: RegExp) => {
    try {
      paginate(underPrefix(s, PREFIX), page, decodeId, ID);
      t.fail('expected a refusal');
    } catch (error) {
      t.ok(error instanceof ChainError);
      t.match({ codespace: (error as ChainError).codespace, code: (error as ChainError).code }, { codespace: 'sdk', code: 18 });
      t.match((error as ChainError).message, message);
    }
  };
  refuse(req({ key: u64be(2n), offset: 1n }), /pagination.key and pagination.offset cannot both be set/);
  refuse(req({ key: utf8('abc') }), /pagination.key must be 8 bytes \(a u64be window id, as a next_key returned it\), got 3/);
  t.end();
});

t.test('an empty list: no items, no next_key', (t) => {
  const page = paginate(underPrefix(store(0), PREFIX), req({ countTotal: true }), decodeId, ID);
  t.same(page.items, []);
  t.equal(page.pagination.nextKey.length, 0);
  t.equal(page.pagination.total, 0n);
  t.end();
});

t.test('paginateArray: computed lists paged by position', (t) => {
  const list = ['a', 'b', 'c', 'd', 'e'];
  const first = paginateArray(list, req({ limit: 2n }));
  t.same(first.items, ['a', 'b']);
  const second = paginateArray(list, req({ limit: 2n, key: first.pagination.nextKey }));
  t.same(second.items, ['c', 'd']);
  const third = paginateArray(list, req({ limit: 2n, key: second.pagination.nextKey }));
  t.same(third.items, ['e']);
  t.equal(third.pagination.nextKey.length, 0);
  t.same(paginateArray(list, req({ reverse: true, limit: 3n })).items, ['e', 'd', 'c']);
  t.end();
});
