// The long-running roles' loop survives the ordinary: a failed pass is logged, shown in the stats
// (/health), retried with back-off; a success resets it; --once and fatal errors end it; SIGTERM
// stops it after the current pass.
import t from 'tap';
import { backoffMs, runRoleLoop } from '../src/roles/loop.ts';
import { buildWorkerServer } from '../src/roles/server.ts';
import { WorkerStats } from '../src/roles/stats.ts';

t.test('backoff doubles from the poll interval up to the ceiling', async (t) => {
  t.same([0, 1, 2, 3, 4, 10].map((f) => backoffMs(100, f, 1000)), [100, 100, 200, 400, 800, 1000]);
  t.equal(backoffMs(5000, 3, 1000), 5000, 'never below the poll interval');
});

t.test('a pass that throws does not end the loop; /health tells until a pass succeeds', async (t) => {
  const stats = new WorkerStats();
  const lines: string[] = [];
  const server = await buildWorkerServer({ stats });
  t.teardown(() => server.close());
  const health = async () => (await server.inject({ method: 'GET', url: '/health' })).json() as { ok: boolean; lastError: string | null; consecutiveFailures: number };
  let n = 0;
  const seen: Array<{ ok: boolean; consecutiveFailures: number }> = [];
  const result = await runRoleLoop({
    name: 'test', once: false, pollMs: 1, stats, log: (l) => lines.push(l), handleSignals: false, idleStatus: 'running',
    pass: async () => {
      n++;
      if (n > 1) seen.push(await health());
      if (n <= 3) throw new Error(`window 7 is aggregating: window not collecting (${n})`);
      return n;
    },
    stopAfter: (k) => k >= 5,
  });
  t.equal(result.passes, 2, 'two passes succeeded');
  t.equal(result.failures, 3, 'three failed and were retried');
  t.same(seen.map((h) => [h.ok, h.consecutiveFailures]), [[false, 1], [false, 2], [false, 3], [true, 0]], '/health follows the failures');
  const after = await health();
  t.equal(after.ok, true);
  t.match(after.lastError, /window not collecting \(3\)/, 'the last error stays visible after recovery');
  t.equal(stats.counters.pass_failures, 3);
  t.match(lines.join('\n'), /test: pass failed \(3 in a row\): .*window not collecting/);
});

t.test('--once: one pass, its error is thrown', async (t) => {
  const stats = new WorkerStats();
  await t.rejects(runRoleLoop({ name: 'x', once: true, pollMs: 1, stats, log: () => {}, handleSignals: false, pass: async () => { throw new Error('boom'); } }), /boom/);
  const r = await runRoleLoop({ name: 'x', once: true, pollMs: 1, stats, log: () => {}, handleSignals: false, pass: async () => 42 });
  t.same([r.last, r.passes, r.stoppedBy], [42, 1, 'once']);
});

t.test('a fatal error ends the loop', async (t) => {
  const stats = new WorkerStats();
  let n = 0;
  await t.rejects(runRoleLoop({
    name: 'x', once: false, pollMs: 1, stats, log: () => {}, handleSignals: false,
    isFatal: (e) => (e as Error).message === 'key gone',
    pass: async () => { n++; throw new Error(n < 3 ? 'flaky' : 'key gone'); },
  }), /key gone/);
  t.equal(n, 3, 'the transient ones were retried first');
});

t.test('SIGTERM: the current pass finishes, then the loop returns', async (t) => {
  const stats = new WorkerStats();
  const lines: string[] = [];
  const listeners = process.listenerCount('SIGTERM');
  let finished = 0;
  const r = await runRoleLoop({
    name: 'x', once: false, pollMs: 60_000, stats, log: (l) => lines.push(l),
    pass: async () => {
      if (finished === 0) process.emit('SIGTERM', 'SIGTERM');
      await new Promise((resolve) => setTimeout(resolve, 20));
      return ++finished;
    },
  });
  t.equal(r.stoppedBy, 'signal');
  t.equal(finished, 1, 'the pass in progress completed; no new pass and no 60 s wait');
  t.match(lines.join('\n'), /SIGTERM: stopping after the current pass/);
  t.equal(process.listenerCount('SIGTERM'), listeners, 'handlers removed');
});
