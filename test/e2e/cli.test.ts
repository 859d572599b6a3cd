import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { R3MESD, cometbftBinary, startDevNode } from '../helpers/devnode.ts';
import { testKey } from '../helpers/txs.ts';

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

  const node = await startDevNode({ accounts: [{ address: carol.address, coins: '1000000ur3mes' }] });
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
