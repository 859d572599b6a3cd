/**
 * verification: every draw of a dispute (L2 verifiers, L3 panels, redraws included) uses the
 * submission's seed, fixed in the endBlock of the block that included the submission — never
 * the beacon of the block that draws, which a challenger who proposes blocks could pick by
 * timing its challenge. Also: seeds stored for every scanned submission, the same-block
 * challenge, error 23 for a submission without a seed, pruning, and the genesis round trip.
 */
import t from 'tap';
import { sha256 } from '@noble/hashes/sha2.js';
import type { Context } from '../../app/core/context.ts';
import { concatBytes, u64be, utf8 } from '../../app/core/bytes.ts';
import { draw } from '../../modules/randomness/draw.ts';
import { type Drawer, seededDrawer } from '../../modules/randomness/drawer.ts';
import { DRAW } from '../../modules/verification/keeper.ts';
import { exportGenesis, initGenesis } from '../../modules/verification/genesis.ts';
import { testAccount, testHash, thrownError, verificationTestbed } from '../helpers/verification-testbed.ts';
import { GenesisState } from '../../proto/gen/r3mes/verification/v1/genesis.ts';
import { MsgChallenge } from '../../proto/gen/r3mes/verification/v1/tx.ts';
import { DisputeOutcome, DisputeStage, type Params } from '../../proto/gen/r3mes/verification/v1/types.ts';

const BASE_REWARD = 1000n;
const BOND = 10n * BASE_REWARD;
const GOOD = testHash('good');
const BAD = testHash('bad');
const SUBMIT_HEIGHT = 10n;
const COMMIT_START = 200n;
const SUBMISSION_SEED = sha256(utf8('the beacon of the submission block'));

/** A beacon-like drawer: `run` changes every block's seed except the submission block's. */
function beaconLikeDrawer(run: string, fixed: Map<bigint, Uint8Array> = new Map([[SUBMIT_HEIGHT, SUBMISSION_SEED]])): Drawer {
  return seededDrawer((ctx: Context) => {
    if (ctx.mode !== 'deliver') throw new Error('draws happen only while executing a block');
    return fixed.get(ctx.height) ?? sha256(utf8(`beacon-${run}-${ctx.height}`));
  });
}

function setup(run: string, params: Partial<Params> = {}) {
  const h = verificationTestbed({
    validators: [1000n, 2000n, 3000n, 1500n, 2500n, 1200n, 1800n, 900n, 2200n, 1100n],
    params: { l1SampleBps: 0n, ...params },
    drawer: beaconLikeDrawer(run),
  });
  const miner = h.registerMiner('miner', 100_000n);
  const challenger = testAccount('challenger');
  h.fund(challenger.bytes, 1_000_000n);
  h.height = SUBMIT_HEIGHT;
  h.training.openWindow(1n, COMMIT_START, BASE_REWARD);
  const submissionId = h.training.submit(miner.address, 1n, GOOD, h.height);
  const challenge = () => h.tx((ctx) => h.keeper.challenge(ctx, MsgChallenge.fromPartial({ challenger: challenger.address, submissionId, bond: BOND.toString() })));
  /** Commit now, reveal in the next block. */
  const verify = (verifier: string, hash: Buffer) => h.answer(verifier, submissionId, hash);
  const advanceTo = (height: bigint) => {
    while (h.height < height) h.nextBlock();
  };
  return { h, miner, challenger, submissionId, challenge, verify, advanceTo };
}

/**
 * Challenge at `challengeAt`; the round-0 L2 verifier misses after `l2Wait` blocks waited; the
 * round-1 verifier is redrawn and, `escalateAfter` blocks later, agrees with the challenger; the
 * panel is drawn; the panel's seats miss, and the round-1 replacements are drawn too.
 */
function runDispute(run: string, challengeAt: bigint, escalateAfter: bigint) {
  const s = setup(run);
  const { h } = s;
  s.advanceTo(challengeAt);
  const id = s.challenge();
  const candidates = () => h.staking.validatorCandidates(h.state).filter((c) => c.stake > 0n);
  const candidatesL2 = candidates();
  h.nextBlock(); // L2 round 0 drawn
  const round0 = h.dispute(id).l2Verifier;
  s.advanceTo(h.dispute(id).nextActionHeight + 1n);
  h.nextBlock(); // round 0 missed, round 1 drawn
  const round1 = h.dispute(id).l2Verifier;
  s.advanceTo(h.height + escalateAfter);
  s.verify(round1, BAD);
  const candidatesL3 = candidates();
  h.nextBlock(); // panel drawn
  const panel0 = h.dispute(id).panel.map((seat) => seat.arbiter);
  s.advanceTo(h.dispute(id).nextActionHeight + 1n);
  h.nextBlock(); // nobody voted: seats missed, replacements drawn
  const dispute = h.dispute(id);
  const panel1 = dispute.panel.filter((seat) => seat.round === 1n).map((seat) => seat.arbiter);
  return { s, id, round0, round1, panel0, panel1, dispute, candidatesL2, candidatesL3 };
}

