// WebGPU device selection, buffer helpers and a pipeline cache for the integer kernels.
//
// The same WGSL runs on a real GPU (Dawn's Vulkan / Metal / D3D12 backend, feature level 'core')
// and on a machine without one (Dawn's OpenGL backend on Mesa's llvmpipe through EGL, feature
// level 'compatibility'). All kernels are integer-only, so which adapter runs them changes speed,
// never bits. See README.md beside this file.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { create } from 'webgpu';

export type WebGpuBackend = 'webgpu-hw' | 'webgpu-llvmpipe';

export interface OpenDeviceOptions {
  /** Try the platform's default (hardware) backend first. Default true; false goes straight to llvmpipe. */
  preferHardware?: boolean;
  /** Fall back to Mesa's llvmpipe when no hardware adapter opens. Default true. */
  allowSoftware?: boolean;
}

export interface OpenedDevice {
  device: GPUDevice;
  /** The Dawn instance the device came from; must stay reachable while the device is used. */
  gpu: GPU;
  adapterInfo: GPUAdapterInfo;
  backend: WebGpuBackend;
  /** WGSL has `dot4I8Packed` (language feature packed_4x8_integer_dot_product). */
  hasDot4I8Packed: boolean;
}

// GPUBufferUsage / GPUMapMode are browser globals in @webgpu/types but are not installed as
// globals by dawn.node, so the values (fixed by the WebGPU spec) are spelled out here.
export const BufferUsage = {
  MAP_READ: 0x0001,
  COPY_SRC: 0x0004,
  COPY_DST: 0x0008,
  UNIFORM: 0x0040,
  STORAGE: 0x0080,
} as const;
const MAP_MODE_READ = 0x0001;

const liveInstances = new Set<GPU>();

// Adapters that are software renderers: they run the WGSL correctly, just on CPU threads.
const SOFTWARE_ADAPTER = /llvmpipe|lavapipe|softpipe|swiftshader|software/i;

function describe(info: GPUAdapterInfo): string {
  return [info.vendor, info.architecture, info.device, info.description].filter((s) => s).join(' / ');
}

const VULKAN_LOADER = 'libvulkan.so.1';
const LIBRARY_DIRS = ['/lib', '/usr/lib', '/lib64', '/usr/lib64', '/usr/local/lib', '/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu', '/lib/aarch64-linux-gnu', '/usr/lib/aarch64-linux-gnu'];

/**
 * Whether the dynamic linker can find the Vulkan loader, which Dawn's default backend on Linux
 * dlopen()s. Without it Dawn prints a C++ warning with a path from its own build machine on
 * stderr, which reads like a crash; asking first lets the worker skip that attempt quietly and
 * say in its own words why there is no hardware adapter. Looks where ld.so looks: LD_LIBRARY_PATH,
 * the linker cache (/etc/ld.so.cache holds every configured library's name) and the default
 * directories. Other platforms: assumed present (Dawn uses Metal / D3D12 there).
 */
export function vulkanLoaderPresent(env: NodeJS.ProcessEnv = process.env): boolean {
  if (process.platform !== 'linux') return true;
  const dirs = [...(env.LD_LIBRARY_PATH ?? '').split(':').filter((d) => d !== ''), ...LIBRARY_DIRS];
  if (dirs.some((dir) => existsSync(join(dir, VULKAN_LOADER)))) return true;
  try {
    return readFileSync('/etc/ld.so.cache').includes(VULKAN_LOADER);
  } catch {
    return false;
  }
}

async function tryAdapter(
  flags: string[],
  featureLevel: 'core' | 'compatibility',
): Promise<{ gpu: GPU; adapter: GPUAdapter } | null> {
  try {
    const gpu = create(flags);
    const adapter = await gpu.requestAdapter({ featureLevel, powerPreference: 'high-performance' });
    return adapter ? { gpu, adapter } : null;
  } catch {
    // A backend whose driver library is absent throws or returns null depending on the Dawn build;
    // both mean "not this one", and the caller reports every attempt when nothing is found.
    return null;
  }
}

