import { fromBech32, toBech32 } from '@cosmjs/encoding';
import { sha256 } from '@noble/hashes/sha2.js';
import { ripemd160 } from '@noble/hashes/legacy.js';
import { sdkErrors } from '../../app/errors.ts';
import { utf8 } from '../../app/bytes.ts';

export const BECH32_PREFIX = 'r3mes';

/** Cosmos address of a compressed secp256k1 public key: ripemd160(sha256(pubkey)). */
export function addressFromPubkey(compressedPubkey: Uint8Array): Uint8Array {
  return ripemd160(sha256(compressedPubkey));
}

/** Address of a module account (fee collector, ...): the first 20 bytes of sha256(name), as in the SDK. */
export function moduleAddress(moduleName: string): Uint8Array {
  return sha256(utf8(moduleName)).slice(0, 20);
}

export function encodeAddress(address: Uint8Array): string {
  return toBech32(BECH32_PREFIX, address);
}

/** Parses a bech32 `r3mes1...` address; anything else is sdk code 7. */
export function decodeAddress(text: string, field = 'address'): Uint8Array {
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
