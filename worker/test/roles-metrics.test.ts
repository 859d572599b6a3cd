// The worker's Prometheus metrics (issue 16 item 2): the stats server's `GET /metrics`, scraped
// over HTTP while the real roles work — the miner (mineOnce: real CPU training, upload, submit)
// and the verifier (dutyPass: real re-execution, commit) against in-memory chains — and parsed
// strictly. Every value agrees with `GET /stats`: steps, tokens, tokens/s, submissions by
// outcome (accepted, refused, failed), re-execution count and seconds, missed duties, last error.
import t, { type Test } from 'tap';
import { join } from 'node:path';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { cpuBackend } from '../src/backend.ts';
import type {
  Assignment, ChainReader, ChainWriter, GradientFields, L1Check, SignedTx, Submission, TxOutcome, VerificationReader, VerificationWriter, Window,
} from '../src/chain/client.ts';
import { txHashOf } from '../src/chain/client.ts';
import { chunkHash } from '../src/data/chunk.ts';
import { generateBackbone } from '../src/model/backbone.ts';
import type { ModelConfig } from '../src/model/config.ts';
import { adapterDelta, encodeDelta } from '../src/output/delta.ts';
import { Journal } from '../src/roles/journal.ts';
import { runTrainingJob } from '../src/roles/job.ts';
import type { LoadedModel } from '../src/roles/model.ts';
import { MissedDuties } from '../src/roles/missed-duties.ts';
import { startWorkerServer } from '../src/roles/server.ts';
import { WorkerStats, type StatsSnapshot } from '../src/roles/stats.ts';
import { mineOnce } from '../src/roles/train.ts';
import { DutyJournal, dutyPass } from '../src/roles/verify.ts';
import { FileBlockstore } from '../src/storage/blockstore.ts';
import { L1Check as L1CheckProto, L1Status, SubmissionStatus, WindowStatus } from '@r3mes/client';
import { parseExposition, type Exposition } from './helpers/prometheus.ts';

const seed = new Uint8Array(32).fill(11);
const cfg: ModelConfig = { vocab: 256, dModel: 16, nLayers: 1, nHeads: 2, dFF: 16, seqLen: 16, loraRank: 4, seed };
const model: LoadedModel = { identity: { version: 1n, backbone: { seed }, cfg }, backbone: generateBackbone(cfg) };
const chunk = Uint8Array.from({ length: 2048 }, (_, i) => 97 + ((i * 7) % 26));
const MINER = 'r3mes1miner0000000000000000000000000000000';
const ME = 'r3mes1verifier';

/** The worker metrics and their types: what the README, the dashboard and this test agree on. */
const WORKER_FAMILIES: Record<string, string> = {
  r3mes_worker_info: 'gauge',
  r3mes_worker_training_steps_total: 'counter',
  r3mes_worker_training_tokens_total: 'counter',
  r3mes_worker_training_tokens_per_second: 'gauge',
  r3mes_worker_training_loss: 'gauge',
  r3mes_worker_submissions_total: 'counter',
  r3mes_worker_reexecution_duration_seconds: 'histogram',
  r3mes_worker_duties_missed_total: 'counter',
  r3mes_worker_events_total: 'counter',
  r3mes_worker_last_error: 'gauge',
};

async function scrape(t: Test, address: string): Promise<{ metrics: Exposition; stats: StatsSnapshot }> {
  const response = await fetch(`${address}/metrics`);
  t.equal(response.status, 200, 'GET /metrics answers 200');
  t.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/, 'in the Prometheus text format');
  const metrics = parseExposition(await response.text());
  const stats = (await (await fetch(`${address}/stats`)).json()) as StatsSnapshot;
  return { metrics, stats };
}

