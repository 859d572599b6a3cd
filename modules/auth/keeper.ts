import { BaseAccount } from 'cosmjs-types/cosmos/auth/v1beta1/auth';
import { PubKey } from 'cosmjs-types/cosmos/crypto/secp256k1/keys';
import type { Any } from 'cosmjs-types/google/protobuf/any';
import type { KVStore, StringKeyedStore } from '../../app/core/store/types.ts';
import { prefixStore } from '../../app/core/store/prefix.ts';
import { bytesEqual, concatBytes, fromUtf8, readU64be, u64be, utf8 } from '../../app/core/bytes.ts';
import { keyStringMemo } from '../../app/core/store/bytes.ts';
import { encodeAddress, SECP256K1_PUBKEY_TYPE } from '../../app/core/address.ts';
import { type AuthParams, defaultAuthParams } from './params.ts';

export const BASE_ACCOUNT_TYPE = '/cosmos.auth.v1beta1.BaseAccount';

/** Key layout inside the module's prefix "auth/" (see README). */
const ACCOUNT_PREFIX = utf8('a/');
const keys = {
  /** As a latin1 key string, remembered per address array (app/core/store/bytes.ts keyStringMemo): read and written in every tx. */
  account: keyStringMemo((address) => concatBytes(ACCOUNT_PREFIX, address)),
  accountPrefix: ACCOUNT_PREFIX,
  nextAccountNumber: utf8('n'),
  params: utf8('p'),
};

export interface Account {
  address: Uint8Array;
  accountNumber: bigint;
  sequence: bigint;
  /** Compressed secp256k1 key, set by the account's first signed tx. */
  pubkey: Uint8Array | undefined;
}

/** Read-only view of accounts, for modules that only need to look. */
export interface AccountReader {
  getAccount(store: KVStore, address: Uint8Array): Account | undefined;
  getParams(store: KVStore): AuthParams;
}

export class AuthKeeper implements AccountReader {
  static readonly storePrefix = utf8('auth/');

  private view(store: KVStore): StringKeyedStore {
    return prefixStore(store, AuthKeeper.storePrefix);
  }

  /** Parsed params by the stored bytes object: every tx reads them, the bytes change only by governance. */
  private readonly parsedParams = new WeakMap<Uint8Array, AuthParams>();

  getParams(store: KVStore): AuthParams {
    const raw = this.view(store).get(keys.params);
    if (raw === undefined) return defaultAuthParams;
    let params = this.parsedParams.get(raw);
    if (params === undefined) {
      params = JSON.parse(fromUtf8(raw)) as AuthParams;
      this.parsedParams.set(raw, params);
    }
    return params;
  }

  setParams(store: KVStore, params: AuthParams): void {
    // Fixed key order (that of defaultAuthParams) keeps the stored bytes canonical.
    const ordered = Object.fromEntries(Object.keys(defaultAuthParams).map((key) => [key, params[key as keyof AuthParams]]));
    this.view(store).set(keys.params, utf8(JSON.stringify(ordered)));
  }

  getAccount(store: KVStore, address: Uint8Array): Account | undefined {
    const raw = this.view(store).getS(keys.account(address));
    if (raw === undefined) return undefined;
    // Stored values are shared and never changed (app/core/store/cache.ts), so the account decoded
    // from one is the account of every later read of it: CheckTx's signature job, its ante
    // handler and FinalizeBlock's all read the same committed bytes. Frozen: callers build new
    // accounts with spreads, never change one.
    const known = decodedAccounts.get(raw);
    if (known !== undefined && bytesEqual(known.address, address)) return known;
    const account = Object.freeze(decodeAccount(address, raw));
    decodedAccounts.set(raw, account);
    return account;
  }

  setAccount(store: KVStore, account: Account): void {
    this.view(store).setS(keys.account(account.address), encodeAccount(account));
  }

  /** Creates an account with the next account number; the caller checks it does not exist. */
  newAccount(store: KVStore, address: Uint8Array): Account {
    const view = this.view(store);
    const raw = view.get(keys.nextAccountNumber);
    const accountNumber = raw === undefined ? 0n : readU64be(raw);
    view.set(keys.nextAccountNumber, u64be(accountNumber + 1n));
    const account: Account = { address, accountNumber, sequence: 0n, pubkey: undefined };
    this.setAccount(store, account);
    return account;
  }

