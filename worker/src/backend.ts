// Which device trains: `cpu` (the TypeScript reference kernels, the arbiter's backend) or
// `webgpu` (the WGSL kernels through Dawn). Both compute the same integers by construction
// (SPEC.md), so the choice changes speed and the `backend` label on chain, never the bytes.
//
// Today only the CPU has a whole-model training step: the WGSL kernels (src/kernels/webgpu)
// reproduce every op byte for byte, but no model forward/backward chains them yet. So `webgpu`
// is refused with a clear message and `auto` resolves to `cpu`; when a GPU step lands it plugs
// in here as another TrainBackend.

import type { AdapterState } from './model/adapter.ts';
import type { Backbone } from './model/backbone.ts';
import { type StepOptions, type StepResult, trainStep } from './train/step.ts';

export type BackendName = 'cpu' | 'webgpu';
export type BackendChoice = BackendName | 'auto';
export const BACKEND_CHOICES: readonly BackendChoice[] = ['cpu', 'webgpu', 'auto'];

export interface TrainBackend {
  readonly name: BackendName;
  /** human-readable device description for /health and logs */
  readonly adapter: string;
  /** One SPEC §6 step; `state` is not mutated. */
  step(bb: Backbone, state: AdapterState, chunk: Uint8Array, step: number, opts: StepOptions): Promise<StepResult>;
  close(): void;
}

export class BackendError extends Error {
  readonly codespace = 'backend';
  constructor(message: string) {
    super(message);
    this.name = 'BackendError';
  }
}

export function cpuBackend(): TrainBackend {
  return {
    name: 'cpu',
    adapter: `cpu (TypeScript reference kernels, node ${process.version})`,
    step: async (bb, state, chunk, step, opts) => trainStep(bb, state, chunk, step, opts),
    close: () => {},
  };
}

/** True once a whole-model WebGPU training step exists (see the note at the top). */
export const WEBGPU_TRAINING_AVAILABLE = false;

export async function chooseBackend(choice: BackendChoice): Promise<TrainBackend> {
  switch (choice) {
    case 'cpu':
      return cpuBackend();
    case 'auto':
      return cpuBackend();
    case 'webgpu':
      throw new BackendError(
        'backend webgpu: the WGSL kernels exist but no whole-model WebGPU training step does yet; use --backend cpu (same bytes) or auto',
      );
    default:
      throw new BackendError(`unknown backend ${JSON.stringify(choice)}: use cpu, webgpu or auto`);
  }
}
