/**
 * Who verifies the signatures of a CheckTx batch: the worker pool (app/tx/verify-pool.ts) or
 * this thread, decided as the batch runs so that neither waits while the other has work.
 *
 * The batch is cut into chunks (FIRST_CHUNK txs, then CHUNK each). The worker is kept about AHEAD txs ahead of the
 * txs this thread is running, chunks taken from the front. When this thread reaches a chunk:
 * - never sent to the worker: the ante handler verifies its signatures inline as it runs them;
 * - sent and answered: the verified signatures are in the cache already;
 * - sent, not yet answered: rather than wait, this thread verifies the signatures of the last
 *   chunk nobody has taken yet (from the back of the batch), and looks again.
 * Results only ever fill the verify-once cache (app/tx/signature-cache.ts SignatureCache), which matches
 * every input of a check, so CheckTx answers exactly as it would one request at a time
 * whoever verified what (test/unit/verify-pool.test.ts).
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { type SignatureCache, type VerifiedSignature, verifyJob } from './signature-cache.ts';
import type { VerifyJob, VerifyPool } from './verify-pool.ts';

/** Txs per chunk: one worker message each; small enough that stealing one blocks this thread ~2 ms. */
const CHUNK = 32;
/**
 * The first chunk, which this thread always runs itself (the worker has not started yet): small,
 * so that a small batch (CometBFT flushes CheckTx every few ms, so most are) still gets most of
 * its signatures verified on the worker.
 */
const FIRST_CHUNK = 8;
/** Txs sent to the worker ahead of this thread (≈ 20 ms of worker time at ~75 µs a signature). */
const AHEAD = 256;

/** A tx's signature check as signatureJob (app/tx/signature-cache.ts) prepares it, or undefined (nothing to verify ahead). */
export type PrepareCheck = (index: number) => { check: VerifiedSignature; job: VerifyJob } | undefined;

type ChunkState = 'new' | 'sent' | 'answered' | 'taken';

interface Chunk {
  start: number;
  end: number;
  state: ChunkState;
  answered?: Promise<void>;
}

export class BatchSignatures {
  private readonly chunks: Chunk[] = [];
  /** Index of the chunk this thread is running (or about to). */
  private current = 0;
  /** Next chunk to consider for the worker (front) and for stealing (back). */
  private front = 0;
  private back: number;
  private inFlight = 0;
  /** Signatures verified by the worker and ahead by this thread (for tests and benchmarks). */
  readonly counts = { worker: 0, ahead: 0 };

  constructor(
    size: number,
    private readonly prepare: PrepareCheck,
    private readonly pool: VerifyPool,
    private readonly cache: SignatureCache,
  ) {
    for (let start = 0; start < size; start += start === 0 ? FIRST_CHUNK : CHUNK) {
      this.chunks.push({ start, end: Math.min(size, start + (start === 0 ? FIRST_CHUNK : CHUNK)), state: 'new' });
    }
    this.back = this.chunks.length - 1;
  }

  /** Chunk boundaries, in order: the caller runs the txs [start, end) after `ready(k)`. */
  get ranges(): ReadonlyArray<{ start: number; end: number }> {
    return this.chunks;
  }

  /**
   * Resolves when the signatures of chunk `k` are either in the cache or left to the ante
   * handler. Call for k = 0, 1, … in order, each before running that chunk's txs.
   */
  async ready(k: number): Promise<void> {
    this.current = k;
    // One event-loop turn per chunk: the worker's answers are delivered and it is sent more.
    await nextTurn();
    this.feedWorker();
    const chunk = this.chunks[k];
    if (chunk.state === 'new') {
      chunk.state = 'taken'; // the ante handler verifies these inline
      return;
    }
    while (chunk.state === 'sent') {
      const steal = this.takeFromBack(k);
      if (steal === undefined) {
        await chunk.answered;
        return;
      }
      this.verifyHere(steal);
      await nextTurn();
      this.feedWorker();
    }
  }

  private feedWorker(): void {
    while (this.inFlight < AHEAD) {
      while (this.front < this.chunks.length && (this.front <= this.current || this.chunks[this.front].state !== 'new')) this.front++;
      if (this.front >= this.chunks.length) return;
      const chunk = this.chunks[this.front];
      const checks: VerifiedSignature[] = [];
      const jobs: VerifyJob[] = [];
      for (let i = chunk.start; i < chunk.end; i++) {
        const prepared = this.prepare(i);
        if (prepared === undefined) continue;
        // The pubkey as sent (verify packs the job now), whatever happens to the array before the answer.
        checks.push({ ...prepared.check, pubkey: prepared.check.pubkey.slice() });
        jobs.push(prepared.job);
      }
      if (jobs.length === 0) {
        chunk.state = 'answered';
        continue;
      }
      chunk.state = 'sent';
      this.inFlight += chunk.end - chunk.start;
      chunk.answered = this.pool.verify(jobs).then((ok) => {
        checks.forEach((check, i) => {
          if (ok[i] === 1) this.cache.add(check);
        });
        this.counts.worker += jobs.length;
        chunk.state = 'answered';
        this.inFlight -= chunk.end - chunk.start;
      });
    }
  }

  /** The last chunk after `k` that nobody has taken, now this thread's; undefined if none. */
  private takeFromBack(k: number): Chunk | undefined {
    while (this.back > k && this.chunks[this.back].state !== 'new') this.back--;
    if (this.back <= k) return undefined;
    const chunk = this.chunks[this.back];
    chunk.state = 'taken';
    return chunk;
  }

  private verifyHere(chunk: Chunk): void {
    for (let i = chunk.start; i < chunk.end; i++) {
      const prepared = this.prepare(i);
      if (prepared === undefined) continue;
      if (verifyJob(prepared.job)) this.cache.add(prepared.check);
      this.counts.ahead++;
    }
  }
}
