// Proof-of-Compute on chain (modules/poc README; SPEC §14): the three duties a worker plays in an
// epoch, each one pass of a role loop, every transaction journaled before it is broadcast and
// never signed twice.
//  - miner: in the submission phase, compute this node's nonces, keep the claims below r_target
//    and send them once as MsgSubmitPocBatch (at most max_claims_per_batch);
//  - verifier: for each sampled claim drawn to this key, still pending and within its deadline,
//    recompute the distance and send MsgPocVerdict with it (a mismatch opens a PoC dispute);
//  - arbiter: for each open PoC dispute with an unvoted seat of this key, recompute the distance
//    and send MsgPocArbiterVote.
// Distances are SPEC §14 integers: any honest device gets the claimed distance exactly, so a
// verdict is a comparison, not a statistic.

import type { pocTypes } from '@r3mes/client';
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
  signPocVerdict(epoch: bigint, miner: string, nonce: bigint, distance: bigint): Promise<SignedTx>;
  signPocArbiterVote(disputeId: bigint, distance: bigint): Promise<SignedTx>;
  broadcast(tx: SignedTx): Promise<TxOutcome>;
}

/** Durable record of what was signed: written (atomically) before each broadcast. */
export interface PocJournal {
  get(key: string): { txhash: string; status: string } | undefined;
  put(key: string, entry: { txhash: string; status: string }): Promise<void>;
}

interface PocJournalFile { version: 1; entries: Array<{ key: string; txhash: string; status: string }> }

/** The PoC journal as a JSON file (`<home>/worker/poc-journal.json`). */
export class PocFileJournal implements PocJournal {
  private constructor(readonly path: string, private readonly entries: Map<string, { txhash: string; status: string }>) {}

  static async open(path: string): Promise<PocFileJournal> {
    const data = await readJournalFile<PocJournalFile>(path, 'PoC journal', () => true);
    return new PocFileJournal(path, new Map((data?.entries ?? []).map((e) => [e.key, { txhash: e.txhash, status: e.status }])));
  }

  get(key: string): { txhash: string; status: string } | undefined {
    return this.entries.get(key);
  }

  async put(key: string, entry: { txhash: string; status: string }): Promise<void> {
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

export interface MinerOptions {
  /** This node's place among the nodes sharing the nonce space (seed 004's iterator). */
  readonly nodeId: number;
  readonly nNodes: number;
  /** Nonces computed per epoch. */
  readonly count: number;
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
  const it = new NonceIterator({ nodeId: opts.nodeId, nNodes: opts.nNodes, groupId: 0, nGroups: 1 });
  const nonces = Array.from({ length: opts.count }, (_, i) => it.at(BigInt(i)));
  const distances = await deps.distances(seed, dimsOf(epoch), nonces);
  const computed: Claim[] = nonces.map((nonce, i) => ({ nonce, distance: distances[i]! }));
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
  readonly kind: 'verdict' | 'arbiter-vote';
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

/** The verifier's duty: every pending sampled claim drawn to this key, recomputed and answered. */
export async function pocVerifyPass(deps: PocDeps): Promise<PocDutyOutcome[]> {
  const out: PocDutyOutcome[] = [];
  const height = await deps.chain.height();
  for (const epoch of await recentEpochs(deps.chain)) {
    const mine = (await deps.chain.pocChecks(epoch.id)).filter((c) => c.verifier === deps.writer.address && c.status === 1 && height <= c.deadlineHeight);
    if (mine.length === 0) continue;
    const recomputed = await deps.distances(parseSeedHex(epoch.seed), dimsOf(epoch), mine.map((c) => c.nonce));
    for (const [i, check] of mine.entries()) {
      const distance = recomputed[i]!;
      const r = await sendOnce(deps, `poc-verdict/${epoch.id}/${check.miner}/${check.nonce}`,
        () => deps.writer.signPocVerdict(epoch.id, check.miner, check.nonce, distance));
      deps.log(`poc: check of ${check.miner} nonce ${check.nonce}: claimed ${check.claimedDistance}, recomputed ${distance} (${distance === check.claimedDistance ? 'match' : 'MISMATCH'}) → ${r.action}`);
      out.push({ kind: 'verdict', epoch: epoch.id, miner: check.miner, nonce: check.nonce, claimed: check.claimedDistance, recomputed: distance, action: r.action });
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
