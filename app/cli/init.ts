import type { Command } from 'commander';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cometbftInit, findCometbft } from '../node/cometbft.ts';
import { setTomlValues } from '../node/comet-config.ts';
import { addGenesisAccount, type GenesisDoc, readGenesis, writeGenesis } from '../../genesis/file.ts';
import { defaultAbciAddress, nodeHome } from '../node/home.ts';
import { addGenesisValidator } from '../../genesis/validator.ts';
import { readValidatorKeys } from '../node/validator-keys.ts';
import { buildModules } from '../modules.ts';
import { defaultAppState, validateAppState } from '../../genesis/app-state.ts';
import { R3mesApp } from '../app.ts';
import { CommitStore } from '../store/commit-store.ts';
import { parseCoinString } from '../core/coins.ts';
import { decodeAddress } from '../core/address.ts';
import { openKeyring, keyringOptions } from './keys.ts';
import { DEFAULT_MAX_GAS } from '../block-gas.ts';
import { printResult } from './output.ts';
import type { GlobalOptions } from './options.ts';

export function registerInitCommands(program: Command): void {
  program
    .command('init <moniker>')
    .description('create a node home: CometBFT config, keys and genesis with the app\'s default state')
    .requiredOption('--chain-id <id>', 'chain id written into genesis')
    .option('--overwrite', 'delete an existing config/ and data/ first', false)
    .option('--abci <addr>', 'address the app serves ABCI on, written as CometBFT\'s proxy_app (default unix://<home>/abci.sock; TCP: tcp://127.0.0.1:26658)')
    .option('--rpc-laddr <addr>', 'CometBFT RPC listen address', 'tcp://127.0.0.1:26657')
    .option('--p2p-laddr <addr>', 'CometBFT P2P listen address', 'tcp://0.0.0.0:26656')
    .option('--timeout-commit <duration>', 'CometBFT timeout_commit (block interval)', '1s')
    .action((moniker: string, opts: { chainId: string; overwrite: boolean; abci?: string; rpcLaddr: string; p2pLaddr: string; timeoutCommit: string }, command: Command) => {
      const global = command.optsWithGlobals<GlobalOptions>();
      const home = nodeHome(global.home);
      if (!/^[a-zA-Z0-9][a-zA-Z0-9._-]{0,49}$/.test(opts.chainId)) throw new Error(`chain id "${opts.chainId}" must be 1-50 letters, digits, '.', '_' or '-'`);
      if (opts.abci === undefined && Buffer.byteLength(home.abciSocket) > 103) {
        throw new Error(`the ABCI socket ${home.abciSocket} is a path over 103 bytes (the kernel's limit): pass --abci unix:///a/shorter/path or --abci tcp://127.0.0.1:26658`);
      }
      if (opts.overwrite) for (const dir of ['config', 'data']) rmSync(join(home.root, dir), { recursive: true, force: true });
      cometbftInit(findCometbft(), home.root);
      const doc = readGenesis(home.genesisJson);
      doc.chain_id = opts.chainId;
      doc.app_state = defaultAppState(buildModules().modules);
      setBlockMaxGas(doc, DEFAULT_MAX_GAS); // app/block-gas.ts: the app enforces it
      writeGenesis(home.genesisJson, doc);
      const config = setTomlValues(readFileSync(home.configToml, 'utf8'), [
        ['', 'moniker', moniker],
        ['', 'proxy_app', opts.abci ?? defaultAbciAddress(home)],
        ['rpc', 'laddr', opts.rpcLaddr],
        ['p2p', 'laddr', opts.p2pLaddr],
        ['consensus', 'timeout_commit', opts.timeoutCommit],
        ['tx_index', 'indexer', 'kv'],
      ]);
      writeFileSync(home.configToml, config);
      printResult({ moniker, chain_id: opts.chainId, home: home.root, genesis: home.genesisJson, abci: opts.abci ?? defaultAbciAddress(home) }, global.output);
    });

  const genesis = program.command('genesis').description('edit and check genesis.json');
  genesis
    .command('add-account <address-or-key> <coins>')
    .description('fund an account at genesis, e.g. `genesis add-account alice 1000000ur3mes`')
    .addOption(keyringOptions.backend())
    .action(async (who: string, coinsText: string, opts: { keyringBackend: 'test' | 'file' }, command: Command) => {
      const global = command.optsWithGlobals<GlobalOptions>();
      const home = nodeHome(global.home);
      let address = who;
      if (!who.startsWith('r3mes1')) address = (await openKeyring(home, opts.keyringBackend).show(who)).address;
      decodeAddress(address);
      const doc = readGenesis(home.genesisJson);
      addGenesisAccount(doc, address, parseCoinString(coinsText));
      writeGenesis(home.genesisJson, doc);
      printResult({ address, coins: coinsText }, global.output);
    });
  genesis
    .command('add-validator <address-or-key> <self-stake>')
    .description("make this node's consensus key a genesis validator bonding <self-stake> (e.g. 100000000ur3mes) of the operator's genesis balance; creates config/vrf_key.json")
    .option('--moniker <name>', 'validator name', 'validator')
    .option('--commission-rate <rate>', 'commission, a decimal in [0, 1]', '0.1')
    .addOption(keyringOptions.backend())
    .action(async (who: string, stakeText: string, opts: { moniker: string; commissionRate: string; keyringBackend: 'test' | 'file' }, command: Command) => {
      const global = command.optsWithGlobals<GlobalOptions>();
      const home = nodeHome(global.home);
      const operator = who.startsWith('r3mes1') ? who : (await openKeyring(home, opts.keyringBackend).show(who)).address;
      const [stake] = parseCoinString(stakeText);
      if (stake === undefined) throw new Error('self-stake must be an amount like 100000000ur3mes');
      const doc = readGenesis(home.genesisJson);
      addGenesisValidator(doc, operator, stake.amount, opts.moniker, readValidatorKeys(home.root), opts.commissionRate);
      validateAppState(buildModules().modules, doc.app_state ?? {});
      writeGenesis(home.genesisJson, doc);
      printResult({ operator, self_stake: stakeText, moniker: opts.moniker }, global.output);
    });
  genesis
    .command('validate')
    .description('check genesis.json the way InitChain will')
    .action((_opts: unknown, command: Command) => {
      const global = command.optsWithGlobals<GlobalOptions>();
      const doc = readGenesis(nodeHome(global.home).genesisJson);
      validateAppState(buildModules().modules, doc.app_state ?? {});
      printResult({ valid: true, chain_id: doc.chain_id }, global.output);
    });

  program
    .command('export')
    .description('write the committed app state as genesis app_state JSON (stop the node first)')
    .action(async (_opts: unknown, command: Command) => {
      const global = command.optsWithGlobals<GlobalOptions>();
      const store = await CommitStore.open(nodeHome(global.home).appDb);
      try {
        const app = new R3mesApp(store);
        const exported = { chain_id: app.chainId, height: store.lastHeight.toString(), app_hash: Buffer.from(store.lastAppHash).toString('hex').toUpperCase(), app_state: app.exportGenesis() };
        process.stdout.write(JSON.stringify(exported, null, 2) + '\n');
      } finally {
        await store.close();
      }
    });
}

/** consensus_params.block.max_gas of a genesis doc (CometBFT writes it as a decimal string). */
function setBlockMaxGas(doc: GenesisDoc, maxGas: bigint): void {
  const params = (doc.consensus_params ?? {}) as { block?: Record<string, unknown> };
  params.block = { ...params.block, max_gas: maxGas.toString() };
  doc.consensus_params = params;
}
