// The miner's crash safety: the journal is written before every broadcast, a restart looks the
// entry up on chain, re-sends only the same signed bytes, and a chunk interrupted mid-way resumes
// from its checkpoint. The chain is an in-memory stand-in with the real chain's rules that
// matter here (account sequence, duplicate CID, per-miner ordinals).
import t from 'tap';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bytesToHex } from '@noble/hashes/utils.js';
import { cpuBackend } from '../src/backend.ts';
import type { Assignment, ChainReader, ChainWriter, GradientFields, SignedTx, Submission, TxOutcome, Window } from '../src/chain/client.ts';
import { txHashOf } from '../src/chain/client.ts';
import { generateBackbone } from '../src/model/backbone.ts';
import type { ModelConfig } from '../src/model/config.ts';
import { decodeDelta } from '../src/output/delta.ts';
import { Journal, JournalError } from '../src/roles/journal.ts';
import { runTrainingJob } from '../src/roles/job.ts';
import type { LoadedModel } from '../src/roles/model.ts';
import { WorkerStats } from '../src/roles/stats.ts';
import { mineOnce, type MinerDeps } from '../src/roles/train.ts';
import { FileBlockstore } from '../src/storage/blockstore.ts';
import { parseCid } from '../src/storage/cid.ts';
import { WindowStatus, SubmissionStatus } from '@r3mes/client';

const seed = new Uint8Array(32).fill(11);
const cfg: ModelConfig = { vocab: 256, dModel: 16, nLayers: 1, nHeads: 2, dFF: 16, seqLen: 16, loraRank: 4, seed };
const model: LoadedModel = { identity: { version: 1n, backbone: { seed }, cfg }, backbone: generateBackbone(cfg) };
const chunk = Uint8Array.from({ length: 2048 }, (_, i) => 97 + ((i * 7) % 26));
const MINER = 'r3mes1miner0000000000000000000000000000000';

/** An in-memory chain with one collecting window. */
class FakeChain implements ChainReader, ChainWriter {
  readonly address = MINER;
  subs: Submission[] = [];
  applied = new Set<string>();
  sequence = 0;
  height_ = 10n;
  /** 'drop': the next broadcast dies before reaching the chain; 'lose-answer': it lands, the answer is lost; 'window-closed': refused with training code 8 */
  fault: 'none' | 'drop' | 'lose-answer' | 'window-closed' = 'none';
  broadcasts = 0;
  readonly win: Window = {
    id: 1n, status: WindowStatus.WINDOW_STATUS_COLLECTING, openHeight: 1n, seed: Buffer.alloc(32), modelVersion: 1n, subnetCount: 1n, datasetId: 1n,
    chunkCount: 10n, maxSubmissionsPerMiner: 4n, collectEndHeight: 100n, commitStartHeight: 120n, revealStartHeight: 130n, revealEndHeight: 140n,
    baseReward: '1', submissionCount: 0n, acceptedCount: 0n, proposers: [], resultCid: '', resultHash: Buffer.alloc(0), failureReason: '', closedHeight: 0n, excludedCount: 0n,
    evalChunkCount: 0n, heldoutChunkCount: 303n, minImprovement: 0n, evalChunks: [], lossBase: 0n, lossAggregate: 0n, rolledBackHeight: 0n, checkpointThrough: 0n,
  };

  async height() { return this.height_; }
  async currentWindow() { return this.win.status === WindowStatus.WINDOW_STATUS_COLLECTING ? this.win : undefined; }
  async window() { return this.win; }
  async assignment(windowId: bigint, miner: string): Promise<Assignment> {
    const n = BigInt(this.subs.filter((s) => s.miner === miner).length);
    return { windowId, miner, subnet: 0n, nextOrdinal: n, chunkIndex: 3n + n, remaining: 4n - n };
  }
  async windowSubmissions() { return this.subs; }
  async submission(id: bigint) { return this.subs.find((s) => s.id === id)!; }
  async aggregation() { return []; }
  async trainingParams(): Promise<never> { throw new Error('unused'); }
  async modelVersion(): Promise<never> { throw new Error('unused'); }
  async txResult(txhash: string) { return this.applied.has(txhash) ? { code: 0, height: this.height_, rawLog: '' } : undefined; }

