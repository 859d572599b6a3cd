/**
 * A Cosmos-habit keyring for `r3mesd keys add|list|show|delete|import`.
 *
 * One JSON file per key (`<name>.json`) holding the public part in clear
 * (name, address, pubkey, HD path: enough for `list` and `show`) and the
 * mnemonic either encrypted (backend `file`) or in clear (backend `test`,
 * for devnets and tests only). The directory is 0700, files 0600, and every
 * write goes to a temporary file first, then is linked into place, so a crash
 * never leaves half a key and two `add`s of one name cannot both succeed.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync } from 'node:fs';
import { link, open, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DirectSecp256k1HdWallet, type OfflineDirectSigner } from '@cosmjs/proto-signing';
import { stringToPath } from '@cosmjs/crypto';
import {
  decryptSecret,
  DecryptionError,
  defaultScryptLogN,
  encryptSecret,
  makePassphraseCheck,
  passphraseMatches,
  type EncryptedSecret,
  type PassphraseCheck,
} from './crypto.ts';
import { bech32Prefix, defaultHdPath, deriveKey, generateMnemonic, normalizeMnemonic } from './derive.ts';

export type KeyringBackend = 'file' | 'test';

export type KeyringErrorCode =
  | 'invalid-name'
  | 'key-exists'
  | 'key-not-found'
  | 'invalid-mnemonic'
  | 'passphrase-required'
  | 'wrong-passphrase'
  | 'backend-mismatch'
  | 'corrupt-key';

export class KeyringError extends Error {
  constructor(
    readonly code: KeyringErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'KeyringError';
  }
}

/** What `list` and `show` print: the public part of a key. */
export interface KeyInfo {
  name: string;
  type: 'local';
  address: string;
  /** Compressed secp256k1 public key, base64 (the `key` of a /cosmos.crypto.secp256k1.PubKey). */
  pubkey: string;
  hdPath: string;
}

/** What `add` returns once: the only time the mnemonic is shown. */
export interface NewKey extends KeyInfo {
  mnemonic: string;
}

export interface KeyringOptions {
  /** scrypt cost as log2(N) for new keys (file backend); default 15. Tests may lower it. */
  scryptLogN?: number;
}

type StoredSecret = { kind: 'plain'; mnemonic: string } | ({ kind: 'encrypted' } & EncryptedSecret);

interface KeyFile {
  version: 1;
  name: string;
  type: 'local';
  algo: 'secp256k1';
  address: string;
  pubkey: string;
  hd_path: string;
  secret: StoredSecret;
}

/** Letters, digits, '.', '_', '-'; starts with a letter or digit; at most 64 characters. */
const namePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const keyFileSuffix = '.json';
const passphraseCheckFile = 'keyhash';
/** Cosmos' file keyring asks for at least 8 characters. */
const minPassphraseLength = 8;

function checkName(name: string): void {
  if (typeof name !== 'string' || !namePattern.test(name)) {
    throw new KeyringError(
      'invalid-name',
      `invalid key name ${JSON.stringify(name)}: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit`,
    );
  }
}

