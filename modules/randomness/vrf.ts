/**
 * ECVRF per RFC 9381 over edwards25519, two suites:
 *   0x03 ECVRF-EDWARDS25519-SHA512-TAI  (encode_to_curve by try-and-increment, 5.4.1.1)
 *   0x04 ECVRF-EDWARDS25519-SHA512-ELL2 (encode_to_curve by RFC 9380 Elligator 2, 5.4.1.2)
 *
 * Parameters for both (RFC 9381 5.5): ptLen = qLen = 32, cLen = 16, cofactor 8, Hash = SHA-512,
 * integers little-endian (RFC 8032 encoding), proof pi = Gamma(32) ‖ c(16) ‖ s(32) = 80 bytes,
 * output beta = 64 bytes, encode_to_curve_salt = PK_string.
 *
 * Group arithmetic is @noble/curves (audited). Secret-dependent scalar multiplications use
 * `Point.multiply` (constant-time); verification, which only touches public data, uses
 * `multiplyUnsafe`. BigInt modular arithmetic on secrets (s = k + c·x mod q) is not
 * constant-time in JavaScript; that is the same exposure as noble's own ed25519 signing.
 */
import { ed25519, ed25519_hasher } from '@noble/curves/ed25519.js';
import type { EdwardsPoint } from '@noble/curves/abstract/edwards.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { RandomnessError, RandomnessErrorCode } from './errors.ts';

const Point = ed25519.Point;
/** q: order of the prime-order subgroup of edwards25519 (RFC 8032 "L"). */
const Q: bigint = Point.Fn.ORDER;

export const VRF_SUITE_TAI = 0x03;
export const VRF_SUITE_ELL2 = 0x04;
export type VrfSuite = typeof VRF_SUITE_TAI | typeof VRF_SUITE_ELL2;

export const VRF_SECRET_KEY_LENGTH = 32;
export const VRF_PUBLIC_KEY_LENGTH = 32;
export const VRF_PROOF_LENGTH = 80;
export const VRF_OUTPUT_LENGTH = 64;

const PT_LEN = 32;
const C_LEN = 16;
const Q_LEN = 32;

/** RFC 9381 5.5: h2c_suite_ID_string of the ELL2 suite (RFC 9380 nonuniform encoding). */
const ELL2_H2C_SUITE_ID = 'edwards25519_XMD:SHA-512_ELL2_NU_';
/** RFC 9381 5.4.1.2: DST = "ECVRF_" ‖ h2c_suite_ID_string ‖ suite_string. */
const ELL2_DST: Uint8Array = concatBytes(
  utf8ToBytes('ECVRF_' + ELL2_H2C_SUITE_ID),
  Uint8Array.of(VRF_SUITE_ELL2),
);

export type VrfKeyRejectReason =
  | 'bad-public-key-length'
  /** not a point, or a non-canonical encoding (y >= p, or x = 0 with the sign bit set). */
  | 'public-key-not-on-curve'
  /** cofactor·Y is the identity: one of the 8 torsion points (RFC 9381 5.4.5). */
  | 'public-key-small-order';

export type VrfRejectReason =
  | VrfKeyRejectReason
  | 'bad-proof-length'
  /** Gamma does not decode to a curve point (RFC 9381 5.4.4 step 5). */
  | 'gamma-not-on-curve'
  /** s >= q (RFC 9381 5.4.4 step 8): rejecting it keeps proofs non-malleable. */
  | 's-not-canonical'
  /** c' != c (RFC 9381 5.3 step 11). */
  | 'challenge-mismatch';

export type VrfVerifyResult =
  | { readonly valid: true; readonly beta: Uint8Array }
  | { readonly valid: false; readonly reason: VrfRejectReason };

export type VrfKeyCheck =
  | { readonly valid: true }
  | { readonly valid: false; readonly reason: VrfKeyRejectReason };

export interface VrfKeyPair {
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

function assertSuite(suite: number): asserts suite is VrfSuite {
  if (suite !== VRF_SUITE_TAI && suite !== VRF_SUITE_ELL2) {
    throw new RandomnessError(RandomnessErrorCode.UNKNOWN_SUITE, `unknown ECVRF suite 0x${suite.toString(16)}`);
  }
}

function assertBytes(value: Uint8Array, length: number | undefined, what: string): void {
  if (!(value instanceof Uint8Array) || (length !== undefined && value.length !== length)) {
    throw new RandomnessError(
      RandomnessErrorCode.BAD_INPUT_LENGTH,
      `${what}: expected ${length ?? 'any number of'} bytes`,
    );
  }
}

/** RFC 8032 5.1.3 decoding (what RFC 9381 5.5 calls string_to_point); undefined = "INVALID". */
function stringToPoint(bytes: Uint8Array): EdwardsPoint | undefined {
  try {
    // zip215 = false: RFC 8032 strict decoding, rejects y >= p and (x = 0, sign = 1).
    return Point.fromBytes(bytes, false);
  } catch {
    return undefined;
  }
}

function bytesToIntLE(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]);
  return n;
}

