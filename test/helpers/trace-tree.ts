// A second, independent build of the worker's trace tree (worker SPEC §6) for chain tests:
// the root over stateHash_0..n and the sibling list of one leaf (directions implied by index
// and leaf count, as MsgBisectReveal carries them). The worker's own generator
// (worker/src/output/trace.ts traceProof) is checked against the same vector in both suites.
import { sha256 } from '@noble/hashes/sha2.js';

const tagged = (tag: number, ...parts: Uint8Array[]): Uint8Array => sha256(Buffer.concat([Buffer.of(tag), ...parts]));

function levels(stepHashes: readonly Uint8Array[]): Uint8Array[][] {
  const out = [stepHashes.map((h) => tagged(0, h))];
  while (out[out.length - 1].length > 1) {
    const level = out[out.length - 1];
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? tagged(1, level[i], level[i + 1]) : level[i]);
    out.push(next);
  }
  return out;
}

export function treeRoot(stepHashes: readonly Uint8Array[]): Buffer {
  return Buffer.from(levels(stepHashes).at(-1)![0]);
}

export function treeProof(stepHashes: readonly Uint8Array[], index: number): Buffer[] {
  const proof: Buffer[] = [];
  let at = index;
  for (const level of levels(stepHashes).slice(0, -1)) {
    if ((at ^ 1) < level.length) proof.push(Buffer.from(level[at ^ 1]));
    at >>= 1;
  }
  return proof;
}
