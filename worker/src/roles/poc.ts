// Proof-of-Compute on chain (modules/poc README; SPEC §14): the three duties a worker plays in an
// epoch, each one pass of a role loop, every transaction journaled before it is broadcast and
// never signed twice.
//  - miner: in the submission phase, compute this node's nonces, keep the claims below r_target
//    and send them once as MsgSubmitPocBatch (at most max_claims_per_batch);
//  - verifier: for each check (a sampled claim or a trap nonce) drawn to this key, recompute the
//    distance and, in the commit window, send MsgPocCommit with SHA-256 of it and a fresh salt (the
//    salt and distance journaled first); in the reveal window, send MsgPocVerdict opening it
//    (modules/poc README "Verifier commit-reveal": disagreements go to the L3 panel);
//  - arbiter: for each open PoC dispute with an unvoted seat of this key, recompute the distance
//    and send MsgPocArbiterVote.
// Distances are SPEC §14 integers: any honest device gets the claimed distance exactly, so a
// verdict is a comparison, not a statistic.

import { randomBytes } from 'node:crypto';
import { pocCommitment, type pocTypes } from '@r3mes/client';
import { buildClaimBatch, type Claim } from '../poc/claims.ts';
import type { PocDims } from '../poc/compute.ts';
import { parseSeedHex } from '../poc/compute.ts';
import { NonceIterator } from '../poc/nonce.ts';
import type { SignedTx, TxOutcome } from '../chain/client.ts';
import { sharedComputeThread } from '../train/thread.ts';
import { readJournalFile, writeJsonAtomic } from './journal.ts';

type Epoch = pocTypes.Epoch;
type Check = pocTypes.Check;
type Dispute = pocTypes.Dispute;

export interface PocChainReader {
  height(): Promise<bigint>;
  /** The current (or latest) epoch with id 0; a given one otherwise; undefined when none. */
  pocEpoch(id?: bigint): Promise<Epoch | undefined>;
  /** Every sampled claim of an epoch (all pages). */
  pocChecks(epoch: bigint): Promise<Check[]>;
  pocDispute(id: bigint): Promise<Dispute | undefined>;
}

export interface PocChainWriter {
  readonly address: string;
  signSubmitPocBatch(epoch: bigint, claims: readonly Claim[]): Promise<SignedTx>;
  /** One tx of several commitments / reveals (all applied or none). */
  signPocCommits(items: ReadonlyArray<{ epoch: bigint; miner: string; nonce: bigint; commitment: Uint8Array }>): Promise<SignedTx>;
  signPocVerdicts(items: ReadonlyArray<{ epoch: bigint; miner: string; nonce: bigint; distance: bigint; salt: Uint8Array }>): Promise<SignedTx>;
  signPocArbiterVote(disputeId: bigint, distance: bigint): Promise<SignedTx>;
  broadcast(tx: SignedTx): Promise<TxOutcome>;
}

/** A journal entry; a commitment's also keeps the distance and salt its reveal needs (hex, decimal). */
export interface PocJournalEntry { txhash: string; status: string; salt?: string; distance?: string }

/** Durable record of what was signed: written (atomically) before each broadcast. */
export interface PocJournal {
  get(key: string): PocJournalEntry | undefined;
  put(key: string, entry: PocJournalEntry): Promise<void>;
}

interface PocJournalFile { version: 1; entries: Array<{ key: string } & PocJournalEntry> }

/** The PoC journal as a JSON file (`<home>/worker/poc-journal.json`). */
export class PocFileJournal implements PocJournal {
  private constructor(readonly path: string, private readonly entries: Map<string, PocJournalEntry>) {}

  static async open(path: string): Promise<PocFileJournal> {
    const data = await readJournalFile<PocJournalFile>(path, 'PoC journal', () => true);
    return new PocFileJournal(path, new Map((data?.entries ?? []).map(({ key, ...entry }) => [key, entry])));
  }

  get(key: string): PocJournalEntry | undefined {
    return this.entries.get(key);
  }

  async put(key: string, entry: PocJournalEntry): Promise<void> {
    this.entries.set(key, entry);
    await writeJsonAtomic(this.path, { version: 1, entries: [...this.entries].map(([k, e]) => ({ key: k, ...e })) } satisfies PocJournalFile);
  }
}

/** SPEC §14 distances of `nonces` for an epoch (the compute thread, or in process in tests). */
export type DistanceFn = (seed: Uint8Array, dims: PocDims, nonces: readonly bigint[]) => Promise<bigint[]>;

