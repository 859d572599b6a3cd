// Verification duties against an in-memory chain: which duties are this key's, re-execution of
// an honest delta agrees and of a `train --cheat` delta disagrees, a missing CID is reported,
// every answer is committed and revealed on a later pass (the salt survives a restart), and
// nothing is ever signed twice for one duty (journal before broadcast; same bytes on resend).
import t from 'tap';
import { join } from 'node:path';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { cpuBackend } from '../src/backend.ts';
import { type SignedTx, txHashOf, type Dispute, type L1Check, type Submission, type VerificationReader, type VerificationWriter } from '../src/chain/client.ts';
import { chunkHash } from '../src/data/chunk.ts';
import type { ModelConfig } from '../src/model/config.ts';
import { adapterDelta, encodeDelta } from '../src/output/delta.ts';
import type { ModelIdentity } from '../src/output/metadata.ts';
import { runTrainingJob } from '../src/roles/job.ts';
import { tamperDelta } from '../src/roles/miner-cheat.ts';
import { loadModel } from '../src/roles/model.ts';
import { DutyJournal, dutyPass, selectDuties, type DutyDeps } from '../src/roles/verify.ts';
import { arbitratePass } from '../src/roles/arbitrate.ts';
import { FileBlockstore } from '../src/storage/blockstore.ts';
import { cidOf } from '../src/storage/cid.ts';
import {
  commitDomain, Dispute as DisputeProto, DisputeStage, L1Check as L1CheckProto, L1Status, PanelSeat, SubmissionStatus, UNAVAILABLE_RESULT, verificationCommitment,
} from '@r3mes/client';

const ME = 'r3mes1verifier';
const cfg: ModelConfig = { vocab: 256, dModel: 16, nLayers: 1, nHeads: 2, dFF: 16, seqLen: 16, loraRank: 4, seed: new Uint8Array(32).fill(3) };
const identity: ModelIdentity = { version: 1n, backbone: { seed: cfg.seed }, cfg };
const chunk = Uint8Array.from({ length: 2048 }, (_, i) => 97 + ((i * 7 + (i >> 5)) % 26));
const backend = cpuBackend();

function submission(id: bigint, cid: string, gradientHash: Uint8Array, miner = 'r3mes1miner'): Submission {
  return {
    id, miner, windowId: 1n, subnet: 0n, modelVersion: 1n, gradientCid: cid, gradientHash: Buffer.from(gradientHash), traceRoot: Buffer.alloc(32),
    chunkIndex: 0n, ordinal: 0n, lossBefore: 0n, lossAfter: 0n, backend: 'cpu', height: 2n, status: SubmissionStatus.SUBMISSION_STATUS_PENDING, rejectReason: '', exclusionReason: 0,
  };
}
function l1(submissionId: bigint, verifier: string, status = L1Status.L1_STATUS_PENDING, deadline = 20n): L1Check {
  return L1CheckProto.fromPartial({ submissionId, miner: 'r3mes1miner', verifier, seed: Buffer.alloc(32), drawnHeight: 2n, deadlineHeight: deadline, commitDeadlineHeight: deadline - 5n, status });
}
function dispute(id: bigint, submissionId: bigint, over: Partial<Dispute>): Dispute {
  return DisputeProto.fromPartial({
    id, submissionId, windowId: 1n, miner: 'r3mes1miner', challenger: 'r3mes1challenger', bond: '100', baseReward: '10', origin: 1, stage: DisputeStage.DISPUTE_STAGE_L2_ANSWER,
    openedHeight: 3n, commitDeadlineHeight: 15n, nextActionHeight: 20n, expectedHash: Buffer.alloc(32), ...over,
  });
}
const seat = (arbiter: string, over: Partial<PanelSeat> = {}): PanelSeat => PanelSeat.fromPartial({ arbiter, ...over });

/**
 * An in-memory chain: what the reader sees, and every tx the writer broadcast (decoded). A
 * commitment that lands is recorded on the check, the L2 answer or the seat, at the current
 * height; `advance()` moves to the next block.
 * `pendingL1Checks` answers as the verification module's ChecksByVerifier index does: only the
 * verifier's PENDING checks, ascending by submission id, whatever order `checks` is in.
 */
