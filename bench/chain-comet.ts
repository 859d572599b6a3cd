/**
 * Chain throughput and latency through a real single-node CometBFT v0.38 (test/helpers/devnode.ts:
 * the app as `r3mesd start --no-comet`, CometBFT as its own process, ABCI over a socket, LevelDB
 * with fsync on commit), optionally side by side with the Cosmos SDK's `simd` (v0.50) under the
 * same load generator. Pre-signed MsgSend txs go out with `broadcast_tx_sync`; commits are seen
 * through a NewBlockHeader subscription on /websocket (CometBFT publishes it after the app's
 * Commit). Reports tx/s, the latency from broadcast to the NewBlockHeader event of the block
 * holding the tx, and the CPU each process spent per committed tx (the figure that holds still on
 * a shared machine). Scenarios (BENCH_SCENARIOS, default `full,low`; run in the order idle, low, full
 * on one node per chain):
 * - idle: no txs for BENCH_IDLE_SECONDS (10); CPU per (empty) block.
 * - low: an open-loop BENCH_LOW_RATE tx/s (80) for BENCH_LOW_SECONDS (30), one tx per request.
 * - full: every sender's txs as fast as the node takes them, in JSON-RPC batches.
 *
 *   npx tsx bench/chain-comet.ts [senders=1000] [txsPerSender=10] [connections=32] [batch=10] [timeoutCommit=200ms]
 *   BENCH_SIMD=/path/to/simd npx tsx bench/chain-comet.ts   # with the Cosmos SDK peer (bench/README.md: how to build it)
 *   BENCH_CHAINS=r3mes,simd,simd-socket BENCH_ROUNDS=2 ...     # which chains, interleaved rounds
 *   BENCH_TX_INDEXER=null npx tsx bench/chain-comet.ts   # without CometBFT's kv tx indexer
 *   BENCH_COMET_PPROF=127.0.0.1:6060 npx tsx bench/chain-comet.ts   # then: go tool pprof http://127.0.0.1:6060/debug/pprof/profile?seconds=10
 *   BENCH_COMET_PPROF=127.0.0.1:6060 BENCH_COMET_PROFILE=/tmp/p ...  # the bench saves /tmp/p-<chain>.prof over the low-rate sending
 *
 * Chains: `r3mes`; `simd` as simd runs by default (CometBFT compiled in, ABCI by function call:
 * one process); `simd-socket` (simd's app alone, `start --with-comet=false`, beside the same
 * `cometbft` binary over a unix socket: the transport R3MES uses). Without BENCH_SIMD only r3mes
 * runs, and the bench says so.
 *
 * CometBFT settings the bench changes for every chain (config.toml), and why:
 * - consensus.timeout_commit = 200ms (devnode default 300ms, node default 1s): the block
 *   interval is then set by how fast the app executes, not by an idle wait; latency falls.
 * - mempool.size = 50000 (default 5000): with thousands of txs in flight a full mempool would
 *   reject txs ("mempool is full") and the bench would measure refusals, not throughput.
 * - mempool.recheck stays true (the default): after every block the txs left in the mempool go
 *   through CheckTx again; that cost is part of the figures. It must: the app rebuilds its
 *   CheckTx state from committed state at Commit (as the Cosmos SDK does) and relies on
 *   ReCheckTx to re-apply pending txs. With recheck = false a sender's next tx fails with
 *   "account sequence mismatch" as soon as a block commits while earlier ones are pending.
 * - tx_index.indexer stays "kv" (what r3mesd init sets, and simd's default; REST tx lookup needs it).
 * - create_empty_blocks stays true (blocks keep coming while idle; no effect under load).
 * - rpc.max_request_batch_size stays 10 (the batch size used here).
 * Not tunable from config: CometBFT v0.38's socket ABCI client arms its flush timer with
 * `flushThrottleMS = 20` as a time.Duration, i.e. 20 ns: a queued CheckTx is flushed at once, but
 * the timer re-fires every 20 ns in a fresh goroutine until the client's send goroutine takes it,
 * which on a busy 2-core machine costs CPU and delays CheckTx. R3MES starts CometBFT with spare
 * Go Ps (app/node/cometbft.ts cometbftEnv: GOMAXPROCS ≥ 8), which shortens those spins.
 */
import { createHash } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpus, loadavg, tmpdir } from 'node:os';
import { toBech32 } from '@cosmjs/encoding';
import { Comet38Client } from '@cosmjs/tendermint-rpc';
import { QueryAccountRequest, QueryAccountResponse } from 'cosmjs-types/cosmos/auth/v1beta1/query';
import { BaseAccount } from 'cosmjs-types/cosmos/auth/v1beta1/auth';
import { setTomlValues, type TomlValue } from '../app/node/comet-config.ts';
import { cometbftBinary, freePort, startDevNode } from '../test/helpers/devnode.ts';
import { type BenchKey, benchKey, signedSend, signedSends } from './chain-inprocess.ts';

