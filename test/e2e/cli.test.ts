import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { R3MESD, cometbftBinary, startDevNode } from '../helpers/devnode.ts';
import { testKey } from '../helpers/txs.ts';
import type { AddressInfo } from 'node:net';
import { RpcChainReader } from '../../worker/src/chain/client.ts';
import { withAnnouncedLocations } from '../../worker/src/cli/common.ts';
import { FileBlockstore } from '../../worker/src/storage/blockstore.ts';
import { buildGateway } from '../../worker/src/storage/gateway.ts';

const run = promisify(execFile);

/** Runs r3mesd and returns stdout, or the error's stderr and exit code. */
async function r3mesd(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(R3MESD, args, { env: { ...process.env, COMETBFT: cometbftBinary(), ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? 1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

t.test('r3mesd keys, tx bank send and queries against a running node', async (t) => {
  const keyHome = mkdtempSync(join(tmpdir(), 'r3mes-cli-'));
  t.teardown(() => rmSync(keyHome, { recursive: true, force: true }));

  const added = await r3mesd(['keys', 'add', 'carol', '--home', keyHome, '--keyring-backend', 'test', '--output', 'json']);
  t.equal(added.code, 0, added.stderr);
  const carol = JSON.parse(added.stdout) as { address: string; mnemonic: string };
  t.match(carol.address, /^r3mes1/);
  t.equal(carol.mnemonic.split(' ').length, 24, '24-word mnemonic');

  const duplicate = await r3mesd(['keys', 'add', 'carol', '--home', keyHome, '--keyring-backend', 'test']);
  t.not(duplicate.code, 0, 'adding a key name twice fails');
  t.match(duplicate.stderr, /carol/, 'and says which name');

  const listed = JSON.parse((await r3mesd(['keys', 'list', '--home', keyHome, '--keyring-backend', 'test', '-o', 'json'])).stdout) as Array<{ name: string }>;
  t.same(listed.map((key) => key.name), ['carol']);

  const noPass = await r3mesd(['keys', 'add', 'dave', '--home', keyHome, '--keyring-backend', 'file'], { R3MES_KEYRING_PASSPHRASE: '' });
  t.not(noPass.code, 0, 'file keyring without a passphrase fails');
  t.match(noPass.stderr, /R3MES_KEYRING_PASSPHRASE/, 'and says how to give one');

  const node = await startDevNode({ accounts: [{ address: carol.address, coins: '3000000ur3mes' }] });
  t.teardown(() => node.stop());
  const bob = await testKey(2);

  const sent = await r3mesd(['tx', 'bank', 'send', 'carol', bob.address, '777ur3mes', '--home', keyHome, '--keyring-backend', 'test', '--node', node.rpcUrl, '-o', 'json']);
  t.equal(sent.code, 0, sent.stderr);
  const result = JSON.parse(sent.stdout) as { code: number; txhash: string };
  t.equal(result.code, 0);
  t.match(result.txhash, /^[0-9A-F]{64}$/);

  const balances = JSON.parse((await r3mesd(['query', 'bank', 'balances', bob.address, '--node', node.rpcUrl, '-o', 'json'])).stdout) as { balances: Array<{ amount: string }> };
  t.same(balances.balances, [{ denom: 'ur3mes', amount: '777' }]);
  const account = JSON.parse((await r3mesd(['q', 'auth', 'account', carol.address, '--node', node.rpcUrl, '-o', 'json'])).stdout) as { sequence: string };
  t.equal(account.sequence, '1');
  const text = await r3mesd(['query', 'bank', 'balances', bob.address, '--node', node.rpcUrl]);
  t.match(text.stdout, /amount: 777/, 'text output for people');

  const broke = await r3mesd(['tx', 'bank', 'send', 'carol', bob.address, '99999999ur3mes', '--home', keyHome, '--keyring-backend', 'test', '--node', node.rpcUrl]);
  t.not(broke.code, 0, 'sending more than the balance fails');
  t.match(broke.stderr, /insufficient funds/);
  const badAddress = await r3mesd(['tx', 'bank', 'send', 'carol', 'r3mes1notanaddress', '1ur3mes', '--home', keyHome, '--keyring-backend', 'test', '--node', node.rpcUrl]);
  t.not(badAddress.code, 0);
  t.match(badAddress.stderr, /invalid recipient/);
  const badCoins = await r3mesd(['tx', 'bank', 'send', 'carol', bob.address, 'lots', '--home', keyHome, '--keyring-backend', 'test', '--node', node.rpcUrl]);
  t.match(badCoins.stderr, /amount followed by a denom/);
});

t.test('operators who share no gateway: a miner announces its gateway on chain, another operator fetches its content from there', async (t) => {
  const keyHome = mkdtempSync(join(tmpdir(), 'r3mes-cli-loc-'));
  const stores = mkdtempSync(join(tmpdir(), 'r3mes-stores-'));
  t.teardown(() => { rmSync(keyHome, { recursive: true, force: true }); rmSync(stores, { recursive: true, force: true }); });
  const erin = JSON.parse((await r3mesd(['keys', 'add', 'erin', '--home', keyHome, '--keyring-backend', 'test', '--output', 'json'])).stdout) as { address: string };
  const node = await startDevNode({ accounts: [{ address: erin.address, coins: '3000000ur3mes' }] });
  t.teardown(() => node.stop());
  const tx = (args: string[]) => r3mesd(['tx', 'staking', args[0], 'erin', ...args.slice(1), '--home', keyHome, '--keyring-backend', 'test', '--node', node.rpcUrl, '-o', 'json']);

  // The miner's own store and gateway (only it writes there; the other operator has its own store).
  const minerStore = await FileBlockstore.open(join(stores, 'miner'));
  const gateway = await buildGateway({ store: minerStore, upload: false });
  await gateway.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => gateway.close());
  const url = `http://127.0.0.1:${(gateway.server.address() as AddressInfo).port}`;
  const delta = new TextEncoder().encode('a delta only the miner has');
  const cid = await minerStore.put(delta);

  const refused = await tx(['set-content-locations', url]);
  t.not(refused.code, 0, 'an account that is neither miner nor validator cannot announce');
  t.match(refused.stderr + refused.stdout, /neither a registered miner nor a validator/);
  const registered = await tx(['register-miner', '1000000', 'cpu', 'cpu']);
  t.equal(registered.code, 0, registered.stderr);
  const bad = await tx(['set-content-locations', 'ftp://somewhere']);
  t.not(bad.code, 0, 'a location that is not a gateway URL or a peer multiaddr is refused');
  const peer = '/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA';
  const announced = await tx(['set-content-locations', `${url},${peer}`]);
  t.equal(announced.code, 0, announced.stderr);
  const query = JSON.parse((await r3mesd(['query', 'staking', 'content-locations', erin.address, '--node', node.rpcUrl, '-o', 'json'])).stdout) as { entry: { locations: string[] } };
  t.same(query.entry.locations, [url, peer], 'the query shows the announced locations');

  // The other operator: its own empty store, the chain's list through the worker's chain reader.
  const chain = await RpcChainReader.connect(node.rpcUrl);
  t.teardown(() => chain.disconnect());
  const ownStore = await FileBlockstore.open(join(stores, 'verifier'));
  await t.rejects(ownStore.get(cid), /not/i, 'the verifier\'s own store lacks the delta');
  const lines: string[] = [];
  const store = withAnnouncedLocations(ownStore, chain, [], (l) => lines.push(l));
  t.same(await store.get(cid), delta, 'fetched through the miner\'s announced gateway, checked against its CID');
  t.match(lines.join('\n'), new RegExp(`fetched from ${url}`), 'and says where from');
  t.ok(await ownStore.has(cid), 'and kept in the verifier\'s store');
});

t.test('r3mesd --help on every command and a clear error for an unknown one', async (t) => {
  for (const command of [[], ['init'], ['start'], ['keys'], ['keys', 'add'], ['tx', 'bank', 'send'], ['query', 'bank', 'balances'], ['genesis', 'add-account'], ['export']]) {
    const help = await r3mesd([...command, '--help']);
    t.equal(help.code, 0, `${command.join(' ') || 'r3mesd'} --help`);
    t.match(help.stdout, /Usage: r3mesd/);
  }
  const unknown = await r3mesd(['frobnicate']);
  t.not(unknown.code, 0);
  t.match(unknown.stderr, /unknown command/);
  const version = await r3mesd(['version']);
  t.match(version.stdout, /^\d+\.\d+\.\d+/);
});
