// Which device runs the serving node's forward: `cpu` (the reference kernels with a KV cache,
// src/model/decode.ts) or `webgpu` (the WGSL kernels, src/serve/gpu-decoder.ts); `auto` takes a
// hardware WebGPU adapter and the CPU otherwise. The tokens are the same on all of them.

import { type BackendChoice, gpuContextFor } from '../backend.ts';
import { cpuInference, type InferenceBackend } from './engine.ts';
import { webgpuInference } from './gpu-decoder.ts';

export async function chooseInference(choice: BackendChoice): Promise<InferenceBackend> {
  const ctx = await gpuContextFor(choice);
  return ctx === undefined ? cpuInference() : webgpuInference(ctx);
}
