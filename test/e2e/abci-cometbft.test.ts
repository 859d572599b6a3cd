/**
 * A real CometBFT v0.38 node drives AbciServer over TCP with a tiny
 * persistent key/value application: blocks are produced, a transaction
 * lands through /broadcast_tx_commit, and after both processes restart the
 * Info handshake resumes at the committed height without a new InitChain.
 */
import t from 'tap';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { createHash } from 'node:crypto';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  ResponseProcessProposal_ProposalStatus, ResponseVerifyVoteExtension_VerifyStatus,
} from 'cosmjs-types/tendermint/abci/types';
import type {
  RequestInfo, ResponseInfo, RequestInitChain, ResponseInitChain, RequestQuery, ResponseQuery,
  RequestCheckTx, ResponseCheckTx, ResponseCommit, RequestPrepareProposal, ResponsePrepareProposal,
  ResponseProcessProposal, ResponseExtendVote, ResponseVerifyVoteExtension,
  RequestFinalizeBlock, ResponseFinalizeBlock, ExecTxResult,
} from 'cosmjs-types/tendermint/abci/types';
import type { AbciApplication } from '../../app/abci/application.ts';
import { AbciServer, type AbciLogger } from '../../app/abci/server.ts';

t.setTimeout(180_000);

const enc = new TextEncoder();
const dec = new TextDecoder();
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------
// The in-test application: "key=value" transactions into a map persisted at Commit.

interface SavedState { height: string; appHash: string; kv: Record<string, string> }

function parseTx(tx: Uint8Array): [string, string] | null {
  const text = dec.decode(tx);
  const eq = text.indexOf('=');
  if (eq <= 0) return null;
  return [text.slice(0, eq), text.slice(eq + 1)];
}

function hashState(height: bigint, kv: Map<string, string>): Uint8Array {
  const h = createHash('sha256');
  h.update(`height:${height}\n`);
  for (const key of [...kv.keys()].sort()) h.update(`${key.length}:${key}=${kv.get(key)!.length}:${kv.get(key)}\n`);
  return new Uint8Array(h.digest());
}

class KvApp implements AbciApplication {
  lastHeight = 0n;
  lastAppHash: Uint8Array = new Uint8Array(0);
  kv = new Map<string, string>();
  initChainCalls = 0;
  infoAnswers: bigint[] = [];
  private pending: { height: bigint; appHash: Uint8Array; kv: Map<string, string> } | null = null;

  constructor(private readonly stateFile: string) {
    if (fs.existsSync(stateFile)) {
      const saved = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as SavedState;
      this.lastHeight = BigInt(saved.height);
      this.lastAppHash = Buffer.from(saved.appHash, 'hex');
      this.kv = new Map(Object.entries(saved.kv));
    }
  }

  info(_req: RequestInfo): ResponseInfo {
    this.infoAnswers.push(this.lastHeight);
    return {
      data: 'kv-test', version: '0.0.1', appVersion: 1n,
      lastBlockHeight: this.lastHeight, lastBlockAppHash: this.lastAppHash,
    };
  }

  initChain(_req: RequestInitChain): ResponseInitChain {
    this.initChainCalls++;
    return { validators: [], appHash: new Uint8Array(0) };
  }

  query(req: RequestQuery): ResponseQuery {
    const value = req.path === '/store' ? this.kv.get(dec.decode(req.data)) : undefined;
    return {
      code: value === undefined ? 1 : 0, log: value === undefined ? 'not found' : '', info: '', index: 0n,
      key: req.data, value: enc.encode(value ?? ''), height: this.lastHeight, codespace: value === undefined ? 'kv' : '',
    };
  }

  checkTx(req: RequestCheckTx): ResponseCheckTx {
    const ok = parseTx(req.tx) !== null;
    return {
      code: ok ? 0 : 1, data: new Uint8Array(0), log: ok ? '' : 'want key=value', info: '',
      gasWanted: 1n, gasUsed: 0n, events: [], codespace: ok ? '' : 'kv',
    };
  }

  prepareProposal(req: RequestPrepareProposal): ResponsePrepareProposal {
    const txs: Uint8Array[] = [];
    let total = 0n;
    for (const tx of req.txs) {
      if (total + BigInt(tx.length) > req.maxTxBytes) break;
      total += BigInt(tx.length);
      txs.push(tx);
    }
    return { txs };
  }

  processProposal(): ResponseProcessProposal {
    return { status: ResponseProcessProposal_ProposalStatus.ACCEPT };
  }

  extendVote(): ResponseExtendVote {
    return { voteExtension: new Uint8Array(0) };
  }

  verifyVoteExtension(): ResponseVerifyVoteExtension {
    return { status: ResponseVerifyVoteExtension_VerifyStatus.ACCEPT };
  }

