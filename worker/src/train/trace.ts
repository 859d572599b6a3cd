// Merkle root over per-step state hashes (SPEC.md §6): a dispute can open one step's hash
// with a log-size proof instead of replaying the job.

import { sha256 } from '@noble/hashes/sha2.js';

function tagged(tag: number, ...parts: Uint8Array[]): Uint8Array {
  const msg = new Uint8Array(1 + parts.reduce((n, p) => n + p.length, 0));
  msg[0] = tag;
  let off = 1;
  for (const p of parts) {
    msg.set(p, off);
    off += p.length;
  }
  return sha256(msg);
}

/** Leaves SHA-256(0x00 ‖ h); parents SHA-256(0x01 ‖ L ‖ R); an odd last node moves up as is. */
export function traceRoot(stepHashes: readonly Uint8Array[]): Uint8Array {
  if (stepHashes.length === 0) return new Uint8Array(32);
  let level = stepHashes.map((h) => tagged(0, h));
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) {
      next.push(i + 1 < level.length ? tagged(1, level[i], level[i + 1]) : level[i]);
    }
    level = next;
  }
  return level[0];
}
