import { createRequire } from 'node:module';
import { secp256k1 as nobleSecp256k1 } from '@noble/curves/secp256k1.js';

/**
 * secp256k1 ECDSA verification. libsecp256k1 through the `secp256k1` package's
 * native binding verifies ~25x faster than pure JS here (see bench); if the
 * binding cannot load on some platform, @noble/curves (audited, pure JS) takes
 * over with identical results, only slower.
 */
interface NativeSecp256k1 {
  ecdsaVerify(signature: Uint8Array, messageHash: Uint8Array, publicKey: Uint8Array): boolean;
}

const require = createRequire(import.meta.url);

function loadNative(): NativeSecp256k1 | undefined {
  try {
    return require('secp256k1/bindings') as NativeSecp256k1;
  } catch {
    return undefined;
  }
}

const native = loadNative();

export const verifierName = native !== undefined ? 'libsecp256k1 (native binding)' : '@noble/curves (pure JS)';

const HALF_ORDER = nobleSecp256k1.Point.Fn.ORDER >> 1n;

/** s ≤ n/2: the Cosmos SDK (and libsecp256k1's verify) accept only the low-S form, so a signature cannot be malleated into a second valid one. */
export function isLowS(signature: Uint8Array): boolean {
  if (signature.length === 64) {
    // Big-endian byte comparison of s with n/2: no bigint per tx.
    let zero = true;
    let cmp = 0;
    for (let i = 0; i < 32; i++) {
      const b = signature[32 + i];
      if (b !== 0) zero = false;
      if (cmp === 0 && b !== HALF_ORDER_BYTES[i]) cmp = b < HALF_ORDER_BYTES[i] ? -1 : 1;
    }
    return !zero && cmp <= 0;
  }
  const s = BigInt('0x' + Buffer.from(signature.subarray(32, 64)).toString('hex'));
  return s !== 0n && s <= HALF_ORDER;
}

const HALF_ORDER_BYTES = Uint8Array.from(Buffer.from(HALF_ORDER.toString(16).padStart(64, '0'), 'hex'));

/** Verifies a 64-byte r||s signature over a 32-byte hash. */
export function verifySecp256k1(signature: Uint8Array, messageHash: Uint8Array, compressedPubkey: Uint8Array): boolean {
  if (signature.length !== 64 || messageHash.length !== 32 || !isLowS(signature)) return false;
  try {
    if (native !== undefined) return native.ecdsaVerify(signature, messageHash, compressedPubkey);
    return nobleSecp256k1.verify(signature, messageHash, compressedPubkey, { prehash: false, lowS: true });
  } catch {
    return false;
  }
}
