/**
 * The node's Prometheus metrics (issue 16 item 2): the real R3mesApp over a real store, behind
 * the real ABCI server through `NodeMetrics.instrument`, driven over the socket as CometBFT
 * would (Info, InitChain, a CheckTx batch on the mempool connection, FinalizeBlock + Commit),
 * and `GET /metrics` scraped over HTTP from the real REST server. The exposition text is parsed
 * strictly (test/helpers/prometheus.ts) and checked against what was driven: the committed
 * height, the txs by result code, CheckTx answers, durations, block intervals from the header
 * times. Then: a recorder that throws changes no ABCI answer; a collector over a closed store
 * is counted while the scrape goes on; two instances share nothing.
 */
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CheckTxType, Request, type Response } from 'cosmjs-types/tendermint/abci/types';
import { AbciServer } from '../../app/abci/server.ts';
import { R3mesApp } from '../../app/app.ts';
import { CommitStore } from '../../app/store/commit-store.ts';
import { utf8 } from '../../app/core/bytes.ts';
import { decodeAddress } from '../../app/core/address.ts';
import { buildRestServer } from '../../app/rest/server.ts';
import { NodeMetrics } from '../../app/metrics/node-metrics.ts';
import { CHAIN_ID, genesisFor, startHarness } from '../helpers/app-harness.ts';
import { MemoryLogger, TestClient } from '../helpers/abci-client.ts';
import { msgSend, signTx, testKey } from '../helpers/txs.ts';
import { parseExposition } from '../../worker/test/helpers/prometheus.ts';

const BLOCK_TIME = 1_700_000_000n;

const finalizeRequest = (height: bigint, txs: Uint8Array[], seconds: bigint): Request => Request.fromPartial({
  finalizeBlock: {
    txs, decidedLastCommit: { round: 0, votes: [] }, misbehavior: [], hash: new Uint8Array(32), height,
    time: { seconds, nanos: 0 }, nextValidatorsHash: new Uint8Array(32), proposerAddress: new Uint8Array(20),
  },
});

async function call(client: TestClient, req: Request): Promise<Response> {
  const before = client.responses.length;
  client.send(req, { flush: {} });
  const got = await client.waitFor(before + 2);
  return got[before];
}

/** The node metrics, typed and documented: what the README, the dashboard and this test agree on. */
const NODE_FAMILIES: Record<string, string> = {
  r3mes_block_height: 'gauge',
  r3mes_block_time_seconds: 'gauge',
  r3mes_block_interval_seconds: 'histogram',
  r3mes_txs_committed_total: 'counter',
  r3mes_checktx_duration_seconds: 'histogram',
  r3mes_finalize_block_duration_seconds: 'histogram',
  r3mes_mempool_checktx_total: 'counter',
  r3mes_training_windows_open: 'gauge',
  r3mes_disputes_open: 'gauge',
  r3mes_disputes_resolved_total: 'counter',
  r3mes_slashes_total: 'counter',
  r3mes_invariant_failures_total: 'counter',
  r3mes_metrics_errors_total: 'counter',
};

