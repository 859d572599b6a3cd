// `train --cheat`, for the verification demo: a miner that uploads a delta it did not compute.
// The tampered bytes get their own CID and gradient hash, so every hash the chain holds is
// consistent; only re-executing the chunk (L1/L2/L3) shows the delta is not the training's.

import { presentTargets } from '../model/adapter.ts';
import { DELTA_BOUND, type LoraPairs } from '../output/delta.ts';

/**
 * The cheating miner of the demo: moves the first parameter of layer 0's first projection (A)
 * by one unit, deterministically (towards zero from the bound). The trace stays honest.
 */
export function tamperDelta(delta: LoraPairs): LoraPairs {
  return delta.map((rec, l) => {
    if (l !== 0) return rec;
    const out = { ...rec };
    const first = presentTargets(rec)[0];
    const pair = rec[first]!;
    const a = pair.a.slice();
    a[0] = a[0] >= DELTA_BOUND ? a[0] - 1 : a[0] + 1;
    out[first] = { a, b: pair.b };
    return out;
  });
}
