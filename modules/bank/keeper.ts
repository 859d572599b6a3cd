import type { KVStore, StringKeyedStore } from '../../app/core/store/types.ts';
import { keyStringMemo, toKeyString } from '../../app/core/store/bytes.ts';
import { prefixStore } from '../../app/core/store/prefix.ts';
import { concatBytes, fromUtf8, fromUtf8Short, utf8, utf8Short } from '../../app/core/bytes.ts';
import { sdkErrors } from '../../app/core/errors.ts';
import type { EventLog } from '../../app/core/events.ts';
import { encodeAddress } from '../../app/core/address.ts';
import type { BankAccountKeeper } from './expected-keepers.ts';
import { type Coin, formatCoins, MAX_AMOUNT } from '../../app/core/coins.ts';

/** Key layout inside the module's prefix "bank/" (see README). */
const BALANCE_PREFIX = utf8('b/');
const SUPPLY_PREFIX = utf8('s/');
/** Denoms are few and recur in every tx: encode each once, as bytes and as a latin1 key string. */
const denoms = new Map<string, { bytes: Uint8Array; key: string }>();
function denomEntry(denom: string): { bytes: Uint8Array; key: string } {
  let entry = denoms.get(denom);
  if (entry === undefined) {
    const bytes = utf8(denom);
    entry = { bytes, key: toKeyString(bytes) };
    if (denoms.size < 10_000) denoms.set(denom, entry);
  }
  return entry;
}

/**
 * The balance key "b/" ‖ len(address) ‖ address ‖ denom as a latin1 key string (app/core/store/bytes.ts),
 * built without the bytes: balances are read and written about eight times per transfer, and the
 * key bytes plus their conversion were a tenth of the allocations of a tx.
 */
const addressKeyPart = keyStringMemo((address) => keys.balancePrefix(address));
function balanceKeyString(address: Uint8Array, denom: string): string {
  return addressKeyPart(address) + denomEntry(denom).key;
}

const keys = {
  balancePrefix: (address: Uint8Array) => concatBytes(BALANCE_PREFIX, Uint8Array.of(address.length), address),
  holdersPrefix: BALANCE_PREFIX,
  supply: (denom: string) => concatBytes(SUPPLY_PREFIX, denomEntry(denom).bytes),
  supplyPrefix: SUPPLY_PREFIX,
};

/** Read-only layer: balances and supply. */
export class BankViewKeeper {
  static readonly storePrefix = utf8('bank/');

  protected view(store: KVStore): StringKeyedStore {
    return prefixStore(store, BankViewKeeper.storePrefix);
  }

  balance(store: KVStore, address: Uint8Array, denom: string): bigint {
    const raw = this.view(store).getS(balanceKeyString(address, denom));
    return raw === undefined ? 0n : BigInt(fromUtf8Short(raw));
  }

  allBalances(store: KVStore, address: Uint8Array): Coin[] {
    const prefix = keys.balancePrefix(address);
    const coins: Coin[] = [];
    for (const [key, value] of this.view(store).iterate(prefix)) {
      coins.push({ denom: fromUtf8(key.slice(prefix.length)), amount: BigInt(fromUtf8(value)) });
    }
    return coins;
  }

  supplyOf(store: KVStore, denom: string): bigint {
    const raw = this.view(store).get(keys.supply(denom));
    return raw === undefined ? 0n : BigInt(fromUtf8(raw));
  }

  totalSupply(store: KVStore): Coin[] {
    const coins: Coin[] = [];
    for (const [key, value] of this.view(store).iterate(keys.supplyPrefix)) {
      coins.push({ denom: fromUtf8(key.slice(keys.supplyPrefix.length)), amount: BigInt(fromUtf8(value)) });
    }
    return coins;
  }

  /** Every (address, coins) with a non-zero balance, in key order: for genesis export. */
  *allHolders(store: KVStore): IterableIterator<{ address: Uint8Array; coins: Coin[] }> {
    let current: { address: Uint8Array; coins: Coin[] } | undefined;
    const base = keys.holdersPrefix.length;
    for (const [key, value] of this.view(store).iterate(keys.holdersPrefix)) {
      const addressLength = key[base];
      const address = key.slice(base + 1, base + 1 + addressLength);
      const denom = fromUtf8(key.slice(base + 1 + addressLength));
      if (current === undefined || Buffer.compare(current.address, address) !== 0) {
        if (current !== undefined) yield current;
        current = { address, coins: [] };
      }
      current.coins.push({ denom, amount: BigInt(fromUtf8(value)) });
    }
    if (current !== undefined) yield current;
  }
}