/** The distances on the shared compute thread: off the event loop. */
export const threadDistances: DistanceFn = async (seed, dims, nonces) => (await sharedComputeThread().poc(seed, dims, nonces)).distances;

export interface PocDeps {
  readonly chain: PocChainReader;
  readonly writer: PocChainWriter;
  readonly journal: PocJournal;
  readonly distances: DistanceFn;
  readonly log: (line: string) => void;
}

export function dimsOf(epoch: Epoch): PocDims {
  const m = epoch.model;
  if (!m) throw new Error(`PoC epoch ${epoch.id} names no model`);
  return { dModel: Number(m.dModel), nLayers: Number(m.nLayers), nHeads: Number(m.nHeads), dFF: Number(m.dFf), seqLen: Number(m.seqLen) };
}

/** Sends a signed tx once: journaled as `signed` first, then `included` (or the refusal). */
async function sendOnce(deps: PocDeps, key: string, sign: () => Promise<SignedTx>): Promise<{ action: 'sent' | 'already-sent' | 'refused'; txhash: string; outcome?: TxOutcome }> {
  const known = deps.journal.get(key);
  if (known) return { action: 'already-sent', txhash: known.txhash };
  const tx = await sign();
  await deps.journal.put(key, { txhash: tx.txhash, status: 'signed' });
  const outcome = await deps.writer.broadcast(tx);
  await deps.journal.put(key, { txhash: tx.txhash, status: outcome.code === 0 ? 'included' : `refused ${outcome.code}` });
  return { action: outcome.code === 0 ? 'sent' : 'refused', txhash: tx.txhash, outcome };
}

/** Most verifier answers in one tx. */
export const ANSWERS_PER_TX = 50;

/**
 * Sends one tx for several journal keys, once: each key journaled `signed` (with its `keep`)
 * before the broadcast, then `included` or the refusal. Keys already journaled are left out.
 */
async function sendBatchOnce<T>(deps: PocDeps, items: readonly T[], keyOf: (item: T) => string, keep: (item: T) => Omit<PocJournalEntry, 'txhash' | 'status'>,
  sign: (items: readonly T[]) => Promise<SignedTx>): Promise<{ action: 'sent' | 'refused'; txhash: string; outcome: TxOutcome; items: T[] } | undefined> {
  const todo = items.filter((item) => !deps.journal.get(keyOf(item)));
  if (todo.length === 0) return undefined;
  const tx = await sign(todo);
  for (const item of todo) await deps.journal.put(keyOf(item), { ...keep(item), txhash: tx.txhash, status: 'signed' });
  const outcome = await deps.writer.broadcast(tx);
  for (const item of todo) await deps.journal.put(keyOf(item), { ...keep(item), txhash: tx.txhash, status: outcome.code === 0 ? 'included' : `refused ${outcome.code}` });
  return { action: outcome.code === 0 ? 'sent' : 'refused', txhash: tx.txhash, outcome, items: todo };
}

/**
 * A miner's nonces of an epoch on several compute groups (`poc-mine --devices`): every computed
 * claim (all distances), each group walking its own iterator (node_id, group_id) of seed 004 and
 * `count` split over the groups — with `count` a multiple of the groups, the same nonces (so the
 * same claims) as one group.
 */
export type MineFn = (seed: Uint8Array, dims: PocDims, o: { nodeId: number; nNodes: number; count: number; rTarget: bigint }) => Promise<Claim[]>;

export interface MinerOptions {
  /** This node's place among the nodes sharing the nonce space (seed 004's iterator). */
  readonly nodeId: number;
  readonly nNodes: number;
  /** Nonces computed per epoch. */
  readonly count: number;
  /** Compute on device groups instead of `deps.distances` on one iterator. */
  readonly mine?: MineFn;
  /** DEMO ONLY: claim this distance for the first claim instead of the computed one. */
  readonly forgeFirst?: bigint;
}

export type PocMinerOutcome =
  | { kind: 'no-epoch' | 'not-submitting' }
  | { kind: 'submitted' | 'already-sent' | 'refused' | 'nothing-below-target'; epoch: bigint; claims: number; computed: number; txhash?: string };

