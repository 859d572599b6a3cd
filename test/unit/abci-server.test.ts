import t from 'tap';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import {
  Request, Response,
  ResponseOfferSnapshot_Result, ResponseProcessProposal_ProposalStatus,
  ResponseVerifyVoteExtension_VerifyStatus,
} from 'cosmjs-types/tendermint/abci/types';
import type {
  RequestCheckTx, ResponseCheckTx, RequestQuery, ResponseQuery, RequestFinalizeBlock,
  ResponseFinalizeBlock, ResponseInfo,
} from 'cosmjs-types/tendermint/abci/types';
import type { AbciApplication } from '../../app/abci/application.ts';
import { AbciServer, parseListenAddress } from '../../app/abci/server.ts';
import { encodeFrames } from '../../app/abci/framing.ts';
import { MemoryLogger, TestClient } from '../helpers/abci-client.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function checkTxResponse(data: string): ResponseCheckTx {
  return {
    code: 0, data: enc.encode(data), log: '', info: '', gasWanted: 0n, gasUsed: 0n, events: [], codespace: '',
  };
}

/**
 * CheckTx tx "<delayMs>:<tag>" answers data "<tag>" after delayMs (async; 0 =
 * a promise that settles without a timer);
 * tx "sync:<tag>" answers synchronously. Query "/boom" throws. FinalizeBlock
 * waits 20 ms. Tracks how many calls overlap.
 */
class TestApp implements AbciApplication {
  inFlight = 0;
  maxInFlight = 0;
  consensusInFlight = 0;
  maxConsensusInFlight = 0;

  private async track<T>(consensus: boolean, fn: () => Promise<T>): Promise<T> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    if (consensus) {
      this.consensusInFlight++;
      this.maxConsensusInFlight = Math.max(this.maxConsensusInFlight, this.consensusInFlight);
    }
    try {
      return await fn();
    } finally {
      this.inFlight--;
      if (consensus) this.consensusInFlight--;
    }
  }

  info(): ResponseInfo {
    return { data: 'test', version: '1', appVersion: 1n, lastBlockHeight: 7n, lastBlockAppHash: Uint8Array.of(1, 2) };
  }
  initChain() { return { validators: [], appHash: new Uint8Array(0) }; }
  query(req: RequestQuery): ResponseQuery {
    if (req.path === '/boom') throw new Error('boom: the query handler failed');
    return {
      code: 0, log: '', info: '', index: 0n, key: req.data, value: enc.encode(req.path), height: 0n, codespace: '',
    };
  }
  checkTx(req: RequestCheckTx): ResponseCheckTx | Promise<ResponseCheckTx> {
    const text = dec.decode(req.tx);
    const [head, tag] = text.split(':');
    if (head === 'sync') return checkTxResponse(tag);
    if (head === 'incomplete') return {} as ResponseCheckTx; // a sloppy app: encoder must cope
    if (head === 'incomplete-nested') {
      // Fails deep inside nested messages (an Event without attributes), after bytes were written.
      return { ...checkTxResponse(tag), events: [{ type: 'x' } as ResponseCheckTx['events'][number]] };
    }
    return this.track(false, async () => {
      const delayMs = Number(head);
      if (delayMs > 0) await sleep(delayMs);
      else await null; // async, but resolved within the same turn
      return checkTxResponse(tag);
    });
  }
  prepareProposal() { return { txs: [] }; }
  processProposal() { return { status: ResponseProcessProposal_ProposalStatus.ACCEPT }; }
  extendVote() { return { voteExtension: new Uint8Array(0) }; }
  verifyVoteExtension() { return { status: ResponseVerifyVoteExtension_VerifyStatus.ACCEPT }; }
  finalizeBlock(req: RequestFinalizeBlock): Promise<ResponseFinalizeBlock> {
    return this.track(true, async () => {
      await sleep(20);
      return { events: [], txResults: [], validatorUpdates: [], appHash: enc.encode(`h${req.height}`) };
    });
  }
  commit() { return { retainHeight: 0n }; }
}

