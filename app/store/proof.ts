/**
 * Proofs in the ICS-23 format. A proof is the protobuf encoding of an ics23 `CommitmentProof`
 * holding either `exist` (inclusion) or `nonexist` (absence: existence proofs of the left and
 * right neighbours of the missing key). They verify with @confio/ics23's `tendermintSpec`,
 * i.e. with a third-party verifier, against the app hash of the proof's height (which appears
 * in header height+1).
 */
import { ics23, tendermintSpec, verifyMembership, verifyNonMembership } from "@confio/ics23";
import { bytesEqual } from "../core/bytes.ts";
import { EMPTY_ROOT, type PathStep } from "./merkle.ts";

/** The leaf op of every proof: sha256(0x00 ‖ varint(len k) ‖ k ‖ varint(32) ‖ sha256(v)). */
const LEAF_OP: ics23.ILeafOp = {
  hash: ics23.HashOp.SHA256,
  prehashKey: ics23.HashOp.NO_HASH,
  prehashValue: ics23.HashOp.SHA256,
  length: ics23.LengthOp.VAR_PROTO,
  prefix: Uint8Array.of(0x00),
};

export type ProofMessage = ics23.ICommitmentProof;

export function existenceProofOf(key: Uint8Array, value: Uint8Array, path: readonly PathStep[]): ics23.IExistenceProof {
  return {
    key,
    value,
    leaf: LEAF_OP,
    path: path.map((s) => {
      const op: ics23.IInnerOp = { hash: ics23.HashOp.SHA256, prefix: s.prefix };
      if (s.suffix.length > 0) op.suffix = s.suffix;
      return op;
    }),
  };
}

export function encodeCommitmentProof(msg: ProofMessage): Uint8Array {
  // protobufjs hands back a Node Buffer whose slice() is a view; return a plain Uint8Array.
  return new Uint8Array(ics23.CommitmentProof.encode(ics23.CommitmentProof.fromObject(msg)).finish());
}

export function decodeCommitmentProof(proof: Uint8Array): ics23.CommitmentProof {
  return ics23.CommitmentProof.decode(proof);
}

/**
 * Checks `proof` for `key` against `appHash`: membership with `value`, or absence when `value`
 * is undefined. Verification is @confio/ics23's `verifyMembership` / `verifyNonMembership` with
 * `tendermintSpec`. The one case ICS-23 cannot express is absence in an empty tree (there are
 * no neighbours to prove): that proof is a `nonexist` with neither side, and it holds exactly
 * when the app hash is EMPTY_ROOT.
 *
 * Note: ICS-23 rejects empty values, so a key stored with an empty value cannot be proven.
 */
export function verifyProof(appHash: Uint8Array, key: Uint8Array, value: Uint8Array | undefined, proof: Uint8Array): boolean {
  try {
    const msg = decodeCommitmentProof(proof);
    if (value === undefined) {
      const ne = msg.nonexist;
      if (ne && !ne.left && !ne.right) {
        return bytesEqual(appHash, EMPTY_ROOT) && ne.key != null && bytesEqual(ne.key, key);
      }
      return verifyNonMembership(msg, tendermintSpec, appHash, key);
    }
    return verifyMembership(msg, tendermintSpec, appHash, key, value);
  } catch {
    return false;
  }
}
