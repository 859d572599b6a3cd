/**
 * Pure functions a worker needs (spec: README.md "Layer split" and "Assignment"). Only
 * @noble/hashes: the worker may import this file or mirror it.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';

export const ASSIGNMENT_DOMAIN = 'r3mes/subnet/assignment/v1';

export interface LayerRange {
  readonly index: bigint;
  /** First layer of the subnet. */
  readonly firstLayer: bigint;
  /** One past its last layer. */
  readonly endLayer: bigint;
}

/** Effective number of subnets: the param capped at the layer count (every subnet gets ≥ 1 layer). */
export function effectiveSubnetCount(nLayers: bigint, subnetCountParam: bigint): bigint {
  if (nLayers < 1n) throw new RangeError(`nLayers must be positive, got ${nLayers}`);
  if (subnetCountParam < 1n) throw new RangeError(`subnet count must be positive, got ${subnetCountParam}`);
  return subnetCountParam < nLayers ? subnetCountParam : nLayers;
}

/** Subnet k of S over n layers: [floor(k·n/S), floor((k+1)·n/S)). Requires 1 ≤ S ≤ n. */
export function subnetLayerRanges(nLayers: bigint, subnetCount: bigint): LayerRange[] {
  if (subnetCount < 1n || subnetCount > nLayers) throw new RangeError(`need 1 <= subnetCount <= nLayers, got ${subnetCount} and ${nLayers}`);
  const ranges: LayerRange[] = [];
  for (let k = 0n; k < subnetCount; k++) {
    ranges.push({ index: k, firstLayer: (k * nLayers) / subnetCount, endLayer: ((k + 1n) * nLayers) / subnetCount });
  }
  return ranges;
}

function u32be(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n, false);
  return out;
}

/**
 * The subnet a window's seed assigns to a miner:
 * uint256_be(sha256(utf8("r3mes/subnet/assignment/v1") ‖ seed[32] ‖ u32be(len m) ‖ m)) mod subnetCount,
 * m = utf8(miner bech32 address).
 */
export function assignedSubnet(seed: Uint8Array, miner: string, subnetCount: bigint): bigint {
  if (seed.length !== 32) throw new RangeError(`seed must be 32 bytes, got ${seed.length}`);
  if (subnetCount < 1n) throw new RangeError(`subnetCount must be positive, got ${subnetCount}`);
  const minerBytes = utf8ToBytes(miner);
  const digest = sha256(concatBytes(utf8ToBytes(ASSIGNMENT_DOMAIN), seed, u32be(minerBytes.length), minerBytes));
  let n = 0n;
  for (const b of digest) n = (n << 8n) | BigInt(b);
  return n % subnetCount;
}
