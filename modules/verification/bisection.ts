// Bisection of a dispute (README "Bisection"): the pure rules of the round protocol — which
// step the miner must reveal next, the shape of a move, and what the disputer's answer does to
// the interval. The keeper (keeper.ts) checks signers, turns and deadlines and stores the result.

import type { MsgBisectReveal, MsgBisectRespond } from '../../proto/gen/r3mes/verification/v1/tx.ts';
import type { Dispute } from '../../proto/gen/r3mes/verification/v1/types.ts';
import { verificationErrors } from './errors.ts';
import { MAX_TRACE_STEPS, verifyTraceInclusion } from './trace-proof.ts';
import { bytesEqual } from '../../app/core/bytes.ts';

/** The longest state CID a reveal may carry (a CIDv1 in base32 is under 100 characters). */
export const MAX_STATE_CID_BYTES = 256;
/** The most siblings a proof may carry (⌈log2(MAX_TRACE_STEPS + 1)⌉ = 21, with room). */
export const MAX_PROOF_NODES = 64;

/** Whose move it is: the miner reveals while nothing is pending; the disputer answers a pending reveal. */
export function bisectTurn(dispute: Dispute): 'miner' | 'disputer' {
  return dispute.bisectPendingHash.length === 0 ? 'miner' : 'disputer';
}

/**
 * The step the miner must reveal next: first the last step n (it names n in that move: 0 is
 * returned while n is unknown), then step 0, then ⌊(lo + hi) / 2⌋ of the interval.
 */
export function requestedStep(dispute: Dispute): bigint {
  if (dispute.bisectHiHash.length === 0) return dispute.bisectSteps;
  if (dispute.bisectLoHash.length === 0) return 0n;
  return (dispute.bisectLo + dispute.bisectHi) / 2n;
}

/** Stateless shape of a reveal (error 44 otherwise). */
export function validateRevealShape(msg: MsgBisectReveal): void {
  const bad = verificationErrors.invalidMove;
  if (msg.stateHash.length !== 32) throw bad(`state_hash has ${msg.stateHash.length} bytes, expected 32`);
  if (msg.steps > MAX_TRACE_STEPS) throw bad(`steps ${msg.steps} above ${MAX_TRACE_STEPS}`);
  if (msg.proof.length > MAX_PROOF_NODES) throw bad(`a proof of ${msg.proof.length} nodes (at most ${MAX_PROOF_NODES})`);
  for (const [i, node] of msg.proof.entries()) if (node.length !== 32) throw bad(`proof node ${i} has ${node.length} bytes, expected 32`);
  const cidBytes = Buffer.byteLength(msg.stateCid, 'utf8');
  if (cidBytes === 0 || cidBytes > MAX_STATE_CID_BYTES) throw bad(`state_cid must be 1 … ${MAX_STATE_CID_BYTES} bytes, got ${cidBytes}`);
}

/** Stateless shape of an answer (error 44 otherwise). */
export function validateRespondShape(msg: MsgBisectRespond): void {
  const bad = verificationErrors.invalidMove;
  if (msg.ownHash.length !== 0 && msg.ownHash.length !== 32) throw bad(`own_hash has ${msg.ownHash.length} bytes, expected 32 (the disputer's own stateHash at the step)`);
  if (msg.ownSteps > MAX_TRACE_STEPS) throw bad(`own_steps ${msg.ownSteps} above ${MAX_TRACE_STEPS}`);
  if (msg.ownRoot.length !== 0 && msg.ownRoot.length !== 32) throw bad(`own_root has ${msg.ownRoot.length} bytes, expected 0 or 32`);
  if (msg.ownProof.length > MAX_PROOF_NODES) throw bad(`an own proof of ${msg.ownProof.length} nodes (at most ${MAX_PROOF_NODES})`);
  for (const [i, node] of msg.ownProof.entries()) if (node.length !== 32) throw bad(`own proof node ${i} has ${node.length} bytes, expected 32`);
}

/**
 * The disputer's first answer names another n than the miner declared (`own_steps`): the two
 * traces cannot be compared step by step. Returns the whole-chunk reason then, else undefined.
 */
export function stepsMismatch(dispute: Dispute, msg: MsgBisectRespond): string | undefined {
  if (dispute.bisectDisputerRoot.length !== 0 || msg.ownSteps === 0n || msg.ownSteps === dispute.bisectSteps) return undefined;
  return `the disputer's own re-execution has ${msg.ownSteps} steps, the miner declared n = ${dispute.bisectSteps}: the traces cannot be compared step by step`;
}

/**
 * The disputer's own trace (README "Bisection"): its first answer commits to its own trace root
 * (`own_root`, over n + 1 leaves); every answer proves its own stateHash at the pending step
 * against that root, and agrees exactly when that hash is the miner's. Returns the root to keep.
 * Errors 44 (no root, another root, an answer its own hash contradicts), 43 (the proof).
 */
