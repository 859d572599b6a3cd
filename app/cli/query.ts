import type { Command } from 'commander';
import { QueryClient, setupBankExtension } from '@cosmjs/stargate';
import { connectComet, connectQueryClient } from '../client/index.ts';
import { decodeAddress } from '../core/address.ts';
import { printResult } from './output.ts';
import type { GlobalOptions } from './options.ts';

export function registerQueryCommands(program: Command): void {
  const query = program.command('query').alias('q').description('read chain state through a node\'s RPC');
  const withNode = (command: Command) => command.option('--node <url>', 'CometBFT RPC of a node', 'http://127.0.0.1:26657');

  const auth = query.command('auth').description('accounts');
  withNode(auth.command('account <address>').description('account number, sequence and public key'))
    .action(async (address: string, opts: { node: string }, command: Command) => {
      decodeAddress(address);
      const client = await connectQueryClient(opts.node);
      const account = await client.getAccount(address);
      if (account === null) throw new Error(`account ${address} not found on chain (it has never received coins)`);
      printResult({
        address: account.address, account_number: String(account.accountNumber), sequence: String(account.sequence),
        pub_key: account.pubkey === null ? null : account.pubkey.value,
      }, command.optsWithGlobals<GlobalOptions>().output);
      client.disconnect();
    });

  const bank = query.command('bank').description('balances and supply');
  withNode(bank.command('balances <address>').description('all balances of an address'))
    .action(async (address: string, opts: { node: string }, command: Command) => {
      decodeAddress(address);
      const client = await connectQueryClient(opts.node);
      const balances = await client.getAllBalances(address);
      printResult({ balances: balances.map((coin) => ({ denom: coin.denom, amount: coin.amount })) }, command.optsWithGlobals<GlobalOptions>().output);
      client.disconnect();
    });
  withNode(bank.command('total').description('total supply of every denom'))
    .action(async (opts: { node: string }, command: Command) => {
      const comet = await connectComet(opts.node);
      const supply = await QueryClient.withExtensions(comet, setupBankExtension).bank.totalSupply();
      printResult({ supply: supply.supply.map((coin) => ({ denom: coin.denom, amount: coin.amount })) }, command.optsWithGlobals<GlobalOptions>().output);
      comet.disconnect();
    });
}
