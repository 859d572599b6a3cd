// One training job on one chunk: `steps` SPEC §6 steps from the window's base adapter, a state
// checkpoint after every step (so a restart mid-chunk resumes instead of redoing), the trace,
// and the losses before and after. Same chunk, model and lr ⇒ same bytes, whatever the backend.
// Every step and both evaluations go through the backend: on the CPU backend they run on the
// compute thread (src/train/thread.ts), so this loop's awaits leave the event loop free.

import { mkdir, readFile, rm, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { TrainBackend } from '../backend.ts';
import { assertChunk, type ChunkTokens, chunkHash } from '../data/chunk.ts';
import { type AdapterState, initAdapter } from '../model/adapter.ts';
import { decodeState, encodeState } from '../output/state.ts';
import { decodeTrace, encodeTrace, makeTrace } from '../output/trace.ts';
import { modelMetadata } from '../output/metadata.ts';
import { stateHash } from '../train/hash.ts';
import type { LoadedModel } from './model.ts';
import { tamperState } from './miner-cheat.ts';

export interface JobSpec {
  readonly model: LoadedModel;
  readonly chunk: ChunkTokens;
  readonly steps: number;
  readonly lr: number;
  readonly backend: TrainBackend;
  /** the state step 1 starts from (the window's base, roles/base-state.ts); default the initial adapter */
  readonly base?: AdapterState;
  /** where checkpoints live; without it nothing is written and nothing resumes */
  readonly workDir?: string;
  /**
   * The demo cheater's middle-step variant (miner-cheat.ts tamperState): after this step the state
   * is tampered and the job goes on from it, so the trace commits to one wrong transition.
   */
  readonly tamperAfterStep?: number;
  /** called after every step (s of steps) with the step's tokens and seconds */
  readonly onStep?: (s: number, steps: number, tokens: number, seconds: number) => void;
}

export interface JobOutcome {
  readonly initial: AdapterState;
  readonly final: AdapterState;
  readonly stepHashes: Uint8Array[];
  readonly lossBefore: number;
  readonly lossAfter: number;
  /** the step the job resumed after (0 = from scratch) */
  readonly resumedFrom: number;
  /** state checkpoint files, index = step */
  readonly checkpoints: Uint8Array[];
}

export const DEFAULT_STEPS = 2;
export const DEFAULT_LR = 256;

async function atomicWrite(path: string, bytes: Uint8Array | string): Promise<void> {
  const temp = `${path}.tmp`;
  await writeFile(temp, bytes);
  await rename(temp, path);
}

export async function runTrainingJob(spec: JobSpec): Promise<JobOutcome> {
  assertChunk(spec.chunk);
  if (!Number.isSafeInteger(spec.steps) || spec.steps < 1) throw new RangeError(`steps must be a positive integer, got ${spec.steps}`);
  const { backbone: bb, identity } = spec.model;
  const initial = spec.base ?? initAdapter(identity.cfg);
  // The base's hash is part of the key: a checkpoint trained from another base never resumes.
  const jobKey = JSON.stringify({
    ...modelMetadata(identity), chunk: chunkHash(spec.chunk), steps: spec.steps, lr: spec.lr, base: bytesToHex(stateHash(0, initial)),
  });

  let state = initial;
  let stepHashes = [stateHash(0, initial)];
  const checkpoints: Uint8Array[] = [];
  let resumedFrom = 0;

  if (spec.workDir) {
    await mkdir(spec.workDir, { recursive: true });
    const keyPath = join(spec.workDir, 'job.json');
    const previous = await readFile(keyPath, 'utf8').catch(() => undefined);
    if (previous === jobKey) {
      // Resume from the last checkpoint whose state hashes to its trace entry.
      try {
        const trace = decodeTrace(await readFile(join(spec.workDir, 'trace.json'), 'utf8'));
        const s = trace.stepHashes.length - 1;
        if (bytesToHex(trace.stepHashes[0]) === bytesToHex(stepHashes[0]) && s >= 1 && s <= spec.steps) {
          for (let i = 0; i <= s; i++) checkpoints.push(new Uint8Array(await readFile(join(spec.workDir, `state-${i}.safetensors`))));
          const ckpt = await decodeState(checkpoints[s]);
          if (ckpt.step === s && bytesToHex(ckpt.hash) === bytesToHex(trace.stepHashes[s])) {
            state = ckpt.state;
            stepHashes = [...trace.stepHashes];
            resumedFrom = s;
          }
        }
      } catch {
        // An unreadable or inconsistent checkpoint: redo the chunk from the start.
      }
      if (resumedFrom === 0) checkpoints.length = 0;
    } else {
      await rm(spec.workDir, { recursive: true, force: true });
      await mkdir(spec.workDir, { recursive: true });
      await atomicWrite(keyPath, jobKey);
    }
    if (resumedFrom === 0) {
      const c0 = await encodeState(identity, 0, initial, spec.lr);
      checkpoints.push(c0.bytes);
      await atomicWrite(join(spec.workDir, 'state-0.safetensors'), c0.bytes);
    }
  } else {
    checkpoints.push((await encodeState(identity, 0, initial, spec.lr)).bytes);
  }

  const lossBefore = (await spec.backend.evaluate(bb, initial, spec.chunk)).meanQ16;
  for (let s = resumedFrom + 1; s <= spec.steps; s++) {
    const t0 = process.hrtime.bigint();
    const r = await spec.backend.step(bb, state, spec.chunk, s, { lr: spec.lr });
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    state = s === spec.tamperAfterStep ? tamperState(r.state) : r.state;
    stepHashes.push(s === spec.tamperAfterStep ? stateHash(s, state) : r.hash);
    const ck = await encodeState(identity, s, state, spec.lr);
    checkpoints.push(ck.bytes);
    if (spec.workDir) {
      await atomicWrite(join(spec.workDir, `state-${s}.safetensors`), ck.bytes);
      await atomicWrite(join(spec.workDir, 'trace.json'), encodeTrace(makeTrace(stepHashes)));
    }
    spec.onStep?.(s, spec.steps, r.tokens, seconds);
  }
  const lossAfter = (await spec.backend.evaluate(bb, state, spec.chunk)).meanQ16;
  return { initial, final: state, stepHashes, lossBefore, lossAfter, resumedFrom, checkpoints };
}
