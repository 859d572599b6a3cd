/**
 * ABCI 2.0 socket server for CometBFT v0.38. The spec of this layer is
 * app/abci/README.md; this file knows sockets, framing and protobuf, and
 * nothing about modules or state (that is the AbciApplication's business).
 */
import net from 'node:net';
import fs from 'node:fs';
import {
  Request, Response,
  ResponseOfferSnapshot_Result, ResponseApplySnapshotChunk_Result,
  ResponseProcessProposal_ProposalStatus, ResponseVerifyVoteExtension_VerifyStatus,
} from 'cosmjs-types/tendermint/abci/types';
import type { AbciApplication } from './application.ts';
import { BinaryWriter } from 'cosmjs-types/binary';
import { DEFAULT_MAX_FRAME_BYTES, FrameDecoder } from './framing.ts';
import { ConsensusGate, ConsensusOrderError, type ConsensusKind } from './consensus-gate.ts';

export interface AbciLogger {
  debug?(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export interface AbciServerOptions {
  logger?: AbciLogger;
  /** Largest request frame accepted, in bytes (default 64 MiB). */
  maxFrameBytes?: number;
  /** Permissions of a unix socket file (default 0o600: only this user may connect). */
  unixSocketMode?: number;
}

type MaybePromise<T> = T | Promise<T>;

/** The request kinds, in the order of their protobuf field numbers. */
const REQUEST_KINDS = [
  'echo', 'flush', 'info', 'initChain', 'query', 'checkTx', 'commit',
  'listSnapshots', 'offerSnapshot', 'loadSnapshotChunk', 'applySnapshotChunk',
  'prepareProposal', 'processProposal', 'extendVote', 'verifyVoteExtension', 'finalizeBlock',
] as const satisfies readonly (keyof Request)[];
type RequestKind = (typeof REQUEST_KINDS)[number];

/**
 * Methods of CometBFT's consensus connection. They are accepted only in consensus order and
 * only on the consensus connection (ConsensusGate), and run under one server-wide lock, so a
 * call still running for a connection that closed never overlaps the next one.
 */
const CONSENSUS_KINDS: ReadonlySet<RequestKind> = new Set<ConsensusKind>([
  'initChain', 'prepareProposal', 'processProposal', 'extendVote',
  'verifyVoteExtension', 'finalizeBlock', 'commit',
]);

/** First byte of a framed Request holding a CheckTx (field 8, length-delimited). */
const CHECK_TX_TAG = (8 << 3) | 2;
/** Most CheckTx requests handed to the app at once. */
const MAX_CHECK_TX_BATCH = 1024;

/** Pause reading a connection when this many decoded requests wait; resume below the low mark. */
const QUEUE_HIGH_WATER = 4096;
const QUEUE_LOW_WATER = 1024;

const consoleLogger: AbciLogger = {
  info: (msg, fields) => console.log(`[abci] ${msg}`, fields ?? ''),
  warn: (msg, fields) => console.warn(`[abci] ${msg}`, fields ?? ''),
  error: (msg, fields) => console.error(`[abci] ${msg}`, fields ?? ''),
};

function isPromiseLike<T>(v: MaybePromise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}

/** Applies `f` without an extra microtask when `v` is already a value. */
function mapMaybe<T, U>(v: MaybePromise<T>, f: (t: T) => U): MaybePromise<U> {
  return isPromiseLike(v) ? v.then(f) : f(v);
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

function kindOf(req: Request): RequestKind | null {
  for (const kind of REQUEST_KINDS) {
    if (req[kind] !== undefined) return kind;
  }
  return null;
}

/** How many request kinds a decoded Request carries: CometBFT sends exactly one. */
function kindCount(req: Request): number {
  let n = 0;
  for (const kind of REQUEST_KINDS) {
    if (req[kind] !== undefined) n++;
  }
  return n;
}

type ListenTarget = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

/** Parses "tcp://host:port", "unix:///path" or a bare "host:port". */
export function parseListenAddress(addr: string): ListenTarget {
  if (addr.startsWith('unix://')) {
    const path = addr.slice('unix://'.length);
    if (path === '') throw new Error(`ABCI listen address has no socket path: ${addr}`);
    return { kind: 'unix', path };
  }
  const rest = addr.startsWith('tcp://') ? addr.slice('tcp://'.length) : addr;
  const colon = rest.lastIndexOf(':');
  if (colon < 0) throw new Error(`ABCI listen address needs host:port: ${addr}`);
  let host = rest.slice(0, colon);
  const portText = rest.slice(colon + 1);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) throw new Error(`ABCI listen address has a bad port: ${addr}`);
  return { kind: 'tcp', host: host === '' ? '0.0.0.0' : host, port };
}

/** A server-wide lock for consensus calls; uncontended in normal operation. */
class ConsensusLock {
  private busy: Promise<void> | null = null;

  async run<T>(fn: () => MaybePromise<T>): Promise<T> {
    while (this.busy) await this.busy;
    let release!: () => void;
    this.busy = new Promise<void>((resolve) => { release = resolve; });
    try {
      return await fn();
    } finally {
      this.busy = null;
      release();
    }
  }
}

export class AbciServer {
  private readonly app: AbciApplication;
  private readonly logger: AbciLogger;
  private readonly maxFrameBytes: number;
  private readonly consensusLock = new ConsensusLock();
  private readonly gate: ConsensusGate<AbciConnection>;
  private readonly unixSocketMode: number;
  private readonly connections = new Set<AbciConnection>();
  private server: net.Server | null = null;
  private target: ListenTarget | null = null;
  private nextConnectionId = 1;

  constructor(app: AbciApplication, opts: AbciServerOptions = {}) {
    this.app = app;
    this.logger = opts.logger ?? consoleLogger;
    this.maxFrameBytes = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.unixSocketMode = opts.unixSocketMode ?? 0o600;
    this.gate = new ConsensusGate<AbciConnection>(() =>
      mapMaybe(app.info({ version: '', blockVersion: 0n, p2pVersion: 0n, abciVersion: '' }), (info) => info.lastBlockHeight));
  }

  /** The id of the connection that holds the consensus role, or null (for tests and logs). */
  get consensusConnectionId(): number | null {
    return this.gate.ownerId;
  }

  /** Starts listening; resolves once the socket is bound. */
  async listen(addr: string): Promise<void> {
    if (this.server) throw new Error('AbciServer is already listening');
    const target = parseListenAddress(addr);
    if (target.kind === 'unix') {
      // sun_path holds 108 bytes on Linux (104 on macOS) with its NUL; a longer path would not bind.
      if (Buffer.byteLength(target.path) > 103) {
        throw new Error(`ABCI unix socket path is ${Buffer.byteLength(target.path)} bytes, over 103: use a shorter path or tcp://: ${target.path}`);
      }
      await removeStaleUnixSocket(target.path);
    }
    const server = net.createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      server.once('error', onError);
      const onListening = () => {
        server.off('error', onError);
        resolve();
      };
      if (target.kind === 'unix') {
        // The socket file is created by bind, inside listen(): a umask that leaves only the
        // owner's bits makes it 0600 from the start, so no other user can connect in between.
        const oldMask = setUmask(0o777 & ~this.unixSocketMode);
        try {
          server.listen(target.path, onListening);
        } finally {
          if (oldMask !== undefined) setUmask(oldMask);
        }
      } else {
        server.listen(target.port, target.host, onListening);
      }
    });
    if (target.kind === 'unix') fs.chmodSync(target.path, this.unixSocketMode);
    server.on('error', (err) => this.logger.error('ABCI listener error', { error: errorText(err) }));
    this.server = server;
    this.target = target;
    this.logger.info('ABCI server listening', { address: this.address() });
  }

