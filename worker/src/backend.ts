// Which device trains: `cpu` (the TypeScript reference kernels, the arbiter's backend) or
// `webgpu` (the WGSL kernels through Dawn, a whole step on the device: src/train/step-webgpu.ts).
// Both compute the same integers by construction (SPEC.md), so the choice changes speed and the
// `backend` label on chain, never the bytes.
//
// `webgpu` opens the real GPU, or Mesa's llvmpipe software renderer where there is none (the
// tested path on machines without a GPU). `auto` takes WebGPU only on a hardware adapter and the
// CPU otherwise: llvmpipe runs the same WGSL on the same CPU cores, so it is a correctness path,
// not a speed-up one (see `npm run bench`).
//
// Off the event loop: the `cpu` backend runs every step and every evaluation on the process's
// compute threads (src/train/thread.ts; several cores: src/train/pool.ts, the chunk's sequences
// split between threads, the same bytes for any count), so connections, timers and the /stats
// server stay live while a job runs; `{ inProcess: true }` runs them on the calling thread (the
// same functions, so the same bytes; for tests and benchmarks). The `webgpu` backend's step stays on the main thread:
// its work is recorded into command buffers and runs on the device (Dawn's threads, or llvmpipe's),
// and the step awaits it; its evaluation (CPU forward passes) goes to the compute thread too.

import type { ChunkTokens } from './data/chunk.ts';
import { GpuContext } from './kernels/webgpu/device.ts';
import type { AdapterState } from './model/adapter.ts';
import { type Backbone, refuseV2 } from './model/backbone.ts';
import { type Evaluation, evaluate } from './train/evaluate.ts';
import { type StepOptions, type StepResult, trainStep } from './train/step.ts';
import { WEBGPU_V2, WebGpuTrainer } from './train/step-webgpu.ts';
import { ComputePool, sharedComputePool } from './train/pool.ts';
import { type ComputeThread, sharedComputeThread } from './train/thread.ts';

export type BackendName = 'cpu' | 'webgpu';
export type BackendChoice = BackendName | 'auto';
export const BACKEND_CHOICES: readonly BackendChoice[] = ['cpu', 'webgpu', 'auto'];

export interface TrainBackend {
  readonly name: BackendName;
  /** human-readable device description for /health and logs */
  readonly adapter: string;
  /** One SPEC §6 step; `state` is not mutated. */
  step(bb: Backbone, state: AdapterState, chunk: ChunkTokens, step: number, opts: StepOptions): Promise<StepResult>;
  /** Held-out loss (SPEC §4.8) of `state` on `bytes`; the same integers on every backend. */
  evaluate(bb: Backbone, state: AdapterState, bytes: ChunkTokens): Promise<Evaluation>;
  close(): void;
}

export class BackendError extends Error {
  readonly codespace = 'backend';
  constructor(message: string) {
    super(message);
    this.name = 'BackendError';
  }
}

export interface CpuBackendOptions {
  /** compute on the calling thread (blocks its event loop for the whole step) */
  readonly inProcess?: boolean;
  /** the one thread to compute on (instead of the process's shared pool) */
  readonly thread?: ComputeThread;
  /** the threads to compute on (instead of the process's shared pool) */
  readonly pool?: ComputePool;
  /** compute threads of the process's shared pool to use (default: the available cores) */
  readonly threads?: number;
}

/** Options of chooseBackend. */
export interface ChooseBackendOptions {
  /** the CPU backend's compute threads (default: the available cores); the bytes are the same for any count */
  readonly threads?: number;
}

/**
 * The TypeScript reference kernels. By default on the process's pool of compute threads
 * (train/pool.ts: one per available core, or `threads`), shared by every CPU backend and left
 * running on close() (an idle thread never keeps the process alive). A step over several threads
 * splits the chunk's sequences between them: the same bytes as one thread.
 */
export function cpuBackend(options: CpuBackendOptions = {}): TrainBackend {
  const base = `cpu (TypeScript reference kernels, node ${process.version}`;
  if (options.inProcess) {
    return {
      name: 'cpu',
      adapter: `${base}, in process)`,
      step: async (bb, state, chunk, step, opts) => trainStep(bb, state, chunk, step, opts),
      evaluate: async (bb, state, bytes) => evaluate(bb, state, bytes),
      close: () => {},
    };
  }
  const pool = options.pool ?? (options.thread ? new ComputePool([options.thread]) : sharedComputePool(options.threads));
  return {
    name: 'cpu',
    adapter: `${base}, on ${pool.size === 1 ? 'a worker thread' : `${pool.size} worker threads`})`,
    step: (bb, state, chunk, step, opts) => pool.step(bb, state, chunk, step, opts),
    evaluate: (bb, state, bytes) => pool.evaluate(bb, state, bytes),
    close: () => {},
  };
}

/**
 * The whole-step WebGPU trainer on an open device. One resident backbone at a time: a step on
 * another backbone (a new model version) frees the old one's buffers first.
 */
export function webgpuBackend(ctx: GpuContext): TrainBackend {
  let trainer: WebGpuTrainer | undefined;
  let closed = false;
  return {
    name: 'webgpu',
    adapter: ctx.label,
    step: async (bb, state, chunk, step, opts) => {
      if (closed) throw new BackendError('backend webgpu: used after close()');
      try {
        refuseV2(bb.cfg, 'backend webgpu', WEBGPU_V2);
      } catch (err) {
        throw new BackendError((err as Error).message);
      }
      if (trainer?.bb !== bb) {
        trainer?.destroy();
        trainer = new WebGpuTrainer(ctx, bb);
      }
      return trainer.step(state, chunk, step, opts);
    },
    evaluate: (bb, state, bytes) => sharedComputeThread().evaluate(bb, state, bytes),
    close: () => {
      if (closed) return;
      closed = true;
      trainer?.destroy();
      ctx.destroy();
    },
  };
}

/**
 * The WebGPU context a backend choice opens, or undefined for the CPU: `cpu` → none; `webgpu` →
 * any adapter (hardware, else Mesa's llvmpipe) or an error; `auto` → a hardware adapter, else none.
 * Shared by training (chooseBackend) and the serving node (serve/backends.ts).
 */
export async function gpuContextFor(choice: BackendChoice): Promise<GpuContext | undefined> {
  switch (choice) {
    case 'cpu':
      return undefined;
    case 'webgpu':
      try {
        return await GpuContext.open();
      } catch (err) {
        throw new BackendError(`backend webgpu: ${(err as Error).message}`);
      }
    case 'auto':
      try {
        return await GpuContext.open({ preferHardware: true, allowSoftware: false });
      } catch {
        // No hardware adapter (or no Dawn driver at all): the CPU computes the same bytes.
        return undefined;
      }
    default:
      throw new BackendError(`unknown backend ${JSON.stringify(choice)}: use cpu, webgpu or auto`);
  }
}

export async function chooseBackend(choice: BackendChoice, options: ChooseBackendOptions = {}): Promise<TrainBackend> {
  const ctx = await gpuContextFor(choice);
  return ctx === undefined ? cpuBackend({ threads: options.threads }) : webgpuBackend(ctx);
}