  async signSubmitGradient(fields: GradientFields): Promise<SignedTx> {
    const txBytes = new TextEncoder().encode(JSON.stringify({ seq: this.sequence, cid: fields.gradientCid, chunk: fields.chunkIndex.toString() }));
    return { txBytes, txhash: txHashOf(txBytes) };
  }
  async signCommitAggregation(): Promise<never> { throw new Error('unused'); }
  async signRevealAggregation(): Promise<never> { throw new Error('unused'); }
  async broadcast(tx: SignedTx): Promise<TxOutcome> {
    this.broadcasts++;
    const fault = this.fault;
    this.fault = 'none';
    if (fault === 'drop') throw new Error('connect ECONNREFUSED 127.0.0.1:26657');
    if (fault === 'window-closed') return { txhash: tx.txhash, height: this.height_, code: 8, rawLog: 'window 1 is aggregating: window not collecting' };
    const body = JSON.parse(new TextDecoder().decode(tx.txBytes)) as { seq: number; cid: string; chunk: string };
    if (body.seq !== this.sequence) return { txhash: tx.txhash, height: this.height_, code: 32, rawLog: 'account sequence mismatch' };
    if (this.subs.some((s) => s.gradientCid === body.cid)) return { txhash: tx.txhash, height: this.height_, code: 14, rawLog: 'duplicate submission' };
    this.sequence++;
    this.applied.add(tx.txhash);
    const id = BigInt(this.subs.length + 1);
    const ordinal = BigInt(this.subs.filter((s) => s.miner === MINER).length);
    this.subs.push({
      id, miner: MINER, windowId: 1n, subnet: 0n, modelVersion: 1n, gradientCid: body.cid, gradientHash: Buffer.alloc(32), traceRoot: Buffer.alloc(32),
      chunkIndex: BigInt(body.chunk), ordinal, lossBefore: 0n, lossAfter: 0n, backend: 'cpu', height: this.height_, status: SubmissionStatus.SUBMISSION_STATUS_PENDING, rejectReason: '', exclusionReason: 0,
    });
    if (fault === 'lose-answer') throw new Error('socket hang up');
    return { txhash: tx.txhash, height: this.height_, code: 0, rawLog: '', submissionId: id, ordinal };
  }
}

async function deps(t: unknown, chain: FakeChain, dir: string, over: Partial<MinerDeps> = {}): Promise<MinerDeps> {
  void t;
  return {
    chain, writer: chain, store: await FileBlockstore.open(join(dir, 'store')), journal: await Journal.open(join(dir, 'journal.json')),
    backend: cpuBackend(), loadModel: async () => model, chunkAt: () => chunk, workDir: join(dir, 'work'),
    steps: 2, lr: 256, perWindow: 1, stats: new WorkerStats(), log: () => {}, ...over,
  };
}

t.test('happy path: one submission per window, journal says included', async (t) => {
  const dir = t.testdir();
  const chain = new FakeChain();
  const d = await deps(t, chain, dir);
  const r = await mineOnce(d);
  t.equal(r.kind, 'submitted');
  t.equal(chain.subs.length, 1);
  const again = await mineOnce(await deps(t, chain, dir));
  t.equal(again.kind, 'window-full', 'a second pass does not submit again');
  t.equal(chain.subs.length, 1);
  const entries = (await Journal.open(join(dir, 'journal.json'))).all();
  t.equal(entries.length, 1);
  t.equal(entries[0].status, 'included');
  t.equal(entries[0].submissionId, '1');
  // The published delta is in the store under its CID, with the chain's chunk in its metadata.
  const file = await decodeDelta(await d.store.get(parseCid(entries[0].cid)), { cid: entries[0].cid });
  t.equal(file.info.chunkIndex, 3n);
  t.equal(file.info.miner, MINER);
});

t.test('crash after the journal write, before the tx reached the chain: the same bytes are sent once', async (t) => {
  const dir = t.testdir();
  const chain = new FakeChain();
  chain.fault = 'drop';
  await t.rejects(mineOnce(await deps(t, chain, dir)), /ECONNREFUSED/);
  t.equal(chain.subs.length, 0);
  const j = await Journal.open(join(dir, 'journal.json'));
  t.equal(j.pending().length, 1, 'the signed tx was journaled before the broadcast');
  const signedHash = j.pending()[0].txhash;
  // Restart.
  const r = await mineOnce(await deps(t, chain, dir));
  t.equal(r.kind, 'window-full');
  t.equal(chain.subs.length, 1, 'exactly one submission');
  t.ok(chain.applied.has(signedHash), 'the journaled bytes are what landed');
  t.equal((await Journal.open(join(dir, 'journal.json'))).all()[0].status, 'included');
});

