// The worker's Prometheus metrics (`GET /metrics` beside /stats and /health, roles/server.ts).
// Every value is read from the worker's WorkerStats when scraped — the same fields /stats shows,
// so the two agree — except the re-execution histogram, which WorkerStats feeds one observation
// at a time (its count and sum equal /stats' `reexecutions`). One registry per server (never
// prom-client's global one).

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { DUTY_KINDS, SUBMISSION_OUTCOMES, type WorkerStats } from './stats.ts';

export interface WorkerMetrics {
  readonly registry: Registry;
  readonly contentType: string;
  metrics(): Promise<string>;
}

/** Re-executions take seconds (a devnet chunk) to many minutes (a 2B model on a CPU). */
const REEXECUTION_BUCKETS = [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

/** A counter whose values are read from `read()` at each scrape (labels → running total). */
function counterOf<L extends string>(
  registry: Registry, name: string, help: string, labelNames: readonly L[], read: () => Array<[Partial<Record<L, string>>, number]>,
): void {
  new Counter<L>({
    name, help, labelNames, registers: [registry],
    collect() {
      this.reset();
      for (const [labels, value] of read()) this.inc(labels, value);
    },
  });
}

export function workerMetrics(stats: WorkerStats, options: { processMetrics?: boolean } = {}): WorkerMetrics {
  const registry = new Registry();
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });
  const registers = [registry];

  new Gauge({
    name: 'r3mes_worker_info', help: 'Always 1: what this worker is (role, training backend, adapter, address), as labels.',
    labelNames: ['role', 'backend', 'adapter', 'address'], registers,
    collect() {
      this.reset();
      this.set({ role: stats.role, backend: stats.backend, adapter: stats.adapter, address: stats.address }, 1);
    },
  });
  counterOf(registry, 'r3mes_worker_training_steps_total', 'Training steps run since the worker started (train role).', [], () => [[{}, stats.steps]]);
  counterOf(registry, 'r3mes_worker_training_tokens_total', 'Tokens trained on since the worker started (train role).', [], () => [[{}, stats.tokens]]);
  new Gauge({
    name: 'r3mes_worker_training_tokens_per_second', help: 'Tokens per second of the last training step.', registers,
    collect() { this.set(stats.tokensPerSecond); },
  });
  new Gauge({
    name: 'r3mes_worker_training_loss', help: 'Loss of the last trained chunk before and after training, nats per byte (absent before the first job).',
    labelNames: ['when'], registers,
    collect() {
      this.reset();
      if (stats.lossBefore !== null) this.set({ when: 'before' }, stats.lossBefore);
      if (stats.lossAfter !== null) this.set({ when: 'after' }, stats.lossAfter);
    },
  });
  counterOf(registry, 'r3mes_worker_submissions_total',
    'Txs sent as the role\'s work (gradient submissions, challenges, duty answers, aggregation commits/reveals) per broadcast, by outcome: accepted, refused (non-zero code), failed (no answer).',
    ['outcome'], () => SUBMISSION_OUTCOMES.map((outcome) => [{ outcome }, stats.submissionOutcomes[outcome]]));
  const reexecution = new Histogram({
    name: 'r3mes_worker_reexecution_duration_seconds', help: 'Wall-clock seconds of each re-execution of a submission, by role (verify, arbitrate, watch).',
    labelNames: ['role'], buckets: REEXECUTION_BUCKETS, registers,
  });
  // Fed from here on: the server is built before the role's first pass, so count and sum equal /stats' `reexecutions`.
  stats.onReexecution((role, seconds) => reexecution.observe({ role }, seconds));
  counterOf(registry, 'r3mes_worker_duties_missed_total',
    'Verification duties drawn to this worker whose deadline passed without its answer on chain, by kind (l1, l2, l3).',
    ['kind'], () => [...new Set([...DUTY_KINDS, ...Object.keys(stats.dutiesMissed)])].map((kind) => [{ kind }, stats.dutiesMissed[kind] ?? 0]));
  counterOf(registry, 'r3mes_worker_events_total', 'The role\'s own counts (/stats counters: watch seen, selected, reexecuted, matches, mismatches, challenged, …), by event.',
    ['event'], () => Object.entries(stats.counters).map(([event, value]) => [{ event }, value]));
  counterOf(registry, 'r3mes_worker_poc_nonces_total', 'PoC nonces computed since the worker started (poc), by group.', ['group'],
    () => (stats.poc?.groups ?? []).map((g) => [{ group: String(g.group) }, g.nonces]));
  counterOf(registry, 'r3mes_worker_poc_claims_total', 'PoC nonces whose distance is below r_target (poc).', [], () => (stats.poc ? [[{}, stats.poc.claims]] : []));
  new Gauge({
    name: 'r3mes_worker_poc_nonces_per_minute', help: 'PoC nonces per minute, by group (group="all": the worker).', labelNames: ['group'], registers,
    collect() {
      this.reset();
      if (!stats.poc) return;
      this.set({ group: 'all' }, stats.poc.noncesPerMinute);
      for (const g of stats.poc.groups) this.set({ group: String(g.group) }, g.noncesPerMinute);
    },
  });
  new Gauge({
    name: 'r3mes_worker_device_info', help: 'Always 1: a compute device in use, its adapter and the memory figure its profile used (bytes), as labels.',
    labelNames: ['device', 'adapter', 'memory_source'], registers,
    collect() {
      this.reset();
      for (const d of stats.devices) this.set({ device: String(d.id), adapter: d.adapter, memory_source: d.memorySource }, 1);
    },
  });
  new Gauge({
    name: 'r3mes_worker_device_memory_bytes', help: 'Memory figure of each device the profile planned with (WebGPU reports none: declared or the adapter\'s maxBufferSize).',
    labelNames: ['device'], registers,
    collect() {
      this.reset();
      for (const d of stats.devices) this.set({ device: String(d.id) }, d.memoryBytes);
    },
  });
  new Gauge({
    name: 'r3mes_worker_device_nonces_per_minute', help: 'PoC nonces per minute of the group each device belongs to, per device.', labelNames: ['device'], registers,
    collect() {
      this.reset();
      for (const d of stats.devices) this.set({ device: String(d.id) }, d.noncesPerMinute);
    },
  });
  new Gauge({
    name: 'r3mes_worker_device_tokens_per_second', help: 'Tokens per second per device (training: its share of the last step; PoC: its group\'s input tokens).', labelNames: ['device'], registers,
    collect() {
      this.reset();
      for (const d of stats.devices) this.set({ device: String(d.id) }, d.tokensPerSecond);
    },
  });
  new Gauge({
    name: 'r3mes_worker_last_error', help: '1 when the worker\'s last pass ended in an error (/health\'s lastError), else 0.', registers,
    collect() { this.set(stats.lastError === null ? 0 : 1); },
  });
  return { registry, contentType: registry.contentType, metrics: () => registry.metrics() };
}
