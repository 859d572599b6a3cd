/**
 * verification: every adversarial or malformed message is rejected with its own code
 * (codespace `verification`), and a rejected message changes nothing.
 */
import t, { type Test } from 'tap';
import { sha256 } from '@noble/hashes/sha2.js';
import type { ErrorKind } from '../../app/core/errors.ts';
import { MsgArbiterVote, MsgChallenge, MsgReportUnavailable, MsgSubmitVerification } from '../../proto/gen/r3mes/verification/v1/tx.ts';
import { DisputeStage } from '../../proto/gen/r3mes/verification/v1/types.ts';
import { verificationErrors } from '../../modules/verification/errors.ts';
import { TYPE_URLS } from '../../modules/verification/msgs.ts';
import { defaultParams, paramsToJson } from '../../modules/verification/params.ts';
import { testAccount, testHash, thrownError, verificationTestbed } from '../helpers/verification-testbed.ts';

const SALT = Buffer.from(sha256(Buffer.from('a salt')));
const GOOD = testHash('good');
const BAD = testHash('bad');

function setup(options: { l1?: boolean; submitted?: Buffer } = {}) {
  const h = verificationTestbed({ params: { l1SampleBps: options.l1 ? 10_000n : 0n } });
  const miner = h.registerMiner('miner', 100_000n);
  const outsider = testAccount('outsider');
  // The challenger is a bonded validator: exclusion keeps it off every draw, and its votes are refused.
  const challenger = h.validators[0];
  h.fund(testAccount('validator-1').bytes, 1_000_000n);
  h.height = 10n;
  h.training.openWindow(1n, 30n, 1000n);
  const submissionId = h.training.submit(miner.address, 1n, options.submitted ?? GOOD, h.height);
  h.nextBlock();
  const s = {
    h, miner, outsider, challenger, submissionId,
    challenge: (fields: Partial<MsgChallenge> = {}) => h.tx((ctx) => h.keeper.challenge(ctx, MsgChallenge.fromPartial({
      challenger, submissionId, bond: '10000', ...fields,
    }))),
    /** A well-formed reveal (32-byte result and salt), for the checks that come before commit/reveal. */
    verify: (verifier: string, hash: Uint8Array = GOOD, id = submissionId) => h.tx((ctx) => h.keeper.submitVerification(ctx, MsgSubmitVerification.fromPartial({
      verifier, submissionId: id, resultHash: Buffer.from(hash), salt: SALT,
    }))),
    /** A well-formed reveal (a vote and a 32-byte salt) unless `fields` say otherwise. */
    vote: (disputeId: bigint, arbiter: string, fields: Partial<MsgArbiterVote> = { resultHash: GOOD }) => h.tx((ctx) => h.keeper.arbiterVote(ctx, MsgArbiterVote.fromPartial({
      arbiter, disputeId, salt: SALT, ...fields,
    }))),
    report: (reporter: string, id = submissionId) => h.tx((ctx) => h.keeper.reportUnavailable(ctx, MsgReportUnavailable.fromPartial({ reporter, submissionId: id }))),
    /** A dispute at L3 voting; returns its id and panel. */
    toPanel(): { disputeId: bigint; arbiters: string[]; verifier: string } {
      const disputeId = s.challenge();
      h.nextBlock();
      const verifier = h.dispute(disputeId).l2Verifier;
      h.answer(verifier, submissionId, BAD);
      h.nextBlock();
      return { disputeId, arbiters: h.dispute(disputeId).panel.map((seat) => seat.arbiter), verifier };
    },
  };
  return s;
}

/** The call fails with `kind`, and neither the module's state nor any balance changed. */
function rejects(t: Test, s: ReturnType<typeof setup>, kind: ErrorKind, run: () => unknown, what: string): void {
  const before = JSON.stringify(s.h.module.exportGenesis(s.h.state));
  const supply = s.h.supply();
  const balances = [...s.h.bank.allHolders(s.h.state)].map((holder) => holder.coins[0]?.amount);
  const error = thrownError(run);
  t.ok(error, `${what}: rejected`);
  t.equal(error?.codespace, kind.codespace, `${what}: codespace ${kind.codespace}`);
  t.equal(error?.code, kind.code, `${what}: code ${kind.code} (${error?.message})`);
  t.equal(JSON.stringify(s.h.module.exportGenesis(s.h.state)), before, `${what}: state unchanged`);
  t.equal(s.h.supply(), supply);
  t.same([...s.h.bank.allHolders(s.h.state)].map((holder) => holder.coins[0]?.amount), balances, `${what}: balances unchanged`);
}

