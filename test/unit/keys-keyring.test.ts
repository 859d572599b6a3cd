/**
 * The keyring behind `r3mesd keys`: add, import, list, show, delete and
 * signer on both backends, addresses equal to CosmJS's, and the file backend
 * never writing a mnemonic in clear.
 */
import t, { type Test } from 'tap';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirectSecp256k1HdWallet, makeSignDoc } from '@cosmjs/proto-signing';
import { Secp256k1, Secp256k1Signature, sha256 } from '@cosmjs/crypto';
import { SignDoc } from 'cosmjs-types/cosmos/tx/v1beta1/tx';
import { Keyring, KeyringError, type KeyringBackend, type KeyringErrorCode } from '../../app/keys/index.ts';

// A valid 24-word BIP-39 mnemonic (the all-"abandon" test vector ending in "art").
const knownMnemonic = `${'abandon '.repeat(23)}art`;
const passphrase = 'correct horse battery staple';
// Fast scrypt for tests; the default (2^15) is exercised once below.
const fast = { scryptLogN: 10 };

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'r3mes-keys-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'keyring');
}

type Tap = Test;

async function rejectsWith(t: Tap, promise: Promise<unknown>, code: KeyringErrorCode, pattern: RegExp, label: string): Promise<void> {
  try {
    await promise;
    t.fail(`${label}: expected KeyringError ${code}`);
  } catch (err) {
    t.ok(err instanceof KeyringError, `${label}: a KeyringError`);
    t.equal((err as KeyringError).code, code, `${label}: code ${code}`);
    t.match((err as Error).message, pattern, `${label}: message`);
  }
}

async function cosmjsAddress(mnemonic: string): Promise<{ address: string; pubkey: string }> {
  const wallet = await DirectSecp256k1HdWallet.fromMnemonic(mnemonic, { prefix: 'r3mes' });
  const [account] = await wallet.getAccounts();
  return { address: account!.address, pubkey: Buffer.from(account!.pubkey).toString('base64') };
}

