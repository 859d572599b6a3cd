/**
 * A write-buffering overlay over another KVStore: the unit of "try this, keep it or drop it".
 *
 * Writes and deletes land in a buffer; reads look in the buffer first and fall through to the
 * parent. `iterate()` merges buffered entries with the parent's in ascending byte order and
 * hides deleted keys. `write()` pushes the buffer into the parent (in ascending key order, so a
 * parent that records the order sees the same sequence on every node) and empties it. A failed
 * transaction simply drops its CacheStore: nothing reached the parent.
 *
 * Caches nest: a tx cache over the block's working cache over committed state.
 *
 * Values are copied on `set` (a caller may reuse its array); values returned by `get` and
 * `iterate` are shared — do not mutate them. Writing to a store while iterating it gives an
 * unspecified (but memory-safe) view; collect first, then write.
 */
import { type KVStore, type StringKeyedStore, stringKeyed } from "./types.ts";
import { fromKeyString, lowerBound, prefixEnd, toKeyString } from "./bytes.ts";

/** A buffered entry: the new value, or `null` for a delete. */
type Pending = Uint8Array | null;
/** In a savepoint's log: the key had no buffered entry. */
const ABSENT = Symbol("absent");

export class CacheStore implements StringKeyedStore {
  // Keys are latin1 strings; see bytes.ts for why their order equals byte order.
  private readonly pending = new Map<string, Pending>();
  /** Buffered keys in ascending order; rebuilt lazily after a new key is buffered. */
  private sortedKeys: string[] | undefined = [];
  private rev = 0;
  /** The open savepoint: each key's buffered entry before its first change since then. */
  private savepointLog: Map<string, Pending | typeof ABSENT> | undefined;

  /** The parent when it takes latin1 keys too (then keys are never converted back to bytes). */
  private readonly parentS: StringKeyedStore | undefined;

  constructor(private readonly parent: KVStore) {
    this.parentS = stringKeyed(parent);
  }

  /** Increases on every set/delete; lets an owner cache work derived from the contents. */
  get revision(): number {
    return this.rev;
  }

  /** Number of buffered writes and deletes. */
  get size(): number {
    return this.pending.size;
  }

  get(key: Uint8Array): Uint8Array | undefined {
    return this.getS(toKeyString(key));
  }

  getS(k: string): Uint8Array | undefined {
    const p = this.pending.get(k);
    if (p !== undefined) return p === null ? undefined : p;
    return this.parentS !== undefined ? this.parentS.getS(k) : this.parent.get(fromKeyString(k));
  }

  has(key: Uint8Array): boolean {
    return this.hasS(toKeyString(key));
  }

  hasS(k: string): boolean {
    const p = this.pending.get(k);
    if (p !== undefined) return p !== null;
    return this.parentS !== undefined ? this.parentS.hasS(k) : this.parent.has(fromKeyString(k));
  }

  set(key: Uint8Array, value: Uint8Array): void {
    if (!(key instanceof Uint8Array) || key.length === 0) throw new TypeError("store key must be non-empty bytes");
    if (!(value instanceof Uint8Array)) throw new TypeError("store value must be bytes");
    this.buffer(toKeyString(key), value.slice());
  }

  setS(k: string, value: Uint8Array): void {
    if (typeof k !== "string" || k.length === 0) throw new TypeError("store key must be non-empty bytes");
    if (!(value instanceof Uint8Array)) throw new TypeError("store value must be bytes");
    this.buffer(k, value.slice());
  }

  delete(key: Uint8Array): void {
    if (!(key instanceof Uint8Array) || key.length === 0) throw new TypeError("store key must be non-empty bytes");
    this.buffer(toKeyString(key), null);
  }

  deleteS(k: string): void {
    if (typeof k !== "string" || k.length === 0) throw new TypeError("store key must be non-empty bytes");
    this.buffer(k, null);
  }

  private buffer(k: string, v: Pending): void {
    const before = this.pending.get(k);
    if (before === undefined) this.sortedKeys = undefined;
    const log = this.savepointLog;
    if (log !== undefined && !log.has(k)) log.set(k, before === undefined ? ABSENT : before);
    this.pending.set(k, v);
    this.rev++;
  }

