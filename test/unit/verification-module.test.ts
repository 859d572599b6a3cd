/**
 * verification: the AppModule (queries, params), the ModuleInterface (CLI builders, REST
 * routes, registry), genesis round trip in mid-dispute, and the lifecycle against the REAL
 * training keeper (rejectSubmission, the challenge period of a real window).
 */
import t from 'tap';
import { MsgSubmitGradient } from '../../proto/gen/r3mes/training/v1/tx.ts';
import { SubmissionStatus } from '../../proto/gen/r3mes/training/v1/types.ts';
import { GenesisState } from '../../proto/gen/r3mes/verification/v1/genesis.ts';
import { QueryChecksByVerifierRequest, QueryChecksByVerifierResponse } from '../../proto/gen/r3mes/verification/v1/query.ts';
import { MsgArbiterVote, MsgChallenge, MsgReportUnavailable, MsgSubmitVerification } from '../../proto/gen/r3mes/verification/v1/tx.ts';
import { DisputeOutcome, DisputeStage, L1Status } from '../../proto/gen/r3mes/verification/v1/types.ts';
import { defaultParams as trainingDefaults } from '../../modules/training/params.ts';
import { testCid, trainingTestbed } from '../helpers/training-testbed.ts';
import { verificationInterface } from '../../modules/verification/interface.ts';
import { QUERY_PATHS } from '../../modules/verification/module.ts';
import { TYPE_URLS } from '../../modules/verification/msgs.ts';
import { trainingReader } from '../../app/adapters.ts';
import { SortedMemStore, testAccount, testHash, verificationTestbed } from '../helpers/verification-testbed.ts';

const GOOD = testHash('good');
const BAD = testHash('bad');

/** Several submissions left in every stage: L1 pending/answered, disputes at L2, at L3 with a vote, resolved. */
function midDispute() {
  const h = verificationTestbed({ params: { l1SampleBps: 5000n } });
  const miner = h.registerMiner('miner', 100_000n);
  const challenger = testAccount('challenger');
  h.fund(challenger.bytes, 1_000_000n);
  h.height = 10n;
  h.training.openWindow(1n, 200n, 1000n);
  const ids = [1, 2, 3, 4, 5, 6].map((i) => h.training.submit(miner.address, 1n, i % 2 === 0 ? GOOD : BAD, h.height));
  h.nextBlock();
  const challenge = (id: bigint) => h.tx((ctx) => h.keeper.challenge(ctx, MsgChallenge.fromPartial({ challenger: challenger.address, submissionId: id, bond: '10000' })));
  const open = ids.filter((id) => !h.keeper.isHeld(h.state, id)).slice(0, 3);
  const [atL2, atL3, resolved] = open.map(challenge);
  h.nextBlock();
  // Both L2 verifiers commit in one block and reveal in the next.
  const answers: Array<[bigint, Buffer]> = [
    [atL3, BAD.equals(Buffer.from(h.dispute(atL3).expectedHash)) ? GOOD : BAD],
    [resolved, Buffer.from(h.dispute(resolved).expectedHash)],
  ];
  for (const [id, hash] of answers) h.commitAnswer(h.dispute(id).l2Verifier, h.dispute(id).submissionId, hash);
  h.nextBlock();
  for (const [id, hash] of answers) h.revealAnswer(h.dispute(id).l2Verifier, h.dispute(id).submissionId, hash);
  h.nextBlock();
  // The arbiters commit; one of them has revealed by the time the state is exported.
  const seats = h.dispute(atL3).panel.map((seat) => seat.arbiter);
  for (const arbiter of seats) h.commitVote(atL3, arbiter, GOOD);
  h.openReveals(atL3);
  h.revealVote(atL3, seats[0], GOOD);
  return { h, miner, challenger, ids, atL2, atL3, resolved };
}