  /** The account, created on first sight (as the bank does for a recipient). */
  ensureAccount(store: KVStore, address: Uint8Array): Account {
    return this.getAccount(store, address) ?? this.newAccount(store, address);
  }

  /**
   * ensureAccount for callers that do not need the account: the same store reads and writes
   * (so the same gas), without decoding an account that exists.
   */
  ensureAccountExists(store: KVStore, address: Uint8Array): void {
    if (this.view(store).getS(keys.account(address)) === undefined) this.newAccount(store, address);
  }

  nextAccountNumber(store: KVStore): bigint {
    const raw = this.view(store).get(keys.nextAccountNumber);
    return raw === undefined ? 0n : readU64be(raw);
  }

  setNextAccountNumber(store: KVStore, next: bigint): void {
    this.view(store).set(keys.nextAccountNumber, u64be(next));
  }

  *allAccounts(store: KVStore): IterableIterator<Account> {
    const prefixLength = keys.accountPrefix.length;
    for (const [key, value] of this.view(store).iterate(keys.accountPrefix)) {
      yield decodeAccount(key.slice(prefixLength), value);
    }
  }
}

export function pubkeyToAny(pubkey: Uint8Array): Any {
  return { typeUrl: SECP256K1_PUBKEY_TYPE, value: PubKey.encode({ key: pubkey }).finish() };
}

/** The account as the Cosmos `BaseAccount` protobuf that CosmJS decodes. */
export function accountToProto(account: Account): BaseAccount {
  return BaseAccount.fromPartial({
    address: encodeAddress(account.address),
    pubKey: account.pubkey === undefined ? undefined : pubkeyToAny(account.pubkey),
    accountNumber: account.accountNumber,
    sequence: account.sequence,
  });
}

/**
 * Stored form: the BaseAccount protobuf bytes exactly as cosmjs-types encodes `accountToProto`
 * (proto3: fields 1 address, 2 pubkey Any, 3 account number, 4 sequence; empty and zero fields
 * left out), written by hand because every tx reads and writes two or three accounts and the
 * generic encoder and decoder (with their writer, Any and PubKey objects) cost several times
 * more. test/unit/auth-account-codec.test.ts checks byte equality with cosmjs-types.
 */
const PUBKEY_TYPE_BYTES = utf8(SECP256K1_PUBKEY_TYPE);

function varintLength(n: bigint | number): number {
  let length = 1;
  let v = BigInt(n);
  while (v >= 0x80n) {
    v >>= 7n;
    length++;
  }
  return length;
}

function writeVarint(out: Uint8Array, offset: number, n: bigint | number): number {
  if (typeof n === 'number' && n < 0x80) {
    out[offset] = n;
    return offset + 1;
  }
  let v = BigInt(n);
  while (v >= 0x80n) {
    out[offset++] = Number(v & 0x7fn) | 0x80;
    v >>= 7n;
  }
  out[offset++] = Number(v);
  return offset;
}

function writeBytesField(out: Uint8Array, offset: number, tag: number, bytes: Uint8Array): number {
  out[offset++] = tag;
  offset = writeVarint(out, offset, bytes.length);
  out.set(bytes, offset);
  return offset + bytes.length;
}

function encodeAccount(account: Account): Uint8Array {
  const address = latin1Bytes(encodeAddress(account.address));
  let size = 0;
  if (address.length > 0) size += 1 + varintLength(address.length) + address.length;
  let pubkeyAnyLength = 0;
  let pubkeyValueLength = 0;
  if (account.pubkey !== undefined) {
    pubkeyValueLength = account.pubkey.length === 0 ? 0 : 1 + varintLength(account.pubkey.length) + account.pubkey.length;
    pubkeyAnyLength = 1 + varintLength(PUBKEY_TYPE_BYTES.length) + PUBKEY_TYPE_BYTES.length
      + (pubkeyValueLength === 0 ? 0 : 1 + varintLength(pubkeyValueLength) + pubkeyValueLength);
    size += 1 + varintLength(pubkeyAnyLength) + pubkeyAnyLength;
  }
  if (account.accountNumber !== 0n) size += 1 + varintLength(account.accountNumber);
  if (account.sequence !== 0n) size += 1 + varintLength(account.sequence);
  const out = new Uint8Array(size);
  let o = 0;
  if (address.length > 0) o = writeBytesField(out, o, 0x0a, address);
  if (account.pubkey !== undefined) {
    out[o++] = 0x12;
    o = writeVarint(out, o, pubkeyAnyLength);
    o = writeBytesField(out, o, 0x0a, PUBKEY_TYPE_BYTES);
    if (pubkeyValueLength > 0) {
      out[o++] = 0x12;
      o = writeVarint(out, o, pubkeyValueLength);
      o = writeBytesField(out, o, 0x0a, account.pubkey);
    }
  }
  if (account.accountNumber !== 0n) {
    out[o++] = 0x18;
    o = writeVarint(out, o, account.accountNumber);
  }
  if (account.sequence !== 0n) {
    out[o++] = 0x20;
    o = writeVarint(out, o, account.sequence);
  }
  return out;
}

