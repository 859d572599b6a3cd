import { AuthInfo, TxBody, TxRaw } from 'cosmjs-types/cosmos/tx/v1beta1/tx';
import { SignMode } from 'cosmjs-types/cosmos/tx/signing/v1beta1/signing';
import { PubKey } from 'cosmjs-types/cosmos/crypto/secp256k1/keys';
import { readerOver } from '../proto-runtime.ts';
import * as nodeCrypto from 'node:crypto';
import { sdkErrors } from '../core/errors.ts';
import type { MsgHandler } from '../core/module.ts';
import { bytesEqual } from '../core/bytes.ts';
import { parseCoins, type Coin } from '../core/coins.ts';
import { SECP256K1_PUBKEY_TYPE } from '../core/address.ts';
import { MAX_TX_GAS } from '../core/gas.ts';
import { isLowS } from './signature.ts';

/** The Cosmos SDK's default tx_sig_limit: more signatures than this is code 14. */
const TX_SIG_LIMIT = 7;

export interface DecodedMsg {
  handler: MsgHandler;
  msg: unknown;
}

/**
 * A tx after every check that needs no state. Pure function of the bytes and
 * the limits, so the result is cached by tx hash between CheckTx and
 * FinalizeBlock (stateless checks run once per tx).
 */
export interface DecodedTx {
  bytes: Uint8Array;
  /** Upper-case hex sha256 of the bytes: CometBFT's tx hash. */
  hash: string;
  bodyBytes: Uint8Array;
  authInfoBytes: Uint8Array;
  msgs: DecodedMsg[];
  signer: Uint8Array;
  /** From the signer info, when present; required when the account has none yet. */
  pubkey: Uint8Array | undefined;
  sequence: bigint;
  signature: Uint8Array;
  gasLimit: bigint;
  fee: Coin[];
  memo: string;
  timeoutHeight: bigint;
}

export interface DecodeLimits {
  maxTxBytes: number;
  maxMemoCharacters: number;
}

export type MsgLookup = (typeUrl: string) => MsgHandler | undefined;

export function txHash(bytes: Uint8Array): string {
  return oneShotSha256Hex(bytes).toUpperCase();
}

/** node:crypto's one-shot hash() where this Node has it (20.12+), else createHash. */
const oneShotSha256Hex: (bytes: Uint8Array) => string = typeof nodeCrypto.hash === 'function'
  ? (bytes) => nodeCrypto.hash('sha256', bytes, 'hex')
  : (bytes) => nodeCrypto.createHash('sha256').update(bytes).digest('hex');

/** Top-level fields of cosmos.tx.v1beta1 TxBody and AuthInfo that the decoder reads. */
const TX_BODY_FIELDS = new Set([1, 2, 3, 4, 5, 1023, 2047]);
const AUTH_INFO_FIELDS = new Set([1, 2, 3]);

/**
 * As the Cosmos SDK does (ADR-020): the protobuf decoder drops fields it does
 * not know, so a signed field from a newer SDK would be ignored and the tx run
 * with other semantics than its signer meant; refuse it instead. Body fields
 * from 1024 up are non-critical by the ADR and may be ignored. Only the top
 * level is walked: new tx-wide semantics appear there.
 */
function rejectUnknownFields(bytes: Uint8Array, known: Set<number>, what: string, allowNonCritical: boolean): void {
  const reader = readerOver(bytes);
  while (reader.pos < reader.len) {
    let field: number;
    try {
      const tag = reader.uint32();
      field = tag >>> 3;
      reader.skipType(tag & 7);
    } catch (error) {
      throw sdkErrors.txDecode(`${what} does not decode: ${(error as Error).message}`);
    }
    if (!known.has(field) && !(allowNonCritical && field >= 1024)) throw sdkErrors.txDecode(`${what} has unknown field ${field}`);
  }
}

/**
 * Whether `bytes` is exactly what TxRaw.encode writes for the message they decode to:
 * body_bytes (field 1) and auth_info_bytes (field 2) each at most once, in this order, left out
 * when empty, then any number of signatures (field 3, written even when empty), all lengths as
 * minimal varints, nothing else and nothing after. Same answer as re-encoding and comparing
 * (test/unit/tx-canonical.test.ts), without building the encoding.
 */