function fakeChain(subs: Submission[], checks: L1Check[], disputes: Dispute[], start = 10n) {
  let height = start;
  const sent: { txhash: string; msg: Record<string, string> }[] = [];
  const landed = new Map<string, { code: number; height: bigint; rawLog: string }>();
  const queries = { pendingL1Checks: 0, findSubmission: 0 };
  let failNextBroadcast = false;
  const chain: VerificationReader = {
    height: async () => height,
    findSubmission: async (id) => {
      queries.findSubmission++;
      return subs.find((s) => s.id === id);
    },
    pendingL1Checks: async (verifier) => {
      queries.pendingL1Checks++;
      return checks.filter((c) => c.verifier === verifier && c.status === L1Status.L1_STATUS_PENDING)
        .sort((a, b) => (a.submissionId < b.submissionId ? -1 : a.submissionId > b.submissionId ? 1 : 0));
    },
    openDisputes: async () => disputes,
    modelVersion: async () => { throw new Error('unused'); },
    txResult: async (h) => landed.get(h),
  };
  const sign = (msg: Record<string, string>): Promise<SignedTx> => {
    const txBytes = new TextEncoder().encode(JSON.stringify(msg));
    return Promise.resolve({ txBytes, txhash: txHashOf(txBytes) });
  };
  const writer: VerificationWriter = {
    address: ME,
    signCommitVerification: (id, c) => sign({ type: 'verification-commit', submission: id.toString(), commitment: bytesToHex(c) }),
    signRevealVerification: (id, h, salt) => sign({ type: 'verification', submission: id.toString(), result: bytesToHex(h), salt: bytesToHex(salt) }),
    signReportUnavailable: (id) => sign({ type: 'report-unavailable', submission: id.toString() }),
    signCommitArbiterVote: (d, c) => sign({ type: 'arbiter-commit', dispute: d.toString(), commitment: bytesToHex(c) }),
    signRevealArbiterVote: (d, v, salt) => sign({ type: 'arbiter-vote', dispute: d.toString(), result: 'unavailable' in v ? 'unavailable' : bytesToHex(v.resultHash), salt: bytesToHex(salt) }),
    signChallenge: (id, bond) => sign({ type: 'challenge', submission: id.toString(), bond: bond.toString() }),
    broadcast: async (tx) => {
      sent.push({ txhash: tx.txhash, msg: JSON.parse(new TextDecoder().decode(tx.txBytes)) as Record<string, string> });
      if (failNextBroadcast) {
        failNextBroadcast = false;
        throw new Error('socket hang up');
      }
      const msg = sent.at(-1)!.msg;
      if (msg.commitment !== undefined) {
        const commitment = Buffer.from(hexToBytes(msg.commitment));
        const current = await chain.openDisputes();
        if (msg.type === 'arbiter-commit') {
          for (const d of current) if (d.id === BigInt(msg.dispute)) for (const s of d.panel) if (s.arbiter === ME) Object.assign(s, { commitment, commitHeight: height });
        } else {
          const d = current.find((x) => x.submissionId === BigInt(msg.submission) && x.l2Verifier === ME && x.stage === DisputeStage.DISPUTE_STAGE_L2_ANSWER);
          if (d) Object.assign(d, { l2Commitment: commitment, l2CommitHeight: height });
          else for (const c of checks) if (c.submissionId === BigInt(msg.submission) && c.verifier === ME) Object.assign(c, { commitment, commitHeight: height });
        }
      }
      landed.set(tx.txhash, { code: 0, height, rawLog: '' });
      return { txhash: tx.txhash, height, code: 0, rawLog: '' };
    },
  };
  return { chain, writer, sent, landed, queries, checks, failNext: () => { failNextBroadcast = true; }, advance: () => { height += 1n; } };
}

