import { parentPort } from 'node:worker_threads';
import { GpuContext } from './src/kernels/webgpu/device.ts';
try {
  const ctx = await GpuContext.open();
  parentPort!.postMessage({ ok: true, label: ctx.label });
  ctx.destroy();
} catch (e) {
  parentPort!.postMessage({ ok: false, error: (e as Error).message });
}
