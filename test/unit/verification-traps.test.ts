/**
 * verification: trap checks (README "Trap checks"). A submission an L3 panel decided becomes a
 * trap source; a later scan issues a trap on it to a drawn validator, listed like any L1 check.
 * The answer the panel established passes (and is credited); the claim shown — a perturbed hash
 * after NO_FAULT, the miner's public hash after MINER_AT_FAULT — fails (penalty); so does any
 * other hash. A missed trap is a missed L1 check; an unavailability report is neither.
 */
import t, { type Test } from 'tap';
import { MsgChallenge, MsgReportUnavailable } from '../../proto/gen/r3mes/verification/v1/tx.ts';
import { DisputeOutcome, L1Status } from '../../proto/gen/r3mes/verification/v1/types.ts';
import { testAccount, testHash, verificationTestbed } from '../helpers/verification-testbed.ts';

const GOOD = testHash('good');
const BAD = testHash('bad');
const WRONG = 1000n / 100n;
const LIVENESS = 1000n / 1000n;

/** A submission decided by an L3 panel (`truth` is what it should be), then a new submission whose scan issues a trap. */
function withTrap(submitted: Buffer) {
  const h = verificationTestbed({ params: { l1SampleBps: 0n, trapSampleBps: 10_000n } });
  const miner = h.registerMiner('miner', 100_000n);
  const other = h.registerMiner('other-miner', 100_000n);
  const challenger = testAccount('challenger');
  h.fund(challenger.bytes, 1_000_000n);
  const initialSupply = h.supply();
  h.height = 10n;
  h.training.openWindow(1n, 500n, 1000n);
  const source = h.training.submit(miner.address, 1n, submitted, h.height);
  h.nextBlock();
  const disputeId = h.tx((ctx) => h.keeper.challenge(ctx, MsgChallenge.fromPartial({ challenger: challenger.address, submissionId: source, bond: '10000' })));
  h.nextBlock();
  h.answer(h.dispute(disputeId).l2Verifier, source, submitted.equals(GOOD) ? BAD : GOOD); // the L2 verifier disagrees with the miner
  h.nextBlock();
  h.votes(disputeId, h.dispute(disputeId).panel.slice(0, 2).map((seat) => [seat.arbiter, GOOD] as const));
  const outcome = h.dispute(disputeId).outcome;
  const sources = [...h.keeper.trapSources(h.state)];
  const fresh = h.training.submit(other.address, 1n, testHash('fresh'), h.height);
  h.nextBlock(); // the scan of `fresh` issues the trap
  const [trap] = [...h.keeper.trapChecks(h.state)];
  return { h, source, fresh, outcome, sources, trap, verifier: trap?.check?.verifier ?? '', initialSupply };
}

const finish = (t: Test, s: ReturnType<typeof withTrap>) => t.same(s.h.invariants(s.initialSupply), [], 'invariants hold');

t.test('NO_FAULT source: the trap shows a perturbed claim; listed like an L1 check; copying the claim fails, re-executing passes', (t) => {
  for (const answer of ['claim', 'honest', 'other'] as const) {
    const s = withTrap(GOOD);
    const { h } = s;
    t.equal(s.outcome, DisputeOutcome.DISPUTE_OUTCOME_NO_FAULT);
    t.same(s.sources.map((x) => [x.submissionId, Buffer.from(x.trueHash).equals(GOOD)]), [[s.source, true]], 'the decided submission is a trap source');
    t.ok(s.trap, 'a trap was issued in the scan of the next submission');
    const check = s.trap.check!;
    t.equal(check.submissionId, s.source);
    t.notOk(Buffer.from(check.claimedHash).equals(GOOD), 'the claim shown is not the established result');
    t.notOk(s.verifier === s.h.training.submissionsById.get(s.source)!.miner, 'never the source\'s miner');
    const listed = h.keeper.pendingChecksByVerifier(h.state, s.verifier).checks;
    t.same(listed.map((c) => Object.keys(c).sort()), [Object.keys(check).sort()], 'ChecksByVerifier lists it as an L1 check (same message, no trap field)');
    t.same(listed[0], check);
    const tokens = h.validatorTokens(s.verifier);
    const result = answer === 'claim' ? Buffer.from(check.claimedHash) : answer === 'honest' ? GOOD : BAD;
    const response = h.answer(s.verifier, s.source, result) as { result: string };
    t.equal(response.result, answer === 'claim' ? 'match' : 'mismatch', 'the response is an L1 answer\'s');
    const after = h.keeper.trapCheck(h.state, s.trap.trapId)!;
    t.same(h.keeper.pendingChecksByVerifier(h.state, s.verifier).checks, [], 'answered: no longer pending');
    if (answer === 'honest') {
      t.ok(after.check!.credited, 'passed: credited');
      t.same([...h.keeper.verifierCredits(h.state)].map((c) => [c.verifier, c.checks]), [[s.verifier, 1n]]);
      t.equal(h.validatorTokens(s.verifier), tokens, 'no penalty');
      t.ok(h.events.events.some((e) => e.type === 'trap_passed'));
    } else {
      t.notOk(after.check!.credited);
      t.equal(h.validatorTokens(s.verifier), tokens - WRONG, `${answer}: the trap penalty`);
      t.ok(h.events.events.some((e) => e.type === 'trap_failed' && e.attributes.some((a) => a.key === 'copied_claim' && a.value === String(answer === 'claim'))));
    }
    finish(t, s);
  }
  t.end();
});

