import { QueryAccountRequest, QueryAccountResponse, QueryParamsResponse } from 'cosmjs-types/cosmos/auth/v1beta1/query';
import { BaseAccount } from 'cosmjs-types/cosmos/auth/v1beta1/auth';
import type { AppModule } from '../../app/core/module.ts';
import { sdkErrors } from '../../app/core/errors.ts';
import { decodeAddress, encodeAddress } from '../../app/core/address.ts';
import { accountToProto, type AuthKeeper, BASE_ACCOUNT_TYPE } from './keeper.ts';
import { type AuthParams, defaultAuthParams, validateAuthParams } from './params.ts';

export interface AuthGenesis {
  params: AuthParams;
  accounts: Array<{ address: string; account_number: string; sequence: string; pub_key: string | null }>;
}

export function authModule(auth: AuthKeeper): AppModule<AuthGenesis> {
  return {
    name: 'auth',
    msgs: [],
    queries: {
      '/cosmos.auth.v1beta1.Query/Account': (store, data) => {
        const request = QueryAccountRequest.decode(data);
        const account = auth.getAccount(store, decodeAddress(request.address));
        // CosmJS recognises a missing account by this gRPC-style text and returns null.
        if (account === undefined) throw sdkErrors.keyNotFound(`rpc error: code = NotFound desc = account ${request.address} not found`);
        const value = BaseAccount.encode(accountToProto(account)).finish();
        return QueryAccountResponse.encode({ account: { typeUrl: BASE_ACCOUNT_TYPE, value } }).finish();
      },
      '/cosmos.auth.v1beta1.Query/Params': (store) => {
        const params = auth.getParams(store);
        return QueryParamsResponse.encode({
          params: {
            maxMemoCharacters: BigInt(params.maxMemoCharacters),
            txSigLimit: 1n,
            txSizeCostPerByte: BigInt(params.txSizeCostPerByte),
            sigVerifyCostEd25519: 590n,
            sigVerifyCostSecp256k1: BigInt(params.sigVerifyCostSecp256k1),
          },
        }).finish();
      },
    },
    defaultGenesis: () => ({ params: { ...defaultAuthParams }, accounts: [] }),
    initGenesis(store, genesis) {
      const params = { ...defaultAuthParams, ...genesis.params };
      validateAuthParams(params);
      auth.setParams(store, params);
      let next = 0n;
      for (const entry of genesis.accounts) {
        const address = decodeAddress(entry.address, 'genesis account address');
        if (auth.getAccount(store, address) !== undefined) throw sdkErrors.invalidRequest(`genesis account ${entry.address} listed twice`);
        const accountNumber = BigInt(entry.account_number);
        const sequence = BigInt(entry.sequence);
        const pubkey = entry.pub_key === null ? undefined : new Uint8Array(Buffer.from(entry.pub_key, 'base64'));
        auth.setAccount(store, { address, accountNumber, sequence, pubkey });
        if (accountNumber >= next) next = accountNumber + 1n;
      }
      auth.setNextAccountNumber(store, next);
    },
    exportGenesis(store) {
      const accounts = [...auth.allAccounts(store)]
        .sort((a, b) => (a.accountNumber < b.accountNumber ? -1 : a.accountNumber > b.accountNumber ? 1 : 0))
        .map((account) => ({
          address: encodeAddress(account.address),
          account_number: account.accountNumber.toString(),
          sequence: account.sequence.toString(),
          pub_key: account.pubkey === undefined ? null : Buffer.from(account.pubkey).toString('base64'),
        }));
      return { params: auth.getParams(store), accounts };
    },
  };
}
