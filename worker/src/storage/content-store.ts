// The one interface every content store implements: the embedded blockstore, the client of our
// HTTP gateway and the Kubo RPC client. Callers (train, verify, the gateway itself) depend on
// this, never on a concrete store, so `--ipfs-api` swaps the backend without touching them.

import type { CID } from 'multiformats/cid';

export interface ContentStore {
  /** Stores `bytes` and returns their CID (cid.ts: raw for at most 1 MiB, else a UnixFS root). */
  put(bytes: Uint8Array): Promise<CID>;
  /**
   * Returns the bytes for `cid`, re-hashed against it. Throws a StorageError: NotFound when
   * absent, IntegrityMismatch when the bytes found do not hash to `cid`, TooLarge over the limit.
   */
  get(cid: CID): Promise<Uint8Array>;
  /** True when the store holds `cid` (without fetching or verifying it). */
  has(cid: CID): Promise<boolean>;
}
