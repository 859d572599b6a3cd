/**
 * `npm run devnet -- --cheater --cheat-mode middle-step`: a second miner tampers the state after the
 * middle step of each job and trains on from it (`train --cheat middle-step`: a consistent trace
 * with one wrong transition); the
 * devnet's watcher (`r3mes-worker watch --share 100%`, no key to suspect) re-executes every
 * submission and challenges the mismatches; the dispute goes L2 (a drawn validator re-executes and agrees
 * with the challenger) → bisection (the cheater reveals state hashes with trace proofs, the watcher
 * agrees or disagrees) down to the tampered step → L3 (a panel of the remaining validator
 * re-executes exactly that one step and votes fault) → the cheater is
 * slashed and jailed, the challenger gets its bond back plus the minted bounty. The honest miner is
 * never slashed and is paid. Supply stays exact. Checked against the chain (REST and every block's
 * results through CometBFT RPC), and the story lines the user reads are checked too.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { rpcCall } from '../helpers/localnet.ts';
import { type AbciEvent, DENOM, amountOf, attrs, processesMentioning, sleep, startDevnetRun } from '../helpers/devnet-run.ts';

const BOUND_MS = 5 * 60_000;

// The dispute (L2 then L3) is bounded by BOUND_MS; the scan and the stop need a little more than tap's 300 s.
t.setTimeout(BOUND_MS + 2 * 60_000);

t.test('npm run devnet -- --cheater --cheat-mode middle-step: challenged, L2, bisected to the tampered step, L3 on one step, slashed and jailed; the challenger is paid; supply exact', async (t) => {
  const started = Date.now();
  const run = await startDevnetRun(t, ['--cheater', '--cheat-mode', 'middle-step'], 'r3mes-devnet-cheater-');
  const { devnet, home, rpcUrl, rest } = run;
  // The app's committed height: the state REST reads (CometBFT's status may run a block ahead of it).
  const height = async () => BigInt((await rpcCall<{ response: { last_block_height?: string } }>(rpcUrl, 'abci_info')).response.last_block_height ?? '0');

  // --- Wait (bounded) for a dispute settled against the cheater and a paid honest window.
  while (!(/dispute \d+ resolved: miner-at-fault/.test(run.output) && /miner r3mes1\S+ \+70 R3MES \(miner\)/.test(run.output))) {
    if (devnet.exitCode !== null) throw new Error(`the devnet exited (${devnet.exitCode}):\n${run.output}`);
    if (Date.now() - started > BOUND_MS) throw new Error(`no dispute settled against the cheater (and paid honest window) within ${BOUND_MS / 1000} s:\n${run.output}`);
    await sleep(1000);
  }
  const settledAfter = (Date.now() - started) / 1000;
  const addresses = Object.fromEntries(['validator', 'miner', 'verifier', 'cheater', 'watcher'].map((role) =>
    [role, (JSON.parse(readFileSync(join(home, `${role}.json`), 'utf8')) as { address: string }).address])) as Record<string, string>;
  const { miner, cheater, watcher } = addresses as { miner: string; cheater: string; watcher: string };

  // --- A consistent snapshot at one height.
  type Snap = { h: bigint; watcher: bigint; miner: bigint; supply: bigint; cheaterRecord: { stake: string; jailed?: boolean } };
  let snap: Snap | undefined;
  const balance = async (addr: string) => BigInt((await rest<{ balances: Array<{ denom: string; amount: string }> }>(`/cosmos/bank/v1beta1/balances/${addr}`)).balances.find((c) => c.denom === DENOM)?.amount ?? '0');
  for (let tries = 0; snap === undefined && tries < 30; tries++) {
    const h = await height();
    const [w, m, supply, record] = await Promise.all([
      balance(watcher), balance(miner),
      rest<{ supply: Array<{ denom: string; amount: string }> }>('/cosmos/bank/v1beta1/supply'),
      rest<{ miner: { stake: string; jailed?: boolean } }>(`/r3mes/staking/v1/miners/${cheater}`),
    ]);
    if ((await height()) === h) snap = { h, watcher: w, miner: m, supply: BigInt(supply.supply.find((c) => c.denom === DENOM)?.amount ?? '0'), cheaterRecord: record.miner };
  }
  if (snap === undefined) throw new Error('could not read balances and supply at one height');

  // --- Every block up to the snapshot.
  let minted = 0n;
  let burned = 0n;
  const fees: Record<string, bigint> = {};
  const stakes: Record<string, bigint> = {};
  const minerRewards: bigint[] = [];
  const cheaterSubmissions = new Set<string>();
  const opened = new Map<string, { submission: string; challenger?: string; origin?: string; bond: bigint }>();
  const resolved = new Map<string, Record<string, string | undefined>>();
  const seen: Record<string, Array<Record<string, string | undefined>>> = {};
  const slashes: Array<Record<string, string | undefined>> = [];
  for (let h = 1n; h <= snap.h; h++) {
    const results = await rpcCall<{ finalize_block_events?: AbciEvent[]; txs_results?: Array<{ code: number; events?: AbciEvent[] }> | null }>(rpcUrl, 'block_results', { height: h.toString() });
    const txEvents = (results.txs_results ?? []).filter((tx) => tx.code === 0).flatMap((tx) => tx.events ?? []);
    for (const e of (results.txs_results ?? []).flatMap((tx) => (tx.events ?? []).filter((x) => x.type === 'tx'))) {
      const payer = attrs(e).fee_payer ?? '';
      fees[payer] = (fees[payer] ?? 0n) + amountOf(attrs(e).fee);
    }
    for (const e of [...(results.finalize_block_events ?? []), ...txEvents]) {
      const a = attrs(e);
      (seen[e.type] ??= []).push(a);
      if (e.type === 'coinbase') minted += amountOf(a.amount);
      if (e.type === 'burn') burned += amountOf(a.amount);
      if (e.type === 'register_miner') stakes[a.miner!] = amountOf(a.stake);
      if (e.type === 'reward_payout' && a.recipient === miner && a.role === 'miner') minerRewards.push(amountOf(a.amount));
      if (e.type === 'submission' && a.miner === cheater) cheaterSubmissions.add(a.id!);
      if (e.type === 'dispute_opened') opened.set(a.dispute!, { submission: a.submission!, challenger: a.challenger, origin: a.origin, bond: amountOf(a.bond) });
      if (e.type === 'dispute_resolved') resolved.set(a.dispute!, a);
      if (e.type === 'slash') slashes.push(a);
    }
  }

  // --- Challenged, L2, L3, resolved against the cheater.
  t.ok(opened.size >= 1, `${opened.size} dispute(s) opened`);
  for (const [id, d] of opened) {
    t.ok(cheaterSubmissions.has(d.submission), `dispute ${id} is on a submission of the cheater (${d.submission})`);
    t.equal(d.origin, 'challenge', `dispute ${id} opened by a challenge`);
    t.equal(d.challenger, watcher, `dispute ${id} challenged by the watcher`);
  }
  const settled = [...resolved.keys()];
  t.ok(settled.length >= 1, `${settled.length} dispute(s) resolved`);
  const { params: vparams } = await rest<{ params: { minerSlashFraction: string; challengeBondMultiplier: string; bountyMultiplier: string } }>('/r3mes/verification/v1/params');
  // The cheater's train loop exits once it is jailed (by its first lost dispute): a later dispute
  // on its submissions ends when it misses a bisection move — also MINER_AT_FAULT, without a panel.
  const abandoned = settled.filter((id) => /^bisection: the miner did not reveal/.test(resolved.get(id)!.reason ?? ''));
  for (const id of abandoned) {
    t.equal(resolved.get(id)!.outcome, 'miner-at-fault', `dispute ${id}: the cheater stopped answering and lost`);
    t.ok((seen.bisect_missed ?? []).some((x) => x.dispute === id && x.party === cheater && x.role === 'miner'), `dispute ${id}: bisect_missed by the cheater`);
  }
  t.ok(settled.length - abandoned.length >= 1, `${settled.length - abandoned.length} dispute(s) decided by a one-step panel`);
  for (const id of settled.filter((x) => !abandoned.includes(x))) {
    const r = resolved.get(id)!;
    t.equal(r.outcome, 'miner-at-fault', `dispute ${id}: miner at fault`);
    t.equal(r.miner, cheater, `dispute ${id}: the cheater lost`);
    t.ok((seen.verifier_drawn ?? []).some((x) => x.dispute === id && x.verifier !== cheater && x.verifier !== watcher), `dispute ${id}: an L2 verifier was drawn (neither miner nor challenger)`);
    t.ok((seen.verifier_answer ?? []).some((x) => x.dispute === id && x.agrees_with === 'challenger'), `dispute ${id}: the L2 verifier re-executed and agreed with the challenger`);
    t.ok((seen.bisection_started ?? []).some((x) => x.dispute === id && x.miner === cheater && x.disputer === watcher), `dispute ${id}: bisection between the cheater and the watcher`);
    // The worker's default job: 2 steps, the middle one (1) tampered: reveals of 2, 0, 1; the interval ends [0, 1].
    t.same((seen.bisect_reveal ?? []).filter((x) => x.dispute === id).map((x) => x.step), ['2', '0', '1'], `dispute ${id}: the cheater revealed steps n = 2, 0, then the midpoint 1`);
    t.same((seen.bisect_answer ?? []).filter((x) => x.dispute === id).map((x) => `${x.step}:${x.agree}:${x.status}`), ['2:false:bisecting', '0:true:bisecting', '1:false:one-step'],
      `dispute ${id}: the watcher disputed the last state, agreed on the base, disputed the tampered step: one step`);
    t.ok((seen.dispute_escalated ?? []).some((x) => x.dispute === id && /one step, 0 → 1/.test(x.reason ?? '')), `dispute ${id}: escalated to L3 on the one step 0 → 1`);
    const dispute = (await rest<{ dispute: { bisectOneStep?: boolean; bisectLo?: string; bisectHi?: string } }>(`/r3mes/verification/v1/disputes/${id}`)).dispute;
    t.ok(dispute.bisectOneStep === true && (dispute.bisectLo ?? '0') === '0' && dispute.bisectHi === '1', `dispute ${id}: the panel re-executed exactly step 0 → 1`);
    const panel = (seen.panel_drawn ?? []).find((x) => x.dispute === id);
    t.ok(panel, `dispute ${id}: an L3 panel was drawn`);
    const l2 = (seen.verifier_drawn ?? []).filter((x) => x.dispute === id).map((x) => x.verifier);
    t.notOk((panel?.arbiters ?? '').split(',').some((x) => l2.includes(x) || x === cheater || x === watcher), `dispute ${id}: the panel excludes the L2 verifier, the miner and the challenger`);
    t.ok((seen.arbiter_vote ?? []).some((x) => x.dispute === id && x.vote === 'fault'), `dispute ${id}: an arbiter voted fault`);
    const window = (await rest<{ submission: { windowId: string } }>(`/r3mes/training/v1/submissions/${opened.get(id)!.submission}`)).submission.windowId;
    const { window: w } = await rest<{ window: { baseReward: string } }>(`/r3mes/training/v1/windows/${window}`);
    t.equal(amountOf(r.bounty), BigInt(w.baseReward) * BigInt(vparams.bountyMultiplier), `dispute ${id}: bounty = bounty_multiplier × base reward`);
    t.ok(opened.get(id)!.bond >= BigInt(w.baseReward) * BigInt(vparams.challengeBondMultiplier), `dispute ${id}: bond ≥ multiplier × base reward`);
  }

  // --- The cheater: slashed by the slash fraction once per lost dispute, and jailed.
  const [num, den] = (() => { const [i, f = ''] = vparams.minerSlashFraction.split('.'); return [BigInt(i! + f), 10n ** BigInt(f.length)]; })();
  let expectedStake = stakes[cheater] ?? 0n;
  const cheaterSlashes = slashes.filter((s) => s.address === cheater);
  t.equal(cheaterSlashes.length, settled.length, 'the cheater is slashed once per lost dispute');
  for (let i = 0; i < cheaterSlashes.length; i++) expectedStake -= (expectedStake * num) / den;
  t.ok(expectedStake < (stakes[cheater] ?? 0n), 'the cheater\'s stake went down');
  t.equal(BigInt(snap.cheaterRecord.stake), expectedStake, `the cheater's miner stake = registered × (1 − ${vparams.minerSlashFraction}) per slash`);
  t.equal(snap.cheaterRecord.jailed, true, 'the cheater is jailed');

  // --- The challenger: bond back and the bounty, minus its fees.
  const genesis = JSON.parse(readFileSync(join(home, 'config', 'genesis.json'), 'utf8')) as {
    app_state: { bank: { balances: Array<{ address: string; coins: Array<{ denom: string; amount: string }> }> } };
  };
  const genesisBalance = (address: string) => BigInt(genesis.app_state.bank.balances.find((b) => b.address === address)?.coins.find((c) => c.denom === DENOM)?.amount ?? '0');
  const openBonds = [...opened].filter(([id]) => !resolved.has(id)).reduce((s, [, d]) => s + d.bond, 0n);
  const bounties = settled.reduce((s, id) => s + amountOf(resolved.get(id)!.bounty), 0n);
  t.ok(bounties > 0n, 'a bounty was paid');
  // The L2 verifier's fee comes out of the bond (whatever the verifier answered); a settled bond comes back without it.
  const l2Fees = (seen.l2_verifier_paid ?? []).filter((x) => resolved.has(x.dispute!)).reduce((s, x) => s + amountOf(x.amount), 0n);
  t.ok(l2Fees > 0n, 'the L2 verifiers were paid their fee');
  t.equal(snap.watcher, genesisBalance(watcher) - (fees[watcher] ?? 0n) - openBonds - l2Fees + bounties,
    'challenger balance = genesis − fees − L2 fees + bounties (settled bonds returned; bonds of still-open disputes held)');

  // --- The honest miner: never slashed, an accepted submission, paid.
  t.same(slashes.filter((s) => s.address === miner), [], 'the honest miner is never slashed');
  t.ok(minerRewards.length >= 1, 'the honest miner was paid for a window');
  const minerRecord = await rest<{ miner: { stake: string; jailed?: boolean } }>(`/r3mes/staking/v1/miners/${miner}`);
  t.equal(BigInt(minerRecord.miner.stake), stakes[miner], 'the honest miner keeps its whole stake');
  t.notOk(minerRecord.miner.jailed, 'the honest miner is not jailed');
  t.equal(snap.miner, genesisBalance(miner) - stakes[miner]! - (fees[miner] ?? 0n) + minerRewards.reduce((s, x) => s + x, 0n), 'miner balance = genesis − stake − fees + rewards');
  t.ok((seen.submission ?? []).some((s) => s.miner === miner), 'the honest miner submitted');

  // --- Supply: exact.
  const genesisSupply = genesis.app_state.bank.balances.flatMap((b) => b.coins).filter((c) => c.denom === DENOM).reduce((s, c) => s + BigInt(c.amount), 0n);
  t.equal(snap.supply, genesisSupply + minted - burned, `total supply = genesis ${genesisSupply} + minted ${minted} − burned ${burned}`);

  // --- The story the user reads.
  // The watcher is `r3mes-worker watch --share 100%`: it knows no suspect, re-executes every submission.
  t.match(run.output, /watcher +watching as r3mes1\S+: 100% of the submissions of every miner/, 'log: the watcher watches everyone');
  t.match(run.output, /watcher +submission \d+ \(window \d+, miner r3mes1\S+\): re-executed: match/, 'log: the watcher re-executes an honest submission: match, no challenge');
  t.match(run.output, /watcher +submission \d+ \(window \d+, miner r3mes1\S+\): re-executed: MISMATCH \(\w+… ≠ submitted \w+…\): challenging with a bond of \d+ur3mes/, 'log: the watcher re-executes the cheater\'s submission and challenges');
  t.match(run.output, /watcher +submission \d+ .*: challenged → dispute \d+ \(tx [0-9A-F]+\)/, 'log: the challenge is in a block');
  t.match(run.output, /dispute \d+ opened on submission \d+ of cheater .* \(challenge by watcher/, 'story: dispute opened');
  t.match(run.output, /L2: dispute \d+: (validator|verifier) \S+ drawn to re-execute/, 'story: L2 verifier drawn');
  t.match(run.output, /L2: dispute \d+: .* agrees with the challenger/, 'story: L2 answer');
  t.match(run.output, /bisection: dispute \d+: cheater \S+ reveals state hashes, watcher \S+ agrees or disagrees/, 'story: bisection');
  t.match(run.output, /bisection: dispute \d+: stateHash_1 disputed: narrowed to one step/, 'story: narrowed to the tampered step');
  t.match(run.output, /L3 vote in dispute \d+ .*: one step 0 → 1 re-executed/, 'log: the arbiter re-executed one step');
  t.match(run.output, /dispute \d+ escalated to L3/, 'story: escalation');
  t.match(run.output, /L3: dispute \d+: panel /, 'story: panel drawn');
  t.match(run.output, /L3: dispute \d+: .* voted fault/, 'story: arbiter vote');
  t.match(run.output, /slashed miner cheater .*jailed/, 'story: slash');
  t.match(run.output, /dispute \d+ resolved: miner-at-fault .* bounty [\d.]+ R3MES to watcher/, 'story: resolution and bounty');
  t.notMatch(run.output, /verifier: NOT started/, 'the verifier is started');

  // --- Ctrl-C: everything stops.
  const code = await run.stop();
  t.equal(code, 0, 'the devnet exits 0 on SIGTERM');
  await sleep(500);
  t.same(processesMentioning(home), [], 'no process of the devnet survives');
  t.comment(`${settled.length} dispute(s) settled against the cheater after ${settledAfter.toFixed(0)} s (height ${snap.h})`);
});
