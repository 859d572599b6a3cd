// `r3mes-worker arbitrate --key K`: the L3 duty. The same pass as the verifier's (verify.ts,
// dutyPass with role 'arbitrate'), restricted to panel seats, and always on the CPU reference:
// the panel is the last word, so it re-executes on the implementation the spec defines.

import type { TrainBackend } from '../backend.ts';
import { dutyPass, type DutyDeps, type DutyOutcome } from './verify.ts';

export function assertCpuBackend(backend: Pick<TrainBackend, 'name'>): void {
  if (backend.name !== 'cpu') throw new Error(`arbitrate re-executes on the CPU reference only (L3); got backend ${backend.name}`);
}

export async function arbitratePass(deps: Omit<DutyDeps, 'role'>): Promise<DutyOutcome[]> {
  assertCpuBackend(deps.backend);
  return dutyPass({ ...deps, role: 'arbitrate' });
}