t.test('2 invalid params: governance set refuses bad values and changes nothing', (t) => {
  const s = setup();
  const params = s.h.module.params!;
  const good = paramsToJson(defaultParams());
  for (const [what, value] of [
    ['bounty below 10×', { ...good, bountyMultiplier: '9' }],
    ['bounty above 20×', { ...good, bountyMultiplier: '21' }],
    ['empty panel', { ...good, panelSize: '0' }],
    ['fraction above 1', { ...good, minerSlashFraction: '1.5' }],
    ['zero miner slash', { ...good, minerSlashFraction: '0' }],
    ['sample share above 100%', { ...good, l1SampleBps: '10001' }],
    ['unknown key', { ...good, extra: '1' }],
    ['not an object', 'x'],
  ] as const) {
    rejects(t, s, verificationErrors.invalidParams, () => params.set(s.h.state, value), what);
  }
  const missing: Record<string, string> = { ...good };
  delete missing.l3VoteBlocks;
  rejects(t, s, verificationErrors.invalidParams, () => params.set(s.h.state, missing), 'missing key');
  params.set(s.h.state, { ...good, l3VoteBlocks: '7' });
  t.equal((params.get(s.h.state) as Record<string, string>).l3VoteBlocks, '7', 'a good value is taken');
  t.end();
});

t.test('3 invalid genesis', (t) => {
  const s = setup();
  const base = s.h.module.defaultGenesis() as Record<string, unknown>;
  const fresh = verificationTestbed();
  for (const [what, genesis] of [
    ['next_dispute_id 0', { ...base, nextDisputeId: '0' }],
    ['no params', { ...base, params: undefined }],
    ['bad params', { ...base, params: { ...(base.params as object), panelSize: '0' } }],
    ['dispute above the counter', { ...base, disputes: [{ id: '5', origin: 'DISPUTE_ORIGIN_CHALLENGE', stage: 'DISPUTE_STAGE_L2_DRAW', challenger: 'x', bond: '1', baseReward: '1', slashed: '0', bounty: '0', expectedHash: GOOD.toString('base64') }] }],
  ] as const) {
    const error = thrownError(() => fresh.module.initGenesis(fresh.state, genesis));
    t.equal(error?.codespace, 'verification', what);
    t.equal(error?.code, verificationErrors.invalidGenesis.code, `${what}: ${error?.message}`);
  }
  t.end();
});

t.test('4 unknown submission', (t) => {
  const s = setup();
  rejects(t, s, verificationErrors.unknownSubmission, () => s.challenge({ submissionId: 999n }), 'challenge');
  rejects(t, s, verificationErrors.unknownSubmission, () => s.verify(s.h.validators[1], GOOD, 999n), 'verification');
  rejects(t, s, verificationErrors.unknownSubmission, () => s.report(s.h.validators[1], 999n), 'report');
  t.end();
});

t.test('5 challenging one\'s own submission', (t) => {
  const s = setup();
  s.h.fund(s.miner.bytes, 100_000n);
  rejects(t, s, verificationErrors.ownSubmission, () => s.challenge({ challenger: s.miner.address }), 'own');
  t.end();
});

t.test('6 challenge after the challenge period', (t) => {
  const s = setup();
  s.h.height = 30n;
  rejects(t, s, verificationErrors.challengePeriodOver, () => s.challenge(), 'at the window\'s commit start');
  s.h.height = 29n;
  s.h.training.startAggregation(1n, () => false);
  rejects(t, s, verificationErrors.challengePeriodOver, () => s.challenge(), 'already accepted');
  t.end();
});

t.test('7 bond below the minimum (10× base reward)', (t) => {
  const s = setup();
  rejects(t, s, verificationErrors.bondTooLow, () => s.challenge({ bond: '9999' }), '9999 < 10000');
  t.ok(s.challenge({ bond: '10000' }), 'exactly the minimum is enough');
  t.end();
});

t.test('8 already disputed', (t) => {
  const s = setup();
  s.challenge();
  const other = testAccount('other');
  s.h.fund(other.bytes, 100_000n);
  rejects(t, s, verificationErrors.alreadyDisputed, () => s.challenge({ challenger: other.address }), 'second challenge');
  t.end();
});

