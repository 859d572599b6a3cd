/**
 * verification: L1 verifiers are paid for answers that were confirmed (README "L1 verifiers are
 * paid"). A match is credited once the submission can no longer be found at fault (its seed is
 * pruned: accepted at the end of its challenge period, no dispute holding it); a mismatch or an
 * unavailability report once an L3 panel finds the miner at fault. A match the panel proves wrong
 * is penalised, never credited. The rewards hook (app/adapters.ts) pays the verifiers' share of
 * each finalized window to the credited verifiers and empties the ledger.
 */
import t, { type Test } from 'tap';
import { rewardsHook } from '../../app/adapters.ts';
import { decodeAddress, encodeAddress } from '../../app/core/address.ts';
import { MsgChallenge, MsgReportUnavailable } from '../../proto/gen/r3mes/verification/v1/tx.ts';
import { DisputeOutcome } from '../../proto/gen/r3mes/verification/v1/types.ts';
import { SortedMemStore, testAccount, testHash, verificationTestbed } from '../helpers/verification-testbed.ts';

const BASE_REWARD = 1000n;
const COMMIT_START = 40n;
const GOOD = testHash('good');
const BAD = testHash('bad');
const WRONG = 1000n / 100n;

function scenario(submitted: Buffer) {
  const h = verificationTestbed({ params: { l1SampleBps: 10_000n } });
  const miner = h.registerMiner('miner', 100_000n);
  const challenger = testAccount('challenger');
  h.fund(challenger.bytes, 1_000_000n);
  h.height = 10n;
  h.training.openWindow(1n, COMMIT_START, BASE_REWARD);
  const submissionId = h.training.submit(miner.address, 1n, submitted, h.height);
  h.nextBlock();
  const check = h.keeper.l1Check(h.state, submissionId)!;
  const initialSupply = h.supply();
  return {
    h, miner, challenger, submissionId, verifier: check.verifier, initialSupply,
    answer: (hash: Buffer | 'unavailable') => (hash === 'unavailable'
      ? h.tx((ctx) => h.keeper.reportUnavailable(ctx, MsgReportUnavailable.fromPartial({ reporter: check.verifier, submissionId })))
      : h.answer(check.verifier, submissionId, hash)),
    /** Runs blocks until the window's aggregation start (training accepts unheld pending submissions) and a little past. */
    pastChallengePeriod() {
      while (h.height < COMMIT_START + 2n) {
        if (h.height === COMMIT_START) h.training.startAggregation(1n, (id) => h.keeper.isHeld(h.state, id));
        h.nextBlock();
      }
    },
    /** Decides the open dispute with the first two arbiters voting `hash`. */
    panelVotes(disputeId: bigint, hash: Buffer) {
      if (h.dispute(disputeId).panel.length === 0) h.nextBlock();
      h.votes(disputeId, h.dispute(disputeId).panel.map((seat) => [seat.arbiter, hash] as const));
    },
    credits: () => [...h.keeper.verifierCredits(h.state)].map((c) => [c.verifier, c.checks]),
  };
}

const finish = (t: Test, s: ReturnType<typeof scenario>) => t.same(s.h.invariants(s.initialSupply), [], 'invariants hold');

t.test('a match on an honest submission is credited once the challenge period is over, not before', (t) => {
  const s = scenario(GOOD);
  t.equal((s.answer(GOOD) as { result: string }).result, 'match');
  t.same(s.credits(), [], 'not yet: the submission can still be challenged');
  s.pastChallengePeriod();
  t.equal(s.h.training.submissionsById.get(s.submissionId)?.status, 'accepted');
  t.same(s.credits(), [[s.verifier, 1n]], 'credited when its seed is pruned');
  t.ok(s.h.keeper.l1Check(s.h.state, s.submissionId)!.credited);
  t.ok(s.h.events.events.some((e) => e.type === 'l1_confirmed'), 'l1_confirmed emitted');
  t.same(s.h.keeper.takeVerifierCredits(s.h.state).map((c) => [c.verifier, c.checks]), [[s.verifier, 1n]], 'taken by the rewards hook');
  t.same(s.credits(), [], 'and the ledger is empty afterwards');
  s.h.nextBlock();
  t.same(s.credits(), [], 'never credited twice');
  finish(t, s);
  t.end();
});

t.test('a mismatch on a cheating submission is credited when the panel finds the miner at fault', (t) => {
  for (const answer of [GOOD, 'unavailable'] as const) {
    const s = scenario(BAD);
    s.answer(answer);
    const disputeId = s.h.keeper.l1Check(s.h.state, s.submissionId)!.disputeId;
    t.same(s.credits(), [], 'a flag alone is not credited');
    s.h.nextBlock();
    if (answer === 'unavailable') {
      s.h.votes(disputeId, s.h.dispute(disputeId).panel.map((seat) => [seat.arbiter, 'unavailable'] as const));
    } else s.panelVotes(disputeId, GOOD);
    t.equal(s.h.dispute(disputeId).outcome, DisputeOutcome.DISPUTE_OUTCOME_MINER_AT_FAULT);
    t.same(s.credits(), [[s.verifier, 1n]], `${answer === 'unavailable' ? 'unavailability report' : 'mismatch'} confirmed by L3: credited`);
    s.pastChallengePeriod();
    t.same(s.credits(), [[s.verifier, 1n]], 'once');
    finish(t, s);
  }
  t.end();
});

