/**
 * Entry of `npm run localnet` (scripts/localnet runs it after installing what is missing): builds
 * the network with test/helpers/localnet.ts in .localnet/, starts every node, prints endpoints,
 * and stops all nodes on Ctrl-C (SIGINT) or SIGTERM.
 */
import { parseArgs } from 'node:util';
import { join, resolve } from 'node:path';
import { createLocalnet, removeLocalnet, type LocalnetNode } from '../test/helpers/localnet.ts';

const { values } = parseArgs({
  options: {
    validators: { type: 'string', default: '4' },
    'timeout-commit': { type: 'string', default: '1s' },
    'base-port': { type: 'string', default: '26656' },
    'rest-base-port': { type: 'string', default: '1317' },
  },
});
const root = resolve(import.meta.dirname, '..');
const dir = join(root, '.localnet');
const validators = Number(values.validators);
if (!Number.isInteger(validators) || validators < 1 || validators > 10) throw new Error('--validators must be 1..10');

const say = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);
removeLocalnet(dir);
say(`writing a ${validators}-validator network into ${dir} ...`);
const net = await createLocalnet({
  dir, validators, chainId: 'r3mes-localnet-1', timeoutCommit: values['timeout-commit'],
  basePort: Number(values['base-port']), restBasePort: Number(values['rest-base-port']),
  keys: [{ name: 'alice', coins: '1000000000000ur3mes' }, { name: 'bob', coins: '1000000000000ur3mes' }],
  log: say,
});

let stopping = false;
const stop = async (why: string) => {
  if (stopping) return;
  stopping = true;
  say(`${why}: stopping all nodes ...`);
  await net.stopAll('SIGTERM');
  say('stopped');
  process.exit(0);
};
process.once('SIGINT', () => void stop('SIGINT'));
process.once('SIGTERM', () => void stop('SIGTERM'));

net.startAll();
for (const node of net.nodes) {
  node.process?.once('exit', (code, signal) => {
    if (!stopping) say(`${node.name}: r3mesd exited (code ${code}, signal ${signal}); see ${node.home}/app.log and cometbft.log`);
  });
}
const quorum = Math.floor((2 * validators) / 3) + 1;
say(`waiting for the first blocks (they start once ${quorum} of ${validators} validators are up) ...`);
await net.waitForHeight(1n, 120_000).catch((error: Error) => say(`warning: ${error.message}`));

const row = (node: LocalnetNode) =>
  `  ${node.name}  RPC ${node.rpcUrl}  REST ${node.restUrl}  ABCI ${node.abci}  P2P 127.0.0.1:${node.p2pPort}  home ${node.home}`;
const [alice, bob] = net.keys;
process.stdout.write(`
R3MES localnet (${net.chainId}), ${validators} validators in ${dir}
${net.nodes.map(row).join('\n')}
  funded keys   alice ${alice.address}
                bob   ${bob.address}
                (keyring-backend test in ${net.nodes[0].home})
  logs          NODEHOME/app.log, NODEHOME/cometbft.log
Try, in another terminal:
  bin/r3mesd tx bank send alice ${bob.address} 1000ur3mes --home ${net.nodes[0].home} --keyring-backend test --node ${net.nodes[0].rpcUrl}
  curl ${net.nodes[1].restUrl}/cosmos/bank/v1beta1/balances/${bob.address}
Ctrl-C stops all nodes.
`);