  /** The bound address in listen() syntax (the real port when 0 was asked), or null. */
  address(): string | null {
    if (!this.server || !this.target) return null;
    if (this.target.kind === 'unix') return `unix://${this.target.path}`;
    const bound = this.server.address();
    if (bound === null || typeof bound === 'string') return null;
    const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
    return `tcp://${host}:${bound.port}`;
  }

  /** Stops accepting, drops every connection (in-flight app calls finish; their answers are discarded). */
  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const conn of this.connections) conn.destroy();
    await closed;
    this.target = null;
    this.logger.info('ABCI server closed');
  }

  private accept(socket: net.Socket): void {
    const id = this.nextConnectionId++;
    const conn = new AbciConnection(id, socket, this, this.logger, this.maxFrameBytes);
    this.connections.add(conn);
    // A consensus connection that ends gives up its role (CometBFT stopped or restarts).
    socket.once('end', () => this.release(conn));
    socket.once('close', () => {
      this.release(conn);
      this.connections.delete(conn);
    });
  }

  /** `conn` ended, closed or failed: it sends no more consensus requests. */
  release(conn: AbciConnection): void {
    this.gate.release(conn);
  }

  /** Whether the application answers pipelined CheckTx requests together. */
  get batchesCheckTx(): boolean {
    return typeof this.app.checkTxBatch === 'function';
  }

  /** CheckTx requests answered together (see AbciApplication.checkTxBatch). */
  callCheckTxBatch(reqs: Request[]): MaybePromise<Response[]> {
    return mapMaybe(this.app.checkTxBatch!(reqs.map((req) => req.checkTx!)), (responses) => responses.map((checkTx) => ({ checkTx })));
  }

  /**
   * Runs one non-echo, non-flush request of `conn` against the application. A consensus request
   * out of consensus order, or on another connection than the consensus connection, rejects
   * with ConsensusOrderError and never reaches the app.
   */
  callApp(conn: AbciConnection, kind: Exclude<RequestKind, 'echo' | 'flush'>, req: Request): MaybePromise<Response> {
    if (CONSENSUS_KINDS.has(kind)) {
      return this.consensusLock.run(() => this.gate.run(conn, kind as ConsensusKind, req, () => this.dispatch(kind, req)));
    }
    if (kind === 'offerSnapshot' || kind === 'applySnapshotChunk') {
      // A restored snapshot moves the app's height without a Commit: ask it again next time.
      return mapMaybe(this.dispatch(kind, req), (res) => {
        this.gate.forgetHeight();
        return res;
      });
    }
    return this.dispatch(kind, req);
  }

  private dispatch(kind: Exclude<RequestKind, 'echo' | 'flush'>, req: Request): MaybePromise<Response> {
    const app = this.app;
    switch (kind) {
      case 'info': return mapMaybe(app.info(req.info!), (info) => ({ info }));
      case 'query': return mapMaybe(app.query(req.query!), (query) => ({ query }));
      case 'checkTx': return mapMaybe(app.checkTx(req.checkTx!), (checkTx) => ({ checkTx }));
      case 'initChain': return mapMaybe(app.initChain(req.initChain!), (initChain) => ({ initChain }));
      case 'prepareProposal':
        return mapMaybe(app.prepareProposal(req.prepareProposal!), (prepareProposal) => ({ prepareProposal }));
      case 'processProposal':
        return mapMaybe(app.processProposal(req.processProposal!), (processProposal) => {
          if (processProposal?.status !== ResponseProcessProposal_ProposalStatus.ACCEPT &&
              processProposal?.status !== ResponseProcessProposal_ProposalStatus.REJECT) {
            this.logger.error('ProcessProposal status is neither ACCEPT nor REJECT; CometBFT will panic',
              { status: processProposal?.status });
          }
          return { processProposal };
        });
      case 'extendVote': return mapMaybe(app.extendVote(req.extendVote!), (extendVote) => ({ extendVote }));
      case 'verifyVoteExtension':
        return mapMaybe(app.verifyVoteExtension(req.verifyVoteExtension!), (verifyVoteExtension) => {
          if (verifyVoteExtension?.status !== ResponseVerifyVoteExtension_VerifyStatus.ACCEPT &&
              verifyVoteExtension?.status !== ResponseVerifyVoteExtension_VerifyStatus.REJECT) {
            this.logger.error('VerifyVoteExtension status is neither ACCEPT nor REJECT; CometBFT will panic',
              { status: verifyVoteExtension?.status });
          }
          return { verifyVoteExtension };
        });
      case 'finalizeBlock':
        return mapMaybe(app.finalizeBlock(req.finalizeBlock!), (finalizeBlock) => ({ finalizeBlock }));
      case 'commit': return mapMaybe(app.commit(), (commit) => ({ commit }));
      // Snapshots are optional: an app without them serves none and declines any offered.
      case 'listSnapshots':
        return app.listSnapshots
          ? mapMaybe(app.listSnapshots(req.listSnapshots!), (listSnapshots) => ({ listSnapshots }))
          : { listSnapshots: { snapshots: [] } };
      case 'offerSnapshot':
        return app.offerSnapshot
          ? mapMaybe(app.offerSnapshot(req.offerSnapshot!), (offerSnapshot) => ({ offerSnapshot }))
          : { offerSnapshot: { result: ResponseOfferSnapshot_Result.ABORT } };
      case 'loadSnapshotChunk':
        return app.loadSnapshotChunk
          ? mapMaybe(app.loadSnapshotChunk(req.loadSnapshotChunk!), (loadSnapshotChunk) => ({ loadSnapshotChunk }))
          : { loadSnapshotChunk: { chunk: new Uint8Array(0) } };
      case 'applySnapshotChunk':
        return app.applySnapshotChunk
          ? mapMaybe(app.applySnapshotChunk(req.applySnapshotChunk!), (applySnapshotChunk) => ({ applySnapshotChunk }))
          : {
              applySnapshotChunk: {
                result: ResponseApplySnapshotChunk_Result.ABORT, refetchChunks: [], rejectSenders: [],
              },
            };
    }
  }
}

