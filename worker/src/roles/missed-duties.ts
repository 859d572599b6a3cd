// Which verification duties this worker missed (for /stats' `dutiesMissed` and the metric
// r3mes_worker_duties_missed_total). The chain lists a duty (roles/verify.ts selectDuties) while it
// is drawn to this key, unanswered and within its deadline. A duty that leaves the list before its
// deadline was answered (or settled without this key); one that leaves it after its deadline was
// missed unless this worker's answer (the reveal, or the report that answers an L1/L2 duty) is in
// the journal as included. Counted once per duty, for the duties seen while this process runs.

import type { Duty, DutyKind } from './verify.ts';
import type { WorkerStats } from './stats.ts';

export class MissedDuties {
  private readonly open = new Map<string, { kind: DutyKind; deadline: bigint }>();

  constructor(private readonly stats: WorkerStats) {}

  /**
   * After a pass's selection at `height`: `listed` are the duties the chain shows open;
   * `answered(key)` says whether this worker's answer to the duty `key` is on chain.
   * Returns the keys newly counted as missed.
   */
  observe(height: bigint, listed: readonly Duty[], answered: (key: string) => boolean): string[] {
    const missed: string[] = [];
    const now = new Set(listed.map((d) => d.key));
    for (const [key, duty] of this.open) {
      if (now.has(key)) continue;
      this.open.delete(key);
      if (height > duty.deadline && !answered(key)) {
        this.stats.recordMissedDuty(duty.kind);
        missed.push(key);
      }
    }
    for (const duty of listed) this.open.set(duty.key, { kind: duty.kind, deadline: duty.deadline });
    return missed;
  }
}
