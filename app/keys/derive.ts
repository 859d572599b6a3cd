/**
 * Mnemonic → secp256k1 key → bech32 address, the Cosmos way: BIP-39 seed
 * (no BIP-39 passphrase), SLIP-10 derivation along m/44'/118'/0'/0/0, address
 * = bech32(prefix, ripemd160(sha256(compressed pubkey))).
 */
import { rawSecp256k1PubkeyToRawAddress } from '@cosmjs/amino';
import { Bip39, EnglishMnemonic, Random, Secp256k1, Slip10, Slip10Curve, stringToPath } from '@cosmjs/crypto';
import { toBech32 } from '@cosmjs/encoding';

export const bech32Prefix = 'r3mes';
/** Cosmos coin type 118, first account, first external address. */
export const defaultHdPath = "m/44'/118'/0'/0/0";

export interface DerivedKey {
  address: string;
  /** Compressed secp256k1 public key (33 bytes). */
  pubkey: Uint8Array;
  privkey: Uint8Array;
}

/** A fresh 24-word English mnemonic (256 bits of entropy). */
export function generateMnemonic(): string {
  return Bip39.encode(Random.getBytes(32)).toString();
}

/**
 * Canonical form of a typed-in mnemonic (lower case, single spaces); throws
 * when a word is not in the English list or the checksum fails.
 */
export function normalizeMnemonic(input: string): string {
  const words = input.trim().toLowerCase().split(/\s+/);
  return new EnglishMnemonic(words.join(' ')).toString();
}

export async function deriveKey(mnemonic: string, hdPath: string = defaultHdPath, prefix: string = bech32Prefix): Promise<DerivedKey> {
  const seed = await Bip39.mnemonicToSeed(new EnglishMnemonic(mnemonic));
  const { privkey } = Slip10.derivePath(Slip10Curve.Secp256k1, seed, stringToPath(hdPath));
  const keypair = Secp256k1.makeKeypair(privkey);
  const pubkey = Secp256k1.compressPubkey(keypair.pubkey);
  return { address: toBech32(prefix, rawSecp256k1PubkeyToRawAddress(pubkey)), pubkey, privkey };
}
