import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';

/** Finds the `cometbft` binary: $COMETBFT, then PATH, then Go's bin directory. */
export function findCometbft(): string {
  const candidates = [process.env.COMETBFT, 'cometbft'];
  try {
    const gopath = execFileSync('go', ['env', 'GOPATH'], { encoding: 'utf8' }).trim();
    candidates.push(join(gopath, 'bin', 'cometbft'));
  } catch {
    // no Go toolchain: PATH only
  }
  for (const candidate of candidates) {
    if (candidate === undefined) continue;
    try {
      execFileSync(candidate, ['version'], { stdio: 'ignore' });
      return candidate;
    } catch {
      // try the next
    }
  }
  throw new Error('cometbft not found: run `bash scripts/install-cometbft` (installs v0.38.25 with `go install`) or set $COMETBFT');
}

export function cometbftInit(binary: string, home: string): void {
  if (existsSync(join(home, 'config', 'genesis.json'))) throw new Error(`${home} is already initialised (config/genesis.json exists); use --overwrite or another --home`);
  execFileSync(binary, ['init', '--home', home], { stdio: 'ignore' });
}

/** The fewest Go scheduler Ps CometBFT runs with (see cometbftEnv). */
export const COMETBFT_MIN_GOMAXPROCS = 8;

/**
 * The environment CometBFT is started with: `base` with GOMAXPROCS raised to at least
 * COMETBFT_MIN_GOMAXPROCS (or the CPU count, if larger), unless `base` sets GOMAXPROCS itself.
 *
 * Why: CometBFT v0.38's socket ABCI client (abci/client/socket_client.go) creates its flush
 * timer with `flushThrottleMS = 20` passed as a time.Duration, so it fires after 20 ns, not
 * 20 ms. Each CheckTx the mempool queues arms it; when it fires before the client's send
 * goroutine is back in its select, it re-arms for another 20 ns, each time in a fresh goroutine
 * that Go puts ahead of the send goroutine on the same P. That P spins on timers until another
 * P steals the send goroutine. With GOMAXPROCS = the 2 cores of a small machine the other P is
 * often busy, so each tx's CheckTx waits and CometBFT burns CPU (a third of its profile at
 * 80 tx/s, bench/README.md "Low load"); spare Ps steal it at once. The Cosmos SDK's simd does not
 * hit this: it runs CometBFT in-process, with no socket client.
 */
export function cometbftEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  if (base.GOMAXPROCS !== undefined && base.GOMAXPROCS.trim() !== '') return { ...base };
  return { ...base, GOMAXPROCS: String(Math.max(COMETBFT_MIN_GOMAXPROCS, availableParallelism())) };
}

/** Starts `cometbft start` for a home (environment: cometbftEnv); its output goes to `logFile`-bound stream. */
export function startCometbft(binary: string, home: string, output: NodeJS.WritableStream): ChildProcess {
  const child = spawn(binary, ['start', '--home', home], { stdio: ['ignore', 'pipe', 'pipe'], env: cometbftEnv() });
  child.stdout?.pipe(output, { end: false });
  child.stderr?.pipe(output, { end: false });
  return child;
}
