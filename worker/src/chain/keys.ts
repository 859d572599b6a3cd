// The signer of a worker: a key from the same keyring files `r3mesd keys` writes
// (`<home>/keyring-<backend>/<name>.json`; the file backend's passphrase from
// $R3MES_KEYRING_PASSPHRASE, as for r3mesd).

import { join } from 'node:path';
import type { OfflineDirectSigner } from '@cosmjs/proto-signing';
import { Keyring, type KeyringBackend } from '@r3mes/client';
import { ChainError, ChainErrorCode } from './errors.ts';

export type { KeyringBackend };

export async function openSigner(home: string, keyName: string, backend: KeyringBackend): Promise<{ signer: OfflineDirectSigner; address: string }> {
  const passphrase = process.env.R3MES_KEYRING_PASSPHRASE;
  if (backend === 'file' && (passphrase === undefined || passphrase === '')) {
    throw new ChainError(ChainErrorCode.KeyUnavailable, "the 'file' keyring needs a passphrase: set R3MES_KEYRING_PASSPHRASE (or use --keyring-backend test on a devnet)");
  }
  try {
    const ring = Keyring.open(join(home, `keyring-${backend}`), backend, passphrase);
    const info = await ring.show(keyName);
    return { signer: await ring.signer(keyName), address: info.address };
  } catch (cause) {
    if (cause instanceof ChainError) throw cause;
    throw new ChainError(ChainErrorCode.KeyUnavailable, `key "${keyName}" (${backend} keyring in ${home}): ${(cause as Error).message}`, {}, { cause });
  }
}