const [senders, txsPerSender, concurrency, batch] = [1000, 10, 32, 10].map((d, i) => Number(process.argv[2 + i] ?? d));
const timeoutCommit = process.argv[6] ?? '200ms';
const indexer = process.env.BENCH_TX_INDEXER ?? 'kv';
const scenarios = (process.env.BENCH_SCENARIOS ?? 'full,low').split(',').map((s) => s.trim()).filter((s) => s !== '');
const lowRate = Number(process.env.BENCH_LOW_RATE ?? 80);
const lowSeconds = Number(process.env.BENCH_LOW_SECONDS ?? 30);
const rounds = Number(process.env.BENCH_ROUNDS ?? 1);
const simdBinary = process.env.BENCH_SIMD;
const chainsWanted = (process.env.BENCH_CHAINS ?? 'r3mes,simd').split(',').map((s) => s.trim()).filter((s) => s !== '');
for (const c of chainsWanted) if (c !== 'r3mes' && c !== 'simd' && c !== 'simd-socket') throw new Error(`BENCH_CHAINS: unknown chain "${c}" (r3mes, simd, simd-socket)`);
const FUND_PER_SENDER = 1_000_000_000n;
const MSGS_PER_FUNDING_TX = 100;
/** The low-rate scenario's senders: each sends one tx every LOW_SENDER_PERIOD_S seconds (its previous one has committed by then). */
const LOW_SENDER_PERIOD_S = 2;
const LOW_KEY_BASE = 100_000;

for (const s of scenarios) if (s !== 'full' && s !== 'low' && s !== 'idle') throw new Error(`BENCH_SCENARIOS: unknown scenario "${s}" (idle, low, full)`);
const idleSeconds = Number(process.env.BENCH_IDLE_SECONDS ?? 10);
if (!(lowRate > 0) || !(lowSeconds > 0)) throw new Error('BENCH_LOW_RATE and BENCH_LOW_SECONDS must be positive numbers');

const nowMs = (): number => performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const hashHex = (tx: Uint8Array): string => createHash('sha256').update(tx).digest('hex').toUpperCase();

/** One chain under test: R3MES (app + CometBFT, test/helpers/devnode.ts) or the Cosmos SDK's simd beside the same CometBFT. */
interface BenchChain {
  name: string;
  rpcUrl: string;
  chainId: string;
  denom: string;
  home: string;
  /** A bench key with its address in this chain's bech32 prefix. */
  key(index: number): BenchKey;
  faucet: BenchKey;
  /** Label of a child process of the bench by its command name, for the CPU table. */
  processLabel(comm: string): string;
  rpc<T>(method: string, params?: Record<string, unknown>): Promise<T>;
  stop(): Promise<void>;
}

async function rpcCall<T>(rpcUrl: string, method: string, params: Record<string, unknown> = {}): Promise<T> {
  const response = await fetch(rpcUrl, { method: 'POST', body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }), signal: AbortSignal.timeout(10_000) });
  const body = (await response.json()) as { result?: T; error?: { message: string; data?: string } };
  if (body.error !== undefined) throw new Error(`${method}: ${body.error.message} ${body.error.data ?? ''}`);
  return body.result as T;
}

