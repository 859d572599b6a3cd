/**
 * The node's Prometheus metrics (`GET /metrics` on the REST listener; app/metrics/README.md).
 *
 * `instrument(app)` wraps the state machine the ABCI server calls: each call goes to the app
 * unchanged (same arguments, same answer, same sync/async shape, its errors untouched), and what
 * the call took and answered is recorded afterwards. Recording never reaches consensus: it reads
 * answers and wall-clock time (allowed here: metrics are not state), and a recorder that throws is
 * caught, logged and counted in `r3mes_metrics_errors_total` — the app's answer goes out as if
 * nothing happened. Counts of committed things are taken at Commit from the FinalizeBlock answer
 * of that height, so a FinalizeBlock that CometBFT replays is not counted twice.
 *
 * Gauges of state (open windows, open disputes) are read from the committed state when scraped:
 * they are the state of the last commit, and blocks pay nothing for them.
 *
 * One registry per instance (never prom-client's global one), so two nodes in one process (tests)
 * do not share counters.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type {
  Event, RequestCheckTx, RequestFinalizeBlock, ResponseCheckTx, ResponseFinalizeBlock,
} from 'cosmjs-types/tendermint/abci/types';
import { CheckTxType } from 'cosmjs-types/tendermint/abci/types';
import type { AbciApplication } from '../abci/application.ts';
import type { R3mesApp } from '../app.ts';
import { INVARIANT_EVENT } from '../core/invariants.ts';
import { DisputeStage } from '../../proto/gen/r3mes/verification/v1/types.ts';

export interface NodeMetricsOptions {
  /** Where a failing recorder is reported (first failure of each hook, then every 1000th). */
  log?: (line: string) => void;
  /** The standard process metrics (`process_*`, `nodejs_*`); default true. */
  processMetrics?: boolean;
}

/** The REST server's view of an exporter (app/rest/server.ts `metrics` option). */
export interface MetricsExporter {
  readonly contentType: string;
  metrics(): Promise<string>;
}

type MaybePromise<T> = T | Promise<T>;

/** Stages of an open dispute, by layer (verification README "State"). */
const OPEN_STAGES: ReadonlyArray<readonly [DisputeStage, layer: string, stage: string]> = [
  [DisputeStage.DISPUTE_STAGE_L2_DRAW, 'l2', 'l2_draw'],
  [DisputeStage.DISPUTE_STAGE_L2_ANSWER, 'l2', 'l2_answer'],
  [DisputeStage.DISPUTE_STAGE_L3_DRAW, 'l3', 'l3_draw'],
  [DisputeStage.DISPUTE_STAGE_L3_VOTING, 'l3', 'l3_voting'],
  [DisputeStage.DISPUTE_STAGE_BISECTION, 'bisection', 'bisection'],
];

/** Seconds between committed blocks, from their header times. */
const BLOCK_INTERVAL_BUCKETS = [0.25, 0.5, 1, 1.5, 2, 3, 5, 10, 30, 60, 120];
const CHECKTX_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1];
const FINALIZE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const attribute = (event: Event, key: string): string => event.attributes.find((a) => a.key === key)?.value ?? '';
const headerSeconds = (time: RequestFinalizeBlock['time']): number => Number(time.seconds) + time.nanos / 1e9;

export class NodeMetrics implements MetricsExporter {
  readonly registry = new Registry();
  private readonly log: (line: string) => void;
  private readonly errors: Counter<'hook'>;
  private readonly errorCounts = new Map<string, number>();

  private readonly height: Gauge;
  private readonly blockTime: Gauge;
  private readonly blockInterval: Histogram;
  private readonly txsCommitted: Counter<'codespace' | 'code'>;
  private readonly checkTxDuration: Histogram;
  private readonly finalizeDuration: Histogram;
  private readonly checkTxAnswers: Counter<'type' | 'codespace' | 'code'>;
  private readonly disputesResolved: Counter<'outcome'>;
  private readonly slashes: Counter<'role' | 'jailed'>;
  private readonly invariantFailures: Counter<'module' | 'invariant'>;

  /** The FinalizeBlock answer of the height about to be committed. */
  private finalized: { height: bigint; time: number; response: ResponseFinalizeBlock } | undefined;
  /** Height and header time of the last block committed while this instance watched. */
  private last: { height: bigint; time: number } | undefined;

