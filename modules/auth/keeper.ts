import { BaseAccount } from 'cosmjs-types/cosmos/auth/v1beta1/auth';
import { PubKey } from 'cosmjs-types/cosmos/crypto/secp256k1/keys';
import type { Any } from 'cosmjs-types/google/protobuf/any';
import type { KVStore } from '../../app/store/types.ts';
import { prefixStore } from '../../app/store/prefix.ts';
import { concatBytes, fromUtf8, readU64be, u64be, utf8 } from '../../app/bytes.ts';
import { encodeAddress } from './address.ts';
import { type AuthParams, defaultAuthParams } from './params.ts';

export const SECP256K1_PUBKEY_TYPE = '/cosmos.crypto.secp256k1.PubKey';
export const BASE_ACCOUNT_TYPE = '/cosmos.auth.v1beta1.BaseAccount';

/** Key layout inside the module's prefix "auth/" (see README). */
const ACCOUNT_PREFIX = utf8('a/');
const keys = {
  account: (address: Uint8Array) => concatBytes(ACCOUNT_PREFIX, address),
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

  private view(store: KVStore): KVStore {
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
    const raw = this.view(store).get(keys.account(address));
    return raw === undefined ? undefined : decodeAccount(address, raw);
  }

  setAccount(store: KVStore, account: Account): void {
    this.view(store).set(keys.account(account.address), encodeAccount(account));
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

function encodeAccount(account: Account): Uint8Array {
  return BaseAccount.encode(accountToProto(account)).finish();
}

function decodeAccount(address: Uint8Array, raw: Uint8Array): Account {
  const proto = BaseAccount.decode(raw);
  const pubkey = proto.pubKey === undefined ? undefined : PubKey.decode(proto.pubKey.value).key;
  return { address, accountNumber: proto.accountNumber, sequence: proto.sequence, pubkey };
}
