// `r3mes-worker watch --key K`: anyone can be the watcher. Each pass looks at the submissions still
// in their challenge period (PENDING, h < window.commit_start_height), re-executes a share of them
// and challenges (MsgChallenge, bond = challenge_bond_multiplier × the window's base reward) those
// whose recomputed gradient hash differs from the submitted one.
//
// Which submissions: HMAC-SHA256(watcher secret, "r3mes/watch/v1/" ‖ submission id) read as a
// number mod 10000 < share (bps). The secret stays on the watcher's disk, so a miner cannot tell
// which of its submissions a given watcher checks, and the choice is the same after a restart.
// `--miner` narrows the watch to some miners (the share applies among them).
//
// When: a submission whose challenge period would end before a re-execution (the longest of the
// last ones measured, in blocks at the block rate observed) plus two blocks could finish is
// skipped, and said so; one whose re-execution ended too late is not challenged.
//
// Never twice: every decision is written to `<home>/worker/watch-journal.json` under the
// submission id (match, skipped, late, the challenge tx with its signed bytes BEFORE the
// broadcast); a submission with an entry is never re-executed or challenged again, and a
// challenge still `signed` after a restart is looked up by hash and, unknown within the challenge
// period, sent again as the same bytes.

import type { ChunkTokens } from '../data/chunk.ts';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { SubmissionStatus } from '@r3mes/client';
import type { Dispute, SignedTx, Submission, VerificationWriter, Window } from '../chain/client.ts';
import type { TrainBackend } from '../backend.ts';
import type { ContentStore } from '../storage/content-store.ts';
import type { BaseStates } from './base-state.ts';
import { readJournalFile, writeJsonAtomic } from './journal.ts';
import type { LoadedModel } from './model.ts';
import type { WorkerStats } from './stats.ts';
import { recomputeSubmission } from './verify.ts';

export const DEFAULT_SHARE_BPS = 1000;
/** Blocks kept in hand beyond the estimated re-execution: one to include the challenge, one spare. */
export const MARGIN_BLOCKS = 2n;
/** How many windows back from the current one may still be in their challenge period. */
export const DEFAULT_LOOKBACK_WINDOWS = 4;

// ---- selection -------------------------------------------------------------------------------

/** "10%", "2.5%", "250bps", or a bare number of percent → basis points (0…10000). */
export function parseShare(text: string): number {
  const bps = /^([0-9]+)bps$/.exec(text);
  if (bps) {
    const v = Number(bps[1]);
    if (v <= 10_000) return v;
  }
  const pct = /^([0-9]+)(?:\.([0-9]{1,2}))?%?$/.exec(text);
  if (pct) {
    const v = Number(pct[1]) * 100 + Number((pct[2] ?? '').padEnd(2, '0'));
    if (v <= 10_000) return v;
  }
  throw new Error(`--share must be a percentage ("10%", "2.5%", at most 2 decimals) or basis points ("250bps"), between 0 and 100%, got "${text}"`);
}

/** Whether this watcher re-executes the submission: HMAC(secret, id) mod 10000 < share. */
export function isSelected(secret: Uint8Array, submissionId: bigint, shareBps: number): boolean {
  if (shareBps >= 10_000) return true;
  const mac = hmac(sha256, secret, new TextEncoder().encode(`r3mes/watch/v1/${submissionId}`));
  const draw = new DataView(mac.buffer, mac.byteOffset, 8).getBigUint64(0) % 10_000n;
  return draw < BigInt(shareBps);
}

