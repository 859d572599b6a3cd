import { SignDoc } from 'cosmjs-types/cosmos/tx/v1beta1/tx';
import { createHash } from 'node:crypto';
import { bytesEqual } from '../core/bytes.ts';
import { verifySecp256k1 } from './signature.ts';
import type { VerifyJob } from './verify-pool.ts';

/** The parts of a tx its signature check reads (the decoded tx has them). */
export interface SignedTx {
  /** Upper-case hex sha256 of the tx bytes: binds body, auth info and signature. */
  hash: string;
  bodyBytes: Uint8Array;
  authInfoBytes: Uint8Array;
  signature: Uint8Array;
}

/**
 * What a verified signature was checked against: the tx (its hash binds body, auth info and
 * signature), and the account number, chain-id and pubkey the sign doc and the check used.
 */
export interface VerifiedSignature {
  txHash: string;
  accountNumber: bigint;
  chainId: string;
  pubkey: Uint8Array;
}

/**
 * Remembers signatures already verified, with everything the check depended on, so
 * FinalizeBlock does not verify again what CheckTx verified. Entries are found by tx hash (the
 * same string object on every lookup of a tx, so its hash is computed once by V8) and then must
 * match account number, chain-id and pubkey. Bounded; oldest txs go first.
 */
export class SignatureCache {
  private readonly byTx = new Map<string, VerifiedSignature[]>();
  constructor(private readonly capacity = 200_000) {}

  has(check: VerifiedSignature): boolean {
    const entries = this.byTx.get(check.txHash);
    return entries !== undefined && matchesAny(entries, check);
  }

  add(check: VerifiedSignature): void {
    const entry = { ...check, pubkey: check.pubkey.slice() };
    const entries = this.byTx.get(check.txHash);
    if (entries !== undefined) {
      if (!matchesAny(entries, check)) entries.push(entry);
      return;
    }
    if (this.byTx.size >= this.capacity) {
      const oldest = this.byTx.keys().next().value;
      if (oldest !== undefined) this.byTx.delete(oldest);
    }
    this.byTx.set(check.txHash, [entry]);
  }

  /**
   * Whether `tx`'s signature is valid for these inputs: from the cache when verified before,
   * else verified now and remembered when valid. The ante handler's signature check
   * (modules/auth/ante.ts SignatureVerifier).
   */
  verify(tx: SignedTx, accountNumber: bigint, chainId: string, pubkey: Uint8Array): boolean {
    const check: VerifiedSignature = { txHash: tx.hash, accountNumber, chainId, pubkey };
    if (this.has(check)) return true;
    if (!verifyJob(signDocJob(tx, accountNumber, chainId, pubkey))) return false;
    this.add(check);
    return true;
  }
}

/** Whether one of `entries` (all of `check`'s tx) was verified with `check`'s other inputs. */
function matchesAny(entries: readonly VerifiedSignature[], check: VerifiedSignature): boolean {
  for (const entry of entries) {
    if (entry.accountNumber === check.accountNumber && entry.chainId === check.chainId && bytesEqual(entry.pubkey, check.pubkey)) return true;
  }
  return false;
}

/**
 * What verifying `tx`'s signature with these inputs checks, prepared for verification ahead of
 * time (app/tx/batch-signatures.ts, on the worker pool of app/tx/verify-pool.ts): the inputs of
 * the check and the sign doc's parts, or undefined when `cache` already holds the check. The
 * cache entry carries every input, so a result computed here is used only when the ante handler
 * later checks exactly those inputs. The inputs are the ones the ante handler would use
 * (modules/auth/ante.ts signatureInputs).
 */
export function signatureJob(tx: SignedTx, chainId: string, accountNumber: bigint, pubkey: Uint8Array, cache: SignatureCache): { check: VerifiedSignature; job: VerifyJob } | undefined {
  const check: VerifiedSignature = { txHash: tx.hash, accountNumber, chainId, pubkey };
  if (cache.has(check)) return undefined;
  return { check, job: signDocJob(tx, accountNumber, chainId, pubkey) };
}

function signDocJob(tx: SignedTx, accountNumber: bigint, chainId: string, pubkey: Uint8Array): VerifyJob {
  return { bodyBytes: tx.bodyBytes, authInfoBytes: tx.authInfoBytes, chainId, accountNumber, signature: tx.signature, pubkey };
}

/**
 * Whether `job`'s signature is valid over its SIGN_MODE_DIRECT sign doc: the check of the ante
 * handler, also run ahead by app/tx/batch-signatures.ts (the worker in verify-pool.ts builds the
 * same sign doc itself).
 */
export function verifyJob(job: VerifyJob): boolean {
  const signBytes = SignDoc.encode({ bodyBytes: job.bodyBytes, authInfoBytes: job.authInfoBytes, chainId: job.chainId, accountNumber: job.accountNumber }).finish();
  return verifySecp256k1(job.signature, createHash('sha256').update(signBytes).digest(), job.pubkey);
}
