import t, { type Test } from 'tap';
import { writeFile } from 'node:fs/promises';
import { CID } from 'multiformats/cid';
import { FileBlockstore } from '../src/storage/blockstore.ts';
import { cidOf } from '../src/storage/cid.ts';
import { buildGateway, type UploadPolicy } from '../src/storage/gateway.ts';
import { startWorkerServer, uploadPolicyFor } from '../src/roles/server.ts';
import { WorkerStats } from '../src/roles/stats.ts';

/** A gateway over a fresh blockstore, listening on a real socket at 127.0.0.1, any free port. */
async function startGateway(t: Test, maxUploadBytes?: number) {
  const store = await FileBlockstore.open(t.testdir());
  const app = await buildGateway({ store, maxUploadBytes });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  return { store, base: address };
}

const bytesOf = (text: string) => new TextEncoder().encode(text);

t.test('POST /ipfs stores raw bytes; GET /ipfs/{cid} serves them back', async (t) => {
  const { base } = await startGateway(t);
  const bytes = Uint8Array.from({ length: 3000 }, (_, i) => (i * 7) & 0xff);
  const expected = (await cidOf(bytes)).toString();

  const post = await fetch(`${base}/ipfs`, { method: 'POST', body: bytes, headers: { 'content-type': 'application/octet-stream' } });
  t.equal(post.status, 201);
  t.same(await post.json(), { cid: expected });
  t.equal(post.headers.get('location'), `/ipfs/${expected}`);

  const get = await fetch(`${base}/ipfs/${expected}`);
  t.equal(get.status, 200);
  t.equal(get.headers.get('content-type'), 'application/octet-stream');
  t.equal(get.headers.get('etag'), `"${expected}"`);
  t.match(get.headers.get('cache-control'), /immutable/);
  t.same(Buffer.from(await get.arrayBuffer()), Buffer.from(bytes));

  const head = await fetch(`${base}/ipfs/${expected}`, { method: 'HEAD' });
  t.equal(head.status, 200);
  t.equal(head.headers.get('etag'), `"${expected}"`);
  t.equal((await head.arrayBuffer()).byteLength, 0);

  const cached = await fetch(`${base}/ipfs/${expected}`, { headers: { 'if-none-match': `"other", "${expected}"` } });
  t.equal(cached.status, 304);
});

t.test('uploads are opaque whatever their content type, the empty body included', async (t) => {
  const { base } = await startGateway(t);
  const json = '{"looks": "like json"}';
  const post = await fetch(`${base}/ipfs`, { method: 'POST', body: json, headers: { 'content-type': 'application/json' } });
  t.equal(post.status, 201);
  const { cid } = (await post.json()) as { cid: string };
  t.equal(cid, (await cidOf(bytesOf(json))).toString());
  t.equal(await (await fetch(`${base}/ipfs/${cid}`)).text(), json, 'stored byte for byte, not parsed');

  const empty = await fetch(`${base}/ipfs`, { method: 'POST' });
  t.equal(empty.status, 201);
  t.same(await empty.json(), { cid: 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku' });
});

t.test('400 for a malformed or foreign CID, 404 for an unknown one', async (t) => {
  const { base } = await startGateway(t);
  const unknown = await cidOf(bytesOf('nobody stored this'));
  const cases: [string, number, RegExp][] = [
    ['not-a-cid', 400, /is not a CID/],
    ['QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH', 400, /version 0/],
    [CID.createV1(0x71, unknown.multihash).toString(), 400, /codec 0x71/],
    [CID.createV1(0x70, unknown.multihash).toString(), 404, /not found/],
    [`${unknown}/sub/path`, 400, /is not a CID/],
    ['x'.repeat(5000), 400, /is not a CID/],
    ['', 400, /empty/],
    [unknown.toString(), 404, /not found/],
  ];
  for (const [path, status, pattern] of cases) {
    const response = await fetch(`${base}/ipfs/${path}`);
    t.equal(response.status, status, `${path.slice(0, 60)} -> ${status}`);
    const body = (await response.json()) as { codespace: string; message: string };
    t.equal(body.codespace, 'storage');
    t.match(body.message, pattern);
  }
  const head = await fetch(`${base}/ipfs/${unknown}`, { method: 'HEAD' });
  t.equal(head.status, 404);
});

t.test('413 for an upload over the limit, and nothing is stored', async (t) => {
  const { base, store } = await startGateway(t, 1024);
  const atLimit = new Uint8Array(1024).fill(1);
  t.equal((await fetch(`${base}/ipfs`, { method: 'POST', body: atLimit })).status, 201, 'exactly at the limit');
  const over = new Uint8Array(1025).fill(2);
  const response = await fetch(`${base}/ipfs`, { method: 'POST', body: over, headers: { 'content-type': 'application/octet-stream' } });
  t.equal(response.status, 413);
  t.equal(await store.has(await cidOf(over)), false);
  // Without a Content-Length (chunked), the limit still holds while streaming.
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < 8; i++) controller.enqueue(new Uint8Array(512));
      controller.close();
    },
  });
  const chunked = await fetch(`${base}/ipfs`, { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
  t.equal(chunked.status, 413, 'chunked upload over the limit');
});

