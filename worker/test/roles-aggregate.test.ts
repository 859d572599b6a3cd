// Proposer duty against an in-memory chain: aggregate the ACCEPTED deltas with the rule of the
// chain's training params (read when aggregating), commit once (the nonce journaled first),
// reveal what was committed; a restart neither commits twice nor loses the nonce.
import t from 'tap';
import { join } from 'node:path';
import { bytesToHex } from '@noble/hashes/utils.js';
import { sha256 } from '@noble/hashes/sha2.js';
import {
  commitHash, defaultTrainingParams, type TrainingParams, SubmissionStatus, WindowStatus, type AggregationCommit, type Submission, type Window,
} from '@r3mes/client';
import { decodeAggregate, unflatten } from '../src/aggregate/file.ts';
import { parseRule, ruleName as ruleNameOf } from '../src/aggregate/rules.ts';
import { type ChainReader, type SignedTx, txHashOf } from '../src/chain/client.ts';
import { ChainError } from '../src/chain/errors.ts';
import type { ModelConfig } from '../src/model/config.ts';
import { encodeDelta } from '../src/output/delta.ts';
import { aggregationRuleNow, proposerDuty, proposerDutyForWindow, type ProposerDeps } from '../src/roles/aggregate.ts';
import { Journal } from '../src/roles/journal.ts';
import { WorkerStats } from '../src/roles/stats.ts';
import { FileBlockstore } from '../src/storage/blockstore.ts';
import { parseCid } from '../src/storage/cid.ts';

const ME = 'r3mes1proposer';
const cfg: ModelConfig = { vocab: 256, dModel: 16, nLayers: 1, nHeads: 2, dFF: 16, seqLen: 16, loraRank: 4, seed: new Uint8Array(32).fill(2) };

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
      status: k === 3 ? SubmissionStatus.SUBMISSION_STATUS_REJECTED : SubmissionStatus.SUBMISSION_STATUS_ACCEPTED, rejectReason: '',
    });
  }
  const win = {
    id: 5n, status: WindowStatus.WINDOW_STATUS_AGGREGATING, commitStartHeight: 120n, revealStartHeight: 130n, revealEndHeight: 140n, proposers: ['r3mes1other', ME],
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
    modelVersion: async () => { throw new Error('unused'); }, txResult: async () => undefined,
  };
  const writer = {
    address: ME,
    signSubmitGradient: async () => { throw new Error('unused'); },
    signCommitAggregation: async (w: bigint, c: Uint8Array) => sign('commit', { window: w.toString(), commitment: bytesToHex(c) }),
    signRevealAggregation: async (w: bigint, cid: string, h: Uint8Array, n: Uint8Array) => sign('reveal', { window: w.toString(), cid, hash: bytesToHex(h), nonce: bytesToHex(n) }),
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
  commits.push({ windowId: 5n, proposer: ME, commitment: Buffer.from(sent[0].body.commitment, 'hex'), commitHeight: 121n, revealed: false, resultCid: '', resultHash: Buffer.alloc(0), revealHeight: 0n });

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

t.test('proposerDuty looks further back than three windows while they have not finished revealing', async (t) => {
  const f = await fixture(t.testdir());
  // Windows of 10 blocks with a 40-block challenge period: window 5 (opened at 70, commit phase
  // 120..130) is in its commit phase while window 10 collects, five windows later.
  const windows = new Map<bigint, Window>();
  for (let id = 1n; id <= 10n; id++) {
    const collectEnd = 30n + id * 10n;
    windows.set(id, { ...f.win, id, commitStartHeight: collectEnd + 40n, revealStartHeight: collectEnd + 50n, revealEndHeight: collectEnd + 60n, proposers: id === 5n ? f.win.proposers : ['r3mes1other'] } as Window);
  }
  const asked: bigint[] = [];
  const chain = {
    ...f.chain, height: async () => 121n, currentWindow: async () => windows.get(10n),
    window: async (id: bigint) => {
      asked.push(id);
      return windows.get(id)!;
    },
  };
  const out = await proposerDuty(await f.deps({ chain }));
  t.same(asked, [9n, 8n, 7n, 6n, 5n, 4n, 3n], 'back to the first window whose reveal phase is over (window 3: ended at 120)');
  t.same(out.map((o) => [o.window, o.action]), [[9n, 'not-drawn'], [8n, 'not-drawn'], [7n, 'not-drawn'], [6n, 'not-drawn'], [5n, 'committed'], [4n, 'not-drawn'], [3n, 'not-drawn']]);
  t.equal(f.sent.length, 1, 'window 5 committed');
});