t.test('9 result hash not 32 bytes', (t) => {
  const s = setup({ l1: true });
  const verifier = s.h.keeper.l1Check(s.h.state, s.submissionId)!.verifier;
  rejects(t, s, verificationErrors.invalidHash, () => s.verify(verifier, GOOD.subarray(0, 31)), 'verification');
  t.throws(() => s.h.module.msgs.find((m) => m.typeUrl === TYPE_URLS.submitVerification)!.signers(MsgSubmitVerification.fromPartial({ verifier, resultHash: Buffer.alloc(5) })),
    { codespace: 'verification', code: 9 }, 'stateless check before the ante handler');
  const p = setup();
  const { disputeId, arbiters } = p.toPanel();
  rejects(t, p, verificationErrors.invalidHash, () => p.vote(disputeId, arbiters[0], { resultHash: Buffer.alloc(31) }), 'vote');
  t.end();
});

t.test('10 not the drawn verifier', (t) => {
  const s = setup({ l1: true });
  const drawn = s.h.keeper.l1Check(s.h.state, s.submissionId)!.verifier;
  const other = s.h.validators.find((v) => v !== drawn && v !== s.challenger)!;
  rejects(t, s, verificationErrors.notDrawnVerifier, () => s.verify(other), 'L1: another validator');
  rejects(t, s, verificationErrors.notDrawnVerifier, () => s.report(other), 'L1 report: another validator');
  const t2 = setup();
  const disputeId = t2.challenge();
  t2.h.nextBlock();
  const l2 = t2.h.dispute(disputeId).l2Verifier;
  const notDrawn = t2.h.validators.find((v) => v !== l2 && v !== t2.challenger)!;
  rejects(t, t2, verificationErrors.notDrawnVerifier, () => t2.verify(notDrawn), 'L2: another validator');
  t.end();
});

t.test('11 late: answers, reports and votes after their deadline', (t) => {
  const s = setup({ l1: true });
  const drawn = s.h.keeper.l1Check(s.h.state, s.submissionId)!.verifier;
  s.h.height = 21n;
  rejects(t, s, verificationErrors.late, () => s.h.commitAnswer(drawn, s.submissionId, GOOD), 'L1 commitment after the commit deadline (20)');
  s.h.height = 26n;
  rejects(t, s, verificationErrors.late, () => s.verify(drawn), 'L1 answer after the reveal deadline (25), before expiry');
  s.h.nextBlock();
  rejects(t, s, verificationErrors.late, () => s.verify(drawn), 'L1 answer after expiry');
  rejects(t, s, verificationErrors.late, () => s.report(drawn), 'L1 report after expiry');

  const l2 = setup();
  const disputeId = l2.challenge();
  l2.h.nextBlock();
  const first = l2.h.dispute(disputeId).l2Verifier;
  while (l2.h.height <= 22n) l2.h.nextBlock();
  t.not(l2.h.dispute(disputeId).l2Verifier, first, 'redrawn');
  rejects(t, l2, verificationErrors.late, () => l2.verify(first), 'L2 answer from the verifier that missed');

  const l3 = setup();
  const panel = l3.toPanel();
  l3.h.votes(panel.disputeId, [[panel.arbiters[0], GOOD]]);
  const revealDeadline = l3.h.dispute(panel.disputeId).nextActionHeight;
  while (l3.h.height <= revealDeadline + 1n) l3.h.nextBlock();
  t.equal(l3.h.dispute(panel.disputeId).stage, DisputeStage.DISPUTE_STAGE_L3_VOTING, 'replacements drawn');
  rejects(t, l3, verificationErrors.late, () => l3.vote(panel.disputeId, panel.arbiters[1]), 'vote from a replaced arbiter');
  t.end();
});

t.test('12 dispute not found', (t) => {
  const s = setup();
  rejects(t, s, verificationErrors.disputeNotFound, () => s.vote(99n, s.h.validators[1]), 'vote');
  t.throws(() => s.h.module.queries['/r3mes.verification.v1.Query/Dispute'](s.h.state, Uint8Array.of(8, 99)), { code: 12 }, 'query');
  t.end();
});

