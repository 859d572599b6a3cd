/**
 * Key-value views of chain state. Keys and values are raw bytes; iteration is
 * always in ascending unsigned byte order of the key, so that every node walks
 * state in the same order (no unordered iteration in the state machine).
 */
export interface KVReader {
  get(key: Uint8Array): Uint8Array | undefined;
  has(key: Uint8Array): boolean;
  /** Entries whose key starts with `prefix`, ascending byte order of key. */
  iterate(prefix: Uint8Array): IterableIterator<[Uint8Array, Uint8Array]>;
}

export interface KVStore extends KVReader {
  set(key: Uint8Array, value: Uint8Array): void;
  delete(key: Uint8Array): void;
}

/**
 * @internal A store that can also be addressed by latin1 key strings (one char per byte, see
 * bytes.ts), so that a key crossing several layers (prefix → gas meter → tx cache → block cache
 * → committed) is converted from bytes once, not at every layer. Same semantics as the byte
 * methods with `toKeyString(key)`.
 */
export interface StringKeyedStore extends KVStore {
  getS(key: string): Uint8Array | undefined;
  hasS(key: string): boolean;
  setS(key: string, value: Uint8Array): void;
  deleteS(key: string): void;
}

export function stringKeyed(store: KVStore): StringKeyedStore | undefined {
  return typeof (store as Partial<StringKeyedStore>).getS === "function" ? (store as StringKeyedStore) : undefined;
}
