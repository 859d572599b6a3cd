// The CPU computation of training and re-execution on a worker thread (node:worker_threads), so
// the event loop of the worker process stays free while a step runs: RPC connections, timers,
// the /stats and /health server and the watcher's clock keep working during a long job.
//
// What crosses: one request per SPEC §6 step (`trainStep`), part of a step split over a pool of
// threads (`sequenceGradients`: the exact gradient sums of some of a chunk's sequences, pool.ts)
// or held-out evaluation (`evaluate`),
// each a serialisable description — the backbone (only when it changes: it stays resident in the
// thread, one at a time, like the WebGPU trainer's), the adapter state, the chunk, the step number
// and the learning rate — answered with the result computed by the very same functions as in
// process (structured clone copies integers exactly: the bytes and hashes are identical). Errors
// thrown there come back as errors with the same name, message, codespace and code. A thread that
// dies (uncaught error, exit, out of memory, a module that does not load) fails every request in
// flight with an error naming the cause; the next request starts a fresh thread.
//
// Module loading: the thread runs `thread-boot.mjs` (plain JavaScript, which Node loads without
// hooks), which imports `thread-entry.ts` through tsx's `tsImport` — on Node 20 a worker does not
// run the `--import` preloads of the process (tsx's loader included), so the thread registers
// tsx itself, from the tsx installed beside the worker as `bin/r3mes-worker` finds it. The
// process's `--conditions` flags (r3mes-source in the repository) are passed on in `execArgv`.
// An idle thread is unref'd: it never keeps a process alive.

import type { ChunkTokens } from '../data/chunk.ts';
import { Worker } from 'node:worker_threads';
import { workerBundle } from '../bundle.ts';
import type { AdapterState } from '../model/adapter.ts';
import type { Backbone } from '../model/backbone.ts';
import type { Evaluation } from './evaluate.ts';
import type { PartGradients, StepOptions, StepResult } from './step.ts';
import type { PocDims } from '../poc/compute.ts';

/** The distances of a PoC request, one per nonce, in request order (SPEC §14). */
export interface PocResult {
  readonly distances: bigint[];
}

/** main → thread */
export type ThreadRequest =
  | { readonly id: number; readonly op: 'step'; readonly backboneKey: number; readonly backbone?: Backbone; readonly state: AdapterState; readonly chunk: ChunkTokens; readonly step: number; readonly opts: StepOptions }
  | { readonly id: number; readonly op: 'evaluate'; readonly backboneKey: number; readonly backbone?: Backbone; readonly state: AdapterState; readonly bytes: ChunkTokens }
  // PoC distances: the thread builds (and keeps) the epoch's model from the seed itself.
  | { readonly id: number; readonly op: 'poc'; readonly seed: Uint8Array; readonly dims: PocDims; readonly nonces: readonly bigint[] }
  // Exact gradient sums of consecutive whole sequences of a chunk (one part of a pool's step, pool.ts).
  | { readonly id: number; readonly op: 'grads'; readonly backboneKey: number; readonly backbone?: Backbone; readonly state: AdapterState; readonly seqs: ChunkTokens; readonly microBatch?: number };

/** An error as it crosses the thread boundary. */
export interface ThreadErrorData {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  readonly codespace?: string;
  readonly code?: number;
}

export type ThreadResult = StepResult | Evaluation | PocResult | PartGradients;

/** thread → main */
export type ThreadReply =
  | { readonly id: number; readonly ok: true; readonly result: ThreadResult }
  | { readonly id: number; readonly ok: false; readonly error: ThreadErrorData };

export class ComputeThreadError extends Error {
  readonly codespace = 'thread';
  constructor(readonly code: number, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ComputeThreadError';
  }
}

/** Codes of ComputeThreadError (codespace `thread`). */
export const ComputeThreadErrorCode = {
  /** the thread died (uncaught error, exit, out of memory, a module that did not load) */
  Crashed: 1,
  /** the thread was closed with the request in flight */
  Closed: 2,
} as const;

export function errorToData(err: unknown): ThreadErrorData {
  if (err instanceof Error) {
    const e = err as Error & { codespace?: unknown; code?: unknown };
    return {
      name: e.name, message: e.message, stack: e.stack,
      ...(typeof e.codespace === 'string' ? { codespace: e.codespace } : {}),
      ...(typeof e.code === 'number' ? { code: e.code } : {}),
    };
  }
  return { name: 'Error', message: String(err) };
}

