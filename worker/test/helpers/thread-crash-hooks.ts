// Two ways a compute thread dies (see thread-crash.ts): a step request for step 13 exits the
// thread with code 7; one for step 14 throws an uncaught error before the step is computed.
import { parentPort } from 'node:worker_threads';

parentPort!.on('message', (m: { op: string; step?: number }) => {
  if (m.op === 'step' && m.step === 13) process.exit(7);
  if (m.op === 'step' && m.step === 14) throw new Error('boom outside any request');
});
