// The compute thread (src/train/thread.ts): runs the requests it is sent one at a time, in order,
// with the same functions the main thread would call (trainStep, evaluate), and posts each
// result back, its typed arrays moved rather than copied. An error a computation throws is posted
// back as data (name, message, codespace, code); the thread keeps serving.

import { isMainThread, type MessagePort, parentPort, workerData } from 'node:worker_threads';
import type { Backbone } from '../model/backbone.ts';
import { evaluate } from './evaluate.ts';
import { sequenceGradients, trainStep } from './step.ts';
import { splitSequences } from './sequences.ts';
import { pocDistanceOf, pocModelFor } from '../poc/compute.ts';
import { errorToData, type ThreadReply, type ThreadRequest, transferList } from './thread.ts';

let resident: { key: number; bb: Backbone } | undefined;

/** One request → its reply; an error the computation throws becomes an error reply. */
export function handleRequest(req: ThreadRequest): ThreadReply {
  try {
    if (req.op === 'poc') {
      const m = pocModelFor(req.seed, req.dims);
      return { id: req.id, ok: true, result: { distances: req.nonces.map((n) => pocDistanceOf(m, n)) } };
    }
    if (req.backbone) resident = { key: req.backboneKey, bb: req.backbone };
    if (!resident || resident.key !== req.backboneKey) throw new Error(`compute thread: backbone ${req.backboneKey} is not resident (holds ${resident?.key ?? 'none'})`);
    const result = req.op === 'step'
      ? trainStep(resident.bb, req.state, req.chunk, req.step, req.opts)
      : req.op === 'grads'
        ? sequenceGradients(resident.bb, req.state, splitSequences(req.seqs, resident.bb.cfg.seqLen), req.microBatch)
        : evaluate(resident.bb, req.state, req.bytes);
    return { id: req.id, ok: true, result };
  } catch (err) {
    return { id: req.id, ok: false, error: errorToData(err) };
  }
}

/** Answers every request that arrives on `port`, one at a time, in order. */
export function serveComputeRequests(port: MessagePort, handle: (req: ThreadRequest) => ThreadReply = handleRequest): void {
  port.on('message', (req: ThreadRequest) => {
    const reply = handle(req);
    port.postMessage(reply, reply.ok ? transferList(reply.result) : []);
  });
}

// Serve when this module is the one the thread was started for (thread.ts passes it in
// workerData.entry); imported anywhere else — the main thread, another entry — nothing runs.
const entry = !isMainThread && typeof workerData?.entry === 'string' ? new URL(workerData.entry).pathname : undefined;
if (parentPort && entry === new URL(import.meta.url).pathname) serveComputeRequests(parentPort);