async function waitForHeight(rpcUrl: string, height: bigint, home: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      const status = await rpcCall<{ sync_info: { latest_block_height: string } }>(rpcUrl, 'status');
      if (BigInt(status.sync_info.latest_block_height) >= height) return;
      last = `height ${status.sync_info.latest_block_height}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await sleep(200);
  }
  throw new Error(`node did not reach height ${height} within ${timeoutMs} ms (last: ${last}); logs in ${home}`);
}

/** CometBFT settings both chains get (see the file header). */
function cometTuning(): Array<[string, string, TomlValue]> {
  return [
    ['consensus', 'timeout_commit', timeoutCommit],
    ['mempool', 'size', 50_000],
    ['mempool', 'recheck', true],
    ['tx_index', 'indexer', indexer],
    // BENCH_COMET_PPROF=127.0.0.1:6060 serves Go's pprof, for profiling CometBFT during a run.
    ['rpc', 'pprof_laddr', process.env.BENCH_COMET_PPROF ?? ''],
  ];
}

async function startR3mes(): Promise<BenchChain> {
  const faucet = benchKey(9_999_999);
  const node = await startDevNode({ accounts: [{ address: faucet.address, coins: `${10n ** 18n}ur3mes` }], timeoutCommit });
  // Tune CometBFT (see the header) and restart it; the app keeps running and CometBFT's handshake resyncs.
  const heightBefore = (await node.status()).height;
  await node.killComet('SIGTERM');
  const configPath = join(node.home, 'config', 'config.toml');
  writeFileSync(configPath, setTomlValues(readFileSync(configPath, 'utf8'), cometTuning()));
  node.startComet();
  await node.waitForHeight(heightBefore + 2n);
  return {
    name: 'R3MES', rpcUrl: node.rpcUrl, chainId: node.chainId, denom: 'ur3mes', home: node.home, faucet,
    key: (index) => benchKey(index),
    processLabel: (comm) => (comm === 'cometbft' ? 'cometbft' : 'app (r3mesd)'),
    rpc: (method, params) => node.rpc(method, params),
    stop: () => node.stop(),
  };
}

/**
 * The Cosmos SDK peer: `simd` (BENCH_SIMD names the binary; bench/README.md says how it was built)
 * runs only the app (`start --with-comet=false`, ABCI on a unix socket), and the same CometBFT
 * binary as R3MES's runs beside it with the same config.toml tuning, so both chains are two
 * processes talking ABCI over a socket. The genesis file is rewritten from the SDK's AppGenesis
 * layout into CometBFT's (which the standalone `cometbft` reads).
 */
async function startSimd(binary: string, abciMode: 'inprocess' | 'socket'): Promise<BenchChain> {
  const home = mkdtempSync(join(tmpdir(), 'r3mes-simd-'));
  const chainId = 'simd-bench-1';
  const [rpcPort, p2pPort] = [await freePort(), await freePort()];
  const rpcUrl = `http://127.0.0.1:${rpcPort}`;
  const run = (args: string[]) => execFileSync(binary, [...args, '--home', home], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  run(['init', 'bench', '--chain-id', chainId, '--default-denom', 'stake']);
  const key = (index: number): BenchKey => {
    const k = benchKey(index);
    return { ...k, address: toBech32('cosmos', k.addressBytes) };
  };
  const faucet = key(9_999_999);
  const val = JSON.parse(run(['keys', 'add', 'val', '--keyring-backend', 'test', '--output', 'json'])) as { address: string };
  run(['genesis', 'add-genesis-account', val.address, '1000000000000stake']);
  run(['genesis', 'add-genesis-account', faucet.address, `${10n ** 18n}stake`]);
  run(['genesis', 'gentx', 'val', '100000000000stake', '--chain-id', chainId, '--keyring-backend', 'test']);
  run(['genesis', 'collect-gentxs']);
  const genesisPath = join(home, 'config', 'genesis.json');
  if (abciMode === 'socket') toCometGenesis(genesisPath);
  const abci = `unix://${join(home, 'abci.sock')}`;
  const configPath = join(home, 'config', 'config.toml');
  writeFileSync(configPath, setTomlValues(readFileSync(configPath, 'utf8'), [
    ['', 'proxy_app', abci],
    ['rpc', 'laddr', `tcp://127.0.0.1:${rpcPort}`],
    ['p2p', 'laddr', `tcp://127.0.0.1:${p2pPort}`],
    ...cometTuning(),
  ]));
  const appTomlPath = join(home, 'config', 'app.toml');
  writeFileSync(appTomlPath, setTomlValues(readFileSync(appTomlPath, 'utf8'), [
    ['api', 'enable', false],
    ['grpc', 'enable', false],
    ['grpc-web', 'enable', false],
  ]));
  const appLog = createWriteStream(join(home, 'app.log'), { flags: 'a' });
  const cometLog = createWriteStream(join(home, 'cometbft.log'), { flags: 'a' });
  const children: ChildProcess[] = [];
  const startChild = (file: string, args: string[], log: NodeJS.WritableStream) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    children.push(child);
  };
  if (abciMode === 'inprocess') {
    // As simd runs by default: CometBFT v0.38.25 compiled into the same process, ABCI by function call.
    startChild(binary, ['start', '--home', home, '--log_level', 'error'], appLog);
  } else {
    startChild(binary, ['start', '--home', home, '--with-comet=false', '--transport', 'socket', '--address', abci, '--log_level', 'error'], appLog);
    for (let deadline = Date.now() + 30_000; !existsSync(join(home, 'abci.sock')); await sleep(100)) {
      if (Date.now() > deadline) throw new Error(`simd did not open ${abci} within 30 s; logs in ${home}`);
    }
    startChild(cometbftBinary(), ['start', '--home', home], cometLog);
  }
  await waitForHeight(rpcUrl, 2n, home);
  return {
    name: abciMode === 'inprocess' ? 'simd' : 'simd-socket', rpcUrl, chainId, denom: 'stake', home, faucet, key,
    processLabel: (comm) => (comm === 'cometbft' ? 'cometbft' : abciMode === 'inprocess' ? 'simd (app + CometBFT)' : 'app (simd)'),
    rpc: (method, params) => rpcCall(rpcUrl, method, params),
    async stop() {
      for (const child of children.reverse()) {
        if (child.exitCode !== null || child.signalCode !== null) continue;
        const exited = new Promise<void>((done) => child.once('exit', () => done()));
        child.kill('SIGTERM');
        await Promise.race([exited, sleep(10_000)]);
        child.kill('SIGKILL');
      }
      appLog.end();
      cometLog.end();
      if (process.env.R3MES_KEEP_TEST_HOMES === undefined) rmSync(home, { recursive: true, force: true });
    },
  };
}

/** Rewrites the SDK's AppGenesis layout (consensus.params, numeric initial_height) into CometBFT's genesis doc, which a standalone `cometbft` reads. */
function toCometGenesis(genesisPath: string): void {
  const app = JSON.parse(readFileSync(genesisPath, 'utf8')) as {
    genesis_time: string; chain_id: string; initial_height: number | string; app_hash: string | null; app_state: unknown;
    consensus?: { params?: unknown; validators?: unknown[] };
  };
  writeFileSync(genesisPath, JSON.stringify({
    genesis_time: app.genesis_time, chain_id: app.chain_id, initial_height: String(app.initial_height ?? 1),
    consensus_params: app.consensus?.params, validators: app.consensus?.validators ?? [], app_hash: app.app_hash ?? '', app_state: app.app_state,
  }, null, 2));
}

interface AbciQueryResult { response: { code: number; log: string; value: string | null } }

