import type { Context } from '../../app/core/context.ts';
import { sdkErrors } from '../../app/core/errors.ts';
import { bytesEqual } from '../../app/core/bytes.ts';
import type { KVStore } from '../../app/core/store/types.ts';
import { addressFromPubkey, encodeAddress, moduleAddress } from '../../app/core/address.ts';
import { type Coin, formatCoins } from '../../app/core/coins.ts';
import type { AuthKeeper } from './keeper.ts';
import type { FeeBank } from './expected-keepers.ts';
import { parseDecimal, requiredFee } from './params.ts';

export const FEE_COLLECTOR = moduleAddress('fee_collector');

/**
 * What the ante handler reads of a tx: the node's decoded tx (app/tx/decode.ts) has these
 * fields, as the Cosmos SDK's `sdk.Tx` provides its `x/auth/ante` decorators with
 * `SigVerifiableTx`/`FeeTx`.
 */
export interface AnteTx {
  /** The tx's bytes as sent (their length is charged as gas). */
  bytes: Uint8Array;
  /** Upper-case hex sha256 of the bytes. */
  hash: string;
  bodyBytes: Uint8Array;
  authInfoBytes: Uint8Array;
  signer: Uint8Array;
  /** From the signer info, when present; required when the account has none yet. */
  pubkey: Uint8Array | undefined;
  sequence: bigint;
  signature: Uint8Array;
  gasLimit: bigint;
  fee: Coin[];
  timeoutHeight: bigint;
}

/**
 * The signature check, supplied by the node: it verifies a SIGN_MODE_DIRECT signature once and
 * remembers it with every input (app/tx/signature-cache.ts), so FinalizeBlock does not verify
 * again what CheckTx verified.
 */
export interface SignatureVerifier {
  /** Whether `tx`'s signature is valid over its sign doc for this account number, chain-id and pubkey. */
  verify(tx: AnteTx, accountNumber: bigint, chainId: string, pubkey: Uint8Array): boolean;
}

export interface AnteDeps {
  auth: AuthKeeper;
  bank: FeeBank;
  signatures: SignatureVerifier;
}

/**
 * The stateful checks, in the Cosmos SDK's order: timeout height, tx size gas,
 * account, fee, pubkey, sequence, signature gas and verification, sequence
 * increment. Runs on the tx's cache layer: if it throws, nothing it wrote
 * survives (not even the fee).
 */
export function runAnte(ctx: Context, tx: AnteTx, deps: AnteDeps): void {
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
  if (ctx.mode !== 'simulate' && !deps.signatures.verify(tx, account.accountNumber, ctx.chainId, pubkey)) {
    throw sdkErrors.unauthorized(`signature verification failed; please verify account number (${account.accountNumber}) and chain-id (${ctx.chainId})`);
  }

  deps.auth.setAccount(ctx.store, { ...account, pubkey, sequence: account.sequence + 1n });
  if (!ctx.events.enabled) return;
  ctx.events.emit('tx', [['acc_seq', `${encodeAddress(tx.signer)}/${account.sequence}`]]);
  ctx.events.emit('tx', [['signature', Buffer.from(tx.signature.buffer, tx.signature.byteOffset, tx.signature.byteLength).toString('base64')]]);
}

/**
 * Whether the tx's pubkey hashes to its signer: a pure function of the decoded tx, remembered
 * per tx object so that CheckTx, ReCheckTx and FinalizeBlock hash it once (sha256 + ripemd160).
 */
const pubkeyMatches = new WeakMap<AnteTx, boolean>();
function pubkeyMatchesSigner(tx: AnteTx, pubkey: Uint8Array): boolean {
  let matches = pubkeyMatches.get(tx);
  if (matches === undefined) {
    matches = bytesEqual(addressFromPubkey(pubkey), tx.signer);
    pubkeyMatches.set(tx, matches);
  }
  return matches;
}

/**
 * The account number and pubkey the ante handler would verify `tx`'s signature with against
 * `store`, or undefined when it would not get as far as verifying (no account, no pubkey): lets
 * the node verify signatures ahead of time (app/tx/batch-signatures.ts).
 */
export function signatureInputs(store: KVStore, tx: AnteTx, auth: AuthKeeper): { accountNumber: bigint; pubkey: Uint8Array } | undefined {
  const account = auth.getAccount(store, tx.signer);
  if (account === undefined) return undefined;
  const pubkey = account.pubkey ?? tx.pubkey;
  if (pubkey === undefined) return undefined;
  return { accountNumber: account.accountNumber, pubkey };
}
