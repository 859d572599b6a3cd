// Proposer duty against an in-memory chain: aggregate the ACCEPTED deltas with the rule of the
// chain's training params (read when aggregating), commit once (the nonce journaled first),
// reveal what was committed; a restart neither commits twice nor loses the nonce. Bad inputs
// (unserved, undecodable, another model) are excluded, committed and revealed with the result.
import t, { type Test } from 'tap';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { bytesToHex } from '@noble/hashes/utils.js';
import { sha256 } from '@noble/hashes/sha2.js';
import {
  commitHash, defaultTrainingParams, type Exclusion, ExclusionReason, type ModelVersion, type TrainingParams, SubmissionStatus, WindowStatus,
  type AggregationCommit, type Submission, type Window,
} from '@r3mes/client';
import { decodeAggregate, unflatten } from '../src/aggregate/file.ts';
import { parseRule, ruleName as ruleNameOf } from '../src/aggregate/rules.ts';
import { type ChainReader, type SignedTx, txHashOf } from '../src/chain/client.ts';
import { ChainError } from '../src/chain/errors.ts';
import type { ModelConfig } from '../src/model/config.ts';
import { encodeDelta } from '../src/output/delta.ts';
import { acceptedDeltas, aggregationRuleNow, type FetchPolicy, proposerDutyForWindow, type ProposerDeps } from '../src/roles/aggregate.ts';
import { Journal } from '../src/roles/journal.ts';
import { WorkerStats } from '../src/roles/stats.ts';
import { FileBlockstore } from '../src/storage/blockstore.ts';
import { cidOf, parseCid } from '../src/storage/cid.ts';
import { buildGateway } from '../src/storage/gateway.ts';
import { GatewayClient } from '../src/storage/remote.ts';

const ME = 'r3mes1proposer';
const cfg: ModelConfig = { vocab: 256, dModel: 16, nLayers: 1, nHeads: 2, dFF: 16, seqLen: 16, loraRank: 4, seed: new Uint8Array(32).fill(2) };
/** The chain's model version 1: the model every honest delta of window 5 was trained on. */
const VERSION_1: ModelVersion = {
  number: 1n, modelCid: '', backboneSeed: bytesToHex(cfg.seed),
  architecture: { dModel: cfg.dModel, nLayers: cfg.nLayers, nHeads: cfg.nHeads, dFf: cfg.dFF, vocabSize: 256, seqLen: cfg.seqLen, nKvHeads: 0, ffn: '', ropeTheta: 0, ropeLayout: '', normGains: false, embedding: '' },
  lora: { rank: cfg.loraRank, alpha: 8, targets: ['q', 'k', 'v', 'o'] }, status: 1, activationHeight: 0n, migrationBlocks: 0n,
  migrationEndHeight: 0n, deprecatedHeight: 0n, proposalId: 0n, manifestCid: '', architectureHash: '',
};

/** A small delta file of model `version` / `config` (window 5, miner m, chunk k). */
async function deltaBytes(k: number, config: ModelConfig = cfg, version = 1n) {
  const flat = Array.from({ length: 8 }, (_, j) => Int32Array.from({ length: config.loraRank * config.dModel }, (_, i) => ((i + j + k) % 9) - 4));
  return encodeDelta(unflatten(flat, config.nLayers), {
    model: { version, backbone: { seed: config.seed }, cfg: config }, miner: `r3mes1m${k}`, window: 5n, ordinal: 0n, chunkIndex: BigInt(k),
    chunkHash: bytesToHex(sha256(Uint8Array.of(k))), backend: 'cpu', lr: 256, stepHashes: [sha256(Uint8Array.of(k))], lossBefore: 0, lossAfter: 0,
  });
}