async function queryAccount(chain: BenchChain, address: string): Promise<{ accountNumber: bigint; sequence: bigint } | undefined> {
  const data = Buffer.from(QueryAccountRequest.encode({ address }).finish()).toString('hex');
  const { response } = await chain.rpc<AbciQueryResult>('abci_query', { path: '/cosmos.auth.v1beta1.Query/Account', data });
  if (response.code !== 0) return undefined;
  const any = QueryAccountResponse.decode(Buffer.from(response.value ?? '', 'base64')).account;
  if (any === undefined) return undefined;
  const account = BaseAccount.decode(any.value);
  return { accountNumber: account.accountNumber, sequence: account.sequence };
}

interface BroadcastResult { code: number; log: string; hash: string }

/** POSTs a JSON-RPC body over a keep-alive HTTP connection and parses the reply. */
function postJson<T>(agent: Agent, rpcUrl: string, body: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(rpcUrl, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as T);
        } catch (error) {
          reject(error);
        }
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

type RpcReply = { id: number; result?: BroadcastResult; error?: { message: string; data?: string } };

/**
 * One JSON-RPC batch of broadcast_tx_sync calls over a keep-alive HTTP connection. CometBFT
 * runs the calls of a batch one after another, so txs of one sender in a batch stay in order.
 * node:http costs the client far less CPU per request than fetch (undici) here.
 */
async function broadcastBatch(agent: Agent, rpcUrl: string, txsBase64: string[]): Promise<BroadcastResult[]> {
  const body = JSON.stringify(txsBase64.map((tx, id) => ({ jsonrpc: '2.0', id, method: 'broadcast_tx_sync', params: { tx } })));
  const replies = await postJson<RpcReply[]>(agent, rpcUrl, body);
  const results: BroadcastResult[] = [];
  for (const reply of replies) {
    if (reply.result === undefined) throw new Error(`broadcast_tx_sync: ${reply.error?.message} ${reply.error?.data ?? ''}`);
    results[reply.id] = reply.result;
  }
  return results;
}

/** One broadcast_tx_sync call (not a batch), as a wallet sends a tx. */
async function broadcastOne(agent: Agent, rpcUrl: string, txBase64: string): Promise<BroadcastResult> {
  const reply = await postJson<RpcReply>(agent, rpcUrl, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'broadcast_tx_sync', params: { tx: txBase64 } }));
  if (reply.result === undefined) throw new Error(`broadcast_tx_sync: ${reply.error?.message} ${reply.error?.data ?? ''}`);
  return reply.result;
}

/** CPU ms (user + system) of this process's children by label (Linux /proc): the app and CometBFT. */
function childCpuMs(chain: BenchChain): Map<string, number> {
  const ticksPerMs = 100 / 1000; // USER_HZ is 100 on Linux
  const byName = new Map<string, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    const close = stat.lastIndexOf(')');
    const name = stat.slice(stat.indexOf('(') + 1, close);
    const fields = stat.slice(close + 2).split(' ');
    if (Number(fields[1]) !== process.pid) continue; // fields[1] is the parent pid
    const label = chain.processLabel(name);
    byName.set(label, (byName.get(label) ?? 0) + (Number(fields[11]) + Number(fields[12])) / ticksPerMs);
  }
  const self = process.cpuUsage();
  byName.set('bench client', (self.user + self.system) / 1000);
  return byName;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Funds `keys` from the chain's faucet (100 MsgSends a tx) and returns their account numbers. */
async function fund(chain: BenchChain, keys: BenchKey[]): Promise<Map<string, bigint>> {
  const faucetAccount = await queryAccount(chain, chain.faucet.address);
  if (faucetAccount === undefined) throw new Error(`bench: ${chain.name} faucet account missing`);
  let sequence = faucetAccount.sequence;
  const agent = new Agent({ keepAlive: false, maxSockets: 1 }); // a few requests: no keep-alive, so no reuse of a socket the server has closed
  for (let i = 0; i < keys.length; i += MSGS_PER_FUNDING_TX) {
    const sends = keys.slice(i, i + MSGS_PER_FUNDING_TX).map((k) => ({ to: k.address, amount: FUND_PER_SENDER.toString() }));
    const tx = signedSends({ from: chain.faucet, sends, accountNumber: faucetAccount.accountNumber, sequence: sequence++, chainId: chain.chainId, gasLimit: 20_000_000n, feeAmount: '500000', denom: chain.denom });
    const result = await broadcastOne(agent, chain.rpcUrl, Buffer.from(tx).toString('base64'));
    if (result.code !== 0) throw new Error(`bench: ${chain.name} funding tx rejected: ${result.code} ${result.log}`);
  }
  agent.destroy();
  for (let deadline = Date.now() + 120_000; ; await sleep(200)) {
    if ((await queryAccount(chain, chain.faucet.address))?.sequence === sequence) break;
    if (Date.now() > deadline) throw new Error(`bench: ${chain.name} funding txs not committed within 120 s`);
  }
  const accountNumbers = new Map<string, bigint>();
  for (let i = 0; i < keys.length; i += 16) {
    await Promise.all(keys.slice(i, i + 16).map(async (k) => {
      const account = await queryAccount(chain, k.address);
      if (account === undefined) throw new Error(`bench: ${chain.name} sender ${k.address} not funded`);
      accountNumbers.set(k.address, account.accountNumber);
    }));
  }
  return accountNumbers;
}

/**
 * Commits seen through a NewBlockHeader subscription: CometBFT publishes it after the app's
 * Commit. The header event is small; a NewBlock subscription would make CometBFT JSON-encode
 * every tx result and event of each block (a fifth of its CPU in a pprof profile), so the txs
 * come from /block instead.
 */
