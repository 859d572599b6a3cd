import { SignDoc } from 'cosmjs-types/cosmos/tx/v1beta1/tx';
import { createHash } from 'node:crypto';
import type { Context } from '../core/context.ts';
import { sdkErrors } from '../core/errors.ts';
import { bytesEqual } from '../core/bytes.ts';
import { addressFromPubkey, encodeAddress, moduleAddress } from '../../modules/auth/address.ts';
import type { AuthKeeper } from '../../modules/auth/keeper.ts';
import { parseDecimal, requiredFee } from '../../modules/auth/params.ts';
import type { BankKeeper } from '../../modules/bank/keeper.ts';
import { formatCoins } from '../../modules/bank/coins.ts';
import type { DecodedTx } from './decode.ts';
import { verifySecp256k1 } from './signature.ts';
import type { VerifyJob } from './verify-pool.ts';
import type { KVStore } from '../core/store/types.ts';

export const FEE_COLLECTOR = moduleAddress('fee_collector');

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
}

/** Whether one of `entries` (all of `check`'s tx) was verified with `check`'s other inputs. */
function matchesAny(entries: readonly VerifiedSignature[], check: VerifiedSignature): boolean {
  for (const entry of entries) {
    if (entry.accountNumber === check.accountNumber && entry.chainId === check.chainId && bytesEqual(entry.pubkey, check.pubkey)) return true;
  }
  return false;
}

export interface AnteDeps {
  auth: AuthKeeper;
  bank: BankKeeper;
  signatures: SignatureCache;
}

/**
 * The stateful checks, in the Cosmos SDK's order: timeout height, tx size gas,
 * account, fee, pubkey, sequence, signature gas and verification, sequence
 * increment. Runs on the tx's cache layer: if it throws, nothing it wrote
 * survives (not even the fee).
 */
export function runAnte(ctx: Context, tx: DecodedTx, deps: AnteDeps): void {
  const params = deps.auth.getParams(ctx.store);
  if (tx.timeoutHeight !== 0n && ctx.height > tx.timeoutHeight) {
    throw sdkErrors.txTimeoutHeight(`block height ${ctx.height} is past the tx's timeout height ${tx.timeoutHeight}`);
  }
  ctx.gas.consume(params.txSizeCostPerByte * tx.bytes.length, 'txSize');

  const account = deps.auth.getAccount(ctx.store, tx.signer);
  if (account === undefined) throw sdkErrors.unknownAddress(`account ${encodeAddress(tx.signer)} does not exist`);

  const pubkey = account.pubkey ?? tx.pubkey;
  if (pubkey === undefined) throw sdkErrors.invalidPubKey(`account ${encodeAddress(tx.signer)} has no pubkey yet and the tx carries none`);
  if (tx.pubkey !== undefined && !pubkeyMatchesSigner(tx, tx.pubkey)) {
    throw sdkErrors.invalidPubKey(`pubkey does not belong to signer ${encodeAddress(tx.signer)}`);
  }

  const minimum = requiredFee(tx.gasLimit, parseDecimal(params.minGasPrice));
  const paid = tx.fee.find((coin) => coin.denom === params.feeDenom)?.amount ?? 0n;
  if (ctx.mode !== 'simulate' && paid < minimum) {
    throw sdkErrors.insufficientFee(`got ${formatCoins(tx.fee) || '0' + params.feeDenom}, required ${minimum}${params.feeDenom} (gas ${tx.gasLimit} × ${params.minGasPrice})`);
  }

  if (tx.sequence !== account.sequence) {
    throw sdkErrors.wrongSequence(`account sequence mismatch, expected ${account.sequence}, got ${tx.sequence}`);
  }

  // A simulation usually carries no fee, yet the real tx will pay one: charge the
  // gas of a fee transfer anyway (with one unit, when the signer has it), so
  // that a client's `fee: "auto"` estimate covers what delivery will cost.
  const feeToMove = ctx.mode === 'simulate' && tx.fee.length === 0 && deps.bank.balance(ctx.store, tx.signer, params.feeDenom) > 0n
    ? [{ denom: params.feeDenom, amount: 1n }]
    : tx.fee;
  if (feeToMove.length > 0) deps.bank.send(ctx.store, ctx.events, tx.signer, FEE_COLLECTOR, feeToMove);
  if (ctx.events.enabled) ctx.events.emit('tx', [['fee', formatCoins(tx.fee)], ['fee_payer', encodeAddress(tx.signer)]]);

  ctx.gas.consume(params.sigVerifyCostSecp256k1, 'secp256k1 signature verification');
  if (ctx.mode !== 'simulate') verifySignature(ctx, tx, account.accountNumber, pubkey, deps.signatures);

  deps.auth.setAccount(ctx.store, { ...account, pubkey, sequence: account.sequence + 1n });
  if (!ctx.events.enabled) return;
  ctx.events.emit('tx', [['acc_seq', `${encodeAddress(tx.signer)}/${account.sequence}`]]);
  ctx.events.emit('tx', [['signature', Buffer.from(tx.signature.buffer, tx.signature.byteOffset, tx.signature.byteLength).toString('base64')]]);
}

/**
 * Whether the tx's pubkey hashes to its signer: a pure function of the decoded tx, remembered
 * per DecodedTx so that CheckTx, ReCheckTx and FinalizeBlock hash it once (sha256 + ripemd160).
 */
const pubkeyMatches = new WeakMap<DecodedTx, boolean>();
function pubkeyMatchesSigner(tx: DecodedTx, pubkey: Uint8Array): boolean {
  let matches = pubkeyMatches.get(tx);
  if (matches === undefined) {
    matches = bytesEqual(addressFromPubkey(pubkey), tx.signer);
    pubkeyMatches.set(tx, matches);
  }
  return matches;
}

/**
 * What verifying `tx`'s signature against `store` would check, for verification ahead of time
 * (app/tx/verify-pool.ts): the inputs of the check and the sign doc's parts, or undefined when
 * the ante handler would not get as far as verifying (no account, no pubkey) or it is already
 * cached. The cache entry carries every input, so a result computed here is used only when the
 * ante handler later checks exactly those inputs.
 */
export function signatureJob(store: KVStore, tx: DecodedTx, chainId: string, deps: AnteDeps): { check: VerifiedSignature; job: VerifyJob } | undefined {
  const account = deps.auth.getAccount(store, tx.signer);
  if (account === undefined) return undefined;
  const pubkey = account.pubkey ?? tx.pubkey;
  if (pubkey === undefined) return undefined;
  const check: VerifiedSignature = { txHash: tx.hash, accountNumber: account.accountNumber, chainId, pubkey };
  if (deps.signatures.has(check)) return undefined;
  return {
    check,
    job: { bodyBytes: tx.bodyBytes, authInfoBytes: tx.authInfoBytes, chainId, accountNumber: account.accountNumber, signature: tx.signature, pubkey },
  };
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

function verifySignature(ctx: Context, tx: DecodedTx, accountNumber: bigint, pubkey: Uint8Array, cache: SignatureCache): void {
  const check: VerifiedSignature = { txHash: tx.hash, accountNumber, chainId: ctx.chainId, pubkey };
  if (cache.has(check)) return;
  const job = { bodyBytes: tx.bodyBytes, authInfoBytes: tx.authInfoBytes, chainId: ctx.chainId, accountNumber, signature: tx.signature, pubkey };
  if (!verifyJob(job)) {
    throw sdkErrors.unauthorized(`signature verification failed; please verify account number (${accountNumber}) and chain-id (${ctx.chainId})`);
  }
  cache.add(check);
}