/**
 * One CometBFT connection. Requests are decoded as bytes arrive and queued;
 * a single pump handles them strictly in order, one app call at a time, and
 * appends each encoded response to an output batch. The batch is written
 * once per event-loop turn (setImmediate), or at once when a Flush is
 * answered, so a burst of pipelined CheckTx costs one write, not one each.
 */
class AbciConnection {
  private readonly decoder: FrameDecoder;
  /** Request frames not yet handled, from queueHead on; handled slots are nulled. */
  private readonly queue: (Uint8Array | null)[] = [];
  private queueHead = 0;
  private pumping = false;
  private readingPaused = false;
  /** Responses encoded since the last write, already framed. */
  private outWriter: BinaryWriter | null = null;
  private writeScheduled = false;
  private waitingForDrain: Promise<void> | null = null;
  /** Set after a protocol error or an app exception: no more requests are handled. */
  private failed = false;
  private closed = false;
  private handled = 0;

  constructor(
    readonly id: number,
    private readonly socket: net.Socket,
    private readonly server: AbciServer,
    private readonly logger: AbciLogger,
    maxFrameBytes: number,
  ) {
    this.decoder = new FrameDecoder({ maxFrameBytes });
    if (typeof socket.setNoDelay === 'function') socket.setNoDelay(true);
    const remote = socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : 'unix';
    this.log('debug', 'ABCI connection opened', { remote });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // Resets are routine when CometBFT stops; the process must not crash on them.
      this.log(err.code === 'ECONNRESET' || err.code === 'EPIPE' ? 'debug' : 'warn',
        'ABCI connection socket error', { error: errorText(err), code: err.code });
    });
    socket.on('end', () => {
      if (!this.decoder.idle) this.log('warn', 'ABCI connection ended inside a frame', {});
    });
    socket.on('close', () => {
      this.closed = true;
      this.queue.length = 0;
      this.queueHead = 0;
      this.log('debug', 'ABCI connection closed', { handled: this.handled });
    });
  }

  destroy(): void {
    this.closed = true;
    this.socket.destroy();
  }

  private log(level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields: Record<string, unknown>): void {
    const withId = { conn: this.id, ...fields };
    if (level === 'debug') this.logger.debug?.(msg, withId);
    else this.logger[level](msg, withId);
  }

  private onData(chunk: Buffer): void {
    if (this.failed || this.closed) return;
    let frames: Uint8Array[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      this.fail('ABCI framing error; closing connection', err);
      return;
    }
    for (const frame of frames) this.queue.push(frame);
    if (!this.readingPaused && this.queue.length - this.queueHead >= QUEUE_HIGH_WATER) {
      this.readingPaused = true;
      this.socket.pause();
    }
    if (!this.pumping) void this.pump();
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (this.queueHead < this.queue.length && !this.failed && !this.closed) {
        const frame = this.queue[this.queueHead]!;
        this.queue[this.queueHead] = null; // a block can be large: do not keep it alive
        this.queueHead++;
        let pending: Promise<void> | undefined;
        if (frame[0] === CHECK_TX_TAG && this.server.batchesCheckTx && this.queue[this.queueHead]?.[0] === CHECK_TX_TAG) {
          // Consecutive CheckTx requests (up to the next Flush or other request) go to the app together.
          const frames = [frame];
          while (frames.length < MAX_CHECK_TX_BATCH && this.queue[this.queueHead]?.[0] === CHECK_TX_TAG) {
            frames.push(this.queue[this.queueHead]!);
            this.queue[this.queueHead] = null;
            this.queueHead++;
          }
          this.compactQueue();
          pending = this.handleCheckTxBatch(frames);
        } else {
          this.compactQueue();
          pending = this.handle(frame);
        }
        if (pending) await pending;
        if (this.waitingForDrain) await this.waitingForDrain;
      }
    } catch (err) {
      // handle() reports app errors itself; reaching here is a bug in this file.
      this.fail('ABCI connection internal error', err);
    } finally {
      this.pumping = false;
    }
  }

  private compactQueue(): void {
    const waiting = this.queue.length - this.queueHead;
    if (waiting === 0) {
      this.queue.length = 0;
      this.queueHead = 0;
    } else if (this.queueHead >= 1024 && this.queueHead >= waiting) {
      this.queue.splice(0, this.queueHead);
      this.queueHead = 0;
    }
    if (this.readingPaused && waiting <= QUEUE_LOW_WATER) {
      this.readingPaused = false;
      if (!this.closed) this.socket.resume();
    }
  }

  /** Handles one request frame; returns a promise only when the app answered asynchronously. */
  private handle(frame: Uint8Array): Promise<void> | undefined {
    let req: Request;
    try {
      req = Request.decode(frame);
    } catch (err) {
      this.fail('ABCI request is not a valid tendermint.abci.Request; closing connection', err);
      return undefined;
    }
    const kind = kindOf(req);
    this.handled++;
    if (kind === null) {
      this.fail('ABCI request of an unknown type; closing connection', new Error('unknown request type'));
      return undefined;
    }
    if (kindCount(req) !== 1) {
      this.fail('ABCI request carries more than one request type; closing connection', new Error('request carries more than one request type'));
      return undefined;
    }
    if (kind === 'echo') {
      this.send({ echo: { message: req.echo!.message } }, false);
      return undefined;
    }
    if (kind === 'flush') {
      // Every earlier response is already in the batch (requests finish in order), so
      // writing the batch now puts them on the wire before the Flush response.
      this.send({ flush: {} }, true);
      return undefined;
    }
    let result: MaybePromise<Response>;
    try {
      result = this.server.callApp(this, kind, req);
    } catch (err) {
      this.appFailed(kind, err);
      return undefined;
    }
    if (!isPromiseLike(result)) {
      this.send(result, false);
      return undefined;
    }
    return result.then(
      (res) => { this.send(res, false); },
      (err: unknown) => {
        if (err instanceof ConsensusOrderError) this.refuse(err);
        else this.appFailed(kind, err);
      },
    );
  }

  /**
   * Several CheckTx frames at once: decoded, answered by the app's checkTxBatch in order. Anything
   * unexpected (a frame that is not a plain CheckTx after all) falls back to one by one.
   */
  private handleCheckTxBatch(frames: Uint8Array[]): Promise<void> | undefined {
    const reqs: Request[] = [];
    for (const frame of frames) {
      let req: Request | undefined;
      try {
        req = Request.decode(frame);
      } catch {
        req = undefined;
      }
      if (req === undefined || kindOf(req) !== 'checkTx') return this.handleEach(frames);
      reqs.push(req);
    }
    this.handled += reqs.length;
    let result: MaybePromise<Response[]>;
    try {
      result = this.server.callCheckTxBatch(reqs);
    } catch (err) {
      this.appFailed('checkTx', err);
      return undefined;
    }
    const sendAll = (responses: Response[]) => {
      if (responses.length !== reqs.length) {
        this.appFailed('checkTx', new Error(`checkTxBatch answered ${responses.length} of ${reqs.length} requests`));
        return;
      }
      for (const res of responses) this.send(res, false);
    };
    if (!isPromiseLike(result)) {
      sendAll(result);
      return undefined;
    }
    return result.then(sendAll, (err: unknown) => { this.appFailed('checkTx', err); });
  }

  private async handleEach(frames: Uint8Array[]): Promise<void> {
    for (const frame of frames) {
      if (this.failed || this.closed) return;
      const pending = this.handle(frame);
      if (pending) await pending;
    }
  }

  private appFailed(kind: RequestKind, err: unknown): void {
    this.logger.error(`ABCI application threw in ${kind}; answering with an exception, CometBFT will stop`, {
      conn: this.id,
      error: errorText(err),
      stack: err instanceof Error ? err.stack : undefined,
    });
    this.send({ exception: { error: `${kind}: ${errorText(err)}` } }, true);
    this.stopHandling();
    this.socket.end();
  }

  /**
   * A consensus request out of order or on the wrong connection: the app never saw it. Answered
   * with an exception, and the connection closed, like any bad input.
   */
  private refuse(err: ConsensusOrderError): void {
    this.fail('ABCI consensus request refused; closing connection', err);
  }

  /** Logs, answers an exception (CometBFT treats it as fatal) and closes the connection. */
  private fail(msg: string, err: unknown): void {
    if (this.failed) return;
    this.logger.error(msg, { conn: this.id, error: errorText(err) });
    this.stopHandling();
    if (!this.closed) {
      this.send({ exception: { error: errorText(err) } }, true);
      this.socket.end();
    }
  }

  /** Drops every queued request: after an exception nothing more is answered. */
  private stopHandling(): void {
    this.failed = true;
    this.server.release(this); // it handles no more requests: it cannot be the consensus connection
    this.queue.length = 0;
    this.queueHead = 0;
  }

  private send(res: Response, writeNow: boolean): void {
    if (this.closed) return;
    this.outWriter ??= BinaryWriter.create();
    appendFramedResponse(this.outWriter, res);
    if (writeNow) {
      this.writeBatch();
    } else if (!this.writeScheduled) {
      this.writeScheduled = true;
      setImmediate(() => this.writeBatch());
    }
  }

  private writeBatch(): void {
    this.writeScheduled = false;
    const writer = this.outWriter;
    this.outWriter = null;
    if (!writer || this.closed || this.socket.destroyed || !this.socket.writable) return;
    const data = writer.finish();
    const accepted = this.socket.write(data);
    if (!accepted && !this.waitingForDrain) {
      // Backpressure: stop handling requests until the kernel takes the bytes.
      this.waitingForDrain = new Promise<void>((resolve) => {
        const done = () => {
          this.socket.off('drain', done);
          this.socket.off('close', done);
          this.waitingForDrain = null;
          resolve();
        };
        this.socket.on('drain', done);
        this.socket.on('close', done);
      });
    }
  }
}

