// The watcher against an in-memory chain and a real content store: which submissions it picks
// (a secret share, stable, unpredictable without the secret), an honest delta matches and a
// `train --cheat` delta is challenged with the chain's bond, nothing is re-executed or challenged
// twice (also across a restart), late submissions are skipped, and a lost broadcast is resent as
// the same bytes.
import t, { type Test } from 'tap';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuBackend } from '../src/backend.ts';
import { type Dispute, type SignedTx, type Submission, txHashOf, type Window } from '../src/chain/client.ts';
import { chunkHash } from '../src/data/chunk.ts';
import type { ModelConfig } from '../src/model/config.ts';
import { adapterDelta, encodeDelta } from '../src/output/delta.ts';
import type { ModelIdentity } from '../src/output/metadata.ts';
import { runTrainingJob } from '../src/roles/job.ts';
import { tamperDelta } from '../src/roles/miner-cheat.ts';
import { loadModel } from '../src/roles/model.ts';
import { WorkerStats } from '../src/roles/stats.ts';
import { isSelected, loadWatchSecret, parseShare, WatchClock, type WatchDeps, WatchJournal, watchPass, type WatchReader } from '../src/roles/watch.ts';
import { FileBlockstore } from '../src/storage/blockstore.ts';
import { Dispute as DisputeProto, SubmissionStatus, Window as WindowProto } from '@r3mes/client';

const ME = 'r3mes1watcher';
const HONEST = 'r3mes1honest';
const CHEATER = 'r3mes1cheater';
const cfg: ModelConfig = { vocab: 256, dModel: 16, nLayers: 1, nHeads: 2, dFF: 16, seqLen: 16, loraRank: 4, seed: new Uint8Array(32).fill(3) };
const identity: ModelIdentity = { version: 1n, backbone: { seed: cfg.seed }, cfg };
const chunk = Uint8Array.from({ length: 2048 }, (_, i) => 97 + ((i * 7 + (i >> 5)) % 26));
const backend = cpuBackend();
const model = await loadModel(identity);
const job = await runTrainingJob({ model, chunk, steps: 2, lr: 256, backend });
const info = {
  model: identity, miner: HONEST, window: 1n, ordinal: 0n, chunkIndex: 0n, chunkHash: chunkHash(chunk), backend: 'cpu', lr: 256,
  stepHashes: job.stepHashes, lossBefore: job.lossBefore, lossAfter: job.lossAfter,
};
const honest = await encodeDelta(adapterDelta(job.initial, job.final), info);
const cheat = await encodeDelta(tamperDelta(adapterDelta(job.initial, job.final)), { ...info, miner: CHEATER });

function submission(id: bigint, miner: string, file: typeof honest, window = 1n): Submission {
  return {
    id, miner, windowId: window, subnet: 0n, modelVersion: 1n, gradientCid: file.cid.toString(), gradientHash: Buffer.from(file.gradientHash), traceRoot: Buffer.from(file.traceRoot),
    chunkIndex: 0n, ordinal: 0n, lossBefore: 0n, lossAfter: 0n, backend: 'cpu', height: 2n, status: SubmissionStatus.SUBMISSION_STATUS_PENDING, rejectReason: '', exclusionReason: 0,
  };
}
const window = (id: bigint, commitStartHeight: bigint): Window => WindowProto.fromPartial({ id, commitStartHeight, baseReward: '1000000' });

/** An in-memory chain; `height` moves by `tick` after each call of height() when asked. */
function fakeChain(opts: { subs: Submission[]; windows: Window[]; disputes?: Dispute[]; height?: bigint; tick?: bigint }) {
  let height = opts.height ?? 10n;
  const sent: SignedTx[] = [];
  const signed: string[] = [];
  const landed = new Map<string, { code: number; height: bigint; rawLog: string }>();
  let failNext = false;
  const chain: WatchReader = {
    height: async () => {
      const h = height;
      height += opts.tick ?? 0n;
      return h;
    },
    currentWindow: async () => opts.windows[opts.windows.length - 1],
    window: async (id) => {
      const w = opts.windows.find((x) => x.id === id);
      if (!w) throw new Error(`window ${id} not found`);
      return w;
    },
    windowSubmissions: async (id) => opts.subs.filter((s) => s.windowId === id),
    openDisputes: async () => opts.disputes ?? [],
    verificationParams: async () => ({ challengeBondMultiplier: 10n }),
    txResult: async (h) => landed.get(h),
  };
  const writer: WatchDeps['writer'] = {
    address: ME,
    signChallenge: async (id, bond) => {
      const txBytes = new TextEncoder().encode(JSON.stringify({ type: 'challenge', submission: id.toString(), bond: bond.toString(), n: signed.length }));
      signed.push(id.toString());
      return { txBytes, txhash: txHashOf(txBytes) };
    },
    broadcast: async (tx) => {
      sent.push(tx);
      if (failNext) {
        failNext = false;
        throw new Error('chain node http://127.0.0.1:26657 is unreachable (broadcast) after 5 attempts: socket hang up');
      }
      landed.set(tx.txhash, { code: 0, height, rawLog: '' });
      return { txhash: tx.txhash, height, code: 0, rawLog: '', disputeId: 7n };
    },
  };
  return { chain, writer, sent, signed, failNext: () => { failNext = true; }, setHeight: (h: bigint) => { height = h; } };
}