/**
 * Opens a WebGPU device: the real GPU first (Dawn's default backend, feature level 'core'), then
 * Mesa's llvmpipe through Dawn's OpenGL backend (feature level 'compatibility').
 */
export async function openDevice(options: OpenDeviceOptions = {}): Promise<OpenedDevice> {
  const preferHardware = options.preferHardware ?? true;
  // Without EGL_PLATFORM=surfaceless, EGL looks for an X11/Wayland display, fails to initialize,
  // and Dawn's OpenGL backend finds no adapter on a headless machine. Must be set before create().
  process.env.EGL_PLATFORM ??= 'surfaceless';

  const attempts: Array<{ flags: string[]; featureLevel: 'core' | 'compatibility' }> = [];
  if (preferHardware) attempts.push({ flags: [], featureLevel: 'core' });
  if (options.allowSoftware ?? true) {
    attempts.push({ flags: ['backend=opengl'], featureLevel: 'compatibility' });
    attempts.push({ flags: ['backend=opengles'], featureLevel: 'compatibility' });
  }

  const tried: string[] = [];
  for (const { flags, featureLevel } of attempts) {
    if (flags.length === 0 && !vulkanLoaderPresent()) {
      tried.push(`default backend @ ${featureLevel}: no Vulkan loader (${VULKAN_LOADER}) on this machine, so no GPU driver to reach`);
      continue;
    }
    const found = await tryAdapter(flags, featureLevel);
    const label = `${flags.length ? flags.join(',') : 'default backend'} @ ${featureLevel}`;
    if (!found) {
      tried.push(`${label}: no adapter`);
      continue;
    }
    const { gpu, adapter } = found;
    const info = adapter.info;
    const software = SOFTWARE_ADAPTER.test(describe(info)) || info.isFallbackAdapter === true;
    // A software Vulkan (lavapipe) found through the default backend is kept only if nothing
    // better is left to try; the OpenGL attempt below is the tested software path.
    if (software && flags.length === 0) {
      tried.push(`${label}: software adapter ${describe(info)} skipped`);
      continue;
    }
    const limits = adapter.limits;
    const device = await adapter.requestDevice({
      requiredLimits: {
        // Ask for what the adapter has: the defaults (128 MiB bindings, 16 KiB workgroup
        // storage) are lower than what both llvmpipe and real GPUs offer.
        maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
        maxBufferSize: limits.maxBufferSize,
        maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
        maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
        maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
        maxComputeWorkgroupSizeY: limits.maxComputeWorkgroupSizeY,
        maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage,
      },
    });
    // The GPU object owns Dawn's native instance, which the device's event processing still
    // uses: once the JS object is garbage-collected the device aborts in
    // InstanceBase::ProcessEvents (a freed mutex). Keeping it reachable from the result, and from
    // a module-level set for callers that drop the result but keep the device, prevents that.
    liveInstances.add(gpu);
    return {
      device,
      gpu,
      adapterInfo: info,
      backend: software ? 'webgpu-llvmpipe' : 'webgpu-hw',
      hasDot4I8Packed: new Set(gpu.wgslLanguageFeatures ?? []).has('packed_4x8_integer_dot_product'),
    };
  }
  throw new Error(
    'no WebGPU adapter could be opened. Tried: ' + tried.join('; ') +
      '. On a machine without a GPU run `bash scripts/install-gpu-deps` (Mesa EGL/GLES for llvmpipe) ' +
      'and make sure EGL_PLATFORM is unset or "surfaceless".',
  );
}

/** One-line human description of the adapter, used by tests and the benchmark. */
export function adapterLabel(opened: OpenedDevice): string {
  const name = describe(opened.adapterInfo) || 'unknown adapter';
  return opened.backend === 'webgpu-llvmpipe'
    ? `WebGPU on llvmpipe software renderer (no GPU here): ${name}`
    : `WebGPU on hardware GPU: ${name}`;
}

// ---------------------------------------------------------------------------------------------
// Packing. int8 values travel as four lanes per u32, lane j of word i = element 4i + j, in bits
// 8j..8j+7 (the layout `dot4I8Packed` and `unpack4xI8` use). On a little-endian host this is the
// Int8Array's own bytes, so packing is a copy plus zero padding to a whole word.