t.test('13 vote from outside the panel', (t) => {
  const s = setup();
  const { disputeId, arbiters, verifier } = s.toPanel();
  const outsider = s.h.validators.find((v) => !arbiters.includes(v) && v !== s.challenger)!;
  rejects(t, s, verificationErrors.notOnPanel, () => s.vote(disputeId, outsider), 'a validator not drawn');
  rejects(t, s, verificationErrors.notOnPanel, () => s.vote(disputeId, verifier), 'the L2 verifier');
  rejects(t, s, verificationErrors.notOnPanel, () => s.vote(disputeId, s.outsider.address), 'a non-validator');
  t.end();
});

t.test('14 double vote / double answer', (t) => {
  const s = setup();
  const { disputeId, arbiters, verifier } = s.toPanel();
  s.h.votes(disputeId, [[arbiters[0], GOOD]]);
  rejects(t, s, verificationErrors.alreadyVoted, () => s.vote(disputeId, arbiters[0], { resultHash: BAD }), 'second vote');
  rejects(t, s, verificationErrors.alreadyVoted, () => s.verify(verifier, GOOD), 'the L2 verifier answering again');
  const l1 = setup({ l1: true });
  const drawn = l1.h.keeper.l1Check(l1.h.state, l1.submissionId)!.verifier;
  l1.h.answer(drawn, l1.submissionId, GOOD);
  rejects(t, l1, verificationErrors.alreadyVoted, () => l1.verify(drawn), 'L1 answering again');
  t.end();
});

t.test('15 vote after resolution', (t) => {
  const s = setup();
  const { disputeId, arbiters } = s.toPanel();
  s.h.votes(disputeId, [[arbiters[0], GOOD], [arbiters[1], GOOD]]);
  rejects(t, s, verificationErrors.disputeResolved, () => s.vote(disputeId, arbiters[2]), 'third vote after 2 of 3 decided');
  t.end();
});

t.test('16 the challenger cannot verify or vote', (t) => {
  const s = setup();
  const { disputeId } = s.toPanel();
  t.notOk(s.h.dispute(disputeId).panel.some((seat) => seat.arbiter === s.challenger), 'never drawn: excluded');
  rejects(t, s, verificationErrors.challengerCannotVote, () => s.vote(disputeId, s.challenger), 'vote');
  rejects(t, s, verificationErrors.challengerCannotVote, () => s.verify(s.challenger), 'verification');
  rejects(t, s, verificationErrors.challengerCannotVote, () => s.report(s.challenger), 'report');
  t.end();
});

t.test('17 the miner cannot verify or vote', (t) => {
  const s = setup();
  const { disputeId } = s.toPanel();
  rejects(t, s, verificationErrors.minerCannotVote, () => s.vote(disputeId, s.miner.address), 'vote');
  rejects(t, s, verificationErrors.minerCannotVote, () => s.verify(s.miner.address), 'verification');
  rejects(t, s, verificationErrors.minerCannotVote, () => s.report(s.miner.address), 'report');
  t.end();
});

t.test('18 invalid bond amount', (t) => {
  const s = setup();
  for (const bond of ['abc', '0', '-5', '01', '1'.repeat(80)]) {
    rejects(t, s, verificationErrors.invalidBond, () => s.challenge({ bond }), `bond "${bond.slice(0, 10)}"`);
  }
  t.end();
});

t.test('19 vote while the dispute is not at panel voting', (t) => {
  const s = setup();
  const disputeId = s.challenge();
  rejects(t, s, verificationErrors.notVoting, () => s.vote(disputeId, s.h.validators[1]), 'before the L2 draw');
  s.h.nextBlock();
  rejects(t, s, verificationErrors.notVoting, () => s.vote(disputeId, s.h.validators[1]), 'during L2');
  t.end();
});

t.test('20 unavailability vote without a report; 21 reported twice', (t) => {
  const s = setup();
  const { disputeId, arbiters } = s.toPanel();
  rejects(t, s, verificationErrors.noUnavailabilityReport, () => s.vote(disputeId, arbiters[0], { unavailable: true }), 'no report');
  s.report(arbiters[0]);
  rejects(t, s, verificationErrors.alreadyReported, () => s.report(arbiters[1]), 'second report');
  t.end();
});

t.test('22 invalid vote shape', (t) => {
  const s = setup();
  const { disputeId, arbiters } = s.toPanel();
  rejects(t, s, verificationErrors.invalidVote, () => s.vote(disputeId, arbiters[0], { resultHash: Buffer.alloc(0) }), 'neither');
  rejects(t, s, verificationErrors.invalidVote, () => s.vote(disputeId, arbiters[0], { unavailable: true, resultHash: GOOD }), 'both');
  t.end();
});