export function isCanonicalTxRaw(bytes: Uint8Array): boolean {
  const n = bytes.length;
  let o = 0;
  let lastField = 0;
  while (o < n) {
    const tag = bytes[o++];
    const field = tag >> 3;
    if ((tag & 7) !== 2 || field < 1 || field > 3 || tag >= 0x80) return false;
    if (field < lastField || (field === lastField && field !== 3)) return false;
    lastField = field;
    let length = 0;
    let shift = 0;
    for (;;) {
      if (o >= n || shift > 28) return false;
      const b = bytes[o++];
      length += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if (b < 0x80) {
        if (b === 0 && shift > 7) return false; // non-minimal varint (trailing zero group)
        break;
      }
    }
    if (length === 0 && field !== 3) return false; // empty body / auth info is not written
    if (length > n - o) return false;
    o += length;
  }
  return true;
}

/**
 * `simulate` decodes what a client sends to estimate gas (CosmJS sends an
 * empty signature, no sign mode and a zero gas limit), so the checks on those
 * fields are skipped; everything else is the same.
 */
export function decodeTx(input: Uint8Array, limits: DecodeLimits, lookup: MsgLookup, simulate = false, hash?: string): DecodedTx {
  if (input.length === 0) throw sdkErrors.txDecode('empty tx');
  if (input.length > limits.maxTxBytes) throw sdkErrors.txTooLarge(`tx of ${input.length} bytes exceeds the limit of ${limits.maxTxBytes}`);
  // One private copy, and every decoded field a view into it (readerOver, app/proto-runtime.ts;
  // cosmjs-types' own readers made four copies): a decoded tx is cached by hash from CheckTx to
  // FinalizeBlock, so it must not change if a caller reuses its buffer.
  const bytes = input.slice();
  let raw: TxRaw, body: TxBody, authInfo: AuthInfo;
  try {
    raw = TxRaw.decode(readerOver(bytes));
    body = TxBody.decode(readerOver(raw.bodyBytes));
    authInfo = AuthInfo.decode(readerOver(raw.authInfoBytes));
  } catch (error) {
    throw sdkErrors.txDecode(`cannot decode TxRaw/TxBody/AuthInfo: ${(error as Error).message}`);
  }
  // Re-encoding must give the same bytes: rejects trailing garbage and non-canonical encodings that would let two byte strings carry one tx.
  if (!isCanonicalTxRaw(bytes)) throw sdkErrors.txDecode('TxRaw is not canonically encoded');
  rejectUnknownFields(raw.bodyBytes, TX_BODY_FIELDS, 'TxBody', true);
  rejectUnknownFields(raw.authInfoBytes, AUTH_INFO_FIELDS, 'AuthInfo', false);

  if (body.messages.length === 0) throw sdkErrors.invalidRequest('tx has no messages');
  if (body.extensionOptions.length > 0 || body.nonCriticalExtensionOptions.length > 0) {
    throw sdkErrors.unknownExtensionOptions('extension options are not supported');
  }
  // Fields of newer Cosmos SDKs that this chain does not implement. Ignoring them would run
  // the tx with other semantics than the signer asked for (a tx meant to expire at a time
  // would never expire; an "unordered" tx would still consume a sequence), so refuse them.
  if (body.unordered) throw sdkErrors.invalidRequest('unordered txs are not supported; sign with a sequence and unordered = false');
  if (body.timeoutTimestamp !== undefined) {
    throw sdkErrors.invalidRequest('timeout timestamp is not supported; use timeout_height to bound a tx\'s lifetime');
  }
  // The Cosmos SDK's max_memo_characters is compared with Go's len(memo): UTF-8 bytes, not
  // characters, so a client's memo is accepted or refused here exactly as on a Cosmos chain.
  const memoBytes = Buffer.byteLength(body.memo, 'utf8');
  if (memoBytes > limits.maxMemoCharacters) {
    throw sdkErrors.memoTooLarge(`memo has ${memoBytes} bytes (UTF-8), the limit is ${limits.maxMemoCharacters}`);
  }

  const msgs: DecodedMsg[] = [];
  let signer: Uint8Array | undefined;
  for (const [index, any] of body.messages.entries()) {
    const handler = lookup(any.typeUrl);
    if (handler === undefined) throw sdkErrors.unknownRequest(`message ${index} has unknown type "${any.typeUrl}"`);
    let msg: unknown;
    try {
      msg = handler.decode(any.value);
    } catch (error) {
      throw sdkErrors.txDecode(`message ${index} (${any.typeUrl}) does not decode: ${(error as Error).message}`);
    }
    const signers = handler.signers(msg);
    msgs.push({ handler, msg });
    for (const candidate of signers) {
      if (signer === undefined) signer = candidate;
      else if (!bytesEqual(signer, candidate)) throw sdkErrors.unauthorized('all messages of a tx must have the same signer');
    }
  }
  if (signer === undefined) throw sdkErrors.invalidRequest('tx has no signer');

  if (authInfo.signerInfos.length === 0 || raw.signatures.length === 0) throw sdkErrors.noSignatures('tx carries no signature');
  // As the Cosmos SDK's ante chain: more signatures than tx_sig_limit (7) is code 14; any other
  // count that does not match the messages' one signer is unauthorized (code 4).
  const sigCount = Math.max(authInfo.signerInfos.length, raw.signatures.length);
  if (sigCount > TX_SIG_LIMIT) {
    throw sdkErrors.tooManySignatures(`signatures: ${sigCount}, limit: ${TX_SIG_LIMIT}`);
  }
  if (authInfo.signerInfos.length !== 1 || raw.signatures.length !== 1) {
    throw sdkErrors.unauthorized(`expected exactly 1 signer and 1 signature (one signer per tx), got ${authInfo.signerInfos.length} and ${raw.signatures.length}`);
  }
  const signerInfo = authInfo.signerInfos[0];
  if (!simulate && signerInfo.modeInfo?.single?.mode !== SignMode.SIGN_MODE_DIRECT) throw sdkErrors.unauthorized('only SIGN_MODE_DIRECT single signatures are supported');
  let pubkey: Uint8Array | undefined;
  if (signerInfo.publicKey !== undefined) {
    if (signerInfo.publicKey.typeUrl !== SECP256K1_PUBKEY_TYPE) throw sdkErrors.invalidPubKey(`unsupported key type "${signerInfo.publicKey.typeUrl}"`);
    try {
      pubkey = PubKey.decode(readerOver(signerInfo.publicKey.value)).key;
    } catch (error) {
      throw sdkErrors.invalidPubKey(`pubkey does not decode: ${(error as Error).message}`);
    }
    if (pubkey.length !== 33 || (pubkey[0] !== 2 && pubkey[0] !== 3)) throw sdkErrors.invalidPubKey('pubkey must be a 33-byte compressed secp256k1 key');
  }
  const signature = raw.signatures[0];
  if (!simulate && signature.length !== 64) throw sdkErrors.unauthorized(`signature must be 64 bytes (r||s), got ${signature.length}`);
  if (!simulate && !isLowS(signature)) throw sdkErrors.unauthorized('signature s is in the upper half of the curve order (high-S); only low-S signatures are valid');

  const fee = authInfo.fee;
  if (fee === undefined) throw sdkErrors.insufficientFee('tx has no fee');
  if (!simulate && (fee.gasLimit === 0n || fee.gasLimit > BigInt(MAX_TX_GAS))) throw sdkErrors.invalidGasLimit(`gas limit must be in 1..${MAX_TX_GAS}, got ${fee.gasLimit}`);
  if (fee.payer !== '' || fee.granter !== '') throw sdkErrors.invalidRequest('fee payer and fee granter are not supported');
  // A tip would silently go unpaid: refuse it like the other unsupported fields.
  if (authInfo.tip !== undefined) throw sdkErrors.invalidRequest('tips are not supported');

  return {
    bytes,
    hash: hash ?? txHash(bytes),
    bodyBytes: raw.bodyBytes,
    authInfoBytes: raw.authInfoBytes,
    msgs,
    signer,
    pubkey,
    sequence: signerInfo.sequence,
    signature,
    gasLimit: fee.gasLimit,
    fee: parseCoins(fee.amount, { what: 'fee' }),
    memo: body.memo,
    timeoutHeight: body.timeoutHeight,
  };
}