function intToBytesLE(n: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let v = n;
  for (let i = 0; i < length; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/**
 * Public key from a 32-byte secret key: RFC 8032 5.1.5 (RFC 9381 5.5: "the secret scalar x and
 * the public key are specified in Section 5.1.5 of RFC 8032"). Same keys as Ed25519.
 */
export function publicKeyFromSecret(secretKey: Uint8Array): Uint8Array {
  assertBytes(secretKey, VRF_SECRET_KEY_LENGTH, 'secret key');
  return ed25519.utils.getExtendedPublicKey(secretKey).pointBytes;
}

/** A fresh random key pair (secret key from the platform CSPRNG). */
export function generateKeyPair(): VrfKeyPair {
  const secretKey = ed25519.utils.randomSecretKey();
  return { secretKey, publicKey: publicKeyFromSecret(secretKey) };
}

/** RFC 9381 5.4.1.1 ECVRF_encode_to_curve_try_and_increment. */
function encodeToCurveTai(salt: Uint8Array, alpha: Uint8Array): EdwardsPoint {
  const front = Uint8Array.of(0x01);
  const back = Uint8Array.of(0x00);
  for (let ctr = 0; ctr <= 0xff; ctr++) {
    const hashString = sha512(
      concatBytes(Uint8Array.of(VRF_SUITE_TAI), front, salt, alpha, Uint8Array.of(ctr), back),
    );
    // interpret_hash_value_as_a_point (5.5): string_to_point of the first 32 bytes.
    const candidate = stringToPoint(hashString.subarray(0, PT_LEN));
    if (candidate === undefined) continue;
    const h = candidate.clearCofactor(); // cofactor > 1: H = cofactor * H
    if (!h.is0()) return h;
  }
  // ctr_string is one byte (int_to_string(ctr, 1)); 256 failures have probability ~2^-256.
  throw new RandomnessError(RandomnessErrorCode.ENCODE_TO_CURVE_FAILED, 'try-and-increment exhausted');
}

/** RFC 9381 5.4.1.2: RFC 9380 encode_to_curve(salt ‖ alpha) with the ECVRF DST; output in the subgroup. */
function encodeToCurveEll2(salt: Uint8Array, alpha: Uint8Array): EdwardsPoint {
  return ed25519_hasher.encodeToCurve(concatBytes(salt, alpha), { DST: ELL2_DST });
}

function encodeToCurve(suite: VrfSuite, salt: Uint8Array, alpha: Uint8Array): EdwardsPoint {
  return suite === VRF_SUITE_TAI ? encodeToCurveTai(salt, alpha) : encodeToCurveEll2(salt, alpha);
}

/** RFC 9381 5.4.2.2 nonce generation for edwards25519 (RFC 8032 5.1.6 style). */
function nonceGeneration(prefix: Uint8Array, hString: Uint8Array): bigint {
  // prefix = hashed_sk_string[32..63] (noble's getExtendedPublicKey exposes it).
  const kString = sha512(concatBytes(prefix, hString));
  return bytesToIntLE(kString) % Q;
}

/** RFC 9381 5.4.3 ECVRF_challenge_generation(P1..P5) → c (cLen bytes, little-endian). */
function challengeGeneration(suite: VrfSuite, points: readonly EdwardsPoint[]): bigint {
  const parts: Uint8Array[] = [Uint8Array.of(suite), Uint8Array.of(0x02)];
  for (const p of points) parts.push(p.toBytes());
  parts.push(Uint8Array.of(0x00));
  const cString = sha512(concatBytes(...parts));
  return bytesToIntLE(cString.subarray(0, C_LEN));
}

interface DecodedProof {
  readonly gamma: EdwardsPoint;
  readonly c: bigint;
  readonly s: bigint;
}

/** RFC 9381 5.4.4 ECVRF_decode_proof. */
function decodeProof(
  proof: Uint8Array,
): { ok: true; value: DecodedProof } | { ok: false; reason: VrfRejectReason } {
  if (!(proof instanceof Uint8Array) || proof.length !== VRF_PROOF_LENGTH) {
    return { ok: false, reason: 'bad-proof-length' };
  }
  const gamma = stringToPoint(proof.subarray(0, PT_LEN));
  if (gamma === undefined) return { ok: false, reason: 'gamma-not-on-curve' };
  const c = bytesToIntLE(proof.subarray(PT_LEN, PT_LEN + C_LEN));
  const s = bytesToIntLE(proof.subarray(PT_LEN + C_LEN, PT_LEN + C_LEN + Q_LEN));
  if (s >= Q) return { ok: false, reason: 's-not-canonical' };
  return { ok: true, value: { gamma, c, s } };
}

/** RFC 9381 5.2 steps 3-5: beta = Hash(suite ‖ 0x03 ‖ point_to_string(cofactor·Gamma) ‖ 0x00). */
function gammaToHash(suite: VrfSuite, gamma: EdwardsPoint): Uint8Array {
  return sha512(
    concatBytes(
      Uint8Array.of(suite),
      Uint8Array.of(0x03),
      gamma.clearCofactor().toBytes(),
      Uint8Array.of(0x00),
    ),
  );
}

/** RFC 9381 5.4.5 ECVRF_validate_key, returning the decoded point when valid. */
function decodePublicKey(
  publicKey: Uint8Array,
): { ok: true; point: EdwardsPoint } | { ok: false; reason: VrfKeyRejectReason } {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== VRF_PUBLIC_KEY_LENGTH) {
    return { ok: false, reason: 'bad-public-key-length' };
  }
  const y = stringToPoint(publicKey);
  if (y === undefined) return { ok: false, reason: 'public-key-not-on-curve' };
  if (y.clearCofactor().is0()) return { ok: false, reason: 'public-key-small-order' };
  return { ok: true, point: y };
}

/**
 * RFC 9381 5.4.5: accept only keys that decode canonically to a curve point whose cofactor
 * multiple is not the identity. Keys with a small-order component but a prime-order part are
 * accepted, as the RFC specifies (the cofactor in proof_to_hash makes them harmless).
 */
export function validateKey(publicKey: Uint8Array): VrfKeyCheck {
  const decoded = decodePublicKey(publicKey);
  return decoded.ok ? { valid: true } : { valid: false, reason: decoded.reason };
}

/** RFC 9381 5.1 ECVRF_prove. Returns the 80-byte proof pi. */
export function prove(secretKey: Uint8Array, alpha: Uint8Array, suite: VrfSuite): Uint8Array {
  assertSuite(suite);
  assertBytes(secretKey, VRF_SECRET_KEY_LENGTH, 'secret key');
  assertBytes(alpha, undefined, 'alpha');
  // Step 1: x and Y = x·B (RFC 8032 5.1.5). `scalar` is the clamped x reduced mod q, which acts
  // identically on the prime-order subgroup where H lives (H is cofactor-cleared).
  const { scalar: x, prefix, point: y, pointBytes: pkString } = ed25519.utils.getExtendedPublicKey(secretKey);
  const h = encodeToCurve(suite, pkString, alpha); // step 2 (salt = PK_string)
  const hString = h.toBytes(); // step 3
  const gamma = h.multiply(x); // step 4, constant-time
  const k = nonceGeneration(prefix, hString); // step 5
  // step 6; k = 0 has probability 2^-252 and makes multiply throw rather than leak.
  const c = challengeGeneration(suite, [y, h, gamma, Point.BASE.multiply(k), h.multiply(k)]);
  const s = (k + c * x) % Q; // step 7
  return concatBytes(gamma.toBytes(), intToBytesLE(c, C_LEN), intToBytesLE(s, Q_LEN)); // step 8
}

/**
 * RFC 9381 5.2 ECVRF_proof_to_hash. Meant for proofs already verified (or just produced):
 * it does not check the proof. Throws on a proof that does not even decode.
 */
export function proofToHash(proof: Uint8Array, suite: VrfSuite): Uint8Array {
  assertSuite(suite);
  const decoded = decodeProof(proof);
  if (!decoded.ok) {
    throw new RandomnessError(RandomnessErrorCode.MALFORMED_PROOF, `proof does not decode: ${decoded.reason}`);
  }
  return gammaToHash(suite, decoded.value.gamma);
}

/**
 * RFC 9381 5.3 ECVRF_verify with validate_key = TRUE (5.4.5 is always run: a chain accepts keys
 * from anyone, so full uniqueness and collision resistance are needed, RFC 9381 3.2 / 7.1.1).
 */
export function verify(
  publicKey: Uint8Array,
  proof: Uint8Array,
  alpha: Uint8Array,
  suite: VrfSuite,
): VrfVerifyResult {
  assertSuite(suite);
  assertBytes(alpha, undefined, 'alpha');
  const key = decodePublicKey(publicKey); // steps 1-3
  if (!key.ok) return { valid: false, reason: key.reason };
  const decoded = decodeProof(proof); // steps 4-5
  if (!decoded.ok) return { valid: false, reason: decoded.reason };
  const { gamma, c, s } = decoded.value; // step 6
  const y = key.point;
  const h = encodeToCurve(suite, publicKey, alpha); // step 7
  // Public data only from here: variable-time multiplication is fine. s < q and c < 2^128 < q.
  const u = Point.BASE.multiplyUnsafe(s).subtract(y.multiplyUnsafe(c)); // step 8: U = s·B − c·Y
  const v = h.multiplyUnsafe(s).subtract(gamma.multiplyUnsafe(c)); // step 9: V = s·H − c·Gamma
  const cPrime = challengeGeneration(suite, [y, h, gamma, u, v]); // step 10
  if (c !== cPrime) return { valid: false, reason: 'challenge-mismatch' }; // step 11
  return { valid: true, beta: gammaToHash(suite, gamma) };
}
