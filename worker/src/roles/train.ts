// The miner: follow the windows, train the chunk the chain assigns to this key, publish the
// delta, sign and send MsgSubmitGradient — never twice for one (window, ordinal).
//
// Order of effects, chosen so a crash at any point is safe:
//   1. reconcile: every journal entry still `signed` is looked up on chain (by CID, then by
//      tx hash); found → included; unknown and the window still collecting → the SAME signed
//      bytes are sent again (same account sequence: it can land at most once);
//   2. train (checkpoints per step; a restart resumes), encode, put into the store;
//   3. sign; write the journal entry with the tx bytes and hash; only then broadcast.

import { bytesToHex } from '@noble/hashes/utils.js';
import type { TrainBackend } from '../backend.ts';
import { type ChainReader, type ChainWriter, type SignedTx } from '../chain/client.ts';
import { ChainError, ChainErrorCode } from '../chain/errors.ts';
import { assertChunk, type ChunkTokens, chunkHash } from '../data/chunk.ts';
import { adapterDelta, encodeDelta } from '../output/delta.ts';
import { middleStep, tamperDelta } from './miner-cheat.ts';
import { OutputError, OutputErrorCode } from '../output/errors.ts';
import type { ContentStore } from '../storage/content-store.ts';
import { WindowStatus } from '@r3mes/client';
import { type Journal, type JournalEntry } from './journal.ts';
import { runTrainingJob } from './job.ts';
import type { BaseStates } from './base-state.ts';
import type { LoadedModel } from './model.ts';
import type { WorkerStats } from './stats.ts';
import { join } from 'node:path';

export interface MinerDeps {
  readonly chain: ChainReader;
  readonly writer: ChainWriter;
  readonly store: ContentStore;
  readonly journal: Journal;
  readonly backend: TrainBackend;
  readonly loadModel: (version: bigint) => Promise<LoadedModel>;
  /** the 2048 tokens of chunk `index` of the window's dataset (data/window-chunks.ts) */
  readonly chunkAt: (index: bigint, windowId: bigint) => ChunkTokens | Promise<ChunkTokens>;
  readonly workDir: string;
  /**
   * The windows' base adapters (the finalized updates so far). Without it every job starts from
   * the initial adapter, which is right only while no window of the version has finalized.
   */
  readonly bases?: BaseStates;
  readonly steps: number;
  readonly lr: number;
  /** submissions this worker makes per window (≤ the chain's max_submissions_per_miner) */
  readonly perWindow: number;
  readonly stats: WorkerStats;
  readonly log: (line: string) => void;
  readonly onStep?: (s: number, steps: number, tokens: number, seconds: number) => void;
  /**
   * Demo only: tamper the delta before it is encoded (see tamperDelta). The CID and the
   * gradient hash are those of the tampered bytes, so only re-execution can tell.
   */
  readonly cheat?: boolean | 'delta' | 'middle-step';
}

export type MineOutcome =
  | { kind: 'no-window' }
  | { kind: 'window-full'; window: bigint }
  | { kind: 'in-flight'; window: bigint; txhash: string }
  | { kind: 'window-closed'; window: bigint }
  | { kind: 'submitted'; window: bigint; ordinal: bigint; cid: string; txhash: string; submissionId?: bigint };

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
const fromB64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));

