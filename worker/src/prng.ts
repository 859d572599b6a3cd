// Counter-mode PRNG over SHA-256 (SPEC.md §7): the backbone and the LoRA init are functions
// of the model version's 32-byte seed and a tensor name, nothing else.

import { sha256 } from '@noble/hashes/sha2.js';

const UTF8 = new TextEncoder();

/** `n` bytes of stream(seed, name) = SHA-256(key ‖ u64le(0)) ‖ SHA-256(key ‖ u64le(1)) ‖ … */
export function prngBytes(seed: Uint8Array, name: string, n: number): Uint8Array {
  if (seed.length !== 32) throw new RangeError(`seed must be 32 bytes, got ${seed.length}`);
  const nameBytes = UTF8.encode(name);
  const keyInput = new Uint8Array(32 + nameBytes.length);
  keyInput.set(seed, 0);
  keyInput.set(nameBytes, 32);
  const block = new Uint8Array(40);
  block.set(sha256(keyInput), 0);
  const out = new Uint8Array(n);
  const view = new DataView(block.buffer);
  for (let i = 0, off = 0; off < n; i++, off += 32) {
    // u64le(i): the low word carries the counter; streams here never exceed 2^32 blocks.
    view.setUint32(32, i, true);
    view.setUint32(36, 0, true);
    const digest = sha256(block);
    out.set(n - off >= 32 ? digest : digest.subarray(0, n - off), off);
  }
  return out;
}

/** Ternary tensor of `count` elements: four 2-bit codes per byte, LSB first; 0,3→0, 1→+1, 2→−1. */
export function ternaryFromSeed(seed: Uint8Array, name: string, count: number): Int8Array {
  const bytes = prngBytes(seed, name, Math.ceil(count / 4));
  const out = new Int8Array(count);
  for (let e = 0; e < count; e++) {
    const code = (bytes[e >>> 2] >>> ((e & 3) * 2)) & 3;
    out[e] = code === 1 ? 1 : code === 2 ? -1 : 0;
  }
  return out;
}

/** `count` int16 values, little-endian pairs of stream bytes. */
export function int16FromSeed(seed: Uint8Array, name: string, count: number): Int16Array {
  const bytes = prngBytes(seed, name, count * 2);
  const out = new Int16Array(count);
  for (let e = 0; e < count; e++) out[e] = (bytes[2 * e] | (bytes[2 * e + 1] << 8)) << 16 >> 16;
  return out;
}