t.test('a match on a cheating submission (a lazy verifier copying the claimed hash) is penalised when a challenge proves it wrong', (t) => {
  const s = scenario(BAD);
  t.equal((s.answer(BAD) as { result: string }).result, 'match', 'the lazy verifier copies the miner\'s hash');
  const tokens = s.h.validatorTokens(s.verifier);
  const disputeId = s.h.tx((ctx) => s.h.keeper.challenge(ctx, MsgChallenge.fromPartial({ challenger: s.challenger.address, submissionId: s.submissionId, bond: '10000' })));
  s.h.nextBlock();
  let l2 = s.h.dispute(disputeId).l2Verifier;
  if (l2 === s.verifier) {
    s.h.height = s.h.dispute(disputeId).nextActionHeight + 1n; // it stays silent; the redraw gets another
    s.h.nextBlock();
    l2 = s.h.dispute(disputeId).l2Verifier;
  }
  s.h.answer(l2, s.submissionId, GOOD);
  s.panelVotes(disputeId, GOOD);
  t.equal(s.h.dispute(disputeId).outcome, DisputeOutcome.DISPUTE_OUTCOME_MINER_AT_FAULT);
  t.ok(s.h.validatorTokens(s.verifier) <= tokens - WRONG, 'the lazy L1 verifier pays the wrong-result penalty');
  s.pastChallengePeriod();
  t.same(s.credits(), [], 'and is never credited');
  finish(t, s);
  t.end();
});

t.test('a false flag is penalised (NO_FAULT), never credited; a match held by a rejected challenge is credited at settlement', (t) => {
  const s = scenario(GOOD);
  s.answer(BAD);
  const disputeId = s.h.keeper.l1Check(s.h.state, s.submissionId)!.disputeId;
  s.h.nextBlock();
  s.panelVotes(disputeId, GOOD);
  t.equal(s.h.dispute(disputeId).outcome, DisputeOutcome.DISPUTE_OUTCOME_NO_FAULT);
  s.pastChallengePeriod();
  t.same(s.credits(), [], 'a flag the panel rejected earns nothing');
  finish(t, s);

  // A match whose submission is still held by a dispute when its challenge period ends.
  const m = scenario(GOOD);
  m.answer(GOOD);
  m.h.height = COMMIT_START - 1n;
  const held = m.h.tx((ctx) => m.h.keeper.challenge(ctx, MsgChallenge.fromPartial({ challenger: m.challenger.address, submissionId: m.submissionId, bond: '10000' })));
  m.pastChallengePeriod();
  t.ok(m.h.keeper.isHeld(m.h.state, m.submissionId), 'still held after the challenge period');
  t.same(m.credits(), [], 'not credited while held');
  m.h.answer(m.h.dispute(held).l2Verifier, m.submissionId, GOOD);
  t.equal(m.h.dispute(held).outcome, DisputeOutcome.DISPUTE_OUTCOME_CHALLENGE_REJECTED);
  t.same(m.credits(), [[m.verifier, 1n]], 'credited when the last possible dispute ends without a fault');
  finish(t, m);
  t.end();
});

t.test('genesis carries the unpaid credits', (t) => {
  const s = scenario(GOOD);
  s.answer(GOOD);
  s.pastChallengePeriod();
  const exported = JSON.parse(JSON.stringify(s.h.module.exportGenesis(s.h.state))) as { verifierCredits: unknown[] };
  t.same(exported.verifierCredits, [{ verifier: s.verifier, checks: '1' }]);
  const other = verificationTestbed();
  const store = new SortedMemStore();
  other.module.initGenesis(store, exported);
  t.same(other.module.exportGenesis(store), exported, 'exportGenesis(initGenesis(g)) = g');
  t.throws(() => verificationTestbed().module.initGenesis(new SortedMemStore(), { ...exported, verifierCredits: [{ verifier: s.verifier, checks: '0' }] }), /checks must be above 0/);
  t.throws(() => verificationTestbed().module.initGenesis(new SortedMemStore(), { ...exported, verifierCredits: [{ verifier: 'nobody', checks: '1' }] }), /not a bech32 address/);
  t.end();
});

t.test('the rewards hook pays the verifiers\' share to credited L1 verifiers, not to aggregation proposers', (t) => {
  const calls: Array<{ miners: string[]; verifiers: Array<[string, bigint]> }> = [];
  const rewards = {
    distributeWindow(_ctx: unknown, _windowId: bigint, c: { miners: ReadonlyArray<{ address: Uint8Array }>; verifiers: ReadonlyArray<{ address: Uint8Array; weight: bigint }> }) {
      calls.push({ miners: c.miners.map((m) => encodeAddress(m.address)), verifiers: c.verifiers.map((v) => [encodeAddress(v.address), v.weight]) });
      return undefined as never;
    },
  };
  const a = testAccount('verifier-a').address;
  const b = testAccount('verifier-b').address;
  let ledger = [{ verifier: a, checks: 2n }, { verifier: b, checks: 1n }];
  const hook = rewardsHook(rewards, () => ({ takeVerifierCredits: () => {
    const taken = ledger;
    ledger = [];
    return taken;
  } }));
  const miner = testAccount('m').address;
  const proposer = testAccount('proposer').address;
  const ctx = { store: new SortedMemStore() } as never;
  hook.distributeWindow(ctx, 1n, { baseReward: 1n, miners: [{ address: miner, weight: 1n }], aggregators: [{ address: proposer, weight: 1n }] });
  hook.distributeWindow(ctx, 2n, { baseReward: 1n, miners: [{ address: miner, weight: 1n }], aggregators: [{ address: proposer, weight: 1n }] });
  t.same(calls[0], { miners: [miner], verifiers: [[a, 2n], [b, 1n]] }, 'window 1: the credited verifiers by confirmed checks');
  t.same(calls[1].verifiers, [], 'window 2: nothing new confirmed → the share goes to the community pool');
  t.ok(decodeAddress(proposer).length === 20);
  t.end();
});