/** Binds ciphertext to its key so a file renamed or edited to another key does not decrypt. */
function secretAad(name: string, address: string): string {
  return `r3mes-keyring-v1\n${name}\n${address}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseKeyFile(text: string, path: string): KeyFile {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new KeyringError('corrupt-key', `key file ${path} is not JSON`);
  }
  const ok =
    isRecord(data) &&
    data.version === 1 &&
    typeof data.name === 'string' &&
    typeof data.address === 'string' &&
    typeof data.pubkey === 'string' &&
    typeof data.hd_path === 'string' &&
    isRecord(data.secret) &&
    (data.secret.kind === 'plain' ? typeof data.secret.mnemonic === 'string' : data.secret.kind === 'encrypted');
  if (!ok) throw new KeyringError('corrupt-key', `key file ${path} is not an r3mes key (version 1)`);
  return data as unknown as KeyFile;
}

function infoOf(file: KeyFile): KeyInfo {
  return { name: file.name, type: 'local', address: file.address, pubkey: file.pubkey, hdPath: file.hd_path };
}

function errorCode(err: unknown): string | undefined {
  return isRecord(err) && typeof err.code === 'string' ? err.code : undefined;
}

/** Writes `content` to `path` (mode 0600) only if nothing is there yet; false if something is. */
async function writeNewFile(path: string, content: string): Promise<boolean> {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(tmp, 'wx', 0o600);
  try {
    await handle.writeFile(content, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await link(tmp, path);
    return true;
  } catch (err) {
    if (errorCode(err) === 'EEXIST') return false;
    throw err;
  } finally {
    await rm(tmp, { force: true });
  }
}

export class Keyring {
  private constructor(
    readonly dir: string,
    readonly backend: KeyringBackend,
    private readonly passphrase: string | undefined,
    private readonly scryptLogN: number,
  ) {}

  /**
   * Opens (creating if needed, mode 0700) the keyring in `dir`. Use one
   * directory per backend (the CLI uses `<home>/keyring-file` and
   * `<home>/keyring-test`). The `file` backend needs the passphrase; it is
   * checked on the first operation that touches a secret.
   */
  static open(dir: string, backend: KeyringBackend, passphrase?: string, options: KeyringOptions = {}): Keyring {
    if (backend !== 'file' && backend !== 'test') {
      throw new KeyringError('backend-mismatch', `unknown keyring backend ${JSON.stringify(backend)}: use "file" or "test"`);
    }
    if (backend === 'file' && (passphrase === undefined || passphrase === '')) {
      throw new KeyringError('passphrase-required', 'the file keyring backend needs a passphrase');
    }
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    return new Keyring(dir, backend, backend === 'file' ? passphrase : undefined, options.scryptLogN ?? defaultScryptLogN);
  }

  /** Creates a key from a fresh 24-word mnemonic. The mnemonic is returned once; write it down. */
  async add(name: string): Promise<NewKey> {
    checkName(name);
    await this.requireAbsent(name);
    const mnemonic = generateMnemonic();
    const info = await this.store(name, mnemonic);
    return { ...info, mnemonic };
  }

  /** Recovers a key from a BIP-39 mnemonic (12–24 English words). */
  async import(name: string, mnemonic: string): Promise<KeyInfo> {
    checkName(name);
    let normalized: string;
    try {
      normalized = normalizeMnemonic(mnemonic);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new KeyringError('invalid-mnemonic', `invalid mnemonic: ${reason}`);
    }
    await this.requireAbsent(name);
    return this.store(name, normalized);
  }

  async list(): Promise<KeyInfo[]> {
    const names = (await readdir(this.dir)).filter((entry) => entry.endsWith(keyFileSuffix));
    const keys: KeyInfo[] = [];
    for (const entry of names.sort()) {
      const name = entry.slice(0, -keyFileSuffix.length);
      if (!namePattern.test(name)) continue;
      keys.push(infoOf(await this.read(name)));
    }
    return keys;
  }

  /** A key by name, or by address (`r3mes1...`) as `keys show` accepts both. */
  async show(nameOrAddress: string): Promise<KeyInfo> {
    if (nameOrAddress.startsWith(`${bech32Prefix}1`) && !(await this.exists(nameOrAddress))) {
      const found = (await this.list()).find((key) => key.address === nameOrAddress);
      if (found) return found;
      throw new KeyringError('key-not-found', `no key with address ${nameOrAddress} in ${this.dir}`);
    }
    checkName(nameOrAddress);
    return infoOf(await this.read(nameOrAddress));
  }

  async delete(name: string): Promise<void> {
    checkName(name);
    await this.read(name);
    await rm(this.pathOf(name));
  }

  /** A CosmJS signer for the key (SIGN_MODE_DIRECT, prefix `r3mes`); decrypts the mnemonic. */
  async signer(name: string): Promise<OfflineDirectSigner> {
    checkName(name);
    const file = await this.read(name);
    const mnemonic = await this.revealMnemonic(file);
    return DirectSecp256k1HdWallet.fromMnemonic(mnemonic, { prefix: bech32Prefix, hdPaths: [stringToPath(file.hd_path)] });
  }

  /** The key's mnemonic (for `keys export`-like commands; handle with care). */
  async exportMnemonic(name: string): Promise<string> {
    checkName(name);
    return this.revealMnemonic(await this.read(name));
  }

  private pathOf(name: string): string {
    return join(this.dir, `${name}${keyFileSuffix}`);
  }

  private async exists(name: string): Promise<boolean> {
    if (!namePattern.test(name)) return false;
    try {
      await readFile(this.pathOf(name));
      return true;
    } catch (err) {
      if (errorCode(err) === 'ENOENT') return false;
      throw err;
    }
  }

  private async requireAbsent(name: string): Promise<void> {
    if (await this.exists(name)) throw new KeyringError('key-exists', `key "${name}" already exists in ${this.dir}`);
  }

  private async read(name: string): Promise<KeyFile> {
    const path = this.pathOf(name);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if (errorCode(err) === 'ENOENT') throw new KeyringError('key-not-found', `key "${name}" not found in ${this.dir}`);
      throw err;
    }
    const file = parseKeyFile(text, path);
    if (file.name !== name) throw new KeyringError('corrupt-key', `key file ${path} holds key "${file.name}", not "${name}"`);
    return file;
  }

  private async revealMnemonic(file: KeyFile): Promise<string> {
    const secret = file.secret;
    if (secret.kind === 'plain') {
      if (this.backend !== 'test') {
        throw new KeyringError('backend-mismatch', `key "${file.name}" is stored unencrypted (test backend); open the keyring with backend "test"`);
      }
      return secret.mnemonic;
    }
    if (this.backend !== 'file' || this.passphrase === undefined) {
      throw new KeyringError('backend-mismatch', `key "${file.name}" is encrypted (file backend); open the keyring with backend "file" and its passphrase`);
    }
    try {
      return await decryptSecret(secret, this.passphrase, secretAad(file.name, file.address));
    } catch (err) {
      if (err instanceof DecryptionError) {
        throw new KeyringError('wrong-passphrase', `cannot decrypt key "${file.name}": wrong passphrase (or the key file was altered)`);
      }
      throw err;
    }
  }

  /**
   * The file backend keeps a scrypt hash of its passphrase (`keyhash`, like the
   * Cosmos SDK's) so a mistyped passphrase is refused before a key is written
   * with it; the first key written creates it.
   */
  private async checkPassphrase(): Promise<void> {
    if (this.backend !== 'file' || this.passphrase === undefined) return;
    const path = join(this.dir, passphraseCheckFile);
    let text: string | undefined;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if (errorCode(err) !== 'ENOENT') throw err;
    }
    if (text === undefined) {
      if (this.passphrase.length < minPassphraseLength) {
        throw new KeyringError('passphrase-required', `a new file keyring needs a passphrase of at least ${minPassphraseLength} characters`);
      }
      await writeNewFile(path, JSON.stringify(await makePassphraseCheck(this.passphrase, this.scryptLogN), null, 2) + '\n');
      text = await readFile(path, 'utf8');
    }
    let check: PassphraseCheck;
    try {
      check = JSON.parse(text) as PassphraseCheck;
    } catch {
      throw new KeyringError('corrupt-key', `${path} is not JSON`);
    }
    if (!(await passphraseMatches(check, this.passphrase))) {
      throw new KeyringError('wrong-passphrase', `wrong passphrase for the keyring in ${this.dir}`);
    }
  }

  private async store(name: string, mnemonic: string): Promise<KeyInfo> {
    await this.checkPassphrase();
    const derived = await deriveKey(mnemonic, defaultHdPath, bech32Prefix);
    derived.privkey.fill(0);
    const clash = (await this.list()).find((key) => key.address === derived.address);
    if (clash) throw new KeyringError('key-exists', `this mnemonic's key already exists as "${clash.name}" (${clash.address})`);
    const secret: StoredSecret =
      this.backend === 'file' && this.passphrase !== undefined
        ? { kind: 'encrypted', ...(await encryptSecret(mnemonic, this.passphrase, secretAad(name, derived.address), this.scryptLogN)) }
        : { kind: 'plain', mnemonic };
    const file: KeyFile = {
      version: 1,
      name,
      type: 'local',
      algo: 'secp256k1',
      address: derived.address,
      pubkey: Buffer.from(derived.pubkey).toString('base64'),
      hd_path: defaultHdPath,
      secret,
    };
    if (!(await writeNewFile(this.pathOf(name), JSON.stringify(file, null, 2) + '\n'))) {
      throw new KeyringError('key-exists', `key "${name}" already exists in ${this.dir}`);
    }
    return infoOf(file);
  }
}
