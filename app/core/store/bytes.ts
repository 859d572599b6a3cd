/**
 * Byte helpers for the store.
 *
 * Keys are held internally as latin1 strings (one char per byte, code units 0..255).
 * Comparing two such strings with `<` or the default `Array.prototype.sort()` compares UTF-16
 * code units one by one and treats a proper prefix as smaller — exactly unsigned
 * lexicographic byte order (LevelDB's bytewise comparator). That gives us O(1) Map lookups
 * and correct ordering without a custom comparator.
 */

import { bytesEqual } from "../bytes.ts";

/** Bytes → latin1 string (no copy of the input). */
export function toKeyString(bytes: Uint8Array): string {
  // Short keys (nearly all): fromCharCode over the bytes beats wrapping them in a Buffer.
  if (bytes.length <= 64) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
}

/** latin1 string → fresh plain Uint8Array (not a pooled Buffer view). */
export function fromKeyString(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** Bytes of the protobuf-style unsigned varint of `n`, a non-negative safe integer. */
export function uvarintLength(n: number): number {
  let length = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    length++;
  }
  return length;
}

/** Writes the unsigned varint of `n` (a non-negative safe integer) at `o`; returns the offset after it. */
export function writeUvarint(out: Uint8Array, o: number, n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`bad varint ${n}`);
  while (n >= 0x80) {
    out[o++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  out[o++] = n;
  return o;
}

const U64_MAX = (1n << 64n) - 1n;

/** 8-byte big-endian unsigned; big-endian so that LevelDB orders heights numerically. */
export function encodeU64(n: bigint): Uint8Array {
  if (n < 0n || n > U64_MAX) throw new RangeError(`height out of range: ${n}`);
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, n, false);
  return out;
}

export function decodeU64(b: Uint8Array, offset = 0): bigint {
  if (b.length - offset < 8) throw new RangeError("need 8 bytes");
  return new DataView(b.buffer, b.byteOffset + offset, 8).getBigUint64(0, false);
}

/** Smallest latin1 string greater than every string that starts with `prefix`, or undefined. */
export function prefixEnd(prefix: string): string | undefined {
  let i = prefix.length - 1;
  while (i >= 0 && prefix.charCodeAt(i) === 0xff) i--;
  if (i < 0) return undefined;
  return prefix.slice(0, i) + String.fromCharCode(prefix.charCodeAt(i) + 1);
}

/** Index of the first element of sorted `arr` that is >= `key`. */
export function lowerBound(arr: readonly string[], key: string): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (arr[mid] < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * `build(id)` as a latin1 key string, remembered per `id` array: keepers key state by addresses,
 * which are shared arrays that recur in every tx (a signer, a recipient, the fee collector), so the
 * key bytes and their conversion need not be made on every read and write. Checked against a copy
 * of `id`, in case a caller changed the array.
 */
export function keyStringMemo(build: (id: Uint8Array) => Uint8Array): (id: Uint8Array) => string {
  const known = new WeakMap<Uint8Array, { bytes: Uint8Array; key: string }>();
  return (id) => {
    let entry = known.get(id);
    if (entry === undefined || !bytesEqual(entry.bytes, id)) {
      entry = { bytes: id.slice(), key: toKeyString(build(id)) };
      known.set(id, entry);
    }
    return entry.key;
  };
}
