import { Command, Option } from 'commander';
import { APP_VERSION } from '../app.ts';
import { DEFAULT_HOME } from '../node/home.ts';
import { fail } from './output.ts';
import { registerInitCommands } from './init.ts';
import { registerKeysCommands } from './keys.ts';
import { registerNodeCommands } from './node.ts';
import { registerTxCommands } from './tx.ts';
import { registerQueryCommands } from './query.ts';
import { registerModuleCommands } from './module-commands.ts';
import { moduleInterfaces } from '../interfaces.ts';

const program = new Command('r3mesd')
  .description('R3MES node: a Cosmos-style chain for verifiable AI training, run beside CometBFT')
  .version(APP_VERSION, '-v, --version', 'print the version')
  .addOption(new Option('--home <dir>', 'node home directory').default(DEFAULT_HOME))
  .addOption(new Option('-o, --output <format>', 'output format').choices(['json', 'text']).default('text'))
  .showHelpAfterError('(run with --help for usage)');

program.command('version').description('print the app version').action(() => {
  process.stdout.write(`${APP_VERSION}\n`);
});

registerInitCommands(program);
registerNodeCommands(program);
registerKeysCommands(program);
registerTxCommands(program);
registerQueryCommands(program);
registerModuleCommands(program, moduleInterfaces());


program.parseAsync(process.argv).catch((error: unknown) => fail(error instanceof Error ? error.message : String(error)));
