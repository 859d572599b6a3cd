import t from "tap";
import { CacheStore } from "../../app/core/store/cache.ts";
import { prefixStore } from "../../app/core/store/prefix.ts";
import type { KVStore } from "../../app/core/store/types.ts";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : new TextDecoder().decode(b));

/** A plain sorted-map store as the bottom layer (reference semantics). */
class MapStore implements KVStore {
  readonly m = new Map<string, Uint8Array>();
  private k(b: Uint8Array): string {
    return Buffer.from(b).toString("latin1");
  }
  get(key: Uint8Array): Uint8Array | undefined {
    return this.m.get(this.k(key));
  }
  has(key: Uint8Array): boolean {
    return this.m.has(this.k(key));
  }
  set(key: Uint8Array, value: Uint8Array): void {
    this.m.set(this.k(key), value);
  }
  delete(key: Uint8Array): void {
    this.m.delete(this.k(key));
  }
  *iterate(prefix: Uint8Array): IterableIterator<[Uint8Array, Uint8Array]> {
    const p = this.k(prefix);
    const keys = [...this.m.keys()].filter((k) => k.startsWith(p)).sort();
    for (const k of keys) yield [Uint8Array.from(Buffer.from(k, "latin1")), this.m.get(k) as Uint8Array];
  }
}

function list(s: KVStore, prefix = ""): Array<[string, string]> {
  return [...s.iterate(enc(prefix))].map(([k, v]) => [Buffer.from(k).toString("latin1"), dec(v) as string]);
}

t.test("overlay: reads fall through, writes buffered until write()", async (t) => {
  const base = new MapStore();
  base.set(enc("a"), enc("1"));
  base.set(enc("b"), enc("2"));
  const c = new CacheStore(base);
  t.equal(dec(c.get(enc("a"))), "1");
  c.set(enc("a"), enc("10"));
  c.delete(enc("b"));
  c.set(enc("c"), enc("3"));
  t.equal(dec(c.get(enc("a"))), "10");
  t.equal(c.get(enc("b")), undefined);
  t.equal(c.has(enc("b")), false);
  t.equal(c.has(enc("c")), true);
  t.equal(dec(base.get(enc("a"))), "1", "parent untouched before write");
  t.equal(base.has(enc("c")), false);
  t.same(
    c.changes().map(([k, v]) => [dec(k), dec(v)]),
    [["a", "10"], ["b", undefined], ["c", "3"]],
  );
  c.write();
  t.equal(dec(base.get(enc("a"))), "10");
  t.equal(base.has(enc("b")), false);
  t.equal(dec(base.get(enc("c"))), "3");
  t.equal(c.size, 0, "buffer emptied by write");
});

t.test("set copies the value; empty keys are rejected", async (t) => {
  const c = new CacheStore(new MapStore());
  const v = enc("xy");
  c.set(enc("k"), v);
  v[0] = 0;
  t.equal(dec(c.get(enc("k"))), "xy");
  t.throws(() => c.set(new Uint8Array(0), enc("v")));
  t.throws(() => c.delete(new Uint8Array(0)));
});

t.test("ordered merged iteration with deletes and shadowing", async (t) => {
  const base = new MapStore();
  for (const k of ["a1", "a3", "a5", "b1", "a\xff", "a"]) base.set(Buffer.from(k, "latin1"), enc("base-" + k));
  const c = new CacheStore(base);
  c.set(enc("a2"), enc("new-a2"));
  c.set(enc("a3"), enc("new-a3"));
  c.delete(enc("a5"));
  c.set(enc("a6"), enc("new-a6"));
  c.delete(enc("a7")); // delete of an absent key: invisible
  c.set(enc("0"), enc("new-0"));
  t.same(list(c, "a"), [
    ["a", "base-a"],
    ["a1", "base-a1"],
    ["a2", "new-a2"],
    ["a3", "new-a3"],
    ["a6", "new-a6"],
    ["a\xff", "base-a\xff"],
  ]);
  t.same(
    list(c).map(([k]) => k),
    ["0", "a", "a1", "a2", "a3", "a6", "a\xff", "b1"],
    "whole key space in unsigned byte order",
  );
  t.same(list(c, "zz"), []);
});

