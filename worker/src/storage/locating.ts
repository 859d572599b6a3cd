// A content store that also looks where operators announced their content (staking's
// MsgSetContentLocations, `r3mes-worker train --announce`): when the store it wraps does not have a
// CID, each announced HTTP gateway is asked for it (the bytes re-hashed against the CID, and kept
// in the wrapped store), and a Kubo store is first connected to each announced peer and asked again.
// So two operators who share no gateway still fetch each other's deltas and aggregates.

import type { CID } from 'multiformats/cid';
import type { ContentStore } from './content-store.ts';
import { isStorageError, StorageError, StorageErrorCode } from './errors.ts';
import { GatewayClient } from './remote.ts';

/** A store that can dial a peer (KuboClient). */
export interface PeerDialer {
  connect(multiaddr: string): Promise<void>;
}

export interface LocatingOptions {
  /** Every announced location on chain (the staking module's AllContentLocations). */
  readonly locations: () => Promise<readonly string[]>;
  /** Locations of this very worker, never asked (they are the wrapped store). */
  readonly own?: readonly string[];
  /** How long the list read from chain is reused, ms (default 30 s). */
  readonly refreshMs?: number;
  /** Per announced gateway request, ms (default 20 s). */
  readonly timeoutMs?: number;
  /** One line per fallback attempt (stderr in the CLI). */
  readonly log?: (line: string) => void;
}

const isDialer = (store: ContentStore): store is ContentStore & PeerDialer => typeof (store as Partial<PeerDialer>).connect === 'function';

export class LocatingStore implements ContentStore {
  private cached: { at: number; list: readonly string[] } | undefined;
  private readonly dialed = new Set<string>();

  constructor(private readonly inner: ContentStore, private readonly options: LocatingOptions) {}

  put(bytes: Uint8Array): Promise<CID> {
    return this.inner.put(bytes);
  }

  has(cid: CID): Promise<boolean> {
    return this.inner.has(cid);
  }

  async get(cid: CID): Promise<Uint8Array> {
    try {
      return await this.inner.get(cid);
    } catch (err) {
      // Bytes that do not match, a bad CID, content over the limit: asking elsewhere changes nothing.
      if (!isStorageError(err, StorageErrorCode.NotFound) && !isStorageError(err, StorageErrorCode.RemoteFailure)) throw err;
      const found = await this.elsewhere(cid);
      if (found) return found;
      throw new StorageError(err.code, `${err.message}; no announced content location had it either`, { cause: err });
    }
  }

  private async announced(): Promise<readonly string[]> {
    const now = Date.now();
    if (this.cached && now - this.cached.at < (this.options.refreshMs ?? 30_000)) return this.cached.list;
    const own = new Set(this.options.own ?? []);
    const list = (await this.options.locations()).filter((l) => !own.has(l));
    this.cached = { at: now, list };
    return list;
  }

  private async elsewhere(cid: CID): Promise<Uint8Array | undefined> {
    let list: readonly string[];
    try {
      list = await this.announced();
    } catch (err) {
      this.options.log?.(`content locations: cannot read them from the chain (${(err as Error).message})`);
      return undefined;
    }
    for (const location of list.filter((l) => /^https?:\/\//.test(l))) {
      try {
        const bytes = await new GatewayClient(location, { timeoutMs: this.options.timeoutMs ?? 20_000 }).get(cid);
        this.options.log?.(`content locations: ${cid} fetched from ${location}`);
        await this.inner.put(bytes).catch(() => undefined); // kept for the next reader; a read-only store is fine too
        return bytes;
      } catch (err) {
        if (isStorageError(err, StorageErrorCode.IntegrityMismatch)) this.options.log?.(`content locations: ${location} served other bytes for ${cid}: ignored`);
      }
    }
    if (!isDialer(this.inner)) return undefined;
    let dialedNew = false;
    for (const peer of list.filter((l) => l.startsWith('/') && !this.dialed.has(l))) {
      try {
        await this.inner.connect(peer);
        this.dialed.add(peer);
        dialedNew = true;
        this.options.log?.(`content locations: connected to ${peer}`);
      } catch (err) {
        this.options.log?.(`content locations: cannot connect to ${peer} (${(err as Error).message})`);
      }
    }
    return dialedNew ? this.inner.get(cid).catch(() => undefined) : undefined;
  }
}
