/**
 * The REST server refuses bad input with 400 (never 500), says 503 when the
 * CometBFT RPC is unreachable, and describes every route in /openapi.json.
 * The RPC URL points at a loopback port nobody listens on.
 */
import t, { type Test } from 'tap';
import { createServer } from 'node:net';
import { toBech32 } from '@cosmjs/encoding';
import { TxBody, TxRaw, AuthInfo } from 'cosmjs-types/cosmos/tx/v1beta1/tx';
import { MsgSend } from 'cosmjs-types/cosmos/bank/v1beta1/tx';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { buildRestServer } from '../../app/rest/index.ts';

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const goodAddress = toBech32('r3mes', new Uint8Array(20).fill(7));
const otherAddress = toBech32('r3mes', new Uint8Array(20).fill(9));
const goodHash = 'AB'.repeat(32);

function sampleTxBytes(): Uint8Array {
  const body = TxBody.fromPartial({
    messages: [
      {
        typeUrl: '/cosmos.bank.v1beta1.MsgSend',
        value: MsgSend.encode({ fromAddress: goodAddress, toAddress: otherAddress, amount: [{ denom: 'ur3mes', amount: '5' }] }).finish(),
      },
    ],
    memo: 'validation test',
  });
  const authInfo = AuthInfo.fromPartial({ fee: { amount: [{ denom: 'ur3mes', amount: '100' }], gasLimit: 200000n } });
  return TxRaw.encode({
    bodyBytes: TxBody.encode(body).finish(),
    authInfoBytes: AuthInfo.encode(authInfo).finish(),
    signatures: [new Uint8Array(64)],
  }).finish();
}
const goodTxBase64 = Buffer.from(sampleTxBytes()).toString('base64');

let app: FastifyInstance;

t.before(async () => {
  app = await buildRestServer({ rpcUrl: `http://127.0.0.1:${await closedPort()}`, rpcTimeoutMs: 2000, maxTxBytes: 4096 });
  await app.ready();
});
t.teardown(async () => {
  await app.close();
});

function errorBody(t: Test, body: string): { code: number; message: string; details: unknown[] } {
  const parsed = JSON.parse(body) as { code: number; message: string; details: unknown[] };
  t.type(parsed.code, 'number', 'code is a number');
  t.type(parsed.message, 'string', 'message is a string');
  t.ok(parsed.message.length > 0, 'message is not empty');
  t.same(parsed.details, [], 'details is an empty array');
  return parsed;
}

type Case = [label: string, options: InjectOptions];

const post = (url: string, payload: unknown): InjectOptions => ({ method: 'POST', url, payload: payload as InjectOptions['payload'] });