  finalizeBlock(req: RequestFinalizeBlock): ResponseFinalizeBlock {
    const kv = new Map(this.kv);
    const txResults: ExecTxResult[] = req.txs.map((tx) => {
      const pair = parseTx(tx);
      if (pair) kv.set(pair[0], pair[1]);
      return {
        code: pair ? 0 : 1, data: new Uint8Array(0), log: '', info: '', gasWanted: 1n, gasUsed: 1n,
        events: pair
          ? [{ type: 'kv', attributes: [{ key: 'key', value: pair[0], index: true }] }]
          : [],
        codespace: pair ? '' : 'kv',
      };
    });
    const appHash = hashState(req.height, kv);
    this.pending = { height: req.height, appHash, kv };
    return { events: [], txResults, validatorUpdates: [], appHash };
  }

  commit(): ResponseCommit {
    const p = this.pending;
    if (!p) throw new Error('Commit without FinalizeBlock');
    this.pending = null;
    const saved: SavedState = {
      height: p.height.toString(), appHash: Buffer.from(p.appHash).toString('hex'), kv: Object.fromEntries(p.kv),
    };
    const tmp = `${this.stateFile}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(saved));
    fs.renameSync(tmp, this.stateFile);
    this.lastHeight = p.height;
    this.lastAppHash = p.appHash;
    this.kv = p.kv;
    return { retainHeight: 0n };
  }
}

// ---------------------------------------------------------------------------
// Harness: binary, ports, config, process control, RPC.

function findCometbft(): string | null {
  if (process.env.COMETBFT_BIN && fs.existsSync(process.env.COMETBFT_BIN)) return process.env.COMETBFT_BIN;
  const script = path.resolve(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), '../../scripts/install-cometbft');
  const r = spawnSync('bash', [script], { encoding: 'utf8', timeout: 300_000 });
  const bin = r.status === 0 ? r.stdout.trim().split('\n').pop() : undefined;
  return bin && fs.existsSync(bin) ? bin : null;
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = srv.address();
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return addr.port;
}

/** Sets `key = value` inside `[section]` ('' = the top, before any section) of a TOML text. */
function setToml(text: string, section: string, key: string, value: string): string {
  const lines = text.split('\n');
  let current = '';
  for (let i = 0; i < lines.length; i++) {
    const header = /^\s*\[([^\]]+)\]\s*$/.exec(lines[i]);
    if (header) { current = header[1]; continue; }
    if (current === section && new RegExp(`^\\s*${key}\\s*=`).test(lines[i])) {
      lines[i] = `${key} = ${value}`;
      return lines.join('\n');
    }
  }
  throw new Error(`config.toml has no ${section ? `[${section}] ` : ''}${key}`);
}

/** Keeps the server quiet but remembers warnings and errors for the final assertion. */
const serverProblems: string[] = [];
const quietLogger: AbciLogger = {
  info() {},
  warn: (msg, f) => { serverProblems.push(`warn: ${msg} ${JSON.stringify(f)}`); },
  error: (msg, f) => { serverProblems.push(`error: ${msg} ${JSON.stringify(f)}`); },
};

class Node {
  child: ChildProcess | null = null;
  output: string[] = [];

  constructor(readonly bin: string, readonly home: string, readonly rpcPort: number) {}

  start(): void {
    const child = spawn(this.bin, ['start', '--home', this.home], { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (chunk: Buffer) => {
      this.output.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      if (this.output.length > 400) this.output.splice(0, this.output.length - 400);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    this.child = child;
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  tail(n = 40): string {
    return this.output.slice(-n).join('\n');
  }

  async rpc(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const res = await fetch(`http://127.0.0.1:${this.rpcPort}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
      signal: AbortSignal.timeout(20_000),
    });
    const body = await res.json() as { result?: Record<string, unknown>; error?: unknown };
    if (body.error !== undefined) throw new Error(`${method}: ${JSON.stringify(body.error)}`);
    return body.result!;
  }

  async height(): Promise<number> {
    const status = await this.rpc('status') as { sync_info: { latest_block_height: string } };
    return Number(status.sync_info.latest_block_height);
  }

  /** Polls /status until the chain reaches `target`; throws with the node's log tail on timeout. */
  async waitForHeight(target: number, timeoutMs = 30_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    let last = -1;
    while (Date.now() < deadline) {
      if (this.child && this.child.exitCode !== null) {
        throw new Error(`cometbft exited (${this.child.exitCode}):\n${this.tail()}`);
      }
      try {
        last = await this.height();
        if (last >= target) return last;
      } catch {
        // RPC not up yet.
      }
      await sleep(200);
    }
    throw new Error(`height ${target} not reached in ${timeoutMs} ms (at ${last}):\n${this.tail()}`);
  }
}

// ---------------------------------------------------------------------------

const bin = findCometbft();