const checkTx = (text: string): Request => Request.fromPartial({ checkTx: { tx: enc.encode(text) } });
const flush = (): Request => ({ flush: {} });
const kindOf = (r: Response): string => Object.entries(r).find(([, v]) => v !== undefined)?.[0] ?? 'none';

/** Any tap test: only teardown is needed here. */
interface HasTeardown { teardown(fn: () => unknown): void }

async function startServer(t: HasTeardown, app: AbciApplication = new TestApp(), addr = 'tcp://127.0.0.1:0') {
  const logger = new MemoryLogger();
  const server = new AbciServer(app, { logger });
  await server.listen(addr);
  const clients: TestClient[] = [];
  t.teardown(async () => {
    for (const c of clients) c.close();
    await server.close();
  });
  const connect = async () => {
    const c = await TestClient.connect(server.address()!);
    clients.push(c);
    return c;
  };
  return { server, logger, connect };
}

t.test('parseListenAddress', async (t) => {
  t.same(parseListenAddress('tcp://127.0.0.1:26658'), { kind: 'tcp', host: '127.0.0.1', port: 26658 });
  t.same(parseListenAddress('tcp://[::1]:0'), { kind: 'tcp', host: '::1', port: 0 });
  t.same(parseListenAddress('localhost:5'), { kind: 'tcp', host: 'localhost', port: 5 });
  t.same(parseListenAddress('unix:///tmp/a.sock'), { kind: 'unix', path: '/tmp/a.sock' });
  t.throws(() => parseListenAddress('tcp://127.0.0.1'));
  t.throws(() => parseListenAddress('tcp://127.0.0.1:99999'));
  t.throws(() => parseListenAddress('unix://'));
});

t.test('Echo echoes; Info is answered; Flush comes last', async (t) => {
  const { connect } = await startServer(t);
  const c = await connect();
  c.send({ echo: { message: 'hello r3mes' } }, Request.fromPartial({ info: {} }), flush());
  const [echo, info, fl] = await c.waitFor(3);
  t.equal(echo.echo?.message, 'hello r3mes');
  t.equal(info.info?.lastBlockHeight, 7n);
  t.same(Array.from(info.info?.lastBlockAppHash ?? []), [1, 2]);
  t.same(fl.flush, {});
});

t.test('Flush is answered only after slow earlier responses, in order', async (t) => {
  const { connect } = await startServer(t);
  const c = await connect();
  const t0 = Date.now();
  c.send(checkTx('80:slow'), checkTx('0:fast'), checkTx('sync:now'), flush(), { echo: { message: 'after' } }, flush());
  const got = await c.waitFor(6);
  t.same(got.map(kindOf), ['checkTx', 'checkTx', 'checkTx', 'flush', 'echo', 'flush']);
  t.same(got.slice(0, 3).map((r) => dec.decode(r.checkTx!.data)), ['slow', 'fast', 'now']);
  t.ok(Date.now() - t0 >= 75, 'the first flush waited for the slow CheckTx');
});

t.test('pipelined requests are answered FIFO, one at a time, in few writes', async (t) => {
  const app = new TestApp();
  const { connect } = await startServer(t, app);
  const c = await connect();
  const n = 500;
  const reqs: Request[] = [];
  for (let i = 0; i < n; i++) reqs.push(checkTx(i % 50 === 0 ? `3:${i}` : i % 2 ? `sync:${i}` : `0:${i}`));
  reqs.push(flush());
  c.send(...reqs);
  const got = await c.waitFor(n + 1);
  const tags = got.slice(0, n).map((r) => Number(dec.decode(r.checkTx!.data)));
  t.same(tags, Array.from({ length: n }, (_, i) => i), 'responses in request order');
  t.equal(kindOf(got[n]), 'flush');
  t.equal(app.maxInFlight, 1, 'never two app calls at once on one connection');
  t.ok(c.dataEvents < n / 5, `responses were batched (${c.dataEvents} reads for ${n + 1} responses)`);
});