const badInput: Case[] = [
  // addresses
  ['account: wrong prefix', { method: 'GET', url: `/cosmos/auth/v1beta1/accounts/${toBech32('cosmos', new Uint8Array(20))}` }],
  ['account: bad checksum', { method: 'GET', url: `/cosmos/auth/v1beta1/accounts/${goodAddress.slice(0, -1)}${goodAddress.endsWith('q') ? 'p' : 'q'}` }],
  ['account: not bech32', { method: 'GET', url: '/cosmos/auth/v1beta1/accounts/hello' }],
  ['account: mixed case', { method: 'GET', url: `/cosmos/auth/v1beta1/accounts/R${goodAddress.slice(1)}` }],
  ['account: 10-byte address', { method: 'GET', url: `/cosmos/auth/v1beta1/accounts/${toBech32('r3mes', new Uint8Array(10))}` }],
  ['account: very long', { method: 'GET', url: `/cosmos/auth/v1beta1/accounts/r3mes1${'q'.repeat(300)}` }],
  ['account: bad height header', { method: 'GET', url: `/cosmos/auth/v1beta1/accounts/${goodAddress}`, headers: { 'x-cosmos-block-height': 'latest' } }],
  ['account: height past int64', { method: 'GET', url: `/cosmos/auth/v1beta1/accounts/${goodAddress}`, headers: { 'x-cosmos-block-height': '9223372036854775808' } }],
  ['balances: wrong prefix', { method: 'GET', url: `/cosmos/bank/v1beta1/balances/${toBech32('cosmos', new Uint8Array(20))}` }],
  ['balances: bad pagination.limit', { method: 'GET', url: `/cosmos/bank/v1beta1/balances/${goodAddress}?pagination.limit=ten` }],
  ['balances: bad pagination.key', { method: 'GET', url: `/cosmos/bank/v1beta1/balances/${goodAddress}?pagination.key=%25%25%25` }],
  ['balances: key and offset', { method: 'GET', url: `/cosmos/bank/v1beta1/balances/${goodAddress}?pagination.key=AQ%3D%3D&pagination.offset=2` }],
  ['balances: limit past uint64', { method: 'GET', url: `/cosmos/bank/v1beta1/balances/${goodAddress}?pagination.limit=18446744073709551616` }],
  ['by_denom: no denom', { method: 'GET', url: `/cosmos/bank/v1beta1/balances/${goodAddress}/by_denom` }],
  ['by_denom: bad denom', { method: 'GET', url: `/cosmos/bank/v1beta1/balances/${goodAddress}/by_denom?denom=1x` }],
  ['by_denom: bad address', { method: 'GET', url: '/cosmos/bank/v1beta1/balances/r3mes1abc/by_denom?denom=ur3mes' }],
  ['supply: bad pagination.offset', { method: 'GET', url: '/cosmos/bank/v1beta1/supply?pagination.offset=-1' }],
  ['supply: bad height header', { method: 'GET', url: '/cosmos/bank/v1beta1/supply', headers: { 'x-cosmos-block-height': '-5' } }],
  // broadcast
  ['broadcast: no body', { method: 'POST', url: '/cosmos/tx/v1beta1/txs' }],
  ['broadcast: empty object', post('/cosmos/tx/v1beta1/txs', {})],
  ['broadcast: body not JSON', { method: 'POST', url: '/cosmos/tx/v1beta1/txs', headers: { 'content-type': 'application/json' }, payload: '{"tx_bytes": ' }],
  ['broadcast: JSON array', post('/cosmos/tx/v1beta1/txs', [1, 2])],
  ['broadcast: unsupported content type', { method: 'POST', url: '/cosmos/tx/v1beta1/txs', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'tx_bytes=AA' }],
  ['broadcast: text body', { method: 'POST', url: '/cosmos/tx/v1beta1/txs', headers: { 'content-type': 'text/plain' }, payload: 'hello' }],
  ['broadcast: bad base64', post('/cosmos/tx/v1beta1/txs', { tx_bytes: 'not base64!', mode: 'BROADCAST_MODE_SYNC' })],
  ['broadcast: unpadded base64', post('/cosmos/tx/v1beta1/txs', { tx_bytes: 'AAA', mode: 'BROADCAST_MODE_SYNC' })],
  ['broadcast: empty tx_bytes', post('/cosmos/tx/v1beta1/txs', { tx_bytes: '', mode: 'BROADCAST_MODE_SYNC' })],
  ['broadcast: tx_bytes not a string', post('/cosmos/tx/v1beta1/txs', { tx_bytes: { a: 1 }, mode: 'BROADCAST_MODE_SYNC' })],
  ['broadcast: not a TxRaw', post('/cosmos/tx/v1beta1/txs', { tx_bytes: Buffer.from('garbage garbage').toString('base64'), mode: 'BROADCAST_MODE_SYNC' })],
  ['broadcast: unknown mode', post('/cosmos/tx/v1beta1/txs', { tx_bytes: goodTxBase64, mode: 'BROADCAST_MODE_FAST' })],
  ['broadcast: block mode (removed)', post('/cosmos/tx/v1beta1/txs', { tx_bytes: goodTxBase64, mode: 'BROADCAST_MODE_BLOCK' })],
  ['broadcast: no mode', post('/cosmos/tx/v1beta1/txs', { tx_bytes: goodTxBase64 })],
  ['broadcast: numeric mode', post('/cosmos/tx/v1beta1/txs', { tx_bytes: goodTxBase64, mode: 2 })],
  ['broadcast: tx over max_tx_bytes', post('/cosmos/tx/v1beta1/txs', { tx_bytes: Buffer.alloc(4097, 1).toString('base64'), mode: 'BROADCAST_MODE_SYNC' })],
  ['broadcast: oversized body', post('/cosmos/tx/v1beta1/txs', { tx_bytes: Buffer.alloc(64 * 1024, 1).toString('base64'), mode: 'BROADCAST_MODE_SYNC' })],
  // simulate
  ['simulate: no tx_bytes', post('/cosmos/tx/v1beta1/simulate', {})],
  ['simulate: bad base64', post('/cosmos/tx/v1beta1/simulate', { tx_bytes: '@@@@' })],
  ['simulate: not a TxRaw', post('/cosmos/tx/v1beta1/simulate', { tx_bytes: 'AAAA' })],
  ['simulate: oversized body', post('/cosmos/tx/v1beta1/simulate', { tx_bytes: 'A'.repeat(200_000) })],
  // tx by hash
  ['tx: short hash', { method: 'GET', url: '/cosmos/tx/v1beta1/txs/ABCDEF' }],
  ['tx: not hex', { method: 'GET', url: `/cosmos/tx/v1beta1/txs/${'G'.repeat(64)}` }],
  ['tx: 65 digits', { method: 'GET', url: `/cosmos/tx/v1beta1/txs/${'A'.repeat(65)}` }],
  ['tx: 0x prefix', { method: 'GET', url: `/cosmos/tx/v1beta1/txs/0x${'a'.repeat(62)}` }],
  ['tx: bad percent-encoding', { method: 'GET', url: '/cosmos/tx/v1beta1/txs/%zz' }],
  // tx search
  ['search: no query', { method: 'GET', url: '/cosmos/tx/v1beta1/txs' }],
  ['search: limit 0', { method: 'GET', url: "/cosmos/tx/v1beta1/txs?query=tx.height%3D1&limit=0" }],
  ['search: bad order_by', { method: 'GET', url: "/cosmos/tx/v1beta1/txs?query=tx.height%3D1&order_by=sideways" }],
];

