/**
 * verification: every branch of the dispute lifecycle (L1 match / mismatch / missed, L2
 * rejected / escalated / redrawn, L3 fault / no fault / redraw / void, data availability),
 * with every balance checked to the last unit: miner, challenger, verifiers, arbiters, module
 * account, supply. Real auth/bank/staking; training is a fake. Each test ends with the
 * invariants: no slash before an L3 decision, module account = open bonds, supply exact.
 */
import t, { type Test } from 'tap';
import type { Context } from '../../app/core/context.ts';
import { MsgChallenge, MsgReportUnavailable } from '../../proto/gen/r3mes/verification/v1/tx.ts';
import { DisputeOutcome, DisputeStage, L1Status, type Params } from '../../proto/gen/r3mes/verification/v1/types.ts';
import { VERIFICATION_MODULE_ADDRESS } from '../../modules/verification/keeper.ts';
import { testAccount, testHash, verificationTestbed } from '../helpers/verification-testbed.ts';

const BASE_REWARD = 1000n;
const BOND = 10n * BASE_REWARD;
const BOUNTY = 15n * BASE_REWARD;
/** The L2 verifier's fee: l2_verifier_fee_bps (1000) of the bond, paid from it when the verifier answers. */
const FEE = BOND / 10n;
const MINER_STAKE = 100_000n;
const MINER_SLASH = MINER_STAKE / 10n;
const VALIDATOR_STAKE = 1000n;
const LIVENESS = VALIDATOR_STAKE / 1000n; // 0.001
const WRONG = VALIDATOR_STAKE / 100n; // 0.01
const GOOD = testHash('good');
const BAD = testHash('bad');

function scenario(t: Test, options: { params?: Partial<Params>; submitted?: Buffer } = {}) {
  const h = verificationTestbed({ params: { l1SampleBps: 0n, ...options.params } });
  const miner = h.registerMiner('miner', MINER_STAKE);
  const challenger = testAccount('challenger');
  h.fund(challenger.bytes, 1_000_000n);
  h.height = 10n;
  h.training.openWindow(1n, 200n, BASE_REWARD);
  const submissionId = h.training.submit(miner.address, 1n, options.submitted ?? GOOD, h.height);
  h.nextBlock(); // the submission's block ends (L1 sampling happens here)
  const initialSupply = h.supply();
  const balances = () => ({
    miner: h.balance(miner.bytes), challenger: h.balance(challenger.bytes), module: h.moduleBalance(), supply: h.supply(),
    minerStake: h.minerStake(miner.bytes),
  });
  const start = balances();
  const tokens = () => Object.fromEntries(h.validators.map((v) => [v, h.validatorTokens(v)]));
  const tokensBefore = tokens();
  const s = {
    h, miner, challenger, submissionId, initialSupply, start, balances, tokens, tokensBefore,
    challenge: (bond = BOND, ctxMode: Context['mode'] = 'deliver') => h.tx((ctx) => h.keeper.challenge(ctx, MsgChallenge.fromPartial({
      challenger: challenger.address, submissionId, bond: bond.toString(),
    })), ctxMode),
    /** Commit now, reveal in the next block (README "Commit, then reveal"). */
    verify: (verifier: string, hash: Buffer) => h.answer(verifier, submissionId, hash),
    /** The arbiters commit now, reveal once reveals open; the outcome after each reveal. */
    votes: (disputeId: bigint, votes: ReadonlyArray<readonly [string, Buffer | 'unavailable']>) => h.votes(disputeId, votes),
    report: (reporter: string) => h.tx((ctx) => h.keeper.reportUnavailable(ctx, MsgReportUnavailable.fromPartial({ reporter, submissionId }))),
    /** endBlock of every height up to and including `height - 1`; txs then run at `height`. */
    advanceTo(height: bigint) {
      while (h.height < height) h.nextBlock();
    },
    /** Validators whose tokens changed, with the change. */
    tokenChanges(): Record<string, bigint> {
      const now = tokens();
      return Object.fromEntries(Object.entries(now).filter(([v, n]) => n !== tokensBefore[v]).map(([v, n]) => [v, n - tokensBefore[v]]));
    },
    finish(t: Test) {
      t.same(h.invariants(initialSupply), [], 'invariants: no slash before an L3 decision, module account = open bonds, supply exact');
    },
  };
  return s;
}