/** Packs int8 values 4 per u32 (little-endian lanes), zero-padding the last word. */
export function packInt8x4(values: Int8Array): Uint32Array {
  const words = new Uint32Array(Math.ceil(values.length / 4));
  new Int8Array(words.buffer).set(values);
  return words;
}

/** Inverse of packInt8x4 for `count` elements. */
export function unpackInt8x4(words: Uint32Array, count: number): Int8Array {
  return new Int8Array(words.buffer, words.byteOffset, count).slice();
}

// ---------------------------------------------------------------------------------------------
// Context: the device plus a pipeline cache and buffer helpers.

export type TypedInts = Int32Array | Uint32Array;

export class GpuContext {
  readonly device: GPUDevice;
  readonly opened: OpenedDevice;
  // Keyed by shader source + entry point: a kernel's WGSL is fixed text, so one compile per
  // process; shapes go through uniforms so they never force a recompile.
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  // Uniform buffers are written once at creation and never again, so equal contents can share
  // one buffer: a training step records thousands of dispatches with a few dozen distinct shapes.
  private readonly uniforms = new Map<string, GPUBuffer>();

  constructor(opened: OpenedDevice) {
    this.opened = opened;
    this.device = opened.device;
  }

  static async open(options: OpenDeviceOptions = {}): Promise<GpuContext> {
    return new GpuContext(await openDevice(options));
  }

  get label(): string {
    return adapterLabel(this.opened);
  }