/** The error a request gets back: same name, message, codespace and code as the thread's. */
export function errorFromData(d: ThreadErrorData): Error {
  const Ctor = d.name === 'RangeError' ? RangeError : d.name === 'TypeError' ? TypeError : Error;
  const err = new Ctor(d.message) as Error & { codespace?: string; code?: number };
  err.name = d.name;
  if (d.stack) err.stack = `${d.stack}\n    (in the compute thread)`;
  if (d.codespace !== undefined) Object.defineProperty(err, 'codespace', { value: d.codespace, enumerable: true });
  if (d.code !== undefined) Object.defineProperty(err, 'code', { value: d.code, enumerable: true });
  return err;
}

/**
 * The buffers of a result's typed arrays that are wholly theirs (not a view into a larger or
 * pooled buffer): moved to the main thread, not copied.
 */
export function transferList(value: unknown, out: ArrayBuffer[] = [], seen = new Set<ArrayBufferLike>()): ArrayBuffer[] {
  if (ArrayBuffer.isView(value)) {
    const whole = value.byteOffset === 0 && value.byteLength === value.buffer.byteLength;
    if (whole && value.buffer instanceof ArrayBuffer && !seen.has(value.buffer)) {
      seen.add(value.buffer);
      out.push(value.buffer);
    }
  } else if (Array.isArray(value)) {
    for (const v of value) transferList(v, out, seen);
  } else if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) transferList(v, out, seen);
  }
  return out;
}

// From the sources the thread boots through thread-boot.mjs, which imports the TypeScript entry
// with tsx; from the bundle (worker/dist) the compiled entry is plain JavaScript and boots itself.
const BUNDLED = workerBundle() !== undefined;
const ENTRY = BUNDLED ? new URL('./thread-entry.mjs', import.meta.url) : new URL('./thread-entry.ts', import.meta.url);
const BOOT = BUNDLED ? ENTRY : new URL('./thread-boot.mjs', import.meta.url);

/** `--conditions=X`, `-C X`, `--conditions X` of this process: how it resolves packages (r3mes-source). */
export function conditionFlags(execArgv: readonly string[] = process.execArgv): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const a = execArgv[i]!;
    if (a.startsWith('--conditions=')) out.push(a);
    else if ((a === '--conditions' || a === '-C') && i + 1 < execArgv.length) out.push(`--conditions=${execArgv[++i]}`);
  }
  return out;
}

let nextBackboneKey = 1;
const backboneKeys = new WeakMap<Backbone, number>();
function keyOf(bb: Backbone): number {
  let k = backboneKeys.get(bb);
  if (k === undefined) backboneKeys.set(bb, (k = nextBackboneKey++));
  return k;
}

interface Pending {
  readonly what: string;
  readonly resolve: (v: ThreadResult) => void;
  readonly reject: (e: Error) => void;
}

export interface ComputeThreadOptions {
  /** the module the thread runs (default thread-entry.ts); tests give others */
  readonly entry?: URL;
  /** a name in errors and in the thread's title */
  readonly name?: string;
}

/** One worker thread that runs steps and evaluations, one at a time, in request order. */
export class ComputeThread {
  private worker?: Worker;
  /** the backbone the live thread holds (as sent: requests are handled in order) */
  private resident?: number;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;
  /** threads started so far (a crash starts a fresh one on the next request) */
  started = 0;

  constructor(private readonly options: ComputeThreadOptions = {}) {}

  get name(): string {
    return this.options.name ?? 'compute thread';
  }

  step(bb: Backbone, state: AdapterState, chunk: ChunkTokens, step: number, opts: StepOptions): Promise<StepResult> {
    return this.request(`step ${step}`, bb, (id, backboneKey, backbone) => ({ id, op: 'step', backboneKey, backbone, state, chunk, step, opts: { ...opts } })) as Promise<StepResult>;
  }

  evaluate(bb: Backbone, state: AdapterState, bytes: ChunkTokens): Promise<Evaluation> {
    return this.request('evaluation', bb, (id, backboneKey, backbone) => ({ id, op: 'evaluate', backboneKey, backbone, state, bytes })) as Promise<Evaluation>;
  }

