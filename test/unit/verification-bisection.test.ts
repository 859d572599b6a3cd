/**
 * verification: bisection disputes (modules/verification/README.md "Bisection"). A dispute
 * narrows on chain to one step by the miner's revealed state hashes (Merkle proofs against the
 * submission's trace root) and the disputer's agree/disagree; a party that misses its move
 * loses; the one-step panel decides on stateHash_{lo+1}. Every refusal names its code and
 * changes nothing; the block hook never throws whatever the moves.
 */
import t, { type Test } from 'tap';
import { sha256 } from '@noble/hashes/sha2.js';
import type { ErrorKind } from '../../app/core/errors.ts';
import { MsgBisectRespond, MsgBisectReveal, MsgChallenge } from '../../proto/gen/r3mes/verification/v1/tx.ts';
import { DisputeOutcome, DisputeStage } from '../../proto/gen/r3mes/verification/v1/types.ts';
import { verificationErrors } from '../../modules/verification/errors.ts';
import { requestedStep } from '../../modules/verification/bisection.ts';
import { traceProofLength, verifyTraceInclusion } from '../../modules/verification/trace-proof.ts';
import { testAccount, testHash, thrownError, verificationTestbed } from '../helpers/verification-testbed.ts';
import { treeProof, treeRoot } from '../helpers/trace-tree.ts';

const GOOD = testHash('good');
const BAD = testHash('bad');
const ROUND = 10n;
const honest = (n: number): Buffer[] => Array.from({ length: n + 1 }, (_, i) => Buffer.from(sha256(Buffer.from(`state/${i}`))));
/** A trace equal to `base` before `from`, different from there on. */
const divergent = (base: Buffer[], from: number, label: string): Buffer[] => base.map((x, i) => (i < from ? x : Buffer.from(sha256(Buffer.from(`${label}/${i}`)))));

interface Setup {
  steps: number;
  /** The miner's trace (what its trace root commits to). */
  miner: Buffer[];
  origin?: 'challenge' | 'l1-flag';
  /** The disputer's own trace (its answers prove their hashes against its root): the honest one unless given. */
  own?: Buffer[];
}

function setup(opts: Setup) {
  const h = verificationTestbed({ params: { l1SampleBps: opts.origin === 'l1-flag' ? 10_000n : 0n, bisectRoundBlocks: ROUND } });
  const minerAccount = h.registerMiner('miner', 100_000n);
  const challenger = h.validators[0];
  h.fund(testAccount('validator-1').bytes, 1_000_000n);
  h.height = 10n;
  h.training.openWindow(1n, 500n, 1000n);
  const root = treeRoot(opts.miner);
  const submissionId = h.training.submit(minerAccount.address, 1n, GOOD, h.height, root);
  h.nextBlock();
  let disputeId: bigint;
  let disputer: string;
  if (opts.origin === 'l1-flag') {
    const l1 = h.keeper.l1Check(h.state, submissionId)!.verifier;
    disputeId = h.answer(l1, submissionId, BAD).disputeId;
    disputer = l1;
  } else {
    disputeId = h.tx((ctx) => h.keeper.challenge(ctx, MsgChallenge.fromPartial({ challenger, submissionId, bond: '10000' })));
    h.nextBlock();
    h.answer(h.dispute(disputeId).l2Verifier, submissionId, BAD);
    disputer = challenger;
  }
  const s = {
    h, miner: minerAccount.address, disputer, disputeId, submissionId, trace: opts.miner, n: BigInt(opts.steps), own: opts.own ?? honest(opts.steps),
    reveal(step: bigint, fields: Partial<MsgBisectReveal> = {}) {
      return h.tx((ctx) => h.keeper.bisectReveal(ctx, MsgBisectReveal.fromPartial({
        miner: s.miner, disputeId, step, steps: h.dispute(disputeId).bisectSteps === 0n ? s.n : 0n, stateHash: s.trace[Number(step)],
        proof: treeProof(s.trace, Number(step)), stateCid: `bafy-state-${step}`, ...fields,
      })));
    },
    /** The disputer's answer, with its own hash at `step`, its own root and the proof from `s.own` unless `fields` say otherwise. */
    respond(step: bigint, agree: boolean, fields: Partial<MsgBisectRespond> = {}) {
      const i = Number(step);
      const own = i < s.own.length ? { ownHash: s.own[i], ownRoot: treeRoot(s.own), ownProof: treeProof(s.own, i) } : {};
      return h.tx((ctx) => h.keeper.bisectRespond(ctx, MsgBisectRespond.fromPartial({ disputer: s.disputer, disputeId, step, agree, ...own, ...fields })));
    },
    /** The step the miner reveals next (n before the first reveal). */
    next: () => (h.dispute(disputeId).bisectSteps === 0n ? s.n : requestedStep(h.dispute(disputeId))),
    /** Both parties play honestly, one move a block: the disputer agrees exactly where `own` equals the miner's hash. Returns the steps revealed. */
    play(own: Buffer[]): bigint[] {
      s.own = own;
      const revealed: bigint[] = [];
      while (h.dispute(disputeId).stage === DisputeStage.DISPUTE_STAGE_BISECTION) {
        const step = s.next();
        revealed.push(step);
        s.reveal(step);
        h.nextBlock();
        s.respond(step, own[Number(step)].equals(s.trace[Number(step)]));
        h.nextBlock();
      }
      return revealed;
    },
  };
  return s;
}