t.test('the L2 verifiers and L3 panels are the same whatever block the challenge and the escalation land in', (t) => {
  const a = runDispute('a', 12n, 1n);
  const b = runDispute('b', 57n, 4n);
  t.not(a.dispute.openedHeight, b.dispute.openedHeight, 'the challenges landed in different blocks');
  t.notSame(a.dispute.draws.map((d) => d.height), b.dispute.draws.map((d) => d.height), 'the draws happened at different heights');
  const beaconA = beaconLikeDrawer('a').seed(a.s.h.ctx());
  const beaconB = beaconLikeDrawer('b').seed(b.s.h.ctx());
  t.notSame(Buffer.from(beaconA), Buffer.from(beaconB), 'with different beacons in between');
  t.equal(a.id, b.id);
  t.equal(a.round0, b.round0, 'same L2 verifier, round 0');
  t.equal(a.round1, b.round1, 'same L2 verifier, round 1 (redraw)');
  t.not(a.round0, a.round1);
  t.same(a.panel0, b.panel0, 'same L3 panel');
  t.same(a.panel1, b.panel1, 'same L3 replacements');
  t.equal(a.panel0.length, 3);
  t.equal(a.panel1.length, 3);
  for (const { dispute } of [a, b]) {
    t.same(Buffer.from(dispute.submissionSeed), Buffer.from(SUBMISSION_SEED), 'the dispute keeps the submission seed');
    t.equal(dispute.draws.length, 4);
    for (const record of dispute.draws) t.same(Buffer.from(record.seed), Buffer.from(SUBMISSION_SEED), `${record.purpose} round ${record.round}: the submission seed is recorded`);
  }
  // Replay from the spec: draw({seed: submission seed, purpose, subject `${dispute}/${round}`, ...}).
  const miner = a.s.miner.address;
  const challenger = a.s.challenger.address;
  const [expected0] = draw({ seed: SUBMISSION_SEED, purpose: DRAW.l2Verifier, subjectId: `${a.id}/0`, candidates: a.candidatesL2, k: 1, exclusions: [miner, challenger] });
  t.equal(a.round0, expected0.id, 'replayable: L2 round 0');
  const expectedPanel = draw({
    seed: SUBMISSION_SEED, purpose: DRAW.l3Panel, subjectId: `${a.id}/0`, candidates: a.candidatesL3, k: 3, exclusions: [miner, challenger, a.round1, a.round0],
  });
  t.same(a.panel0, expectedPanel.map((c) => c.id), 'replayable: the panel');
  t.end();
});

t.test('the seed is stored for every scanned pending submission, sampled or not, in the block that included it', (t) => {
  const s = setup('x', { l1SampleBps: 5000n });
  const { h } = s;
  const more = [1, 2, 3, 4, 5, 6, 7].map((i) => h.training.submit(s.miner.address, 1n, testHash(`g${i}`), h.height));
  t.same(h.keeper.submissionSeed(h.state, s.submissionId), undefined, 'not before endBlock');
  h.nextBlock();
  const ids = [s.submissionId, ...more];
  const sampled = ids.filter((id) => h.keeper.l1Check(h.state, id) !== undefined);
  t.ok(sampled.length > 0 && sampled.length < ids.length, `some sampled (${sampled.length} of ${ids.length}), some not`);
  for (const id of ids) t.same(Buffer.from(h.keeper.submissionSeed(h.state, id) ?? []), Buffer.from(SUBMISSION_SEED), `submission ${id}`);
  for (const id of sampled) t.same(Buffer.from(h.keeper.l1Check(h.state, id)?.seed ?? []), Buffer.from(SUBMISSION_SEED), 'the L1 check has the same seed');
  t.end();
});

t.test('a challenge in the submission\'s own block: the seed is fixed in that block\'s endBlock, before the draw', (t) => {
  const s = setup('y');
  const { h } = s;
  const id = s.challenge();
  t.equal(h.dispute(id).submissionSeed.length, 0, 'not known yet while the block executes');
  h.nextBlock();
  const dispute = h.dispute(id);
  t.equal(dispute.stage, DisputeStage.DISPUTE_STAGE_L2_ANSWER);
  t.same(Buffer.from(dispute.submissionSeed), Buffer.from(SUBMISSION_SEED));
  t.same(Buffer.from(dispute.draws[0].seed), Buffer.from(SUBMISSION_SEED));
  t.end();
});

