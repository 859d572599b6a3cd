// What every command shares: the content store a worker uses, reading a file-or-CID argument,
// training chunks, and turning any error into one clear line.

import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { assertChunk, CHUNK_TOKENS, type ChunkTokens } from '../data/chunk.ts';
import { chunkAt, chunkCount } from '../data/corpus.ts';
import { DataError, DataErrorCode } from '../data/errors.ts';
import { FileBlockstore } from '../storage/blockstore.ts';
import { cidOf, parseCid } from '../storage/cid.ts';
import type { ContentStore } from '../storage/content-store.ts';
import { LocatingStore } from '../storage/locating.ts';
import { GatewayClient, KuboClient } from '../storage/remote.ts';
import type { ContentLocationReader, SignedTx, TxOutcome } from '../chain/client.ts';

export const DEFAULT_HOME = process.env.R3MES_HOME ?? join(homedir(), '.r3mes');
export const DEFAULT_NODE = 'http://127.0.0.1:26657';

export interface StoreOptions {
  store?: string;
  ipfsApi?: string;
  gateway?: string;
}

/** --store DIR (embedded blockstore), --ipfs-api URL (Kubo RPC) or --gateway URL (a worker's gateway). */
export async function openStore(opts: StoreOptions, fallbackDir?: string): Promise<{ store: ContentStore; describe: string }> {
  const given = [opts.store, opts.ipfsApi, opts.gateway].filter((x) => x !== undefined);
  if (given.length > 1) throw new Error('use one of --store, --ipfs-api, --gateway');
  let store: ContentStore;
  let describe: string;
  if (opts.ipfsApi) {
    // 2 minutes a request: a get may first look the CID up in the DHT and dial the provider, and
    // a verifier that gives up too early reports a miner's delta unavailable.
    store = new KuboClient(opts.ipfsApi, { timeoutMs: 120_000 });
    // Other operators find this worker's content through the node's provider records (peer id +
    // addresses) in the DHT its peers share: say who it is, and whether anyone can hear it.
    const id = await (store as KuboClient).identity();
    describe = `kubo ${opts.ipfsApi} (peer ${id.peerId}, ${id.peers} peer(s) now${id.peers === 0 ? ': nobody can find its content until it has some' : ''})`;
  } else if (opts.gateway) {
    // A gateway on a public address takes uploads only with its token (storage/gateway.ts).
    store = new GatewayClient(opts.gateway, { timeoutMs: 30_000, uploadToken: process.env.R3MES_GATEWAY_TOKEN || undefined });
    describe = `gateway ${opts.gateway}`;
  } else {
    const dir = opts.store ?? fallbackDir;
    if (!dir) throw new Error('no content store: pass --store DIR, --ipfs-api URL or --gateway URL');
    return { store: await FileBlockstore.open(dir), describe: `blockstore ${dir}` };
  }
  // A remote store must answer before any work is done (and long before anything is signed).
  await store.has(await cidOf(new Uint8Array(0)));
  return { store, describe };
}

/** A local path, or a CID fetched from the store (re-hashed by the store). */
export async function readFileOrCid(arg: string, store?: ContentStore): Promise<{ bytes: Uint8Array; cid?: string }> {
  if (/^baf[ky]/.test(arg) && !arg.includes('/')) {
    const cid = parseCid(arg);
    if (!store) throw new Error(`${arg} is a CID: pass --store, --ipfs-api or --gateway to fetch it`);
    return { bytes: await store.get(cid), cid: arg };
  }
  try {
    return { bytes: new Uint8Array(await readFile(arg)) };
  } catch (cause) {
    throw new Error(`cannot read ${arg}: ${(cause as Error).message}`, { cause });
  }
}

/** Chunk `index` of the Brown corpus train split. */
export function corpusChunk(index: bigint): Uint8Array {
  const count = BigInt(chunkCount('train'));
  if (index < 0n || index >= count) {
    throw new DataError(DataErrorCode.ChunkIndex, `chunk index ${index} is outside the local corpus (0..${count - 1n}); the chain's chunk_count must not exceed it`);
  }
  return chunkAt(Number(index), 'train').tokens;
}