t.test('MINER_AT_FAULT source: the trap shows the miner\'s public (wrong) hash; copying the public gradient_hash fails', (t) => {
  const s = withTrap(BAD);
  const { h } = s;
  t.equal(s.outcome, DisputeOutcome.DISPUTE_OUTCOME_MINER_AT_FAULT);
  t.same(s.sources.map((x) => [Buffer.from(x.trueHash).equals(GOOD), Buffer.from(x.claimedHash).equals(BAD)]), [[true, true]], 'established: the panel\'s result; shown: the miner\'s');
  const tokens = h.validatorTokens(s.verifier);
  h.answer(s.verifier, s.source, Buffer.from(h.training.submissionsById.get(s.source)!.gradientHash));
  t.equal(h.validatorTokens(s.verifier), tokens - WRONG, 'a copier of the training record is caught');
  finish(t, s);
  t.end();
});

t.test('a missed trap is a missed L1 check; an unavailability report on a trap is neither paid nor penalised', (t) => {
  const m = withTrap(GOOD);
  const tokens = m.h.validatorTokens(m.verifier);
  while (m.h.height <= m.trap.check!.deadlineHeight + 1n) m.h.nextBlock();
  t.equal(m.h.keeper.trapCheck(m.h.state, m.trap.trapId)!.check!.status, L1Status.L1_STATUS_MISSED);
  t.equal(m.h.validatorTokens(m.verifier), tokens - LIVENESS, 'liveness penalty');
  finish(t, m);

  const u = withTrap(GOOD);
  const before = u.h.validatorTokens(u.verifier);
  t.equal(u.h.tx((ctx) => u.h.keeper.reportUnavailable(ctx, MsgReportUnavailable.fromPartial({ reporter: u.verifier, submissionId: u.source }))), 0n, 'no dispute on a decided submission');
  t.equal(u.h.keeper.trapCheck(u.h.state, u.trap.trapId)!.check!.status, L1Status.L1_STATUS_UNAVAILABLE);
  t.equal(u.h.validatorTokens(u.verifier), before);
  t.same([...u.h.keeper.verifierCredits(u.h.state)], []);
  finish(t, u);
  t.end();
});

t.test('genesis round-trips trap checks, sources and next_trap_id', (t) => {
  const s = withTrap(GOOD);
  const exported = JSON.parse(JSON.stringify(s.h.module.exportGenesis(s.h.state))) as { trapChecks: unknown[]; trapSources: unknown[]; nextTrapId: string };
  t.equal(exported.trapChecks.length, 1);
  t.equal(exported.trapSources.length, 1);
  t.equal(exported.nextTrapId, '2');
  const other = verificationTestbed();
  other.module.initGenesis(other.state, exported);
  t.same(other.module.exportGenesis(other.state), exported, 'exportGenesis(initGenesis(g)) = g');
  t.same(other.keeper.pendingChecksByVerifier(other.state, s.verifier).checks.map((c) => c.submissionId), [s.source], 'the by-verifier index names the trap');
  t.end();
});