t.test('genesis: default and mid-dispute state round trip; imported state keeps running', (t) => {
  const empty = verificationTestbed();
  const fresh = new SortedMemStore();
  empty.module.initGenesis(fresh, empty.module.defaultGenesis());
  t.same(empty.module.exportGenesis(fresh), empty.module.defaultGenesis(), 'default');

  const { h, atL2, atL3, resolved } = midDispute();
  const exported = h.module.exportGenesis(h.state) as { disputes: unknown[]; l1Checks: unknown[] };
  t.equal(exported.disputes.length, 3);
  t.ok(exported.l1Checks.length > 0, 'L1 checks exported');
  t.equal(h.dispute(atL2).stage, DisputeStage.DISPUTE_STAGE_L2_ANSWER);
  t.equal(h.dispute(atL3).stage, DisputeStage.DISPUTE_STAGE_L3_VOTING);
  t.equal(h.dispute(resolved).outcome, DisputeOutcome.DISPUTE_OUTCOME_CHALLENGE_REJECTED);
  const json = JSON.parse(JSON.stringify(exported));

  const other = verificationTestbed();
  const store = new SortedMemStore();
  other.module.initGenesis(store, json);
  t.same(other.module.exportGenesis(store), json, 'exportGenesis(initGenesis(g)) = g');
  t.same(GenesisState.fromJSON(json), GenesisState.fromJSON(other.module.exportGenesis(store)));
  t.ok(other.keeper.isHeld(store, h.dispute(atL2).submissionId), 'held index derived');
  t.notOk(other.keeper.isHeld(store, h.dispute(resolved).submissionId));
  t.same(other.keeper.openDisputes(store).map((d) => d.id), [atL2, atL3], 'open index derived');
  t.equal(h.keeper.bondsHeld(h.state), 20_000n - 1_000n, 'two open bonds, less the fee the L2 verifier at L3 was paid');

  // The due index was derived too: the original keeps running to the L2 deadline, and the
  // imported state's indexes answer the same.
  const before = h.dispute(atL2);
  while (h.height <= before.nextActionHeight + 1n) h.nextBlock();
  t.equal(h.dispute(atL2).l2Missed.length, 1, 'the L2 deadline fires');
  t.end();
});

t.test('queries through the module and the interface routes', (t) => {
  const { h, atL3, ids } = midDispute();
  const route = (name: string) => verificationInterface.queries.find((q) => q.name === name)!;
  const ask = (name: string, args: Record<string, string> = {}) => {
    const r = route(name);
    return r.decodeResponse(h.module.queries[r.path](h.state, r.encodeRequest(args))) as Record<string, unknown>;
  };
  for (const q of verificationInterface.queries) {
    t.ok(q.rest.startsWith('/r3mes/verification/v1/'), `${q.name}: REST ${q.rest}`);
    t.ok(h.module.queries[q.path], `${q.name}: ABCI ${q.path} served`);
    for (const arg of q.args) t.match(q.rest, `{${arg}}`, `${q.name}: {${arg}} in the REST path`);
  }
  t.same(Object.values(QUERY_PATHS).sort(), [...new Set(verificationInterface.queries.map((q) => q.path))].sort(), 'every query has a route');
  t.equal((ask('params').params as Record<string, string>).panelSize, '3');
  const dispute = ask('dispute', { dispute_id: atL3.toString() }).dispute as Record<string, unknown>;
  t.equal(dispute.stage, 'DISPUTE_STAGE_L3_VOTING');
  t.equal((ask('open-disputes').disputes as unknown[]).length, 2);
  const panel = ask('panel', { dispute_id: atL3.toString() });
  t.equal((panel.seats as unknown[]).length, 3);
  t.equal(panel.deadlineHeight, h.dispute(atL3).nextActionHeight.toString());
  t.equal((panel.draws as unknown[]).length, 2, 'L2 and L3 draws with their seeds');
  t.equal((ask('votes', { dispute_id: atL3.toString() }).votes as unknown[]).length, 1);
  const submission = ask('submission', { submission_id: h.dispute(atL3).submissionId.toString() });
  t.equal(submission.held, true);
  t.equal((submission.disputes as unknown[]).length, 1);
  const sampled = ids.find((id) => h.keeper.l1Check(h.state, id) !== undefined)!;
  t.equal((ask('submission', { submission_id: sampled.toString() }).l1Check as Record<string, unknown>).status, 'L1_STATUS_PENDING');
  t.throws(() => route('dispute').encodeRequest({ dispute_id: 'x' }), { codespace: 'sdk', code: 18 });
  t.end();
});

/** Every submission sampled for L1: `n` submissions in one block, their checks drawn in its endBlock. */
function allSampled(n: number) {
  const h = verificationTestbed({ params: { l1SampleBps: 10_000n, l1ResponseBlocks: 5n } });
  const miner = h.registerMiner('miner', 100_000n);
  h.height = 10n;
  h.training.openWindow(1n, 200n, 1000n);
  const ids = Array.from({ length: n }, (_, i) => h.training.submit(miner.address, 1n, i % 2 === 0 ? GOOD : BAD, h.height));
  h.nextBlock();
  return { h, miner, ids };
}

