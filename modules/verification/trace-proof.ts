// The chain's check of a trace inclusion proof (worker SPEC §6; README "Bisection"): the tree
// the worker builds over stateHash_0 .. stateHash_n (worker/src/train/trace.ts), with its
// proof generator in worker/src/output/trace.ts. Both sides' tests share one vector.

import { sha256 } from '@noble/hashes/sha2.js';
import { bytesEqual } from '../../app/core/bytes.ts';

/** The most steps a bisected job may declare: a proof has at most ⌈log2(n + 1)⌉ ≤ 21 siblings. */
export const MAX_TRACE_STEPS = 1n << 20n;

function tagged(tag: number, a: Uint8Array, b?: Uint8Array): Uint8Array {
  const msg = new Uint8Array(1 + a.length + (b?.length ?? 0));
  msg[0] = tag;
  msg.set(a, 1);
  if (b !== undefined) msg.set(b, 1 + a.length);
  return sha256(msg);
}

/**
 * Whether `siblings` (from the leaf up) take `leafHash` at `index` of a tree of `leafCount`
 * leaves to `root`: leaves SHA-256(0x00 ‖ h), parents SHA-256(0x01 ‖ L ‖ R), an unpaired last
 * node carried up unchanged (it takes no sibling at that level). The directions follow from
 * index and leafCount, so a proof names no direction bits; every sibling must be used, each 32 bytes.
 */
export function verifyTraceInclusion(leafHash: Uint8Array, index: bigint, leafCount: bigint, siblings: readonly Uint8Array[], root: Uint8Array): boolean {
  if (leafHash.length !== 32 || root.length !== 32 || leafCount < 1n || index < 0n || index >= leafCount) return false;
  let node = tagged(0, leafHash);
  let at = index;
  let width = leafCount;
  let used = 0;
  while (width > 1n) {
    const sibling = at ^ 1n;
    if (sibling < width) {
      const hash = siblings[used++];
      if (hash === undefined || hash.length !== 32) return false;
      node = sibling < at ? tagged(1, hash, node) : tagged(1, node, hash);
    }
    at >>= 1n;
    width = (width + 1n) >> 1n;
  }
  return used === siblings.length && bytesEqual(node, root);
}

/** How many siblings a proof at `index` of `leafCount` leaves has (what a well-formed reveal carries). */
export function traceProofLength(index: bigint, leafCount: bigint): number {
  let at = index;
  let width = leafCount;
  let count = 0;
  while (width > 1n) {
    if ((at ^ 1n) < width) count++;
    at >>= 1n;
    width = (width + 1n) >> 1n;
  }
  return count;
}