class CommitWatcher {
  readonly hashes = new Map<string, { sent: number; answered: number; committed: number }>();
  readonly blocks: Array<{ height: number; txs: number; ours: number; at: number }> = [];
  committed = 0;
  lastCommitAt = 0;
  expected = Infinity; // set once every broadcast has been answered
  private allCommitted: () => void = () => {};
  readonly done = new Promise<void>((resolve) => { this.allCommitted = resolve; });
  private client: Comet38Client | undefined;

  constructor(private readonly chain: BenchChain) {}

  async start(): Promise<void> {
    this.client = await Comet38Client.connect(this.chain.rpcUrl.replace(/^http/, 'ws')); // the client appends /websocket
    this.client.subscribeNewBlockHeader().addListener({
      next: (header) => {
        const at = nowMs();
        void this.chain.rpc<{ block: { data: { txs: string[] | null } } }>('block', { height: String(header.height) }).then((result) => {
          const txs = result.block.data.txs ?? [];
          let ours = 0;
          for (const tx of txs) {
            const entry = this.hashes.get(hashHex(Buffer.from(tx, 'base64')));
            if (entry !== undefined && entry.committed === 0) {
              entry.committed = at;
              ours++;
            }
          }
          this.blocks.push({ height: header.height, txs: txs.length, ours, at });
          this.committed += ours;
          if (ours > 0) this.lastCommitAt = Math.max(this.lastCommitAt, at);
          this.check();
        }, (error: unknown) => console.error(`bench: /block ${header.height}:`, error));
      },
      error: (error: unknown) => console.error('bench: subscription error', error),
      complete: () => {},
    });
    await sleep(500);
  }

  setExpected(n: number): void {
    this.expected = n;
    this.check();
  }

  private check(): void {
    if (this.committed >= this.expected) this.allCommitted();
  }

  async finish(): Promise<void> {
    await Promise.race([this.done, sleep(120_000)]);
    if (this.committed < this.expected) await sleep(2000);
  }

  stop(): void {
    this.client?.disconnect();
  }

  latencies(): number[] {
    return [...this.hashes.values()].filter((e) => e.committed > 0).map((e) => e.committed - e.sent).sort((a, b) => a - b);
  }

  ourBlocks(): Array<{ height: number; txs: number; ours: number; at: number }> {
    return this.blocks.filter((b) => b.ours > 0).sort((a, b) => a.height - b.height);
  }

  /** block_results of the blocks that held our txs: how many failed (code ≠ 0). */
  async failedInBlocks(): Promise<number> {
    let failed = 0;
    for (const b of this.ourBlocks()) {
      const results = await this.chain.rpc<{ txs_results: Array<{ code: number }> | null }>('block_results', { height: String(b.height) });
      failed += (results.txs_results ?? []).filter((r) => r.code !== 0).length;
    }
    return failed;
  }
}

/** With BENCH_COMET_PPROF and BENCH_COMET_PROFILE set, fetches a `seconds`-long CPU profile of CometBFT into `<BENCH_COMET_PROFILE>-<chain>.prof`. */
async function cometProfile(chain: BenchChain, seconds: number): Promise<void> {
  const pprof = process.env.BENCH_COMET_PPROF;
  const out = process.env.BENCH_COMET_PROFILE;
  if (pprof === undefined || out === undefined) return;
  const response = await fetch(`http://${pprof}/debug/pprof/profile?seconds=${Math.max(1, Math.floor(seconds))}`);
  writeFileSync(`${out}-${chain.name}.prof`, Buffer.from(await response.arrayBuffer()));
}

/** The figures of one scenario on one chain; `cpuPerTx` by process label, µs. */
interface ScenarioResult {
  chain: string;
  scenario: 'full' | 'low' | 'idle';
  rows: Array<[string, string]>;
  txPerS: number;
  p50: number;
  p99: number;
  cpuPerTx: Map<string, number>;
}

function cpuRows(chain: BenchChain, before: Map<string, number>, after: Map<string, number>, committed: number, rows: Array<[string, string]>): Map<string, number> {
  const perTx = new Map<string, number>();
  let nodeTotal = 0;
  for (const [name, cpuMs] of after) {
    const used = cpuMs - (before.get(name) ?? 0);
    const us = (used * 1000) / Math.max(1, committed);
    perTx.set(name, us);
    if (name !== 'bench client') nodeTotal += us;
    rows.push([`CPU of ${name}: ms / µs per committed tx`, `${used.toFixed(0)} / ${us.toFixed(0)}`]);
  }
  perTx.set('node (app + cometbft)', nodeTotal);
  rows.push(['CPU of the node (app + CometBFT): µs per committed tx', nodeTotal.toFixed(0)]);
  void chain;
  return perTx;
}