t.test('L2: the verifier agrees with the miner → challenge rejected, the verifier its fee, the miner the rest of the bond', (t) => {
  const s = scenario(t);
  const { h } = s;
  const disputeId = s.challenge();
  t.equal(h.balance(s.challenger.bytes), s.start.challenger - BOND, 'bond left the challenger');
  t.equal(h.moduleBalance(), BOND, 'bond held in the module account');
  t.ok(h.keeper.isHeld(h.state, s.submissionId), 'the submission is held');
  let dispute = h.dispute(disputeId);
  t.equal(dispute.stage, DisputeStage.DISPUTE_STAGE_L2_DRAW, 'the verifier is drawn at endBlock');
  h.nextBlock();
  dispute = h.dispute(disputeId);
  t.equal(dispute.stage, DisputeStage.DISPUTE_STAGE_L2_ANSWER);
  t.equal(dispute.commitDeadlineHeight, 11n + 5n, 'commits within 5 blocks');
  t.equal(dispute.nextActionHeight, 11n + 5n + 5n, 'reveals within 5 more');
  t.equal(dispute.draws.length, 1);
  t.same(Buffer.from(dispute.draws[0].seed), Buffer.from(h.blockHash(10n)), 'the seed of the submission\'s block (10), not of the drawing block, is used and stored');
  t.same(Buffer.from(dispute.submissionSeed), Buffer.from(h.blockHash(10n)), 'the dispute keeps the submission seed');
  t.equal(dispute.draws[0].height, 11n);
  const verifier = dispute.l2Verifier;
  t.ok(h.validators.includes(verifier), 'a bonded validator');
  t.not(verifier, s.challenger.address);
  t.not(verifier, s.miner.address);

  t.same(s.verify(verifier, GOOD), { result: 'match', disputeId });
  dispute = h.dispute(disputeId);
  t.equal(dispute.outcome, DisputeOutcome.DISPUTE_OUTCOME_CHALLENGE_REJECTED);
  t.equal(h.balance(s.miner.bytes), s.start.miner + BOND - FEE, 'miner gets the bond less the verifier\'s fee');
  t.equal(h.balance(verifier), FEE, 'verifier gets its fee (it had no liquid balance)');
  t.equal(h.balance(s.challenger.bytes), s.start.challenger - BOND, 'challenger lost the bond');
  t.equal(h.moduleBalance(), 0n);
  t.equal(h.supply(), s.start.supply, 'no mint, no burn');
  t.equal(h.minerStake(s.miner.bytes), MINER_STAKE, 'miner not slashed');
  t.same(s.tokenChanges(), {}, 'no validator penalised');
  t.notOk(h.keeper.isHeld(h.state, s.submissionId), 'released');
  t.equal(h.training.submissionsById.get(s.submissionId)?.status, 'pending', 'left for the window\'s aggregation');
  t.equal(h.slashes.length, 0);
  s.finish(t);
  t.end();
});