/**
 * Appends one framed response to a batch writer. `fork()`/`ldelim()` prefix
 * the message with its length as an unsigned varint, which is exactly the
 * framing of framing.ts; encoding a whole batch into one writer matters
 * because each `finish()` of cosmjs-types allocates a fresh 8 KiB slab, and
 * one `finish()` per response made the garbage collector the hot spot under
 * pipelined CheckTx.
 *
 * An app that returned an incomplete object (a field missing at runtime)
 * makes the generated encoder throw part way; the partial output is
 * unwound and the response, completed with protobuf defaults, encoded again.
 */
function appendFramedResponse(writer: BinaryWriter, res: Response): void {
  writer.fork();
  const frameStart = writer.states;
  try {
    Response.encode(res, writer);
  } catch {
    while (writer.states !== frameStart) writer.reset(); // nested forks of the failed encode
    writer.reset(); // this frame's own fork
    writer.fork();
    Response.encode(Response.fromPartial(res as Parameters<typeof Response.fromPartial>[0]), writer);
  }
  writer.ldelim();
}

/** process.umask(mask), returning the old mask; undefined where the process may not set it (a worker thread). */
function setUmask(mask: number): number | undefined {
  try {
    return process.umask(mask);
  } catch {
    return undefined;
  }
}

/** Removes a leftover unix socket file if nothing listens on it any more. */
async function removeStaleUnixSocket(path: string): Promise<void> {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(path);
  } catch {
    return;
  }
  if (!stat.isSocket()) throw new Error(`ABCI unix socket path exists and is not a socket: ${path}`);
  const inUse = await new Promise<boolean>((resolve) => {
    const probe = net.connect(path);
    probe.once('connect', () => { probe.destroy(); resolve(true); });
    probe.once('error', () => resolve(false));
  });
  if (inUse) throw new Error(`ABCI unix socket is in use by another process: ${path}`);
  fs.unlinkSync(path);
}
