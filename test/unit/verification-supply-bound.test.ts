/**
 * verification: a bounty that would take the supply past 2^256-1 (governance sets the base
 * reward and the multiplier) is not minted and is reported as a broken invariant: settlement runs
 * in block hooks too (a redrawn panel may already decide), where a throw would halt the chain.
 */
import t from 'tap';
import { MsgChallenge } from '../../proto/gen/r3mes/verification/v1/tx.ts';
import { DisputeOutcome } from '../../proto/gen/r3mes/verification/v1/types.ts';
import { INVARIANT_EVENT } from '../../app/core/invariants.ts';
import { testAccount, testHash, verificationTestbed } from '../helpers/verification-testbed.ts';

t.test('MINER_AT_FAULT with a bounty past the supply bound: bond back, no bounty, reported', (t) => {
  const BASE_REWARD = 1n << 252n;
  const BOND = 10n * BASE_REWARD; // 15 × base more would pass 2^256 = 16 × base
  const h = verificationTestbed({ params: { l1SampleBps: 0n } });
  const miner = h.registerMiner('miner', 100_000n);
  const challenger = testAccount('challenger');
  h.fund(challenger.bytes, BOND);
  h.height = 10n;
  h.training.openWindow(1n, 200n, BASE_REWARD);
  const submissionId = h.training.submit(miner.address, 1n, testHash('bad'), h.height);
  h.nextBlock();
  const initialSupply = h.supply();
  const disputeId = h.tx((ctx) => h.keeper.challenge(ctx, MsgChallenge.fromPartial({ challenger: challenger.address, submissionId, bond: BOND.toString() })));
  h.nextBlock();
  h.answer(h.dispute(disputeId).l2Verifier, submissionId, testHash('good'));
  h.nextBlock();
  const arbiters = h.dispute(disputeId).panel.map((seat) => seat.arbiter);
  const before = h.events.events.length;
  t.doesNotThrow(() => h.votes(disputeId, arbiters.slice(0, 2).map((arbiter) => [arbiter, testHash('good')] as const)));
  const dispute = h.dispute(disputeId);
  t.equal(dispute.outcome, DisputeOutcome.DISPUTE_OUTCOME_MINER_AT_FAULT);
  t.equal(dispute.bounty, '0', 'no bounty minted');
  t.equal(h.balance(challenger.bytes), BOND - BOND / 10n, 'the bond is back, less the L2 verifier\'s fee');
  const reported = h.events.events.slice(before).filter((e) => e.type === INVARIANT_EVENT).map((e) => Object.fromEntries(e.attributes.map((a) => [a.key, a.value])));
  t.match(reported, [{ module: 'verification', invariant: 'supply-bound' }]);
  t.same(h.invariants(initialSupply), []);
  t.end();
});
