/**
 * Chain throughput through a real single-node CometBFT v0.38 (test/helpers/devnode.ts: the app
 * as `r3mesd start --no-comet`, CometBFT as its own process, ABCI over a socket, LevelDB with
 * fsync on commit). Many senders, pre-signed MsgSend txs, `broadcast_tx_sync` in JSON-RPC
 * batches over keep-alive HTTP connections (bounded concurrency; a sender's txs go out in
 * order); commits are seen through a NewBlock subscription on /websocket. Reports sustained
 * tx/s, the latency from broadcast to the NewBlock event of the block holding the tx (CometBFT
 * publishes it after the app's Commit), and the CPU each process spent per committed tx (the
 * figure that holds still on a shared machine).
 *
 *   npx tsx bench/chain-comet.ts [senders=1000] [txsPerSender=10] [connections=32] [batch=10] [timeoutCommit=200ms]
 *   BENCH_TX_INDEXER=null npx tsx bench/chain-comet.ts   # without CometBFT's kv tx indexer
 *   BENCH_COMET_PPROF=127.0.0.1:6060 npx tsx bench/chain-comet.ts   # then: go tool pprof http://127.0.0.1:6060/debug/pprof/profile?seconds=10
 *
 * CometBFT settings the bench changes (config.toml, then a CometBFT restart), and why:
 * - consensus.timeout_commit = 200ms (devnode default 300ms, node default 1s): the block
 *   interval is then set by how fast the app executes, not by an idle wait; latency falls.
 * - mempool.size = 50000 (default 5000): with thousands of txs in flight a full mempool would
 *   reject txs ("mempool is full") and the bench would measure refusals, not throughput.
 * - mempool.recheck stays true (the default): after every block the txs left in the mempool go
 *   through CheckTx again; that cost is part of the figures. It must: the app rebuilds its
 *   CheckTx state from committed state at Commit (as the Cosmos SDK does) and relies on
 *   ReCheckTx to re-apply pending txs. With recheck = false a sender's next tx fails with
 *   "account sequence mismatch" as soon as a block commits while earlier ones are pending.
 * - tx_index.indexer stays "kv" (what r3mesd init sets; REST tx lookup needs it).
 * - create_empty_blocks stays true (blocks keep coming while idle; no effect under load).
 * - rpc.max_request_batch_size stays 10 (the batch size used here).
 * Not tunable from config: CometBFT's socket ABCI client flushes CheckTx requests on a 20 ms
 * timer, so one connection's batch advances one tx per flush at most; throughput needs many
 * connections in flight.
 */
import { createHash } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpus, loadavg } from 'node:os';
import { Comet38Client } from '@cosmjs/tendermint-rpc';
import { QueryAccountRequest, QueryAccountResponse } from 'cosmjs-types/cosmos/auth/v1beta1/query';
import { BaseAccount } from 'cosmjs-types/cosmos/auth/v1beta1/auth';
import { setTomlValues } from '../app/node/comet-config.ts';
import { startDevNode, type DevNode } from '../test/helpers/devnode.ts';
import { type BenchKey, benchKey, signedSend, signedSends } from './chain-inprocess.ts';

const [senders, txsPerSender, concurrency, batch] = [1000, 10, 32, 10].map((d, i) => Number(process.argv[2 + i] ?? d));
const timeoutCommit = process.argv[6] ?? '200ms';
const indexer = process.env.BENCH_TX_INDEXER ?? 'kv';
const FUND_PER_SENDER = 1_000_000_000n;
const MSGS_PER_FUNDING_TX = 100;

const nowMs = (): number => performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const hashHex = (tx: Uint8Array): string => createHash('sha256').update(tx).digest('hex').toUpperCase();

interface AbciQueryResult { response: { code: number; log: string; value: string | null } }