t.test('L2 → L3: the miner is at fault → slashed and jailed, submission rejected, bond back plus bounty', (t) => {
  const s = scenario(t, { submitted: BAD });
  const { h } = s;
  const disputeId = s.challenge();
  h.nextBlock();
  const verifier = h.dispute(disputeId).l2Verifier;
  t.same(s.verify(verifier, GOOD), { result: 'mismatch', disputeId }, 'the verifier agrees with the challenger');
  t.equal(h.dispute(disputeId).stage, DisputeStage.DISPUTE_STAGE_L3_DRAW);
  t.equal(h.slashes.length, 0, 'no slash at L2');
  h.nextBlock();
  let dispute = h.dispute(disputeId);
  t.equal(dispute.stage, DisputeStage.DISPUTE_STAGE_L3_VOTING);
  t.equal(dispute.panel.length, 3, '3 arbiters');
  t.equal(dispute.commitDeadlineHeight, 13n + 50n, 'votes committed within 50 blocks of the draw (13: the L2 reveal was at 12+1)');
  t.equal(dispute.nextActionHeight, 13n + 50n + 5n, 'and revealed within 5 more');
  const arbiters = dispute.panel.map((seat) => seat.arbiter);
  t.equal(new Set(arbiters).size, 3);
  for (const excluded of [s.miner.address, s.challenger.address, verifier]) t.notOk(arbiters.includes(excluded), 'excluded from the panel');
  t.same(s.votes(disputeId, [[arbiters[0], GOOD], [arbiters[1], GOOD]]), ['pending', 'miner-at-fault'], 'one vote decides nothing; 2 of 3 decide');
  dispute = h.dispute(disputeId);
  t.equal(dispute.slashed, MINER_SLASH.toString());
  t.equal(dispute.bounty, BOUNTY.toString());
  t.ok(dispute.submissionRejected);
  t.equal(h.minerStake(s.miner.bytes), MINER_STAKE - MINER_SLASH, 'miner stake slashed by the fraction');
  t.ok(h.staking.miner(h.state, s.miner.bytes)?.jailed, 'jailed from mining');
  t.equal(h.training.submissionsById.get(s.submissionId)?.status, 'rejected');
  t.equal(h.balance(s.challenger.bytes), s.start.challenger - FEE + BOUNTY, 'bond back (less the L2 fee the challenger pays) plus the bounty');
  t.equal(h.balance(s.miner.bytes), s.start.miner, 'miner liquid balance untouched');
  t.equal(h.balance(verifier), FEE, 'the L2 verifier got the same fee as for agreeing with the miner');
  for (const arbiter of arbiters) t.equal(h.balance(arbiter), 0n);
  t.equal(h.moduleBalance(), 0n);
  t.equal(h.supply(), s.start.supply - MINER_SLASH + BOUNTY, 'supply: − slash + bounty');
  t.same(s.tokenChanges(), {}, 'nobody voted wrong');
  t.same(h.slashes.map((x) => [x.kind, x.address]), [['miner', s.miner.address]]);
  s.finish(t);
  t.end();
});

t.test('L3: no fault (2-1) → bond to miner and the majority arbiters; escalating verifier and minority penalised', (t) => {
  const s = scenario(t);
  const { h } = s;
  const disputeId = s.challenge();
  h.nextBlock();
  const verifier = h.dispute(disputeId).l2Verifier;
  s.verify(verifier, BAD);
  h.nextBlock();
  const arbiters = h.dispute(disputeId).panel.map((seat) => seat.arbiter);
  t.same(s.votes(disputeId, [[arbiters[0], BAD], [arbiters[1], GOOD], [arbiters[2], GOOD]]), ['pending', 'pending', 'no-fault']);
  const half = (BOND - FEE) / 2n;
  t.equal(h.balance(s.miner.bytes), s.start.miner + half, 'miner: half of the bond left after the L2 fee (+ remainder, 0 here)');
  t.equal(h.balance(arbiters[1]), half / 2n);
  t.equal(h.balance(arbiters[2]), half / 2n);
  t.equal(h.balance(verifier), FEE, 'the L2 verifier keeps its fee; its stake pays for the wrong result');
  t.equal(h.balance(arbiters[0]), 0n, 'the minority gets nothing');
  t.equal(h.balance(s.challenger.bytes), s.start.challenger - BOND);
  t.equal(h.moduleBalance(), 0n);
  t.same(s.tokenChanges(), { [verifier]: -WRONG, [arbiters[0]]: -WRONG }, 'wrong results penalised after the decision');
  t.equal(h.supply(), s.start.supply - 2n * WRONG);
  t.equal(h.minerStake(s.miner.bytes), MINER_STAKE, 'honest miner never slashed');
  t.equal(h.training.submissionsById.get(s.submissionId)?.status, 'pending');
  t.notOk(h.keeper.isHeld(h.state, s.submissionId));
  s.finish(t);
  t.end();
});