/** The call fails with `kind`, and neither the module's state nor any balance changed. */
function rejects(t: Test, s: ReturnType<typeof setup>, kind: ErrorKind, run: () => unknown, what: string): void {
  const before = JSON.stringify(s.h.module.exportGenesis(s.h.state));
  const balances = [...s.h.bank.allHolders(s.h.state)].map((holder) => holder.coins[0]?.amount);
  const error = thrownError(run);
  t.ok(error, `${what}: rejected`);
  t.equal(error?.codespace, kind.codespace, `${what}: codespace`);
  t.equal(error?.code, kind.code, `${what}: code ${kind.code} (${error?.message})`);
  t.equal(JSON.stringify(s.h.module.exportGenesis(s.h.state)), before, `${what}: state unchanged`);
  t.same([...s.h.bank.allHolders(s.h.state)].map((holder) => holder.coins[0]?.amount), balances, `${what}: balances unchanged`);
}

// The vector the worker's generator must produce too (worker/test/trace-proof-vector.test.ts):
// stateHash_i = SHA-256("r3mes/trace-vector/{i}"), i = 0..5 (a job of 5 steps, 6 leaves).
const VECTOR = {
  root: 'e7005011be19d5604a3143dafee2a6a3514763c522f459f55c98493f22d08ab4',
  leaves: 6n,
  proofs: [
    { index: 0n, leaf: 'a34b8906866b2acbdd9ff689491012980d5c348d76d5853448d43b12b0f79409', siblings: ['b88128926f0f337bf090419feaa91db03227c2eb31d96d852f7362c6e83c0f94', 'ef0ff829b9025645f50dd999d5e688ee75dad2e203ac69137832135303c2a74f', '10722cfdeecc993eaec97aa86e6bdacdae475eb5424fb35eca75da4744e9f783'] },
    { index: 3n, leaf: '32738729bef83014ebc0bc63257314fcc9d502bac925c48bf8ef3e04edda897a', siblings: ['9db6599be50c5caecb2ad72eb9ee60edf65f4b7fde48b0e55b59bad25624bf5e', '508da4fd264e13bb99d4cc49d0f669ae348bd924b24659ffac850bdda323bc14', '10722cfdeecc993eaec97aa86e6bdacdae475eb5424fb35eca75da4744e9f783'] },
    { index: 5n, leaf: 'f4f64cf85d206645b00394b9bb616992eb99154d39bbf13daffe13e21ef6df23', siblings: ['be4d8425bf472823c4393eb891417cac803ee7542aebad01e509106a038ab047', '1395ff8ba5fe7584969a8be3ccf1238595a9c2293aef7823075e8c0203340224'] },
  ],
};

