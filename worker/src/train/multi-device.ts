// A training step (SPEC.md §6) data-parallel over several WebGPU devices: the chunk's sequences are
// split into contiguous parts, one per device; each device sums its part's exact acc64 gradients
// (WebGpuTrainer.gradients); the host adds the sums (exact int64) and applies the signum update of
// §4.9 with the CPU kernel. Gradient sums are exact integers, so the step's bytes are those of the
// one-device and CPU steps whatever the number of devices (test/webgpu-devices.test.ts).

import type { ChunkTokens } from '../data/chunk.ts';
import { signumStep } from '../kernels/cpu/signum.ts';
import type { GpuContext } from '../kernels/webgpu/device.ts';
import { addGrads, type AdapterState, cloneAdapter, newGrads } from '../model/adapter.ts';
import type { Backbone } from '../model/backbone.ts';
import { LORA_PROJECTIONS } from '../model/config.ts';
import { BackendError, type TrainBackend } from '../backend.ts';
import { evaluate } from './evaluate.ts';
import { stateHash } from './hash.ts';
import { splitEvenly, splitSequences } from './sequences.ts';
import { SHIFT_A, SHIFT_B, type StepOptions, type StepResult } from './step.ts';
import { WebGpuTrainer } from './step-webgpu.ts';
import { sharedComputeThread } from './thread.ts';

export { splitEvenly } from './sequences.ts';

/** Per device of the last step: tokens and wall-clock ms (for /stats; not hashed). */
export interface DeviceStepTiming {
  readonly tokens: number;
  readonly ms: number;
}

export async function trainStepDevices(
  trainers: readonly WebGpuTrainer[], state: AdapterState, chunk: ChunkTokens, step: number, opts: StepOptions,
  onDevice?: (i: number, t: DeviceStepTiming) => void,
): Promise<StepResult> {
  if (trainers.length === 0) throw new BackendError('multi-device step: no device');
  const bb = trainers[0].bb;
  const seqs = splitSequences(chunk, bb.cfg.seqLen);
  const parts = splitEvenly(seqs.length, trainers.length);
  const results = await Promise.all(trainers.map(async (t, i) => {
    const [from, to] = parts[i];
    if (from === to) return undefined;
    const t0 = Date.now();
    const r = await t.gradients(state, seqs.slice(from, to), opts.microBatch);
    onDevice?.(i, { tokens: r.tokens, ms: Date.now() - t0 });
    return r;
  }));
  const total = newGrads(bb.cfg);
  let lossSumQ16 = 0;
  let tokens = 0;
  for (const r of results) {
    if (!r) continue;
    addGrads(total, r.grads);
    lossSumQ16 += r.lossSumQ16;
    tokens += r.tokens;
  }
  const next = cloneAdapter(state);
  next.params.forEach((rec, l) => {
    for (const p of LORA_PROJECTIONS) {
      const m = next.momentum[l][p];
      signumStep(rec[p].a, m.a, total.layers[l][p].a, SHIFT_A, opts.lr);
      signumStep(rec[p].b, m.b, total.layers[l][p].b, SHIFT_B, opts.lr);
    }
  });
  return { state: next, hash: stateHash(step, next), lossSumQ16, tokens };
}

export interface DevicesBackendOptions {
  /** evaluation on the calling thread instead of the compute thread (tests) */
  readonly inProcess?: boolean;
  readonly onDevice?: (i: number, t: DeviceStepTiming) => void;
}

/** The `webgpu` training backend on several devices (one WebGpuTrainer each, data-parallel). */
export function webgpuDevicesBackend(ctxs: readonly GpuContext[], options: DevicesBackendOptions = {}): TrainBackend {
  if (ctxs.length === 0) throw new BackendError('backend webgpu: no device');
  let trainers: WebGpuTrainer[] = [];
  let closed = false;
  return {
    name: 'webgpu',
    adapter: ctxs.length === 1 ? ctxs[0].label : `${ctxs.length} devices, data-parallel: ${ctxs[0].label}`,
    step: async (bb: Backbone, state, chunk, step, opts) => {
      if (closed) throw new BackendError('backend webgpu: used after close()');
      if (trainers[0]?.bb !== bb) {
        for (const t of trainers) t.destroy();
        trainers = ctxs.map((c) => new WebGpuTrainer(c, bb));
      }
      return trainStepDevices(trainers, state, chunk, step, opts, options.onDevice);
    },
    evaluate: async (bb, state, bytes) => (options.inProcess ? evaluate(bb, state, bytes) : sharedComputeThread().evaluate(bb, state, bytes)),
    close: () => {
      if (closed) return;
      closed = true;
      for (const t of trainers) t.destroy();
      for (const c of ctxs) c.destroy();
    },
  };
}