t.test('ChecksByVerifier: each verifier\'s pending L1 checks, ascending, from the index; answered, flagged and missed ones leave it', (t) => {
  const { h, ids } = allSampled(24);
  const route = (name: string) => verificationInterface.queries.find((q) => q.name === name)!;
  const ask = (name: string, args: Record<string, string>) => {
    const r = route(name);
    return r.decodeResponse(h.module.queries[r.path](h.state, r.encodeRequest(args))) as { checks?: Record<string, string>[]; nextStartAfter?: string };
  };
  const raw = (verifier: string, startAfter = 0n, limit = 0n) => QueryChecksByVerifierResponse.decode(
    h.module.queries[QUERY_PATHS.checksByVerifier](h.state, QueryChecksByVerifierRequest.encode({ verifier, startAfter, limit }).finish()));
  const all = ids.map((id) => h.keeper.l1Check(h.state, id)!);
  t.ok(all.every((c) => c.status === L1Status.L1_STATUS_PENDING), 'every submission sampled, every check pending');
  const expected = (v: string) => all.filter((c) => c.verifier === v && c.status === L1Status.L1_STATUS_PENDING).map((c) => c.submissionId);
  const busy = h.validators.filter((v) => expected(v).length > 0);
  t.ok(busy.length >= 2, 'the draw spread the checks over several validators');

  // Happy path: exactly the checks drawn to each verifier, ascending by submission id, whole L1Check values.
  for (const v of h.validators) {
    const page = raw(v);
    t.same(page.checks.map((c) => c.submissionId), expected(v), `${v.slice(0, 14)}…: its checks, ascending`);
    t.same(page.checks, expected(v).map((id) => h.keeper.l1Check(h.state, id)), 'the stored checks themselves');
    t.equal(page.nextStartAfter, 0n, 'one page');
  }
  const v = busy.reduce((a, b) => (expected(a).length >= expected(b).length ? a : b));
  const mine = expected(v);
  t.ok(mine.length >= 3, 'a verifier with several checks');

  // Paging: limit 2 walks the same list; the last page says 0; start_after skips.
  const walked: bigint[] = [];
  let after = 0n;
  for (let pages = 0; pages < 100; pages++) {
    const page = raw(v, after, 2n);
    t.ok(page.checks.length <= 2);
    walked.push(...page.checks.map((c) => c.submissionId));
    if (page.nextStartAfter === 0n) break;
    t.equal(page.nextStartAfter, page.checks[page.checks.length - 1].submissionId, 'next_start_after = the last id returned');
    after = page.nextStartAfter;
  }
  t.same(walked, mine, 'pages of 2 give the same ordered list');
  t.same(raw(v, mine[0]).checks.map((c) => c.submissionId), mine.slice(1), 'start_after is exclusive');
  t.same(raw(v, 0n, 1_000_000n).checks.length, mine.length, 'a huge limit is capped, not refused');

  // REST/CLI routes.
  const first = ask('checks-by-verifier', { verifier: v });
  t.same(first.checks!.map((c) => c.submissionId), mine.map(String), 'REST /verifiers/{verifier}/l1_checks');
  t.equal(first.checks![0].status, 'L1_STATUS_PENDING');
  t.equal(first.nextStartAfter, undefined, 'last page: next_start_after 0, omitted in protobuf JSON');
  t.same(ask('checks-by-verifier-after', { verifier: v, start_after: mine[0].toString() }).checks!.map((c) => c.submissionId), mine.slice(1).map(String));
  t.match(route('checks-by-verifier').rest, '/r3mes/verification/v1/verifiers/{verifier}/l1_checks');

  // Empty: a validator with nothing drawn, an address that is no validator.
  t.same(raw(testAccount('nobody').address).checks, [], 'no checks: empty list');
  t.equal(raw(testAccount('nobody').address).nextStartAfter, 0n);
  t.same(raw(v, mine[mine.length - 1]).checks, [], 'past the last: empty');
  t.throws(() => raw('not-an-address'), { codespace: 'sdk', code: 7 }, 'a malformed address is refused');

  // Answer one (match), report one unavailable (flag) — both leave the index.
  const [answered, flagged] = mine;
  const expectedHash = (id: bigint) => (ids.indexOf(id) % 2 === 0 ? GOOD : BAD);
  h.answer(v, answered, expectedHash(answered));
  h.tx((ctx) => h.keeper.reportUnavailable(ctx, MsgReportUnavailable.fromPartial({ reporter: v, submissionId: flagged })));
  t.same(raw(v).checks.map((c) => c.submissionId), mine.slice(2), 'answered and flagged checks are no longer pending');

  // Deadline passes: the endBlock after it marks the rest missed; the index empties.
  const deadline = h.keeper.l1Check(h.state, mine[2])!.deadlineHeight;
  t.same(raw(v).checks.map((c) => c.submissionId), mine.slice(2), 'still listed up to the deadline');
  while (h.height <= deadline + 1n) h.nextBlock();
  t.equal(h.keeper.l1Check(h.state, mine[2])!.status, L1Status.L1_STATUS_MISSED);
  for (const x of h.validators) t.same(raw(x).checks, [], 'every check answered or missed: every list empty');

  // The index is derived from genesis: an imported state answers the same.
  const fresh = allSampled(24);
  const exported = JSON.parse(JSON.stringify(fresh.h.module.exportGenesis(fresh.h.state)));
  const other = verificationTestbed();
  const store = new SortedMemStore();
  other.module.initGenesis(store, exported);
  for (const x of fresh.h.validators) {
    t.same(other.keeper.pendingChecksByVerifier(store, x), fresh.h.keeper.pendingChecksByVerifier(fresh.h.state, x), 'genesis import rebuilds the index');
  }
  t.end();
});