t.test('trace proof: the shared vector verifies; any change to leaf, index, size or siblings does not', (t) => {
  const hex = (x: string) => Buffer.from(x, 'hex');
  const root = hex(VECTOR.root);
  const leaves = Array.from({ length: 6 }, (_, i) => Buffer.from(sha256(Buffer.from(`r3mes/trace-vector/${i}`))));
  t.equal(treeRoot(leaves).toString('hex'), VECTOR.root, 'the test tree builds the vector root');
  for (const p of VECTOR.proofs) {
    const siblings = p.siblings.map(hex);
    t.equal(leaves[Number(p.index)].toString('hex'), p.leaf);
    t.ok(verifyTraceInclusion(hex(p.leaf), p.index, VECTOR.leaves, siblings, root), `index ${p.index} verifies`);
    t.equal(traceProofLength(p.index, VECTOR.leaves), siblings.length, `index ${p.index}: ${siblings.length} siblings`);
    t.notOk(verifyTraceInclusion(hex(p.leaf), p.index === 0n ? 1n : p.index - 1n, VECTOR.leaves, siblings, root), `index ${p.index}: another index fails`);
    t.notOk(verifyTraceInclusion(hex(p.leaf), p.index, 4n, siblings, root), `index ${p.index}: a smaller tree fails`);
    t.notOk(verifyTraceInclusion(testHash('x'), p.index, VECTOR.leaves, siblings, root), `index ${p.index}: another leaf fails`);
    t.notOk(verifyTraceInclusion(hex(p.leaf), p.index, VECTOR.leaves, [...siblings, siblings[0]], root), `index ${p.index}: an extra sibling fails`);
    t.notOk(verifyTraceInclusion(hex(p.leaf), p.index, VECTOR.leaves, siblings.slice(1), root), `index ${p.index}: a missing sibling fails`);
    const flipped = siblings.map((x) => Buffer.from(x));
    flipped[0][0] ^= 1;
    t.notOk(verifyTraceInclusion(hex(p.leaf), p.index, VECTOR.leaves, flipped, root), `index ${p.index}: a changed sibling fails`);
  }
  // Every index of trees of 1..17 leaves, against the independent builder.
  for (let n = 1; n <= 17; n++) {
    const hs = Array.from({ length: n }, (_, i) => testHash(`leaf-${n}-${i}`));
    const r = treeRoot(hs);
    for (let i = 0; i < n; i++) t.ok(verifyTraceInclusion(hs[i], BigInt(i), BigInt(n), treeProof(hs, i), r), `${n} leaves, index ${i}`);
  }
  t.notOk(verifyTraceInclusion(leaves[0], 6n, 6n, [], root), 'index outside the tree');
  t.end();
});

t.test('midpoints: n, then 0, then ⌊(lo+hi)/2⌋ of the interval the answers leave', (t) => {
  const good = honest(8);
  const s = setup({ steps: 8, miner: divergent(good, 5, 'cheat') });
  t.equal(s.h.dispute(s.disputeId).stage, DisputeStage.DISPUTE_STAGE_BISECTION, 'the L2 mismatch starts bisection, not the whole-chunk panel');
  t.equal(s.h.dispute(s.disputeId).bisectDisputer, s.disputer, 'the challenger disputes');
  const revealed = s.play(good);
  t.same(revealed, [8n, 0n, 4n, 6n, 5n], 'the steps revealed');
  const d = s.h.dispute(s.disputeId);
  t.equal(d.bisectLo, 4n);
  t.equal(d.bisectHi, 5n);
  t.ok(d.bisectOneStep);
  t.equal(d.bisectLoCid, 'bafy-state-4', 'the agreed state\'s CID is kept for the panel');
  t.same(Buffer.from(d.bisectLoHash), good[4]);
  t.same(Buffer.from(d.bisectHiHash), s.trace[5]);
  t.equal(d.bisectMoves, 10n);
  // The rounds, in chain state: who moved on which step, by which deadline, and the interval left.
  t.same(d.bisectHistory.map((m) => `${m.party}:${m.step}${m.party === 'disputer' ? (m.agree ? '+' : '-') : ''}[${m.lo},${m.hi}]`),
    ['miner:8[0,0]', 'disputer:8-[0,8]', 'miner:0[0,8]', 'disputer:0+[0,8]', 'miner:4[0,8]', 'disputer:4+[4,8]', 'miner:6[4,8]', 'disputer:6-[4,6]', 'miner:5[4,6]', 'disputer:5-[4,5]']);
  t.ok(d.bisectHistory.every((m, i) => m.height <= m.deadlineHeight && (i === 0 || m.deadlineHeight === d.bisectHistory[i - 1].height + ROUND)), 'each move within bisect_round_blocks of the previous one');
  t.same(Buffer.from(d.bisectHistory[1].hash), good[8], 'an answer records the disputer\'s own hash');
  t.end();
});