for (const backend of ['test', 'file'] as KeyringBackend[]) {
  t.test(`${backend} backend: add, import, list, show, delete`, async (t) => {
    const dir = tempDir(t);
    const keyring = Keyring.open(dir, backend, backend === 'file' ? passphrase : undefined, fast);

    t.same(await keyring.list(), [], 'a new keyring is empty');

    const alice = await keyring.add('alice');
    t.equal(alice.name, 'alice');
    t.match(alice.address, /^r3mes1[02-9ac-hj-np-z]{38}$/, 'a 20-byte r3mes address');
    t.equal(alice.mnemonic.split(' ').length, 24, '24-word mnemonic');
    t.same(await cosmjsAddress(alice.mnemonic), { address: alice.address, pubkey: alice.pubkey }, 'address and pubkey equal CosmJS HD wallet');
    t.equal(Buffer.from(alice.pubkey, 'base64').length, 33, 'compressed pubkey');
    t.equal(alice.hdPath, "m/44'/118'/0'/0/0");

    const bob = await keyring.import('bob', knownMnemonic);
    t.same(await cosmjsAddress(knownMnemonic), { address: bob.address, pubkey: bob.pubkey }, 'imported key equals CosmJS');
    t.notOk('mnemonic' in bob, 'import does not echo the mnemonic');

    const listed = await keyring.list();
    t.same(listed.map((k) => k.name), ['alice', 'bob'], 'list is sorted by name');
    t.notOk(listed.some((k) => 'mnemonic' in k), 'list shows no mnemonic');
    t.same(await keyring.show('bob'), listed[1], 'show by name');
    t.same(await keyring.show(bob.address), listed[1], 'show by address');

    // The signer signs with the stored key.
    const signer = await keyring.signer('bob');
    const [account] = await signer.getAccounts();
    t.equal(account!.address, bob.address, 'signer address');
    const signDoc = makeSignDoc(new Uint8Array([1, 2, 3]), new Uint8Array([4, 5]), 'r3mes-test', 7);
    const { signature } = await signer.signDirect(bob.address, signDoc);
    const valid = await Secp256k1.verifySignature(
      Secp256k1Signature.fromFixedLength(Buffer.from(signature.signature, 'base64')),
      sha256(SignDoc.encode(signDoc).finish()),
      Buffer.from(bob.pubkey, 'base64'),
    );
    t.ok(valid, 'SIGN_MODE_DIRECT signature verifies against the listed pubkey');
    t.equal(await keyring.exportMnemonic('bob'), knownMnemonic, 'mnemonic can be recovered with the right credentials');

    // A second instance over the same directory sees the same keys.
    const reopened = Keyring.open(dir, backend, backend === 'file' ? passphrase : undefined, fast);
    t.same(await reopened.list(), listed, 'keys persist across opens');

    await rejectsWith(t, keyring.add('alice'), 'key-exists', /"alice" already exists/, 'duplicate name (add)');
    await rejectsWith(t, keyring.import('alice', knownMnemonic), 'key-exists', /"alice" already exists/, 'duplicate name (import)');
    await rejectsWith(t, keyring.import('carol', knownMnemonic), 'key-exists', /already exists as "bob"/, 'same mnemonic under another name');
    await rejectsWith(t, keyring.show('nobody'), 'key-not-found', /"nobody" not found/, 'show unknown name');
    await rejectsWith(t, keyring.delete('nobody'), 'key-not-found', /"nobody" not found/, 'delete unknown name');
    await rejectsWith(t, keyring.signer('nobody'), 'key-not-found', /"nobody" not found/, 'signer of unknown name');
    await rejectsWith(t, keyring.show('r3mes1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqpyvajc'), 'key-not-found', /no key with address/, 'show unknown address');
    for (const bad of ['', '../evil', 'a/b', '.hidden', 'x'.repeat(65), 'sp ace', 'ünï']) {
      await rejectsWith(t, keyring.add(bad), 'invalid-name', /invalid key name/, `invalid name ${JSON.stringify(bad)}`);
    }
    await rejectsWith(t, keyring.import('dave', 'abandon abandon abandon'), 'invalid-mnemonic', /invalid mnemonic/, 'too few words');
    await rejectsWith(t, keyring.import('dave', `${'abandon '.repeat(23)}abandon`), 'invalid-mnemonic', /invalid mnemonic/, 'bad checksum');
    await rejectsWith(t, keyring.import('dave', `${'abandon '.repeat(23)}zzzz`), 'invalid-mnemonic', /invalid mnemonic/, 'unknown word');

    // Import normalizes case and spacing.
    await keyring.delete('bob');
    const again = await keyring.import('bob2', `  ${knownMnemonic.toUpperCase().replace(/ /g, '   ')}\n`);
    t.equal(again.address, bob.address, 'import normalizes case and whitespace');

    await keyring.delete('alice');
    t.same((await keyring.list()).map((k) => k.name), ['bob2'], 'delete removes the key');
    await rejectsWith(t, keyring.show('alice'), 'key-not-found', /not found/, 'deleted key is gone');

    // Permissions.
    t.equal(statSync(dir).mode & 0o777, 0o700, 'keyring directory is 0700');
    for (const entry of readdirSync(dir)) {
      t.equal(statSync(join(dir, entry)).mode & 0o777, 0o600, `${entry} is 0600`);
    }
    t.notOk(readdirSync(dir).some((entry) => entry.endsWith('.tmp')), 'no temporary files left behind');
  });
}

t.test('file backend keeps no mnemonic in clear', async (t) => {
  const dir = tempDir(t);
  const keyring = Keyring.open(dir, 'file', passphrase, fast);
  const added = await keyring.add('alice');
  await keyring.import('bob', knownMnemonic);
  const words = [...new Set([...added.mnemonic.split(' '), 'abandon', 'art'])];
  for (const entry of readdirSync(dir)) {
    const text = readFileSync(join(dir, entry), 'utf8');
    t.notOk(text.includes(added.mnemonic) || text.includes(knownMnemonic), `${entry}: no mnemonic`);
    // Field names and the fixed vocabulary of some values are not secrets: a random mnemonic may
    // contain a BIP39 word such as "version" or "local" (the key's type). Look for words in the
    // file's other values only.
    const values = text.replace(/"(type|kind|kdf|cipher)"\s*:\s*"[^"]*"/g, '').replace(/"[A-Za-z_]+"\s*:/g, ':');
    const leaked = words.filter((w) => new RegExp(`\\b${w}\\b`).test(values));
    t.same(leaked, [], `${entry}: no mnemonic word`);
    t.notOk(text.includes(passphrase), `${entry}: no passphrase`);
  }
  const file = JSON.parse(readFileSync(join(dir, 'alice.json'), 'utf8')) as { secret: Record<string, unknown> };
  t.match(file.secret, { kind: 'encrypted', kdf: 'scrypt', cipher: 'aes-256-gcm', kdf_params: { log_n: 10, r: 8, p: 1 } }, 'parameters are in the file');
  const other = JSON.parse(readFileSync(join(dir, 'bob.json'), 'utf8')) as { secret: { nonce: string; kdf_params: { salt: string } } };
  t.not(other.secret.nonce, (file.secret as { nonce: string }).nonce, 'fresh nonce per key');
  t.not(other.secret.kdf_params.salt, (file.secret.kdf_params as { salt: string }).salt, 'fresh salt per key');
});

