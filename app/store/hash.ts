/**
 * Hashing for the authenticated tree.
 *
 * - `sha256(data)`: one-shot SHA-256 through node:crypto's `hash()` (≈1.0 µs for a 65-byte input
 *   here, vs ≈1.8 µs for createHash().update().digest() and ≈2.0 µs for @noble/hashes).
 * - `innerHashInto(...)`: SHA-256(0x01 ‖ L ‖ R) for the tree's inner nodes, the hot path
 *   (≈ n inner hashes when a block inserts near the start of the key space). It is a plain-JS
 *   SHA-256 specialised to exactly 65 input bytes that reads its children from and writes its
 *   digest into the tree's flat level buffers without allocating; `innerHashReference` is the
 *   straightforward node:crypto version, and test/unit/store-merkle.test.ts compares the two
 *   bit for bit.
 */
import * as nodeCrypto from "node:crypto";

export const HASH_BYTES = 32;

type OneShot = (data: Uint8Array) => Uint8Array;

const oneShot: OneShot =
  typeof nodeCrypto.hash === "function"
    ? (data) => nodeCrypto.hash("sha256", data, "buffer")
    : (data) => nodeCrypto.createHash("sha256").update(data).digest();

/** SHA-256 of `data`. May return a Buffer (a Uint8Array subclass) the caller owns. */
export function sha256(data: Uint8Array): Uint8Array {
  return oneShot(data);
}

/** Reference for inner nodes: sha256(0x01 ‖ left ‖ right). */
export function innerHashReference(left: Uint8Array, right: Uint8Array): Uint8Array {
  const buf = new Uint8Array(1 + left.length + right.length);
  buf[0] = 1;
  buf.set(left, 1);
  buf.set(right, 1 + left.length);
  return new Uint8Array(sha256(buf));
}

// --- SHA-256 constants, derived exactly with integer roots (no floating point) ---------------

function firstPrimes(count: number): bigint[] {
  const out: bigint[] = [];
  for (let c = 2; out.length < count; c++) {
    let prime = true;
    for (const p of out) {
      const q = Number(p);
      if (q * q > c) break;
      if (c % q === 0) {
        prime = false;
        break;
      }
    }
    if (prime) out.push(BigInt(c));
  }
  return out;
}

/** floor(x^(1/k)) for bigint x >= 0 (Newton's method on integers). */
function iroot(x: bigint, k: bigint): bigint {
  if (x < 2n) return x;
  let r = 1n << (BigInt(x.toString(2).length) / k + 1n);
  for (;;) {
    const next = ((k - 1n) * r + x / r ** (k - 1n)) / k;
    if (next >= r) return r;
    r = next;
  }
}

const PRIMES = firstPrimes(64);
// K[i]: first 32 bits of the fractional part of cbrt(prime i) = floor(cbrt(p · 2^96)) mod 2^32.
const K = Int32Array.from(PRIMES.map((p) => Number(BigInt.asIntN(32, iroot(p << 96n, 3n)))));
// IV[i]: first 32 bits of the fractional part of sqrt(prime i), i < 8.
const IV = Int32Array.from(PRIMES.slice(0, 8).map((p) => Number(BigInt.asIntN(32, iroot(p << 64n, 2n)))));

const W = new Int32Array(64);
const STATE = new Int32Array(8);

/** Message schedule: W[16..63] from W[0..15]. */
function expand(w: Int32Array, base: number): void {
  for (let t = base + 16; t < base + 64; t++) {
    const w15 = w[t - 15];
    const w2 = w[t - 2];
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    w[t] = (w[t - 16] + s0 + w[t - 7] + s1) | 0;
  }
}

// The second block of an inner-node message depends only on R[31]: precompute its 256 possible
// schedules (64 KiB) once.
const BLOCK2 = new Int32Array(256 * 64);
for (let byte = 0; byte < 256; byte++) {
  const base = byte * 64;
  BLOCK2[base] = (byte << 24) | 0x800000;
  BLOCK2[base + 15] = 520;
  expand(BLOCK2, base);
}

