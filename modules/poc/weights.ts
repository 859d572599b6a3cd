/**
 * How a compute weight turns into chunks per training window (README "Compute weight"). Pure;
 * training reaches it through ChunkQuotaReader (training's expected-keepers.ts).
 */

/**
 * Chunks a miner may train in a window: `maxPerWindow` (training's cap, fixed when the window
 * opened) when no miner has compute weight (PoC unused: exactly as without PoC); otherwise
 * `unweighted` (capped at the max) for a miner without weight, and for one with weight w
 * min(max, unweighted + ⌈(max − unweighted) · w / weightMax⌉): the heaviest miner gets the full
 * cap, the others in proportion, never below a miner without weight.
 */
export function chunkQuota(maxPerWindow: bigint, unweighted: bigint, weight: bigint, weightMax: bigint): bigint {
  if (weightMax === 0n) return maxPerWindow;
  const floor = unweighted < maxPerWindow ? unweighted : maxPerWindow;
  if (weight === 0n) return floor;
  const w = weight < weightMax ? weight : weightMax;
  const extra = ((maxPerWindow - floor) * w + weightMax - 1n) / weightMax;
  return floor + extra;
}