t.test('an L1 flag draws its panel with the submission seed', (t) => {
  const s = setup('z', { l1SampleBps: 10000n });
  const { h } = s;
  h.nextBlock();
  const check = h.keeper.l1Check(h.state, s.submissionId);
  if (check === undefined) throw new Error('expected an L1 check');
  s.advanceTo(15n);
  const { disputeId } = s.verify(check.verifier, BAD);
  h.nextBlock();
  const dispute = h.dispute(disputeId);
  t.equal(dispute.stage, DisputeStage.DISPUTE_STAGE_L3_VOTING);
  t.same(Buffer.from(dispute.draws[0].seed), Buffer.from(SUBMISSION_SEED));
  const candidates = h.staking.validatorCandidates(h.state).filter((c) => c.stake > 0n);
  const expected = draw({ seed: SUBMISSION_SEED, purpose: DRAW.l3Panel, subjectId: `${disputeId}/0`, candidates, k: 3, exclusions: [s.miner.address, check.verifier] });
  t.same(dispute.panel.map((seat) => seat.arbiter), expected.map((c) => c.id));
  t.end();
});

t.test('seeds are pruned once the challenge period is over; an open dispute keeps drawing with its copy', (t) => {
  const s = setup('p', { l2ResponseBlocks: 5n });
  const { h } = s;
  const second = h.training.submit(s.miner.address, 1n, testHash('second'), h.height);
  h.nextBlock();
  s.advanceTo(COMMIT_START - 1n);
  const id = s.challenge(); // the last block of the challenge period
  h.nextBlock(); // L2 round 0 drawn at COMMIT_START - 1, then (same endBlock) nothing pruned yet
  t.ok(h.keeper.submissionSeed(h.state, s.submissionId) !== undefined, 'kept through the last challengeable block');
  h.nextBlock(); // endBlock of COMMIT_START: pruned
  t.same(h.keeper.submissionSeed(h.state, s.submissionId), undefined, 'pruned at commit_start_height');
  t.same(h.keeper.submissionSeed(h.state, second), undefined, 'pruned (no dispute on it)');
  t.same([...h.keeper.submissionSeeds(h.state)], []);
  s.advanceTo(h.dispute(id).nextActionHeight + 1n);
  h.nextBlock(); // round 0 missed, round 1 drawn after pruning
  const dispute = h.dispute(id);
  t.equal(dispute.l2Round, 1n);
  t.equal(dispute.stage, DisputeStage.DISPUTE_STAGE_L2_ANSWER);
  t.same(dispute.draws.map((d) => Buffer.from(d.seed)), [Buffer.from(SUBMISSION_SEED), Buffer.from(SUBMISSION_SEED)], 'the redraw uses the submission seed');
  t.end();
});

t.test('pruning waits for the lowest submission still challengeable', (t) => {
  const s = setup('w');
  const { h } = s;
  h.nextBlock();
  h.training.openWindow(2n, 30n, BASE_REWARD); // a window that closes earlier
  const late = h.training.submit(s.miner.address, 2n, testHash('late'), h.height);
  h.nextBlock();
  s.advanceTo(40n);
  t.ok(h.keeper.submissionSeed(h.state, late) !== undefined, 'kept behind submission 1 (bounded by the longest challenge period)');
  h.training.submissionsById.get(s.submissionId)!.status = 'accepted';
  h.nextBlock();
  t.same([...h.keeper.submissionSeeds(h.state)], [], 'both pruned once submission 1 can no longer be challenged');
  t.end();
});

t.test('a scanned submission without a stored seed (older genesis) cannot be challenged: error 23', (t) => {
  const s = setup('g');
  const { h } = s;
  const genesis = exportGenesis(h.keeper, h.state);
  initGenesis(h.keeper, h.state, { ...genesis, nextScanSubmissionId: 2n, submissionSeeds: [] });
  h.height = 11n;
  const error = thrownError(() => s.challenge());
  t.equal(error?.codespace, 'verification');
  t.equal(error?.code, 23);
  t.equal(h.keeper.openDispute(h.state, s.submissionId), undefined, 'no dispute opened');
  t.end();
});