/** A collecting window and a chain that accepts, refuses (training 8) or drops the next broadcast on demand. */
class MinerChain implements ChainReader, ChainWriter {
  readonly address = MINER;
  subs: Submission[] = [];
  sequence = 0;
  fault: 'none' | 'drop' | 'refuse' = 'none';
  readonly win: Window = {
    id: 1n, status: WindowStatus.WINDOW_STATUS_COLLECTING, openHeight: 1n, seed: Buffer.alloc(32), modelVersion: 1n, subnetCount: 1n, datasetId: 1n,
    chunkCount: 10n, maxSubmissionsPerMiner: 4n, collectEndHeight: 100n, commitStartHeight: 120n, revealStartHeight: 130n, revealEndHeight: 140n,
    baseReward: '1', submissionCount: 0n, acceptedCount: 0n, proposers: [], resultCid: '', resultHash: Buffer.alloc(0), failureReason: '', closedHeight: 0n, excludedCount: 0n,
    evalChunkCount: 0n, heldoutChunkCount: 303n, minImprovement: 0n, evalChunks: [], lossBase: 0n, lossAggregate: 0n, rolledBackHeight: 0n, checkpointThrough: 0n,
  };
  async height() { return 10n; }
  async currentWindow() { return this.win; }
  async window() { return this.win; }
  async assignment(windowId: bigint, miner: string): Promise<Assignment> {
    const n = BigInt(this.subs.length);
    return { windowId, miner, subnet: 0n, nextOrdinal: n, chunkIndex: 3n + n, remaining: 4n - n };
  }
  async windowSubmissions() { return this.subs; }
  async submission(id: bigint) { return this.subs.find((s) => s.id === id)!; }
  async aggregation() { return []; }
  async trainingParams(): Promise<never> { throw new Error('unused'); }
  async modelVersion(): Promise<never> { throw new Error('unused'); }
  async txResult() { return undefined; }
  async signSubmitGradient(fields: GradientFields): Promise<SignedTx> {
    const txBytes = new TextEncoder().encode(JSON.stringify({ seq: this.sequence, cid: fields.gradientCid, chunk: fields.chunkIndex.toString() }));
    return { txBytes, txhash: txHashOf(txBytes) };
  }
  async signCommitAggregation(): Promise<never> { throw new Error('unused'); }
  async signRevealAggregation(): Promise<never> { throw new Error('unused'); }
  async broadcast(tx: SignedTx): Promise<TxOutcome> {
    const fault = this.fault;
    this.fault = 'none';
    if (fault === 'drop') throw new Error('connect ECONNREFUSED 127.0.0.1:26657');
    if (fault === 'refuse') return { txhash: tx.txhash, height: 10n, code: 8, rawLog: 'window 1 is aggregating: window not collecting' };
    const body = JSON.parse(new TextDecoder().decode(tx.txBytes)) as { cid: string; chunk: string };
    this.sequence++;
    const id = BigInt(this.subs.length + 1);
    this.subs.push({
      id, miner: MINER, windowId: 1n, subnet: 0n, modelVersion: 1n, gradientCid: body.cid, gradientHash: Buffer.alloc(32), traceRoot: Buffer.alloc(32),
      chunkIndex: BigInt(body.chunk), ordinal: id - 1n, lossBefore: 0n, lossAfter: 0n, backend: 'cpu', height: 10n, status: SubmissionStatus.SUBMISSION_STATUS_PENDING, rejectReason: '', exclusionReason: 0,
    });
    return { txhash: tx.txhash, height: 10n, code: 0, rawLog: '', submissionId: id, ordinal: id - 1n };
  }
}