t.test('a block corrupted on disk is never served', async (t) => {
  const { base, store } = await startGateway(t);
  const bytes = bytesOf('served only while intact');
  const cid = await store.put(bytes);
  await writeFile(store.pathOf(cid), bytesOf('served only while intacT'));
  const response = await fetch(`${base}/ipfs/${cid}`);
  t.equal(response.status, 500);
  const body = (await response.json()) as { message: string };
  t.match(body.message, /hash to .*not to the requested/);
});

t.test('uploads: off (403), behind a token (401 before the body is read), within a quota (507)', async (t) => {
  const store = await FileBlockstore.open(t.testdir());
  const start = async (upload: UploadPolicy | false) => {
    const app = await buildGateway({ store, upload });
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    t.teardown(() => app.close());
    return base;
  };
  const post = (base: string, bytes: Uint8Array<ArrayBuffer>, headers: Record<string, string> = {}) => fetch(`${base}/ipfs`, { method: 'POST', body: bytes, headers: { 'content-type': 'application/octet-stream', ...headers } });

  const off = await start(false);
  const refused = await post(off, bytesOf('nobody may write'));
  t.equal(refused.status, 403, 'a read-only gateway refuses uploads');
  t.match(((await refused.json()) as { message: string }).message, /uploads are off/);
  t.equal(await store.has(await cidOf(bytesOf('nobody may write'))), false, 'nothing stored');
  const stored = await store.put(bytesOf('still served'));
  t.equal((await fetch(`${off}/ipfs/${stored}`)).status, 200, 'reads still work');

  const guarded = await start({ token: 's3cret', quotaBytes: 100 });
  t.equal((await post(guarded, bytesOf('no token'))).status, 401, 'no token: 401');
  t.equal((await post(guarded, bytesOf('wrong token'), { authorization: 'Bearer s3creT' })).status, 401, 'wrong token: 401');
  t.equal((await post(guarded, new Uint8Array(60).fill(1), { authorization: 'Bearer s3cret' })).status, 201, 'with the token: stored');
  const over = await post(guarded, new Uint8Array(60).fill(2), { authorization: 'Bearer s3cret' });
  t.equal(over.status, 507, 'past the quota: 507');
  t.equal(await store.has(await cidOf(new Uint8Array(60).fill(2))), false, 'nothing stored past the quota');
  t.equal((await post(guarded, new Uint8Array(40).fill(3), { authorization: 'Bearer s3cret' })).status, 201, 'what still fits is stored');
});

t.test('the worker server: uploads open on loopback, off on a public address without a token', async (t) => {
  t.equal(uploadPolicyFor('127.0.0.1') !== false, true, '127.0.0.1: open');
  t.equal(uploadPolicyFor('::1') !== false, true, '::1: open');
  t.equal(uploadPolicyFor('localhost') !== false, true, 'localhost: open');
  t.equal(uploadPolicyFor('0.0.0.0'), false, '0.0.0.0: off');
  t.equal(uploadPolicyFor('192.0.2.7'), false, 'a routable address: off');
  t.same(uploadPolicyFor('0.0.0.0', { token: 't' }), { token: 't' }, 'a token turns them on anywhere');

  // A real server on all interfaces, reached through loopback: uploads are refused, reads work.
  const store = await FileBlockstore.open(t.testdir());
  const { app, address } = await startWorkerServer('0.0.0.0:0', { store, stats: new WorkerStats() });
  t.teardown(() => app.close());
  const port = new URL(address.replace('0.0.0.0', '127.0.0.1')).port;
  const response = await fetch(`http://127.0.0.1:${port}/ipfs`, { method: 'POST', body: bytesOf('x') });
  t.equal(response.status, 403, 'uploads off on 0.0.0.0 without a token');
  t.equal((await fetch(`http://127.0.0.1:${port}/health`)).status, 200, 'the server answers');
});
