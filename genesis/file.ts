import { readFileSync, writeFileSync } from 'node:fs';
import type { AuthGenesis } from '../modules/auth/module.ts';
import type { BankGenesis } from '../modules/bank/module.ts';
import { decodeAddress } from '../app/core/address.ts';
import { type Coin, MAX_AMOUNT } from '../app/core/coins.ts';

/** CometBFT's genesis.json, of which the app owns `app_state`. */
export interface GenesisDoc {
  genesis_time: string;
  chain_id: string;
  initial_height: string;
  app_hash: string;
  app_state?: { auth?: AuthGenesis; bank?: BankGenesis; [module: string]: unknown };
  [field: string]: unknown;
}

export function readGenesis(path: string): GenesisDoc {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read genesis ${path}: ${(error as Error).message} (run \`r3mesd init\` first)`);
  }
  try {
    return JSON.parse(text) as GenesisDoc;
  } catch (error) {
    throw new Error(`genesis ${path} is not valid JSON: ${(error as Error).message}`);
  }
}

export function writeGenesis(path: string, doc: GenesisDoc): void {
  writeFileSync(path, JSON.stringify(doc, null, 2) + '\n');
}

/**
 * Adds an account with coins to the genesis app state, keeping accounts
 * numbered in order, balances sorted by address and the supply equal to the
 * sum of balances.
 */
export function addGenesisAccount(doc: GenesisDoc, address: string, coins: Coin[]): void {
  decodeAddress(address);
  const state = (doc.app_state ??= {});
  const auth = (state.auth ??= { params: undefined as never, accounts: [] });
  const bank = (state.bank ??= { balances: [], supply: [] });
  if (auth.accounts.some((account) => account.address === address)) throw new Error(`genesis already has account ${address}`);
  auth.accounts.push({ address, account_number: String(auth.accounts.length), sequence: '0', pub_key: null });
  bank.balances.push({ address, coins: coins.map((c) => ({ denom: c.denom, amount: c.amount.toString() })) });
  bank.balances.sort((a, b) => Buffer.compare(decodeAddress(a.address), decodeAddress(b.address)));
  const totals = new Map<string, bigint>();
  for (const balance of bank.balances) {
    for (const coin of balance.coins) totals.set(coin.denom, (totals.get(coin.denom) ?? 0n) + BigInt(coin.amount));
  }
  for (const [denom, total] of totals) if (total > MAX_AMOUNT) throw new Error(`genesis supply of ${denom} would overflow 2^256-1`);
  bank.supply = [...totals.keys()].sort().map((denom) => ({ denom, amount: String(totals.get(denom)) }));
}