t.test("byte order: 0x00 < 0x7f < 0x80 < 0xff, prefix before extension", async (t) => {
  const c = new CacheStore(new MapStore());
  const keys = [[0xff], [0x80], [0x7f], [0x00], [0x80, 0x00], [0x7f, 0xff]];
  for (const k of keys) c.set(Uint8Array.from(k), enc("v"));
  t.same(
    [...c.iterate(new Uint8Array(0))].map(([k]) => [...k]),
    [[0x00], [0x7f], [0x7f, 0xff], [0x80], [0x80, 0x00], [0xff]],
  );
  t.same([...c.iterate(Uint8Array.of(0xff))].map(([k]) => [...k]), [[0xff]], "prefix 0xff has no successor");
});

t.test("randomized: cache over cache equals reference model", async (t) => {
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const base = new MapStore();
  const model = new Map<string, string>();
  for (let i = 0; i < 40; i++) {
    const k = "k" + rnd(60);
    base.set(enc(k), enc("b" + i));
    model.set(k, "b" + i);
  }
  const mid = new CacheStore(base);
  for (let round = 0; round < 20; round++) {
    const top = new CacheStore(mid);
    const local = new Map(model);
    for (let op = 0; op < 30; op++) {
      const k = "k" + rnd(60);
      if (rnd(3) === 0) {
        top.delete(enc(k));
        local.delete(k);
      } else {
        top.set(enc(k), enc("r" + round + "o" + op));
        local.set(k, "r" + round + "o" + op);
      }
    }
    const expected = [...local.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1));
    t.same(list(top), expected, `round ${round} merged view`);
    if (rnd(2) === 0) {
      top.write(); // commit the "tx"
      model.clear();
      for (const [k, v] of local) model.set(k, v);
    } // else: failed tx, dropped
    t.same(list(mid), [...model.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)), `round ${round} parent`);
  }
  mid.write();
  t.same(list(base), [...model.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)), "written through to base");
});

t.test("nested caches: inner write lands in outer only; discard drops", async (t) => {
  const base = new MapStore();
  base.set(enc("x"), enc("0"));
  const outer = new CacheStore(base);
  const inner = new CacheStore(outer);
  inner.set(enc("x"), enc("1"));
  inner.set(enc("y"), enc("2"));
  t.equal(dec(outer.get(enc("x"))), "0");
  inner.write();
  t.equal(dec(outer.get(enc("x"))), "1");
  t.equal(dec(base.get(enc("x"))), "0");
  const failed = new CacheStore(outer);
  failed.delete(enc("x"));
  failed.set(enc("z"), enc("3"));
  // dropped without write(): no trace
  t.equal(dec(outer.get(enc("x"))), "1");
  t.equal(outer.has(enc("z")), false);
  outer.discard();
  t.equal(dec(outer.get(enc("x"))), "0");
  t.equal(outer.has(enc("y")), false);
  t.equal(outer.size, 0);
  t.ok(failed.size > 0);
});

t.test("revision increases on every write", async (t) => {
  const c = new CacheStore(new MapStore());
  const r0 = c.revision;
  c.set(enc("a"), enc("1"));
  const r1 = c.revision;
  c.set(enc("a"), enc("1"));
  const r2 = c.revision;
  c.delete(enc("a"));
  t.ok(r0 < r1 && r1 < r2 && r2 < c.revision);
});

t.test("iteration is a stable snapshot of the buffer", async (t) => {
  const c = new CacheStore(new MapStore());
  for (const k of ["a", "b", "c"]) c.set(enc(k), enc(k));
  const seen: string[] = [];
  for (const [k] of c.iterate(new Uint8Array(0))) {
    seen.push(dec(k) as string);
    c.set(enc("bb"), enc("late")); // must not crash the walk
  }
  t.same(seen, ["a", "b", "c"]);
});

