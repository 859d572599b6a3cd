/**
 * The miners' weights of a window when PoC compute weights exist (README "Compute weight").
 * Pure; the node applies it between training's payout and distributeWindow (app/adapters.ts).
 */
export const BPS = 10_000n;

export interface MinerWeight {
  readonly address: string;
  readonly weight: bigint;
}

/**
 * Blends each paid miner's accepted submissions a_m (its weight in `miners`) with its compute
 * weight c_m so that its share of the miners' budget is
 *   (1 − b)·a_m/A + b·c_m/C,   b = computeBps / 10⁴, A = Σa, C = Σc over the listed miners,
 * exactly, as the integer weight (10⁴ − computeBps)·a_m·C + computeBps·c_m·A (Σ = 10⁴·A·C).
 * Only miners with accepted submissions in the window are listed, so compute alone earns nothing.
 * With C = 0 (no listed miner has compute weight: PoC unused) or computeBps = 0 the list is
 * returned unchanged: the payout is exactly the one without PoC.
 */
export function blendComputeWeights(miners: readonly MinerWeight[], computeWeight: (address: string) => bigint, computeBps: bigint): MinerWeight[] {
  if (computeBps < 0n || computeBps > BPS) throw new RangeError(`computeBps must be in [0, ${BPS}], got ${computeBps}`);
  const compute = miners.map((m) => computeWeight(m.address));
  let a = 0n;
  let c = 0n;
  for (const m of miners) a += m.weight;
  for (const w of compute) c += w;
  if (c === 0n || computeBps === 0n) return [...miners];
  return miners.map((m, i) => ({ address: m.address, weight: (BPS - computeBps) * m.weight * c + computeBps * compute[i] * a }));
}
