/**
 * verification: an in-process simulation of 1,000 training windows, driving the keepers
 * directly (no ABCI). 12 miners, 3 of them cheaters (half their submissions carry a wrong
 * gradient hash, half of those also withhold the data); 10 validators, one a griefer that
 * always claims a mismatch and the rest honest but missing 10% of first-round tasks; a watcher
 * that challenges 40% of cheating submissions and a false challenger that challenges 3% of
 * honest ones. Checked at the end: every cheating submission whose work was checked (an L1
 * answer or a challenge) ended with its miner slashed and the submission rejected; no honest
 * miner was ever slashed; nothing held was accepted into aggregation; every slash followed an
 * L3 decision; supply = Σ balances = initial + minted − burned; the module account = open bonds.
 */
import t from 'tap';
import { ChainError } from '../../app/core/errors.ts';
import { MsgChallenge, MsgReportUnavailable } from '../../proto/gen/r3mes/verification/v1/tx.ts';
import { DisputeOutcome, DisputeStage, L1Status } from '../../proto/gen/r3mes/verification/v1/types.ts';
import { verificationErrors } from '../../modules/verification/errors.ts';
import { testAccount, testHash, verificationTestbed } from '../helpers/verification-testbed.ts';

const WINDOWS = 1000;
const WINDOW_EVERY = 4n;
const CHALLENGE_PERIOD = 16n;
const BASE_REWARD = 1000n;

