// What the worker is doing, for `GET /stats` and `GET /health`. Plain numbers and strings; the
// roles update it as they go. Wall-clock time is fine here: nothing in it is hashed.

export interface StatsSnapshot {
  role: string;
  status: string;
  backend: string;
  adapter: string;
  address: string;
  window: string | null;
  chunk: string | null;
  step: number;
  steps: number;
  stepsTotal: number;
  tokens: number;
  tokensPerSecond: number;
  lossBefore: number | null;
  lossAfter: number | null;
  submissions: number;
  lastCid: string | null;
  lastTxhash: string | null;
  lastError: string | null;
  /** when lastError happened (ISO time) */
  lastErrorAt: string | null;
  /** passes that failed in a row (0 after a pass that succeeded) */
  consecutiveFailures: number;
  /** role-specific counts (watch: seen, selected, reexecuted, matches, mismatches, challenged, …) */
  counters: Record<string, number>;
  uptimeSeconds: number;
}

export class WorkerStats {
  private readonly startedAt = Date.now();
  role = 'idle';
  status = 'starting';
  backend = '';
  adapter = '';
  address = '';
  window: string | null = null;
  chunk: string | null = null;
  /** step within the current job, of stepsTotal */
  step = 0;
  stepsTotal = 0;
  /** all steps and tokens trained since start */
  steps = 0;
  tokens = 0;
  tokensPerSecond = 0;
  lossBefore: number | null = null;
  lossAfter: number | null = null;
  submissions = 0;
  lastCid: string | null = null;
  lastTxhash: string | null = null;
  lastError: string | null = null;
  lastErrorAt: string | null = null;
  consecutiveFailures = 0;
  counters: Record<string, number> = {};

  count(name: string, by = 1): void {
    this.counters[name] = (this.counters[name] ?? 0) + by;
  }

  snapshot(): StatsSnapshot {
    return {
      role: this.role, status: this.status, backend: this.backend, adapter: this.adapter, address: this.address,
      window: this.window, chunk: this.chunk, step: this.step, steps: this.steps, stepsTotal: this.stepsTotal,
      tokens: this.tokens, tokensPerSecond: Math.round(this.tokensPerSecond), lossBefore: this.lossBefore, lossAfter: this.lossAfter,
      submissions: this.submissions, lastCid: this.lastCid, lastTxhash: this.lastTxhash, lastError: this.lastError,
      lastErrorAt: this.lastErrorAt, consecutiveFailures: this.consecutiveFailures,
      counters: { ...this.counters }, uptimeSeconds: Math.floor((Date.now() - this.startedAt) / 1000),
    };
  }
}
