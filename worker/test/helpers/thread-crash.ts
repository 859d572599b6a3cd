// A compute thread entry for worker/test/train-thread.test.ts: the real request handler
// (src/train/thread-entry.ts), except that a step request for step 13 exits the thread with
// code 7, and one for step 14 throws an uncaught error — two ways a thread dies.
import { parentPort } from 'node:worker_threads';
import { handleRequest, serveComputeRequests } from '../../src/train/thread-entry.ts';

serveComputeRequests(parentPort!, (req) => {
  if (req.op === 'step' && req.step === 13) process.exit(7);
  if (req.op === 'step' && req.step === 14) throw new Error('boom outside any request');
  return handleRequest(req);
});