/** mulberry32: a seeded PRNG, so every run is the same run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

t.test(`simulation: ${WINDOWS} windows with cheating miners and false challengers`, (t) => {
  const started = process.hrtime.bigint();
  const random = prng(20240601);
  const h = verificationTestbed({
    validators: [1000n, 1100n, 1200n, 1300n, 1400n, 1500n, 1600n, 1700n, 1800n, 1900n],
    params: { l1SampleBps: 2000n, l1ResponseBlocks: 2n, l2ResponseBlocks: 2n, l3VoteBlocks: 2n, revealBlocks: 2n, maxRedraws: 1n, trapSampleBps: 500n },
    jailBlocks: 8n,
  });
  const griefer = h.validators[9];
  // Lazy at L1 only: it answers every L1 check (trap checks included) with the claim it is shown.
  const lazy = h.validators[8];
  const miners = Array.from({ length: 12 }, (_, i) => ({ ...h.registerMiner(`miner-${i}`, 1_000_000n), cheater: i < 3 }));
  const watcher = testAccount('watcher');
  const falseChallenger = testAccount('false-challenger');
  h.fund(watcher.bytes, 10n ** 12n);
  h.fund(falseChallenger.bytes, 10n ** 12n);
  const initialSupply = h.supply();

  const truth = new Map<bigint, { hash: Buffer; cheat: boolean; withheld: boolean; miner: string }>();
  const checked = new Set<bigint>();
  const missDecisions = new Map<string, boolean>();
  const misses = (key: string, round: bigint) => {
    if (round > 0n) return false;
    let decision = missDecisions.get(key);
    if (decision === undefined) {
      decision = random() < 0.1;
      missDecisions.set(key, decision);
    }
    return decision;
  };
  let heldAtAggregation = 0;
  let challenges = 0;
  let falseChallenges = 0;
  const windowsByCommit = new Map<bigint, bigint>();
  const tryTx = (run: () => unknown): ChainError | undefined => {
    try {
      run();
      return undefined;
    } catch (error) {
      if (error instanceof ChainError) return error;
      throw error;
    }
  };
  const honestResult = (submissionId: bigint) => truth.get(submissionId)!.hash;

  const lastHeight = 2n + WINDOW_EVERY * BigInt(WINDOWS) + CHALLENGE_PERIOD + 2n;
  let windowId = 0n;
  let fresh: bigint[] = [];
  for (let height = 2n; height <= lastHeight; height++) {
    h.height = height;
    // Miners: a window opens every WINDOW_EVERY blocks; every miner not jailed submits once.
    if (windowId < BigInt(WINDOWS) && (height - 2n) % WINDOW_EVERY === 0n) {
      windowId += 1n;
      h.training.openWindow(windowId, height + CHALLENGE_PERIOD, BASE_REWARD);
      windowsByCommit.set(height + CHALLENGE_PERIOD, windowId);
      const submitted: bigint[] = [];
      for (const miner of miners) {
        const info = h.staking.miner(h.state, miner.bytes)!;
        if (info.jailed) {
          // A cheater slashed below min_miner_stake cannot unjail: it is out of the game.
          if (height >= info.jailedUntil) tryTx(() => h.tx((ctx) => h.staking.unjailMiner(ctx, miner.bytes)));
          continue;
        }
        const cheat = miner.cheater && random() < 0.5;
        const withheld = cheat && random() < 0.5;
        const id = h.training.nextId;
        const trueHash = testHash(`true-${id}`);
        h.training.submit(miner.address, windowId, cheat ? testHash(`cheat-${id}`) : trueHash, height);
        truth.set(id, { hash: trueHash, cheat, withheld, miner: miner.address });
        submitted.push(id);
      }
      fresh = submitted;
    } else if (fresh.length > 0) {
      // Challengers look at the previous block's submissions.
      for (const id of fresh) {
        const fact = truth.get(id)!;
        const challenger = fact.cheat ? (random() < 0.4 ? watcher : undefined) : (random() < 0.03 ? falseChallenger : undefined);
        if (challenger === undefined) continue;
        const error = tryTx(() => h.tx((ctx) => h.keeper.challenge(ctx, MsgChallenge.fromPartial({ challenger: challenger.address, submissionId: id, bond: '10000' }))));
        if (error !== undefined) {
          t.equal(error.code, verificationErrors.alreadyDisputed.code, 'a challenge fails only on an already flagged submission');
          continue;
        }
        challenges += 1;
        if (!fact.cheat) falseChallenges += 1;
        checked.add(id);
      }
      fresh = [];
    }

    // L1 verifiers (their trap checks come the same way: the duty view does not tell them apart):
    // commit in one block, reveal in a later one (an unavailability report needs no commitment).
    for (const verifier of h.validators) {
      for (const check of h.keeper.pendingChecksByVerifier(h.state, verifier).checks) {
        const id = check.submissionId;
        if (height > check.deadlineHeight || check.drawnHeight >= height) continue;
        if (verifier !== griefer && verifier !== lazy && misses(`l1:${verifier}:${id}:${check.drawnHeight}`, 0n)) continue;
        const fact = truth.get(id)!;
        if (verifier !== griefer && verifier !== lazy && fact.withheld) {
          h.tx((ctx) => h.keeper.reportUnavailable(ctx, MsgReportUnavailable.fromPartial({ reporter: verifier, submissionId: id })));
          checked.add(id);
          continue;
        }
        // The lazy verifier always "matches": it posts the claim it is shown, without re-executing.
        const result = verifier === griefer ? testHash(`grief-${id}`) : verifier === lazy ? Buffer.from(check.claimedHash) : honestResult(id);
        if (check.commitment.length === 0) h.commitAnswer(verifier, id, result);
        else if (check.commitHeight < height) {
          h.revealAnswer(verifier, id, result);
          if (verifier !== lazy) checked.add(id);
        }
      }
    }

    // L2 verifiers and L3 arbiters.
    for (const dispute of h.keeper.openDisputes(h.state)) {
      const id = dispute.submissionId;
      const fact = truth.get(id)!;
      if (dispute.stage === DisputeStage.DISPUTE_STAGE_L2_ANSWER) {
        const verifier = dispute.l2Verifier;
        if (verifier !== griefer && misses(`l2:${dispute.id}:${verifier}`, dispute.l2Round)) continue;
        if (verifier !== griefer && fact.withheld) {
          h.tx((ctx) => h.keeper.reportUnavailable(ctx, MsgReportUnavailable.fromPartial({ reporter: verifier, submissionId: id })));
        } else {
          const result = verifier === griefer ? testHash(`grief-${id}`) : honestResult(id);
          if (dispute.l2Commitment.length === 0) h.commitAnswer(verifier, id, result);
          else if (dispute.l2CommitHeight < height) h.revealAnswer(verifier, id, result);
        }
      } else if (dispute.stage === DisputeStage.DISPUTE_STAGE_L3_VOTING) {
        // Arbiters commit in one block; they reveal once every active seat has committed or the commit deadline has passed.
        const revealsOpen = height > dispute.commitDeadlineHeight || dispute.panel.every((s) => s.missed || s.commitment.length > 0);
        for (const seat of dispute.panel) {
          if (seat.missed || seat.voted) continue;
          if (h.keeper.dispute(h.state, dispute.id)!.stage === DisputeStage.DISPUTE_STAGE_RESOLVED) break;
          if (seat.arbiter !== griefer && misses(`l3:${dispute.id}:${seat.arbiter}`, seat.round)) continue;
          let vote: Uint8Array | 'unavailable';
          if (seat.arbiter === griefer) vote = testHash(`grief-${id}`);
          else if (fact.withheld) {
            if (!h.keeper.dispute(h.state, dispute.id)!.unavailableReported) {
              h.tx((ctx) => h.keeper.reportUnavailable(ctx, MsgReportUnavailable.fromPartial({ reporter: seat.arbiter, submissionId: id })));
            }
            vote = 'unavailable';
          } else vote = honestResult(id);
          if (seat.commitment.length === 0) {
            if (height <= dispute.commitDeadlineHeight) h.commitVote(dispute.id, seat.arbiter, vote);
          } else if (revealsOpen && seat.commitHeight < height) h.revealVote(dispute.id, seat.arbiter, vote);
        }
      }
    }

    // Training: a window's aggregation start accepts its pending, unheld submissions.
    const aggregating = windowsByCommit.get(height);
    if (aggregating !== undefined) {
      heldAtAggregation += h.training.startAggregation(aggregating, (id) => h.keeper.isHeld(h.state, id)).length;
    }

    h.endBlock();
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;

  const disputes = [...h.keeper.disputes(h.state)];
  const byOutcome = new Map<number, number>();
  for (const d of disputes) byOutcome.set(d.outcome, (byOutcome.get(d.outcome) ?? 0) + 1);
  t.equal(h.keeper.openDisputes(h.state).length, 0, 'every dispute resolved');
  t.equal(heldAtAggregation, 0, 'no window reached aggregation with a held submission');

  // Every cheating submission whose work was checked: its miner slashed in a dispute on it, the submission rejected.
  let cheatsChecked = 0;
  let cheatsUnchecked = 0;
  const slashedSubmissions = new Set(h.slashes.filter((s) => s.kind === 'miner').map((s) => h.dispute(BigInt(/dispute (\d+)/.exec(s.reason)![1])).submissionId));
  const problems: string[] = [];
  for (const [id, fact] of truth) {
    if (!fact.cheat) continue;
    if (!checked.has(id)) {
      cheatsUnchecked += 1;
      continue;
    }
    cheatsChecked += 1;
    const fault = h.keeper.submissionDisputes(h.state, id).some((d) => d.outcome === DisputeOutcome.DISPUTE_OUTCOME_MINER_AT_FAULT);
    if (!fault || !slashedSubmissions.has(id)) problems.push(`cheating submission ${id} checked but its miner not slashed`);
    if (h.training.submissionsById.get(id)?.status !== 'rejected') problems.push(`cheating submission ${id} not rejected`);
  }
  t.same(problems.slice(0, 5), [], 'every checked cheater slashed, every checked cheat rejected');
  for (const id of slashedSubmissions) if (!truth.get(id)!.cheat) problems.push(`honest submission ${id} led to a slash`);
  const honestMiners = miners.filter((m) => !m.cheater);
  for (const miner of honestMiners) {
    if (h.minerStake(miner.bytes) !== 1_000_000n) problems.push(`honest miner ${miner.address} lost stake`);
    if (h.slashes.some((s) => s.address === miner.address)) problems.push(`honest miner ${miner.address} slashed`);
  }
  t.same(problems, [], 'no honest miner ever slashed');
  for (const miner of miners.filter((m) => m.cheater)) t.ok(h.minerStake(miner.bytes) < 1_000_000n, `cheater ${miner.address} slashed`);
  t.ok(cheatsChecked > 100, `${cheatsChecked} cheats checked (${cheatsUnchecked} slipped through unchecked)`);
  t.ok(falseChallenges > 50, `${falseChallenges} false challenges of ${challenges}`);
  t.ok((byOutcome.get(DisputeOutcome.DISPUTE_OUTCOME_NO_FAULT) ?? 0) > 10, 'the griefer forced L3 no-fault decisions');
  t.ok((byOutcome.get(DisputeOutcome.DISPUTE_OUTCOME_CHALLENGE_REJECTED) ?? 0) > 10, 'false challenges rejected at L2');
  t.ok(h.validatorTokens(griefer) < 1900n, 'the griefer paid for its wrong results');
  t.same(h.invariants(initialSupply), [], 'no slash before an L3 decision; module account = open bonds; supply exact');
  t.equal(h.moduleBalance(), 0n);
  const seedProblems: string[] = [];
  for (const dispute of h.keeper.disputes(h.state)) {
    if (dispute.draws.some((d) => !Buffer.from(d.seed).equals(Buffer.from(dispute.submissionSeed)))) seedProblems.push(`dispute ${dispute.id} drew with another seed`);
  }
  t.same(seedProblems.slice(0, 5), [], 'every dispute draw used its submission\'s seed');
  const seedsLeft = [...h.keeper.submissionSeeds(h.state)].length;
  t.ok(seedsLeft < 100, `submission seeds pruned after the challenge period (${seedsLeft} of ${truth.size} left)`);
  // Trap checks: the lazy verifier is caught within a bounded number of windows, again and again;
  // no honest verifier ever fails one.
  const windowOf = (height: bigint) => (height - 2n) / WINDOW_EVERY + 1n;
  const trapFailures = h.slashes.filter((x) => x.reason.startsWith('verification trap-failed'));
  const lazyCaught = trapFailures.filter((x) => x.address === lazy);
  const traps = [...h.keeper.trapChecks(h.state)];
  t.ok(traps.length > 100, `${traps.length} trap checks issued`);
  t.ok(lazyCaught.length >= 5, `the always-match verifier failed ${lazyCaught.length} traps`);
  t.ok(lazyCaught.length > 0 && windowOf(lazyCaught[0].height) <= 100n, `first caught in window ${lazyCaught.length > 0 ? windowOf(lazyCaught[0].height) : '-'} (bound: 100)`);
  const gaps = lazyCaught.map((x, i) => windowOf(x.height) - (i === 0 ? 1n : windowOf(lazyCaught[i - 1].height)));
  const maxGap = gaps.reduce((m, g) => (g > m ? g : m), 0n);
  t.ok(maxGap <= 200n, `never more than ${maxGap} windows between two catches (bound: 200)`);
  t.same(trapFailures.filter((x) => x.address !== lazy && x.address !== griefer).map((x) => x.reason).slice(0, 5), [], 'no honest verifier ever failed a trap');
  const honestTraps = traps.filter((x) => x.check!.verifier !== lazy && x.check!.verifier !== griefer && x.check!.status !== L1Status.L1_STATUS_MISSED && x.check!.status !== L1Status.L1_STATUS_PENDING);
  t.ok(honestTraps.length > 50 && honestTraps.every((x) => x.check!.credited), `${honestTraps.length} traps answered by honest verifiers, all passed (and credited)`);
  t.ok(lazyCaught.every((x) => traps.some((trap) => trap.check!.verifier === lazy && x.reason.includes(`trap ${trap.trapId} `))), 'each penalty names a trap of the lazy verifier');
  t.comment(`traps: ${traps.length} issued, lazy caught ${lazyCaught.length} times, first in window ${windowOf(lazyCaught[0]?.height ?? 2n)}, max gap ${maxGap} windows`);
  t.comment(`${WINDOWS} windows, ${truth.size} submissions, ${disputes.length} disputes ${JSON.stringify(Object.fromEntries(byOutcome))}, ` +
    `minted ${h.minted}, burned ${h.burned()}, ${seconds.toFixed(1)} s`);
  t.ok(seconds < 60, `under a minute (${seconds.toFixed(1)} s)`);
  t.end();
});