/** Resolves every `signed` journal entry of this miner's gradient submissions against the chain. */
export async function reconcile(deps: Pick<MinerDeps, 'chain' | 'writer' | 'journal' | 'log' | 'stats'>): Promise<void> {
  const { chain, writer, journal, log } = deps;
  for (const entry of journal.pending().filter((e) => e.kind === 'submit-gradient')) {
    const windowId = BigInt(entry.window);
    const subs = await chain.windowSubmissions(windowId);
    const found = subs.find((s) => s.gradientCid === entry.cid);
    if (found) {
      await journal.update(entry, { status: 'included', submissionId: found.id.toString(), height: found.height.toString() });
      log(`journal: window ${entry.window} ordinal ${entry.ordinal} is on chain as submission ${found.id}`);
      continue;
    }
    const tx = await chain.txResult(entry.txhash);
    if (tx && tx.code !== 0) {
      await journal.update(entry, { status: 'failed', error: tx.rawLog, height: tx.height.toString() });
      log(`journal: tx ${entry.txhash} failed on chain (code ${tx.code}): ${tx.rawLog}`);
      continue;
    }
    if (tx) continue; // included with code 0 but not yet visible in the submission index: look again next time
    const window = await chain.window(windowId);
    if (window.status !== WindowStatus.WINDOW_STATUS_COLLECTING || (await chain.height()) >= window.collectEndHeight) {
      await journal.update(entry, { status: 'failed', error: 'window closed before the tx was seen on chain' });
      log(`journal: tx ${entry.txhash} never landed and window ${entry.window} has closed`);
      continue;
    }
    log(`journal: tx ${entry.txhash} not seen on chain; sending the same signed bytes again`);
    await sendSigned(deps, entry, { txBytes: fromB64(entry.txBytes), txhash: entry.txhash });
  }
}

async function sendSigned(deps: Pick<MinerDeps, 'writer' | 'journal' | 'stats'>, entry: JournalEntry, tx: SignedTx): Promise<JournalEntry> {
  const out = await deps.writer.broadcast(tx).catch((err: unknown) => {
    deps.stats.recordSubmission('failed');
    throw err;
  });
  if (out.code !== 0) {
    deps.stats.recordSubmission('refused');
    await deps.journal.update(entry, { status: 'failed', error: out.rawLog, height: out.height.toString() });
    throw new ChainError(ChainErrorCode.TxFailed, `MsgSubmitGradient ${tx.txhash} refused (code ${out.code}): ${out.rawLog}`, { abciCode: out.code, txhash: tx.txhash });
  }
  deps.stats.recordSubmission('accepted');
  deps.stats.lastTxhash = tx.txhash;
  return deps.journal.update(entry, { status: 'included', height: out.height.toString(), submissionId: out.submissionId?.toString() });
}

