/**
 * The REST routes against a scripted CometBFT JSON-RPC server: what goes out
 * on the wire (ABCI query path, hex protobuf data, height, base64 tx) and how
 * answers come back (gateway JSON, snake_case, "@type", status mapping).
 * The wire formats scripted here were checked against a real CometBFT
 * v0.38.25 (`cometbft start --proxy_app=kvstore`).
 */
import t from 'tap';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createHash } from 'node:crypto';
import { toBech32 } from '@cosmjs/encoding';
import { BaseAccount } from 'cosmjs-types/cosmos/auth/v1beta1/auth';
import { QueryAccountRequest, QueryAccountResponse } from 'cosmjs-types/cosmos/auth/v1beta1/query';
import {
  QueryAllBalancesRequest,
  QueryAllBalancesResponse,
  QueryBalanceRequest,
  QueryBalanceResponse,
  QueryTotalSupplyResponse,
} from 'cosmjs-types/cosmos/bank/v1beta1/query';
import { MsgSend, MsgSendResponse } from 'cosmjs-types/cosmos/bank/v1beta1/tx';
import { PubKey } from 'cosmjs-types/cosmos/crypto/secp256k1/keys';
import { SignMode } from 'cosmjs-types/cosmos/tx/signing/v1beta1/signing';
import { SimulateRequest, SimulateResponse } from 'cosmjs-types/cosmos/tx/v1beta1/service';
import { AuthInfo, TxBody, TxRaw } from 'cosmjs-types/cosmos/tx/v1beta1/tx';
import type { FastifyInstance } from 'fastify';
import { buildRestServer, CometRpc, type RestContext } from '../../app/rest/index.ts';

type Json = Record<string, unknown>;
interface RpcCall {
  method: string;
  params: Json;
}
type Handler = (params: Json) => { result?: unknown; error?: { code: number; message: string; data?: string } } | 'garbage';

const alice = toBech32('r3mes', new Uint8Array(20).fill(1));
const bob = toBech32('r3mes', new Uint8Array(20).fill(2));
const pubkeyBytes = new Uint8Array(33).fill(3);
pubkeyBytes[0] = 2;

function signedTx(): Uint8Array {
  const body = TxBody.fromPartial({
    messages: [{ typeUrl: MsgSend.typeUrl, value: MsgSend.encode({ fromAddress: alice, toAddress: bob, amount: [{ denom: 'ur3mes', amount: '1234' }] }).finish() }],
    memo: 'hi',
  });
  const authInfo = AuthInfo.fromPartial({
    signerInfos: [{ publicKey: { typeUrl: PubKey.typeUrl, value: PubKey.encode({ key: pubkeyBytes }).finish() }, modeInfo: { single: { mode: SignMode.SIGN_MODE_DIRECT } }, sequence: 5n }],
    fee: { amount: [{ denom: 'ur3mes', amount: '200' }], gasLimit: 100000n },
  });
  return TxRaw.encode({ bodyBytes: TxBody.encode(body).finish(), authInfoBytes: AuthInfo.encode(authInfo).finish(), signatures: [new Uint8Array(64).fill(9)] }).finish();
}
const txBytes = signedTx();
const txHash = createHash('sha256').update(txBytes).digest('hex').toUpperCase();

const handlers = new Map<string, Handler>();
const calls: RpcCall[] = [];
let server: Server;
let app: FastifyInstance;

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** An ABCI query answer as CometBFT writes it. */
function queryAnswer(value: Uint8Array, extra: Json = {}): { result: unknown } {
  return { result: { response: { code: 0, log: '', info: '', index: '0', key: null, value: Buffer.from(value).toString('base64'), proofOps: null, height: '77', codespace: '', ...extra } } };
}

/** Routes abci_query by path. */
const queryHandlers = new Map<string, (data: Uint8Array, params: Json) => ReturnType<Handler>>();
handlers.set('abci_query', (params) => {
  const path = String(params.path);
  const handler = queryHandlers.get(path);
  if (!handler) return { result: { response: { code: 6, codespace: 'sdk', log: `unknown query path ${path}`, height: '77' } } };
  return handler(Buffer.from(String(params.data), 'hex'), params);
});

