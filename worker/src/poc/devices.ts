// Opening several WebGPU devices (`--devices all|0,2,3`) and reading what each offers.
//
// Device ids: Dawn's node binding hands out one adapter per backend (requestAdapter has no index),
// so device id 0 is the adapter `--backend` opens and ids 1, 2, … are further devices of that
// adapter (each with its own queue). `all` is every adapter Dawn offers: one here. On a machine
// with one adapter, several devices share its memory and cores; the PoC and training tests run on
// several devices of Mesa's llvmpipe adapter this way.

import { GpuContext } from '../kernels/webgpu/device.ts';
import { PocError } from './compute.ts';
import type { DeviceLimits } from './profile.ts';

/** `all` or a list of distinct device ids (ascending). */
export function parseDevices(spec: string): 'all' | number[] {
  const s = spec.trim();
  if (s === 'all') return 'all';
  const parts = s.split(',').map((p) => p.trim());
  const ids: number[] = [];
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) throw new PocError(`--devices must be "all" or device ids like 0,2,3; got "${spec}"`);
    const id = Number(p);
    if (ids.includes(id)) throw new PocError(`--devices lists device ${id} twice`);
    ids.push(id);
  }
  if (ids.length === 0) throw new PocError('--devices names no device');
  if (ids.length > 64) throw new PocError('--devices: at most 64 devices');
  return ids.sort((a, b) => a - b);
}

/** `--device-memory 8192` (MiB, every device) or `8192,8192,4096` (per listed device, in id order). */
export function parseDeviceMemory(spec: string | undefined, n: number): Array<number | undefined> {
  if (spec === undefined) return new Array(n).fill(undefined);
  const parts = spec.split(',').map((p) => p.trim());
  if (!parts.every((p) => /^\d{1,9}$/.test(p))) throw new PocError(`--device-memory must be MiB values like 8192 or 8192,4096; got "${spec}"`);
  const mibs = parts.map(Number);
  if (mibs.length !== 1 && mibs.length !== n) throw new PocError(`--device-memory gives ${mibs.length} values for ${n} devices (give one, or one per device)`);
  return Array.from({ length: n }, (_, i) => (mibs.length === 1 ? mibs[0] : mibs[i]) * 1048576);
}

export interface OpenedGpuDevice extends DeviceLimits {
  readonly ctx: GpuContext;
  /** where memoryBytes came from */
  readonly memorySource: 'declared' | 'maxBufferSize';
  readonly adapter: string;
  readonly info: { vendor: string; architecture: string; device: string; description: string };
}

export interface OpenDevicesOptions {
  readonly preferHardware?: boolean;
  readonly allowSoftware?: boolean;
  /** per device, bytes declared by the operator (undefined: from the adapter's limits) */
  readonly memory?: ReadonlyArray<number | undefined>;
}

export async function openDevices(ids: 'all' | readonly number[], opts: OpenDevicesOptions = {}): Promise<OpenedGpuDevice[]> {
  const list = ids === 'all' ? [0] : [...ids];
  const ctxs: GpuContext[] = [];
  try {
    for (let i = 0; i < list.length; i++) ctxs.push(await GpuContext.open({ preferHardware: opts.preferHardware, allowSoftware: opts.allowSoftware }));
  } catch (err) {
    for (const c of ctxs) c.destroy();
    throw new PocError(`opening ${list.length} WebGPU device(s): ${(err as Error).message}`);
  }
  // Devices of one adapter share its memory: each gets an equal part of the adapter's figure.
  return ctxs.map((ctx, i) => {
    const lim = ctx.device.limits;
    const info = ctx.opened.adapterInfo;
    const declared = opts.memory?.[i];
    return {
      id: list[i], ctx,
      memoryBytes: declared ?? Math.floor(lim.maxBufferSize / list.length),
      memorySource: declared !== undefined ? 'declared' : 'maxBufferSize',
      maxBufferSize: lim.maxBufferSize,
      maxStorageBufferBindingSize: lim.maxStorageBufferBindingSize,
      adapter: ctx.label,
      info: { vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description },
    };
  });
}