t.test('bad input gives 400 with a message, never 500', async (t) => {
  for (const [label, options] of badInput) {
    const res = await app.inject(options);
    t.equal(res.statusCode, 400, `${label}: status 400 (got ${res.statusCode}: ${res.body.slice(0, 160)})`);
    const body = errorBody(t, res.body);
    t.equal(body.code, 3, `${label}: gRPC InvalidArgument`);
  }
});

t.test('unknown mode names the allowed ones', async (t) => {
  const res = await app.inject(post('/cosmos/tx/v1beta1/txs', { tx_bytes: goodTxBase64, mode: 'BROADCAST_MODE_FAST' }));
  t.match(JSON.parse(res.body).message, /BROADCAST_MODE_SYNC.*BROADCAST_MODE_ASYNC/);
});

t.test('address errors say what is wrong', async (t) => {
  const res = await app.inject({ method: 'GET', url: `/cosmos/bank/v1beta1/balances/${toBech32('cosmos', new Uint8Array(20))}` });
  t.match(JSON.parse(res.body).message, /prefix is "cosmos", expected "r3mes"/);
  const bad = await app.inject({ method: 'GET', url: `/cosmos/auth/v1beta1/accounts/${goodAddress.slice(0, -1)}${goodAddress.endsWith('q') ? 'p' : 'q'}` });
  t.match(JSON.parse(bad.body).message, /checksum/i);
});

t.test('unknown route is a 404 in the same shape', async (t) => {
  const res = await app.inject({ method: 'GET', url: '/cosmos/nothing/here' });
  t.equal(res.statusCode, 404);
  t.equal(errorBody(t, res.body).code, 5);
});