/** The reveal `msg` opens the commitment sent before it for the same duty. */
function opens(commit: Record<string, string>, reveal: Record<string, string>, domain: string): boolean {
  const result = reveal.result === 'unavailable' ? UNAVAILABLE_RESULT : hexToBytes(reveal.result);
  return bytesToHex(verificationCommitment(domain, result, hexToBytes(reveal.salt), ME)) === commit.commitment;
}

// One honest job, shared: the honest delta and the --cheat delta of the same training.
const model = await loadModel(identity);
const job = await runTrainingJob({ model, chunk, steps: 2, lr: 256, backend });
const info = {
  model: identity, miner: 'r3mes1miner', window: 1n, ordinal: 0n, chunkIndex: 0n, chunkHash: chunkHash(chunk), backend: 'cpu', lr: 256,
  stepHashes: job.stepHashes, lossBefore: job.lossBefore, lossAfter: job.lossAfter,
};
const honest = await encodeDelta(adapterDelta(job.initial, job.final), info);
const cheat = await encodeDelta(tamperDelta(adapterDelta(job.initial, job.final)), info);

async function deps(dir: string, c: ReturnType<typeof fakeChain>, role: 'verify' | 'arbitrate' = 'verify'): Promise<DutyDeps & { lines: string[] }> {
  const store = await FileBlockstore.open(join(dir, 'store'));
  await store.put(honest.bytes);
  await store.put(cheat.bytes);
  const lines: string[] = [];
  return {
    chain: c.chain, writer: c.writer, store, journal: await DutyJournal.open(join(dir, 'verify-journal.json')), backend, role,
    loadModel: async () => model, chunkAt: () => chunk, log: (l) => lines.push(l), lines,
  };
}

t.test('the cheat keeps CID and hash consistent with the tampered bytes', async (t) => {
  t.not(bytesToHex(cheat.gradientHash), bytesToHex(honest.gradientHash));
  t.equal((await cidOf(cheat.bytes)).toString(), cheat.cid.toString());
  t.same(cheat.traceRoot, honest.traceRoot, 'the trace is the honest one: only re-execution of the delta tells');
});

t.test('duty selection: only what is drawn to this key and still unanswered on chain', async (t) => {
  const h = sha256(Uint8Array.of(1));
  const subs = [1n, 2n, 3n, 4n, 5n].map((id) => submission(id, honest.cid.toString(), h));
  // 5: not sampled; 4: pending but past its deadline (not yet marked missed); 3: answered.
  const checks = [l1(4n, ME, L1Status.L1_STATUS_PENDING, 9n), l1(2n, 'r3mes1other'), l1(3n, ME, L1Status.L1_STATUS_MATCH), l1(1n, ME)];
  const disputes = [
    dispute(1n, 1n, { l2Verifier: ME }),
    dispute(2n, 2n, { l2Verifier: 'r3mes1other' }),
    dispute(3n, 3n, { l2Verifier: ME, l2ResultHash: Buffer.from(h) }),
    dispute(4n, 4n, { stage: DisputeStage.DISPUTE_STAGE_L3_VOTING, panel: [seat('r3mes1a'), seat(ME)] }),
    dispute(5n, 5n, { stage: DisputeStage.DISPUTE_STAGE_L3_VOTING, panel: [seat(ME, { voted: true })] }),
    dispute(6n, 2n, { stage: DisputeStage.DISPUTE_STAGE_L3_VOTING, panel: [seat(ME, { missed: true })] }),
    dispute(7n, 1n, { stage: DisputeStage.DISPUTE_STAGE_L3_VOTING, nextActionHeight: 9n, panel: [seat(ME)] }),
  ];
  const c = fakeChain(subs, checks, disputes);
  const v = await selectDuties(c.chain, ME, 'verify');
  t.same(v.duties.map((d) => d.key), ['l1/1/2', 'l2/1/0']);
  t.same(c.queries, { pendingL1Checks: 1, findSubmission: 0 }, 'one ChecksByVerifier query, no scan of submission ids');
  const a = await selectDuties(c.chain, ME, 'arbitrate');
  t.same(a.duties.map((d) => d.key), ['l3/4'], 'arbitrate takes only unvoted, unmissed seats within the deadline');
  t.equal(c.queries.pendingL1Checks, 1, 'the arbiter does not ask for L1 checks');

  // Many submissions: the cost of a pass does not grow with them, and the order is the chain's.
  const many = Array.from({ length: 500 }, (_, i) => BigInt(i + 1));
  const big = fakeChain(many.map((id) => submission(id, honest.cid.toString(), h)),
    many.filter((id) => id % 97n === 0n).reverse().map((id) => l1(id, id % 2n === 0n ? ME : 'r3mes1other')), []);
  const sel = await selectDuties(big.chain, ME, 'verify');
  t.same(sel.duties.map((d) => d.submissionId), [194n, 388n], 'this key\'s pending checks, ascending by submission id');
  t.same(big.queries, { pendingL1Checks: 1, findSubmission: 0 });
  t.end();
});