async function deps(t: Test, c: ReturnType<typeof fakeChain>, over: Partial<WatchDeps> = {}): Promise<WatchDeps & { lines: string[]; steps: () => number; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'r3mes-watch-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const store = await FileBlockstore.open(join(dir, 'store'));
  await store.put(honest.bytes);
  await store.put(cheat.bytes);
  const lines: string[] = [];
  let steps = 0;
  return {
    chain: c.chain, writer: c.writer, store, journal: await WatchJournal.open(join(dir, 'watch-journal.json')), backend,
    loadModel: async () => model, chunkAt: () => chunk, secret: new Uint8Array(32).fill(9), shareBps: 10_000, clock: new WatchClock(),
    log: (l) => lines.push(l), lines, onStep: () => { steps++; }, steps: () => steps, dir, stats: new WorkerStats(), told: new Set(), ...over,
  };
}

t.test('--share: percent or basis points', async (t) => {
  t.equal(parseShare('10%'), 1000);
  t.equal(parseShare('2.5%'), 250);
  t.equal(parseShare('100%'), 10_000);
  t.equal(parseShare('250bps'), 250);
  t.equal(parseShare('7'), 700, 'a bare number is percent');
  for (const bad of ['101%', '10001bps', '-1%', '1.234%', 'ten', '']) t.throws(() => parseShare(bad), `${JSON.stringify(bad)} refused`);
});

t.test('selection: the secret decides; about the share; stable; 0% none, 100% all', async (t) => {
  const a = new Uint8Array(32).fill(1);
  const b = new Uint8Array(32).fill(2);
  const ids = Array.from({ length: 4000 }, (_, i) => BigInt(i + 1));
  const pick = (s: Uint8Array, bps: number) => ids.filter((id) => isSelected(s, id, bps));
  const ten = pick(a, 1000);
  t.ok(ten.length > 330 && ten.length < 470, `10%: ${ten.length} of 4000`);
  t.same(pick(a, 1000), ten, 'the same secret picks the same submissions (a restart changes nothing)');
  const other = pick(b, 1000);
  t.ok(other.filter((id) => ten.includes(id)).length < ten.length / 3, 'another secret picks other submissions');
  t.ok(pick(a, 2000).length > ten.length && ten.every((id) => isSelected(a, id, 2000)), 'a larger share picks a superset');
  t.equal(pick(a, 0).length, 0);
  t.equal(pick(a, 10_000).length, ids.length);
});

t.test('the secret: created once (mode 0600), then read back', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'r3mes-watch-secret-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'worker', 'watch-secret');
  const s1 = await loadWatchSecret(path);
  t.equal(s1.length, 32);
  t.same(await loadWatchSecret(path), s1, 'stable across restarts');
  const { statSync } = await import('node:fs');
  t.equal(statSync(path).mode & 0o777, 0o600);
});

t.test('100%: the honest delta matches, the cheat is challenged with multiplier × base reward; never twice, also after a restart', async (t) => {
  const c = fakeChain({ subs: [submission(1n, HONEST, honest), submission(2n, CHEATER, cheat), submission(3n, ME, cheat)], windows: [window(1n, 40n)] });
  const d = await deps(t, c);
  const out = await watchPass(d);
  t.same(out.map((o) => [o.submissionId, o.verdict, o.action]), [[1n, 'match', 'none'], [2n, 'mismatch', 'challenged']], 'its own submission is not watched');
  t.equal(out[1]!.disputeId, 7n);
  t.same(c.signed, ['2'], 'one challenge signed');
  t.equal(c.sent.length, 1);
  t.match(new TextDecoder().decode(c.sent[0]!.txBytes), /"bond":"10000000"/, 'bond = challenge_bond_multiplier (10) × base reward (1000000)');
  t.match(d.lines.join('\n'), /submission 2 \(window 1, miner r3mes1cheater\): re-executed: MISMATCH .*challenging with a bond of 10000000ur3mes/);
  t.match(d.lines.join('\n'), /submission 2 .*: challenged → dispute 7/);
  t.same(d.stats!.snapshot().counters, { seen: 2, selected: 2, reexecuted: 2, matches: 1, mismatches: 1, challenged: 1 });
  t.equal(d.steps(), 4, 'two jobs of two steps');

  t.same(await watchPass(d), [], 'second pass: nothing to do');
  t.equal(d.steps(), 4, 'nothing re-executed again');
  const restarted = { ...d, journal: await WatchJournal.open(join(d.dir, 'watch-journal.json')), clock: new WatchClock(), told: new Set<string>() };
  t.same(await watchPass(restarted), [], 'after a restart: nothing re-executed or challenged again');
  t.same(c.signed, ['2']);
  const journal = JSON.parse(await readFile(join(d.dir, 'watch-journal.json'), 'utf8')) as { entries: Array<{ submission: string; verdict: string; status?: string }> };
  t.same(journal.entries.map((e) => [e.submission, e.verdict, e.status]), [['1', 'match', undefined], ['2', 'mismatch', 'included']]);
});

