import type { Command } from 'commander';
import { calculateFee, GasPrice, type StdFee } from '@cosmjs/stargate';
import { connectSigningClient, DEFAULT_GAS_PRICE } from '../client/index.ts';
import { nodeHome } from '../node/home.ts';
import { decodeAddress } from '../core/address.ts';
import { parseCoinString } from '../core/coins.ts';
import { type KeyringBackend, keyringOptions, openKeyring } from './keys.ts';
import { printResult } from './output.ts';
import type { GlobalOptions } from './options.ts';

export interface TxOptions {
  node: string;
  gas: string;
  gasPrices: string;
  gasAdjustment: string;
  memo: string;
  keyringBackend: KeyringBackend;
}

/** Adds the options every tx command shares, in Cosmos habit. */
export function withTxOptions(command: Command): Command {
  return command
    .option('--node <url>', 'CometBFT RPC of a node', 'http://127.0.0.1:26657')
    .option('--gas <limit|auto>', "gas limit, or 'auto' to simulate first", 'auto')
    .option('--gas-prices <price>', 'price per unit of gas', DEFAULT_GAS_PRICE)
    .option('--gas-adjustment <factor>', "multiplier on simulated gas with --gas auto", '1.4')
    .option('--memo <text>', 'tx memo', '')
    .addOption(keyringOptions.backend());
}

export function fee(options: TxOptions): StdFee | number | 'auto' {
  if (options.gas === 'auto') return Number(options.gasAdjustment);
  if (!/^\d+$/.test(options.gas)) throw new Error(`--gas must be a number or 'auto', got "${options.gas}"`);
  return calculateFee(Number(options.gas), GasPrice.fromString(options.gasPrices));
}

export function registerTxCommands(program: Command): void {
  const tx = program.command('tx').description('sign and broadcast transactions');
  const bank = tx.command('bank').description('send coins');
  withTxOptions(bank.command('send <from-key> <to-address> <coins>').description('send coins, e.g. `tx bank send alice r3mes1... 1000ur3mes`'))
    .action(async (fromKey: string, to: string, coinsText: string, opts: TxOptions, command: Command) => {
      const global = command.optsWithGlobals<GlobalOptions>();
      decodeAddress(to, 'recipient');
      const coins = parseCoinString(coinsText).map((coin) => ({ denom: coin.denom, amount: coin.amount.toString() }));
      const ring = openKeyring(nodeHome(global.home), opts.keyringBackend);
      const from = (await ring.show(fromKey)).address;
      const client = await connectSigningClient(opts.node, await ring.signer(fromKey), opts.gasPrices);
      try {
        const result = await client.sendTokens(from, to, coins, fee(opts), opts.memo);
        printResult({
          txhash: result.transactionHash, height: String(result.height), code: result.code,
          ...(result.code !== 0 ? { raw_log: result.rawLog ?? '' } : {}),
          gas_wanted: String(result.gasWanted), gas_used: String(result.gasUsed),
        }, global.output);
        if (result.code !== 0) process.exitCode = 1;
      } finally {
        client.disconnect();
      }
    });
}