t.test('GET /metrics on the REST listener: height, txs by code, CheckTx and FinalizeBlock, from a node driven over ABCI', async (t) => {
  const alice = await testKey(1);
  const bob = await testKey(2);
  const appState = genesisFor([alice]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'r3mes-metrics-'));
  const store = await CommitStore.open(path.join(dir, 'app.db'), { sync: false });
  const app = new R3mesApp(store);
  const metrics = new NodeMetrics(app);
  const server = new AbciServer(metrics.instrument(app), { logger: new MemoryLogger() });
  await server.listen('tcp://127.0.0.1:0');
  const rest = await buildRestServer({ rpcUrl: 'http://127.0.0.1:9', metrics });
  const restUrl = await rest.listen({ host: '127.0.0.1', port: 0 });
  const clients: TestClient[] = [];
  t.teardown(async () => {
    for (const c of clients) c.close();
    await rest.close();
    await server.close();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const connect = async () => {
    const c = await TestClient.connect(server.address()!);
    clients.push(c);
    return c;
  };
  const scrape = async () => {
    const response = await fetch(`${restUrl}/metrics`);
    t.equal(response.status, 200, 'GET /metrics answers 200');
    t.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/, 'in the Prometheus text format');
    return parseExposition(await response.text());
  };

  const before = await scrape();
  t.equal(before.value('r3mes_block_height'), 0, 'height 0 before the first block');

  const query = await connect();
  const comet = await connect();
  const mempool = await connect();
  t.equal((await call(query, Request.fromPartial({ info: {} }))).info?.lastBlockHeight, 0n);
  await call(comet, Request.fromPartial({
    initChain: { time: { seconds: BLOCK_TIME, nanos: 0 }, chainId: CHAIN_ID, validators: [], appStateBytes: utf8(JSON.stringify(appState)), initialHeight: 1n },
  }));

  // Three good sends and one with a sequence already used: CheckTx refuses it (sdk 32).
  const accountNumber = app.auth.getAccount(store.working(), decodeAddress(alice.address))?.accountNumber ?? 0n;
  const good: Uint8Array[] = [];
  for (let i = 0n; i < 3n; i++) good.push(await signTx(alice, [msgSend(alice.address, bob.address, '1000')], { chainId: CHAIN_ID, accountNumber, sequence: i }));
  const stale = await signTx(alice, [msgSend(alice.address, bob.address, '7')], { chainId: CHAIN_ID, accountNumber, sequence: 0n, memo: 'stale' });

  // CometBFT pipelines CheckTx on the mempool connection: all four in one write (the batch path).
  const sent = mempool.responses.length;
  mempool.send(...[...good, stale].map((tx) => Request.fromPartial({ checkTx: { tx, type: CheckTxType.NEW } })), { flush: {} });
  const checks = (await mempool.waitFor(sent + 5)).slice(sent, sent + 4).map((r) => r.checkTx!);
  t.same(checks.map((c) => c.code), [0, 0, 0, 32], 'CheckTx: three admitted, the stale sequence refused (sdk 32)');
  // A recheck, as CometBFT runs after each block for what is left in its mempool.
  await call(mempool, Request.fromPartial({ checkTx: { tx: good[2], type: CheckTxType.RECHECK } }));

  // Block 1: the three good txs and the stale one (a proposer may include it; it fails in FinalizeBlock).
  const block1 = (await call(comet, finalizeRequest(1n, [...good, stale], BLOCK_TIME + 1n))).finalizeBlock!;
  t.same(block1.txResults.map((r) => r.code), [0, 0, 0, 32], 'FinalizeBlock: three ok, one failed (sdk 32)');
  const middle = await scrape();
  t.equal(middle.value('r3mes_block_height'), 0, 'a finalized block not yet committed is not counted');
  t.equal(middle.sum('r3mes_txs_committed_total'), 0, 'no tx counted before Commit');
  await call(comet, Request.fromPartial({ commit: {} }));
  // Block 2, empty, 2.5 s of header time later.
  await call(comet, Request.fromPartial({
    finalizeBlock: { ...finalizeRequest(2n, [], 0n).finalizeBlock!, time: { seconds: BLOCK_TIME + 3n, nanos: 500_000_000 } },
  }));
  await call(comet, Request.fromPartial({ commit: {} }));
  t.equal(store.lastHeight, 2n, 'the app committed two blocks');

  const after = await scrape();
  for (const [name, type] of Object.entries(NODE_FAMILIES)) {
    const family = after.families.get(name);
    t.equal(family?.type, type, `# TYPE ${name} ${type}`);
    t.ok((family?.help.length ?? 0) > 10, `# HELP ${name} says what it is`);
  }
  t.equal(after.value('r3mes_block_height'), Number(store.lastHeight), 'r3mes_block_height = the committed height');
  t.equal(after.value('r3mes_block_time_seconds'), Number(BLOCK_TIME) + 3.5, 'the last header time');
  t.equal(after.sum('r3mes_txs_committed_total'), 4, 'txs committed = txs sent in blocks');
  t.equal(after.value('r3mes_txs_committed_total', { code: '0' }), 3, 'three with code 0');
  t.equal(after.value('r3mes_txs_committed_total', { codespace: 'sdk', code: '32' }), 1, 'one with sdk/32');
  t.ok(after.value('r3mes_checktx_duration_seconds_count') >= 5, 'CheckTx histogram count ≥ txs checked (4 new + 1 recheck)');
  t.ok(after.value('r3mes_checktx_duration_seconds_sum') > 0, 'CheckTx took some time');
  t.equal(after.value('r3mes_checktx_duration_seconds_bucket', { le: '+Inf' }), after.value('r3mes_checktx_duration_seconds_count'), '+Inf bucket = count');
  t.equal(after.value('r3mes_mempool_checktx_total', { type: 'new', code: '0' }), 3, 'mempool: 3 new txs admitted');
  t.equal(after.value('r3mes_mempool_checktx_total', { type: 'new', codespace: 'sdk', code: '32' }), 1, 'mempool: 1 refused with sdk/32');
  t.equal(after.value('r3mes_mempool_checktx_total', { type: 'recheck' }), 1, 'mempool: 1 recheck');
  t.equal(after.value('r3mes_finalize_block_duration_seconds_count'), 2, 'two FinalizeBlocks timed');
  t.equal(after.value('r3mes_block_interval_seconds_count'), 1, 'one interval between the two blocks');
  t.equal(after.value('r3mes_block_interval_seconds_sum'), 2.5, 'from the header times: 2.5 s');
  t.equal(after.value('r3mes_block_interval_seconds_bucket', { le: '2' }), 0, 'not in the ≤ 2 s bucket');
  t.equal(after.value('r3mes_block_interval_seconds_bucket', { le: '3' }), 1, 'in the ≤ 3 s bucket');
  const collecting = app.training.currentWindow(store.committed());
  t.ok(collecting !== undefined, 'the default genesis model opened a window');
  t.equal(after.value('r3mes_training_windows_open', { status: 'collecting' }), 1, 'one window collecting, read from the committed state');
  t.equal(after.value('r3mes_training_windows_open', { status: 'aggregating' }), 0, 'none aggregating');
  t.equal(after.samples('r3mes_disputes_open').length, 5, 'open disputes: one series per layer/stage (l2 draw, l2 answer, l3 draw, l3 voting, bisection)');
  t.equal(after.sum('r3mes_disputes_open'), 0, 'none open');
  t.equal(after.sum('r3mes_invariant_failures_total'), 0, 'no invariant failure');
  t.equal(after.sum('r3mes_metrics_errors_total'), 0, 'no recorder failed');
  t.ok(after.value('process_cpu_user_seconds_total') > 0, 'default process metrics: CPU');
  t.ok(after.value('process_resident_memory_bytes') > 0, 'default process metrics: memory');
  t.ok(after.families.has('nodejs_eventloop_lag_seconds'), 'default process metrics: event-loop lag');

  const other = new NodeMetrics(app, { processMetrics: false });
  const fresh = parseExposition(await other.metrics());
  t.equal(fresh.sum('r3mes_txs_committed_total'), 0, 'a second instance has counters of its own (no global registry)');
  t.equal(fresh.value('r3mes_block_height'), 2, 'and starts from the committed height');
  t.notOk(fresh.families.has('process_cpu_user_seconds_total'), 'process metrics only when asked');
});