t.test('interface: tx builders, registry types, message handlers', (t) => {
  const signer = testAccount('someone').address;
  const build = (name: string, args: Record<string, string>, options: Record<string, string> = {}) => {
    const tx = verificationInterface.txs.find((x) => x.name === name)!;
    return { typeUrl: tx.typeUrl, value: tx.build(signer, args, options) };
  };
  t.same(build('challenge', { 'submission-id': '7', bond: '10000ur3mes' }).value, MsgChallenge.fromPartial({ challenger: signer, submissionId: 7n, bond: '10000' }));
  t.same(build('submit-verification', { 'submission-id': '7', 'result-hash': GOOD.toString('hex') }).value,
    MsgSubmitVerification.fromPartial({ verifier: signer, submissionId: 7n, resultHash: GOOD }));
  t.same(build('arbiter-vote', { 'dispute-id': '3' }, { 'result-hash': GOOD.toString('hex') }).value,
    MsgArbiterVote.fromPartial({ arbiter: signer, disputeId: 3n, resultHash: GOOD }));
  t.same(build('arbiter-vote', { 'dispute-id': '3' }, { unavailable: 'true' }).value, MsgArbiterVote.fromPartial({ arbiter: signer, disputeId: 3n, unavailable: true }));
  const SALT = Buffer.alloc(32, 7);
  const C = Buffer.alloc(32, 9);
  t.same(build('submit-verification', { 'submission-id': '7', 'result-hash': GOOD.toString('hex') }, { commitment: C.toString('hex') }).value,
    MsgSubmitVerification.fromPartial({ verifier: signer, submissionId: 7n, commitment: C }), 'submit-verification --commitment: a commit');
  t.same(build('submit-verification', { 'submission-id': '7', 'result-hash': GOOD.toString('hex') }, { salt: SALT.toString('hex') }).value,
    MsgSubmitVerification.fromPartial({ verifier: signer, submissionId: 7n, resultHash: GOOD, salt: SALT }), 'submit-verification --salt: a reveal');
  t.same(build('arbiter-vote', { 'dispute-id': '3' }, { commitment: C.toString('hex') }).value, MsgArbiterVote.fromPartial({ arbiter: signer, disputeId: 3n, commitment: C }));
  t.same(build('arbiter-vote', { 'dispute-id': '3' }, { 'result-hash': GOOD.toString('hex'), salt: SALT.toString('hex') }).value,
    MsgArbiterVote.fromPartial({ arbiter: signer, disputeId: 3n, resultHash: GOOD, salt: SALT }));
  t.equal(build('report-unavailable', { 'submission-id': '7' }).typeUrl, TYPE_URLS.reportUnavailable);
  const h = verificationTestbed();
  t.same(verificationInterface.registryTypes.map(([url]) => url).sort(), h.module.msgs.map((m) => m.typeUrl).sort(), 'every message registered');
  for (const handler of h.module.msgs) {
    const registry = verificationInterface.registryTypes.find(([url]) => url === handler.typeUrl)![1];
    t.equal(handler.module, 'verification');
    t.ok(registry.decode(new Uint8Array()), `${handler.typeUrl} decodes`);
  }
  t.end();
});