/** Four submissions of window 5 (k = 2 an outlier, k = 3 rejected), a window drawing ME, a fake chain and writer. */
async function fixture(dir: string) {
  const store = await FileBlockstore.open(join(dir, 'store'));
  const subs: Submission[] = [];
  for (let k = 0; k < 4; k++) {
    const flat = Array.from({ length: 8 }, (_, j) => Int32Array.from({ length: 64 }, (_, i) => ((i + j + k) % 9) - 4 + (k === 2 ? 50000 : 0)));
    const enc = await encodeDelta(unflatten(flat, 1), {
      model: { version: 1n, backbone: { seed: cfg.seed }, cfg }, miner: `r3mes1m${k}`, window: 5n, ordinal: 0n, chunkIndex: BigInt(k),
      chunkHash: bytesToHex(sha256(Uint8Array.of(k))), backend: 'cpu', lr: 256, stepHashes: [sha256(Uint8Array.of(k))], lossBefore: 0, lossAfter: 0,
    });
    await store.put(enc.bytes);
    subs.push({
      id: BigInt(10 - k), miner: `r3mes1m${k}`, windowId: 5n, subnet: 0n, modelVersion: 1n, gradientCid: enc.cid.toString(), gradientHash: Buffer.from(enc.gradientHash),
      traceRoot: Buffer.from(enc.traceRoot), chunkIndex: BigInt(k), ordinal: 0n, lossBefore: 0n, lossAfter: 0n, backend: 'cpu', height: 3n,
      status: k === 3 ? SubmissionStatus.SUBMISSION_STATUS_REJECTED : SubmissionStatus.SUBMISSION_STATUS_ACCEPTED, rejectReason: '', exclusionReason: 0,
    });
  }
  const win = {
    id: 5n, status: WindowStatus.WINDOW_STATUS_AGGREGATING, modelVersion: 1n, commitStartHeight: 120n, revealStartHeight: 130n, revealEndHeight: 140n, proposers: ['r3mes1other', ME],
  } as Window;
  const commits: AggregationCommit[] = [];
  const sent: { kind: string; body: Record<string, string> }[] = [];
  const sign = (kind: string, body: Record<string, string>): SignedTx => {
    const txBytes = new TextEncoder().encode(JSON.stringify({ kind, ...body }));
    return { txBytes, txhash: txHashOf(txBytes) };
  };
  const params: TrainingParams = defaultTrainingParams();
  const reads = { trainingParams: 0 };
  const chain: ChainReader = {
    height: async () => 0n, currentWindow: async () => undefined, window: async () => win, assignment: async () => { throw new Error('unused'); },
    windowSubmissions: async () => subs, submission: async () => { throw new Error('unused'); }, aggregation: async () => commits,
    trainingParams: async () => {
      reads.trainingParams++;
      return { ...params };
    },
    modelVersion: async (v: bigint) => {
      if (v !== 1n) throw new Error(`no model version ${v}`);
      return VERSION_1;
    },
    txResult: async () => undefined,
  };
  const writer = {
    address: ME,
    signSubmitGradient: async () => { throw new Error('unused'); },
    signCommitAggregation: async (w: bigint, c: Uint8Array) => sign('commit', { window: w.toString(), commitment: bytesToHex(c) }),
    signRevealAggregation: async (w: bigint, cid: string, h: Uint8Array, n: Uint8Array, x: readonly Exclusion[] = [], _l?: unknown, c?: { checkpointCid: string; checkpointHash: Uint8Array }) => sign('reveal', {
      window: w.toString(), cid, hash: bytesToHex(h), nonce: bytesToHex(n), excluded: x.map((e) => `${e.submissionId}:${e.reason}`).join(','),
      checkpointCid: c?.checkpointCid ?? '', checkpointHash: bytesToHex(c?.checkpointHash ?? new Uint8Array()),
    }),
    broadcast: async (tx: SignedTx) => {
      const body = JSON.parse(new TextDecoder().decode(tx.txBytes)) as Record<string, string>;
      sent.push({ kind: body.kind, body });
      return { txhash: tx.txhash, height: 125n, code: 0, rawLog: '' };
    },
  };
  const lines: string[] = [];
  const deps = async (over: Partial<ProposerDeps> = {}): Promise<ProposerDeps> => ({
    chain, writer, store, journal: await Journal.open(join(dir, 'journal.json')), stats: new WorkerStats(), log: (l) => lines.push(l), ...over,
  });
  return { store, subs, win, commits, sent, chain, params, reads, lines, deps };
}

