import { AuthInfo, TxBody, TxRaw } from 'cosmjs-types/cosmos/tx/v1beta1/tx';
import { SignMode } from 'cosmjs-types/cosmos/tx/signing/v1beta1/signing';
import { PubKey } from 'cosmjs-types/cosmos/crypto/secp256k1/keys';
import * as nodeCrypto from 'node:crypto';
import { sdkErrors } from '../core/errors.ts';
import type { MsgHandler } from '../core/module.ts';
import { bytesEqual } from '../core/bytes.ts';
import { parseCoins, type Coin } from '../core/coins.ts';
import { SECP256K1_PUBKEY_TYPE } from '../core/address.ts';
import { MAX_TX_GAS } from '../core/gas.ts';
import { isLowS } from './signature.ts';
import { type ProtoFields, unknownFieldProblem } from '../core/proto-fields.ts';
import { readerOver } from '../proto-runtime.ts';

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

/**
 * Field tables (app/core/proto-fields.ts) of the Cosmos tx types the decoder reads, from
 * cosmos-sdk's tx/v1beta1/tx.proto, base/v1beta1/coin.proto, crypto/secp256k1/keys.proto,
 * crypto/multisig/v1beta1/multisig.proto and google/protobuf/{any,timestamp}.proto. A field not
 * declared here, at any depth, is refused (ADR-020): the protobuf decoder would drop it, and the
 * tx would run with other semantics than its signer meant. Only TxBody's own fields from 1024 up
 * are non-critical and may be ignored. The Anys' values are checked against their own type's
 * table: the pubkey here, each message against its handler's `fields`.
 */
export const TX_FIELDS: ProtoFields = {
  'cosmos.tx.v1beta1.TxBody': {
    1: 'google.protobuf.Any' /* messages */, 2: 'len' /* memo */, 3: 'varint' /* timeout_height */, 4: 'varint' /* unordered */,
    5: 'google.protobuf.Timestamp' /* timeout_timestamp */, 1023: 'google.protobuf.Any' /* extension_options */,
    2047: 'google.protobuf.Any' /* non_critical_extension_options */,
  },
  'cosmos.tx.v1beta1.AuthInfo': { 1: 'cosmos.tx.v1beta1.SignerInfo' /* signer_infos */, 2: 'cosmos.tx.v1beta1.Fee', 3: 'cosmos.tx.v1beta1.Tip' },
  'cosmos.tx.v1beta1.SignerInfo': { 1: 'google.protobuf.Any' /* public_key */, 2: 'cosmos.tx.v1beta1.ModeInfo', 3: 'varint' /* sequence */ },
  'cosmos.tx.v1beta1.ModeInfo': { 1: 'cosmos.tx.v1beta1.ModeInfo.Single', 2: 'cosmos.tx.v1beta1.ModeInfo.Multi' },
  'cosmos.tx.v1beta1.ModeInfo.Single': { 1: 'varint' /* mode */ },
  'cosmos.tx.v1beta1.ModeInfo.Multi': { 1: 'cosmos.crypto.multisig.v1beta1.CompactBitArray', 2: 'cosmos.tx.v1beta1.ModeInfo' },
  'cosmos.crypto.multisig.v1beta1.CompactBitArray': { 1: 'varint' /* extra_bits_stored */, 2: 'len' /* elems */ },
  'cosmos.tx.v1beta1.Fee': { 1: 'cosmos.base.v1beta1.Coin' /* amount */, 2: 'varint' /* gas_limit */, 3: 'len' /* payer */, 4: 'len' /* granter */ },
  'cosmos.tx.v1beta1.Tip': { 1: 'cosmos.base.v1beta1.Coin' /* amount */, 2: 'len' /* tipper */ },
  'cosmos.base.v1beta1.Coin': { 1: 'len' /* denom */, 2: 'len' /* amount */ },
  'google.protobuf.Any': { 1: 'len' /* type_url */, 2: 'len' /* value */ },
  'google.protobuf.Timestamp': { 1: 'varint' /* seconds */, 2: 'varint' /* nanos */ },
  'cosmos.crypto.secp256k1.PubKey': { 1: 'len' /* key */ },
};

/** sdk/2 naming what carries an undeclared field (`TxBody has unknown field 7`), unless every field is declared. */
function rejectUnknownFields(bytes: Uint8Array, type: string, fields: ProtoFields, what: string, allowNonCriticalAtTop = false): void {
  const problem = unknownFieldProblem(bytes, type, fields, { allowNonCriticalAtTop });
  if (problem !== undefined) throw sdkErrors.txDecode(`${what} ${problem}`);
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
  rejectUnknownFields(raw.bodyBytes, 'cosmos.tx.v1beta1.TxBody', TX_FIELDS, 'TxBody', true);
  rejectUnknownFields(raw.authInfoBytes, 'cosmos.tx.v1beta1.AuthInfo', TX_FIELDS, 'AuthInfo');

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
    rejectUnknownFields(any.value, any.typeUrl.slice(1), handler.fields, `message ${index} (${any.typeUrl})`);
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
    rejectUnknownFields(signerInfo.publicKey.value, 'cosmos.crypto.secp256k1.PubKey', TX_FIELDS, 'pubkey');
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