t.test('a miner that tampered one middle step: the one-step panel recomputes stateHash_{lo+1} and the miner is slashed', (t) => {
  const good = honest(8);
  const s = setup({ steps: 8, miner: divergent(good, 5, 'cheat') });
  const supply = s.h.supply();
  const challengerBefore = s.h.balance(s.disputer);
  s.play(good);
  const d = s.h.dispute(s.disputeId);
  t.equal(d.stage, DisputeStage.DISPUTE_STAGE_L3_VOTING, 'the panel is drawn in the endBlock of the last answer');
  // Honest arbiters re-execute step 4 → 5 from the agreed state: they get the honest stateHash_5.
  s.h.votes(s.disputeId, d.panel.map((seat) => [seat.arbiter, good[5]] as const));
  const done = s.h.dispute(s.disputeId);
  t.equal(done.outcome, DisputeOutcome.DISPUTE_OUTCOME_MINER_AT_FAULT);
  t.ok(s.h.slashes.some((x) => x.kind === 'miner' && x.address === s.miner), 'the miner is slashed');
  t.equal(s.h.training.submissionsById.get(s.submissionId)!.status, 'rejected');
  t.ok(s.h.balance(s.disputer) > challengerBefore, 'the challenger gets its bond back and the bounty');
  t.equal(s.h.keeper.trapSources(s.h.state).next().done, true, 'a one-step decision makes no trap source');
  t.same(s.h.invariants(supply), []);
  t.end();
});

t.test('an honest miner wrongly challenged wins: the panel reproduces its stateHash_{lo+1}', (t) => {
  const good = honest(6);
  const s = setup({ steps: 6, miner: good });
  const supply = s.h.supply();
  const minerBefore = s.h.balance(s.miner);
  // The challenger's own computation went wrong at step 3 (or it lies): it agrees up to 2, disputes from 3.
  const revealed = s.play(divergent(good, 3, 'wrong'));
  t.same(revealed, [6n, 0n, 3n, 1n, 2n]);
  const d = s.h.dispute(s.disputeId);
  t.equal(d.bisectLo, 2n);
  t.equal(d.bisectHi, 3n);
  s.h.votes(s.disputeId, d.panel.map((seat) => [seat.arbiter, good[3]] as const));
  t.equal(s.h.dispute(s.disputeId).outcome, DisputeOutcome.DISPUTE_OUTCOME_NO_FAULT);
  t.notOk(s.h.slashes.some((x) => x.kind === 'miner'), 'no miner slash');
  t.ok(s.h.balance(s.miner) > minerBefore, 'the miner gets its share of the bond');
  t.equal(s.h.training.submissionsById.get(s.submissionId)!.status, 'pending');
  t.same(s.h.invariants(supply), []);
  t.end();
});

t.test('a miner that stops answering loses at its deadline, not before', (t) => {
  const good = honest(4);
  const s = setup({ steps: 4, miner: divergent(good, 2, 'cheat') });
  const supply = s.h.supply();
  s.reveal(4n);
  s.h.nextBlock();
  s.respond(4n, false);
  const deadline = s.h.height + ROUND;
  t.equal(s.h.dispute(s.disputeId).nextActionHeight, deadline, 'the miner has bisect_round_blocks from the answer');
  while (s.h.height <= deadline) s.h.nextBlock();
  t.equal(s.h.dispute(s.disputeId).stage, DisputeStage.DISPUTE_STAGE_BISECTION, 'still open after the deadline block');
  rejects(t, s, verificationErrors.late, () => s.reveal(0n), 'a reveal after the deadline');
  s.h.endBlock();
  const d = s.h.dispute(s.disputeId);
  t.equal(d.outcome, DisputeOutcome.DISPUTE_OUTCOME_MINER_AT_FAULT, 'decided in the endBlock after the deadline');
  t.match(d.resolution, /the miner did not reveal step 0/);
  t.match(d.bisectHistory.at(-1), { party: 'miner', step: 0n, missed: true, deadlineHeight: deadline }, 'the missed move closes the history');
  t.ok(s.h.slashes.some((x) => x.kind === 'miner' && x.address === s.miner));
  t.same(s.h.invariants(supply), []);
  t.end();
});

t.test('a miner that never opens its trace loses too', (t) => {
  const s = setup({ steps: 4, miner: honest(4) });
  for (let i = 0n; i <= ROUND + 1n; i++) s.h.nextBlock();
  t.equal(s.h.dispute(s.disputeId).outcome, DisputeOutcome.DISPUTE_OUTCOME_MINER_AT_FAULT);
  t.end();
});