t.test('commit once, then reveal the committed result', async (t) => {
  const { store, subs, win, commits, sent, params, reads, deps } = await fixture(t.testdir());
  t.equal(params.aggregationRule, 'median', 'the chain\'s default rule');

  t.equal((await proposerDutyForWindow(await deps(), win, 110n)).action, 'waiting', 'before the commit phase');
  t.equal((await proposerDutyForWindow(await deps(), win, 121n)).action, 'committed');
  t.equal(sent.length, 1);
  // Restart in the commit phase before the chain shows the commit: the journal prevents a second one.
  t.equal((await proposerDutyForWindow(await deps(), win, 122n)).action, 'waiting');
  t.equal(sent.length, 1, 'committed once');
  commits.push({ windowId: 5n, proposer: ME, commitment: Buffer.from(sent[0].body.commitment, 'hex'), commitHeight: 121n, revealed: false, resultCid: '', resultHash: Buffer.alloc(0), revealHeight: 0n, excluded: [], lossBase: 0n, lossAggregate: 0n, checkpointCid: '', checkpointHash: Buffer.alloc(0) });

  t.equal((await proposerDutyForWindow(await deps(), win, 131n)).action, 'revealed');
  t.equal(sent.length, 2);
  const reveal = sent[1].body;
  t.equal(bytesToHex(commitHash(reveal.cid, Buffer.from(reveal.hash, 'hex'), Buffer.from(reveal.nonce, 'hex'))), sent[0].body.commitment, 'the reveal opens the commitment');
  t.equal((await proposerDutyForWindow(await deps(), win, 132n)).action, 'waiting', 'not revealed twice');
  t.equal(sent.length, 2);

  // The aggregate: ACCEPTED inputs only, in submission-id order, the outlier (k = 2) held off by the median.
  const agg = await decodeAggregate(await store.get(parseCid(reveal.cid)), { cid: reveal.cid });
  t.same(agg.inputCids, [subs[2], subs[1], subs[0]].map((s) => s.gradientCid));
  t.ok(agg.delta[0].q.a.every((v) => Math.abs(v) <= 4));
  t.equal(ruleNameOf(agg.rule), 'median', 'the rule of the chain\'s params');
  t.equal(reads.trainingParams, 1, 'the params are read once, when aggregating');
  t.equal((await proposerDutyForWindow(await deps(), { ...win, proposers: ['r3mes1other'] } as Window, 121n)).action, 'not-drawn');
});

t.test('the rule comes from the chain params at aggregation time, not from the window\'s opening', async (t) => {
  const { store, subs, win, sent, params, deps } = await fixture(t.testdir());
  params.aggregationRule = 'median';
  t.equal((await proposerDutyForWindow(await deps(), win, 110n)).action, 'waiting', 'before the commit phase: nothing read, nothing done');
  params.aggregationRule = 'trimmed-mean:1'; // a governance change lands before the commit phase
  t.equal((await proposerDutyForWindow(await deps(), win, 121n)).action, 'committed');
  const committed = (await (await deps()).journal.get('commit-aggregation', 5n, 0n))!;
  const agg = await decodeAggregate(await store.get(parseCid(committed.cid)), { cid: committed.cid });
  t.equal(ruleNameOf(agg.rule), 'trimmed-mean:1', 'aggregated with the rule in force when aggregating');
  t.same(agg.inputCids, [subs[2], subs[1], subs[0]].map((s) => s.gradientCid));
  // trimmed mean k=1 of three inputs = their middle value: the outlier (k = 2) is dropped.
  t.ok(agg.delta[0].q.a.every((v) => Math.abs(v) <= 4));
  t.equal(sent.length, 1);

  // krum:0 with m = 1 picks one whole input: the result is exactly one of the honest deltas.
  const other = await fixture(t.testdir());
  other.params.aggregationRule = 'krum:0';
  await proposerDutyForWindow(await other.deps(), other.win, 121n);
  const k = (await other.deps()).journal.get('commit-aggregation', 5n, 0n)!;
  const kagg = await decodeAggregate(await other.store.get(parseCid(k.cid)), { cid: k.cid });
  t.equal(ruleNameOf(kagg.rule), 'krum:0:1');
  t.ok(kagg.delta[0].q.a.every((v) => Math.abs(v) <= 4), 'an honest input, not the outlier');
});

