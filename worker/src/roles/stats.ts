// What the worker is doing, for `GET /stats`, `GET /health` and `GET /metrics` (roles/metrics.ts
// reads the same fields, so /stats and /metrics agree). Plain numbers and strings; the roles update
// it as they go. Wall-clock time is fine here: nothing in it is hashed.

/**
 * What became of a tx a role sent as its work (a gradient submission, a challenge, a duty answer,
 * an aggregation commit or reveal), per broadcast: `accepted` (in a block with code 0), `refused`
 * (the chain answered a non-zero code), `failed` (no answer: the node was unreachable or the tx was
 * not seen; the role looks it up again, and a later broadcast of the same bytes counts again).
 */
export type SubmissionOutcome = 'accepted' | 'refused' | 'failed';
export const SUBMISSION_OUTCOMES: readonly SubmissionOutcome[] = ['accepted', 'refused', 'failed'];

/** Verification duties by kind (roles/verify.ts): L1 checks, L2 answers, L3 panel seats. */
export const DUTY_KINDS = ['l1', 'l2', 'l3'] as const;

/**
 * One compute device as /stats shows it (`r3mes-worker poc`, multi-device training): what the
 * adapter says of itself, the memory figure the profile used and where it came from, and its rates.
 */
export interface DeviceTelemetry {
  id: number;
  /** one-line adapter description (vendor / architecture / device / description) */
  adapter: string;
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** bytes the memory profile planned with, and their source (`declared` or `maxBufferSize`) */
  memoryBytes: number;
  memorySource: string;
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
  /** PoC group of the device (null: in none) */
  group: number | null;
  /** bytes the profile places on the device (weights, scratch, a micro-batch) */
  plannedBytes: number;
  nonces: number;
  noncesPerMinute: number;
  tokensPerSecond: number;
}

/** The PoC run (`r3mes-worker poc`): null in other roles. */
export interface PocTelemetry {
  seed: string;
  profile: string;
  rTarget: string;
  nonces: number;
  claims: number;
  noncesPerMinute: number;
  /** per group: devices, nonces, rate */
  groups: Array<{ group: number; devices: number[]; nonces: number; noncesPerMinute: number; tokensPerSecond: number }>;
}

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
  /** txs sent as the role's work, by outcome (see SubmissionOutcome); `submissions` = accepted */
  submissionOutcomes: Record<SubmissionOutcome, number>;
  /** re-executions (verify, arbitrate, watch): how many and their wall-clock seconds in all */
  reexecutions: Record<string, { count: number; seconds: number }>;
  /** verification duties whose deadline passed with no answer of this worker on chain, by kind */
  dutiesMissed: Record<string, number>;
  /** compute devices in use (empty when the role runs on the CPU alone or has not opened any) */
  devices: DeviceTelemetry[];
  poc: PocTelemetry | null;
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
  /** txs sent as the role's work that the chain accepted (submissionOutcomes.accepted) */
  submissions = 0;
  lastCid: string | null = null;
  lastTxhash: string | null = null;
  lastError: string | null = null;
  lastErrorAt: string | null = null;
  consecutiveFailures = 0;
  counters: Record<string, number> = {};
  submissionOutcomes: Record<SubmissionOutcome, number> = { accepted: 0, refused: 0, failed: 0 };
  reexecutions: Record<string, { count: number; seconds: number }> = {};
  dutiesMissed: Record<string, number> = { l1: 0, l2: 0, l3: 0 };
  devices: DeviceTelemetry[] = [];
  poc: PocTelemetry | null = null;
  private readonly reexecutionObservers: Array<(role: string, seconds: number) => void> = [];

  count(name: string, by = 1): void {
    this.counters[name] = (this.counters[name] ?? 0) + by;
  }

  /** A tx sent as the role's work came back with `outcome`. */
  recordSubmission(outcome: SubmissionOutcome): void {
    this.submissionOutcomes[outcome] += 1;
    if (outcome === 'accepted') this.submissions += 1;
  }

  /** A re-execution by `role` (verify, arbitrate, watch) took `seconds` of wall-clock time. */
  recordReexecution(role: string, seconds: number): void {
    const total = (this.reexecutions[role] ??= { count: 0, seconds: 0 });
    total.count += 1;
    total.seconds += seconds;
    for (const observe of this.reexecutionObservers) observe(role, seconds);
  }

  /** Calls `observe` with each later re-execution (the /metrics histogram keeps the distribution). */
  onReexecution(observe: (role: string, seconds: number) => void): void {
    this.reexecutionObservers.push(observe);
  }

  /** A verification duty of `kind` passed its deadline without this worker's answer on chain. */
  recordMissedDuty(kind: string): void {
    this.dutiesMissed[kind] = (this.dutiesMissed[kind] ?? 0) + 1;
  }

  snapshot(): StatsSnapshot {
    return {
      role: this.role, status: this.status, backend: this.backend, adapter: this.adapter, address: this.address,
      window: this.window, chunk: this.chunk, step: this.step, steps: this.steps, stepsTotal: this.stepsTotal,
      tokens: this.tokens, tokensPerSecond: Math.round(this.tokensPerSecond), lossBefore: this.lossBefore, lossAfter: this.lossAfter,
      submissions: this.submissions, lastCid: this.lastCid, lastTxhash: this.lastTxhash, lastError: this.lastError,
      lastErrorAt: this.lastErrorAt, consecutiveFailures: this.consecutiveFailures,
      counters: { ...this.counters }, submissionOutcomes: { ...this.submissionOutcomes },
      reexecutions: Object.fromEntries(Object.entries(this.reexecutions).map(([role, r]) => [role, { ...r }])),
      dutiesMissed: { ...this.dutiesMissed },
      devices: this.devices.map((d) => ({ ...d, noncesPerMinute: Math.round(d.noncesPerMinute), tokensPerSecond: Math.round(d.tokensPerSecond) })),
      poc: this.poc && { ...this.poc, noncesPerMinute: Math.round(this.poc.noncesPerMinute), groups: this.poc.groups.map((g) => ({ ...g, devices: [...g.devices], noncesPerMinute: Math.round(g.noncesPerMinute), tokensPerSecond: Math.round(g.tokensPerSecond) })) },
      uptimeSeconds: Math.floor((Date.now() - this.startedAt) / 1000),
    };
  }
}
