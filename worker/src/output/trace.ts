// The trace of a job: stateHash_0 .. stateHash_n, its Merkle root (SPEC §6, train/trace.ts),
// inclusion proofs for one step, and the first step where two traces part. A dispute opens
// the first divergent step s (both sides agree on s − 1) and re-executes only that step.

import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { traceRoot } from '../train/trace.ts';
import { OutputError, OutputErrorCode } from './errors.ts';

export const TRACE_FORMAT = 'r3mes/trace/v1';

export interface Trace {
  readonly stepHashes: readonly Uint8Array[];
  readonly root: Uint8Array;
}

export function makeTrace(stepHashes: readonly Uint8Array[]): Trace {
  return { stepHashes, root: traceRoot(stepHashes) };
}

/** JSON: {"format","root","step_hashes":[hex…]} with sorted keys and a final newline. */
export function encodeTrace(trace: Trace): string {
  return `${JSON.stringify({ format: TRACE_FORMAT, root: bytesToHex(trace.root), step_hashes: trace.stepHashes.map(bytesToHex) })}\n`;
}

export function decodeTrace(text: string): Trace {
  const bad = (msg: string) => new OutputError(OutputErrorCode.BadTrace, `trace: ${msg}`);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw bad('not JSON');
  }
  const rec = data as { format?: unknown; root?: unknown; step_hashes?: unknown };
  if (typeof rec !== 'object' || rec === null || rec.format !== TRACE_FORMAT) throw bad(`format is not ${TRACE_FORMAT}`);
  if (!Array.isArray(rec.step_hashes) || !rec.step_hashes.every((h) => typeof h === 'string' && /^[0-9a-f]{64}$/.test(h))) {
    throw bad('step_hashes must be a list of 64-digit lower-case hex strings');
  }
  const trace = makeTrace((rec.step_hashes as string[]).map((h) => hexToBytes(h)));
  if (rec.root !== bytesToHex(trace.root)) throw bad('root is not the Merkle root of step_hashes');
  return trace;
}

/** The first index where two traces differ (a shorter trace differs where it ends); −1 if equal. */
export function firstDivergence(a: readonly Uint8Array[], b: readonly Uint8Array[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (bytesToHex(a[i]) !== bytesToHex(b[i])) return i;
  return a.length === b.length ? -1 : n;
}

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

/** One proof step: a sibling hash and whether it sits on the left. */
export interface ProofNode {
  readonly sibling: Uint8Array;
  readonly left: boolean;
}

/**
 * Inclusion proof of stateHash_index under the trace root. Levels where the node is the
 * unpaired last one contribute nothing (it moves up unchanged, as in the tree).
 */
export function traceProof(stepHashes: readonly Uint8Array[], index: number): ProofNode[] {
  if (!Number.isInteger(index) || index < 0 || index >= stepHashes.length) throw new OutputError(OutputErrorCode.BadTrace, `trace proof: index ${index} outside 0..${stepHashes.length - 1}`);
  let level = stepHashes.map((h) => tagged(0, h));
  let at = index;
  const proof: ProofNode[] = [];
  while (level.length > 1) {
    const sib = at ^ 1;
    if (sib < level.length) proof.push({ sibling: level[sib], left: sib < at });
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? tagged(1, level[i], level[i + 1]) : level[i]);
    level = next;
    at >>= 1;
  }
  return proof;
}

export function verifyTraceProof(stepHash: Uint8Array, proof: readonly ProofNode[], root: Uint8Array): boolean {
  let node = tagged(0, stepHash);
  for (const p of proof) node = p.left ? tagged(1, p.sibling, node) : tagged(1, node, p.sibling);
  return bytesToHex(node) === bytesToHex(root);
}
