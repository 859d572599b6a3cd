// Which device runs the serving node's forward: `cpu` (the reference kernels with a KV cache,
// src/model/decode.ts) or `webgpu` (the WGSL kernels, src/serve/gpu-decoder.ts); `auto` takes a
// hardware WebGPU adapter and the CPU otherwise. The tokens are the same on all of them.

import { BackendError, type BackendChoice } from '../backend.ts';
import { GpuContext } from '../kernels/webgpu/device.ts';
import { cpuInference, type InferenceBackend } from './engine.ts';
import { webgpuInference } from './gpu-decoder.ts';

export async function chooseInference(choice: BackendChoice): Promise<InferenceBackend> {
  switch (choice) {
    case 'cpu':
      return cpuInference();
    case 'webgpu': {
      let ctx: GpuContext;
      try {
        ctx = await GpuContext.open();
      } catch (err) {
        throw new BackendError(`backend webgpu: ${(err as Error).message}`);
      }
      return webgpuInference(ctx);
    }
    case 'auto':
      try {
        return webgpuInference(await GpuContext.open({ preferHardware: true, allowSoftware: false }));
      } catch {
        return cpuInference();
      }
    default:
      throw new BackendError(`unknown backend ${JSON.stringify(choice)}: use cpu, webgpu or auto`);
  }
}