t.test('an empty chain rule is median; an unknown one commits nothing; --rule overrides with a warning', async (t) => {
  const log: string[] = [];
  const chainWith = (aggregationRule: string) => ({ trainingParams: async () => ({ ...defaultTrainingParams(), aggregationRule }) } as unknown as ChainReader);
  t.same(await aggregationRuleNow({ chain: chainWith(''), log: (l) => log.push(l) }, 1n), parseRule('median'), 'no rule on chain (older state): median');
  t.same(await aggregationRuleNow({ chain: chainWith('krum:2:3'), log: (l) => log.push(l) }, 1n), parseRule('krum:2:3'));
  t.same(log, [], 'no warning without an override');
  await t.rejects(aggregationRuleNow({ chain: chainWith('geometric-median'), log: (l) => log.push(l) }, 7n), ChainError, 'an unknown rule is an error, not a guess');
  t.same(await aggregationRuleNow({ chain: chainWith('median'), ruleOverride: parseRule('median'), log: (l) => log.push(l) }, 1n), parseRule('median'));
  t.same(log, [], 'an override equal to the chain\'s rule is silent');
  t.same(await aggregationRuleNow({ chain: chainWith('median'), ruleOverride: parseRule('trimmed-mean:1'), log: (l) => log.push(l) }, 9n), parseRule('trimmed-mean:1'));
  t.match(log.at(-1), /^warning: window 9: aggregating with --rule trimmed-mean:1, not the chain's aggregation_rule median/);

  // Through the duty: an unknown chain rule leaves the window uncommitted (and the journal empty).
  const f = await fixture(t.testdir());
  f.params.aggregationRule = 'geometric-median';
  await t.rejects(proposerDutyForWindow(await f.deps(), f.win, 121n), /aggregation_rule "geometric-median" is not one this worker knows/);
  t.equal(f.sent.length, 0, 'nothing committed');
  t.equal((await f.deps()).journal.get('commit-aggregation', 5n, 0n), undefined);
  // With an override the duty commits, and says so.
  t.equal((await proposerDutyForWindow(await f.deps({ ruleOverride: parseRule('median') }), f.win, 121n)).action, 'committed');
  t.match(f.lines.join('\n'), /warning: window 5: the chain's aggregation_rule "geometric-median" is unknown to this worker; using --rule median/);
  t.match(f.lines.at(-1), /rule median\)$/);
});

// ------------------------------------------------------------------ bad inputs are excluded, not fatal

const QUICK: FetchPolicy = { timeoutMs: 5_000, attempts: 2, backoffMs: 10, parallel: 4 };
const { EXCLUSION_REASON_UNAVAILABLE: UNAVAILABLE, EXCLUSION_REASON_UNDECODABLE: UNDECODABLE, EXCLUSION_REASON_WRONG_MODEL: WRONG_MODEL } = ExclusionReason;

/** The proposer reads through a real gateway (HTTP, 127.0.0.1) over the fixture's blockstore. */
async function gatewayOver(t: Test, store: FileBlockstore): Promise<GatewayClient> {
  const app = await buildGateway({ store });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  return new GatewayClient(address, { timeoutMs: 30_000 });
}

/** An ACCEPTED submission of window 5 for `cid` (nothing else about it matters to the proposer). */
function accepted(id: bigint, cid: string, miner: string): Submission {
  return {
    id, miner, windowId: 5n, subnet: 0n, modelVersion: 1n, gradientCid: cid, gradientHash: Buffer.alloc(32), traceRoot: Buffer.alloc(32),
    chunkIndex: 0n, ordinal: 0n, lossBefore: 0n, lossAfter: 0n, backend: 'cpu', height: 3n,
    status: SubmissionStatus.SUBMISSION_STATUS_ACCEPTED, rejectReason: '', exclusionReason: 0,
  };
}

/** Three bad ACCEPTED submissions: 20 never stored (unserved), 21 garbage bytes, 22 a delta of another model. */
async function addBadSubmissions(store: FileBlockstore, subs: Submission[]) {
  const unserved = (await cidOf(new TextEncoder().encode('never uploaded anywhere'))).toString();
  const garbage = await store.put(new TextEncoder().encode('garbage: not a safetensors file'));
  const otherModel = await deltaBytes(7, { ...cfg, dModel: 32, nHeads: 4, dFF: 32, loraRank: 8 }, 2n);
  await store.put(otherModel.bytes);
  subs.push(accepted(20n, unserved, 'r3mes1unserved'), accepted(21n, garbage.toString(), 'r3mes1garbage'), accepted(22n, otherModel.cid.toString(), 'r3mes1othermodel'));
  return { unserved, garbage: garbage.toString(), otherModel: otherModel.cid.toString() };
}

t.test('an unserved CID, a garbage file and a delta of another model are excluded: the proposer commits the rest and reveals the exclusions', async (t) => {
  const f = await fixture(t.testdir());
  const bad = await addBadSubmissions(f.store, f.subs);
  const store = await gatewayOver(t, f.store);

  t.equal((await proposerDutyForWindow(await f.deps({ store, fetch: QUICK }), f.win, 121n)).action, 'committed', 'no throw: the window gets a commit');
  t.equal(f.sent.length, 1);
  const entry = (await f.deps()).journal.get('commit-aggregation', 5n, 0n)!;
  const expected = [{ submission: '20', reason: UNAVAILABLE }, { submission: '21', reason: UNDECODABLE }, { submission: '22', reason: WRONG_MODEL }];
  t.same(entry.excluded, expected, 'the exclusions are journaled with the commit');
  const log = f.lines.join('\n');
  t.match(log, new RegExp(`excluding submission 20 of r3mes1unserved \\(${bad.unserved}\\) as unavailable: .*not found \\(2 tries`));
  t.match(log, /excluding submission 21 of r3mes1garbage .* as undecodable: /);
  t.match(log, /excluding submission 22 of r3mes1othermodel .* as wrong-model: the delta was trained on model version 2 .*not the window's version 1/);
  t.match(f.lines.at(-1), /committed aggregate \S+ \(3 inputs, 3 excluded: 20 unavailable, 21 undecodable, 22 wrong-model, rule median\)/);

  // The aggregate holds the three honest inputs only, in submission-id order.
  const agg = await decodeAggregate(await f.store.get(parseCid(entry.cid)), { cid: entry.cid });
  t.same(agg.inputCids, [f.subs[2], f.subs[1], f.subs[0]].map((s) => s.gradientCid));

  // A restarted proposer (a new journal handle) reveals exactly what it committed.
  f.commits.push({ windowId: 5n, proposer: ME, commitment: Buffer.from(f.sent[0].body.commitment, 'hex'), commitHeight: 121n, revealed: false, resultCid: '', resultHash: Buffer.alloc(0), revealHeight: 0n, excluded: [], lossBase: 0n, lossAggregate: 0n, checkpointCid: '', checkpointHash: Buffer.alloc(0) });
  t.equal((await proposerDutyForWindow(await f.deps({ store }), f.win, 131n)).action, 'revealed');
  const reveal = f.sent[1].body;
  t.equal(reveal.excluded, `20:${UNAVAILABLE},21:${UNDECODABLE},22:${WRONG_MODEL}`, 'the reveal carries the exclusions');
  const exclusions = [20n, 21n, 22n].map((submissionId, i) => ({ submissionId, reason: [UNAVAILABLE, UNDECODABLE, WRONG_MODEL][i] }));
  t.equal(bytesToHex(commitHash(reveal.cid, Buffer.from(reveal.hash, 'hex'), Buffer.from(reveal.nonce, 'hex'), exclusions)), f.sent[0].body.commitment,
    'the reveal opens the commitment, exclusions included');
  t.not(bytesToHex(commitHash(reveal.cid, Buffer.from(reveal.hash, 'hex'), Buffer.from(reveal.nonce, 'hex'))), f.sent[0].body.commitment, 'the commitment binds them');
});

t.test('every accepted input bad: the proposer commits and reveals "nothing to aggregate" with all of them excluded', async (t) => {
  const f = await fixture(t.testdir());
  f.subs.splice(0, f.subs.length);
  await addBadSubmissions(f.store, f.subs);
  t.equal((await proposerDutyForWindow(await f.deps({ fetch: QUICK }), f.win, 121n)).action, 'committed');
  t.match(f.lines.at(-1), /committed "nothing to aggregate" \(all 3 accepted submissions excluded: 20 unavailable, 21 undecodable, 22 wrong-model\)/);
  f.commits.push({ windowId: 5n, proposer: ME, commitment: Buffer.from(f.sent[0].body.commitment, 'hex'), commitHeight: 121n, revealed: false, resultCid: '', resultHash: Buffer.alloc(0), revealHeight: 0n, excluded: [], lossBase: 0n, lossAggregate: 0n, checkpointCid: '', checkpointHash: Buffer.alloc(0) });
  t.equal((await proposerDutyForWindow(await f.deps(), f.win, 131n)).action, 'revealed');
  const reveal = f.sent[1].body;
  t.same([reveal.cid, reveal.hash, reveal.excluded], ['', '', `20:${UNAVAILABLE},21:${UNDECODABLE},22:${WRONG_MODEL}`]);
  const exclusions = [20n, 21n, 22n].map((submissionId, i) => ({ submissionId, reason: [UNAVAILABLE, UNDECODABLE, WRONG_MODEL][i] }));
  t.equal(bytesToHex(commitHash('', new Uint8Array(), Buffer.from(reveal.nonce, 'hex'), exclusions)), f.sent[0].body.commitment);
});

t.test('a store that never answers is bounded by the fetch timeout: its inputs are excluded as unavailable', async (t) => {
  const f = await fixture(t.testdir());
  const hanging = createServer(() => { /* accepts the request, never answers */ });
  await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => {
    hanging.closeAllConnections();
    hanging.close(() => resolve());
  }));
  const store = new GatewayClient(`http://127.0.0.1:${(hanging.address() as AddressInfo).port}`, { timeoutMs: 60_000 });
  const { included, excluded } = await acceptedDeltas(f.chain, store, f.win, { fetch: { timeoutMs: 150, attempts: 2, backoffMs: 10, parallel: 4 } });
  t.equal(included.length, 0);
  t.same(excluded.map((x) => [x.submissionId, x.reason]), [[8n, UNAVAILABLE], [9n, UNAVAILABLE], [10n, UNAVAILABLE]]);
  t.match(excluded[0].cause, /no answer within 150 ms \(2 tries, 150 ms each\)/);
});