export function checkOwnHash(dispute: Dispute, msg: MsgBisectRespond): Uint8Array {
  const committed = dispute.bisectDisputerRoot;
  const bad = verificationErrors.invalidMove;
  if (msg.ownHash.length !== 32) throw bad(`dispute ${dispute.id}: own_hash has ${msg.ownHash.length} bytes, expected 32 (the disputer's own stateHash at the step)`);
  if (committed.length === 0 && msg.ownRoot.length === 0) throw bad(`dispute ${dispute.id}: the disputer's first answer carries own_root, the root of its own trace`);
  if (committed.length !== 0 && msg.ownRoot.length !== 0 && !bytesEqual(committed, msg.ownRoot)) throw bad(`dispute ${dispute.id}: own_root differs from the disputer's committed trace root`);
  const root = committed.length !== 0 ? committed : msg.ownRoot;
  const step = dispute.bisectPendingStep;
  if (!verifyTraceInclusion(msg.ownHash, step, dispute.bisectSteps + 1n, msg.ownProof, root)) {
    throw verificationErrors.badProof(`dispute ${dispute.id}: own_hash at step ${step} is not in the disputer's trace root (${dispute.bisectSteps + 1n} leaves)`);
  }
  const same = bytesEqual(msg.ownHash, dispute.bisectPendingHash);
  if (msg.agree && !same) throw bad(`dispute ${dispute.id}: the disputer agrees with stateHash_${step} but its own trace has another hash there`);
  if (!msg.agree && same) throw bad(`dispute ${dispute.id}: the disputer disputes stateHash_${step} but its own trace has the same hash there`);
  return root;
}

/**
 * The stateful checks of a reveal against the dispute (signer, turn and deadline checked by the
 * keeper): returns the step n of the job and the step revealed. Errors 44 (steps), 42 (step).
 */
export function checkRevealStep(dispute: Dispute, msg: MsgBisectReveal): { steps: bigint; step: bigint } {
  const opening = dispute.bisectSteps === 0n;
  if (opening) {
    if (msg.steps < 1n) throw verificationErrors.invalidMove('the first reveal names the job\'s steps n ≥ 1');
    if (msg.step !== msg.steps) throw verificationErrors.wrongStep(`the first reveal is of the last step n = ${msg.steps}, not step ${msg.step}`);
    return { steps: msg.steps, step: msg.step };
  }
  if (msg.steps !== 0n && msg.steps !== dispute.bisectSteps) throw verificationErrors.invalidMove(`steps ${msg.steps}: the miner declared ${dispute.bisectSteps}`);
  const step = requestedStep(dispute);
  if (msg.step !== step) throw verificationErrors.wrongStep(`dispute ${dispute.id} asks for step ${step}, not ${msg.step}`);
  return { steps: dispute.bisectSteps, step };
}

export type AnswerEffect =
  | { readonly kind: 'bisecting' }
  | { readonly kind: 'one-step' }
  | { readonly kind: 'whole-chunk'; readonly reason: string };

/**
 * Applies the disputer's answer on the pending step to the interval (mutates `dispute`):
 * - the last step n: disagree → hi = n; agree → whole chunk (the trace's end is agreed: the
 *   dispute is about the delta / gradient hash, which the trace does not cover);
 * - step 0: agree → lo = 0; disagree → whole chunk (the base state itself is disputed);
 * - a midpoint: agree → lo = mid, disagree → hi = mid.
 * Then hi − lo = 1 → one step.
 */
export function applyAnswer(dispute: Dispute, agree: boolean): AnswerEffect {
  const step = dispute.bisectPendingStep;
  const hash = Buffer.from(dispute.bisectPendingHash);
  const cid = dispute.bisectPendingCid;
  dispute.bisectPendingHash = Buffer.alloc(0);
  dispute.bisectPendingCid = '';
  dispute.bisectPendingStep = 0n;
  if (dispute.bisectHiHash.length === 0) {
    if (agree) return { kind: 'whole-chunk', reason: `the disputer agrees with stateHash_${step}, the trace's last state: the dispute is about the delta` };
    dispute.bisectHi = step;
    dispute.bisectHiHash = hash;
  } else if (dispute.bisectLoHash.length === 0) {
    if (!agree) return { kind: 'whole-chunk', reason: 'the disputer disputes stateHash_0, the base state' };
    dispute.bisectLo = 0n;
    dispute.bisectLoHash = hash;
    dispute.bisectLoCid = cid;
  } else if (agree) {
    dispute.bisectLo = step;
    dispute.bisectLoHash = hash;
    dispute.bisectLoCid = cid;
  } else {
    dispute.bisectHi = step;
    dispute.bisectHiHash = hash;
  }
  if (dispute.bisectLoHash.length !== 0 && dispute.bisectHi - dispute.bisectLo === 1n) {
    dispute.bisectOneStep = true;
    return { kind: 'one-step' };
  }
  return { kind: 'bisecting' };
}