t.test('train: /metrics on the stats server agrees with /stats (steps, tokens, tokens/s, submissions by outcome, last error)', async (t) => {
  const dir = t.testdir();
  const chain = new MinerChain();
  const stats = new WorkerStats();
  Object.assign(stats, { role: 'train', backend: 'cpu', adapter: 'cpu (test)', address: MINER, status: 'running' });
  const { app, address } = await startWorkerServer('127.0.0.1:0', { stats });
  t.teardown(() => app.close());
  const deps = {
    chain, writer: chain, store: await FileBlockstore.open(join(dir, 'store')), journal: await Journal.open(join(dir, 'journal.json')),
    backend: cpuBackend(), loadModel: async () => model, chunkAt: () => chunk, workDir: join(dir, 'work'),
    steps: 2, lr: 256, perWindow: 4, stats, log: () => {},
  };

  const idle = await scrape(t, `http://${address.replace(/^http:\/\//, '')}`);
  for (const [name, type] of Object.entries(WORKER_FAMILIES)) {
    t.equal(idle.metrics.families.get(name)?.type, type, `# TYPE ${name} ${type}`);
    t.ok((idle.metrics.families.get(name)?.help.length ?? 0) > 10, `# HELP ${name} says what it is`);
  }
  t.equal(idle.metrics.value('r3mes_worker_training_steps_total'), 0, 'no step yet');
  t.equal(idle.metrics.sum('r3mes_worker_submissions_total'), 0, 'no submission yet');
  t.equal(idle.metrics.value('r3mes_worker_last_error'), 0, 'no error');
  t.same(idle.metrics.samples('r3mes_worker_training_loss'), [], 'no loss before the first job');
  t.equal(idle.metrics.value('r3mes_worker_info', { role: 'train', backend: 'cpu', address: MINER }), 1, 'who the worker is, as labels');
  t.ok(idle.metrics.value('process_cpu_user_seconds_total') > 0, 'default process metrics');

  t.match(await mineOnce(deps), { kind: 'submitted' }, 'a first chunk trained and submitted');
  chain.fault = 'refuse';
  t.match(await mineOnce(deps), { kind: 'window-closed' }, 'a second one refused by the chain (window closed meanwhile)');
  chain.fault = 'drop';
  await t.rejects(mineOnce(deps).catch((err: Error) => {
    stats.lastError = err.message; // as the train command does (worker/src/cli/program.ts)
    throw err;
  }), /ECONNREFUSED/, 'a third broadcast gets no answer');

  const { metrics, stats: snap } = await scrape(t, `http://${address.replace(/^http:\/\//, '')}`);
  t.equal(snap.steps, 4, '/stats: 2 jobs × 2 steps (the third chunk is the refused one again: resumed from its checkpoint)');
  t.equal(metrics.value('r3mes_worker_training_steps_total'), snap.steps, 'steps = /stats steps');
  t.ok(snap.tokens > 0, '/stats: tokens trained');
  t.equal(metrics.value('r3mes_worker_training_tokens_total'), snap.tokens, 'tokens = /stats tokens');
  t.equal(Math.round(metrics.value('r3mes_worker_training_tokens_per_second')), snap.tokensPerSecond, 'tokens/s = /stats tokensPerSecond');
  t.ok(snap.tokensPerSecond > 0, 'tokens/s measured');
  t.same(snap.submissionOutcomes, { accepted: 1, refused: 1, failed: 1 }, '/stats: one accepted, one refused, one without an answer');
  for (const outcome of ['accepted', 'refused', 'failed'] as const) {
    t.equal(metrics.value('r3mes_worker_submissions_total', { outcome }), snap.submissionOutcomes[outcome], `submissions{outcome="${outcome}"} = /stats`);
  }
  t.equal(snap.submissions, 1, '/stats submissions = accepted');
  t.equal(metrics.value('r3mes_worker_training_loss', { when: 'after' }), snap.lossAfter, 'loss after = /stats lossAfter');
  t.equal(metrics.value('r3mes_worker_last_error'), 1, 'last error present');
  t.match(snap.lastError, /ECONNREFUSED/);
});

/** One L1 check drawn to ME on a submission whose delta is in the store; the height moves on demand. */
function verifierChain(sub: Submission) {
  let height = 10n;
  const check: L1Check = L1CheckProto.fromPartial({
    submissionId: sub.id, miner: sub.miner, verifier: ME, seed: Buffer.alloc(32), drawnHeight: 2n, deadlineHeight: 20n, commitDeadlineHeight: 15n, status: L1Status.L1_STATUS_PENDING,
  });
  const sign = (msg: Record<string, string>): Promise<SignedTx> => {
    const txBytes = new TextEncoder().encode(JSON.stringify(msg));
    return Promise.resolve({ txBytes, txhash: txHashOf(txBytes) });
  };
  const chain: VerificationReader = {
    height: async () => height,
    findSubmission: async (id) => (id === sub.id ? sub : undefined),
    pendingL1Checks: async () => (check.status === L1Status.L1_STATUS_PENDING ? [check] : []),
    openDisputes: async () => [],
    modelVersion: async () => { throw new Error('unused'); },
    txResult: async () => undefined,
  };
  const writer: VerificationWriter = {
    address: ME,
    signCommitVerification: (id, c) => sign({ type: 'verification-commit', submission: id.toString(), commitment: bytesToHex(c) }),
    signRevealVerification: (id, h) => sign({ type: 'verification', submission: id.toString(), result: bytesToHex(h) }),
    signReportUnavailable: (id) => sign({ type: 'report-unavailable', submission: id.toString() }),
    signCommitArbiterVote: () => { throw new Error('unused'); },
    signRevealArbiterVote: () => { throw new Error('unused'); },
    signChallenge: () => { throw new Error('unused'); },
    broadcast: async (tx) => {
      const msg = JSON.parse(new TextDecoder().decode(tx.txBytes)) as Record<string, string>;
      if (msg.commitment !== undefined) Object.assign(check, { commitment: Buffer.from(hexToBytes(msg.commitment)), commitHeight: height });
      return { txhash: tx.txhash, height, code: 0, rawLog: '' };
    },
  };
  return { chain, writer, setHeight: (h: bigint) => { height = h; } };
}