t.test('CometBFT drives AbciServer: blocks, a tx, restart handshake', { skip: bin ? false : 'cometbft not available' }, async (t) => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'r3mes-abci-e2e-'));
  const stateFile = path.join(home, 'kv-app-state.json');
  const servers: AbciServer[] = [];
  let node: Node | null = null;
  const killAll = () => { node?.child?.kill('SIGKILL'); };
  process.once('exit', killAll);
  t.teardown(async () => {
    await node?.stop(5_000);
    process.off('exit', killAll);
    for (const s of servers) await s.close();
    fs.rmSync(home, { recursive: true, force: true });
  });

  const init = spawnSync(bin!, ['init', '--home', home], { encoding: 'utf8', timeout: 30_000 });
  t.equal(init.status, 0, `cometbft init: ${init.stderr}`);

  const rpcPort = await freePort();
  const p2pPort = await freePort();

  /** Starts a fresh app + server on a free port and points config.toml at it. */
  const startApp = async (): Promise<KvApp> => {
    const app = new KvApp(stateFile);
    const server = new AbciServer(app, { logger: quietLogger });
    await server.listen('tcp://127.0.0.1:0');
    servers.push(server);
    const configPath = path.join(home, 'config', 'config.toml');
    let config = fs.readFileSync(configPath, 'utf8');
    config = setToml(config, '', 'proxy_app', JSON.stringify(server.address()));
    config = setToml(config, '', 'abci', '"socket"');
    config = setToml(config, '', 'log_level', '"info"');
    config = setToml(config, 'rpc', 'laddr', JSON.stringify(`tcp://127.0.0.1:${rpcPort}`));
    config = setToml(config, 'p2p', 'laddr', JSON.stringify(`tcp://127.0.0.1:${p2pPort}`));
    config = setToml(config, 'consensus', 'timeout_commit', '"200ms"');
    config = setToml(config, 'consensus', 'timeout_propose', '"1s"');
    config = setToml(config, 'tx_index', 'indexer', '"kv"');
    fs.writeFileSync(configPath, config);
    return app;
  };

  // --- First run: from genesis.
  const app1 = await startApp();
  node = new Node(bin!, home, rpcPort);
  node.start();
  const reached = await node.waitForHeight(3);
  t.ok(reached >= 3, `blocks are produced (height ${reached})`);
  t.equal(app1.initChainCalls, 1, 'InitChain once on a fresh chain');
  t.equal(app1.infoAnswers[0], 0n, 'first handshake Info reported height 0');

  const tx = Buffer.from('greeting=hello r3mes').toString('base64');
  const committed = await node.rpc('broadcast_tx_commit', { tx }) as {
    check_tx: { code: number }; tx_result: { code: number; events: { type: string }[] }; height: string;
  };
  t.equal(committed.check_tx.code, 0, 'CheckTx accepted');
  t.equal(committed.tx_result.code, 0, 'tx executed');
  t.ok(Number(committed.height) > 0, `tx landed in block ${committed.height}`);
  t.ok(committed.tx_result.events.some((e) => e.type === 'kv'), 'tx events came through');

  const bad = await node.rpc('broadcast_tx_sync', { tx: Buffer.from('no-equals-sign').toString('base64') }) as { code: number };
  t.equal(bad.code, 1, 'CheckTx rejection reaches the client');

  const query = async () => {
    const r = await node!.rpc('abci_query', { path: '/store', data: Buffer.from('greeting').toString('hex') }) as {
      response: { code: number; value: string };
    };
    return { code: r.response.code, value: Buffer.from(r.response.value ?? '', 'base64').toString('utf8') };
  };
  t.same(await query(), { code: 0, value: 'hello r3mes' }, 'abci_query reads the committed value');

  // --- Stop both processes; the app keeps only what Commit persisted.
  const heightBeforeStop = await node.height();
  await node.stop();
  await servers[0].close();
  const saved = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as SavedState;
  const savedHeight = BigInt(saved.height);
  t.ok(savedHeight >= BigInt(heightBeforeStop), `app persisted height ${savedHeight} (node was at ${heightBeforeStop})`);

  // --- Second run: a new app object loaded from disk, a new server, the same CometBFT home.
  const app2 = await startApp();
  t.equal(app2.lastHeight, savedHeight, 'app reloaded its committed height');
  node = new Node(bin!, home, rpcPort);
  node.start();
  const resumed = await node.waitForHeight(Number(savedHeight) + 3);
  t.ok(resumed >= Number(savedHeight) + 3, `blocks continue after restart (height ${resumed})`);
  t.equal(app2.infoAnswers[0], savedHeight, 'handshake Info answered the committed height');
  t.equal(app2.initChainCalls, 0, 'no InitChain on restart');
  // CometBFT's latest_block_height is its block store, saved before FinalizeBlock and Commit: the
  // app's Commit of that height may still be under way.
  for (let i = 0; i < 50 && app2.lastHeight < savedHeight + 3n; i++) await sleep(50);
  t.ok(app2.lastHeight >= savedHeight + 3n, 'app kept committing after the handshake');
  t.same(await query(), { code: 0, value: 'hello r3mes' }, 'state survived the restart');

  const again = await node.rpc('broadcast_tx_commit', { tx: Buffer.from('after=restart').toString('base64') }) as {
    tx_result: { code: number }; height: string;
  };
  t.equal(again.tx_result.code, 0, 'a tx lands after the restart too');
  t.ok(BigInt(again.height) > savedHeight);
  t.same(serverProblems, [], 'the server logged no warnings or errors');
});
