// The proposer: for each window in AGGREGATING that drew this key, in the commit phase fetch the
// ACCEPTED deltas (CID-checked), aggregate them (src/aggregate) with the rule of the chain's
// training params (`aggregation_rule`, read at that moment), store the result, and commit
// sha256(result_cid ‖ result_hash ‖ nonce); in the reveal phase reveal it. The nonce and the
// result are journaled before the commit is broadcast, so a restart can still reveal.

import { randomBytes } from 'node:crypto';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { commitHash, SubmissionStatus, WindowStatus } from '@r3mes/client';
import { aggregateDeltas, type AggregateInput } from '../aggregate/file.ts';
import { type AggregationRule, parseRule, ruleName } from '../aggregate/rules.ts';
import type { ChainReader, ChainWriter, Window } from '../chain/client.ts';
import { ChainError, ChainErrorCode } from '../chain/errors.ts';
import { decodeDelta } from '../output/delta.ts';
import { parseCid } from '../storage/cid.ts';
import type { ContentStore } from '../storage/content-store.ts';
import type { Journal, JournalEntry } from './journal.ts';
import type { WorkerStats } from './stats.ts';

export interface ProposerDeps {
  readonly chain: ChainReader;
  readonly writer: ChainWriter;
  readonly store: ContentStore;
  readonly journal: Journal;
  /**
   * Overrides the chain's rule (testing, experiments): a proposer that applies another rule than
   * the others reveals a minority result and is penalised. Absent: the chain's `aggregation_rule`.
   */
  readonly ruleOverride?: AggregationRule;
  readonly stats: WorkerStats;
  readonly log: (line: string) => void;
}

export type DutyOutcome = { window: bigint; action: 'committed' | 'revealed' | 'waiting' | 'done' | 'not-drawn' };

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

/** The window's ACCEPTED submissions in id order, fetched and checked against their CIDs. */
export async function acceptedDeltas(chain: ChainReader, store: ContentStore, windowId: bigint): Promise<AggregateInput[]> {
  const subs = (await chain.windowSubmissions(windowId))
    .filter((s) => s.status === SubmissionStatus.SUBMISSION_STATUS_ACCEPTED)
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const out: AggregateInput[] = [];
  for (const s of subs) {
    const bytes = await store.get(parseCid(s.gradientCid));
    out.push({ cid: s.gradientCid, file: await decodeDelta(bytes, { cid: s.gradientCid }) });
  }
  return out;
}

async function send(deps: ProposerDeps, entry: JournalEntry, tx: { txBytes: Uint8Array; txhash: string }): Promise<void> {
  await deps.journal.record(entry);
  const out = await deps.writer.broadcast(tx);
  if (out.code !== 0) {
    await deps.journal.update(entry, { status: 'failed', error: out.rawLog });
    throw new ChainError(ChainErrorCode.TxFailed, `${entry.kind} for window ${entry.window} refused (code ${out.code}): ${out.rawLog}`, { abciCode: out.code, txhash: tx.txhash });
  }
  deps.stats.lastTxhash = tx.txhash;
  await deps.journal.update(entry, { status: 'included', height: out.height.toString() });
}

/**
 * The rule to aggregate with now: the chain's training param `aggregation_rule` (empty: `median`,
 * the default of worker/SPEC.md §11), or the override — logged as a warning when it differs.
 */
export async function aggregationRuleNow(deps: Pick<ProposerDeps, 'chain' | 'ruleOverride' | 'log'>, windowId: bigint): Promise<AggregationRule> {
  const text = (await deps.chain.trainingParams()).aggregationRule;
  let chainRule: AggregationRule;
  try {
    chainRule = parseRule(text === '' ? 'median' : text);
  } catch (cause) {
    if (deps.ruleOverride === undefined) throw new ChainError(ChainErrorCode.QueryFailed, `the chain's aggregation_rule "${text}" is not one this worker knows (${(cause as Error).message}); nothing committed for window ${windowId}`, {}, { cause });
    deps.log(`warning: window ${windowId}: the chain's aggregation_rule "${text}" is unknown to this worker; using --rule ${ruleName(deps.ruleOverride)}`);
    return deps.ruleOverride;
  }
  if (deps.ruleOverride !== undefined && ruleName(deps.ruleOverride) !== ruleName(chainRule)) {
    deps.log(`warning: window ${windowId}: aggregating with --rule ${ruleName(deps.ruleOverride)}, not the chain's aggregation_rule ${ruleName(chainRule)}: the other proposers will reveal another result, and a minority reveal is penalised`);
    return deps.ruleOverride;
  }
  return chainRule;
}