  /**
   * Compute pipeline for `code`, compiled once per (source, entry point). Synchronous so kernels
   * can be recorded inside `run`, whose error scope then catches a shader that fails to compile.
   */
  pipeline(code: string, entryPoint = 'main'): GPUComputePipeline {
    const key = entryPoint + '\u0000' + code;
    let p = this.pipelines.get(key);
    if (!p) {
      const module = this.device.createShaderModule({ code });
      p = this.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint } });
      this.pipelines.set(key, p);
    }
    return p;
  }

  /** Storage buffer holding `data` (a zero-length array still gets one word: bindings must be non-empty). */
  upload(data: TypedInts, extraUsage = 0): GPUBuffer {
    const size = Math.max(4, data.byteLength);
    const buffer = this.device.createBuffer({
      size,
      usage: BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST | extraUsage,
      mappedAtCreation: true,
    });
    new Uint8Array(buffer.getMappedRange()).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    buffer.unmap();
    return buffer;
  }

  uploadInt8(values: Int8Array): GPUBuffer {
    return this.upload(packInt8x4(values));
  }

  /** Zero-filled storage buffer of `words` 32-bit words. */
  storage(words: number): GPUBuffer {
    return this.device.createBuffer({
      size: Math.max(4, words * 4),
      usage: BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST,
    });
  }

  /** Uniform buffer of 32-bit words (u32 view; i32 fields are written through their bit pattern). */
  uniform(words: ArrayLike<number>): GPUBuffer {
    // Uniform structs are 16-byte aligned in size.
    const padded = new Uint32Array(Math.max(4, Math.ceil(words.length / 4) * 4));
    for (let i = 0; i < words.length; i++) padded[i] = words[i] >>> 0;
    const key = padded.join(',');
    const cached = this.uniforms.get(key);
    if (cached) return cached;
    // Bounded: past this many shapes the oldest references are dropped (buffers still recorded
    // in a pending command stay alive until it completes; nothing here destroys them).
    if (this.uniforms.size >= 4096) this.uniforms.clear();
    const buffer = this.device.createBuffer({
      size: padded.byteLength,
      usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST,
      mappedAtCreation: true,
    });
    new Uint32Array(buffer.getMappedRange()).set(padded);
    buffer.unmap();
    this.uniforms.set(key, buffer);
    return buffer;
  }

  /** Copies `words` 32-bit words of `buffer` back to the host. */
  async readWords(buffer: GPUBuffer, words: number): Promise<Uint32Array> {
    const size = Math.max(4, words * 4);
    const staging = this.device.createBuffer({ size, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
    const encoder = this.device.createCommandEncoder();
    encoder.copyBufferToBuffer(buffer, 0, staging, 0, size);
    this.device.queue.submit([encoder.finish()]);
    await staging.mapAsync(MAP_MODE_READ);
    const out = new Uint32Array(staging.getMappedRange().slice(0, words * 4));
    staging.unmap();
    staging.destroy();
    return out;
  }

  /**
   * Reads several buffers with one copy pass and one map (a round trip each would dominate a
   * step on a real GPU). Returns one Int32Array of `words[i]` words per buffer.
   */
  async readManyI32(buffers: readonly GPUBuffer[], words: readonly number[]): Promise<Int32Array[]> {
    const total = words.reduce((n, w) => n + w, 0);
    const staging = this.device.createBuffer({ size: Math.max(4, total * 4), usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
    const encoder = this.device.createCommandEncoder();
    let off = 0;
    buffers.forEach((b, i) => {
      if (words[i] > 0) encoder.copyBufferToBuffer(b, 0, staging, off * 4, words[i] * 4);
      off += words[i];
    });
    this.device.queue.submit([encoder.finish()]);
    await staging.mapAsync(MAP_MODE_READ);
    const all = new Int32Array(staging.getMappedRange().slice(0));
    staging.unmap();
    staging.destroy();
    const out: Int32Array[] = [];
    off = 0;
    for (const w of words) {
      out.push(all.slice(off, off + w));
      off += w;
    }
    return out;
  }

  /** Overwrites the start of `buffer` with `data` (ordered before later submits). */
  write(buffer: GPUBuffer, data: TypedInts): void {
    this.device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
  }

  async readI32(buffer: GPUBuffer, count: number): Promise<Int32Array> {
    const w = await this.readWords(buffer, count);
    return new Int32Array(w.buffer, 0, count);
  }

  async readInt8(buffer: GPUBuffer, count: number): Promise<Int8Array> {
    return unpackInt8x4(await this.readWords(buffer, Math.ceil(count / 4)), count);
  }

  /**
   * Records one compute dispatch. `buffers[i]` binds to @group(0) @binding(i); a null entry
   * leaves that binding out (files with several entry points bind only what each one uses, since
   * 'auto' layouts hold exactly the bindings an entry point touches). Workgroup counts above the
   * per-dimension limit (65535) are the caller's to split (see grid2d).
   */
  dispatch(
    encoder: GPUCommandEncoder,
    pipeline: GPUComputePipeline,
    buffers: Array<GPUBuffer | null>,
    workgroups: [number, number?, number?],
  ): void {
    const entries: GPUBindGroupEntry[] = [];
    buffers.forEach((buffer, binding) => {
      if (buffer) entries.push({ binding, resource: { buffer } });
    });
    const bindGroup = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(workgroups[0], workgroups[1] ?? 1, workgroups[2] ?? 1);
    pass.end();
  }

  /**
   * Runs `record` inside a validation + out-of-memory error scope and submits it, so a kernel
   * misuse surfaces as a rejected promise at the call that caused it, not as a console warning.
   */
  async run(record: (encoder: GPUCommandEncoder) => void): Promise<void> {
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    const encoder = this.device.createCommandEncoder();
    record(encoder);
    this.device.queue.submit([encoder.finish()]);
    const validation = await this.device.popErrorScope();
    const oom = await this.device.popErrorScope();
    const error = validation ?? oom;
    if (error) throw new Error(`WebGPU error: ${error.message}`);
  }

  destroy(): void {
    this.uniforms.clear();
    this.device.destroy();
    liveInstances.delete(this.opened.gpu);
  }
}

/**
 * Splits a 1-D count of workgroups into a 2-D grid within the 65535-per-dimension limit; shaders
 * rebuild the linear index as `wg.x + wg.y * GRID_X` (GRID_X = 32768 here) and bounds-check it.
 */
export const GRID_X = 32768;
export function grid2d(workgroups: number): [number, number] {
  if (workgroups <= GRID_X) return [Math.max(1, workgroups), 1];
  return [GRID_X, Math.ceil(workgroups / GRID_X)];
}