t.test('L1: honest agrees, --cheat disagrees, a missing CID is reported; committed, then revealed (after a restart too); never twice', async (t) => {
  const dir = t.testdir();
  const missing = (await cidOf(Uint8Array.of(1, 2, 3))).toString();
  const subs = [submission(1n, honest.cid.toString(), honest.gradientHash), submission(2n, cheat.cid.toString(), cheat.gradientHash), submission(3n, missing, honest.gradientHash)];
  const c = fakeChain(subs, [l1(1n, ME), l1(2n, ME), l1(3n, ME)], []);
  const d = await deps(dir, c);
  const out = await dutyPass(d);
  t.same(out.map((o) => [o.key, o.verdict, o.action]), [['l1/1/2', 'match', 'committed'], ['l1/2/2', 'mismatch', 'committed'], ['l1/3/2', 'unavailable', 'sent']]);
  t.same(c.sent.map((s) => s.msg.type), ['verification-commit', 'verification-commit', 'report-unavailable'], 'answers are committed; the unavailability report is not');
  t.notOk(JSON.stringify(c.sent.map((s) => s.msg)).includes(bytesToHex(honest.gradientHash)), 'no result hash is on chain before the reveal');
  t.match(d.lines[0], /^L1 check of submission 1 \(miner r3mes1miner\): match → committed$/);
  t.match(d.lines[1], /submission 2 .*: mismatch → committed/);
  t.ok(d.journal.get('l1/1/2/commit')?.salt, 'the salt is journaled with the commit');

  // Restart between commit and reveal: the journal alone reveals (no re-execution), in a later block.
  const afterCommit = await dutyPass({ ...d, journal: await DutyJournal.open(join(dir, 'verify-journal.json')) });
  t.same(afterCommit.map((o) => [o.key, o.action]), [['l1/1/2', 'waiting'], ['l1/2/2', 'waiting'], ['l1/3/2', 'already-sent']], 'the chain has recorded the commitments');
  c.advance();
  const fresh = await DutyJournal.open(join(dir, 'verify-journal.json'));
  const revealed = await dutyPass({ ...d, journal: fresh, loadModel: async () => { throw new Error('no re-execution for a reveal'); } });
  t.same(revealed.map((o) => [o.key, o.action]), [['l1/1/2', 'sent'], ['l1/2/2', 'sent'], ['l1/3/2', 'already-sent']]);
  t.same(c.sent.slice(3).map((s) => [s.msg.type, s.msg.result]), [
    ['verification', bytesToHex(honest.gradientHash)], ['verification', bytesToHex(honest.gradientHash)],
  ], 'the cheat is answered with the honest re-execution hash');
  t.ok(opens(c.sent[0].msg, c.sent[3].msg, commitDomain('l1', 1n)), 'the reveal opens the commitment of submission 1');
  t.ok(opens(c.sent[1].msg, c.sent[4].msg, commitDomain('l1', 2n)), 'and of submission 2');

  // The chain has not caught up (checks still PENDING): nothing is signed again, this pass or after a restart.
  const again = await dutyPass({ ...d, journal: fresh });
  t.same(again.map((o) => [o.key, o.action]), [['l1/1/2', 'already-sent'], ['l1/2/2', 'already-sent'], ['l1/3/2', 'already-sent']], 'the journal holds them back');
  const restarted = await dutyPass({ ...d, journal: await DutyJournal.open(join(dir, 'verify-journal.json')) });
  t.same(restarted.map((o) => o.action), ['already-sent', 'already-sent', 'already-sent'], 'after a restart too');
  t.equal(c.sent.length, 5, 'one commit and one reveal per duty, nothing more');
  // The chain catches up: the answered checks leave the index, and the pass has nothing to do.
  for (const check of c.checks) check.status = check.submissionId === 3n ? L1Status.L1_STATUS_UNAVAILABLE : L1Status.L1_STATUS_MATCH;
  t.same(await dutyPass({ ...d, journal: fresh }), [], 'nothing pending: nothing to do');
  t.equal(c.sent.length, 5);
});