t.test('a big burst pauses reading and still answers everything in order', async (t) => {
  const { connect } = await startServer(t);
  const c = await connect();
  const n = 10000;
  const reqs: Request[] = [];
  for (let i = 0; i < n; i++) reqs.push(checkTx(`sync:${i}`));
  reqs.push(flush());
  c.send(...reqs);
  const got = await c.waitFor(n + 1, 20000);
  let inOrder = true;
  for (let i = 0; i < n; i++) if (dec.decode(got[i].checkTx!.data) !== String(i)) inOrder = false;
  t.ok(inOrder, `${n} responses in order`);
  t.equal(kindOf(got[n]), 'flush');
});

t.test('an app with checkTxBatch gets queued CheckTx together, answers go out in order before Flush', async (t) => {
  class BatchApp extends TestApp {
    batches: number[] = [];
    async checkTxBatch(reqs: RequestCheckTx[]): Promise<ResponseCheckTx[]> {
      this.batches.push(reqs.length);
      await sleep(5);
      return reqs.map((req) => checkTxResponse(`b:${dec.decode(req.tx)}`));
    }
  }
  const app = new BatchApp();
  const { connect } = await startServer(t, app);
  const c = await connect();
  const n = 300;
  const reqs: Request[] = [checkTx('sync:alone'), { echo: { message: 'between' } }];
  for (let i = 0; i < n; i++) reqs.push(checkTx(String(i)));
  reqs.push(flush(), checkTx('sync:last'), flush());
  c.send(...reqs);
  const got = await c.waitFor(n + 5);
  t.same(got.map(kindOf), ['checkTx', 'echo', ...Array.from({ length: n }, () => 'checkTx'), 'flush', 'checkTx', 'flush']);
  t.equal(dec.decode(got[0].checkTx!.data), 'alone', 'a lone CheckTx goes through checkTx');
  t.same(got.slice(2, 2 + n).map((r) => dec.decode(r.checkTx!.data)), Array.from({ length: n }, (_, i) => `b:${i}`));
  t.equal(dec.decode(got[n + 3].checkTx!.data), 'last');
  t.ok(app.batches.length >= 1 && app.batches.reduce((a, b) => a + b, 0) === n, `batches ${app.batches.join(',')}`);
});

t.test('consensus calls never overlap, even when the consensus connection closes mid-call', async (t) => {
  const app = new TestApp(); // Info: height 7, so block 8 is next
  const { connect } = await startServer(t, app);
  const fb = (h: number): Request => Request.fromPartial({ finalizeBlock: { height: BigInt(h) } });
  const a = await connect();
  a.send(fb(8), flush());
  await sleep(5); // a's FinalizeBlock (20 ms) is running
  a.close(); // CometBFT dies mid-block …
  await sleep(5);
  const b = await connect(); // … and its successor replays the block
  b.send(fb(8), { commit: {} }, flush());
  const rb = await b.waitFor(3);
  t.same(rb.map(kindOf), ['finalizeBlock', 'commit', 'flush']);
  t.equal(dec.decode(rb[0].finalizeBlock!.appHash), 'h8');
  t.equal(app.maxConsensusInFlight, 1, 'the second FinalizeBlock waited for the first');
});

t.test('an app that throws gets an exception response; the server lives on', async (t) => {
  const { connect, logger } = await startServer(t);
  const c = await connect();
  c.send(checkTx('sync:before'), Request.fromPartial({ query: { path: '/boom' } }), checkTx('sync:after'), flush());
  const got = await c.waitFor(2);
  t.equal(kindOf(got[0]), 'checkTx');
  t.equal(kindOf(got[1]), 'exception');
  t.match(got[1].exception?.error, /query: boom: the query handler failed/);
  await Promise.race([c.closed, sleep(2000).then(() => { throw new Error('server did not close'); })]);
  t.equal(c.responses.length, 2, 'nothing is answered after the exception');
  const loud = logger.lines.find((l) => l.level === 'error');
  t.match(loud?.msg, /threw in query/);
  t.match(String(loud?.fields?.stack), /boom/);

  const d = await connect();
  d.send({ echo: { message: 'still here' } });
  const [echo] = await d.waitFor(1);
  t.equal(echo.echo?.message, 'still here');
});