/**
 * Full layer: moves, mints and burns coins, keeping total supply exact.
 *
 * `blockedAddrs` (the Cosmos SDK's `BlockedAddrs`, given by the node at wiring time: every
 * module account) may not receive funds through a user-initiated send (MsgSend refuses them,
 * sdk 4). `send` itself does not check: the modules' own transfers into and out of their
 * accounts (bonds, deposits, stake, rewards) go through it.
 */
export class BankKeeper extends BankViewKeeper {
  private readonly blocked: ReadonlySet<string>;

  constructor(private readonly accounts: BankAccountKeeper, blockedAddrs: Iterable<Uint8Array> = []) {
    super();
    this.blocked = new Set([...blockedAddrs].map((address) => toKeyString(address)));
  }

  /** Whether `address` is a blocked address (a module account): no user-initiated send may pay it. */
  isBlocked(address: Uint8Array): boolean {
    return this.blocked.size > 0 && this.blocked.has(toKeyString(address));
  }

  send(store: KVStore, events: EventLog, from: Uint8Array, to: Uint8Array, coins: Coin[]): void {
    this.subtract(store, events, from, coins);
    this.add(store, events, to, coins);
    if (events.enabled) events.emit('transfer', [
      ['recipient', encodeAddress(to)],
      ['sender', encodeAddress(from)],
      ['amount', formatCoins(coins)],
    ]);
  }

  mint(store: KVStore, events: EventLog, to: Uint8Array, coins: Coin[]): void {
    for (const coin of coins) this.setSupply(store, coin.denom, this.supplyOf(store, coin.denom) + coin.amount);
    this.add(store, events, to, coins);
    events.emit('coinbase', [['minter', encodeAddress(to)], ['amount', formatCoins(coins)]]);
  }

  burn(store: KVStore, events: EventLog, from: Uint8Array, coins: Coin[]): void {
    this.subtract(store, events, from, coins);
    for (const coin of coins) this.setSupply(store, coin.denom, this.supplyOf(store, coin.denom) - coin.amount);
    events.emit('burn', [['burner', encodeAddress(from)], ['amount', formatCoins(coins)]]);
  }

  /** Genesis only: the holder of a genesis balance gets an account, as a recipient would. */
  ensureHolderAccount(store: KVStore, address: Uint8Array): void {
    this.accounts.ensureAccountExists(store, address);
  }

  /** Genesis only: sets a balance without touching supply (genesis supplies its own total, which is then checked). */
  setBalance(store: KVStore, address: Uint8Array, denom: string, amount: bigint): void {
    const key = balanceKeyString(address, denom);
    if (amount === 0n) this.view(store).deleteS(key);
    else this.view(store).setS(key, utf8Short(amount.toString()));
  }

  setSupply(store: KVStore, denom: string, amount: bigint): void {
    if (amount < 0n || amount > MAX_AMOUNT) throw sdkErrors.invalidCoins(`supply of ${denom} out of range: ${amount}`);
    if (amount === 0n) this.view(store).delete(keys.supply(denom));
    else this.view(store).set(keys.supply(denom), utf8(amount.toString()));
  }

  private subtract(store: KVStore, events: EventLog, address: Uint8Array, coins: Coin[]): void {
    for (const coin of coins) {
      const balance = this.balance(store, address, coin.denom);
      if (balance < coin.amount) {
        throw sdkErrors.insufficientFunds(`spendable balance ${balance}${coin.denom} is smaller than ${coin.amount}${coin.denom}`);
      }
      this.setBalance(store, address, coin.denom, balance - coin.amount);
    }
    if (events.enabled) events.emit('coin_spent', [['spender', encodeAddress(address)], ['amount', formatCoins(coins)]]);
  }

  private add(store: KVStore, events: EventLog, address: Uint8Array, coins: Coin[]): void {
    this.accounts.ensureAccountExists(store, address);
    for (const coin of coins) {
      const sum = this.balance(store, address, coin.denom) + coin.amount;
      if (sum > MAX_AMOUNT) throw sdkErrors.invalidCoins(`balance of ${coin.denom} would overflow 2^256-1`);
      this.setBalance(store, address, coin.denom, sum);
    }
    if (events.enabled) events.emit('coin_received', [['receiver', encodeAddress(address)], ['amount', formatCoins(coins)]]);
  }
}
