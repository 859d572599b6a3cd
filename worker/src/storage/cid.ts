// Content identifiers: CIDv1, codec raw (0x55), multihash sha2-256 (0x12, 32 bytes), written in
// base32 lower case ("bafkrei..."). This is exactly what `ipfs add --cid-version=1
// --raw-leaves` gives for a single-block file, so our CIDs resolve on any IPFS node.
//
// One content has one CID string: we accept only this profile and only its canonical base32
// spelling, so the chain can compare gradient CIDs as strings.

import { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';
import { sha256 } from 'multiformats/hashes/sha2';
import { StorageError, StorageErrorCode } from './errors.ts';

export type { CID };

export const RAW_CODEC = raw.code; // 0x55
export const SHA2_256_CODE = sha256.code; // 0x12
const SHA2_256_BYTES = 32;

/** Computes the CID of `bytes`. */
export async function cidOf(bytes: Uint8Array): Promise<CID> {
  return CID.createV1(RAW_CODEC, await sha256.digest(bytes));
}

function invalidCid(message: string, cause?: unknown): StorageError {
  return new StorageError(StorageErrorCode.InvalidCid, message, cause === undefined ? undefined : { cause });
}

/** Throws unless `cid` is a CIDv1 / raw / sha2-256 CID. */
export function assertContentCid(cid: CID): void {
  if (cid.version !== 1) throw invalidCid(`CID ${cid} is version ${cid.version}; only CIDv1 is accepted`);
  if (cid.code !== RAW_CODEC) {
    throw invalidCid(`CID ${cid} has codec 0x${cid.code.toString(16)}; only raw (0x55) is accepted`);
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

/** True when `bytes` hash to `cid`. */
export async function matchesCid(cid: CID, bytes: Uint8Array): Promise<boolean> {
  assertContentCid(cid);
  return (await cidOf(bytes)).equals(cid);
}

/** Throws an IntegrityMismatch StorageError unless `bytes` hash to `cid`; `source` names where they came from. */
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
