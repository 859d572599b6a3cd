/**
 * Mixed background load for `npm run test:load`: what made the devnet's verifiers miss their
 * deadlines on a busy machine (issue 12) was not CPU alone (two or eight busy loops did not
 * trigger it) but CPU together with disk syncs and many short-lived processes. This runs all
 * three until it is told to stop (SIGTERM/SIGINT) or `--seconds` pass, and prints what it did.
 *
 *   tsx scripts/load.ts [--cpu N] [--sync N] [--spawn N] [--seconds S]
 *
 * --cpu    busy-loop threads (default 6)
 * --sync   writers that write 64 KiB and fsync, in a loop (default 2)
 * --spawn  loops that start a short-lived process (`sh -c true`) one after another (default 4)
 * Bounded: every loop stops at the deadline (default 1800 s), and everything is local.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, writeSync, fsyncSync, closeSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const value = Number(process.argv[i + 1]);
  if (!Number.isInteger(value) || value < 0) throw new Error(`--${name} must be a non-negative integer, got "${process.argv[i + 1]}"`);
  return value;
}

const cpu = option('cpu', 6);
const syncWriters = option('sync', 2);
const spawners = option('spawn', 4);
const seconds = option('seconds', 1800);
const deadline = Date.now() + seconds * 1000;
let stopping = false;
const counts = { syncs: 0, processes: 0 };

const threads = Array.from({ length: cpu }, () => new Worker(
  `const end = ${deadline}; let x = 0; while (Date.now() < end) { for (let i = 0; i < 1e6; i++) x = (x * 31 + i) | 0; }`,
  { eval: true },
));

const dir = mkdtempSync(join(tmpdir(), 'r3mes-load-'));
const block = Buffer.alloc(64 * 1024, 7);

async function syncLoop(k: number): Promise<void> {
  const path = join(dir, `sync-${k}`);
  while (!stopping && Date.now() < deadline) {
    const fd = openSync(path, 'w');
    writeSync(fd, block);
    fsyncSync(fd);
    closeSync(fd);
    counts.syncs++;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

async function spawnLoop(): Promise<void> {
  while (!stopping && Date.now() < deadline) {
    await new Promise<void>((resolve) => {
      const child = spawn('sh', ['-c', 'true'], { stdio: 'ignore' });
      child.on('exit', () => resolve());
      child.on('error', () => resolve());
    });
    counts.processes++;
  }
}

function stop(): void {
  if (stopping) return;
  stopping = true;
  for (const thread of threads) void thread.terminate();
}
process.once('SIGTERM', stop);
process.once('SIGINT', stop);

console.log(`load: ${cpu} busy threads, ${syncWriters} fsync writers, ${spawners} process spawners, for at most ${seconds} s`);
const started = Date.now();
await Promise.all([
  ...Array.from({ length: syncWriters }, (_, k) => syncLoop(k)),
  ...Array.from({ length: spawners }, () => spawnLoop()),
]);
stop();
rmSync(dir, { recursive: true, force: true });
const elapsed = (Date.now() - started) / 1000;
console.log(`load: stopped after ${elapsed.toFixed(0)} s: ${counts.syncs} fsyncs (${(counts.syncs / elapsed).toFixed(0)}/s), ${counts.processes} processes (${(counts.processes / elapsed).toFixed(0)}/s)`);