t.test('a window that carries a checkpoint: the checkpointer\'s CID and state hash are committed with the aggregate and revealed; a failing checkpointer commits none', async (t) => {
  const f = await fixture(t.testdir());
  const carrier = { ...f.win, checkpointThrough: 4n } as Window;
  const CKPT = { checkpointCid: 'bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bz44yhu3gpbjh3nq', checkpointHash: sha256(Uint8Array.of(4)) };
  const asked: bigint[] = [];
  const checkpointer = async (w: Window) => {
    asked.push(w.checkpointThrough);
    return CKPT;
  };
  t.equal((await proposerDutyForWindow(await f.deps({ checkpointer }), carrier, 121n)).action, 'committed');
  t.same(asked, [4n], 'asked for the head through checkpoint_through');
  f.commits.push({ windowId: 5n, proposer: ME, commitment: Buffer.from(f.sent[0].body.commitment, 'hex'), commitHeight: 121n, revealed: false, resultCid: '', resultHash: Buffer.alloc(0), revealHeight: 0n, excluded: [], lossBase: 0n, lossAggregate: 0n, checkpointCid: '', checkpointHash: Buffer.alloc(0) });
  t.equal((await proposerDutyForWindow(await f.deps({ checkpointer }), carrier, 131n)).action, 'revealed');
  const reveal = f.sent[1].body;
  t.same([reveal.checkpointCid, reveal.checkpointHash], [CKPT.checkpointCid, bytesToHex(CKPT.checkpointHash)], 'revealed with the checkpoint (from the journal)');
  t.equal(bytesToHex(commitHash(reveal.cid, Buffer.from(reveal.hash, 'hex'), Buffer.from(reveal.nonce, 'hex'), [], undefined, CKPT)), f.sent[0].body.commitment, 'the commitment binds the checkpoint');

  const g = await fixture(t.testdir());
  const failing = async () => { throw new Error('window 3 unserved'); };
  t.equal((await proposerDutyForWindow(await g.deps({ checkpointer: failing }), { ...g.win, checkpointThrough: 4n } as Window, 121n)).action, 'committed', 'the aggregate is still committed');
  t.match(g.lines.join('\n'), /checkpoint through window 4 could not be built \(window 3 unserved\); committing none/);
  g.commits.push({ windowId: 5n, proposer: ME, commitment: Buffer.from(g.sent[0].body.commitment, 'hex'), commitHeight: 121n, revealed: false, resultCid: '', resultHash: Buffer.alloc(0), revealHeight: 0n, excluded: [], lossBase: 0n, lossAggregate: 0n, checkpointCid: '', checkpointHash: Buffer.alloc(0) });
  await proposerDutyForWindow(await g.deps(), { ...g.win, checkpointThrough: 4n } as Window, 131n);
  t.equal(g.sent[1].body.checkpointCid, '', 'revealed without one');
});
