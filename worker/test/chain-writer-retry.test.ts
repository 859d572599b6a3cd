// RpcChainWriter against a real HTTP server (a fake CometBFT node in a worker thread) that drops
// and refuses connections: signing and broadcasting survive a busy node, a broadcast whose
// answer was lost is looked up by hash and never lands twice, and errors name their cause.
import t, { type Test } from 'tap';
import { DirectSecp256k1Wallet } from '@cosmjs/proto-signing';
import { RpcChainWriter, type RetryPolicy } from '../src/chain/client.ts';
import { ChainError, ChainErrorCode, describeError, isConnectionError } from '../src/chain/errors.ts';
import { startFakeComet } from './helpers/fake-comet.ts';

const wallet = await DirectSecp256k1Wallet.fromKey(new Uint8Array(32).fill(7), 'r3mes');
const [{ address }] = await wallet.getAccounts();
const retries: string[] = [];
const retry: RetryPolicy = { attempts: 4, baseMs: 100, maxMs: 400, onRetry: (what, attempt, error) => retries.push(`${what} #${attempt}: ${error}`) };
const options = { retry, pollMs: 50, timeoutMs: 5_000, rpcTimeoutMs: 2_000 };

async function setup(t: Test, node: { closeAfterMs?: number; commitDelayMs?: number } = {}) {
  const comet = await startFakeComet({ address: address!, ...node });
  t.teardown(() => comet.close());
  const writer = await RpcChainWriter.connect(comet.url, wallet, options);
  t.teardown(() => writer.disconnect());
  retries.length = 0;
  return { comet, writer };
}

const busy = (ms: number) => {
  const end = Date.now() + ms;
  while (Date.now() < end) { /* a re-execution holding the event loop */ }
};

t.test('a socket the node closed while the worker was busy: the next sign and broadcast still go through', async (t) => {
  // The node closes every connection 30 ms after answering on it; the worker computes for 300 ms
  // between calls without yielding (as a CPU re-execution does), so a pooled keep-alive socket is dead.
  const { comet, writer } = await setup(t, { closeAfterMs: 30 });
  for (let i = 0; i < 3; i++) {
    const tx = await writer.signChallenge(BigInt(10 + i), 1000n);
    busy(300);
    const out = await writer.broadcast(tx);
    t.equal(out.code, 0, `challenge ${i} included`);
    t.equal(out.disputeId, 42n, 'the MsgChallengeResponse is decoded');
    busy(300);
  }
  t.equal((await comet.state()).committed.length, 3, 'three txs, each once');
});

t.test('a broadcast whose connection drops before the node sees it is sent again, same bytes, once in a block', async (t) => {
  const { comet, writer } = await setup(t);
  const tx = await writer.signChallenge(1n, 1000n);
  await comet.fault('broadcast_tx_sync', 'drop');
  const out = await writer.broadcast(tx);
  t.equal(out.txhash, tx.txhash);
  t.equal(out.code, 0);
  const s = await comet.state();
  const sends = s.calls.filter((c) => c.method === 'broadcast_tx_sync');
  t.equal(sends.length, 2, 'sent twice');
  t.equal(sends[0]!.tx, sends[1]!.tx, 'the very same signed bytes (no new signature, no new sequence)');
  t.same(s.committed, [tx.txhash], 'in a block once');
  const i = s.calls.findIndex((c, k) => c.method === 'broadcast_tx_sync' && k > s.calls.indexOf(sends[0]!));
  t.ok(s.calls.slice(s.calls.indexOf(sends[0]!) + 1, i).some((c) => c.method === 'tx'), 'looked up by hash before sending again');
  t.match(retries.join('\n'), /broadcast .* #1: .*(ECONNRESET|socket hang up)/, 'the retry names the cause');
});

t.test('a broadcast whose answer is lost after the node took it is found by hash and never sent again', async (t) => {
  const { comet, writer } = await setup(t);
  const tx = await writer.signChallenge(2n, 1000n);
  await comet.fault('broadcast_tx_sync', 'drop-after');
  const out = await writer.broadcast(tx);
  t.equal(out.code, 0);
  t.equal(out.disputeId, 42n);
  const s = await comet.state();
  t.equal(s.calls.filter((c) => c.method === 'broadcast_tx_sync').length, 1, 'sent once: the lookup found it in a block');
  t.same(s.committed, [tx.txhash]);
});

t.test('a lost answer while the tx waits in the mempool: the resend meets "already in cache", the writer waits for the block', async (t) => {
  const { comet, writer } = await setup(t, { commitDelayMs: 400 });
  const tx = await writer.signChallenge(3n, 1000n);
  await comet.fault('broadcast_tx_sync', 'drop-after');
  const out = await writer.broadcast(tx);
  t.equal(out.code, 0);
  const s = await comet.state();
  t.equal(s.calls.filter((c) => c.method === 'broadcast_tx_sync').length, 2, 'the same bytes offered again');
  t.same(s.committed, [tx.txhash], 'in a block once');
  t.equal(s.sequence, 1, 'one account sequence spent');
});

t.test('signing survives dropped queries and a node that refuses connections for a while', async (t) => {
  const { comet, writer } = await setup(t);
  await comet.fault('abci_query', 'drop', 'drop-after');
  await comet.fault('status', 'drop');
  const tx = await writer.signCommitVerification(5n, new Uint8Array(32).fill(1));
  t.ok(tx.txhash, 'signed after dropped account/simulate/status queries');
  await comet.refuse(250);
  const tx2 = await writer.signCommitVerification(6n, new Uint8Array(32).fill(1));
  t.ok(tx2.txhash, 'signed after the node refused connections');
  t.match(retries.join('\n'), /ECONNREFUSED/, 'a refused connection is retried and named');
  const out = await writer.broadcast(tx);
  t.equal(out.code, 0);
});

t.test('a node that stays away: Unreachable, with the attempts and the underlying cause', async (t) => {
  const { comet, writer } = await setup(t);
  const tx = await writer.signChallenge(4n, 1000n);
  await comet.refuse(60_000);
  const err = await writer.broadcast(tx).then(() => undefined, (e: unknown) => e);
  t.type(err, ChainError);
  t.equal((err as ChainError).code, ChainErrorCode.Unreachable);
  t.match((err as Error).message, /unreachable \(broadcast [0-9A-F]+\) after 4 attempts: .*ECONNREFUSED/);
  t.notMatch((err as Error).message, /^[^(]*fetch failed$/, 'not a bare "fetch failed"');
});

t.test('connection errors are told from answers, and "fetch failed" names its cause', async (t) => {
  const fetchFailed = new TypeError('fetch failed', { cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }) });
  t.ok(isConnectionError(fetchFailed));
  t.equal(describeError(fetchFailed), 'fetch failed (cause: UND_ERR_SOCKET other side closed)');
  t.ok(isConnectionError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })));
  t.ok(isConnectionError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })));
  t.ok(isConnectionError(new DOMException('The operation was aborted due to timeout', 'TimeoutError')));
  t.notOk(isConnectionError(new Error('{"code":-32603,"message":"Internal error","data":"tx already exists in cache"}')));
  t.notOk(isConnectionError(new Error('Broadcasting transaction failed with code 32 (codespace: sdk). Log: account sequence mismatch')));
});
