import { type Command, Option } from 'commander';
import { Keyring } from '../keys/keyring.ts';
import { type NodeHome, nodeHome } from '../node/home.ts';
import { printResult } from './output.ts';
import type { GlobalOptions } from './options.ts';

export type KeyringBackend = 'test' | 'file';

export const keyringOptions = {
  backend: () =>
    new Option('--keyring-backend <backend>', "'file' (encrypted; passphrase from $R3MES_KEYRING_PASSPHRASE) or 'test' (unencrypted, devnets only)")
      .choices(['file', 'test'])
      .default('file'),
};

export function openKeyring(home: NodeHome, backend: KeyringBackend): Keyring {
  const passphrase = process.env.R3MES_KEYRING_PASSPHRASE;
  if (backend === 'file' && (passphrase === undefined || passphrase === '')) {
    throw new Error("the 'file' keyring needs a passphrase: set R3MES_KEYRING_PASSPHRASE (or use --keyring-backend test on a devnet)");
  }
  return Keyring.open(home.keyringDir(backend), backend, passphrase);
}

export function registerKeysCommands(program: Command): void {
  const keys = program.command('keys').description('manage secp256k1 keys (BIP39 mnemonics) in the keyring');
  const keyring = (command: Command) => {
    const global = command.optsWithGlobals<GlobalOptions & { keyringBackend: KeyringBackend }>();
    return { ring: openKeyring(nodeHome(global.home), global.keyringBackend), output: global.output };
  };

  keys.command('add <name>').description('create a key; prints its mnemonic once: write it down')
    .addOption(keyringOptions.backend())
    .action(async (name: string, _opts: unknown, command: Command) => {
      const { ring, output } = keyring(command);
      printResult(await ring.add(name), output);
    });
  keys.command('import <name> <mnemonic>').description('import a key from a BIP39 mnemonic (quote it)')
    .addOption(keyringOptions.backend())
    .action(async (name: string, mnemonic: string, _opts: unknown, command: Command) => {
      const { ring, output } = keyring(command);
      printResult(await ring.import(name, mnemonic), output);
    });
  keys.command('list').description('list keys').addOption(keyringOptions.backend())
    .action(async (_opts: unknown, command: Command) => {
      const { ring, output } = keyring(command);
      printResult(await ring.list(), output);
    });
  keys.command('show <name>').description('show a key\'s address and public key').addOption(keyringOptions.backend())
    .action(async (name: string, _opts: unknown, command: Command) => {
      const { ring, output } = keyring(command);
      printResult(await ring.show(name), output);
    });
  keys.command('delete <name>').description('delete a key').addOption(keyringOptions.backend())
    .action(async (name: string, _opts: unknown, command: Command) => {
      const { ring, output } = keyring(command);
      await ring.delete(name);
      printResult({ deleted: name }, output);
    });
}