t.test('against the real training keeper: a disputed submission is rejected and left out of aggregation', (t) => {
  const tb = trainingTestbed();
  const store = new SortedMemStore();
  tb.training.setParams(store, { ...trainingDefaults(), windowBlocks: 10n, challengePeriodBlocks: 70n, minMinerStake: '100', baseReward: '1000', chunkCount: 16n });
  const h = verificationTestbed({ store, training: trainingReader(tb.training), params: { l1SampleBps: 0n } });
  const cheater = h.registerMiner('cheater', 100_000n);
  const honest = h.registerMiner('honest', 100_000n);
  for (const miner of [cheater, honest]) tb.staking.minersByAddress.set(miner.address, { stake: 100_000n, jailed: false, backend: 'webgpu' });
  tb.staking.validators = h.validators.map((address) => ({ address, stake: 1000n }));
  const challenger = testAccount('watcher');
  h.fund(challenger.bytes, 100_000n);
  const initialSupply = h.supply();
  const ctx = () => h.ctx();
  h.height = 1n;
  tb.training.beginBlock(ctx());
  const window = tb.training.window(store, 1n)!;
  const submit = (miner: string, label: string) => {
    const a = tb.training.assignment(store, 1n, miner);
    return h.tx((c) => tb.training.submitGradient(c, MsgSubmitGradient.fromPartial({
      miner, windowId: 1n, subnet: a.subnet, modelVersion: 1n, gradientCid: testCid(label), gradientHash: testHash(label),
      traceRoot: testHash(`trace-${label}`), chunkIndex: a.chunkIndex, backend: 'webgpu',
    }))).submissionId;
  };
  const bad = submit(cheater.address, 'cheat');
  const good = submit(honest.address, 'honest');
  h.nextBlock();
  t.equal(h.keeper.moduleState(store).nextScanSubmissionId, 3n, 'scanned through the adapter');
  const disputeId = h.tx((c) => h.keeper.challenge(c, MsgChallenge.fromPartial({ challenger: challenger.address, submissionId: bad, bond: '10000' })));
  h.nextBlock();
  const verifier = h.dispute(disputeId).l2Verifier;
  h.answer(verifier, bad, testHash('what it should be'));
  h.nextBlock();
  const arbiters = h.dispute(disputeId).panel.map((s) => s.arbiter);
  h.votes(disputeId, arbiters.slice(0, 2).map((arbiter) => [arbiter, testHash('what it should be')] as const));
  t.equal(h.dispute(disputeId).outcome, DisputeOutcome.DISPUTE_OUTCOME_MINER_AT_FAULT);
  t.equal(tb.training.submission(store, bad)?.status, SubmissionStatus.SUBMISSION_STATUS_REJECTED, 'rejected by the real keeper');
  t.match(tb.training.submission(store, bad)?.rejectReason, /verification dispute 1/);
  h.height = window.commitStartHeight;
  tb.training.beginBlock(h.ctx());
  t.equal(tb.training.submission(store, good)?.status, SubmissionStatus.SUBMISSION_STATUS_ACCEPTED);
  t.equal(tb.training.window(store, 1n)?.acceptedCount, 1n, 'only the honest submission is aggregated');
  t.equal(h.balance(challenger.bytes), 100_000n - 1_000n + 15_000n, 'bond back less the L2 fee, plus the bounty');
  t.same(h.invariants(initialSupply), []);
  // After the challenge period the real window refuses challenges.
  const late = testAccount('late');
  h.fund(late.bytes, 100_000n);
  t.throws(() => h.tx((c) => h.keeper.challenge(c, MsgChallenge.fromPartial({ challenger: late.address, submissionId: good, bond: '10000' }))), { codespace: 'verification', code: 6 });
  t.equal(h.keeper.l1Check(store, good)?.status ?? L1Status.L1_STATUS_UNSPECIFIED, L1Status.L1_STATUS_UNSPECIFIED, 'sampling off');
  t.end();
});