/** The miner's duty: one batch per epoch, in its submission phase. */
export async function pocMinerPass(deps: PocDeps, opts: MinerOptions): Promise<PocMinerOutcome> {
  const epoch = await deps.chain.pocEpoch();
  if (!epoch) return { kind: 'no-epoch' };
  const height = await deps.chain.height();
  if (epoch.phase !== 1 || height >= epoch.submitEndHeight) return { kind: 'not-submitting' };
  const key = `poc-batch/${epoch.id}`;
  const known = deps.journal.get(key);
  if (known) return { kind: 'already-sent', epoch: epoch.id, claims: 0, computed: 0, txhash: known.txhash };
  const seed = parseSeedHex(epoch.seed);
  let computed: Claim[];
  if (opts.mine) {
    computed = await opts.mine(seed, dimsOf(epoch), { nodeId: opts.nodeId, nNodes: opts.nNodes, count: opts.count, rTarget: epoch.rTarget });
  } else {
    const it = new NonceIterator({ nodeId: opts.nodeId, nNodes: opts.nNodes, groupId: 0, nGroups: 1 });
    const nonces = Array.from({ length: opts.count }, (_, i) => it.at(BigInt(i)));
    const distances = await deps.distances(seed, dimsOf(epoch), nonces);
    computed = nonces.map((nonce, i) => ({ nonce, distance: distances[i]! }));
  }
  let claims = buildClaimBatch(computed, epoch.rTarget).claims.slice(0, Number(epoch.maxClaimsPerBatch));
  if (opts.forgeFirst !== undefined && claims.length > 0) {
    claims = [{ nonce: claims[0]!.nonce, distance: opts.forgeFirst }, ...claims.slice(1)];
    deps.log(`poc: DEMO: claiming distance ${opts.forgeFirst} for nonce ${claims[0]!.nonce} (computed ${computed.find((c) => c.nonce === claims[0]!.nonce)!.distance})`);
  }
  if (claims.length === 0) return { kind: 'nothing-below-target', epoch: epoch.id, claims: 0, computed: computed.length };
  const r = await sendOnce(deps, key, () => deps.writer.signSubmitPocBatch(epoch.id, claims));
  deps.log(`poc: epoch ${epoch.id}: ${claims.length} of ${computed.length} nonces below r_target ${epoch.rTarget} → ${r.action}${r.outcome && r.outcome.code !== 0 ? ` (${r.outcome.rawLog})` : ''}`);
  return { kind: r.action === 'sent' ? 'submitted' : r.action, epoch: epoch.id, claims: claims.length, computed: computed.length, txhash: r.txhash };
}

export interface PocDutyOutcome {
  readonly kind: 'commit' | 'verdict' | 'arbiter-vote';
  /** The check is a trap (a nonce the miner did not claim; `claimed` is 0). */
  readonly trap?: boolean;
  readonly epoch: bigint;
  readonly miner: string;
  readonly nonce: bigint;
  readonly claimed: bigint;
  readonly recomputed: bigint;
  readonly action: 'sent' | 'already-sent' | 'refused';
  readonly disputeId?: bigint;
}

/** The epochs whose checks may still be answered: the current one and the one before it. */
async function recentEpochs(chain: PocChainReader): Promise<Epoch[]> {
  const current = await chain.pocEpoch();
  if (!current) return [];
  const previous = current.id > 1n ? await chain.pocEpoch(current.id - 1n) : undefined;
  return previous ? [previous, current] : [current];
}

export interface VerifyOptions {
  /**
   * DEMO ONLY (the e2e's lazy verifier): compute nothing, commit the miner's claimed distance for
   * a claim and 0 for a trap. Caught at L3 whenever an honest co-verifier answers the same check.
   */
  readonly lazyCopy?: boolean;
}

/**
 * The verifier's duty, one pass: commitments for the checks drawn to this key in the commit window
 * (recomputed in one batch), reveals of its journaled commitments in the reveal window; up to
 * ANSWERS_PER_TX answers per tx.
 */