t.test('duty journal: a file written by a scanning worker (with scanFrom) still opens; scanFrom is no longer written', async (t) => {
  const dir = t.testdir({
    'verify-journal.json': JSON.stringify({ version: 1, scanFrom: '42', entries: [{ key: 'l1/7', msg: 'verification', deadline: '20', txhash: 'AB', txBytes: '', status: 'included', result: '' }] }),
  });
  const j = await DutyJournal.open(join(dir, 'verify-journal.json'));
  t.equal(j.get('l1/7')?.status, 'included', 'entries kept');
  await j.record({ key: 'l1/8', msg: 'verification', deadline: '20', txhash: 'CD', txBytes: '', status: 'signed', result: '' });
  const { readFile } = await import('node:fs/promises');
  const body = JSON.parse(await readFile(join(dir, 'verify-journal.json'), 'utf8')) as Record<string, unknown>;
  t.equal(body.scanFrom, undefined);
  t.same((body.entries as { key: string }[]).map((e) => e.key), ['l1/7', 'l1/8']);
  await t.rejects(DutyJournal.open(join(t.testdir({ 'j.json': JSON.stringify({ version: 1, scanFrom: 'x', entries: [] }) }), 'j.json')), /not an r3mes duty journal/);
});

t.test('a broadcast lost in flight is resent with the same bytes, once', async (t) => {
  const subs = [submission(1n, honest.cid.toString(), honest.gradientHash)];
  const c = fakeChain(subs, [l1(1n, ME)], []);
  const d = await deps(t.testdir(), c);
  c.failNext();
  await dutyPass(d);
  t.equal(c.sent.length, 1);
  t.equal(d.journal.get('l1/1/2/commit')?.status, 'signed', 'journaled before the broadcast, still unknown');
  await dutyPass(d);
  t.equal(c.sent.length, 2);
  t.equal(c.sent[1].txhash, c.sent[0].txhash, 'the same signed bytes, not a new tx');
  t.equal(d.journal.get('l1/1/2/commit')?.status, 'included');
  c.advance();
  await dutyPass(d);
  t.equal(c.sent.length, 3, 'then the reveal');
  t.equal(d.journal.get('l1/1/2')?.status, 'included');
  await dutyPass(d);
  t.equal(c.sent.length, 3, 'settled: nothing more');
});