/** One compression of STATE with the expanded schedule w[base..base+63]. */
function compress(w: Int32Array, base: number): void {
  let a = STATE[0], b = STATE[1], c = STATE[2], d = STATE[3];
  let e = STATE[4], f = STATE[5], g = STATE[6], h = STATE[7];
  for (let t = 0; t < 64; t++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const ch = (e & f) ^ (~e & g);
    const T1 = (h + S1 + ch + K[t] + w[base + t]) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const maj = (a & b) ^ (a & c) ^ (b & c);
    h = g;
    g = f;
    f = e;
    e = (d + T1) | 0;
    d = c;
    c = b;
    b = a;
    a = (T1 + S0 + maj) | 0;
  }
  STATE[0] = (STATE[0] + a) | 0;
  STATE[1] = (STATE[1] + b) | 0;
  STATE[2] = (STATE[2] + c) | 0;
  STATE[3] = (STATE[3] + d) | 0;
  STATE[4] = (STATE[4] + e) | 0;
  STATE[5] = (STATE[5] + f) | 0;
  STATE[6] = (STATE[6] + g) | 0;
  STATE[7] = (STATE[7] + h) | 0;
}

/** Big-endian word of 4 bytes starting at `o` (caller guarantees bounds). */
function be32(s: Uint8Array, o: number): number {
  return (s[o] << 24) | (s[o + 1] << 16) | (s[o + 2] << 8) | s[o + 3];
}

/**
 * out[outOff..+32] = sha256(0x01 ‖ src[lOff..+32] ‖ src[rOff..+32]).
 * The left and right children may come from different buffers (`lsrc`, `rsrc`); `out` may be
 * the same buffer as a source as long as the ranges do not overlap.
 *
 * The 65-byte message pads to two 64-byte blocks: block 1 is 0x01, L, R[0..30]; block 2 is
 * R[31], 0x80, zeros, and the 64-bit big-endian bit length 520.
 */
export function innerHashInto(
  out: Uint8Array,
  outOff: number,
  lsrc: Uint8Array,
  lOff: number,
  rsrc: Uint8Array,
  rOff: number,
): void {
  // Block 1: message bytes m[0] = 1, m[1..32] = L, m[33..63] = R[0..30]. Word k covers
  // m[4k..4k+3], i.e. L/R bytes shifted by one position.
  W[0] = (1 << 24) | (lsrc[lOff] << 16) | (lsrc[lOff + 1] << 8) | lsrc[lOff + 2];
  for (let k = 1; k < 8; k++) {
    // m[4k] = L[4k-1], m[4k+1..4k+3] = L[4k..4k+2]
    W[k] = (lsrc[lOff + 4 * k - 1] << 24) | (be32(lsrc, lOff + 4 * k) >>> 8);
  }
  // Word 8: m[32] = L[31], m[33..35] = R[0..2]
  W[8] = (lsrc[lOff + 31] << 24) | (rsrc[rOff] << 16) | (rsrc[rOff + 1] << 8) | rsrc[rOff + 2];
  for (let k = 9; k < 16; k++) {
    // m[4k] = R[4k-33], m[4k+1..4k+3] = R[4k-32..4k-30]
    W[k] = (rsrc[rOff + 4 * k - 33] << 24) | (be32(rsrc, rOff + 4 * k - 32) >>> 8);
  }
  STATE.set(IV);
  expand(W, 0);
  compress(W, 0);
  // Block 2: m[64] = R[31], m[65] = 0x80, zeros, bit length 520 in the last word.
  compress(BLOCK2, rsrc[rOff + 31] * 64);
  for (let i = 0; i < 8; i++) {
    const s = STATE[i];
    const o = outOff + 4 * i;
    out[o] = s >>> 24;
    out[o + 1] = (s >>> 16) & 0xff;
    out[o + 2] = (s >>> 8) & 0xff;
    out[o + 3] = s & 0xff;
  }
}

/** Allocating wrapper around `innerHashInto`. */
export function innerHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  if (left.length !== HASH_BYTES || right.length !== HASH_BYTES) {
    throw new RangeError("inner node children must be 32-byte hashes");
  }
  const out = new Uint8Array(HASH_BYTES);
  innerHashInto(out, 0, left, 0, right, 0);
  return out;
}
