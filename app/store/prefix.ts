/**
 * A module's view of state: every key is silently prefixed, so a module sees (and can reach)
 * only its own key space. Iteration strips the prefix again.
 */
import type { KVStore } from "./types.ts";
import { concatBytes } from "./bytes.ts";

class PrefixStore implements KVStore {
  constructor(
    private readonly parent: KVStore,
    private readonly prefix: Uint8Array,
  ) {}

  private full(key: Uint8Array): Uint8Array {
    return concatBytes(this.prefix, key);
  }

  get(key: Uint8Array): Uint8Array | undefined {
    return this.parent.get(this.full(key));
  }

  has(key: Uint8Array): boolean {
    return this.parent.has(this.full(key));
  }

  set(key: Uint8Array, value: Uint8Array): void {
    this.parent.set(this.full(key), value);
  }

  delete(key: Uint8Array): void {
    this.parent.delete(this.full(key));
  }

  *iterate(prefix: Uint8Array): IterableIterator<[Uint8Array, Uint8Array]> {
    const cut = this.prefix.length;
    for (const [k, v] of this.parent.iterate(this.full(prefix))) yield [k.subarray(cut), v];
  }
}

/**
 * `prefix` must be non-empty. Choose module prefixes so that none is a prefix of another
 * (e.g. fixed-length, or length-delimited), otherwise one module's keys fall inside the other's.
 */
export function prefixStore(parent: KVStore, prefix: Uint8Array): KVStore {
  if (prefix.length === 0) throw new RangeError("prefixStore: empty prefix");
  return new PrefixStore(parent, prefix.slice());
}