export async function pocVerifyPass(deps: PocDeps, opts: VerifyOptions = {}): Promise<PocDutyOutcome[]> {
  const out: PocDutyOutcome[] = [];
  const height = await deps.chain.height();
  const me = deps.writer.address;
  for (const epoch of await recentEpochs(deps.chain)) {
    if (epoch.phase !== 2 || height >= epoch.endHeight) continue;
    const mine = (await deps.chain.pocChecks(epoch.id)).filter((c) => c.status === 1 && c.answers.some((a) => a.verifier === me && !a.revealed && !a.missed));
    const key = (kind: string, c: Check) => `${kind}/${epoch.id}/${c.miner}/${c.nonce}`;
    const committedOnChain = (c: Check) => c.answers.find((a) => a.verifier === me)!.commitment.length !== 0;
    const report = (kind: 'commit' | 'verdict', c: Check, distance: bigint, action: PocDutyOutcome['action']) =>
      out.push({ kind, trap: c.trap, epoch: epoch.id, miner: c.miner, nonce: c.nonce, claimed: c.claimedDistance, recomputed: distance, action });
    if (height < epoch.revealHeight) {
      const todo = mine.filter((c) => !committedOnChain(c) && !deps.journal.get(key('poc-commit', c)));
      if (todo.length === 0) continue;
      const recomputed = opts.lazyCopy ? todo.map((c) => (c.trap ? 0n : c.claimedDistance)) : await deps.distances(parseSeedHex(epoch.seed), dimsOf(epoch), todo.map((c) => c.nonce));
      const answers = todo.map((check, i) => {
        const distance = recomputed[i]!;
        const salt = randomBytes(32);
        return { check, distance, salt, commitment: pocCommitment(me, epoch.id, check.miner, check.nonce, distance, salt) };
      });
      for (let i = 0; i < answers.length; i += ANSWERS_PER_TX) {
        const r = await sendBatchOnce(deps, answers.slice(i, i + ANSWERS_PER_TX), (a) => key('poc-commit', a.check), (a) => ({ salt: a.salt.toString('hex'), distance: a.distance.toString() }),
          (items) => deps.writer.signPocCommits(items.map((a) => ({ epoch: epoch.id, miner: a.check.miner, nonce: a.check.nonce, commitment: a.commitment }))));
        if (!r) continue;
        deps.log(`poc: epoch ${epoch.id}: ${r.items.length} answers (${r.items.filter((a) => a.check.trap).length} traps) ${opts.lazyCopy ? 'COPIED (DEMO lazy)' : 'recomputed'} and committed → ${r.action}${r.outcome.code !== 0 ? ` (${r.outcome.rawLog})` : ''}`);
        for (const a of r.items) report('commit', a.check, a.distance, r.action);
      }
    } else {
      const ready = mine.flatMap((check) => {
        const committed = deps.journal.get(key('poc-commit', check));
        if (!committed?.salt || committed.distance === undefined || !committedOnChain(check)) return [];
        return [{ check, distance: BigInt(committed.distance), salt: Buffer.from(committed.salt, 'hex') }];
      });
      for (let i = 0; i < ready.length; i += ANSWERS_PER_TX) {
        const r = await sendBatchOnce(deps, ready.slice(i, i + ANSWERS_PER_TX), (a) => key('poc-verdict', a.check), () => ({}),
          (items) => deps.writer.signPocVerdicts(items.map((a) => ({ epoch: epoch.id, miner: a.check.miner, nonce: a.check.nonce, distance: a.distance, salt: a.salt }))));
        if (!r) continue;
        const mismatches = r.items.filter((a) => !a.check.trap && a.distance !== a.check.claimedDistance).map((a) => `${a.check.miner}/${a.check.nonce}`);
        deps.log(`poc: epoch ${epoch.id}: ${r.items.length} answers revealed${mismatches.length > 0 ? `, claims recomputed to another distance: ${mismatches.join(', ')}` : ''} → ${r.action}${r.outcome.code !== 0 ? ` (${r.outcome.rawLog})` : ''}`);
        for (const a of r.items) report('verdict', a.check, a.distance, r.action);
      }
    }
  }
  return out;
}

/** The arbiter's duty: each open PoC dispute where this key holds an unvoted seat of the current round. */
export async function pocArbitratePass(deps: PocDeps): Promise<PocDutyOutcome[]> {
  const out: PocDutyOutcome[] = [];
  const height = await deps.chain.height();
  for (const epoch of await recentEpochs(deps.chain)) {
    const disputeIds = [...new Set((await deps.chain.pocChecks(epoch.id)).map((c) => c.disputeId).filter((id) => id !== 0n))];
    for (const id of disputeIds) {
      const d = await deps.chain.pocDispute(id);
      if (!d || d.status !== 1 || height > d.deadlineHeight) continue;
      const seat = d.panel.find((s) => s.arbiter === deps.writer.address && s.round === d.round && !s.voted && !s.missed);
      if (!seat) continue;
      const [distance] = await deps.distances(parseSeedHex(epoch.seed), dimsOf(epoch), [d.nonce]);
      const r = await sendOnce(deps, `poc-arbiter/${id}/${d.round}`, () => deps.writer.signPocArbiterVote(id, distance!));
      deps.log(`poc: dispute ${id} (${d.miner} nonce ${d.nonce}): claimed ${d.claimedDistance}, verifier ${d.reportedDistance}, recomputed ${distance} → ${r.action}`);
      out.push({ kind: 'arbiter-vote', epoch: epoch.id, miner: d.miner, nonce: d.nonce, claimed: d.claimedDistance, recomputed: distance!, action: r.action, disputeId: id });
    }
  }
  return out;
}