  constructor(private readonly app: R3mesApp, options: NodeMetricsOptions = {}) {
    this.log = options.log ?? (() => {});
    const registers = [this.registry];
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.height = new Gauge({ name: 'r3mes_block_height', help: 'Height of the last block this node committed.', registers });
    this.blockTime = new Gauge({ name: 'r3mes_block_time_seconds', help: 'Header time of the last committed block, Unix seconds.', registers });
    this.blockInterval = new Histogram({
      name: 'r3mes_block_interval_seconds', help: 'Seconds between the header times of consecutive committed blocks.', buckets: BLOCK_INTERVAL_BUCKETS, registers,
    });
    this.txsCommitted = new Counter({
      name: 'r3mes_txs_committed_total', help: 'Txs in committed blocks by result codespace and code (code 0: success); the proposer\'s beacon tx is not counted.',
      labelNames: ['codespace', 'code'], registers,
    });
    this.checkTxDuration = new Histogram({
      name: 'r3mes_checktx_duration_seconds', help: 'Wall-clock seconds of CheckTx per tx (a batch of CheckTx counts its mean for each of its txs).',
      buckets: CHECKTX_BUCKETS, registers,
    });
    this.finalizeDuration = new Histogram({
      name: 'r3mes_finalize_block_duration_seconds', help: 'Wall-clock seconds of FinalizeBlock.', buckets: FINALIZE_BUCKETS, registers,
    });
    this.checkTxAnswers = new Counter({
      name: 'r3mes_mempool_checktx_total', help: 'CheckTx answers to the mempool by type (new, recheck), codespace and code (code 0: admitted).',
      labelNames: ['type', 'codespace', 'code'], registers,
    });
    this.disputesResolved = new Counter({ name: 'r3mes_disputes_resolved_total', help: 'Disputes settled in committed blocks, by outcome.', labelNames: ['outcome'], registers });
    this.slashes = new Counter({
      name: 'r3mes_slashes_total', help: 'Slashes in committed blocks (staking `slash` events), by role (validator, miner) and whether the slashed party was jailed.',
      labelNames: ['role', 'jailed'], registers,
    });
    this.invariantFailures = new Counter({
      name: 'r3mes_invariant_failures_total', help: 'Broken invariants block hooks reported (`invariant_broken` events) in committed blocks, by module and invariant.',
      labelNames: ['module', 'invariant'], registers,
    });
    const windowsOpen = new Gauge({
      name: 'r3mes_training_windows_open', help: 'Training windows not finished in the committed state, by status (collecting, aggregating).', labelNames: ['status'], registers,
      collect: () => this.guard('collect_windows', () => {
        const store = this.app.store.committed();
        windowsOpen.set({ status: 'collecting' }, this.app.training.currentWindow(store) === undefined ? 0 : 1);
        windowsOpen.set({ status: 'aggregating' }, this.app.training.aggregatingWindowIds(store).length);
      }),
    });
    const disputesOpen = new Gauge({
      name: 'r3mes_disputes_open', help: 'Unresolved verification disputes in the committed state, by layer (l2, l3, bisection) and stage.', labelNames: ['layer', 'stage'], registers,
      collect: () => this.guard('collect_disputes', () => {
        const counts = new Map<DisputeStage, number>();
        for (const dispute of this.app.verification.openDisputes(this.app.store.committed())) counts.set(dispute.stage, (counts.get(dispute.stage) ?? 0) + 1);
        for (const [stage, layer, name] of OPEN_STAGES) disputesOpen.set({ layer, stage: name }, counts.get(stage) ?? 0);
      }),
    });
    // Last: a scrape writes the families in this order, so the collectors above have run (and any failure of theirs is counted) when this one is written.
    this.errors = new Counter({ name: 'r3mes_metrics_errors_total', help: 'Metric recorders or collectors that failed (logged; the node went on), by hook.', labelNames: ['hook'], registers });
    this.height.set(Number(app.store.lastHeight));
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text (Prometheus text format 0.0.4). */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  /**
   * The app as the ABCI server should call it: every method delegates to `app`; CheckTx,
   * FinalizeBlock and Commit are recorded after the app answered.
   */
  instrument(app: R3mesApp): AbciApplication {
    const wrapped: AbciApplication = {
      info: (req) => app.info(req),
      initChain: (req) => app.initChain(req),
      query: (req) => app.query(req),
      checkTx: (req) => {
        const start = performance.now();
        return this.after(app.checkTx(req), 'checktx', (response) => this.recordCheckTx([req], [response], start));
      },
      prepareProposal: (req) => app.prepareProposal(req),
      processProposal: (req) => app.processProposal(req),
      extendVote: () => app.extendVote(),
      verifyVoteExtension: () => app.verifyVoteExtension(),
      finalizeBlock: (req) => {
        const start = performance.now();
        return this.after(app.finalizeBlock(req), 'finalize_block', (response) => this.recordFinalize(req, response, start));
      },
      commit: () => this.after(app.commit(), 'commit', () => this.recordCommit()),
    };
    wrapped.checkTxBatch = (reqs) => {
      const start = performance.now();
      return this.after(app.checkTxBatch(reqs), 'checktx', (responses) => this.recordCheckTx(reqs, responses, start));
    };
    return wrapped;
  }

  /** Records `result` (once it is there) with `record`, which may fail without touching the answer. */
  private after<T>(result: MaybePromise<T>, hook: string, record: (value: T) => void): MaybePromise<T> {
    if (result instanceof Promise) {
      return result.then((value) => {
        this.guard(hook, () => record(value));
        return value;
      });
    }
    this.guard(hook, () => record(result));
    return result;
  }

  /** Runs a recorder; a failure is logged (throttled), counted, and goes no further. */
  private guard(hook: string, record: () => void): void {
    try {
      record();
    } catch (thrown) {
      const count = (this.errorCounts.get(hook) ?? 0) + 1;
      this.errorCounts.set(hook, count);
      try {
        this.errors.inc({ hook });
        if (count === 1 || count % 1000 === 0) this.log(`metrics: ${hook} recorder failed (${count} so far; the node goes on): ${(thrown as Error)?.message ?? String(thrown)}`);
      } catch {
        // nothing more to do: metrics must never reach the ABCI path
      }
    }
  }

  private recordCheckTx(reqs: RequestCheckTx[], responses: ResponseCheckTx[], start: number): void {
    const n = responses.length;
    if (n === 0) return;
    const each = (performance.now() - start) / 1000 / n;
    const answers = new Map<string, { type: string; codespace: string; code: string; count: number }>();
    for (let i = 0; i < n; i++) {
      this.checkTxDuration.observe(each);
      const type = reqs[i]?.type === CheckTxType.RECHECK ? 'recheck' : 'new';
      const { codespace, code } = responses[i];
      const key = `${type}\u0000${codespace}\u0000${code}`;
      const seen = answers.get(key);
      if (seen === undefined) answers.set(key, { type, codespace, code: String(code), count: 1 });
      else seen.count += 1;
    }
    for (const { count, ...labels } of answers.values()) this.checkTxAnswers.inc(labels, count);
  }

  private recordFinalize(req: RequestFinalizeBlock, response: ResponseFinalizeBlock, start: number): void {
    this.finalizeDuration.observe((performance.now() - start) / 1000);
    this.finalized = { height: req.height, time: headerSeconds(req.time), response };
  }

  private recordCommit(): void {
    const block = this.finalized;
    this.finalized = undefined;
    if (block === undefined) return;
    this.height.set(Number(block.height));
    this.blockTime.set(block.time);
    if (this.last !== undefined && block.height === this.last.height + 1n && block.time >= this.last.time) this.blockInterval.observe(block.time - this.last.time);
    this.last = { height: block.height, time: block.time };

    const codes = new Map<string, { codespace: string; code: string; count: number }>();
    const results = block.response.txResults;
    for (let i = 0; i < results.length; i++) {
      const result = results[i];
      if (i === 0 && result.code === 0 && result.info === 'beacon') continue; // the proposer's beacon tx (app.ts finalizeBlock)
      const key = `${result.codespace}\u0000${result.code}`;
      const seen = codes.get(key);
      if (seen === undefined) codes.set(key, { codespace: result.codespace, code: String(result.code), count: 1 });
      else seen.count += 1;
      this.countEvents(result.events);
    }
    for (const { count, ...labels } of codes.values()) this.txsCommitted.inc(labels, count);
    this.countEvents(block.response.events);
  }

  private countEvents(events: Event[]): void {
    for (const event of events) {
      if (event.type === 'slash') this.slashes.inc({ role: attribute(event, 'role'), jailed: attribute(event, 'jailed') });
      else if (event.type === INVARIANT_EVENT) this.invariantFailures.inc({ module: attribute(event, 'module'), invariant: attribute(event, 'invariant') });
      else if (event.type === 'dispute_resolved') this.disputesResolved.inc({ outcome: attribute(event, 'outcome') });
    }
  }
}
