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