t.test('verify: re-execution time and a missed duty, on /metrics as on /stats', async (t) => {
  const dir = t.testdir();
  const job = await runTrainingJob({ model, chunk, steps: 2, lr: 256, backend: cpuBackend() });
  const delta = await encodeDelta(adapterDelta(job.initial, job.final), {
    model: model.identity, miner: 'r3mes1miner', window: 1n, ordinal: 0n, chunkIndex: 0n, chunkHash: chunkHash(chunk), backend: 'cpu', lr: 256,
    stepHashes: job.stepHashes, lossBefore: job.lossBefore, lossAfter: job.lossAfter,
  });
  const store = await FileBlockstore.open(join(dir, 'store'));
  await store.put(delta.bytes);
  const sub: Submission = {
    id: 7n, miner: 'r3mes1miner', windowId: 1n, subnet: 0n, modelVersion: 1n, gradientCid: delta.cid.toString(), gradientHash: Buffer.from(delta.gradientHash),
    traceRoot: Buffer.from(delta.traceRoot), chunkIndex: 0n, ordinal: 0n, lossBefore: 0n, lossAfter: 0n, backend: 'cpu', height: 2n,
    status: SubmissionStatus.SUBMISSION_STATUS_PENDING, rejectReason: '', exclusionReason: 0,
  };
  const c = verifierChain(sub);
  const stats = new WorkerStats();
  Object.assign(stats, { role: 'verify', backend: 'cpu', address: ME });
  const { app, address } = await startWorkerServer('127.0.0.1:0', { stats });
  t.teardown(() => app.close());
  const deps = {
    chain: c.chain, writer: c.writer, store, journal: await DutyJournal.open(join(dir, 'verify-journal.json')), backend: cpuBackend(), role: 'verify' as const,
    loadModel: async () => model, chunkAt: () => chunk, log: () => {}, stats, missed: new MissedDuties(stats),
  };

  t.match(await dutyPass(deps), [{ kind: 'l1', verdict: 'match', action: 'committed' }], 'pass 1: re-executed, committed');
  // The reveal opens at the next block, but this worker is away until after the deadline (20).
  c.setHeight(25n);
  t.same(await dutyPass(deps), [], 'pass 2: the duty is past its deadline, nothing to do');
  t.same(await dutyPass(deps), [], 'pass 3: counted once');

  const { metrics, stats: snap } = await scrape(t, `http://${address.replace(/^http:\/\//, '')}`);
  t.equal(snap.reexecutions.verify?.count, 1, '/stats: one re-execution');
  t.ok((snap.reexecutions.verify?.seconds ?? 0) > 0, '/stats: it took time');
  t.equal(metrics.value('r3mes_worker_reexecution_duration_seconds_count', { role: 'verify' }), 1, 'histogram count = /stats');
  t.equal(metrics.value('r3mes_worker_reexecution_duration_seconds_sum', { role: 'verify' }), snap.reexecutions.verify?.seconds, 'histogram sum = /stats seconds');
  t.equal(metrics.value('r3mes_worker_reexecution_duration_seconds_bucket', { role: 'verify', le: '+Inf' }), 1, '+Inf bucket = count');
  t.same(snap.dutiesMissed, { l1: 1, l2: 0, l3: 0 }, '/stats: the L1 check was missed (committed, never revealed)');
  for (const kind of ['l1', 'l2', 'l3']) t.equal(metrics.value('r3mes_worker_duties_missed_total', { kind }), snap.dutiesMissed[kind], `duties missed{kind="${kind}"} = /stats`);
  t.equal(metrics.value('r3mes_worker_submissions_total', { outcome: 'accepted' }), 1, 'the commit was accepted');
  t.equal(metrics.value('r3mes_worker_last_error'), 0, 'no error');
});

t.test('missed duties: counted once, only past the deadline and only without an answer on chain', async (t) => {
  const stats = new WorkerStats();
  const missed = new MissedDuties(stats);
  const duty = (key: string, deadline: bigint) => ({ kind: 'l2' as const, key, submissionId: 1n, miner: 'm', deadline, commitDeadline: deadline, domain: '', committed: false, revealOpen: false });
  t.same(missed.observe(10n, [duty('a', 20n), duty('b', 20n), duty('c', 12n)], () => false), [], 'all three listed: none missed');
  t.same(missed.observe(15n, [duty('b', 20n)], (key) => key === 'c'), [], 'a left before its deadline (answered or settled); c is past its deadline but answered');
  t.same(missed.observe(25n, [], () => false), ['b'], 'b left after its deadline without an answer: missed');
  t.same(missed.observe(26n, [], () => false), [], 'counted once');
  t.same(stats.snapshot().dutiesMissed, { l1: 0, l2: 1, l3: 0 });
});
