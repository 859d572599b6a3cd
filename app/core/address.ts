import { fromBech32, toBech32 } from '@cosmjs/encoding';
import { sha256 } from '@noble/hashes/sha2.js';
import { ripemd160 } from '@noble/hashes/legacy.js';
import { sdkErrors } from './errors.ts';
import { bytesEqual, utf8 } from './bytes.ts';
import { createHash } from 'node:crypto';

export const BECH32_PREFIX = 'r3mes';

/** Type URL of a secp256k1 public key in a tx's signer info and in an account. */
export const SECP256K1_PUBKEY_TYPE = '/cosmos.crypto.secp256k1.PubKey';

/** Cosmos address of a compressed secp256k1 public key: ripemd160(sha256(pubkey)). */
export function addressFromPubkey(compressedPubkey: Uint8Array): Uint8Array {
  // The same few keys sign block after block: remember their addresses (a copy goes out).
  const key = Buffer.from(compressedPubkey.buffer, compressedPubkey.byteOffset, compressedPubkey.byteLength).toString('latin1');
  let address = pubkeyAddresses.get(key);
  if (address === undefined) {
    address = nodeRipemd160 ? new Uint8Array(createHash('ripemd160').update(createHash('sha256').update(compressedPubkey).digest()).digest()) : ripemd160(sha256(compressedPubkey));
    if (pubkeyAddresses.size >= CACHE_LIMIT) pubkeyAddresses.clear();
    pubkeyAddresses.set(key, address);
  }
  return address.slice();
}

const pubkeyAddresses = new Map<string, Uint8Array>();
/** OpenSSL's ripemd160 when this Node has it (same function as @noble/hashes', native). */
const nodeRipemd160 = (() => {
  try {
    return createHash('ripemd160').update('abc').digest('hex') === '8eb208f7e05d987a9b044a8e98c6b087f15a0bfc';
  } catch {
    return false;
  }
})();

/** Address of a module account (fee collector, ...): the first 20 bytes of sha256(name), as in the SDK. */
export function moduleAddress(moduleName: string): Uint8Array {
  return sha256(utf8(moduleName)).slice(0, 20);
}

/**
 * Bech32 encoding and decoding cost more per tx than the signature check's
 * bookkeeping (the checksum is computed bit by bit), and the same few
 * addresses recur in every block: remember recent results. Bounded; cleared
 * whole when full, which keeps it O(1) and deterministic in effect (a cache
 * never changes a result).
 */
const CACHE_LIMIT = 50_000;
const encoded = new Map<string, string>();
const decoded = new Map<string, { bytes: Uint8Array; text: string }>();

/**
 * The same address objects (a tx's signer, the fee collector, a message's decoded addresses) are
 * encoded again and again within a tx: remember the text per object, with a copy of the bytes it
 * was made from, so that an array changed since still gets its own text.
 */
const byObject = new WeakMap<Uint8Array, { bytes: Uint8Array; text: string }>();

export function encodeAddress(address: Uint8Array): string {
  const known = byObject.get(address);
  if (known !== undefined && bytesEqual(known.bytes, address)) return known.text;
  const text = encodeAddressByValue(address);
  byObject.set(address, { bytes: address.slice(), text });
  return text;
}

function encodeAddressByValue(address: Uint8Array): string {
  const key = address.length <= 64 ? String.fromCharCode.apply(null, address as unknown as number[]) : Buffer.from(address.buffer, address.byteOffset, address.byteLength).toString('latin1');
  let text = encoded.get(key);
  if (text === undefined) {
    text = toBech32(BECH32_PREFIX, address);
    if (encoded.size >= CACHE_LIMIT) encoded.clear();
    encoded.set(key, text);
  }
  return text;
}

/** Parses a bech32 `r3mes1...` address; anything else is sdk code 7. Returns a fresh copy: callers may keep or change it. */
export function decodeAddress(text: string, field = 'address'): Uint8Array {
  return decodeAddressShared(text, field).slice();
}

/**
 * decodeAddress without the copy, for hot paths that only read the bytes (a message's signer
 * and parties): the array is shared with every later caller and MUST NOT be changed. It is also
 * known to encodeAddress, which returns its canonical text without encoding.
 */
export function decodeAddressShared(text: string, field = 'address'): Uint8Array {
  let known = decoded.get(text);
  if (known === undefined) {
    const bytes = decodeAddressUncached(text, field).slice();
    // The canonical text (bech32 also accepts upper case, which encodes back in lower case).
    known = { bytes, text: encodeAddressByValue(bytes) };
    if (decoded.size >= CACHE_LIMIT) decoded.clear();
    decoded.set(text, known);
    byObject.set(bytes, { bytes: bytes.slice(), text: known.text });
  }
  return known.bytes;
}

function decodeAddressUncached(text: string, field: string): Uint8Array {
  let decoded: { prefix: string; data: Uint8Array };
  try {
    decoded = fromBech32(text, 90);
  } catch (error) {
    throw sdkErrors.invalidAddress(`invalid ${field} "${text}": ${(error as Error).message}`);
  }
  if (decoded.prefix !== BECH32_PREFIX) {
    throw sdkErrors.invalidAddress(`invalid ${field} "${text}": prefix must be "${BECH32_PREFIX}", got "${decoded.prefix}"`);
  }
  if (decoded.data.length !== 20 && decoded.data.length !== 32) {
    throw sdkErrors.invalidAddress(`invalid ${field} "${text}": expected 20 or 32 bytes, got ${decoded.data.length}`);
  }
  return decoded.data;
}
