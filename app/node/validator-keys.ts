import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPair, publicKeyFromSecret } from '../../modules/randomness/vrf.ts';
import type { ValidatorKeys } from '../../genesis/validator.ts';

/*
 * The validator keys of a node home: CometBFT's ed25519 consensus key (config/priv_validator_key.json,
 * written by `cometbft init`) and the ed25519 VRF key of the randomness beacon (config/vrf_key.json, ours).
 */

export function vrfKeyPath(home: string): string {
  return join(home, 'config', 'vrf_key.json');
}

/** Reads the node's VRF key, creating it (mode 0600) on first use. */
export function loadOrCreateVrfKey(path: string): { secretKey: Uint8Array; publicKey: Uint8Array } {
  if (!existsSync(path)) {
    const pair = generateKeyPair();
    writeFileSync(path, JSON.stringify({ type: 'r3mes/VrfEd25519', secret_key: Buffer.from(pair.secretKey).toString('hex'), public_key: Buffer.from(pair.publicKey).toString('hex') }, null, 2) + '\n', { mode: 0o600 });
  }
  const file = JSON.parse(readFileSync(path, 'utf8')) as { secret_key?: string };
  if (typeof file.secret_key !== 'string' || !/^[0-9a-f]{64}$/.test(file.secret_key)) throw new Error(`${path}: secret_key must be 64 hex characters`);
  const secretKey = new Uint8Array(Buffer.from(file.secret_key, 'hex'));
  return { secretKey, publicKey: publicKeyFromSecret(secretKey) };
}

export function readValidatorKeys(home: string): ValidatorKeys {
  const path = join(home, 'config', 'priv_validator_key.json');
  const file = JSON.parse(readFileSync(path, 'utf8')) as { address: string; pub_key: { type: string; value: string } };
  if (file.pub_key.type !== 'tendermint/PubKeyEd25519') throw new Error(`${path}: expected an ed25519 consensus key, got ${file.pub_key.type}`);
  return {
    consensusPubkey: new Uint8Array(Buffer.from(file.pub_key.value, 'base64')),
    consensusAddressHex: file.address,
    vrfPubkey: loadOrCreateVrfKey(vrfKeyPath(home)).publicKey,
  };
}