t.test('a dispute that reaches a draw without any seed is void, bond returned (defensive; genesis refuses it)', (t) => {
  const s = setup('v');
  const { h } = s;
  h.nextBlock();
  const id = s.challenge();
  const before = h.balance(s.challenger.bytes);
  h.keeper.setDispute(h.state, { ...h.dispute(id), submissionSeed: Buffer.alloc(0) });
  h.state.delete(concatBytes(utf8('verification/q/'), u64be(s.submissionId)));
  t.same(h.keeper.submissionSeed(h.state, s.submissionId), undefined, 'seed gone (state a valid genesis cannot produce)');
  h.nextBlock();
  const dispute = h.dispute(id);
  t.equal(dispute.outcome, DisputeOutcome.DISPUTE_OUTCOME_VOID);
  t.equal(h.balance(s.challenger.bytes), before + BOND, 'bond returned');
  t.same(dispute.draws, []);
  t.end();
});

t.test('genesis round trip with stored submission seeds and disputes holding theirs', (t) => {
  const s = setup('r', { l1SampleBps: 5000n });
  const { h } = s;
  for (let i = 0; i < 6; i++) h.training.submit(s.miner.address, 1n, testHash(`r${i}`), h.height);
  h.nextBlock();
  const id = s.challenge();
  h.nextBlock();
  h.training.submit(s.miner.address, 1n, testHash('later'), h.height);
  h.nextBlock();
  const exported = exportGenesis(h.keeper, h.state);
  t.equal(exported.submissionSeeds.length, 8, 'every scanned submission has a seed');
  t.same(exported.submissionSeeds.map((e) => e.submissionId), [1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n], 'sorted by submission id');
  t.same(Buffer.from(exported.submissionSeeds[7].seed), Buffer.from(sha256(utf8('beacon-r-12'))), 'the later submission has its own block\'s seed');
  t.same(Buffer.from(exported.disputes[0].submissionSeed), Buffer.from(SUBMISSION_SEED));
  const json = GenesisState.toJSON(exported);
  t.ok(Array.isArray((json as { submissionSeeds?: unknown }).submissionSeeds), 'submissionSeeds in the JSON');

  const fresh = verificationTestbed({ drawer: beaconLikeDrawer('r') });
  fresh.module.initGenesis(fresh.state, json);
  t.same(fresh.module.exportGenesis(fresh.state), json, 'exportGenesis(initGenesis(g)) = g');
  t.same(Buffer.from(fresh.keeper.submissionSeed(fresh.state, 3n) ?? []), Buffer.from(SUBMISSION_SEED));
  t.equal(fresh.keeper.openDispute(fresh.state, s.submissionId)?.id, id);

  const bad = (mutate: (g: GenesisState) => GenesisState, why: string) => {
    const other = verificationTestbed();
    const error = thrownError(() => other.module.initGenesis(other.state, GenesisState.toJSON(mutate(GenesisState.fromJSON(json)))));
    t.equal(error?.code, 3, why);
  };
  bad((g) => ({ ...g, submissionSeeds: [g.submissionSeeds[1], g.submissionSeeds[0]] }), 'unsorted seeds');
  bad((g) => ({ ...g, submissionSeeds: [g.submissionSeeds[0], g.submissionSeeds[0]] }), 'duplicate seeds');
  bad((g) => ({ ...g, submissionSeeds: [{ submissionId: g.nextScanSubmissionId, seed: Buffer.from(SUBMISSION_SEED) }] }), 'seed of an unscanned submission');
  bad((g) => ({ ...g, submissionSeeds: [{ submissionId: 1n, seed: Buffer.alloc(31) }] }), 'seed not 32 bytes');
  bad((g) => ({ ...g, disputes: g.disputes.map((d) => ({ ...d, submissionSeed: Buffer.alloc(0) })) }), 'open dispute without its submission seed');
  const resolvedOld = (g: GenesisState) => ({
    ...g, disputes: g.disputes.map((d) => ({ ...d, submissionSeed: Buffer.alloc(0), stage: DisputeStage.DISPUTE_STAGE_RESOLVED, outcome: DisputeOutcome.DISPUTE_OUTCOME_VOID })),
  });
  const other = verificationTestbed();
  t.equal(thrownError(() => other.module.initGenesis(other.state, GenesisState.toJSON(resolvedOld(GenesisState.fromJSON(json))))), undefined, 'a resolved dispute may predate submission seeds');
  const legacy = { ...(json as Record<string, unknown>) };
  delete legacy.submissionSeeds;
  const third = verificationTestbed();
  third.module.initGenesis(third.state, legacy);
  t.same([...third.keeper.submissionSeeds(third.state)], [], 'a genesis without submissionSeeds imports with none');
  t.end();
});