  /**
   * Exact gradient sums (SPEC §6) of `seqs`: whole consecutive sequences of a chunk (a multiple of
   * seqLen bytes), in micro-batches of `microBatch` — one part of a step split over a pool.
   */
  gradients(bb: Backbone, state: AdapterState, seqs: ChunkTokens, microBatch?: number): Promise<PartGradients> {
    return this.request(`gradients of ${seqs.length} tokens`, bb, (id, backboneKey, backbone) => ({ id, op: 'grads', backboneKey, backbone, state, seqs, microBatch })) as Promise<PartGradients>;
  }

  /** PoC distances of `nonces` (SPEC §14) for the epoch `seed`, `dims`. */
  poc(seed: Uint8Array, dims: PocDims, nonces: readonly bigint[]): Promise<PocResult> {
    return this.request(`PoC batch of ${nonces.length}`, undefined, (id) => ({ id, op: 'poc', seed, dims: { ...dims }, nonces: [...nonces] })) as Promise<PocResult>;
  }

  /** Stops the thread; requests in flight fail (code 2). */
  close(): void {
    this.closed = true;
    const w = this.worker;
    this.worker = undefined;
    this.failAll(new ComputeThreadError(ComputeThreadErrorCode.Closed, `${this.name} closed with the request in flight`));
    void w?.terminate();
  }

  /** `bb` undefined: a request that needs no resident backbone (PoC), which leaves it as it is. */
  private request(what: string, bb: Backbone | undefined, make: (id: number, key: number, backbone?: Backbone) => ThreadRequest): Promise<ThreadResult> {
    if (this.closed) return Promise.reject(new ComputeThreadError(ComputeThreadErrorCode.Closed, `${this.name}: used after close()`));
    let w: Worker;
    try {
      w = this.live();
    } catch (cause) {
      return Promise.reject(new ComputeThreadError(ComputeThreadErrorCode.Crashed, `${this.name} did not start: ${(cause as Error).message}`, { cause }));
    }
    const id = this.nextId++;
    const key = bb === undefined ? 0 : keyOf(bb);
    const send = bb === undefined || this.resident === key ? undefined : bb;
    const msg = make(id, key, send);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { what, resolve, reject });
      try {
        w.postMessage(msg);
      } catch (cause) {
        this.pending.delete(id);
        reject(new ComputeThreadError(ComputeThreadErrorCode.Crashed, `${this.name}: the ${what} request could not be sent: ${(cause as Error).message}`, { cause }));
        return;
      }
      if (bb !== undefined) this.resident = key;
      w.ref(); // a request in flight keeps the process alive; an idle thread does not
    });
  }

  private live(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(BOOT, {
      execArgv: conditionFlags(),
      workerData: { entry: (this.options.entry ?? ENTRY).href },
      name: this.name,
    });
    this.started++;
    this.worker = w;
    this.resident = undefined;
    w.unref();
    w.on('message', (reply: ThreadReply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0 && this.worker === w) w.unref();
      if (reply.ok) p.resolve(reply.result);
      else p.reject(errorFromData(reply.error));
    });
    const died = (why: string, cause?: unknown) => {
      if (this.worker !== w) return;
      this.worker = undefined;
      this.resident = undefined;
      this.failAll(new ComputeThreadError(ComputeThreadErrorCode.Crashed, `${this.name} ${why}`, { cause }), (p) => ` during the ${p.what}`);
    };
    w.on('error', (err) => died(`failed: ${err.message}`, err));
    w.on('messageerror', (err) => died(`sent a message that could not be read: ${err.message}`, err));
    w.on('exit', (code) => died(`exited with code ${code}`));
    return w;
  }

  private failAll(err: ComputeThreadError, detail?: (p: Pending) => string): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) {
      if (!detail) p.reject(err);
      else p.reject(new ComputeThreadError(err.code as number, `${err.message}${detail(p)}`, { cause: err.cause }));
    }
  }
}

let shared: ComputeThread | undefined;

/** The process's compute thread, shared by every CPU backend (a 2-core machine needs one). */
export function sharedComputeThread(): ComputeThread {
  shared ??= new ComputeThread();
  return shared;
}
