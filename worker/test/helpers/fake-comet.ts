// A fake CometBFT JSON-RPC node, just enough for a SigningStargateClient to sign and broadcast
// (status, abci_query Account and Simulate, broadcast_tx_sync, tx), that misbehaves on demand:
// drops a connection before or after handling a request, refuses connections for a while, or
// closes every kept-alive socket shortly after answering (as a node does with an idle one).
//
// It runs in a worker thread: a test can block the main thread (a long re-execution) while the
// node keeps running and closes sockets, which is how a stale keep-alive socket happens.

import { Worker } from 'node:worker_threads';
import { BaseAccount } from 'cosmjs-types/cosmos/auth/v1beta1/auth';
import { QueryAccountResponse } from 'cosmjs-types/cosmos/auth/v1beta1/query';
import { TxMsgData } from 'cosmjs-types/cosmos/base/abci/v1beta1/abci';
import { SimulateResponse } from 'cosmjs-types/cosmos/tx/v1beta1/service';
import { verificationTx } from '@r3mes/client';

/** What to do with the next request of a method: answer it, or drop the connection before / after handling it. */
export type Fault = 'ok' | 'drop' | 'drop-after';

export interface FakeCometOptions {
  address: string;
  chainId?: string;
  /** destroy each connection this long after answering on it (a node closing idle keep-alive sockets) */
  closeAfterMs?: number;
  /** a tx in the mempool goes into a block this long after it arrived (default 0: at once) */
  commitDelayMs?: number;
}

export interface FakeCometState {
  calls: Array<{ method: string; path?: string; tx?: string }>;
  /** committed txs (upper-case hex hash), in order */
  committed: string[];
  sequence: number;
}

const WORKER = String.raw`
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const { createHash } = require('node:crypto');
const d = workerData;
const state = { calls: [], committed: [], sequence: 0 };
const txs = new Map();     // hash → { tx, height }
const mempool = new Map(); // hash → tx
const faults = {};         // method → Fault[]
let height = 5;
let server;
const sockets = new Set();

function answer(req, res, id, body) {
  const text = JSON.stringify({ jsonrpc: '2.0', id, ...body });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
  if (d.closeAfterMs > 0) setTimeout(() => req.socket.destroy(), d.closeAfterMs);
}
function commit(hash) {
  const tx = mempool.get(hash);
  if (tx === undefined) return;
  mempool.delete(hash);
  height += 1;
  txs.set(hash, { tx, height });
  state.committed.push(hash);
  state.sequence += 1;
}
function handle(req, res, body) {
  let rpc;
  try { rpc = JSON.parse(body); } catch { res.writeHead(400); res.end(); return; }
  const p = rpc.params || {};
  const call = { method: rpc.method };
  if (p.path) call.path = p.path;
  if (p.tx) call.tx = p.tx;
  state.calls.push(call);
  const fault = (faults[rpc.method] || []).shift() || 'ok';
  if (fault === 'drop') { req.socket.destroy(); return; }
  let result, error;
  switch (rpc.method) {
    case 'status':
      result = {
        node_info: { protocol_version: { p2p: '8', block: '11', app: '0' }, id: 'aa'.repeat(20), listen_addr: 'tcp://127.0.0.1:0', network: d.chainId, version: '0.38.0', channels: '40', moniker: 'fake', other: { tx_index: 'on', rpc_address: 'tcp://127.0.0.1:0' } },
        sync_info: { latest_block_hash: 'AB'.repeat(32), latest_app_hash: 'CD'.repeat(32), latest_block_height: String(height), latest_block_time: '2024-01-01T00:00:00.000000000Z', catching_up: false },
        validator_info: { address: 'EF'.repeat(20), pub_key: { type: 'tendermint/PubKeyEd25519', value: Buffer.alloc(32, 1).toString('base64') }, voting_power: '10' },
      };
      break;
    case 'abci_query': {
      let value;
      if (p.path === '/cosmos.auth.v1beta1.Query/Account') value = d.accounts[Math.min(state.sequence, d.accounts.length - 1)];
      else if (p.path === '/cosmos.tx.v1beta1.Service/Simulate') value = d.simulate;
      if (value === undefined) result = { response: { code: 1, log: 'unknown query ' + p.path, codespace: 'fake', height: String(height) } };
      else result = { response: { code: 0, value, height: String(height) } };
      break;
    }
    case 'broadcast_tx_sync': {
      const tx = Buffer.from(p.tx, 'base64');
      const hash = createHash('sha256').update(tx).digest('hex').toUpperCase();
      if (txs.has(hash) || mempool.has(hash)) { error = { code: -32603, message: 'Internal error', data: 'tx already exists in cache' }; break; }
      mempool.set(hash, p.tx);
      if (d.commitDelayMs > 0) setTimeout(() => commit(hash), d.commitDelayMs); else commit(hash);
      result = { code: 0, data: '', log: '', codespace: '', hash };
      break;
    }
    case 'tx': {
      const hash = Buffer.from(p.hash, 'base64').toString('hex').toUpperCase();
      const t = txs.get(hash);
      if (!t) { error = { code: -32603, message: 'Internal error', data: 'tx (' + hash + ') not found' }; break; }
      result = { hash, height: String(t.height), index: 0, tx: t.tx, tx_result: { code: 0, data: d.txData, log: '', gas_wanted: '200000', gas_used: '100000', events: [] } };
      break;
    }
    case 'tx_search': { // CosmJS's getTx (the old broadcastTx path)
      const m = /tx.hash='([0-9A-Fa-f]+)'/.exec(p.query || '');
      const hash = m ? m[1].toUpperCase() : '';
      const t = txs.get(hash);
      const found = t ? [{ hash, height: String(t.height), index: 0, tx: t.tx, tx_result: { code: 0, data: d.txData, log: '', gas_wanted: '200000', gas_used: '100000', events: [] } }] : [];
      result = { txs: found, total_count: String(found.length) };
      break;
    }
    default:
      error = { code: -32601, message: 'Method not found', data: rpc.method };
  }
  if (fault === 'drop-after') { req.socket.destroy(); return; }
  answer(req, res, rpc.id, error ? { error } : { result });
}
function listen(port) {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => handle(req, res, body));
  });
  server.keepAliveTimeout = 60000;
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server.address().port)));
}
parentPort.on('message', async (m) => {
  if (m.op === 'fault') { (faults[m.method] ||= []).push(...m.faults); parentPort.postMessage({ op: 'ok' }); }
  else if (m.op === 'state') parentPort.postMessage({ op: 'state', state });
  else if (m.op === 'refuse') {
    const port = server.address().port;
    server.close();
    for (const s of sockets) s.destroy();
    parentPort.postMessage({ op: 'ok' });
    setTimeout(() => listen(port), m.ms);
  } else if (m.op === 'close') { server.close(); for (const s of sockets) s.destroy(); parentPort.postMessage({ op: 'ok' }); }
});
listen(0).then((port) => parentPort.postMessage({ op: 'port', port }));
`;

