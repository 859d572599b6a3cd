// A training job: `steps` steps, the state hash after each, and the trace root over them.

import { type AdapterState } from '../model/adapter.ts';
import type { Backbone } from '../model/backbone.ts';
import type { Tokens } from '../model/forward.ts';
import { stateHash } from './hash.ts';
import { type StepOptions, trainStep } from './step.ts';
import { traceRoot } from './trace.ts';

export interface JobResult {
  readonly state: AdapterState;
  /** stateHash_0 (initial) .. stateHash_steps */
  readonly stepHashes: Uint8Array[];
  readonly traceRoot: Uint8Array;
}

/** chunks[i] is the chunk of step i+1 (the same chunk may repeat). */
export function runJob(bb: Backbone, initial: AdapterState, chunks: readonly Tokens[], opts: StepOptions): JobResult {
  let state = initial;
  const stepHashes = [stateHash(0, initial)];
  chunks.forEach((chunk, i) => {
    const r = trainStep(bb, state, chunk, i + 1, opts);
    state = r.state;
    stepHashes.push(r.hash);
  });
  return { state, stepHashes, traceRoot: traceRoot(stepHashes) };
}
