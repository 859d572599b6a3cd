// The serving node's Prometheus metrics (`GET /metrics` beside /health and /stats): read at each
// scrape from the same counters and queue /stats shows, so the two agree. One registry per server.

import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { GenerationQueue } from './queue.ts';
import type { InferenceCounters } from './server.ts';

export interface ServeMetrics {
  readonly contentType: string;
  metrics(): Promise<string>;
}

const OUTCOMES = ['completed', 'rejectedBusy', 'badRequests', 'aborted', 'failed'] as const satisfies ReadonlyArray<keyof InferenceCounters>;

export function serveMetrics(counters: InferenceCounters, queue: GenerationQueue, head: () => { id: string }, options: { processMetrics?: boolean } = {}): ServeMetrics {
  const registry = new Registry();
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  new Counter({
    name: 'r3mes_serve_requests_total', help: 'Generation requests received.', registers,
    collect() { this.reset(); this.inc(counters.requests); },
  });
  new Counter({
    name: 'r3mes_serve_outcomes_total', help: 'Generation requests by outcome (completed, rejectedBusy = 429, badRequests = 4xx, aborted = client gone, failed = 5xx).',
    labelNames: ['outcome'], registers,
    collect() { this.reset(); for (const outcome of OUTCOMES) this.inc({ outcome }, counters[outcome]); },
  });
  new Counter({
    name: 'r3mes_serve_tokens_total', help: 'Tokens of completed generations, by kind (prompt, completion).',
    labelNames: ['kind'], registers,
    collect() { this.reset(); this.inc({ kind: 'prompt' }, counters.promptTokens); this.inc({ kind: 'completion' }, counters.completionTokens); },
  });
  new Gauge({
    name: 'r3mes_serve_queue', help: 'Requests generating (busy) and waiting (queued).', labelNames: ['state'], registers,
    collect() { this.set({ state: 'busy' }, queue.busy ? 1 : 0); this.set({ state: 'queued' }, queue.depth); },
  });
  new Gauge({
    name: 'r3mes_serve_model_info', help: 'Always 1: the model head served, as a label.', labelNames: ['model'], registers,
    collect() { this.reset(); this.set({ model: head().id }, 1); },
  });
  return { contentType: registry.contentType, metrics: () => registry.metrics() };
}
