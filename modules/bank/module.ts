import {
  QueryAllBalancesRequest, QueryAllBalancesResponse, QueryBalanceRequest, QueryBalanceResponse,
  QuerySupplyOfRequest, QuerySupplyOfResponse, QueryTotalSupplyRequest, QueryTotalSupplyResponse,
} from 'cosmjs-types/cosmos/bank/v1beta1/query';
import type { AppModule } from '../../app/core/module.ts';
import { type Page, type PageRequest, paginate } from '../../app/core/pagination.ts';
import { utf8 } from '../../app/core/bytes.ts';
import { sdkErrors } from '../../app/core/errors.ts';
import { decodeAddress, encodeAddress } from '../../app/core/address.ts';
import { parseAmount, toProtoCoins, validateDenom } from '../../app/core/coins.ts';
import type { BankKeeper } from './keeper.ts';
import { msgSendHandler } from './msgs.ts';

/** Bank genesis: amounts as decimal strings, balances sorted by address, coins by denom. */
export interface BankGenesis {
  balances: Array<{ address: string; coins: Array<{ denom: string; amount: string }> }>;
  supply: Array<{ denom: string; amount: string }>;
}

/** A page of coins sorted by denom, keyed by the denom's bytes (as the Cosmos SDK's balance and supply stores). */
function coinsPage<C extends { denom: string }>(coins: C[], request: PageRequest | undefined): Page<C> {
  const byKey = new Map(coins.map((coin) => [coin.denom, coin]));
  const entries = coins.map((coin) => [utf8(coin.denom), new Uint8Array()] as [Uint8Array, Uint8Array]);
  return paginate(entries, request, (key) => byKey.get(Buffer.from(key).toString('utf8')));
}

export function bankModule(bank: BankKeeper): AppModule<BankGenesis> {
  return {
    name: 'bank',
    msgs: [msgSendHandler(bank) as AppModule['msgs'][number]],
    queries: {
      '/cosmos.bank.v1beta1.Query/Balance': (store, data) => {
        const request = QueryBalanceRequest.decode(data);
        const address = decodeAddress(request.address);
        validateDenom(request.denom);
        const amount = bank.balance(store, address, request.denom);
        return QueryBalanceResponse.encode({ balance: { denom: request.denom, amount: amount.toString() } }).finish();
      },
      // Paged as the Cosmos SDK pages them: by denom (next_key = the next denom's bytes).
      '/cosmos.bank.v1beta1.Query/AllBalances': (store, data) => {
        const request = QueryAllBalancesRequest.decode(data);
        const page = coinsPage(toProtoCoins(bank.allBalances(store, decodeAddress(request.address))), request.pagination);
        return QueryAllBalancesResponse.encode({ balances: page.items, pagination: page.pagination }).finish();
      },
      '/cosmos.bank.v1beta1.Query/TotalSupply': (store, data) => {
        const request = QueryTotalSupplyRequest.decode(data);
        const page = coinsPage(toProtoCoins(bank.totalSupply(store)), request.pagination);
        return QueryTotalSupplyResponse.encode({ supply: page.items, pagination: page.pagination }).finish();
      },
      '/cosmos.bank.v1beta1.Query/SupplyOf': (store, data) => {
        const request = QuerySupplyOfRequest.decode(data);
        validateDenom(request.denom);
        return QuerySupplyOfResponse.encode({ amount: { denom: request.denom, amount: bank.supplyOf(store, request.denom).toString() } }).finish();
      },
    },
    defaultGenesis: () => ({ balances: [], supply: [] }),
    initGenesis(store, genesis) {
      const totals = new Map<string, bigint>();
      let previousAddress = '';
      for (const entry of genesis.balances) {
        const address = decodeAddress(entry.address, 'genesis balance address');
        const hex = Buffer.from(address).toString('hex');
        if (hex <= previousAddress) throw sdkErrors.invalidRequest(`genesis balances must be sorted by address and unique (at ${entry.address})`);
        previousAddress = hex;
        bank.ensureHolderAccount(store, address);
        let previousDenom = '';
        for (const coin of entry.coins) {
          validateDenom(coin.denom);
          if (coin.denom <= previousDenom) throw sdkErrors.invalidCoins(`genesis coins of ${entry.address} must be sorted by denom and unique`);
          previousDenom = coin.denom;
          const amount = parseAmount(coin.amount, `genesis balance of ${entry.address}`);
          if (amount === 0n) throw sdkErrors.invalidCoins(`genesis balance of ${entry.address} in ${coin.denom} is zero`);
          bank.setBalance(store, address, coin.denom, amount);
          totals.set(coin.denom, (totals.get(coin.denom) ?? 0n) + amount);
        }
      }
      // The declared supply, when given, must equal the sum of balances: supply accounting is exact from block 0.
      if (genesis.supply.length > 0) {
        const declared = new Map(genesis.supply.map((coin) => [coin.denom, parseAmount(coin.amount, `genesis supply of ${coin.denom}`)]));
        const denoms = new Set([...declared.keys(), ...totals.keys()]);
        for (const denom of denoms) {
          if ((declared.get(denom) ?? 0n) !== (totals.get(denom) ?? 0n)) {
            throw sdkErrors.invalidCoins(`genesis supply of ${denom} is ${declared.get(denom) ?? 0n} but balances sum to ${totals.get(denom) ?? 0n}`);
          }
        }
      }
      for (const denom of [...totals.keys()].sort()) bank.setSupply(store, denom, totals.get(denom) ?? 0n);
    },
    exportGenesis(store) {
      const balances = [...bank.allHolders(store)]
        .map(({ address, coins }) => ({ address: encodeAddress(address), raw: address, coins: toProtoCoins(coins) }))
        .sort((a, b) => Buffer.compare(a.raw, b.raw))
        .map(({ address, coins }) => ({ address, coins }));
      return { balances, supply: toProtoCoins(bank.totalSupply(store)) };
    },
  };
}
