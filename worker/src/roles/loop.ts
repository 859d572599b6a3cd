// The loop every long-running role (train, verify, arbitrate, watch, aggregate) runs: one pass,
// then wait, for ever, surviving the ordinary.
//
// - A pass that throws is logged, recorded in the stats (/health shows it), and tried again after
//   a back-off that doubles from the poll interval up to `maxBackoffMs`; a pass that succeeds
//   resets it. A node that restarts, a store that is briefly away, a tx refused because a window
//   changed phase between our read and its inclusion: the next pass reads the chain anew, and the
//   roles' journals make a retry safe (nothing is signed twice for one duty).
// - Only errors a retry cannot fix end the loop (`isFatal`: a missing key, an unusable backend or
//   model file; those are checked before the loop starts, mostly).
// - SIGINT/SIGTERM: the current pass finishes (so whatever it signed is journaled), then the loop
//   returns; a second signal exits at once. Waiting between passes ends immediately on a signal.
// - `once`: one pass; its error is thrown (the caller prints it and exits 1).

import type { WorkerStats } from './stats.ts';

export interface RoleLoopOptions<T> {
  readonly name: string;
  readonly once: boolean;
  readonly pollMs: number;
  readonly stats: WorkerStats;
  readonly log: (line: string) => void;
  readonly pass: () => Promise<T>;
  /** The status to show after a successful pass (default: leave what the pass set). */
  readonly idleStatus?: string;
  /** Back-off ceiling after consecutive failures (default 15 s: duties have deadlines; never below pollMs). */
  readonly maxBackoffMs?: number;
  /** An error no retry can fix: the loop rethrows it. Default: none is. */
  readonly isFatal?: (err: unknown) => boolean;
  /** Install SIGINT/SIGTERM handlers for a graceful stop (default true). */
  readonly handleSignals?: boolean;
  /** Stop after this pass when it returns true (tests); default never. */
  readonly stopAfter?: (outcome: T) => boolean;
  readonly formatError?: (err: unknown) => string;
}

export interface RoleLoopResult<T> {
  /** The last successful pass's outcome, if any. */
  readonly last?: T;
  readonly passes: number;
  readonly failures: number;
  readonly stoppedBy: 'once' | 'signal' | 'stopAfter';
}

/** Back-off before pass n+1 after `failures` consecutive failures: pollMs · 2^(failures−1), capped. */
export function backoffMs(pollMs: number, failures: number, maxMs: number): number {
  if (failures <= 0) return pollMs;
  const cap = Math.max(pollMs, maxMs);
  return Math.min(cap, pollMs * 2 ** Math.min(failures - 1, 30));
}

/** Verifier duties have deadlines of tens of blocks: a longer back-off could miss one. */
export const DEFAULT_MAX_BACKOFF_MS = 15_000;

const defaultFormat = (err: unknown) => (err instanceof Error ? err.message : String(err));

export async function runRoleLoop<T>(o: RoleLoopOptions<T>): Promise<RoleLoopResult<T>> {
  const format = o.formatError ?? defaultFormat;
  let stopping = false;
  let wake: (() => void) | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      o.log(`${o.name}: ${signal} again: exiting now`);
      process.exit(130);
    }
    stopping = true;
    o.log(`${o.name}: ${signal}: stopping after the current pass (again to exit now)`);
    o.stats.status = 'stopping';
    wake?.();
  };
  const handle = o.handleSignals ?? true;
  if (handle) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  let last: T | undefined;
  let passes = 0;
  let failures = 0;
  let consecutive = 0;
  try {
    for (;;) {
      let ok = false;
      try {
        last = await o.pass();
        ok = true;
        passes++;
        consecutive = 0;
        o.stats.consecutiveFailures = 0;
        if (o.idleStatus !== undefined && !stopping) o.stats.status = o.idleStatus;
      } catch (err) {
        if (o.once || o.isFatal?.(err)) throw err;
        failures++;
        consecutive++;
        o.stats.status = 'error';
        o.stats.lastError = format(err);
        o.stats.lastErrorAt = new Date().toISOString();
        o.stats.consecutiveFailures = consecutive;
        o.stats.count('pass_failures');
        o.log(`${o.name}: pass failed (${consecutive} in a row): ${format(err)}; next pass in ${backoffMs(o.pollMs, consecutive, o.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS)} ms`);
      }
      if (o.once) return { last, passes, failures, stoppedBy: 'once' };
      if (ok && last !== undefined && o.stopAfter?.(last)) return { last, passes, failures, stoppedBy: 'stopAfter' };
      if (stopping) return { last, passes, failures, stoppedBy: 'signal' };
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, backoffMs(o.pollMs, consecutive, o.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS));
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
      if (stopping) return { last, passes, failures, stoppedBy: 'signal' };
    }
  } finally {
    if (handle) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
}