t.test('file backend: wrong passphrase fails clearly', async (t) => {
  const dir = tempDir(t);
  const right = Keyring.open(dir, 'file', passphrase, fast);
  const alice = await right.import('alice', knownMnemonic);

  const wrong = Keyring.open(dir, 'file', 'not the passphrase', fast);
  await rejectsWith(t, wrong.signer('alice'), 'wrong-passphrase', /wrong passphrase/, 'signer');
  await rejectsWith(t, wrong.exportMnemonic('alice'), 'wrong-passphrase', /wrong passphrase/, 'export');
  await rejectsWith(t, wrong.add('bob'), 'wrong-passphrase', /wrong passphrase/, 'add refuses to mix passphrases');
  t.same((await wrong.list()).map((k) => k.address), [alice.address], 'list needs no secret');

  // A key file moved to another name does not decrypt (name and address are authenticated).
  const moved = JSON.parse(readFileSync(join(dir, 'alice.json'), 'utf8')) as { name: string };
  moved.name = 'mallory';
  writeFileSync(join(dir, 'mallory.json'), JSON.stringify(moved), { mode: 0o600 });
  await rejectsWith(t, right.signer('mallory'), 'wrong-passphrase', /wrong passphrase \(or the key file was altered\)/, 'tampered file');

  t.throws(() => Keyring.open(dir, 'file'), { code: 'passphrase-required' }, 'file backend without a passphrase');
  t.throws(() => Keyring.open(dir, 'file', ''), { code: 'passphrase-required' }, 'empty passphrase');
  await rejectsWith(t, Keyring.open(tempDir(t), 'file', 'short', fast).add('x'), 'passphrase-required', /at least 8/, 'short passphrase for a new keyring');
});

t.test('backends do not read each other\'s secrets', async (t) => {
  const dir = tempDir(t);
  await Keyring.open(dir, 'file', passphrase, fast).import('enc', knownMnemonic);
  await rejectsWith(t, Keyring.open(dir, 'test').signer('enc'), 'backend-mismatch', /encrypted/, 'test backend on an encrypted key');
  const plainDir = tempDir(t);
  await Keyring.open(plainDir, 'test').import('plain', knownMnemonic);
  await rejectsWith(t, Keyring.open(plainDir, 'file', passphrase, fast).signer('plain'), 'backend-mismatch', /unencrypted/, 'file backend on a plain key');
  t.throws(() => Keyring.open(dir, 'os' as KeyringBackend), { code: 'backend-mismatch' }, 'unknown backend');
});

t.test('corrupt key files are reported, not guessed at', async (t) => {
  const dir = tempDir(t);
  const keyring = Keyring.open(dir, 'test');
  await keyring.add('good');
  writeFileSync(join(dir, 'broken.json'), '{not json', { mode: 0o600 });
  await rejectsWith(t, keyring.show('broken'), 'corrupt-key', /not JSON/, 'show');
  await rejectsWith(t, keyring.list(), 'corrupt-key', /broken\.json/, 'list names the file');
});

t.test('default scrypt cost works end to end', async (t) => {
  const dir = tempDir(t);
  const keyring = Keyring.open(dir, 'file', passphrase);
  const key = await keyring.import('alice', knownMnemonic);
  const file = JSON.parse(readFileSync(join(dir, 'alice.json'), 'utf8')) as { secret: { kdf_params: { log_n: number } } };
  t.equal(file.secret.kdf_params.log_n, 15, 'N = 2^15 by default');
  const [account] = await (await keyring.signer('alice')).getAccounts();
  t.equal(account!.address, key.address);
});