t.test('--miner narrows the watch; a share leaves the others alone, and says so once', async (t) => {
  const subs = [submission(1n, HONEST, honest), submission(2n, CHEATER, cheat)];
  const c = fakeChain({ subs, windows: [window(1n, 40n)] });
  const d = await deps(t, c, { miners: new Set([CHEATER]) });
  t.same((await watchPass(d)).map((o) => o.submissionId), [2n], 'only the cheater\'s submission');
  const secret = new Uint8Array(32).fill(9);
  // A share and ids where the draw says no for submission 1.
  const share = 5000;
  const notPicked = [1n, 2n, 3n, 4n, 5n, 6n].find((id) => !isSelected(secret, id, share))!;
  const c2 = fakeChain({ subs: [submission(notPicked, CHEATER, cheat)], windows: [window(1n, 40n)] });
  const d2 = await deps(t, c2, { shareBps: share, secret });
  t.same(await watchPass(d2), []);
  await watchPass(d2);
  t.equal(d2.steps(), 0, 'not re-executed');
  t.equal(d2.lines.filter((l) => /not in this watcher's 50% share/.test(l)).length, 1, 'told once, not once a pass');
});

t.test('timing: too close to the end of the challenge period → skipped (journaled); finished too late → not challenged', async (t) => {
  // A re-execution measured at 30 s, blocks of 1 s: 32 blocks needed; the period ends at height 29.
  const c = fakeChain({ subs: [submission(2n, CHEATER, cheat)], windows: [window(1n, 30n)], height: 10n });
  const clock = new WatchClock();
  clock.recordJob(30);
  const d = await deps(t, c, { clock });
  const out = await watchPass(d);
  t.same(out.map((o) => o.verdict), ['skipped']);
  t.equal(d.steps(), 0, 'not re-executed');
  t.match(d.lines.join('\n'), /submission 2 .*: skipped: its challenge period ends at height 29, a re-execution from 10 needs ~32 blocks/);
  t.same(await watchPass(d), [], 'decided: not looked at again');

  // Estimated in time (no measurement yet), but the chain moved past the period during the re-execution.
  const c2 = fakeChain({ subs: [submission(2n, CHEATER, cheat)], windows: [window(1n, 16n)], height: 10n, tick: 3n });
  const d2 = await deps(t, c2);
  const out2 = await watchPass(d2);
  t.same(out2.map((o) => [o.verdict, o.action]), [['late', 'none']]);
  t.same(c2.signed, [], 'no challenge after the period');
  t.match(d2.lines.join('\n'), /MISMATCH .*but the challenge period ended at height 15/);

  // Windows past their challenge period are not looked at at all.
  const c3 = fakeChain({ subs: [submission(2n, CHEATER, cheat)], windows: [window(1n, 10n)], height: 10n });
  const d3 = await deps(t, c3);
  t.same(await watchPass(d3), []);
});

t.test('already disputed: not re-executed; a lost broadcast is resent as the same bytes, never re-signed', async (t) => {
  const disputes = [DisputeProto.fromPartial({ id: 1n, submissionId: 2n })];
  const c = fakeChain({ subs: [submission(2n, CHEATER, cheat)], windows: [window(1n, 40n)], disputes });
  const d = await deps(t, c);
  t.same((await watchPass(d)).map((o) => o.verdict), ['disputed']);
  t.equal(d.steps(), 0);

  const c2 = fakeChain({ subs: [submission(2n, CHEATER, cheat)], windows: [window(1n, 40n)] });
  const d2 = await deps(t, c2);
  c2.failNext();
  const out = await watchPass(d2);
  t.same(out.map((o) => o.action), ['sent'], 'sent, outcome unknown');
  t.match(d2.lines.join('\n'), /broadcast of challenge [0-9A-F]+ failed .*socket hang up.*will look it up next pass/);
  // Restart: the journal has it `signed`; the chain does not know it; still within the period.
  const restarted = { ...d2, journal: await WatchJournal.open(join(d2.dir, 'watch-journal.json')), told: new Set<string>() };
  t.same(await watchPass(restarted), [], 'nothing new');
  t.same(c2.signed, ['2'], 'signed once');
  t.equal(c2.sent.length, 2, 'sent twice');
  t.equal(c2.sent[0]!.txhash, c2.sent[1]!.txhash, 'the same bytes');
  t.equal(restarted.journal.get(2n)?.status, 'included');
  t.same(await watchPass(restarted), []);
  t.equal(c2.sent.length, 2, 'and not again');
});