export interface FakeComet {
  readonly url: string;
  /** the next requests of `method` meet these faults, in order */
  fault(method: string, ...faults: Fault[]): Promise<void>;
  /** stop listening for `ms` (connections are refused), then listen on the same port again */
  refuse(ms: number): Promise<void>;
  state(): Promise<FakeCometState>;
  close(): Promise<void>;
}

export async function startFakeComet(options: FakeCometOptions): Promise<FakeComet> {
  const accounts = Array.from({ length: 16 }, (_, sequence) => Buffer.from(QueryAccountResponse.encode({
    account: { typeUrl: '/cosmos.auth.v1beta1.BaseAccount', value: BaseAccount.encode(BaseAccount.fromPartial({ address: options.address, accountNumber: 7n, sequence: BigInt(sequence) })).finish() },
  }).finish()).toString('base64'));
  const simulate = Buffer.from(SimulateResponse.encode(SimulateResponse.fromPartial({ gasInfo: { gasWanted: 0n, gasUsed: 100_000n } })).finish()).toString('base64');
  const txData = Buffer.from(TxMsgData.encode({
    data: [],
    msgResponses: [{ typeUrl: '/r3mes.verification.v1.MsgChallengeResponse', value: verificationTx.MsgChallengeResponse.encode({ disputeId: 42n }).finish() }],
  }).finish()).toString('base64');
  const worker = new Worker(WORKER, {
    eval: true, execArgv: [],
    workerData: { accounts, simulate, txData, chainId: options.chainId ?? 'r3mes-test-1', closeAfterMs: options.closeAfterMs ?? 0, commitDelayMs: options.commitDelayMs ?? 0 },
  });
  worker.unref();
  const next = <T>(op: string) => new Promise<T>((resolve) => {
    const on = (m: { op: string } & T) => {
      if (m.op !== op) return;
      worker.off('message', on);
      resolve(m);
    };
    worker.on('message', on);
  });
  const { port } = await next<{ port: number }>('port');
  const ask = async <T>(message: object, op = 'ok') => {
    const answer = next<T>(op);
    worker.postMessage(message);
    return answer;
  };
  return {
    url: `http://127.0.0.1:${port}`,
    fault: async (method, ...faults) => { await ask({ op: 'fault', method, faults }); },
    refuse: async (ms) => { await ask({ op: 'refuse', ms }); },
    state: async () => (await ask<{ state: FakeCometState }>({ op: 'state' }, 'state')).state,
    close: async () => {
      await ask({ op: 'close' });
      await worker.terminate();
    },
  };
}
