// The compute thread (src/train/thread.ts): runs the requests it is sent one at a time, in order,
// with the same functions the main thread would call (trainStep, evaluate), and posts each
// result back, its typed arrays moved rather than copied. An error a computation throws is posted
// back as data (name, message, codespace, code); the thread keeps serving.

import { isMainThread, type MessagePort, parentPort } from 'node:worker_threads';
import type { Backbone } from '../model/backbone.ts';
import { evaluate } from './evaluate.ts';
import { trainStep } from './step.ts';
import { errorToData, type ThreadReply, type ThreadRequest, transferList } from './thread.ts';

let resident: { key: number; bb: Backbone } | undefined;

/** Answers every request that arrives on `port`, one at a time, in order. */
export function serveComputeRequests(port: MessagePort): void {
  port.on('message', (req: ThreadRequest) => {
    let reply: ThreadReply;
    try {
      if (req.backbone) resident = { key: req.backboneKey, bb: req.backbone };
      if (!resident || resident.key !== req.backboneKey) throw new Error(`compute thread: backbone ${req.backboneKey} is not resident (holds ${resident?.key ?? 'none'})`);
      const result = req.op === 'step'
        ? trainStep(resident.bb, req.state, req.chunk, req.step, req.opts)
        : evaluate(resident.bb, req.state, req.bytes);
      reply = { id: req.id, ok: true, result };
    } catch (err) {
      reply = { id: req.id, ok: false, error: errorToData(err) };
    }
    port.postMessage(reply, reply.ok ? transferList(reply.result) : []);
  });
}

// Started by thread-boot.mjs as a worker: serve. Imported anywhere else (the main thread): nothing runs.
if (!isMainThread && parentPort) serveComputeRequests(parentPort);