t.test('a disputer that stops answering loses: the bond goes to the miner', (t) => {
  const good = honest(4);
  const s = setup({ steps: 4, miner: good });
  const supply = s.h.supply();
  const minerBefore = s.h.balance(s.miner);
  s.reveal(4n);
  const deadline = s.h.height + ROUND;
  while (s.h.height <= deadline) s.h.nextBlock();
  rejects(t, s, verificationErrors.late, () => s.respond(4n, false), 'an answer after the deadline');
  s.h.endBlock();
  const d = s.h.dispute(s.disputeId);
  t.equal(d.outcome, DisputeOutcome.DISPUTE_OUTCOME_CHALLENGE_REJECTED);
  t.match(d.resolution, /the disputer did not answer step 4/);
  t.equal(s.h.balance(s.miner) - minerBefore, BigInt(d.bond) - BigInt(d.l2Fee), 'the miner gets the bond less the L2 fee');
  t.notOk(s.h.slashes.some((x) => x.kind === 'miner'));
  t.same(s.h.invariants(supply), []);
  t.end();
});

t.test('an L1 flag bisects with the flagging verifier as disputer; it is penalised if it stops answering', (t) => {
  const good = honest(4);
  const s = setup({ steps: 4, miner: good, origin: 'l1-flag' });
  const d = s.h.dispute(s.disputeId);
  t.equal(d.stage, DisputeStage.DISPUTE_STAGE_BISECTION);
  t.equal(d.bisectDisputer, d.l1Verifier);
  s.reveal(4n);
  for (let i = 0n; i <= ROUND + 1n; i++) s.h.nextBlock();
  t.equal(s.h.dispute(s.disputeId).outcome, DisputeOutcome.DISPUTE_OUTCOME_CHALLENGE_REJECTED);
  t.ok(s.h.slashes.some((x) => x.kind === 'validator' && x.address === d.l1Verifier && x.reason.startsWith('verification missed-deadline')), 'liveness penalty');
  t.end();
});

t.test('where bisection does not apply the whole-chunk panel decides on the gradient hash', (t) => {
  // The disputer agrees with the last state: the dispute is about the delta, which the trace does not cover.
  const good = honest(4);
  const a = setup({ steps: 4, miner: good });
  a.reveal(4n);
  a.h.nextBlock();
  t.equal(a.respond(4n, true), 'whole-chunk');
  a.h.nextBlock();
  let d = a.h.dispute(a.disputeId);
  t.equal(d.stage, DisputeStage.DISPUTE_STAGE_L3_VOTING);
  t.notOk(d.bisectOneStep);
  t.match(d.bisectWholeChunkReason, /about the delta/);
  a.h.votes(a.disputeId, d.panel.map((seat) => [seat.arbiter, BAD] as const));
  t.equal(a.h.dispute(a.disputeId).outcome, DisputeOutcome.DISPUTE_OUTCOME_MINER_AT_FAULT, 'a fault vote is a gradient hash other than the submission\'s');
  t.equal(a.h.keeper.trapSources(a.h.state).next().done, false, 'a whole-chunk decision after bisection makes a trap source, as before');
  // The disputer disputes the base state.
  const b = setup({ steps: 4, miner: good, own: divergent(good, 0, 'other-base') });
  b.reveal(4n);
  b.h.nextBlock();
  b.respond(4n, false);
  b.h.nextBlock();
  b.reveal(0n);
  b.h.nextBlock();
  t.equal(b.respond(0n, false), 'whole-chunk');
  b.h.nextBlock();
  d = b.h.dispute(b.disputeId);
  t.match(d.bisectWholeChunkReason, /base state/);
  b.h.votes(b.disputeId, d.panel.map((seat) => [seat.arbiter, GOOD] as const));
  t.equal(b.h.dispute(b.disputeId).outcome, DisputeOutcome.DISPUTE_OUTCOME_NO_FAULT);
  // A single-step job: the interval [0, 1] is the whole chunk, decided as one step.
  const c = setup({ steps: 1, miner: divergent(honest(1), 1, 'cheat') });
  t.same(c.play(honest(1)), [1n, 0n]);
  t.ok(c.h.dispute(c.disputeId).bisectOneStep);
  // Bisection off (bisect_round_blocks = 0): the L2 mismatch escalates as before.
  const h = verificationTestbed({ params: { l1SampleBps: 0n } });
  const miner = h.registerMiner('miner', 100_000n);
  h.fund(testAccount('validator-1').bytes, 1_000_000n);
  h.height = 10n;
  h.training.openWindow(1n, 500n, 1000n);
  const id = h.training.submit(miner.address, 1n, GOOD, h.height);
  h.nextBlock();
  const disputeId = h.tx((ctx) => h.keeper.challenge(ctx, MsgChallenge.fromPartial({ challenger: h.validators[0], submissionId: id, bond: '10000' })));
  h.nextBlock();
  h.answer(h.dispute(disputeId).l2Verifier, id, BAD);
  t.equal(h.dispute(disputeId).stage, DisputeStage.DISPUTE_STAGE_L3_DRAW);
  t.equal(h.dispute(disputeId).bisectDisputer, '');
  t.end();
});