/** The watcher's secret (32 bytes, hex in a file of mode 0600), created on first use. */
export async function loadWatchSecret(path: string): Promise<Uint8Array> {
  let text: string | undefined;
  try {
    text = (await readFile(path, 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (text === undefined) {
    await mkdir(dirname(path), { recursive: true });
    const secret = randomBytes(32);
    try {
      await writeFile(path, `${secret.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
      return new Uint8Array(secret);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      text = (await readFile(path, 'utf8')).trim(); // another process made it first
    }
  }
  if (!/^[0-9a-f]{64}$/i.test(text)) throw new Error(`watch secret ${path} must hold 64 hex digits (32 bytes)`);
  return new Uint8Array(Buffer.from(text, 'hex'));
}

// ---- timing ----------------------------------------------------------------------------------

/** Block rate and re-execution time, as this watcher has seen them. Wall-clock: nothing here is hashed. */
export class WatchClock {
  private first?: { height: bigint; ms: number };
  private last?: { height: bigint; ms: number };
  private readonly jobs: number[] = [];

  constructor(private readonly defaultBlockSeconds = 1, private readonly now: () => number = Date.now) {}

  observe(height: bigint): void {
    const o = { height, ms: this.now() };
    this.first ??= o;
    this.last = o;
  }

  /** seconds per block: observed once at least 2 blocks went by, else the default */
  blockSeconds(): number {
    if (!this.first || !this.last || this.last.height - this.first.height < 2n) return this.defaultBlockSeconds;
    return Math.max(0.05, (this.last.ms - this.first.ms) / 1000 / Number(this.last.height - this.first.height));
  }

  recordJob(seconds: number): void {
    this.jobs.push(seconds);
    if (this.jobs.length > 5) this.jobs.shift();
  }

  /** the longest of the last five re-executions (0 before the first) */
  jobSeconds(): number {
    return this.jobs.length === 0 ? 0 : Math.max(...this.jobs);
  }

  /** blocks a re-execution and its challenge need from now */
  blocksNeeded(): bigint {
    return BigInt(Math.ceil(this.jobSeconds() / this.blockSeconds())) + MARGIN_BLOCKS;
  }
}

// ---- journal ---------------------------------------------------------------------------------

export type WatchVerdict = 'match' | 'mismatch' | 'skipped' | 'late' | 'disputed';

export interface WatchEntry {
  /** decimal strings, as on chain */
  readonly submission: string;
  readonly miner: string;
  readonly window: string;
  /** the last height at which a challenge is accepted (commit_start_height − 1) */
  readonly deadline: string;
  readonly verdict: WatchVerdict;
  /** hex of the recomputed gradient hash */
  readonly resultHash?: string;
  readonly note?: string;
  /** a challenge: signed (bytes journaled, maybe sent) → included | failed */
  readonly status?: 'signed' | 'included' | 'failed';
  readonly bond?: string;
  readonly txhash?: string;
  readonly txBytes?: string;
  readonly disputeId?: string;
  readonly height?: string;
  readonly error?: string;
}

export class WatchJournal {
  private constructor(readonly path: string, private readonly entries: Map<string, WatchEntry>) {}

  static async open(path: string): Promise<WatchJournal> {
    const data = await readJournalFile<{ version: 1; entries: WatchEntry[] }>(path, 'watch journal');
    return new WatchJournal(path, new Map((data?.entries ?? []).map((e) => [e.submission, e])));
  }

  get(submissionId: bigint): WatchEntry | undefined {
    return this.entries.get(submissionId.toString());
  }

  all(): WatchEntry[] {
    return [...this.entries.values()];
  }

  async record(entry: WatchEntry): Promise<WatchEntry> {
    this.entries.set(entry.submission, entry);
    await writeJsonAtomic(this.path, { version: 1, entries: this.all() });
    return entry;
  }
}

// ---- one pass --------------------------------------------------------------------------------

export interface WatchReader {
  height(): Promise<bigint>;
  currentWindow(): Promise<Window | undefined>;
  window(windowId: bigint): Promise<Window>;
  windowSubmissions(windowId: bigint): Promise<Submission[]>;
  openDisputes(): Promise<Dispute[]>;
  verificationParams(): Promise<{ challengeBondMultiplier: bigint }>;
  txResult(txhash: string): Promise<{ code: number; height: bigint; rawLog: string } | undefined>;
}

export interface WatchDeps {
  readonly chain: WatchReader;
  readonly writer: Pick<VerificationWriter, 'address' | 'signChallenge' | 'broadcast'>;
  readonly store: ContentStore;
  readonly journal: WatchJournal;
  readonly backend: TrainBackend;
  readonly loadModel: (version: bigint) => Promise<LoadedModel>;
  readonly chunkAt: (index: bigint, windowId: bigint) => ChunkTokens | Promise<ChunkTokens>;
  readonly bases?: BaseStates;
  readonly secret: Uint8Array;
  readonly shareBps: number;
  /** watch only these miners (empty or absent: everyone) */
  readonly miners?: ReadonlySet<string>;
  readonly clock: WatchClock;
  readonly lookbackWindows?: number;
  readonly stats?: WorkerStats;
  readonly log: (line: string) => void;
  readonly onStep?: (s: number, n: number, tokens: number, seconds: number) => void;
  /** submissions already told about (not selected, unavailable, disputed): one line each, not one a pass; keep it across passes */
  readonly told: Set<string>;
}

export interface WatchOutcome {
  readonly submissionId: bigint;
  readonly miner: string;
  /** match / mismatch / skipped / late / disputed / unavailable */
  readonly verdict: string;
  /** challenged / resent / none / failed */
  readonly action: string;
  readonly txhash?: string;
  readonly disputeId?: bigint;
}

const short = (addr: string) => (addr.length > 16 ? `${addr.slice(0, 12)}…` : addr);
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
const pct = (bps: number) => `${bps / 100}%`;

/** Broadcasts a journaled challenge and records what happened to it. */
async function send(deps: WatchDeps, entry: WatchEntry, tx: SignedTx): Promise<WatchEntry> {
  try {
    const out = await deps.writer.broadcast(tx);
    deps.stats?.recordSubmission(out.code !== 0 ? 'refused' : 'accepted');
    if (out.code !== 0) return deps.journal.record({ ...entry, status: 'failed', error: out.rawLog, height: out.height.toString() });
    return deps.journal.record({ ...entry, status: 'included', height: out.height.toString(), disputeId: out.disputeId?.toString() });
  } catch (err) {
    deps.stats?.recordSubmission('failed');
    // Left `signed`: the next pass asks the chain about this tx hash before anything else.
    deps.log(`submission ${entry.submission}: broadcast of challenge ${tx.txhash} failed (${(err as Error).message}); will look it up next pass`);
    return deps.journal.record({ ...entry, error: (err as Error).message });
  }
}

/** A challenge still `signed`: ask the chain by hash; unknown and within the period → the same bytes again. */
async function settleSigned(deps: WatchDeps, entry: WatchEntry): Promise<WatchEntry> {
  const tx = await deps.chain.txResult(entry.txhash!);
  if (tx) return deps.journal.record({ ...entry, status: tx.code === 0 ? 'included' : 'failed', height: tx.height.toString(), error: tx.code === 0 ? undefined : tx.rawLog });
  if ((await deps.chain.height()) > BigInt(entry.deadline)) return deps.journal.record({ ...entry, status: 'failed', error: 'never seen on chain within the challenge period' });
  deps.log(`submission ${entry.submission}: challenge ${entry.txhash} not on chain yet; sending the same bytes again`);
  return send(deps, entry, { txBytes: new Uint8Array(Buffer.from(entry.txBytes!, 'base64')), txhash: entry.txhash! });
}

/** The windows that may still hold challengeable submissions: the current one and a few before it. */
async function challengeableWindows(deps: WatchDeps, height: bigint): Promise<Window[]> {
  const current = await deps.chain.currentWindow();
  if (!current) return [];
  const out: Window[] = [];
  const lookback = BigInt(deps.lookbackWindows ?? DEFAULT_LOOKBACK_WINDOWS);
  for (let id = current.id; id >= 1n && id > current.id - lookback; id--) {
    const w = id === current.id ? current : await deps.chain.window(id).catch(() => undefined);
    if (w && height < w.commitStartHeight) out.push(w);
  }
  return out.reverse();
}

/**
 * One pass: settle journaled challenges; then, for every submission still challengeable that this
 * watcher selects and has not decided on, re-execute it (if there is time) and challenge a mismatch.
 */
export async function watchPass(deps: WatchDeps): Promise<WatchOutcome[]> {
  const { chain, journal, log, clock, stats } = deps;
  const { told } = deps;
  const tell = (key: string, line: string) => {
    if (told.has(key)) return;
    told.add(key);
    log(line);
  };
  for (const e of journal.all().filter((x) => x.status === 'signed')) await settleSigned(deps, e);
  const height = await chain.height();
  clock.observe(height);
  const windows = await challengeableWindows(deps, height);
  if (stats && windows.length > 0) stats.window = windows[windows.length - 1]!.id.toString();
  const outcomes: WatchOutcome[] = [];
  let disputed: Set<bigint> | undefined;
  const isDisputed = async (id: bigint, fresh = false) => {
    if (!disputed || fresh) disputed = new Set((await chain.openDisputes()).map((d) => d.submissionId));
    return disputed.has(id);
  };
  for (const w of windows) {
    const subs = (await chain.windowSubmissions(w.id)).slice().sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    for (const sub of subs) {
      const key = sub.id.toString();
      if (sub.status !== SubmissionStatus.SUBMISSION_STATUS_PENDING || sub.miner === deps.writer.address) continue;
      if (deps.miners && deps.miners.size > 0 && !deps.miners.has(sub.miner)) continue;
      if (journal.get(sub.id)) continue; // decided already (this run or an earlier one)
      const who = `submission ${sub.id} (window ${w.id}, miner ${short(sub.miner)})`;
      if (!told.has(`seen/${key}`)) {
        told.add(`seen/${key}`);
        stats?.count('seen');
      }
      if (!isSelected(deps.secret, sub.id, deps.shareBps)) {
        if (!told.has(`not/${key}`)) stats?.count('notSelected');
        tell(`not/${key}`, `${who}: not in this watcher's ${pct(deps.shareBps)} share`);
        continue;
      }
      const deadline = w.commitStartHeight - 1n;
      const base = { submission: key, miner: sub.miner, window: w.id.toString(), deadline: deadline.toString() };
      if (await isDisputed(sub.id)) {
        tell(`disputed/${key}`, `${who}: already disputed; not re-executed`);
        outcomes.push({ submissionId: sub.id, miner: sub.miner, verdict: 'disputed', action: 'none' });
        continue;
      }
      const now = await chain.height();
      const need = clock.blocksNeeded();
      if (now + need > deadline) {
        await journal.record({ ...base, verdict: 'skipped', note: `at height ${now} a re-execution needs ~${need} blocks; the challenge period ends after ${deadline}` });
        stats?.count('skippedLate');
        log(`${who}: skipped: its challenge period ends at height ${deadline}, a re-execution from ${now} needs ~${need} blocks (~${clock.jobSeconds().toFixed(1)} s at ${clock.blockSeconds().toFixed(2)} s/block + ${MARGIN_BLOCKS})`);
        outcomes.push({ submissionId: sub.id, miner: sub.miner, verdict: 'skipped', action: 'none' });
        continue;
      }
      log(`${who}: selected (${pct(deps.shareBps)} share); re-executing chunk ${sub.chunkIndex}, challenge period until height ${deadline}`);
      if (stats) Object.assign(stats, { status: `re-executing submission ${sub.id}`, chunk: sub.chunkIndex.toString() });
      stats?.count('selected');
      const t0 = process.hrtime.bigint();
      const r = await recomputeSubmission({
        submission: sub, store: deps.store, backend: deps.backend, loadModel: deps.loadModel, chunkAt: deps.chunkAt, bases: deps.bases, onStep: deps.onStep,
      });
      if (stats) stats.status = 'watching';
      if (r.kind === 'unavailable') {
        // Not journaled: the store may deliver it on a later pass, while the period lasts.
        if (!told.has(`unavailable/${key}`)) stats?.count('unavailable');
        tell(`unavailable/${key}`, `${who}: CID ${sub.gradientCid} unavailable (${r.reason}); will try again next pass`);
        told.delete(`seen/${key}`);
        outcomes.push({ submissionId: sub.id, miner: sub.miner, verdict: 'unavailable', action: 'none' });
        continue;
      }
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      clock.recordJob(seconds);
      stats?.recordReexecution('watch', seconds);
      stats?.count('reexecuted');
      const mine = bytesToHex(r.resultHash);
      const theirs = bytesToHex(sub.gradientHash);
      if (mine === theirs) {
        await journal.record({ ...base, verdict: 'match', resultHash: mine });
        stats?.count('matches');
        log(`${who}: re-executed: match`);
        outcomes.push({ submissionId: sub.id, miner: sub.miner, verdict: 'match', action: 'none' });
        continue;
      }
      stats?.count('mismatches');
      const after = await chain.height();
      if (after > deadline) {
        await journal.record({ ...base, verdict: 'late', resultHash: mine, note: `re-execution ended at height ${after}, after the challenge period (${deadline})` });
        stats?.count('late');
        log(`${who}: re-executed: MISMATCH (${mine.slice(0, 12)}… ≠ submitted ${theirs.slice(0, 12)}…), but the challenge period ended at height ${deadline} (now ${after}): not challenged`);
        outcomes.push({ submissionId: sub.id, miner: sub.miner, verdict: 'late', action: 'none' });
        continue;
      }
      if (await isDisputed(sub.id, true)) {
        await journal.record({ ...base, verdict: 'disputed', resultHash: mine, note: 'disputed by someone else meanwhile' });
        log(`${who}: re-executed: MISMATCH, but someone else disputed it meanwhile: not challenged`);
        outcomes.push({ submissionId: sub.id, miner: sub.miner, verdict: 'mismatch', action: 'none' });
        continue;
      }
      const bond = (await chain.verificationParams()).challengeBondMultiplier * BigInt(w.baseReward || '0');
      log(`${who}: re-executed: MISMATCH (${mine.slice(0, 12)}… ≠ submitted ${theirs.slice(0, 12)}…): challenging with a bond of ${bond}ur3mes`);
      const tx = await deps.writer.signChallenge(sub.id, bond);
      let entry = await journal.record({ ...base, verdict: 'mismatch', resultHash: mine, status: 'signed', bond: bond.toString(), txhash: tx.txhash, txBytes: b64(tx.txBytes) });
      entry = await send(deps, entry, tx); // journaled (durable) BEFORE the broadcast
      if (entry.status === 'included') {
        stats?.count('challenged');
        if (stats) stats.lastTxhash = tx.txhash;
        log(`${who}: challenged → dispute ${entry.disputeId ?? '?'} (tx ${tx.txhash})`);
      } else if (entry.status === 'failed') {
        log(`${who}: challenge refused: ${entry.error}`);
      }
      outcomes.push({
        submissionId: sub.id, miner: sub.miner, verdict: 'mismatch', action: entry.status === 'included' ? 'challenged' : entry.status === 'failed' ? 'failed' : 'sent',
        txhash: tx.txhash, disputeId: entry.disputeId !== undefined ? BigInt(entry.disputeId) : undefined,
      });
    }
  }
  return outcomes;
}