t.before(async () => {
  server = createServer((req, res) => {
    void readBody(req).then((text) => {
      const request = JSON.parse(text) as { id: number; method: string; params: Json };
      calls.push({ method: request.method, params: request.params });
      const handler = handlers.get(request.method);
      const answer = handler ? handler(request.params) : { error: { code: -32601, message: 'Method not found' } };
      res.setHeader('content-type', 'application/json');
      if (answer === 'garbage') return res.end('<html>proxy error</html>');
      res.end(JSON.stringify({ jsonrpc: '2.0', id: request.id, ...answer }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  app = await buildRestServer({ rpcUrl: `http://127.0.0.1:${port}` });
});
t.teardown(async () => {
  await app.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
t.beforeEach(() => {
  calls.length = 0;
});

t.test('account: BaseAccount rendered with @type, snake_case and strings', async (t) => {
  let seen: Uint8Array | undefined;
  queryHandlers.set('/cosmos.auth.v1beta1.Query/Account', (data) => {
    seen = data;
    const account = BaseAccount.encode({ address: alice, pubKey: { typeUrl: PubKey.typeUrl, value: PubKey.encode({ key: pubkeyBytes }).finish() }, accountNumber: 3n, sequence: 5n }).finish();
    return queryAnswer(QueryAccountResponse.encode({ account: { typeUrl: BaseAccount.typeUrl, value: account } }).finish());
  });
  const res = await app.inject({ url: `/cosmos/auth/v1beta1/accounts/${alice}`, headers: { 'x-cosmos-block-height': '70' } });
  t.equal(res.statusCode, 200);
  t.same(JSON.parse(res.body), {
    account: {
      '@type': '/cosmos.auth.v1beta1.BaseAccount',
      address: alice,
      pub_key: { '@type': '/cosmos.crypto.secp256k1.PubKey', key: Buffer.from(pubkeyBytes).toString('base64') },
      account_number: '3',
      sequence: '5',
    },
  });
  t.equal(res.headers['x-cosmos-block-height'], '77', 'answer height in the header');
  t.same(QueryAccountRequest.decode(seen!), { address: alice }, 'protobuf request');
  t.match(calls[0], { method: 'abci_query', params: { path: '/cosmos.auth.v1beta1.Query/Account', height: '70', prove: false } });
});

t.test('account without a pubkey has pub_key null', async (t) => {
  queryHandlers.set('/cosmos.auth.v1beta1.Query/Account', () =>
    queryAnswer(QueryAccountResponse.encode({ account: { typeUrl: BaseAccount.typeUrl, value: BaseAccount.encode({ address: alice, accountNumber: 0n, sequence: 0n }).finish() } }).finish()),
  );
  const res = await app.inject({ url: `/cosmos/auth/v1beta1/accounts/${alice}` });
  t.same(JSON.parse(res.body).account, { '@type': '/cosmos.auth.v1beta1.BaseAccount', address: alice, pub_key: null, account_number: '0', sequence: '0' });
  t.notOk('height' in calls[0]!.params, 'no height: latest state');
});

t.test('ABCI codes map to HTTP statuses', async (t) => {
  const cases: Array<[codespace: string, code: number, log: string, status: number, grpc: number]> = [
    ['sdk', 22, 'account r3mes1... not found: key not found', 404, 5],
    ['sdk', 9, 'unknown address', 404, 5],
    ['sdk', 7, 'invalid address', 400, 3],
    ['sdk', 18, 'invalid request', 400, 3],
    ['sdk', 1, 'internal error: boom', 500, 13],
    ['sdk', 6, 'unknown query path /x', 501, 12],
    ['bank', 2, 'thing not found', 404, 5],
    ['bank', 7, 'weird', 400, 3],
  ];
  for (const [codespace, code, log, status, grpc] of cases) {
    queryHandlers.set('/cosmos.auth.v1beta1.Query/Account', () => ({ result: { response: { code, codespace, log, height: '77' } } }));
    const res = await app.inject({ url: `/cosmos/auth/v1beta1/accounts/${alice}` });
    t.equal(res.statusCode, status, `${codespace}/${code} → ${status}`);
    const body = JSON.parse(res.body) as { code: number; message: string; details: unknown[] };
    t.equal(body.code, grpc, `${codespace}/${code}: gRPC code ${grpc}`);
    t.match(body.message, log, 'message carries the app log');
    t.same(body.details, []);
  }
  queryHandlers.set('/cosmos.auth.v1beta1.Query/Account', () => queryAnswer(QueryAccountResponse.encode({}).finish()));
  const empty = await app.inject({ url: `/cosmos/auth/v1beta1/accounts/${alice}` });
  t.equal(empty.statusCode, 404, 'an empty answer is not found too');
});

t.test('balances, by_denom and supply', async (t) => {
  let allReq: QueryAllBalancesRequest | undefined;
  queryHandlers.set('/cosmos.bank.v1beta1.Query/AllBalances', (data) => {
    allReq = QueryAllBalancesRequest.decode(data);
    return queryAnswer(
      QueryAllBalancesResponse.encode({
        balances: [{ denom: 'uother', amount: '1' }, { denom: 'ur3mes', amount: '340282366920938463463374607431768211456' }],
        pagination: { nextKey: new Uint8Array([1, 2]), total: 2n },
      }).finish(),
    );
  });
  const res = await app.inject({ url: `/cosmos/bank/v1beta1/balances/${alice}?pagination.limit=2&pagination.count_total=true` });
  t.equal(res.statusCode, 200);
  t.same(JSON.parse(res.body), {
    balances: [{ denom: 'uother', amount: '1' }, { denom: 'ur3mes', amount: '340282366920938463463374607431768211456' }],
    pagination: { next_key: 'AQI=', total: '2' },
  });
  t.equal(allReq?.address, alice);
  t.equal(allReq?.pagination?.limit, 2n, 'pagination.limit forwarded');
  t.equal(allReq?.pagination?.countTotal, true, 'pagination.count_total forwarded');

  queryHandlers.set('/cosmos.bank.v1beta1.Query/AllBalances', () => queryAnswer(QueryAllBalancesResponse.encode({ balances: [] }).finish()));
  const empty = await app.inject({ url: `/cosmos/bank/v1beta1/balances/${alice}` });
  t.same(JSON.parse(empty.body), { balances: [], pagination: null }, 'an account with nothing');

  let oneReq: QueryBalanceRequest | undefined;
  queryHandlers.set('/cosmos.bank.v1beta1.Query/Balance', (data) => {
    oneReq = QueryBalanceRequest.decode(data);
    return queryAnswer(QueryBalanceResponse.encode({ balance: { denom: 'ur3mes', amount: '42' } }).finish());
  });
  const one = await app.inject({ url: `/cosmos/bank/v1beta1/balances/${alice}/by_denom?denom=ur3mes` });
  t.same(JSON.parse(one.body), { balance: { denom: 'ur3mes', amount: '42' } });
  t.same(oneReq, { address: alice, denom: 'ur3mes' });

  queryHandlers.set('/cosmos.bank.v1beta1.Query/TotalSupply', () =>
    queryAnswer(QueryTotalSupplyResponse.encode({ supply: [{ denom: 'ur3mes', amount: '1000000' }], pagination: { nextKey: new Uint8Array(), total: 1n } }).finish()),
  );
  const supply = await app.inject({ url: '/cosmos/bank/v1beta1/supply' });
  t.same(JSON.parse(supply.body), { supply: [{ denom: 'ur3mes', amount: '1000000' }], pagination: { next_key: null, total: '1' } });
});

t.test('broadcast: sync and async, CheckTx codes, mempool refusals', async (t) => {
  handlers.set('broadcast_tx_sync', (params) => {
    t.equal(params.tx, Buffer.from(txBytes).toString('base64'), 'tx travels as base64');
    return { result: { code: 0, data: '', log: '', codespace: '', hash: txHash } };
  });
  const body = { tx_bytes: Buffer.from(txBytes).toString('base64'), mode: 'BROADCAST_MODE_SYNC' };
  const ok = await app.inject({ method: 'POST', url: '/cosmos/tx/v1beta1/txs', payload: body });
  t.equal(ok.statusCode, 200);
  t.same(JSON.parse(ok.body), {
    tx_response: { height: '0', txhash: txHash, codespace: '', code: 0, data: '', raw_log: '', logs: [], info: '', gas_wanted: '0', gas_used: '0', tx: null, timestamp: '', events: [] },
  });

  handlers.set('broadcast_tx_sync', () => ({ result: { code: 32, codespace: 'sdk', log: 'account sequence mismatch, expected 6, got 5: incorrect account sequence', data: '', hash: txHash } }));
  const refused = await app.inject({ method: 'POST', url: '/cosmos/tx/v1beta1/txs', payload: body });
  t.equal(refused.statusCode, 200, 'a CheckTx failure is a normal answer, as in Cosmos');
  t.match(JSON.parse(refused.body).tx_response, { code: 32, codespace: 'sdk', raw_log: /sequence mismatch/ });

  handlers.set('broadcast_tx_sync', () => ({ error: { code: -32603, message: 'Internal error', data: 'tx already exists in cache' } }));
  const cached = await app.inject({ method: 'POST', url: '/cosmos/tx/v1beta1/txs', payload: body });
  t.equal(cached.statusCode, 200);
  t.match(JSON.parse(cached.body).tx_response, { code: 19, codespace: 'sdk', txhash: txHash, raw_log: 'tx already in mempool' });

  handlers.set('broadcast_tx_async', () => ({ result: { code: 0, data: '', log: '', codespace: '', hash: txHash } }));
  const asyncRes = await app.inject({ method: 'POST', url: '/cosmos/tx/v1beta1/txs', payload: { ...body, mode: 'BROADCAST_MODE_ASYNC' } });
  t.equal(asyncRes.statusCode, 200);
  t.equal(calls.at(-1)?.method, 'broadcast_tx_async');

  handlers.set('broadcast_tx_sync', () => ({ error: { code: -32603, message: 'Internal error', data: 'something odd' } }));
  const odd = await app.inject({ method: 'POST', url: '/cosmos/tx/v1beta1/txs', payload: body });
  t.equal(odd.statusCode, 502, 'other node errors are a bad gateway');
});

t.test('simulate', async (t) => {
  let seen: SimulateRequest | undefined;
  queryHandlers.set('/cosmos.tx.v1beta1.Service/Simulate', (data) => {
    seen = SimulateRequest.decode(data);
    return queryAnswer(
      SimulateResponse.encode({
        gasInfo: { gasWanted: 100000n, gasUsed: 61234n },
        result: {
          data: new Uint8Array(),
          log: '',
          events: [{ type: 'transfer', attributes: [{ key: 'amount', value: '1234ur3mes', index: true }] }],
          msgResponses: [{ typeUrl: MsgSendResponse.typeUrl, value: MsgSendResponse.encode({}).finish() }],
        },
      }).finish(),
    );
  });
  const res = await app.inject({ method: 'POST', url: '/cosmos/tx/v1beta1/simulate', payload: { tx_bytes: Buffer.from(txBytes).toString('base64') } });
  t.equal(res.statusCode, 200);
  t.same(JSON.parse(res.body), {
    gas_info: { gas_wanted: '100000', gas_used: '61234' },
    result: {
      data: '',
      log: '',
      events: [{ type: 'transfer', attributes: [{ key: 'amount', value: '1234ur3mes', index: true }] }],
      msg_responses: [{ '@type': '/cosmos.bank.v1beta1.MsgSendResponse' }],
    },
  });
  t.same(seen?.txBytes, txBytes, 'tx_bytes forwarded in SimulateRequest');

  queryHandlers.set('/cosmos.tx.v1beta1.Service/Simulate', () => ({ result: { response: { code: 5, codespace: 'sdk', log: '5ur3mes is smaller than 1234ur3mes: insufficient funds', height: '77' } } }));
  const poor = await app.inject({ method: 'POST', url: '/cosmos/tx/v1beta1/simulate', payload: { tx_bytes: Buffer.from(txBytes).toString('base64') } });
  t.equal(poor.statusCode, 400);
  t.match(JSON.parse(poor.body), { code: 3, message: /insufficient funds/ });
});

t.test('tx by hash: decoded tx and tx_response with events and block time', async (t) => {
  handlers.set('tx', (params) => {
    t.equal(params.hash, Buffer.from(txHash, 'hex').toString('base64'), 'hash travels as base64');
    return {
      result: {
        hash: txHash,
        height: '12',
        index: 0,
        tx_result: {
          code: 0,
          data: Buffer.from([0x12, 0x34]).toString('base64'),
          log: '',
          info: '',
          gas_wanted: '100000',
          gas_used: '61234',
          events: [{ type: 'message', attributes: [{ key: 'action', value: '/cosmos.bank.v1beta1.MsgSend', index: true }] }],
          codespace: '',
        },
        tx: Buffer.from(txBytes).toString('base64'),
      },
    };
  });
  handlers.set('block', (params) => {
    t.equal(params.height, '12');
    return { result: { block: { header: { chain_id: 'r3mes-test', height: '12', time: '2026-01-02T03:04:05.678Z' } } } };
  });
  const res = await app.inject({ url: `/cosmos/tx/v1beta1/txs/${txHash.toLowerCase()}` });
  t.equal(res.statusCode, 200);
  const body = JSON.parse(res.body) as { tx: Json; tx_response: Json };
  const expectedTx = {
    body: {
      messages: [{ '@type': '/cosmos.bank.v1beta1.MsgSend', from_address: alice, to_address: bob, amount: [{ denom: 'ur3mes', amount: '1234' }] }],
      memo: 'hi',
      timeout_height: '0',
      extension_options: [],
      non_critical_extension_options: [],
    },
    auth_info: {
      signer_infos: [
        {
          public_key: { '@type': '/cosmos.crypto.secp256k1.PubKey', key: Buffer.from(pubkeyBytes).toString('base64') },
          mode_info: { single: { mode: 'SIGN_MODE_DIRECT' } },
          sequence: '5',
        },
      ],
      fee: { amount: [{ denom: 'ur3mes', amount: '200' }], gas_limit: '100000', payer: '', granter: '' },
    },
    signatures: [Buffer.from(new Uint8Array(64).fill(9)).toString('base64')],
  };
  t.match(body.tx, expectedTx, 'decoded tx in gateway JSON');
  t.match(body.tx_response, {
    height: '12',
    txhash: txHash,
    code: 0,
    data: '1234',
    gas_wanted: '100000',
    gas_used: '61234',
    timestamp: '2026-01-02T03:04:05.678Z',
    tx: { '@type': '/cosmos.tx.v1beta1.Tx', ...expectedTx },
    events: [{ type: 'message', attributes: [{ key: 'action', value: '/cosmos.bank.v1beta1.MsgSend', index: true }] }],
  });

  handlers.set('tx', (params) => ({ error: { code: -32603, message: 'Internal error', data: `tx (${Buffer.from(String(params.hash), 'base64').toString('hex').toUpperCase()}) not found` } }));
  const missing = await app.inject({ url: `/cosmos/tx/v1beta1/txs/${txHash}` });
  t.equal(missing.statusCode, 404);
  t.match(JSON.parse(missing.body), { code: 5, message: `tx not found: ${txHash}` });
});

t.test('health', async (t) => {
  handlers.set('status', () => ({
    result: {
      node_info: { network: 'r3mes-test', version: '0.38.25', moniker: 'n0' },
      sync_info: { latest_block_height: '99', latest_block_time: '2026-01-01T00:00:00Z', latest_app_hash: 'AB', catching_up: true },
    },
  }));
  const res = await app.inject({ url: '/health' });
  t.equal(res.statusCode, 200);
  t.match(JSON.parse(res.body), { status: 'catching_up', network: 'r3mes-test', latest_block_height: '99', catching_up: true });
});

t.test('a node answering nonsense is a 502, not a 500', async (t) => {
  handlers.set('status', () => 'garbage');
  const res = await app.inject({ url: '/health' });
  t.equal(res.statusCode, 502);
  t.match(JSON.parse(res.body), { message: /not JSON/ });
  handlers.set('status', () => ({ result: { node_info: 'nope' } }));
  const odd = await app.inject({ url: '/health' });
  t.equal(odd.statusCode, 502);
  queryHandlers.set('/cosmos.bank.v1beta1.Query/TotalSupply', () => queryAnswer(new Uint8Array([0xff, 0xff, 0xff])));
  const undecodable = await app.inject({ url: '/cosmos/bank/v1beta1/supply' });
  t.equal(undecodable.statusCode, 502);
  t.match(JSON.parse(undecodable.body), { code: 13, message: /does not decode/ });
});

t.test('modules can add routes that reuse the RPC context', async (t) => {
  const extra = await buildRestServer({
    rpcUrl: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    modules: [
      (instance: FastifyInstance, ctx: RestContext) => {
        instance.get('/r3mes/demo/v1/height', { schema: { response: { 200: { type: 'object', properties: { height: { type: 'string' } } } } } }, async () => {
          const status = await ctx.rpc.status();
          return { height: status.ok ? status.value.latestBlockHeight.toString() : 'unknown' };
        });
      },
    ],
  });
  handlers.set('status', () => ({ result: { node_info: {}, sync_info: { latest_block_height: '5', catching_up: false } } }));
  const res = await extra.inject({ url: '/r3mes/demo/v1/height' });
  t.same(JSON.parse(res.body), { height: '5' });
  t.ok(extra.restContext.rpc instanceof CometRpc, 'restContext is reachable from the instance');
  const doc = JSON.parse((await extra.inject({ url: '/openapi.json' })).body) as { paths: Json };
  t.ok(doc.paths['/r3mes/demo/v1/height'], 'module route is in the OpenAPI document');
  await extra.close();
});

t.test('CometRpc: timeouts and errors are values', async (t) => {
  const slow = createServer(() => {
    /* never answers */
  });
  await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
  const rpc = new CometRpc(`http://127.0.0.1:${(slow.address() as { port: number }).port}`, { timeoutMs: 200 });
  const answer = await rpc.status();
  t.match(answer, { ok: false, error: { kind: 'timeout', message: /did not answer status within 200 ms/ } });
  slow.closeAllConnections();
  await new Promise<void>((resolve) => slow.close(() => resolve()));
  const bad = await new CometRpc(`http://127.0.0.1:${(server.address() as { port: number }).port}`).tx('not hex');
  t.match(bad, { ok: false, error: { kind: 'malformed' } });
});