t.test('a failing recorder or collector is logged and counted; the ABCI answers and the scrape go on', async (t) => {
  const alice = await testKey(1);
  const bob = await testKey(2);
  const appState = genesisFor([alice]);
  const h = await startHarness(appState);
  let closed = false;
  t.teardown(() => (closed ? undefined : h.close()));
  const reference = await startHarness(appState);
  t.teardown(() => reference.close());
  const lines: string[] = [];
  const metrics = new NodeMetrics(h.app, { log: (line) => lines.push(line), processMetrics: false });
  h.abci = metrics.instrument(h.app);
  // Fault injection: the counter behind txs committed throws (and, below, the windows collector).
  const broken = metrics as unknown as { txsCommitted: { inc(): void } };
  broken.txsCommitted.inc = () => { throw new Error('recorder exploded'); };

  const accountNumber = h.app.auth.getAccount(h.store.working(), decodeAddress(alice.address))?.accountNumber ?? 0n;
  for (let i = 0n; i < 3n; i++) {
    const tx = await signTx(alice, [msgSend(alice.address, bob.address, '5')], { chainId: CHAIN_ID, accountNumber, sequence: i });
    const [ours, theirs] = [await h.block([tx]), await reference.block([tx])];
    t.same(ours, theirs, `block ${h.height}: the instrumented app answers exactly as the bare one`);
  }
  t.equal(h.store.lastHeight, 3n, 'three blocks committed');
  // Only now (beginBlock reads the same index): the windows collector throws while scraping.
  (h.app.training as unknown as { aggregatingWindowIds(): never }).aggregatingWindowIds = () => { throw new Error('collector exploded'); };
  const text = await metrics.metrics();
  const scraped = parseExposition(text);
  t.equal(scraped.value('r3mes_block_height'), 3, 'what did not fail is still recorded');
  t.equal(scraped.value('r3mes_metrics_errors_total', { hook: 'commit' }), 3, 'each failed recording counted');
  t.equal(scraped.value('r3mes_metrics_errors_total', { hook: 'collect_windows' }), 1, 'the failed collector counted');
  t.equal(lines.filter((l) => /metrics: commit recorder failed \(1 so far; the node goes on\): recorder exploded/.test(l)).length, 1, 'logged once, not once per block');
  t.match(lines.join('\n'), /metrics: collect_windows recorder failed .*collector exploded/, 'the collector failure is logged');

  await h.close();
  closed = true;
  const afterClose = parseExposition(await metrics.metrics());
  t.equal(afterClose.value('r3mes_block_height'), 3, 'scrape of a closed node still answers');
});