/** Bech32 text is ASCII: its UTF-8 bytes are its char codes. */
function latin1Bytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7f) return utf8(text);
    out[i] = c;
  }
  return out;
}

/** Accounts by the stored value they were decoded from (see getAccount). */
const decodedAccounts = new WeakMap<Uint8Array, Readonly<Account>>();

/**
 * The fast reader handles what encodeAccount writes (each field once, in order, a secp256k1
 * pubkey); anything else goes to the generic cosmjs-types decoder, so both accept the same
 * bytes and give the same account.
 */
function decodeAccount(address: Uint8Array, raw: Uint8Array): Account {
  return decodeAccountFast(address, raw) ?? decodeAccountGeneric(address, raw);
}

function decodeAccountGeneric(address: Uint8Array, raw: Uint8Array): Account {
  const proto = BaseAccount.decode(raw);
  const pubkey = proto.pubKey === undefined ? undefined : PubKey.decode(proto.pubKey.value).key;
  return { address, accountNumber: proto.accountNumber, sequence: proto.sequence, pubkey };
}

/** Cursor of decodeAccountFast (module-level: no closures allocated per read). */
let cursor = 0;

function readVarint(raw: Uint8Array): bigint | undefined {
  let result = 0n;
  let shift = 0n;
  for (let i = 0; i < 10; i++) {
    if (cursor >= raw.length) return undefined;
    const b = raw[cursor++];
    result |= BigInt(b & 0x7f) << shift;
    if (b < 0x80) return result;
    shift += 7n;
  }
  return undefined;
}

function readSmallLength(raw: Uint8Array): number | undefined {
  if (cursor >= raw.length || raw[cursor] >= 0x80) return undefined;
  return raw[cursor++];
}

function decodeAccountFast(address: Uint8Array, raw: Uint8Array): Account | undefined {
  cursor = 0;
  const n = raw.length;
  if (cursor < n && raw[cursor] === 0x0a) {
    cursor++;
    const length = readSmallLength(raw);
    if (length === undefined || cursor + length > n) return undefined;
    cursor += length; // the address: implied by the key
  }
  let pubkey: Uint8Array | undefined;
  if (cursor < n && raw[cursor] === 0x12) {
    cursor++;
    const anyLength = readSmallLength(raw);
    let o = cursor;
    if (anyLength !== 70 || o + 70 > n) return undefined;
    // 0x0a 31 "/cosmos.crypto.secp256k1.PubKey" 0x12 35 0x0a 33 <key>
    if (raw[o] !== 0x0a || raw[o + 1] !== PUBKEY_TYPE_BYTES.length) return undefined;
    for (let i = 0; i < PUBKEY_TYPE_BYTES.length; i++) if (raw[o + 2 + i] !== PUBKEY_TYPE_BYTES[i]) return undefined;
    o += 2 + PUBKEY_TYPE_BYTES.length;
    if (raw[o] !== 0x12 || raw[o + 1] !== 35 || raw[o + 2] !== 0x0a || raw[o + 3] !== 33) return undefined;
    pubkey = raw.slice(o + 4, o + 4 + 33);
    cursor = o + 4 + 33;
  }
  let accountNumber = 0n;
  if (cursor < n && raw[cursor] === 0x18) {
    cursor++;
    const v = readVarint(raw);
    if (v === undefined || v >= 1n << 64n) return undefined;
    accountNumber = v;
  }
  let sequence = 0n;
  if (cursor < n && raw[cursor] === 0x20) {
    cursor++;
    const v = readVarint(raw);
    if (v === undefined || v >= 1n << 64n) return undefined;
    sequence = v;
  }
  if (cursor !== n) return undefined;
  return { address, accountNumber, sequence, pubkey };
}