t.test('refusals: each with its code, nothing changed', (t) => {
  const good = honest(8);
  const s = setup({ steps: 8, miner: divergent(good, 5, 'cheat') });
  const id = s.disputeId;
  rejects(t, s, verificationErrors.notYourMove, () => s.h.tx((ctx) => s.h.keeper.bisectReveal(ctx, MsgBisectReveal.fromPartial({
    miner: s.disputer, disputeId: id, step: 8n, steps: 8n, stateHash: s.trace[8], proof: treeProof(s.trace, 8), stateCid: 'bafy',
  }))), 'a reveal by someone else than the miner');
  rejects(t, s, verificationErrors.notYourMove, () => s.respond(8n, false), 'an answer before the miner revealed');
  rejects(t, s, verificationErrors.wrongStep, () => s.reveal(4n, { steps: 8n }), 'a first reveal of another step than n');
  rejects(t, s, verificationErrors.invalidMove, () => s.reveal(0n, { steps: 0n }), 'a first reveal naming no steps');
  rejects(t, s, verificationErrors.badProof, () => s.reveal(8n, { steps: 9n, step: 9n, stateHash: s.trace[8] }), 'a reveal under another tree size');
  rejects(t, s, verificationErrors.badProof, () => s.reveal(8n, { stateHash: good[8] }), 'a hash the root does not commit to');
  rejects(t, s, verificationErrors.badProof, () => s.reveal(8n, { proof: treeProof(s.trace, 7) }), 'another leaf\'s proof');
  rejects(t, s, verificationErrors.invalidMove, () => s.reveal(8n, { stateHash: Buffer.alloc(31) }), 'a 31-byte hash');
  rejects(t, s, verificationErrors.invalidMove, () => s.reveal(8n, { proof: [Buffer.alloc(33)] }), 'a 33-byte sibling');
  rejects(t, s, verificationErrors.invalidMove, () => s.reveal(8n, { stateCid: '' }), 'no state CID');
  rejects(t, s, verificationErrors.invalidMove, () => s.reveal(8n, { stateCid: 'x'.repeat(257) }), 'an oversized CID');
  rejects(t, s, verificationErrors.invalidMove, () => s.reveal(8n, { steps: (1n << 20n) + 1n }), 'steps above the bound');
  rejects(t, s, verificationErrors.disputeNotFound, () => s.h.tx((ctx) => s.h.keeper.bisectReveal(ctx, MsgBisectReveal.fromPartial({
    miner: s.miner, disputeId: 99n, step: 8n, steps: 8n, stateHash: s.trace[8], proof: treeProof(s.trace, 8), stateCid: 'bafy',
  }))), 'an unknown dispute');
  s.reveal(8n);
  rejects(t, s, verificationErrors.notYourMove, () => s.reveal(0n), 'a second reveal before the answer');
  rejects(t, s, verificationErrors.wrongStep, () => s.respond(7n, false), 'an answer on another step');
  rejects(t, s, verificationErrors.invalidMove, () => s.respond(8n, false, { ownHash: Buffer.alloc(5) }), 'a 5-byte own hash');
  rejects(t, s, verificationErrors.notYourMove, () => s.h.tx((ctx) => s.h.keeper.bisectRespond(ctx, MsgBisectRespond.fromPartial({
    disputer: s.miner, disputeId: id, step: 8n, agree: true, ownHash: good[8], ownRoot: treeRoot(good), ownProof: treeProof(good, 8),
  }))), 'the miner answering for the disputer');
  s.h.nextBlock();
  t.equal(s.respond(8n, false, { ownHash: good[8] }), 'bisecting');
  s.h.nextBlock();
  rejects(t, s, verificationErrors.invalidMove, () => s.reveal(0n, { steps: 7n }), 'a later reveal naming other steps');
  rejects(t, s, verificationErrors.wrongStep, () => s.reveal(4n), 'a midpoint before step 0');
  s.play(good);
  rejects(t, s, verificationErrors.notBisecting, () => s.reveal(4n), 'a reveal once the panel is drawn');
  const d = s.h.dispute(id);
  s.h.votes(id, d.panel.map((seat) => [seat.arbiter, good[5]] as const));
  rejects(t, s, verificationErrors.disputeResolved, () => s.respond(5n, true), 'an answer on a resolved dispute');
  t.end();
});