t.test('L2: no answer → the verifier is penalised and another drawn; it answers → challenge rejected', (t) => {
  const s = scenario(t);
  const { h } = s;
  const disputeId = s.challenge();
  h.nextBlock();
  const first = h.dispute(disputeId).l2Verifier;
  t.equal(h.commitAnswer(first, s.submissionId, GOOD).result, 'committed', 'the first verifier commits but never reveals');
  s.advanceTo(21n); // commit deadline 16, reveal deadline 21 inclusive: nothing happens at endBlock 21
  h.nextBlock();
  t.equal(h.dispute(disputeId).l2Verifier, first, 'still the first verifier through its reveal deadline block');
  h.nextBlock(); // endBlock 22: missed (a commitment without a reveal is no answer)
  const dispute = h.dispute(disputeId);
  t.same(dispute.l2Missed, [first]);
  t.equal(dispute.l2Round, 1n);
  const second = dispute.l2Verifier;
  t.not(second, first, 'redrawn without the one that missed');
  t.equal(dispute.nextActionHeight, 22n + 5n + 5n);
  t.equal(dispute.l2Commitment.length, 0, 'the new round starts without a commitment');
  t.equal(dispute.draws.length, 2, 'each draw stores its seed');
  t.equal(s.verify(second, GOOD).result, 'match');
  t.equal(h.balance(second), FEE);
  t.equal(h.balance(first), 0n, 'no fee for the verifier that missed');
  t.equal(h.balance(s.miner.bytes), s.start.miner + BOND - FEE);
  t.same(s.tokenChanges(), { [first]: -LIVENESS }, 'liveness penalty only');
  t.equal(h.supply(), s.start.supply - LIVENESS);
  t.equal(h.moduleBalance(), 0n);
  s.finish(t);
  t.end();
});

t.test('L2: redraws exhausted → escalate to L3; L3 non-voters penalised and replaced; replacements decide', (t) => {
  const s = scenario(t, { params: { maxRedraws: 1n } });
  const { h } = s;
  const disputeId = s.challenge();
  h.nextBlock(); // draw round 0 at 11, commit deadline 16, reveal deadline 21
  const first = h.dispute(disputeId).l2Verifier;
  s.advanceTo(23n); // endBlock 22: missed, round 1 drawn, reveal deadline 32
  const second = h.dispute(disputeId).l2Verifier;
  s.advanceTo(34n); // endBlock 33: missed again, no redraws left → panel drawn
  let dispute = h.dispute(disputeId);
  t.same(dispute.l2Missed, [first, second]);
  t.equal(dispute.l2Verifier, '');
  t.equal(dispute.stage, DisputeStage.DISPUTE_STAGE_L3_VOTING);
  const arbiters = dispute.panel.map((seat) => seat.arbiter);
  t.equal(arbiters.length, 3, '6 validators − 2 missed verifiers leaves 4: panel of 3');
  t.same(s.votes(disputeId, [[arbiters[0], GOOD]]), ['pending'], 'revealed after the commit deadline (the other seats never committed)');
  s.advanceTo(dispute.nextActionHeight + 2n); // two seats missed at the reveal deadline, one replacement left (6 − 2 − 3 = 1)
  dispute = h.dispute(disputeId);
  t.equal(dispute.l3Round, 1n);
  const missed = dispute.panel.filter((seat) => seat.missed).map((seat) => seat.arbiter);
  t.same(missed, arbiters.slice(1));
  const replacements = dispute.panel.filter((seat) => seat.round === 1n).map((seat) => seat.arbiter);
  t.equal(replacements.length, 1, 'only one eligible validator left');
  t.equal(dispute.stage, DisputeStage.DISPUTE_STAGE_L3_VOTING, 'two active seats, one vote: no majority yet');
  t.same(s.votes(disputeId, [[replacements[0], GOOD]]), ['no-fault'], '2 of 2 active seats');
  const half = BOND / 2n;
  t.equal(h.balance(arbiters[0]), half / 2n);
  t.equal(h.balance(replacements[0]), half / 2n);
  t.equal(h.balance(s.miner.bytes), s.start.miner + half);
  t.same(s.tokenChanges(), { [first]: -LIVENESS, [second]: -LIVENESS, [arbiters[1]]: -LIVENESS, [arbiters[2]]: -LIVENESS });
  t.equal(h.supply(), s.start.supply - 4n * LIVENESS);
  t.equal(h.moduleBalance(), 0n);
  s.finish(t);
  t.end();
});