/** Full push: every sender's txs as fast as the node takes them (the original scenario). */
async function fullPush(chain: BenchChain, keys: BenchKey[], accountNumbers: Map<string, bigint>): Promise<ScenarioResult> {
  const total = senders * txsPerSender;
  // Pre-sign everything: sender i sends txsPerSender txs (sequences 0..) to sender i+1.
  const signStart = nowMs();
  const perSender: Uint8Array[][] = keys.map((from: BenchKey, i) => Array.from({ length: txsPerSender }, (_, s) => signedSend({
    from, to: keys[(i + 1) % senders].address, amount: '1', accountNumber: accountNumbers.get(from.address) ?? 0n, sequence: BigInt(s), chainId: chain.chainId, denom: chain.denom,
  })));
  const signMs = nowMs() - signStart;
  const prepared = perSender.map((txs) => txs.map((tx) => ({ base64: Buffer.from(tx).toString('base64'), hash: hashHex(tx) })));
  const watcher = new CommitWatcher(chain);
  await watcher.start();
  try {
    // Broadcast: `concurrency` workers, each owning every concurrency-th sender, one tx at a time.
    const rejected: string[] = [];
    let lastAcceptedAt = 0;
    const cpuBefore = childCpuMs(chain);
    const start = nowMs();
    const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
    await Promise.all(Array.from({ length: concurrency }, async (_, worker) => {
      // This worker's txs, sequence-major: a sender's txs go out in order, one batch after another.
      const mine = prepared.filter((_, i) => i % concurrency === worker);
      const queue = Array.from({ length: txsPerSender }, (_, s) => mine.map((txs) => txs[s])).flat();
      for (let i = 0; i < queue.length; i += batch) {
        const chunk = queue.slice(i, i + batch);
        const sent = nowMs();
        for (const tx of chunk) watcher.hashes.set(tx.hash, { sent, answered: 0, committed: 0 });
        const results = await broadcastBatch(agent, chain.rpcUrl, chunk.map((tx) => tx.base64));
        results.forEach((result, j) => {
          if (result.code === 0) return;
          watcher.hashes.delete(chunk[j].hash);
          if (rejected.length < 5) rejected.push(`${result.code} ${result.log}`);
        });
        lastAcceptedAt = nowMs();
      }
    }));
    agent.destroy();
    const broadcastMs = lastAcceptedAt - start;
    const expected = watcher.hashes.size;
    watcher.setExpected(expected);
    await watcher.finish();
    const cpuAfter = childCpuMs(chain);

    const ourBlocks = watcher.ourBlocks();
    const failed = await watcher.failedInBlocks();
    const latencies = watcher.latencies();
    const spanMs = watcher.lastCommitAt - start;
    const intervals = ourBlocks.slice(1).map((b, i) => b.at - ourBlocks[i].at);
    const committed = watcher.committed;
    const txPerS = (committed * 1000) / spanMs;
    const rows: Array<[string, string]> = [
      ['pre-signing (outside the timed region)', `${total} txs in ${(signMs / 1000).toFixed(1)} s`],
      ['txs broadcast / accepted by CheckTx / committed', `${total} / ${expected} / ${committed}`],
      ['txs failed in blocks (block_results code ≠ 0)', String(failed)],
      ['broadcast rate (CheckTx accepted / s)', Math.round((expected * 1000) / broadcastMs).toLocaleString('en')],
      ['sustained tx/s (committed / first broadcast → last commit)', Math.round(txPerS).toLocaleString('en')],
      ['latency broadcast → commit p50 ms', percentile(latencies, 50).toFixed(0)],
      ['latency broadcast → commit p99 ms', percentile(latencies, 99).toFixed(0)],
      ['latency max ms', (latencies[latencies.length - 1] ?? NaN).toFixed(0)],
      ['blocks with bench txs / txs per block (min–max)', `${ourBlocks.length} / ${Math.min(...ourBlocks.map((b) => b.ours))}–${Math.max(...ourBlocks.map((b) => b.ours))}`],
      ['block interval ms (median)', percentile([...intervals].sort((a, b) => a - b), 50).toFixed(0)],
    ];
    const cpuPerTx = cpuRows(chain, cpuBefore, cpuAfter, committed, rows);
    if (rejected.length > 0) rows.push(['CheckTx rejections (first few)', rejected.join('; ')]);
    if (committed < expected || failed > 0) throw new Error(`bench: ${chain.name}: ${expected - committed} accepted txs not committed, ${failed} failed (logs in ${chain.home}; R3MES_KEEP_TEST_HOMES=1 keeps it)`);
    return { chain: chain.name, scenario: 'full', rows, txPerS, p50: percentile(latencies, 50), p99: percentile(latencies, 99), cpuPerTx };
  } finally {
    watcher.stop();
  }
}

/**
 * Low rate: an open-loop load of `lowRate` tx/s for `lowSeconds` s, one broadcast_tx_sync per
 * tx (no batches, as wallets send them), on a schedule that does not wait for answers. Each of
 * the rate × 2 senders sends one tx every 2 s, so a sender's previous tx has committed before its
 * next one goes out. Latency runs from the send to the NewBlockHeader of the block holding the tx;
 * CPU per tx counts everything each process spent from the first send to the last commit (idle
 * blocks included: at low load that is part of the cost).
 */