export async function proposerDutyForWindow(deps: ProposerDeps, w: Window, height: bigint): Promise<DutyOutcome> {
  const me = deps.writer.address;
  if (w.status !== WindowStatus.WINDOW_STATUS_AGGREGATING || !w.proposers.includes(me)) return { window: w.id, action: 'not-drawn' };
  const commits = await deps.chain.aggregation(w.id);
  const mine = commits.find((c) => c.proposer === me);
  const commitEntry = deps.journal.get('commit-aggregation', w.id, 0n);
  if (height >= w.commitStartHeight && height < w.revealStartHeight) {
    if (mine || (commitEntry && commitEntry.status !== 'failed')) return { window: w.id, action: 'waiting' };
    deps.stats.status = `aggregating window ${w.id}`;
    const rule = await aggregationRuleNow(deps, w.id);
    const inputs = await acceptedDeltas(deps.chain, deps.store, w.id);
    const agg = await aggregateDeltas(inputs, rule, w.id);
    const stored = await deps.store.put(agg.bytes);
    if (!stored.equals(agg.cid)) throw new ChainError(ChainErrorCode.TxFailed, `the store answered ${stored} for aggregate ${agg.cid}; nothing committed`);
    const nonce = new Uint8Array(randomBytes(32));
    const commitment = commitHash(agg.cid.toString(), agg.resultHash, nonce);
    const tx = await deps.writer.signCommitAggregation(w.id, commitment);
    await send(deps, {
      kind: 'commit-aggregation', window: w.id.toString(), ordinal: '0', cid: agg.cid.toString(), txhash: tx.txhash, txBytes: b64(tx.txBytes),
      status: 'signed', resultHash: bytesToHex(agg.resultHash), nonce: bytesToHex(nonce),
    }, tx);
    deps.log(`window ${w.id}: committed aggregate ${agg.cid} (${inputs.length} inputs, rule ${ruleName(rule)})`);
    return { window: w.id, action: 'committed' };
  }
  if (height >= w.revealStartHeight && height < w.revealEndHeight) {
    if (mine?.revealed) return { window: w.id, action: 'done' };
    const revealEntry = deps.journal.get('reveal-aggregation', w.id, 0n);
    if (revealEntry && revealEntry.status !== 'failed') return { window: w.id, action: 'waiting' };
    if (!mine || !commitEntry?.nonce || !commitEntry.resultHash) return { window: w.id, action: 'done' }; // nothing (of ours) to reveal
    const tx = await deps.writer.signRevealAggregation(w.id, commitEntry.cid, hexToBytes(commitEntry.resultHash), hexToBytes(commitEntry.nonce));
    await send(deps, {
      kind: 'reveal-aggregation', window: w.id.toString(), ordinal: '0', cid: commitEntry.cid, txhash: tx.txhash, txBytes: b64(tx.txBytes), status: 'signed',
    }, tx);
    deps.log(`window ${w.id}: revealed ${commitEntry.cid}`);
    return { window: w.id, action: 'revealed' };
  }
  return { window: w.id, action: height < w.commitStartHeight ? 'waiting' : 'done' };
}

/** The most windows before the collecting one a pass looks at. */
export const MAX_PROPOSER_LOOKBACK = 64n;

/**
 * Looks at the windows that can be aggregating now: the three before the collecting one, and
 * further back while the last one looked at has not finished its reveal phase (a challenge period
 * longer than two windows puts a window's commit and reveal phases several windows after it),
 * at most MAX_PROPOSER_LOOKBACK windows.
 */
export async function proposerDuty(deps: ProposerDeps): Promise<DutyOutcome[]> {
  const height = await deps.chain.height();
  const current = await deps.chain.currentWindow();
  const top = current ? current.id : 0n;
  const out: DutyOutcome[] = [];
  for (let id = top - 1n; id >= 1n && id >= top - MAX_PROPOSER_LOOKBACK; id--) {
    const w = await deps.chain.window(id);
    out.push(await proposerDutyForWindow(deps, w, height));
    if (id <= top - 3n && height >= w.revealEndHeight) break;
  }
  return out;
}