/** One pass over the current window: at most one new submission. */
export async function mineOnce(deps: MinerDeps): Promise<MineOutcome> {
  const { chain, writer, store, journal, stats, log } = deps;
  await reconcile(deps);
  const window = await chain.currentWindow();
  if (!window) return { kind: 'no-window' };
  stats.window = window.id.toString();
  const a = await chain.assignment(window.id, writer.address);
  if (a.remaining === 0n || a.nextOrdinal >= BigInt(deps.perWindow)) return { kind: 'window-full', window: window.id };
  const previous = journal.get('submit-gradient', window.id, a.nextOrdinal);
  if (previous && previous.status !== 'failed') return { kind: 'in-flight', window: window.id, txhash: previous.txhash };

  const chunk = await deps.chunkAt(a.chunkIndex, window.id);
  assertChunk(chunk);
  const model = await deps.loadModel(window.modelVersion);
  stats.chunk = a.chunkIndex.toString();
  stats.status = 'training';
  stats.stepsTotal = deps.steps;
  const base = await deps.bases?.forWindow(window.id, model);
  const from = base && base.windows.length > 0 ? ` from the base of ${base.windows.length} finalized window update(s)` : ' from the initial adapter';
  log(`window ${window.id}: training chunk ${a.chunkIndex} (ordinal ${a.nextOrdinal}) on ${deps.backend.name}${from}`);
  const job = await runTrainingJob({
    model, chunk, steps: deps.steps, lr: deps.lr, backend: deps.backend, base: base?.state,
    // `--cheat middle-step`: one tampered state in the middle of the job, the trace consistent with it.
    ...(deps.cheat === 'middle-step' ? { tamperAfterStep: middleStep(deps.steps) } : {}),
    workDir: join(deps.workDir, `w${window.id}-o${a.nextOrdinal}`),
    onStep: (s, n, tokens, seconds) => {
      stats.step = s;
      stats.steps++;
      stats.tokens += tokens;
      stats.tokensPerSecond = seconds > 0 ? tokens / seconds : 0;
      deps.onStep?.(s, n, tokens, seconds);
    },
  });
  if (job.resumedFrom > 0) log(`resumed after step ${job.resumedFrom} from the checkpoint`);
  stats.lossBefore = job.lossBefore;
  stats.lossAfter = job.lossAfter;

  const honest = adapterDelta(job.initial, job.final);
  const tamperDeltaNow = deps.cheat === true || deps.cheat === 'delta';
  if (tamperDeltaNow) log(`window ${window.id}: --cheat: tampering the delta before upload`);
  if (deps.cheat === 'middle-step') log(`window ${window.id}: --cheat middle-step: the state after step ${middleStep(deps.steps)} of ${deps.steps} was tampered`);
  const enc = await encodeDelta(tamperDeltaNow ? tamperDelta(honest) : honest, {
    model: model.identity, miner: writer.address, window: window.id, ordinal: a.nextOrdinal, chunkIndex: a.chunkIndex,
    chunkHash: chunkHash(chunk), backend: deps.backend.name, lr: deps.lr, stepHashes: job.stepHashes,
    lossBefore: job.lossBefore, lossAfter: job.lossAfter,
  });
  stats.status = 'uploading';
  const stored = await store.put(enc.bytes);
  if (!stored.equals(enc.cid)) throw new OutputError(OutputErrorCode.CidMismatch, `the store answered CID ${stored} for a delta whose CID is ${enc.cid}; nothing submitted`);
  for (const ck of job.checkpoints) await store.put(ck); // verifiers re-execute single steps from these
  stats.lastCid = enc.cid.toString();

  if ((await chain.height()) >= window.collectEndHeight) {
    log(`window ${window.id} stopped collecting while training; not submitting`);
    return { kind: 'window-closed', window: window.id };
  }
  stats.status = 'submitting';
  const signed = await writer.signSubmitGradient({
    windowId: window.id, subnet: a.subnet, modelVersion: window.modelVersion, gradientCid: enc.cid.toString(),
    gradientHash: Buffer.from(enc.gradientHash), traceRoot: Buffer.from(enc.traceRoot), chunkIndex: a.chunkIndex,
    lossBefore: BigInt(job.lossBefore), lossAfter: BigInt(job.lossAfter), backend: deps.backend.name,
  });
  const entry: JournalEntry = {
    kind: 'submit-gradient', window: window.id.toString(), ordinal: a.nextOrdinal.toString(), chunk: a.chunkIndex.toString(),
    cid: enc.cid.toString(), txhash: signed.txhash, txBytes: b64(signed.txBytes), status: 'signed',
    resultHash: bytesToHex(enc.gradientHash),
  };
  await journal.record(entry); // durable BEFORE the broadcast
  let done: JournalEntry;
  try {
    done = await sendSigned(deps, entry, signed);
  } catch (err) {
    // The window stopped collecting between the height check above and inclusion: a race the
    // miner cannot prevent, not a fault. The entry is journaled as failed; the next window goes on.
    if (err instanceof ChainError && err.code === ChainErrorCode.TxFailed && /window not collecting/.test(err.message)) {
      log(`window ${window.id} stopped collecting before the submission was included; the next window goes on`);
      stats.status = 'window-closed';
      return { kind: 'window-closed', window: window.id };
    }
    throw err;
  }
  stats.status = 'submitted';
  log(`window ${window.id}: submitted ${enc.cid} in tx ${signed.txhash}${done.submissionId ? ` (submission ${done.submissionId})` : ''}`);
  return { kind: 'submitted', window: window.id, ordinal: a.nextOrdinal, cid: enc.cid.toString(), txhash: signed.txhash, submissionId: done.submissionId ? BigInt(done.submissionId) : undefined };
}