t.test('crash after the tx landed, before its answer: found on chain, not sent again', async (t) => {
  const dir = t.testdir();
  const chain = new FakeChain();
  chain.fault = 'lose-answer';
  await t.rejects(mineOnce(await deps(t, chain, dir)), /socket hang up/);
  t.equal(chain.subs.length, 1);
  const before = chain.broadcasts;
  for (let i = 0; i < 3; i++) t.equal((await mineOnce(await deps(t, chain, dir))).kind, 'window-full');
  t.equal(chain.broadcasts, before, 'no broadcast after the restart');
  t.equal(chain.subs.length, 1);
  const e = (await Journal.open(join(dir, 'journal.json'))).all()[0];
  t.equal(e.status, 'included');
  t.equal(e.submissionId, '1');
});

t.test('a journaled tx whose window closed is marked failed, never re-sent', async (t) => {
  const dir = t.testdir();
  const chain = new FakeChain();
  chain.fault = 'drop';
  await t.rejects(mineOnce(await deps(t, chain, dir)));
  chain.height_ = 150n;
  chain.win.status = WindowStatus.WINDOW_STATUS_AGGREGATING;
  const before = chain.broadcasts;
  t.equal((await mineOnce(await deps(t, chain, dir))).kind, 'no-window');
  t.equal(chain.broadcasts, before);
  t.equal((await Journal.open(join(dir, 'journal.json'))).all()[0].status, 'failed');
});

t.test('the window closes between the height check and inclusion: journaled failed, no error, nothing re-sent', async (t) => {
  const dir = t.testdir();
  const chain = new FakeChain();
  const lines: string[] = [];
  chain.fault = 'window-closed';
  const r = await mineOnce(await deps(t, chain, dir, { log: (l) => lines.push(l) }));
  t.equal(r.kind, 'window-closed', 'an outcome, not an exception');
  t.match(lines.join('\n'), /stopped collecting before the submission was included/);
  t.equal(chain.subs.length, 0);
  const entries = (await Journal.open(join(dir, 'journal.json'))).all();
  t.equal(entries.length, 1);
  t.equal(entries[0].status, 'failed', 'the journal says the tx failed');
  t.match(entries[0].error, /window not collecting/);
});

t.test('restart mid-chunk resumes from the checkpoint and gives the same bytes', async (t) => {
  const dir = t.testdir();
  const backend = cpuBackend();
  const full = await runTrainingJob({ model, chunk, steps: 3, lr: 256, backend });
  await t.rejects(runTrainingJob({
    model, chunk, steps: 3, lr: 256, backend, workDir: dir,
    onStep: (s) => { if (s === 2) throw new Error('killed'); },
  }), /killed/);
  const resumed = await runTrainingJob({ model, chunk, steps: 3, lr: 256, backend, workDir: dir });
  t.equal(resumed.resumedFrom, 2, 'steps 1 and 2 were not redone');
  t.same(resumed.stepHashes.map(bytesToHex), full.stepHashes.map(bytesToHex));
  t.equal(resumed.lossAfter, full.lossAfter);
  // A damaged checkpoint: the chunk is redone from scratch, same result.
  await writeFile(join(dir, 'state-3.safetensors'), new Uint8Array(16));
  const redone = await runTrainingJob({ model, chunk, steps: 3, lr: 256, backend, workDir: dir });
  t.equal(redone.resumedFrom, 0);
  t.same(redone.stepHashes.map(bytesToHex), full.stepHashes.map(bytesToHex));
  // Another chunk in the same directory never resumes the old job.
  const other = chunk.slice();
  other[0] ^= 1;
  t.equal((await runTrainingJob({ model, chunk: other, steps: 1, lr: 256, backend, workDir: dir })).resumedFrom, 0);
});

t.test('a corrupt journal stops the worker instead of being reset', async (t) => {
  const dir = t.testdir({ 'journal.json': '{"version":1,"entries":[' });
  await t.rejects(Journal.open(join(dir, 'journal.json')), JournalError);
  t.equal(await readFile(join(dir, 'journal.json'), 'utf8'), '{"version":1,"entries":[', 'left untouched');
});