t.test("prefixStore isolates key spaces", async (t) => {
  const base = new MapStore();
  const c = new CacheStore(base);
  const bank = prefixStore(c, enc("bank/"));
  const auth = prefixStore(c, enc("auth/"));
  bank.set(enc("alice"), enc("10"));
  bank.set(enc("bob"), enc("20"));
  auth.set(enc("alice"), enc("acct"));
  t.equal(dec(bank.get(enc("alice"))), "10");
  t.equal(dec(auth.get(enc("alice"))), "acct");
  t.equal(auth.has(enc("bob")), false);
  t.same(list(bank), [["alice", "10"], ["bob", "20"]]);
  t.same(list(bank, "b"), [["bob", "20"]]);
  bank.delete(enc("alice"));
  t.equal(bank.has(enc("alice")), false);
  t.same(list(c).map(([k]) => k), ["auth/alice", "bank/bob"]);
  const nested = prefixStore(bank, enc("x/"));
  nested.set(enc("1"), enc("n"));
  t.equal(dec(c.get(enc("bank/x/1"))), "n");
  t.same(list(nested), [["1", "n"]]);
  t.throws(() => prefixStore(c, new Uint8Array(0)));
});

t.test("savepoint: rollback restores the buffer exactly (entries and order), equal to a nested layer dropped", async (t) => {
  let seed = 777;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const randomOps = (store: CacheStore, count: number, tag: string): void => {
    for (let op = 0; op < count; op++) {
      const k = enc("k" + rnd(40));
      if (rnd(3) === 0) store.delete(k);
      else store.set(k, enc(`${tag}${op}`));
    }
  };
  for (let round = 0; round < 50; round++) {
    const base = new MapStore();
    for (let i = 0; i < 20; i++) base.set(enc("k" + rnd(40)), enc("b" + i));
    // The same ante writes on both; then message writes on a savepoint (one) or a nested layer (two).
    const single = new CacheStore(base);
    const outer = new CacheStore(base);
    const anteSeed = seed;
    randomOps(single, 8, "ante");
    seed = anteSeed;
    randomOps(outer, 8, "ante");
    const before = single.latin1Changes();
    const orderBefore = [...(single as unknown as { pending: Map<string, unknown> }).pending.keys()];
    single.savepoint();
    const inner = new CacheStore(outer);
    const msgSeed = seed;
    randomOps(single, 12, "msg");
    seed = msgSeed;
    randomOps(inner, 12, "msg");
    t.same(list(single), list(inner), `round ${round}: same view during the messages`);
    const keep = rnd(2) === 0;
    if (keep) {
      inner.write();
    } else {
      single.rollbackToSavepoint();
      t.same(single.latin1Changes(), before, `round ${round}: rollback restores every buffered entry`);
      t.same([...(single as unknown as { pending: Map<string, unknown> }).pending.keys()], orderBefore, `round ${round}: and their order`);
    }
    t.same(list(single), list(outer), `round ${round}: ${keep ? "kept" : "rolled back"} equals the nested layer ${keep ? "written" : "dropped"}`);
  }
});

t.test("savepoint misuse is an error; write and discard close it", async (t) => {
  const store = new CacheStore(new MapStore());
  t.throws(() => store.rollbackToSavepoint(), /no savepoint/);
  store.savepoint();
  t.throws(() => store.savepoint(), /already open/);
  store.set(enc("a"), enc("1"));
  store.write();
  t.throws(() => store.rollbackToSavepoint(), /no savepoint/, "write closed it");
  store.savepoint();
  store.discard();
  t.throws(() => store.rollbackToSavepoint(), /no savepoint/, "discard closed it");
  store.savepoint();
  store.set(enc("b"), enc("2"));
  store.delete(enc("a"));
  store.rollbackToSavepoint();
  t.equal(store.size, 0, "nothing buffered after rolling back to an empty buffer");
});
