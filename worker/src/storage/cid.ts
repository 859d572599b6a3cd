// Content identifiers: the CID `ipfs add` gives under the UnixFS import profile unixfs-v1-2025
// (IPIP-499; unixfs.ts): CIDv1, sha2-256, base32 lower case, and
//   - codec raw (0x55), "bafkrei…", for content of at most one 1 MiB chunk: the hash of the bytes;
//   - codec dag-pb (0x70), "bafybei…", for longer content: the root of its UnixFS file tree
//     (1 MiB raw leaves, at most 1024 links a node), which any Kubo node fetches over bitswap.
//
// One content has one CID string: `cidOf` is a function of the bytes, and `verifyBytes` accepts
// only the CID `cidOf` gives (a raw CID of content longer than a chunk, or a dag-pb CID of
// another chunking, names bytes we never accept under it). We accept only these two codecs and
// only their canonical base32 spelling, so the chain can compare CIDs as strings.

import { CID } from 'multiformats/cid';
import { sha256 } from 'multiformats/hashes/sha2';
import { StorageError, StorageErrorCode } from './errors.ts';
import { open } from 'node:fs/promises';
import { buildTree, CHUNK_BYTES, DAG_PB_CODE, importFile, MAX_FILE_LINKS, RAW_CODE, type TreeNode } from './unixfs.ts';

export type { CID };

export const RAW_CODEC = RAW_CODE; // 0x55
export const DAG_PB_CODEC = DAG_PB_CODE; // 0x70
export const SHA2_256_CODE = sha256.code; // 0x12
const SHA2_256_BYTES = 32;

/** Computes the CID of `bytes`: raw for at most one chunk (1 MiB), else the UnixFS root. */
export async function cidOf(bytes: Uint8Array): Promise<CID> {
  if (bytes.length <= CHUNK_BYTES) return CID.createV1(RAW_CODEC, await sha256.digest(bytes));
  return (await importFile(bytes)).root;
}

/**
 * The CID of a file's content, read 1 MiB at a time (the same CID as `cidOf` of its bytes): for
 * files too large to hold in memory, e.g. a model's multi-gigabyte weights. Holds one chunk and
 * one 36-byte link per chunk. Also returns the size read.
 */
export async function cidOfFile(path: string): Promise<{ cid: CID; size: number }> {
  const handle = await open(path, 'r');
  try {
    const buffer = new Uint8Array(CHUNK_BYTES);
    const leaves: TreeNode[] = [];
    let size = 0;
    for (;;) {
      // Fill the chunk completely (a read may return fewer bytes than asked for).
      let filled = 0;
      while (filled < CHUNK_BYTES) {
        const { bytesRead } = await handle.read(buffer, filled, CHUNK_BYTES - filled, size + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      if (filled === 0 && leaves.length > 0) break;
      const chunk = buffer.subarray(0, filled);
      leaves.push({ cid: CID.createV1(RAW_CODEC, await sha256.digest(chunk)), fileSize: filled, dagSize: filled });
      size += filled;
      if (filled < CHUNK_BYTES) break;
    }
    if (leaves.length === 1) return { cid: leaves[0].cid, size };
    const [root] = await buildTree(leaves, MAX_FILE_LINKS, () => {});
    return { cid: root.cid, size };
  } finally {
    await handle.close();
  }
}

function invalidCid(message: string, cause?: unknown): StorageError {
  return new StorageError(StorageErrorCode.InvalidCid, message, cause === undefined ? undefined : { cause });
}

/** Throws unless `cid` is a CIDv1 / raw or dag-pb / sha2-256 CID. */
export function assertContentCid(cid: CID): void {
  if (cid.version !== 1) throw invalidCid(`CID ${cid} is version ${cid.version}; only CIDv1 is accepted`);
  if (cid.code !== RAW_CODEC && cid.code !== DAG_PB_CODEC) {
    throw invalidCid(`CID ${cid} has codec 0x${cid.code.toString(16)}; only raw (0x55) and dag-pb (0x70, a UnixFS file) are accepted`);
  }
  if (cid.multihash.code !== SHA2_256_CODE || cid.multihash.size !== SHA2_256_BYTES) {
    throw invalidCid(`CID ${cid} is not hashed with sha2-256 (32 bytes)`);
  }
}

/** Parses a CID string and checks it is our profile in canonical base32. */
export function parseCid(text: string): CID {
  if (typeof text !== 'string' || text.length === 0) throw invalidCid('CID is empty');
  let cid: CID;
  try {
    cid = CID.parse(text);
  } catch (cause) {
    throw invalidCid(`"${text.slice(0, 100)}" is not a CID: ${(cause as Error).message}`, cause);
  }
  assertContentCid(cid);
  if (cid.toString() !== text) {
    throw invalidCid(`CID "${text.slice(0, 100)}" is not in canonical base32 form (expected ${cid})`);
  }
  return cid;
}

/** True when `bytes` are the content `cid` names (their CID is exactly `cid`). */
export async function matchesCid(cid: CID, bytes: Uint8Array): Promise<boolean> {
  assertContentCid(cid);
  return (await cidOf(bytes)).equals(cid);
}

/** Throws an IntegrityMismatch StorageError unless `bytes` have the CID `cid`; `source` names where they came from. */
export async function verifyBytes(cid: CID, bytes: Uint8Array, source = 'content'): Promise<void> {
  assertContentCid(cid);
  const actual = await cidOf(bytes);
  if (!actual.equals(cid)) {
    throw new StorageError(
      StorageErrorCode.IntegrityMismatch,
      `${source}: ${bytes.length} bytes hash to ${actual}, not to the requested ${cid}; rejected`,
    );
  }
}