t.test('L2 answer and L3 votes (unavailable: report, then vote)', async (t) => {
  const missing = (await cidOf(Uint8Array.of(9))).toString();
  const subs = [submission(1n, cheat.cid.toString(), cheat.gradientHash), submission(2n, missing, honest.gradientHash)];
  const d3 = dispute(3n, 2n, { stage: DisputeStage.DISPUTE_STAGE_L3_VOTING, panel: [seat(ME)] });
  const d2 = dispute(2n, 1n, { stage: DisputeStage.DISPUTE_STAGE_L3_VOTING, panel: [seat(ME), seat('r3mes1b')] });
  const c = fakeChain(subs, [], [dispute(1n, 1n, { l2Verifier: ME }), d2, d3]);
  const v = await deps(t.testdir(), c, 'verify');
  const l2 = await dutyPass(v);
  t.same(l2.map((o) => [o.key, o.verdict, o.action]), [['l2/1/0', 'mismatch', 'committed']]);
  t.same(c.sent[0].msg.type, 'verification-commit', 'the L2 answer is MsgSubmitVerification, committed first');
  c.advance();
  await dutyPass(v);
  t.same([c.sent[1].msg.type, c.sent[1].msg.result], ['verification', bytesToHex(honest.gradientHash)], 'then revealed');
  t.ok(opens(c.sent[0].msg, c.sent[1].msg, commitDomain('l2', 1n, 0n)), 'with the L2 domain');

  const a = await deps(t.testdir(), c, 'arbitrate');
  const first = await arbitratePass(a);
  t.same(first.map((o) => [o.key, o.verdict, o.action]), [['l3/2', 'mismatch', 'committed'], ['l3/3', 'unavailable', 'sent']]);
  t.same(c.sent.slice(2).map((s) => s.msg.type), ['arbiter-commit', 'report-unavailable']);
  c.advance();
  const waiting = await arbitratePass(a);
  t.same(waiting.map((o) => [o.key, o.action]), [['l3/2', 'waiting'], ['l3/3', 'already-sent']], 'no reveal while another seat may still commit (it could copy)');
  c.chain.openDisputes = async () => [d2, { ...d3, unavailableReported: true }];
  d2.panel[1] = seat('r3mes1b', { commitment: Buffer.alloc(32, 1), commitHeight: 11n });
  const next = await arbitratePass(a);
  t.same(next.map((o) => [o.key, o.action]), [['l3/2', 'sent'], ['l3/3', 'committed']], 'every seat committed: reveal; the report is on chain: commit the unavailable vote');
  t.same([c.sent[4].msg.type, c.sent[4].msg.result], ['arbiter-vote', bytesToHex(honest.gradientHash)]);
  t.ok(opens(c.sent[2].msg, c.sent[4].msg, commitDomain('l3', 2n)));
  c.advance();
  await arbitratePass(a);
  t.same([c.sent.at(-1)?.msg.type, c.sent.at(-1)?.msg.result], ['arbiter-vote', 'unavailable'], 'votes unavailable once the report is on chain');
  t.ok(opens(c.sent[5].msg, c.sent[6].msg, commitDomain('l3', 3n)));
  await arbitratePass(a);
  t.equal(c.sent.length, 7, 'and only once');
  await t.rejects(arbitratePass({ ...a, backend: { ...backend, name: 'webgpu' } as typeof backend }), /CPU reference only/);
});

t.test('a later check on the same submission (a trap check looks like any other) is a new duty; a pre-commit-reveal journal entry still counts', async (t) => {
  const subs = [submission(1n, honest.cid.toString(), honest.gradientHash)];
  const first = l1(1n, ME);
  const c = fakeChain(subs, [first], []);
  const d = await deps(t.testdir(), c);
  await dutyPass(d);
  c.advance();
  await dutyPass(d);
  t.same(c.sent.map((s) => s.msg.type), ['verification-commit', 'verification']);
  first.status = L1Status.L1_STATUS_MATCH;
  // Drawn again later on the same submission, with another claim (what a trap check shows).
  const again = L1CheckProto.fromPartial({ ...l1(1n, ME, L1Status.L1_STATUS_PENDING, 40n), drawnHeight: 12n, claimedHash: Buffer.alloc(32, 5) });
  c.checks.push(again);
  const out = await dutyPass(d);
  t.same(out.map((o) => [o.key, o.action]), [['l1/1/12', 'committed']], 'a new duty, keyed by its draw height');
  c.advance();
  await dutyPass(d);
  t.same([c.sent.at(-1)?.msg.type, c.sent.at(-1)?.msg.result], ['verification', bytesToHex(honest.gradientHash)], 'answered with the re-execution, not the claim shown');

  const legacy = fakeChain(subs, [l1(1n, ME)], []);
  const ld = await deps(t.testdir(), legacy);
  await ld.journal.record({ key: 'l1/1', msg: 'verification', deadline: '20', txhash: 'AB', txBytes: '', status: 'included', result: '' });
  t.same((await dutyPass(ld)).map((o) => [o.key, o.action]), [['l1/1/2', 'already-sent']], 'an answer journaled as l1/{submission} is not signed again');
});