/**
 * Chunk `index` of the Brown corpus held-out split: the Proof of Learning evaluation sample
 * (SPEC §16). The training assignment never names it: `corpusChunk` reads the train split only.
 */
export function corpusHeldoutChunk(index: bigint): Uint8Array {
  const count = BigInt(chunkCount('heldout'));
  if (index < 0n || index >= count) {
    throw new DataError(DataErrorCode.ChunkIndex, `held-out chunk index ${index} is outside the local corpus's held-out split (0..${count - 1n}); the chain's heldout_chunk_count must not exceed it`);
  }
  return chunkAt(Number(index), 'heldout').tokens;
}

/**
 * A chunk file: 2048 bytes (byte tokens) or 8192 bytes (2048 token ids, uint32 little-endian: the
 * bytes of a dataset shard, data/chunk.ts).
 */
export async function readChunkFile(path: string): Promise<ChunkTokens> {
  const bytes = new Uint8Array(await readFile(path));
  if (bytes.length === 4 * CHUNK_TOKENS) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    return Uint32Array.from({ length: CHUNK_TOKENS }, (_, i) => view.getUint32(4 * i, true));
  }
  if (bytes.length !== CHUNK_TOKENS) {
    throw new DataError(DataErrorCode.ChunkLength, `chunk file ${path} is ${bytes.length} bytes: a chunk is ${CHUNK_TOKENS} bytes (byte tokens) or ${4 * CHUNK_TOKENS} (uint32 LE token ids)`);
  }
  assertChunk(bytes);
  return bytes;
}

export function parseUint(text: string, what: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^(0|[1-9][0-9]*)$/.test(text) || Number(text) > max) throw new Error(`${what} must be an integer in 0..${max}, got "${text}"`);
  return Number(text);
}

/** One line: `error [codespace/code]: message`. */
export function formatError(err: unknown): string {
  const e = err as { codespace?: string; code?: unknown; message?: string };
  const tag = typeof e?.codespace === 'string' && typeof e.code === 'number' ? ` [${e.codespace}/${e.code}]` : '';
  return `error${tag}: ${e?.message ?? String(err)}`;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `--announce a,b`: where this worker's content can be fetched (the chain checks each one). */
export function parseAnnounce(text: string): string[] {
  const list = text.split(',').map((l) => l.trim()).filter((l) => l !== '');
  for (const l of list) {
    if (!/^https?:\/\//.test(l) && !/\/p2p\/[A-Za-z0-9]+$/.test(l)) {
      throw new Error(`--announce: ${JSON.stringify(l)} is neither an http(s):// gateway URL nor a Kubo multiaddr ending /p2p/<peer id>`);
    }
  }
  if (list.length > 4) throw new Error(`--announce: ${list.length} locations, the chain keeps at most 4`);
  return list;
}

/** The store, falling back to the content locations other operators announced on chain. */
export function withAnnouncedLocations(store: ContentStore, chain: ContentLocationReader, own: readonly string[], log: (line: string) => void): ContentStore {
  return new LocatingStore(store, {
    own, log,
    locations: async () => (await chain.allContentLocations()).flatMap((entry) => entry.locations),
  });
}

/**
 * Makes the chain's entry for this key say `locations` (MsgSetContentLocations), unless it
 * already does: a restart with the same flags sends nothing.
 */
export async function announceLocations(
  chain: ContentLocationReader,
  writer: { readonly address: string; signSetContentLocations(l: readonly string[]): Promise<SignedTx>; broadcast(tx: SignedTx): Promise<TxOutcome> },
  locations: readonly string[], log: (line: string) => void,
): Promise<void> {
  const current = (await chain.allContentLocations()).find((e) => e.address === writer.address)?.locations ?? [];
  if (current.length === locations.length && current.every((l, i) => l === locations[i])) {
    log(`content locations: the chain already lists ${locations.join(', ') || 'none'} for ${writer.address}`);
    return;
  }
  const outcome = await writer.broadcast(await writer.signSetContentLocations(locations));
  if (outcome.code !== 0) throw new Error(`MsgSetContentLocations failed (code ${outcome.code}): ${outcome.rawLog ?? ''}`);
  log(`content locations: announced ${locations.join(', ') || 'none'} (tx ${outcome.txhash} at height ${outcome.height})`);
}
