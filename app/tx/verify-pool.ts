/**
 * secp256k1 signature verification on worker threads, so that CheckTx's most expensive step
 * (≈70 µs of libsecp256k1 per tx) runs on another core while the main thread executes txs.
 *
 * A job carries what the sign doc is made of (body bytes, auth info bytes, chain-id, account
 * number), the signature and the pubkey; the worker builds the SIGN_MODE_DIRECT sign doc,
 * hashes it and verifies exactly as `verifySecp256k1` does (64-byte r‖s, low-S, libsecp256k1).
 * The answer is only ever used to fill the verify-once cache (app/tx/signature-cache.ts SignatureCache),
 * whose key binds every input of the check; a "no", a missing answer or a dead worker just
 * leaves the check to the main thread. The state machine's results therefore do not depend on
 * whether, when or how a worker answered.
 *
 * The worker is plain JavaScript evaluated from a string (no TypeScript loader needed in the
 * thread) and is unref'd: it never keeps a process alive.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { utf8 } from '../core/bytes.ts';

export interface VerifyJob {
  bodyBytes: Uint8Array;
  authInfoBytes: Uint8Array;
  chainId: string;
  accountNumber: bigint;
  signature: Uint8Array;
  pubkey: Uint8Array;
}

const WORKER_SOURCE = String.raw`
const { parentPort, workerData } = require('node:worker_threads');
const crypto = require('node:crypto');
const native = require(workerData.bindingPath);
// n/2 of secp256k1, big-endian: a signature is valid only with s <= n/2 (and s != 0).
const HALF = Buffer.from('7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0', 'hex');
function lowS(sig) {
  const s = sig.subarray(32, 64);
  let zero = true;
  for (let i = 0; i < 32; i++) if (s[i] !== 0) { zero = false; break; }
  if (zero) return false;
  return Buffer.compare(Buffer.from(s.buffer, s.byteOffset, 32), HALF) <= 0;
}
// The sign doc in one buffer, hashed in one call: createHash with an update per field crossed
// into C++ eight times per tx.
const oneShot = typeof crypto.hash === 'function'
  ? (bytes) => crypto.hash('sha256', bytes, 'buffer')
  : (bytes) => crypto.createHash('sha256').update(bytes).digest();
function varintLength(n) {
  let length = 1;
  while (n >= 0x80n) { n >>= 7n; length++; }
  return length;
}
function writeVarint(out, o, n) {
  while (n >= 0x80n) { out[o++] = Number(n & 0x7fn) | 0x80; n >>= 7n; }
  out[o++] = Number(n);
  return o;
}
function fieldLength(bytes) {
  return bytes.length === 0 ? 0 : 1 + varintLength(BigInt(bytes.length)) + bytes.length;
}
function writeField(out, o, tag, bytes) {
  if (bytes.length === 0) return o;
  out[o++] = tag;
  o = writeVarint(out, o, BigInt(bytes.length));
  out.set(bytes, o);
  return o + bytes.length;
}
// cosmos.tx.v1beta1.SignDoc: 1 body_bytes, 2 auth_info_bytes, 3 chain_id, 4 account_number
// (proto3: empty / zero fields are not written), as cosmjs-types encodes it.
function signDocHash(body, authInfo, chainId, accountNumber) {
  const size = fieldLength(body) + fieldLength(authInfo) + fieldLength(chainId) + (accountNumber === 0n ? 0 : 1 + varintLength(accountNumber));
  const doc = new Uint8Array(size);
  let o = writeField(doc, 0, 0x0a, body);
  o = writeField(doc, o, 0x12, authInfo);
  o = writeField(doc, o, 0x1a, chainId);
  if (accountNumber !== 0n) { doc[o++] = 0x20; o = writeVarint(doc, o, accountNumber); }
  return oneShot(doc);
}
parentPort.on('message', (buffer) => {
  // One transferred buffer per batch: u32 id, u32 n, n × 5 u32 lengths (body, auth info,
  // chain-id, signature, pubkey), n × u64 account numbers (8-aligned), then the bytes.
  const head = new DataView(buffer);
  const id = head.getUint32(0, true);
  const n = head.getUint32(4, true);
  const lensAt = 8;
  const accountsAt = (lensAt + n * 20 + 7) & ~7;
  let o = accountsAt + n * 8;
  const data = new Uint8Array(buffer);
  const ok = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const len = (k) => head.getUint32(lensAt + (5 * i + k) * 4, true);
    const body = data.subarray(o, o += len(0));
    const authInfo = data.subarray(o, o += len(1));
    const chainId = data.subarray(o, o += len(2));
    const signature = data.subarray(o, o += len(3));
    const pubkey = data.subarray(o, o += len(4));
    try {
      if (signature.length !== 64 || pubkey.length !== 33 || !lowS(signature)) continue;
      const digest = signDocHash(body, authInfo, chainId, head.getBigUint64(accountsAt + 8 * i, true));
      ok[i] = native.ecdsaVerify(signature, digest, pubkey) ? 1 : 0;
    } catch {
      ok[i] = 0;
    }
  }
  parentPort.postMessage({ id, ok }, [ok.buffer]);
});
`;

interface Pending {
  resolve: (ok: Uint8Array) => void;
  size: number;
}

class PoolWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  dead = false;

  constructor(bindingPath: string) {
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { bindingPath } });
    this.worker.unref();
    // An unref() before the thread is online does not hold (Node 20): repeat it then, unless a job is out.
    this.worker.once('online', () => {
      if (this.pending.size === 0) this.worker.unref();
    });
    this.worker.on('message', (msg: { id: number; ok: Uint8Array }) => {
      const job = this.pending.get(msg.id);
      if (job === undefined) return;
      this.pending.delete(msg.id);
      if (this.pending.size === 0) this.worker.unref();
      job.resolve(msg.ok);
    });
    const die = () => {
      this.dead = true;
      for (const job of this.pending.values()) job.resolve(new Uint8Array(job.size));
      this.pending.clear();
    };
    this.worker.on('error', die);
    this.worker.on('exit', die);
  }

  get load(): number {
    return this.pending.size;
  }

  verify(jobs: VerifyJob[]): Promise<Uint8Array> {
    if (this.dead) return Promise.resolve(new Uint8Array(jobs.length));
    const id = this.nextId++;
    // Pack the batch into one fresh buffer and transfer it (no clone): the inputs are often
    // views into much larger arrays (a whole ABCI frame), which structured clone would copy whole.
    const n = jobs.length;
    let lastChain = '';
    let lastChainBytes: Uint8Array = new Uint8Array();
    const chains = jobs.map((j) => {
      if (j.chainId !== lastChain) {
        lastChain = j.chainId;
        lastChainBytes = utf8(j.chainId);
      }
      return lastChainBytes;
    });
    const lensAt = 8;
    const accountsAt = (lensAt + n * 20 + 7) & ~7;
    let total = accountsAt + n * 8;
    for (let i = 0; i < n; i++) {
      const j = jobs[i];
      total += j.bodyBytes.length + j.authInfoBytes.length + chains[i].length + j.signature.length + j.pubkey.length;
    }
    const buffer = new ArrayBuffer(total);
    const head = new DataView(buffer);
    const data = new Uint8Array(buffer);
    head.setUint32(0, id, true);
    head.setUint32(4, n, true);
    let o = accountsAt + n * 8;
    for (let i = 0; i < n; i++) {
      const j = jobs[i];
      const parts = [j.bodyBytes, j.authInfoBytes, chains[i], j.signature, j.pubkey];
      for (let k = 0; k < 5; k++) {
        head.setUint32(lensAt + (5 * i + k) * 4, parts[k].length, true);
        data.set(parts[k], o);
        o += parts[k].length;
      }
      head.setBigUint64(accountsAt + 8 * i, j.accountNumber, true);
    }
    return new Promise<Uint8Array>((resolve) => {
      // While a job is out, the worker must keep the process alive long enough to answer it.
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve, size: n });
      this.worker.postMessage(buffer, [buffer]);
    });
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}

export class VerifyPool {
  private readonly workers: PoolWorker[];

  constructor(size: number, bindingPath: string) {
    this.workers = Array.from({ length: size }, () => new PoolWorker(bindingPath));
  }

  get size(): number {
    return this.workers.filter((w) => !w.dead).length;
  }

  /** Verifies `jobs` on the least-loaded worker: 1 = valid, 0 = invalid or not checked. */
  verify(jobs: VerifyJob[]): Promise<Uint8Array> {
    let best: PoolWorker | undefined;
    for (const w of this.workers) if (!w.dead && (best === undefined || w.load < best.load)) best = w;
    return best === undefined ? Promise.resolve(new Uint8Array(jobs.length)) : best.verify(jobs);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

function bindingPath(): string | undefined {
  try {
    const path = createRequire(import.meta.url).resolve('secp256k1/bindings');
    createRequire(import.meta.url)(path); // it must load here to be worth a thread
    return path;
  } catch {
    return undefined;
  }
}

let shared: VerifyPool | null | undefined;

/**
 * The process-wide pool: one worker per core beyond the first (at most 4), or none on a single
 * core, without the native binding, or with R3MES_VERIFY_WORKERS=0 (then callers verify inline).
 */
export function sharedVerifyPool(): VerifyPool | undefined {
  if (shared === undefined) {
    const configured = process.env.R3MES_VERIFY_WORKERS;
    const size = configured !== undefined && /^\d+$/.test(configured) ? Number(configured) : Math.min(4, availableParallelism() - 1);
    const path = size > 0 ? bindingPath() : undefined;
    shared = path === undefined ? null : new VerifyPool(size, path);
  }
  return shared ?? undefined;
}
