/**
 * A module's view of state: every key is silently prefixed, so a module sees (and can reach)
 * only its own key space. Iteration strips the prefix again.
 */
import { type KVStore, type StringKeyedStore, stringKeyed } from "./types.ts";
import { bytesEqual, concatBytes } from "../bytes.ts";
import { toKeyString } from "./bytes.ts";

class PrefixStore implements StringKeyedStore {
  /** The prefix as a latin1 key string, for parents that take string keys (no byte concat). */
  private readonly prefixS: string;
  private readonly parentS: StringKeyedStore | undefined;

  constructor(
    private readonly parent: KVStore,
    private readonly prefix: Uint8Array,
    prefixS: string,
  ) {
    this.prefixS = prefixS;
    this.parentS = stringKeyed(parent);
  }

  private full(key: Uint8Array): Uint8Array {
    return concatBytes(this.prefix, key);
  }

  get(key: Uint8Array): Uint8Array | undefined {
    return this.parentS !== undefined ? this.parentS.getS(this.prefixS + toKeyString(key)) : this.parent.get(this.full(key));
  }

  getS(key: string): Uint8Array | undefined {
    return this.parentS !== undefined ? this.parentS.getS(this.prefixS + key) : this.parent.get(this.full(fromLatin1(key)));
  }

  has(key: Uint8Array): boolean {
    return this.parentS !== undefined ? this.parentS.hasS(this.prefixS + toKeyString(key)) : this.parent.has(this.full(key));
  }

  hasS(key: string): boolean {
    return this.parentS !== undefined ? this.parentS.hasS(this.prefixS + key) : this.parent.has(this.full(fromLatin1(key)));
  }

  set(key: Uint8Array, value: Uint8Array): void {
    if (this.parentS !== undefined) this.parentS.setS(this.prefixS + toKeyString(key), value);
    else this.parent.set(this.full(key), value);
  }

  setS(key: string, value: Uint8Array): void {
    if (this.parentS !== undefined) this.parentS.setS(this.prefixS + key, value);
    else this.parent.set(this.full(fromLatin1(key)), value);
  }

  delete(key: Uint8Array): void {
    if (this.parentS !== undefined) this.parentS.deleteS(this.prefixS + toKeyString(key));
    else this.parent.delete(this.full(key));
  }

  deleteS(key: string): void {
    if (this.parentS !== undefined) this.parentS.deleteS(this.prefixS + key);
    else this.parent.delete(this.full(fromLatin1(key)));
  }

  *iterate(prefix: Uint8Array): IterableIterator<[Uint8Array, Uint8Array]> {
    const cut = this.prefix.length;
    for (const [k, v] of this.parent.iterate(this.full(prefix))) yield [k.subarray(cut), v];
  }
}

function fromLatin1(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s, "latin1"));
}

/**
 * `prefix` must be non-empty. Choose module prefixes so that none is a prefix of another
 * (e.g. fixed-length, or length-delimited), otherwise one module's keys fall inside the other's.
 */
export function prefixStore(parent: KVStore, prefix: Uint8Array): StringKeyedStore {
  if (prefix.length === 0) throw new RangeError("prefixStore: empty prefix");
  // Keepers make a view per access with the same constant prefix array: reuse its copy and its
  // key string (checked against the array's current bytes, in case a caller changed it).
  let known = prepared.get(prefix);
  if (known === undefined || !bytesEqual(known.bytes, prefix)) {
    const bytes = prefix.slice();
    known = { bytes, string: toKeyString(bytes) };
    prepared.set(prefix, known);
  }
  return new PrefixStore(parent, known.bytes, known.string);
}

const prepared = new WeakMap<Uint8Array, { bytes: Uint8Array; string: string }>();