  /**
   * Opens a savepoint: `rollbackToSavepoint()` then undoes every set and delete made after it,
   * leaving the buffer exactly as it was (entries and their order). It is what a nested cache
   * layer gives (a tx's message writes dropped, its fee and sequence kept) without a second
   * layer that every read of the messages would pass through. One savepoint at a time; `write`
   * and `discard` close it.
   */
  savepoint(): void {
    if (this.savepointLog !== undefined) throw new Error("CacheStore: a savepoint is already open");
    this.savepointLog = new Map();
  }

  /** Undoes every change since `savepoint()` and closes it. */
  rollbackToSavepoint(): void {
    const log = this.savepointLog;
    if (log === undefined) throw new Error("CacheStore: no savepoint to roll back to");
    for (const [k, before] of log) {
      // Re-setting a key that was buffered before keeps its place in the Map's order; keys
      // first buffered after the savepoint leave it.
      if (before === ABSENT) this.pending.delete(k);
      else this.pending.set(k, before);
    }
    this.savepointLog = undefined;
    this.sortedKeys = undefined;
    this.rev++;
  }

  private sorted(): string[] {
    if (this.sortedKeys === undefined) this.sortedKeys = [...this.pending.keys()].sort();
    return this.sortedKeys;
  }

  *iterate(prefix: Uint8Array): IterableIterator<[Uint8Array, Uint8Array]> {
    const p = toKeyString(prefix);
    const end = prefixEnd(p);
    // Snapshot the buffered range now, so later writes cannot disturb this walk.
    const keys = this.sorted();
    const from = lowerBound(keys, p);
    const to = end === undefined ? keys.length : lowerBound(keys, end);
    const mine: Array<[string, Pending]> = [];
    for (let i = from; i < to; i++) mine.push([keys[i], this.pending.get(keys[i]) ?? null]);

    let m = 0;
    for (const entry of this.parent.iterate(prefix)) {
      const pk = toKeyString(entry[0]);
      // Emit buffered entries that sort before the parent's key.
      while (m < mine.length && mine[m][0] < pk) {
        const v = mine[m][1];
        if (v !== null) yield [fromKeyString(mine[m][0]), v];
        m++;
      }
      if (m < mine.length && mine[m][0] === pk) {
        const v = mine[m][1]; // buffered entry shadows the parent's
        if (v !== null) yield [fromKeyString(pk), v];
        m++;
      } else {
        yield entry;
      }
    }
    for (; m < mine.length; m++) {
      const v = mine[m][1];
      if (v !== null) yield [fromKeyString(mine[m][0]), v];
    }
  }

  /** Buffered changes in ascending key order; `undefined` value = delete. */
  changes(): Array<[Uint8Array, Uint8Array | undefined]> {
    return this.latin1Changes().map(([k, v]) => [fromKeyString(k), v]);
  }

  /** @internal Buffered changes with latin1 keys, ascending. */
  latin1Changes(): Array<[string, Uint8Array | undefined]> {
    return this.sorted().map((k) => {
      const v = this.pending.get(k);
      return [k, v === null ? undefined : v];
    });
  }

  /** Merges the buffer into the parent (ascending key order) and empties it. */
  write(): void {
    const parent = this.parent;
    if (parent instanceof CacheStore) {
      // Cache over cache (tx over block): hand over the latin1 keys and the already-copied
      // values directly, skipping the byte conversions and the second copy. No sort: a cache
      // keeps no order of its own (it sorts when asked), and the Map's insertion order is itself
      // a deterministic function of the writes.
      for (const [k, v] of this.pending) parent.buffer(k, v);
    } else {
      for (const k of this.sorted()) {
        const v = this.pending.get(k);
        if (v === undefined) continue;
        if (v === null) parent.delete(fromKeyString(k));
        else parent.set(fromKeyString(k), v);
      }
    }
    this.pending.clear();
    this.sortedKeys = [];
    this.savepointLog = undefined;
    this.rev++;
  }

  /** Drops every buffered write. */
  discard(): void {
    this.pending.clear();
    this.sortedKeys = [];
    this.savepointLog = undefined;
    this.rev++;
  }
}