t.test('the disputer\'s answers are bound to its own trace root: each proves its own hash, and agrees exactly where it is the miner\'s', (t) => {
  const good = honest(8);
  const s = setup({ steps: 8, miner: divergent(good, 5, 'cheat') });
  const id = s.disputeId;
  s.reveal(8n);
  s.h.nextBlock();
  rejects(t, s, verificationErrors.invalidMove, () => s.respond(8n, false, { ownRoot: Buffer.alloc(0) }), 'a first answer without its own root');
  rejects(t, s, verificationErrors.invalidMove, () => s.respond(8n, false, { ownHash: Buffer.alloc(0) }), 'an answer without its own hash');
  rejects(t, s, verificationErrors.badProof, () => s.respond(8n, false, { ownHash: testHash('made-up') }), 'an own hash its root does not commit to');
  rejects(t, s, verificationErrors.badProof, () => s.respond(8n, false, { ownProof: treeProof(good, 7) }), 'another leaf\'s proof');
  rejects(t, s, verificationErrors.badProof, () => s.respond(8n, false, { ownRoot: treeRoot(good.slice(0, 8)), ownProof: treeProof(good.slice(0, 8), 7) }), 'a root over another number of leaves');
  rejects(t, s, verificationErrors.invalidMove, () => s.respond(8n, true), 'agreeing where its own trace differs from the miner\'s');
  t.equal(s.respond(8n, false), 'bisecting');
  t.same(Buffer.from(s.h.dispute(id).bisectDisputerRoot), treeRoot(good), 'its own root is kept');
  t.same(Buffer.from(s.h.dispute(id).bisectDisputerHiHash), good[8], 'its own hash at hi');
  s.h.nextBlock();
  s.reveal(0n);
  s.h.nextBlock();
  rejects(t, s, verificationErrors.invalidMove, () => s.respond(0n, false), 'disputing where its own trace has the miner\'s hash');
  const other = divergent(good, 1, 'other');
  rejects(t, s, verificationErrors.invalidMove, () => s.respond(0n, true, { ownRoot: treeRoot(other), ownProof: treeProof(other, 0) }), 'another root than the one committed');
  rejects(t, s, verificationErrors.badProof, () => s.respond(0n, true, { ownRoot: Buffer.alloc(0), ownProof: treeProof(other, 0) }), 'a proof against another root');
  t.equal(s.respond(0n, true, { ownRoot: Buffer.alloc(0) }), 'bisecting', 'later answers need not repeat the root');
  t.end();
});

t.test('a miner that declares another n than the disputer re-executed cannot silence the disputer: the dispute takes the whole-chunk panel', (t) => {
  const good = honest(4);
  // The miner's trace has 6 steps although its job (the disputer's re-execution) has 4.
  const s = setup({ steps: 6, miner: divergent(honest(6), 3, 'cheat'), own: good });
  s.reveal(6n);
  s.h.nextBlock();
  rejects(t, s, verificationErrors.badProof, () => s.respond(6n, false, { ownHash: good[4], ownRoot: treeRoot(good), ownProof: treeProof(good, 4) }), 'no proof of the disputer\'s 5-leaf trace holds against n = 6');
  t.equal(s.respond(6n, false, { ownSteps: 4n, ownHash: Buffer.alloc(0), ownRoot: Buffer.alloc(0), ownProof: [] }), 'whole-chunk');
  s.h.nextBlock();
  const d = s.h.dispute(s.disputeId);
  t.equal(d.stage, DisputeStage.DISPUTE_STAGE_L3_VOTING, 'the whole-chunk panel is drawn');
  t.notOk(d.bisectOneStep);
  t.match(d.bisectWholeChunkReason, /own re-execution has 4 steps, the miner declared n = 6/);
  t.match(d.bisectHistory.at(-1), { party: 'disputer', step: 6n, agree: false });
  t.end();
});

