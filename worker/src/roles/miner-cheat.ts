// `train --cheat`, for the verification demo: a miner that uploads a delta it did not compute.
// The tampered bytes get their own CID and gradient hash, so every hash the chain holds is
// consistent; only re-executing the chunk (L1/L2/L3) shows the delta is not the training's.

import { type AdapterState, presentTargets } from '../model/adapter.ts';
import { DELTA_BOUND, type LoraPairs, PARAM_BOUND } from '../output/delta.ts';

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

/**
 * The middle-step variant (`train --cheat middle-step`): the step whose state is tampered, the
 * middle of a job of `steps` ≥ 2 steps (⌈steps / 2⌉), so a bisection has to narrow to it.
 */
export function middleStep(steps: number): number {
  if (steps < 2) throw new RangeError(`a middle step needs a job of at least 2 steps, got ${steps}`);
  return Math.ceil(steps / 2);
}

/**
 * A state after one tampered step: the first parameter of layer 0's first projection (A) moved by
 * one unit (towards zero from the bound), momentum untouched. The job continues from it and hashes
 * it into the trace, so every hash the chain holds is consistent; only re-executing that one step
 * from the state before it shows the transition is not the training's.
 */
export function tamperState(state: AdapterState): AdapterState {
  const params = state.params.map((rec, l) => {
    if (l !== 0) return rec;
    const out = { ...rec };
    const first = presentTargets(rec)[0]!;
    const pair = rec[first]!;
    const a = pair.a.slice();
    a[0] = a[0] >= PARAM_BOUND ? a[0] - 1 : a[0] + 1;
    out[first] = { a, b: pair.b };
    return out;
  });
  return { params, momentum: state.momentum };
}