async function queryAccount(node: DevNode, address: string): Promise<{ accountNumber: bigint; sequence: bigint } | undefined> {
  const data = Buffer.from(QueryAccountRequest.encode({ address }).finish()).toString('hex');
  const { response } = await node.rpc<AbciQueryResult>('abci_query', { path: '/cosmos.auth.v1beta1.Query/Account', data });
  if (response.code !== 0) return undefined;
  const any = QueryAccountResponse.decode(Buffer.from(response.value ?? '', 'base64')).account;
  if (any === undefined) return undefined;
  const account = BaseAccount.decode(any.value);
  return { accountNumber: account.accountNumber, sequence: account.sequence };
}

interface BroadcastResult { code: number; log: string; hash: string }

/**
 * One JSON-RPC batch of broadcast_tx_sync calls over a keep-alive HTTP connection. CometBFT
 * runs the calls of a batch one after another, so txs of one sender in a batch stay in order.
 * node:http costs the client far less CPU per request than fetch (undici) here.
 */
function broadcastBatch(agent: Agent, rpcUrl: string, txsBase64: string[]): Promise<BroadcastResult[]> {
  const body = JSON.stringify(txsBase64.map((tx, id) => ({ jsonrpc: '2.0', id, method: 'broadcast_tx_sync', params: { tx } })));
  return new Promise((resolve, reject) => {
    const req = httpRequest(rpcUrl, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        try {
          const replies = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Array<{ id: number; result?: BroadcastResult; error?: { message: string; data?: string } }>;
          const results: BroadcastResult[] = [];
          for (const reply of replies) {
            if (reply.result === undefined) throw new Error(`broadcast_tx_sync: ${reply.error?.message} ${reply.error?.data ?? ''}`);
            results[reply.id] = reply.result;
          }
          resolve(results);
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

async function broadcastSync(rpcUrl: string, tx: Uint8Array): Promise<BroadcastResult> {
  const response = await fetch(rpcUrl, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'broadcast_tx_sync', params: { tx: Buffer.from(tx).toString('base64') } }),
  });
  const body = (await response.json()) as { result?: BroadcastResult; error?: { message: string; data?: string } };
  if (body.error !== undefined) throw new Error(`broadcast_tx_sync: ${body.error.message} ${body.error.data ?? ''}`);
  return body.result as BroadcastResult;
}

/** CPU ms (user + system) of this process's children by command name (Linux /proc): the app and CometBFT. */
function childCpuMs(): Map<string, number> {
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
    const label = name === 'cometbft' ? 'cometbft' : 'app (r3mesd)';
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

async function main(): Promise<void> {
  const total = senders * txsPerSender;
  console.log(`node ${process.version}, ${cpus().length} cpus, load average ${loadavg()[0].toFixed(1)}; ` +
    `${senders} senders × ${txsPerSender} txs = ${total} MsgSend txs; ${concurrency} connections × batches of ${batch}; timeout_commit ${timeoutCommit}, indexer ${indexer}`);
  const faucet = benchKey(9_999_999);
  const keys = Array.from({ length: senders }, (_, i) => benchKey(i));
  const node = await startDevNode({ accounts: [{ address: faucet.address, coins: `${10n ** 18n}ur3mes` }], timeoutCommit });
  let subscriptionClient: Comet38Client | undefined;
  try {
    // Tune CometBFT (see the header) and restart it; the app keeps running and CometBFT's handshake resyncs.
    const heightBefore = (await node.status()).height;
    await node.killComet('SIGTERM');
    const configPath = join(node.home, 'config', 'config.toml');
    writeFileSync(configPath, setTomlValues(readFileSync(configPath, 'utf8'), [
      ['consensus', 'timeout_commit', timeoutCommit],
      ['mempool', 'size', 50_000],
      ['mempool', 'recheck', true],
      ['tx_index', 'indexer', indexer],
      // BENCH_COMET_PPROF=127.0.0.1:6060 serves Go's pprof, for profiling CometBFT during a run.
      ['rpc', 'pprof_laddr', process.env.BENCH_COMET_PPROF ?? ''],
    ]));
    node.startComet();
    await node.waitForHeight(heightBefore + 2n);

    // Fund the senders from the faucet: 100 MsgSends a tx, then wait for the last funding tx's sequence.
    const faucetAccount = await queryAccount(node, faucet.address);
    if (faucetAccount === undefined) throw new Error('bench: faucet account missing');
    let sequence = faucetAccount.sequence;
    for (let i = 0; i < senders; i += MSGS_PER_FUNDING_TX) {
      const sends = keys.slice(i, i + MSGS_PER_FUNDING_TX).map((k) => ({ to: k.address, amount: FUND_PER_SENDER.toString() }));
      const tx = signedSends({ from: faucet, sends, accountNumber: faucetAccount.accountNumber, sequence: sequence++, chainId: node.chainId, gasLimit: 20_000_000n, feeAmount: '500000' });
      const result = await broadcastSync(node.rpcUrl, tx);
      if (result.code !== 0) throw new Error(`bench: funding tx rejected: ${result.code} ${result.log}`);
    }
    for (let deadline = Date.now() + 60_000; ; await sleep(200)) {
      if ((await queryAccount(node, faucet.address))?.sequence === sequence) break;
      if (Date.now() > deadline) throw new Error('bench: funding txs not committed within 60 s');
    }
    const accountNumbers = new Map<string, bigint>();
    for (let i = 0; i < keys.length; i += 16) {
      await Promise.all(keys.slice(i, i + 16).map(async (k) => {
        const account = await queryAccount(node, k.address);
        if (account === undefined) throw new Error(`bench: sender ${k.address} not funded`);
        accountNumbers.set(k.address, account.accountNumber);
      }));
    }

    // Pre-sign everything: sender i sends txsPerSender txs (sequences 0..) to sender i+1.
    const signStart = nowMs();
    const perSender: Uint8Array[][] = keys.map((from: BenchKey, i) => Array.from({ length: txsPerSender }, (_, s) => signedSend({
      from, to: keys[(i + 1) % senders].address, amount: '1', accountNumber: accountNumbers.get(from.address) ?? 0n, sequence: BigInt(s), chainId: node.chainId,
    })));
    const signMs = nowMs() - signStart;
    const hashes = new Map<string, { sent: number; committed: number }>();
    const prepared = perSender.map((txs) => txs.map((tx) => ({ base64: Buffer.from(tx).toString('base64'), hash: hashHex(tx) })));

    // Watch commits: CometBFT publishes NewBlockHeader after the app's Commit. The header event is
    // small; a NewBlock subscription would make CometBFT JSON-encode every tx result and event of
    // each block (a fifth of its CPU in a pprof profile), so the txs come from /block instead.
    subscriptionClient = await Comet38Client.connect(node.rpcUrl.replace(/^http/, 'ws')); // the client appends /websocket
    const blocks: Array<{ height: number; txs: number; ours: number; at: number }> = [];
    let committed = 0;
    let lastCommitAt = 0;
    let expected = Infinity; // set once every broadcast has been answered
    let allCommitted: () => void = () => {};
    const done = new Promise<void>((resolve) => { allCommitted = resolve; });
    subscriptionClient.subscribeNewBlockHeader().addListener({
      next: (header) => {
        const at = nowMs();
        void node.rpc<{ block: { data: { txs: string[] | null } } }>('block', { height: String(header.height) }).then((result) => {
          const txs = result.block.data.txs ?? [];
          let ours = 0;
          for (const tx of txs) {
            const entry = hashes.get(hashHex(Buffer.from(tx, 'base64')));
            if (entry !== undefined && entry.committed === 0) {
              entry.committed = at;
              ours++;
            }
          }
          blocks.push({ height: header.height, txs: txs.length, ours, at });
          committed += ours;
          if (ours > 0) lastCommitAt = Math.max(lastCommitAt, at);
          if (committed >= expected) allCommitted();
        }, (error: unknown) => console.error(`bench: /block ${header.height}:`, error));
      },
      error: (error: unknown) => console.error('bench: subscription error', error),
      complete: () => {},
    });
    await sleep(500);

    // Broadcast: `concurrency` workers, each owning every concurrency-th sender, one tx at a time.
    const rejected: string[] = [];
    let lastAcceptedAt = 0;
    const cpuBefore = childCpuMs();
    const start = nowMs();
    const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
    await Promise.all(Array.from({ length: concurrency }, async (_, worker) => {
      // This worker's txs, sequence-major: a sender's txs go out in order, one batch after another.
      const mine = prepared.filter((_, i) => i % concurrency === worker);
      const queue = Array.from({ length: txsPerSender }, (_, s) => mine.map((txs) => txs[s])).flat();
      for (let i = 0; i < queue.length; i += batch) {
        const chunk = queue.slice(i, i + batch);
        const sent = nowMs();
        for (const tx of chunk) hashes.set(tx.hash, { sent, committed: 0 });
        const results = await broadcastBatch(agent, node.rpcUrl, chunk.map((tx) => tx.base64));
        results.forEach((result, j) => {
          if (result.code === 0) return;
          hashes.delete(chunk[j].hash);
          if (rejected.length < 5) rejected.push(`${result.code} ${result.log}`);
        });
        lastAcceptedAt = nowMs();
      }
    }));
    agent.destroy();
    const broadcastMs = lastAcceptedAt - start;
    expected = hashes.size;
    if (committed >= expected) allCommitted();
    await Promise.race([done, sleep(120_000)]);
    if (committed < expected) await sleep(2000);
    const cpuAfter = childCpuMs();

    // Results of the blocks that held our txs (outside the timed region).
    const ourBlocks = blocks.filter((b) => b.ours > 0).sort((a, b) => a.height - b.height);
    let failed = 0;
    for (const b of ourBlocks) {
      const results = await node.rpc<{ txs_results: Array<{ code: number }> | null }>('block_results', { height: String(b.height) });
      failed += (results.txs_results ?? []).filter((r) => r.code !== 0).length;
    }
    const latencies = [...hashes.values()].filter((e) => e.committed > 0).map((e) => e.committed - e.sent).sort((a, b) => a - b);
    const spanMs = lastCommitAt - start;
    const intervals = ourBlocks.slice(1).map((b, i) => b.at - ourBlocks[i].at);

    console.log(`pre-signing ${total} txs: ${(signMs / 1000).toFixed(1)} s (outside the timed region)`);
    console.log('| measure | value |');
    console.log('|---|---:|');
    const rows: Array<[string, string]> = [
      ['txs broadcast / accepted by CheckTx / committed', `${total} / ${expected} / ${committed}`],
      ['txs failed in blocks (block_results code ≠ 0)', String(failed)],
      ['broadcast rate (CheckTx accepted / s)', Math.round((expected * 1000) / broadcastMs).toLocaleString('en')],
      ['sustained tx/s (committed / first broadcast → last commit)', Math.round((committed * 1000) / spanMs).toLocaleString('en')],
      ['latency broadcast → commit p50 ms', percentile(latencies, 50).toFixed(0)],
      ['latency broadcast → commit p99 ms', percentile(latencies, 99).toFixed(0)],
      ['latency max ms', (latencies[latencies.length - 1] ?? NaN).toFixed(0)],
      ['blocks with bench txs / txs per block (min–max)', `${ourBlocks.length} / ${Math.min(...ourBlocks.map((b) => b.ours))}–${Math.max(...ourBlocks.map((b) => b.ours))}`],
      ['block interval ms (median)', percentile([...intervals].sort((a, b) => a - b), 50).toFixed(0)],
    ];
    for (const [name, cpuMs] of cpuAfter) {
      const used = cpuMs - (cpuBefore.get(name) ?? 0);
      rows.push([`CPU of ${name}: ms / µs per committed tx`, `${used.toFixed(0)} / ${((used * 1000) / Math.max(1, committed)).toFixed(0)}`]);
    }
    for (const [name, value] of rows) console.log(`| ${name} | ${value} |`);
    if (rejected.length > 0) console.log(`CheckTx rejections (first few): ${rejected.join('; ')}`);
    if (committed < expected || failed > 0) throw new Error(`bench: ${expected - committed} accepted txs not committed, ${failed} failed (logs in ${node.home}; R3MES_KEEP_TEST_HOMES=1 keeps it)`);
  } finally {
    subscriptionClient?.disconnect();
    await node.stop();
  }
}

await main();
process.exit(0);