t.test('a disputer that lies about its own computation loses even against a cheating miner: no bounty, its bond to the panel', (t) => {
  const good = honest(8);
  // The miner tampered step 5; the challenger never re-executed and claims a made-up stateHash_5 (and on).
  const s = setup({ steps: 8, miner: divergent(good, 5, 'cheat'), own: divergent(good, 5, 'lie') });
  const supply = s.h.supply();
  const challengerBefore = s.h.balance(s.disputer);
  s.play(s.own);
  const d = s.h.dispute(s.disputeId);
  t.equal(d.bisectLo, 4n);
  t.equal(d.bisectHi, 5n);
  t.same(Buffer.from(d.bisectDisputerHiHash), s.own[5], 'the disputer\'s own claim for the step');
  const arbitersBefore = d.panel.map((seat) => s.h.balance(seat.arbiter));
  // The panel re-executes step 4 → 5: the honest stateHash_5, neither party's.
  s.h.votes(s.disputeId, d.panel.map((seat) => [seat.arbiter, good[5]] as const));
  const done = s.h.dispute(s.disputeId);
  t.equal(done.outcome, DisputeOutcome.DISPUTE_OUTCOME_MINER_AT_FAULT, 'the miner is still at fault');
  t.ok(s.h.slashes.some((x) => x.kind === 'miner' && x.address === s.miner), 'the miner is slashed');
  t.ok(done.bisectDisputerRefuted, 'the disputer\'s own hash is refuted');
  t.equal(done.bounty, '0', 'no bounty');
  t.equal(s.h.balance(s.disputer), challengerBefore, 'the challenger\'s bond (posted with the challenge) does not come back');
  const gained = d.panel.reduce((sum, seat, i) => sum + s.h.balance(seat.arbiter) - arbitersBefore[i], 0n);
  t.equal(gained, BigInt(d.bond) - BigInt(d.l2Fee), 'the bond (less the L2 fee) goes to the panel that established the hash');
  t.ok(s.h.events.events.some((e) => e.type === 'bisect_disputer_refuted'), 'event bisect_disputer_refuted');
  t.same(s.h.invariants(supply), []);
  t.end();
});

t.test('an L1 verifier that flagged with a made-up trace is penalised, not credited, when the panel refutes its own hash', (t) => {
  const good = honest(4);
  const s = setup({ steps: 4, miner: divergent(good, 3, 'cheat'), own: divergent(good, 3, 'lie'), origin: 'l1-flag' });
  s.play(s.own);
  const d = s.h.dispute(s.disputeId);
  t.ok(d.bisectOneStep);
  s.h.votes(s.disputeId, d.panel.map((seat) => [seat.arbiter, good[Number(d.bisectHi)]] as const));
  const done = s.h.dispute(s.disputeId);
  t.equal(done.outcome, DisputeOutcome.DISPUTE_OUTCOME_MINER_AT_FAULT);
  t.ok(done.bisectDisputerRefuted);
  t.ok(s.h.slashes.some((x) => x.kind === 'validator' && x.address === d.l1Verifier && x.reason.startsWith('verification wrong-result')), 'the flagging verifier is penalised');
  t.notOk(s.h.keeper.l1Check(s.h.state, s.submissionId)?.credited, 'its flag is not credited');
  t.end();
});

t.test('the block hook never throws, whatever moves (valid, invalid, missing) the parties send', (t) => {
  let seed = 12345;
  const rand = (k: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % k;
  };
  let outcomes = 0;
  for (let run = 0; run < 12; run++) {
    const n = 1 + rand(9);
    const good = honest(n);
    const s = setup({ steps: n, miner: rand(2) === 0 ? good : divergent(good, rand(n + 1), `cheat-${run}`) });
    const supply = s.h.supply();
    for (let block = 0; block < 120 && s.h.dispute(s.disputeId).stage !== DisputeStage.DISPUTE_STAGE_RESOLVED; block++) {
      const d = s.h.dispute(s.disputeId);
      const move = rand(6);
      thrownError(() => {
        if (move === 0) s.reveal(s.next());
        else if (move === 1) s.reveal(BigInt(rand(n + 1)), { stateHash: testHash(`junk-${block}`) });
        else if (move === 2) s.respond(d.bisectPendingStep, rand(2) === 0);
        else if (move === 3) s.respond(BigInt(rand(n + 1)), true);
        else if (move === 4 && d.stage === DisputeStage.DISPUTE_STAGE_L3_VOTING) {
          const seat = d.panel.find((x) => !x.missed && !x.voted && x.commitment.length === 0);
          if (seat !== undefined) s.h.commitVote(s.disputeId, seat.arbiter, rand(2) === 0 ? good[Number(d.bisectHi)] : BAD);
        }
      });
      t.doesNotThrow(() => s.h.nextBlock(), `run ${run}, block ${block}: endBlock`);
    }
    if (s.h.dispute(s.disputeId).stage === DisputeStage.DISPUTE_STAGE_RESOLVED) outcomes++;
    t.same(s.h.invariants(supply), [], `run ${run}: invariants`);
  }
  t.ok(outcomes > 0, `${outcomes} of 12 random disputes resolved within 120 blocks`);
  t.end();
});
