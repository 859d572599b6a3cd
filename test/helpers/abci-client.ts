/**
 * A socket client that speaks ABCI's framing to an AbciServer the way CometBFT does (framed
 * requests in one write, framed responses read back first in, first out), and a logger that
 * keeps what the server logs: for the ABCI server's unit tests.
 */
import net from 'node:net';
import { Request, Response } from 'cosmjs-types/tendermint/abci/types';
import { type AbciLogger, parseListenAddress } from '../../app/abci/server.ts';
import { FrameDecoder, encodeFrames } from '../../app/abci/framing.ts';

/** Collects log lines so tests can assert on them and keep the output quiet. */
export class MemoryLogger implements AbciLogger {
  lines: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
  info(msg: string, fields?: Record<string, unknown>) { this.lines.push({ level: 'info', msg, fields }); }
  warn(msg: string, fields?: Record<string, unknown>) { this.lines.push({ level: 'warn', msg, fields }); }
  error(msg: string, fields?: Record<string, unknown>) { this.lines.push({ level: 'error', msg, fields }); }
}

/** A minimal CometBFT stand-in: writes framed requests, reads framed responses. */
export class TestClient {
  readonly responses: Response[] = [];
  dataEvents = 0;
  readonly closed: Promise<void>;
  private waiters: (() => void)[] = [];
  private readonly decoder = new FrameDecoder();

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.dataEvents++;
      for (const frame of this.decoder.push(chunk)) this.responses.push(Response.decode(frame));
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => socket.once('close', () => {
      resolve();
      for (const w of this.waiters.splice(0)) w();
    }));
  }

  static connect(addr: string): Promise<TestClient> {
    const target = parseListenAddress(addr);
    return new Promise((resolve, reject) => {
      const socket = target.kind === 'unix' ? net.connect(target.path) : net.connect(target.port, target.host);
      socket.once('error', reject);
      socket.once('connect', () => resolve(new TestClient(socket)));
    });
  }

  /** Sends all requests in a single write, as CometBFT's buffered writer does. */
  send(...reqs: Request[]): void {
    this.socket.write(encodeFrames(reqs.map((r) => Request.encode(r).finish())));
  }

  /** Waits until at least `n` responses arrived (or the socket closed), bounded by a timeout. */
  async waitFor(n: number, timeoutMs = 5000): Promise<Response[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.responses.length < n && !this.socket.destroyed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${n} responses, have ${this.responses.length}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(timer); resolve(); });
      });
    }
    return this.responses.slice(0, n);
  }

  close(): void { this.socket.destroy(); }
}

