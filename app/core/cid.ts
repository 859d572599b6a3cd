/**
 * The content CIDs the chain accepts: CIDv1, multihash sha2-256 (32 bytes), canonical base32,
 * with codec raw (0x55, "bafkrei...": content of at most one 1 MiB chunk) or dag-pb (0x70,
 * "bafybei...": the root of a longer content's UnixFS file tree), exactly as
 * worker/src/storage/cid.ts produces under the UnixFS import profile unixfs-v1-2025 (IPIP-499).
 * The chain sees no bytes, so it checks the syntax only; the import profile fixes one CID per
 * content (workers refuse content under any other CID), so CIDs compare as strings (duplicates).
 */
import { CID } from 'multiformats/cid';

const RAW_CODEC = 0x55;
const DAG_PB_CODEC = 0x70;
const SHA2_256 = 0x12;
const MAX_CID_LENGTH = 128;

/** Why `text` is not an accepted content CID, or undefined when it is. */
export function contentCidProblem(text: string): string | undefined {
  if (typeof text !== 'string' || text.length === 0) return 'CID is empty';
  if (text.length > MAX_CID_LENGTH) return `CID longer than ${MAX_CID_LENGTH} characters`;
  let cid: CID;
  try {
    cid = CID.parse(text);
  } catch (error) {
    return `"${text}" is not a CID: ${(error as Error).message}`;
  }
  if (cid.version !== 1) return `CID ${text} is version ${cid.version}; only CIDv1 is accepted`;
  if (cid.code !== RAW_CODEC && cid.code !== DAG_PB_CODEC) return `CID ${text} has codec 0x${cid.code.toString(16)}; only raw (0x55) and dag-pb (0x70) are accepted`;
  if (cid.multihash.code !== SHA2_256 || cid.multihash.size !== 32) return `CID ${text} is not hashed with sha2-256`;
  if (cid.toString() !== text) return `CID "${text}" is not in canonical base32 form (expected ${cid.toString()})`;
  return undefined;
}