t.test('L3: no majority after the last redraw → void, bond refunded, nobody slashed', (t) => {
  const s = scenario(t, { params: { maxRedraws: 0n } });
  const { h } = s;
  const disputeId = s.challenge();
  h.nextBlock();
  const verifier = h.dispute(disputeId).l2Verifier;
  s.verify(verifier, BAD);
  h.nextBlock();
  const arbiters = h.dispute(disputeId).panel.map((seat) => seat.arbiter);
  s.votes(disputeId, [[arbiters[0], BAD]]);
  s.advanceTo(h.dispute(disputeId).nextActionHeight + 2n);
  const dispute = h.dispute(disputeId);
  t.equal(dispute.outcome, DisputeOutcome.DISPUTE_OUTCOME_VOID);
  t.equal(h.balance(s.challenger.bytes), s.start.challenger - FEE, 'bond refunded less the L2 verifier\'s fee');
  t.equal(h.balance(verifier), FEE);
  t.equal(h.balance(s.miner.bytes), s.start.miner);
  t.equal(h.minerStake(s.miner.bytes), MINER_STAKE);
  t.same(s.tokenChanges(), { [arbiters[1]]: -LIVENESS, [arbiters[2]]: -LIVENESS }, 'only the non-voters, for liveness');
  t.equal(h.supply(), s.start.supply - 2n * LIVENESS);
  t.equal(h.moduleBalance(), 0n);
  t.notOk(h.keeper.isHeld(h.state, s.submissionId));
  s.finish(t);
  t.end();
});

t.test('L1: a sampled submission whose verifier reproduces it is verified; nothing moves', (t) => {
  const s = scenario(t, { params: { l1SampleBps: 10_000n } });
  const { h } = s;
  const check = h.keeper.l1Check(h.state, s.submissionId);
  t.ok(check, 'sampled in the endBlock of its block');
  t.equal(check?.status, L1Status.L1_STATUS_PENDING);
  t.equal(check?.drawnHeight, 10n);
  t.equal(check?.commitDeadlineHeight, 20n, 'commit by 10 + l1_response_blocks');
  t.equal(check?.deadlineHeight, 25n, 'reveal by + reveal_blocks');
  t.equal(check?.seed.length, 32, 'the seed is fixed and stored at submission');
  t.not(check?.verifier, s.miner.address);
  t.same(s.verify(check!.verifier, GOOD), { result: 'match', disputeId: 0n });
  t.equal(h.keeper.l1Check(h.state, s.submissionId)?.status, L1Status.L1_STATUS_MATCH);
  t.notOk(h.keeper.isHeld(h.state, s.submissionId));
  t.same(h.training.startAggregation(1n, (id) => h.keeper.isHeld(h.state, id)), []);
  t.equal(h.training.submissionsById.get(s.submissionId)?.status, 'accepted', 'accepted at its window\'s aggregation start');
  t.same(s.balances(), s.start);
  s.finish(t);
  t.end();
});

t.test('L1: mismatch flags the submission → L3 without bond → miner slashed and rejected; no bounty', (t) => {
  const s = scenario(t, { params: { l1SampleBps: 10_000n }, submitted: BAD });
  const { h } = s;
  const check = h.keeper.l1Check(h.state, s.submissionId)!;
  const { disputeId } = s.verify(check.verifier, GOOD);
  t.equal(disputeId, 1n);
  t.ok(h.keeper.isHeld(h.state, s.submissionId), 'flagged: held');
  t.same(h.training.startAggregation(1n, (id) => h.keeper.isHeld(h.state, id)), [s.submissionId], 'not accepted while held');
  t.equal(h.training.submissionsById.get(s.submissionId)?.status, 'pending');
  h.nextBlock();
  const dispute = h.dispute(disputeId);
  t.equal(dispute.l1Verifier, check.verifier);
  const arbiters = dispute.panel.map((seat) => seat.arbiter);
  t.notOk(arbiters.includes(check.verifier), 'the flagging verifier is not on the panel');
  t.same(s.votes(disputeId, [[arbiters[0], GOOD], [arbiters[1], GOOD]]), ['pending', 'miner-at-fault']);
  t.equal(h.minerStake(s.miner.bytes), MINER_STAKE - MINER_SLASH);
  t.equal(h.training.submissionsById.get(s.submissionId)?.status, 'rejected');
  t.equal(h.supply(), s.start.supply - MINER_SLASH, 'no bounty without a bond');
  t.equal(h.balance(check.verifier), 0n);
  t.equal(h.moduleBalance(), 0n);
  s.finish(t);
  t.end();
});