t.test('sdk codes: malformed address (7), a bond the challenger cannot pay (5)', (t) => {
  const s = setup();
  const handler = s.h.module.msgs.find((m) => m.typeUrl === TYPE_URLS.challenge)!;
  t.throws(() => handler.signers(MsgChallenge.fromPartial({ challenger: 'cosmos1xyz', bond: '10000' })), { codespace: 'sdk', code: 7 });
  rejects(t, s, { codespace: 'sdk', code: 5, description: '' } as unknown as ErrorKind, () => s.challenge({ challenger: s.outsider.address }), 'unfunded challenger');
  t.end();
});

t.test('24 invalid commitment or reveal; 25 no commitment; 26 reveal mismatch; 27 reveal too early; 28 already committed', (t) => {
  const s = setup({ l1: true });
  const drawn = s.h.keeper.l1Check(s.h.state, s.submissionId)!.verifier;
  const msg = (fields: Partial<MsgSubmitVerification>) => () => s.h.tx((ctx) => s.h.keeper.submitVerification(ctx, MsgSubmitVerification.fromPartial({ verifier: drawn, submissionId: s.submissionId, ...fields })));
  rejects(t, s, verificationErrors.invalidCommitment, msg({ commitment: Buffer.alloc(31) }), 'a 31-byte commitment');
  rejects(t, s, verificationErrors.invalidCommitment, msg({ commitment: Buffer.alloc(32), resultHash: GOOD }), 'a commitment with a result');
  rejects(t, s, verificationErrors.invalidCommitment, msg({ resultHash: GOOD }), 'a reveal without its salt');
  t.throws(() => s.h.module.msgs.find((m) => m.typeUrl === TYPE_URLS.submitVerification)!.signers(MsgSubmitVerification.fromPartial({ verifier: drawn, resultHash: GOOD })),
    { codespace: 'verification', code: 24 }, 'stateless check before the ante handler');
  rejects(t, s, verificationErrors.noCommitment, () => s.verify(drawn), 'a reveal with nothing committed');
  t.equal((s.h.commitAnswer(drawn, s.submissionId, GOOD) as { result: string }).result, 'committed');
  rejects(t, s, verificationErrors.alreadyCommitted, () => s.h.commitAnswer(drawn, s.submissionId, BAD), 'a second commitment');
  rejects(t, s, verificationErrors.revealTooEarly, () => s.h.revealAnswer(drawn, s.submissionId, GOOD), 'a reveal in the block of the commitment');
  s.h.nextBlock();
  rejects(t, s, verificationErrors.revealMismatch, () => s.h.revealAnswer(drawn, s.submissionId, BAD), 'a reveal of another answer than the one committed');
  rejects(t, s, verificationErrors.revealMismatch, () => s.verify(drawn, GOOD), 'the committed answer with another salt');
  t.same(s.h.revealAnswer(drawn, s.submissionId, GOOD), { result: 'match', disputeId: 0n }, 'the committed answer and salt');

  // L3: no reveal while a seat has not committed (it could copy), until the commit deadline.
  const p = setup();
  const { disputeId, arbiters } = p.toPanel();
  rejects(t, p, verificationErrors.invalidCommitment, () => p.vote(disputeId, arbiters[0], { commitment: Buffer.alloc(32), resultHash: GOOD, salt: Buffer.alloc(0) }), 'a vote commitment with a vote');
  p.h.commitVote(disputeId, arbiters[0], GOOD);
  p.h.commitVote(disputeId, arbiters[1], GOOD);
  p.h.nextBlock();
  rejects(t, p, verificationErrors.revealTooEarly, () => p.h.revealVote(disputeId, arbiters[0], GOOD), 'a reveal while a seat may still commit');
  p.h.commitVote(disputeId, arbiters[2], BAD);
  rejects(t, p, verificationErrors.revealTooEarly, () => p.h.revealVote(disputeId, arbiters[2], BAD), 'every seat committed, but not in an earlier block');
  t.equal(p.h.revealVote(disputeId, arbiters[0], GOOD), 'pending', 'every active seat committed: reveals open');
  rejects(t, p, verificationErrors.revealMismatch, () => p.h.revealVote(disputeId, arbiters[1], BAD), 'a panelist cannot switch to another answer after seeing a reveal');
  t.end();
});