t.test('garbage on the wire gets an exception and a closed connection', async (t) => {
  const { connect, logger } = await startServer(t);
  const c = await connect();
  c.socket.write(Uint8Array.of(3, 0xff, 0xff, 0xff)); // a frame whose payload is not protobuf
  const [res] = await c.waitFor(1);
  t.equal(kindOf(res), 'exception');
  await c.closed;
  t.ok(logger.lines.some((l) => l.level === 'error'));

  const d = await connect();
  d.socket.write(encodeFrames([new Uint8Array(0)])); // a Request with no field set
  const [unknown] = await d.waitFor(1);
  t.match(unknown.exception?.error, /unknown request type/);
});

t.test('oversize frames are refused per server option', async (t) => {
  const logger = new MemoryLogger();
  const server = new AbciServer(new TestApp(), { logger, maxFrameBytes: 64 });
  await server.listen('tcp://127.0.0.1:0');
  t.teardown(() => server.close());
  const c = await TestClient.connect(server.address()!);
  c.send(checkTx('sync:' + 'x'.repeat(100)));
  const [res] = await c.waitFor(1);
  t.match(res.exception?.error, /over the limit of 64 bytes/);
  await c.closed;
});

t.test('snapshot methods default to valid empty answers', async (t) => {
  const { connect } = await startServer(t);
  const c = await connect();
  c.send(
    Request.fromPartial({ listSnapshots: {} }),
    Request.fromPartial({ offerSnapshot: {} }),
    Request.fromPartial({ loadSnapshotChunk: {} }),
    Request.fromPartial({ applySnapshotChunk: {} }),
    flush(),
  );
  const got = await c.waitFor(5);
  t.same(got[0].listSnapshots?.snapshots, []);
  t.equal(got[1].offerSnapshot?.result, ResponseOfferSnapshot_Result.ABORT);
  t.equal(got[2].loadSnapshotChunk?.chunk.length, 0);
  t.ok(got[3].applySnapshotChunk);
});

t.test('an incomplete response object is completed with protobuf defaults', async (t) => {
  const { connect } = await startServer(t);
  const c = await connect();
  c.send(checkTx('sync:first'), checkTx('incomplete:x'), checkTx('incomplete-nested:nested'), checkTx('sync:last'), flush());
  const got = await c.waitFor(5);
  t.same(got.map(kindOf), ['checkTx', 'checkTx', 'checkTx', 'checkTx', 'flush']);
  t.equal(dec.decode(got[0].checkTx!.data), 'first');
  t.equal(got[1].checkTx?.code, 0);
  t.equal(got[1].checkTx?.gasWanted, 0n);
  t.equal(dec.decode(got[2].checkTx!.data), 'nested');
  t.same(got[2].checkTx?.events, [{ type: 'x', attributes: [] }], 'nested defaults filled in');
  t.equal(dec.decode(got[3].checkTx!.data), 'last', 'the batch around it is intact');
});

t.test('unix socket: stale file replaced, live one refused, close with clients attached', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'abci-unix-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const sock = path.join(dir, 'app.sock');
  // Leave a stale socket file behind, as a SIGKILLed app would.
  const child = spawn(process.execPath, ['-e',
    "require('net').createServer().listen(process.argv[1], () => console.log('ready'))", sock]);
  t.teardown(() => { child.kill('SIGKILL'); });
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  child.kill('SIGKILL');
  await new Promise<void>((resolve) => child.once('exit', () => resolve()));
  t.ok(fs.statSync(sock).isSocket(), 'stale socket file exists');

  const server = new AbciServer(new TestApp(), { logger: new MemoryLogger() });
  await server.listen(`unix://${sock}`);
  t.equal(server.address(), `unix://${sock}`);
  const second = new AbciServer(new TestApp(), { logger: new MemoryLogger() });
  await t.rejects(second.listen(`unix://${sock}`), /in use/);

  const c = await TestClient.connect(server.address()!);
  c.send({ echo: { message: 'over unix' } });
  const [res] = await c.waitFor(1);
  t.equal(res.echo?.message, 'over unix');
  await server.close();
  await c.closed;
  t.pass('close() resolved with a client attached, and the client was disconnected');
});