t.test('L1: no answer by the deadline → liveness penalty; the submission is accepted when its challenge period ends', (t) => {
  const s = scenario(t, { params: { l1SampleBps: 10_000n } });
  const { h } = s;
  const check = h.keeper.l1Check(h.state, s.submissionId)!;
  s.advanceTo(26n); // endBlock 25 (the reveal deadline) still waits
  t.equal(h.keeper.l1Check(h.state, s.submissionId)?.status, L1Status.L1_STATUS_PENDING);
  h.nextBlock();
  t.equal(h.keeper.l1Check(h.state, s.submissionId)?.status, L1Status.L1_STATUS_MISSED);
  t.same(s.tokenChanges(), { [check.verifier]: -LIVENESS });
  t.same(h.training.startAggregation(1n, (id) => h.keeper.isHeld(h.state, id)), []);
  t.equal(h.training.submissionsById.get(s.submissionId)?.status, 'accepted');
  t.equal(h.supply(), s.start.supply - LIVENESS);
  s.finish(t);
  t.end();
});

t.test('Data availability at L2: the verifier reports the CID unserved, the panel confirms → the miner loses', (t) => {
  const s = scenario(t);
  const { h } = s;
  const disputeId = s.challenge();
  h.nextBlock();
  const verifier = h.dispute(disputeId).l2Verifier;
  t.equal(s.report(verifier), disputeId);
  let dispute = h.dispute(disputeId);
  t.ok(dispute.unavailableReported);
  t.equal(dispute.stage, DisputeStage.DISPUTE_STAGE_L3_DRAW, 'escalated');
  h.nextBlock();
  const arbiters = h.dispute(disputeId).panel.map((seat) => seat.arbiter);
  t.same(s.votes(disputeId, [[arbiters[0], 'unavailable'], [arbiters[1], 'unavailable']]), ['pending', 'miner-at-fault']);
  dispute = h.dispute(disputeId);
  t.match(dispute.resolution, /unavailable/);
  t.equal(h.minerStake(s.miner.bytes), MINER_STAKE - MINER_SLASH);
  t.equal(h.balance(s.challenger.bytes), s.start.challenger - FEE + BOUNTY);
  t.equal(h.balance(verifier), FEE, 'an unavailability report is an answer: the same fee');
  t.equal(h.training.submissionsById.get(s.submissionId)?.status, 'rejected');
  t.equal(h.supply(), s.start.supply - MINER_SLASH + BOUNTY);
  t.equal(h.moduleBalance(), 0n);
  s.finish(t);
  t.end();
});

t.test('Data availability at L1: a report the panel does not confirm → no fault; the reporter is penalised', (t) => {
  const s = scenario(t, { params: { l1SampleBps: 10_000n } });
  const { h } = s;
  const check = h.keeper.l1Check(h.state, s.submissionId)!;
  const disputeId = s.report(check.verifier);
  t.equal(h.keeper.l1Check(h.state, s.submissionId)?.status, L1Status.L1_STATUS_UNAVAILABLE);
  h.nextBlock();
  const arbiters = h.dispute(disputeId).panel.map((seat) => seat.arbiter);
  t.same(s.votes(disputeId, [[arbiters[0], GOOD], [arbiters[1], GOOD]]), ['pending', 'no-fault']);
  t.same(s.tokenChanges(), { [check.verifier]: -WRONG });
  t.same(s.balances(), { ...s.start, supply: s.start.supply - WRONG });
  s.finish(t);
  t.end();
});