t.test('unreachable RPC gives 503 with a message', async (t) => {
  const cases: Case[] = [
    ['health', { method: 'GET', url: '/health' }],
    ['account', { method: 'GET', url: `/cosmos/auth/v1beta1/accounts/${goodAddress}` }],
    ['account (upper case address)', { method: 'GET', url: `/cosmos/auth/v1beta1/accounts/${goodAddress.toUpperCase()}` }],
    ['balances', { method: 'GET', url: `/cosmos/bank/v1beta1/balances/${goodAddress}?pagination.limit=10&pagination.count_total=true` }],
    ['by_denom', { method: 'GET', url: `/cosmos/bank/v1beta1/balances/${goodAddress}/by_denom?denom=ur3mes` }],
    ['supply', { method: 'GET', url: '/cosmos/bank/v1beta1/supply', headers: { 'x-cosmos-block-height': '12' } }],
    ['broadcast sync', post('/cosmos/tx/v1beta1/txs', { tx_bytes: goodTxBase64, mode: 'BROADCAST_MODE_SYNC' })],
    ['broadcast async', post('/cosmos/tx/v1beta1/txs', { tx_bytes: goodTxBase64, mode: 'BROADCAST_MODE_ASYNC' })],
    ['simulate', post('/cosmos/tx/v1beta1/simulate', { tx_bytes: goodTxBase64 })],
    ['tx by hash', { method: 'GET', url: `/cosmos/tx/v1beta1/txs/${goodHash.toLowerCase()}` }],
    ['tx search', { method: 'GET', url: "/cosmos/tx/v1beta1/txs?query=tx.height%3D1" }],
  ];
  for (const [label, options] of cases) {
    const res = await app.inject(options);
    t.equal(res.statusCode, 503, `${label}: status 503 (got ${res.statusCode}: ${res.body.slice(0, 160)})`);
    const body = errorBody(t, res.body);
    t.match(body.message, /unreachable|did not answer/, `${label}: message says the node is unreachable`);
  }
});

t.test('/openapi.json is an OpenAPI 3 document listing every route', async (t) => {
  const res = await app.inject({ method: 'GET', url: '/openapi.json' });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /application\/json/);
  type Operation = {
    parameters?: Array<{ name: string; in: string; required?: boolean; schema?: object }>;
    requestBody?: { content: Record<string, { schema: object }> };
    responses: Record<string, { content?: Record<string, { schema: object }> }>;
  };
  const doc = JSON.parse(res.body) as { openapi: string; info: { title: string; version: string }; paths: Record<string, Record<string, Operation>> };
  t.match(doc.openapi, /^3\.\d+\.\d+$/);
  t.type(doc.info.title, 'string');
  t.type(doc.info.version, 'string');

  const expected: Array<[method: string, path: string]> = [
    ['get', '/cosmos/auth/v1beta1/accounts/{address}'],
    ['get', '/cosmos/bank/v1beta1/balances/{address}'],
    ['get', '/cosmos/bank/v1beta1/balances/{address}/by_denom'],
    ['get', '/cosmos/bank/v1beta1/supply'],
    ['post', '/cosmos/tx/v1beta1/txs'],
    ['get', '/cosmos/tx/v1beta1/txs'],
    ['post', '/cosmos/tx/v1beta1/simulate'],
    ['get', '/cosmos/tx/v1beta1/txs/{hash}'],
    ['get', '/health'],
    ['get', '/openapi.json'],
  ];
  for (const [method, path] of expected) {
    const op = doc.paths[path]?.[method];
    t.ok(op, `${method.toUpperCase()} ${path} is documented`);
    if (!op) continue;
    t.ok(op.responses['200']?.content?.['application/json']?.schema, `${method.toUpperCase()} ${path}: 200 response schema`);
    for (const param of path.match(/\{(\w+)\}/g) ?? []) {
      const name = param.slice(1, -1);
      t.ok(op.parameters?.some((p) => p.in === 'path' && p.name === name && p.required === true && p.schema), `${path}: path parameter ${name}`);
    }
    if (method === 'post') t.ok(op.requestBody?.content['application/json']?.schema, `${path}: request body schema`);
    if (path !== '/openapi.json') t.ok(op.responses['4XX'] ?? op.responses['400'], `${path}: error response documented`);
  }

  // Every route the server actually has appears in the document, and nothing else.
  const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`)).sort();
  t.same(documented, expected.map(([m, p]) => `${m} ${p}`).sort(), 'documented routes are exactly the served routes');

  // The pagination and denom query parameters are described.
  const balances = doc.paths['/cosmos/bank/v1beta1/balances/{address}']?.get;
  t.ok(balances?.parameters?.some((p) => p.in === 'query' && p.name === 'pagination.limit'));
  const byDenom = doc.paths['/cosmos/bank/v1beta1/balances/{address}/by_denom']?.get;
  t.ok(byDenom?.parameters?.some((p) => p.in === 'query' && p.name === 'denom' && p.required === true));
});