async function lowLoad(chain: BenchChain, keys: BenchKey[], accountNumbers: Map<string, bigint>): Promise<ScenarioResult> {
  const total = Math.round(lowRate * lowSeconds);
  const n = keys.length;
  const txs = Array.from({ length: total }, (_, i) => {
    const from = keys[i % n];
    const tx = signedSend({ from, to: keys[(i + 1) % n].address, amount: '1', accountNumber: accountNumbers.get(from.address) ?? 0n, sequence: BigInt(Math.floor(i / n)), chainId: chain.chainId, denom: chain.denom });
    return { base64: Buffer.from(tx).toString('base64'), hash: hashHex(tx) };
  });
  const watcher = new CommitWatcher(chain);
  await watcher.start();
  try {
    const rejected: string[] = [];
    const answers: Promise<void>[] = [];
    const agent = new Agent({ keepAlive: true, maxSockets: 64 });
    let accepted = 0;
    let sendErrors = 0;
    const cpuBefore = childCpuMs(chain);
    const start = nowMs();
    // BENCH_COMET_PROFILE=<file prefix> (with BENCH_COMET_PPROF): a CPU profile of CometBFT over the sending time only.
    const profile = cometProfile(chain, lowSeconds);
    let lateMs = 0;
    for (let i = 0; i < total; i++) {
      const due = start + (i * 1000) / lowRate;
      const wait = due - nowMs();
      if (wait > 1) await sleep(wait);
      lateMs = Math.max(lateMs, nowMs() - due);
      const tx = txs[i];
      const entry = { sent: nowMs(), answered: 0, committed: 0 };
      watcher.hashes.set(tx.hash, entry);
      answers.push(broadcastOne(agent, chain.rpcUrl, tx.base64).then((result) => {
        entry.answered = nowMs();
        if (result.code === 0) {
          accepted++;
          return;
        }
        watcher.hashes.delete(tx.hash);
        if (rejected.length < 5) rejected.push(`${result.code} ${result.log}`);
      }, (error: unknown) => {
        // A request that failed (e.g. a kept-alive socket the server closed): the tx counts as not sent.
        watcher.hashes.delete(tx.hash);
        sendErrors++;
        if (rejected.length < 5) rejected.push(`request failed: ${(error as Error).message}`);
      }));
    }
    const sendMs = nowMs() - start;
    await Promise.all(answers);
    await profile;
    agent.destroy();
    watcher.setExpected(accepted);
    await watcher.finish();
    const cpuAfter = childCpuMs(chain);
    const failed = await watcher.failedInBlocks();
    const latencies = watcher.latencies();
    const checkTx = [...watcher.hashes.values()].map((e) => e.answered - e.sent).sort((a, b) => a - b);
    const ourBlocks = watcher.ourBlocks();
    const allBlocks = [...watcher.blocks].sort((a, b) => a.height - b.height);
    const intervals = allBlocks.slice(1).map((b, i) => b.at - allBlocks[i].at).sort((a, b) => a - b);
    const committed = watcher.committed;
    const rows: Array<[string, string]> = [
      ['offered rate tx/s × s (achieved rate; latest send behind schedule)', `${lowRate} × ${lowSeconds} (${((total * 1000) / sendMs).toFixed(1)}; ${lateMs.toFixed(0)} ms)`],
      ['txs broadcast / accepted by CheckTx / committed', `${total} / ${accepted} / ${committed}${sendErrors > 0 ? ` (${sendErrors} requests failed)` : ''}`],
      ['txs failed in blocks (block_results code ≠ 0)', String(failed)],
      ['broadcast_tx_sync answer (CheckTx round trip) p50 / p99 ms', `${percentile(checkTx, 50).toFixed(1)} / ${percentile(checkTx, 99).toFixed(1)}`],
      ['latency broadcast → commit p50 ms', percentile(latencies, 50).toFixed(0)],
      ['latency broadcast → commit p99 ms', percentile(latencies, 99).toFixed(0)],
      ['latency max ms', (latencies[latencies.length - 1] ?? NaN).toFixed(0)],
      ['blocks with bench txs / txs per block (min–max)', `${ourBlocks.length} / ${Math.min(...ourBlocks.map((b) => b.ours))}–${Math.max(...ourBlocks.map((b) => b.ours))}`],
      ['block interval ms (p50 / p99)', `${percentile(intervals, 50).toFixed(0)} / ${percentile(intervals, 99).toFixed(0)}`],
    ];
    const cpuPerTx = cpuRows(chain, cpuBefore, cpuAfter, committed, rows);
    if (rejected.length > 0) rows.push(['CheckTx rejections (first few)', rejected.join('; ')]);
    if (committed < accepted || failed > 0) throw new Error(`bench: ${chain.name}: ${accepted - committed} accepted txs not committed, ${failed} failed (logs in ${chain.home}; R3MES_KEEP_TEST_HOMES=1 keeps it)`);
    return { chain: chain.name, scenario: 'low', rows, txPerS: (committed * 1000) / (watcher.lastCommitAt - start), p50: percentile(latencies, 50), p99: percentile(latencies, 99), cpuPerTx };
  } finally {
    watcher.stop();
  }
}

/** Idle: no txs for `idleSeconds` s; the CPU each process spends per block (empty blocks keep coming). */
async function idle(chain: BenchChain): Promise<ScenarioResult> {
  const watcher = new CommitWatcher(chain);
  await watcher.start();
  try {
    const cpuBefore = childCpuMs(chain);
    const start = nowMs();
    await sleep(idleSeconds * 1000);
    const cpuAfter = childCpuMs(chain);
    const seconds = (nowMs() - start) / 1000;
    const blocks = watcher.blocks.length;
    const rows: Array<[string, string]> = [['blocks in ' + seconds.toFixed(1) + ' s', String(blocks)]];
    const perBlock = new Map<string, number>();
    let node = 0;
    for (const [name, cpuMs] of cpuAfter) {
      const used = cpuMs - (cpuBefore.get(name) ?? 0);
      perBlock.set(name, (used * 1000) / Math.max(1, blocks));
      if (name !== 'bench client') node += (used * 1000) / Math.max(1, blocks);
      rows.push([`CPU of ${name}: ms / µs per block`, `${used.toFixed(0)} / ${((used * 1000) / Math.max(1, blocks)).toFixed(0)}`]);
    }
    perBlock.set('node (app + cometbft)', node);
    rows.push(['CPU of the node (app + CometBFT): µs per block', node.toFixed(0)]);
    return { chain: chain.name, scenario: 'idle', rows, txPerS: NaN, p50: NaN, p99: NaN, cpuPerTx: perBlock };
  } finally {
    watcher.stop();
  }
}

