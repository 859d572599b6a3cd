/**
 * Passphrase encryption of key secrets: scrypt derives a 256-bit key from the
 * passphrase and a random salt, AES-256-GCM encrypts with a random 96-bit
 * nonce. All parameters are stored beside the ciphertext so they can be raised
 * later without breaking old files. The GCM tag makes a wrong passphrase (or a
 * tampered file) fail loudly instead of yielding garbage.
 */
import { createCipheriv, createDecipheriv, randomBytes, scrypt as scryptCallback, timingSafeEqual } from 'node:crypto';

export interface ScryptParams {
  /** log2 of the CPU/memory cost N. */
  log_n: number;
  r: number;
  p: number;
  /** base64, 16 random bytes. */
  salt: string;
}

export interface EncryptedSecret {
  kdf: 'scrypt';
  kdf_params: ScryptParams;
  cipher: 'aes-256-gcm';
  /** base64, 12 random bytes. */
  nonce: string;
  /** base64, 16 bytes. */
  tag: string;
  /** base64. */
  ciphertext: string;
}

/** A stored hash that tells a right passphrase from a wrong one before any key is touched. */
export interface PassphraseCheck {
  kdf: 'scrypt';
  kdf_params: ScryptParams;
  /** base64 of 32 scrypt output bytes. */
  hash: string;
}

/** N = 2^15, r = 8, p = 1: about 32 MiB and ~0.1 s per derivation (the scrypt paper's interactive setting). */
export const defaultScryptLogN = 15;

export class DecryptionError extends Error {}

function scrypt(passphrase: string, params: ScryptParams, length: number): Promise<Buffer> {
  if (!Number.isInteger(params.log_n) || params.log_n < 10 || params.log_n > 22) {
    return Promise.reject(new DecryptionError(`unsupported scrypt log_n ${params.log_n}`));
  }
  if (!Number.isInteger(params.r) || params.r < 1 || params.r > 32 || !Number.isInteger(params.p) || params.p < 1 || params.p > 16) {
    return Promise.reject(new DecryptionError(`unsupported scrypt r=${params.r} p=${params.p}`));
  }
  const N = 2 ** params.log_n;
  const maxmem = 128 * N * params.r * params.p + 16 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    scryptCallback(passphrase.normalize('NFKC'), Buffer.from(params.salt, 'base64'), length, { N, r: params.r, p: params.p, maxmem }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

function freshParams(logN: number): ScryptParams {
  return { log_n: logN, r: 8, p: 1, salt: randomBytes(16).toString('base64') };
}

/** Encrypts `plaintext`; `aad` (e.g. key name and address) is authenticated but not stored. */
export async function encryptSecret(plaintext: string, passphrase: string, aad: string, logN = defaultScryptLogN): Promise<EncryptedSecret> {
  const kdfParams = freshParams(logN);
  const key = await scrypt(passphrase, kdfParams, 32);
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  key.fill(0);
  return {
    kdf: 'scrypt',
    kdf_params: kdfParams,
    cipher: 'aes-256-gcm',
    nonce: nonce.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    ciphertext: ciphertext.toString('base64'),
  };
}

/** Throws DecryptionError when the passphrase is wrong or the file was altered. */
export async function decryptSecret(secret: EncryptedSecret, passphrase: string, aad: string): Promise<string> {
  if (secret.kdf !== 'scrypt' || secret.cipher !== 'aes-256-gcm') {
    throw new DecryptionError(`unsupported encryption ${secret.kdf}/${secret.cipher}`);
  }
  const key = await scrypt(passphrase, secret.kdf_params, 32);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(secret.nonce, 'base64'));
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(Buffer.from(secret.tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(secret.ciphertext, 'base64')), decipher.final()]).toString('utf8');
  } catch {
    throw new DecryptionError('decryption failed');
  } finally {
    key.fill(0);
  }
}

export async function makePassphraseCheck(passphrase: string, logN = defaultScryptLogN): Promise<PassphraseCheck> {
  const kdfParams = freshParams(logN);
  return { kdf: 'scrypt', kdf_params: kdfParams, hash: (await scrypt(passphrase, kdfParams, 32)).toString('base64') };
}

export async function passphraseMatches(check: PassphraseCheck, passphrase: string): Promise<boolean> {
  const expected = Buffer.from(check.hash, 'base64');
  const actual = await scrypt(passphrase, check.kdf_params, expected.length);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
