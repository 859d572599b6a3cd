import type { EventLog } from './events.ts';

/**
 * A broken invariant found by a block hook. DESIGN.md: "No tx can halt a block" — a hook never
 * throws on state a tx can influence; when such state is not what the module expects, the hook
 * does what keeps the chain exact (e.g. sweeps a surplus), then reports it with this event. The
 * node (app/app.ts) logs every one, counts them (`R3mesApp.invariantFailures`; exported as the
 * metric `r3mes_invariant_failures_total{module, invariant}` by app/metrics) and leaves the event in
 * FinalizeBlock's block events. Deterministic: every node emits
 * the same events at the same height.
 */
export const INVARIANT_EVENT = 'invariant_broken';

/** Emits `invariant_broken{module, invariant, detail*}` (`detail` not indexed). */
export function reportInvariant(events: EventLog, module: string, invariant: string, detail: string): void {
  events.emit(INVARIANT_EVENT, [['module', module], ['invariant', invariant], ['detail', detail, false]]);
}