t.test('A panelist reports unavailability during L3; the report lets the panel vote unavailable', (t) => {
  const s = scenario(t, { submitted: BAD });
  const { h } = s;
  const disputeId = s.challenge();
  h.nextBlock();
  s.verify(h.dispute(disputeId).l2Verifier, GOOD);
  h.nextBlock();
  const arbiters = h.dispute(disputeId).panel.map((seat) => seat.arbiter);
  t.equal(s.report(arbiters[2]), disputeId);
  t.same(s.votes(disputeId, [[arbiters[2], 'unavailable'], [arbiters[0], GOOD]]), ['pending', 'miner-at-fault'], 'a wrong result and an unavailability vote are both faults');
  t.equal(h.supply(), s.start.supply - MINER_SLASH + BOUNTY);
  s.finish(t);
  t.end();
});

t.test('CheckTx: a challenge runs without drawing (draws happen only in endBlock)', (t) => {
  const s = scenario(t);
  const { h } = s;
  const id = s.challenge(BOND, 'check');
  t.equal(h.dispute(id).stage, DisputeStage.DISPUTE_STAGE_L2_DRAW);
  t.equal(h.dispute(id).draws.length, 0);
  t.equal(h.balance(VERIFICATION_MODULE_ADDRESS), BOND);
  s.finish(t);
  t.end();
});

t.test('An honest challenger against an L1-verified submission: the challenge still goes through', (t) => {
  const s = scenario(t, { params: { l1SampleBps: 10_000n }, submitted: BAD });
  const { h } = s;
  const check = h.keeper.l1Check(h.state, s.submissionId)!;
  s.verify(check.verifier, BAD); // a colluding L1 verifier "reproduces" the bad result
  const disputeId = s.challenge();
  h.nextBlock();
  const verifier = h.dispute(disputeId).l2Verifier;
  t.not(verifier, check.verifier, 'the submission\'s L1 verifier is never its L2 verifier');
  s.verify(verifier, GOOD);
  h.nextBlock();
  const arbiters = h.dispute(disputeId).panel.map((seat) => seat.arbiter);
  t.same(s.votes(disputeId, [[arbiters[0], GOOD], [arbiters[1], GOOD]]), ['pending', 'miner-at-fault']);
  t.equal(h.balance(s.challenger.bytes), s.start.challenger - FEE + BOUNTY);
  s.finish(t);
  t.end();
});

t.test('L2: the verifier\'s pay does not depend on the side it takes (match, mismatch, unavailable)', (t) => {
  const changes: Record<string, bigint> = {};
  for (const answer of ['match', 'mismatch', 'unavailable'] as const) {
    const s = scenario(t);
    const { h } = s;
    const disputeId = s.challenge();
    h.nextBlock();
    const verifier = h.dispute(disputeId).l2Verifier;
    const before = h.balance(verifier);
    if (answer === 'unavailable') s.report(verifier);
    else s.verify(verifier, answer === 'match' ? GOOD : BAD);
    changes[answer] = h.balance(verifier) - before;
    t.equal(h.dispute(disputeId).l2Fee, FEE.toString(), `${answer}: the fee is recorded in the dispute`);
    t.equal(h.moduleBalance(), h.keeper.bondsHeld(h.state), `${answer}: module account = open bonds less fees paid`);
    // Whatever happens next (L3 for a mismatch), the verifier's balance does not move again.
    if (answer !== 'match') {
      h.nextBlock();
      const arbiters = h.dispute(disputeId).panel.map((seat) => seat.arbiter);
      s.votes(disputeId, arbiters.slice(0, 2).map((arbiter) => [arbiter, GOOD] as const));
      t.equal(h.dispute(disputeId).outcome, DisputeOutcome.DISPUTE_OUTCOME_NO_FAULT);
      t.equal(h.balance(verifier) - before, changes[answer], `${answer}: settlement pays the verifier nothing more`);
    }
    s.finish(t);
  }
  t.same(changes, { match: FEE, mismatch: FEE, unavailable: FEE }, 'the same balance change whichever answer');
  t.end();
});