async function runChain(name: string): Promise<ScenarioResult[]> {
  const chain = name === 'r3mes' ? await startR3mes() : await startSimd(simdBinary!, name === 'simd' ? 'inprocess' : 'socket');
  try {
    const fullKeys = scenarios.includes('full') ? Array.from({ length: senders }, (_, i) => chain.key(i)) : [];
    const lowKeys = scenarios.includes('low') ? Array.from({ length: Math.max(1, Math.round(lowRate * LOW_SENDER_PERIOD_S)) }, (_, i) => chain.key(LOW_KEY_BASE + i)) : [];
    const accountNumbers = await fund(chain, [...lowKeys, ...fullKeys]);
    const results: ScenarioResult[] = [];
    // Low rate first, on a fresh node; then full push.
    for (const scenario of ['idle', 'low', 'full'] as const) {
      if (!scenarios.includes(scenario)) continue;
      const result = scenario === 'idle' ? await idle(chain) : scenario === 'low' ? await lowLoad(chain, lowKeys, accountNumbers) : await fullPush(chain, fullKeys, accountNumbers);
      const title = scenario === 'idle' ? `idle (no txs for ${idleSeconds} s)` : scenario === 'low' ? `low rate (${lowRate} tx/s offered for ${lowSeconds} s)` : `full push (${senders} senders × ${txsPerSender} txs, ${concurrency} connections × batches of ${batch})`;
      console.log(`\n${chain.name}, ${title}, load average ${loadavg()[0].toFixed(1)}:`);
      console.log('| measure | value |');
      console.log('|---|---:|');
      for (const [measure, value] of result.rows) console.log(`| ${measure} | ${value} |`);
      results.push(result);
      await sleep(1000);
    }
    return results;
  } finally {
    await chain.stop();
  }
}

async function main(): Promise<void> {
  const chains = chainsWanted.filter((c) => c === 'r3mes' || simdBinary !== undefined);
  console.log(`node ${process.version}, ${cpus().length} cpus, load average ${loadavg()[0].toFixed(1)}; scenarios ${scenarios.join(', ')}; ` +
    `timeout_commit ${timeoutCommit}, indexer ${indexer}; chains ${chains.join(', ')}; ${rounds} round(s), interleaved`);
  if (simdBinary === undefined) {
    console.log('no Cosmos SDK peer: BENCH_SIMD is not set (BENCH_SIMD=/path/to/simd compares against a Cosmos SDK v0.50 simd on the same CometBFT; bench/README.md says how to build one)');
  } else if (!existsSync(simdBinary)) {
    throw new Error(`BENCH_SIMD=${simdBinary}: no such file`);
  }
  const all: ScenarioResult[] = [];
  for (let round = 1; round <= rounds; round++) {
    // Interleaved: the chains alternate, and the order flips every round, so machine drift hits both.
    const order = round % 2 === 1 ? chains : [...chains].reverse();
    for (const name of order) {
      console.log(`\n== round ${round}: ${name}`);
      all.push(...(await runChain(name)));
    }
  }
  const app = (x: ScenarioResult) => [...x.cpuPerTx].find(([k]) => k.startsWith('app'))?.[1];
  for (const peer of chains.filter((c) => c !== 'r3mes')) {
    if (!chains.includes('r3mes')) break;
    console.log(`\nR3MES / ${peer}, per round (same load generator, same CometBFT version and config.toml tuning; ` +
      'below 1.0: R3MES has the lower latency or CPU; tx/s: above 1.0 means R3MES commits more):');
    console.log('| scenario | round | tx/s | latency p50 | latency p99 | node CPU per tx (idle: per block) | CometBFT CPU per tx | app CPU per tx |');
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
    for (const scenario of ['idle', 'low', 'full'] as const) {
      const r = all.filter((x) => x.scenario === scenario && x.chain === 'R3MES');
      const s = all.filter((x) => x.scenario === scenario && x.chain === peer);
      const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? '—' : (a / b).toFixed(2));
      for (let i = 0; i < Math.min(r.length, s.length); i++) {
        console.log(`| ${scenario} | ${i + 1} | ${ratio(r[i].txPerS, s[i].txPerS)} | ${ratio(r[i].p50, s[i].p50)} | ${ratio(r[i].p99, s[i].p99)} | ` +
          `${ratio(r[i].cpuPerTx.get('node (app + cometbft)'), s[i].cpuPerTx.get('node (app + cometbft)'))} | ` +
          `${ratio(r[i].cpuPerTx.get('cometbft'), s[i].cpuPerTx.get('cometbft'))} | ${ratio(app(r[i]), app(s[i]))} |`);
      }
    }
  }
}

await main();
process.exit(0);
