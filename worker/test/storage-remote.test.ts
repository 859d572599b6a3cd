import t, { type Test } from 'tap';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { CID } from 'multiformats/cid';
import { sha256 } from 'multiformats/hashes/sha2';
import { FileBlockstore } from '../src/storage/blockstore.ts';
import { cidOf } from '../src/storage/cid.ts';
import type { ContentStore } from '../src/storage/content-store.ts';
import { StorageErrorCode } from '../src/storage/errors.ts';
import { buildGateway } from '../src/storage/gateway.ts';
import { GatewayClient, KuboClient, kuboApiUrl } from '../src/storage/remote.ts';
import { CHUNK_BYTES } from '../src/storage/unixfs.ts';

const bytesOf = (text: string) => new TextEncoder().encode(text);

async function listen(t: Test, app: FastifyInstance): Promise<string> {
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  return address;
}

/** The contract every ContentStore client keeps against an honest server. */
async function honestRoundTrip(t: Test, client: ContentStore, sizes = [0, 15, 300_000]): Promise<void> {
  for (const bytes of sizes.map((n) => Uint8Array.from({ length: n }, (_, i) => (i * 13 + (i >> 9)) % 251))) {
    const cid = await client.put(bytes);
    t.ok(cid.equals(await cidOf(bytes)), `put ${bytes.length} bytes returns its CID (${cid.code === 0x55 ? 'raw' : 'UnixFS root'})`);
    t.equal(await client.has(cid), true, 'has after put');
    t.same(Buffer.from(await client.get(cid)), Buffer.from(bytes), 'get returns the bytes');
  }
  const absent = await cidOf(bytesOf('never uploaded'));
  t.equal(await client.has(absent), false, 'has is false for unknown content');
  await t.rejects(client.get(absent), { name: 'StorageError', code: StorageErrorCode.NotFound }, 'get of unknown content');
  await t.rejects(client.get(CID.createV1(0x71, absent.multihash)), { code: StorageErrorCode.InvalidCid }, 'foreign CID refused locally');
}

/** A server that answers every request with the given handler, to play a lying peer. */
function liar(handler: (reply: FastifyReply) => unknown): FastifyInstance {
  const app = Fastify();
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 64 << 20 }, (_req, body, done) => done(null, body));
  app.all('/*', async (_request, reply) => handler(reply));
  return app;
}

t.test('GatewayClient against our gateway on a real socket', async (t) => {
  const store = await FileBlockstore.open(t.testdir());
  const base = await listen(t, await buildGateway({ store }));
  // 2.5 MiB: a UnixFS root CID, served by our gateway from the blocks and verified by the client.
  await honestRoundTrip(t, new GatewayClient(base), [0, 15, 300_000, 2.5 * CHUNK_BYTES]);
  await t.rejects(new GatewayClient(base, { maxBytes: 10 }).put(new Uint8Array(11)), { code: StorageErrorCode.TooLarge }, 'local upload limit');
});

t.test('GatewayClient rejects servers that serve wrong bytes or lie about CIDs', async (t) => {
  const wanted = bytesOf('the real adapter delta');
  const cid = await cidOf(wanted);

  const wrongBytes = await listen(t, liar((reply) => reply.header('content-type', 'application/octet-stream').send(Buffer.from('a forged adapter delta'))));
  await t.rejects(new GatewayClient(wrongBytes).get(cid), {
    name: 'StorageError',
    code: StorageErrorCode.IntegrityMismatch,
    message: new RegExp(`^gateway http://127\\.0\\.0\\.1:\\d+: 22 bytes hash to bafkrei\\w+, not to the requested ${cid}; rejected$`),
  });

  const wrongCid = await listen(t, liar((reply) => reply.code(201).send({ cid: 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku' })));
  await t.rejects(new GatewayClient(wrongCid).put(wanted), { code: StorageErrorCode.IntegrityMismatch, message: /answered CID bafkreihdwdc\w+ for content whose CID is/ });

  const noCid = await listen(t, liar((reply) => reply.code(201).send({ hash: 'x' })));
  await t.rejects(new GatewayClient(noCid).put(wanted), { code: StorageErrorCode.RemoteFailure, message: /no valid "cid"/ });

  const huge = await listen(t, liar((reply) => reply.send(Buffer.alloc(5000))));
  await t.rejects(new GatewayClient(huge, { maxBytes: 4096 }).get(cid), { code: StorageErrorCode.TooLarge }, 'download over the limit');

  const broken = await listen(t, liar((reply) => reply.code(503).send('maintenance')));
  await t.rejects(new GatewayClient(broken).get(cid), { code: StorageErrorCode.RemoteFailure, message: /HTTP 503: maintenance/ });
  await t.rejects(new GatewayClient(broken).has(cid), { code: StorageErrorCode.RemoteFailure });

  const slow = await listen(t, liar(async (reply) => { await new Promise((resolve) => setTimeout(resolve, 1000)); return reply.send(Buffer.from(wanted)); }));
  await t.rejects(new GatewayClient(slow, { timeoutMs: 100 }).get(cid), { code: StorageErrorCode.RemoteFailure }, 'timeout');

  // A port nobody listens on: take one from a server we close at once.
  const closed = Fastify();
  const gone = await closed.listen({ host: '127.0.0.1', port: 0 });
  await closed.close();
  await t.rejects(new GatewayClient(gone).get(cid), { code: StorageErrorCode.RemoteFailure, message: /failed/ }, 'connection refused');
});

// ---------------------------------------------------------------------------------------------
// Kubo stand-in, for what a real node will not do on demand: serve wrong bytes, store under
// another CID, fail. (The honest round trips, UnixFS included, run against a real Kubo in
// storage-kubo.test.ts.) It implements the three RPC commands our client uses the way Kubo
// documents them (Kubo RPC API v0 reference):
// POST only (405 otherwise); failures as HTTP 500 {"Message","Code":0,"Type":"error"};
//   add         multipart file; with cid-version=1, raw-leaves=true, hash=sha2-256 a file that
//               fits one chunk (chunker=size-N, N <= 1 MiB) becomes a single raw block whose CID
//               is the raw CID of the bytes; answers newline-delimited {"Name","Hash","Size"}.
//               Multi-chunk files would need a UnixFS dag-pb root, which the stand-in refuses.
//   cat         arg=CID; answers the bytes (it acts as an offline node: a missing block is the
//               error "block was not found locally (offline): ipld: could not find CID").
//   block/stat  arg=CID; answers {"Key","Size"} or the same not-found error.
// ---------------------------------------------------------------------------------------------

interface KuboStandIn {
  app: FastifyInstance;
  blocks: Map<string, Uint8Array>;
  calls: string[];
}

/** The first part of a multipart/form-data body (Kubo's add reads one file). */
function firstMultipartFile(body: Buffer, contentType: string): Buffer {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(contentType);
  if (!boundary) throw new Error('missing multipart boundary');
  const delimiter = Buffer.from(`--${boundary[1] ?? boundary[2]}`);
  const start = body.indexOf(delimiter);
  const headersEnd = body.indexOf('\r\n\r\n', start);
  const end = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), headersEnd);
  if (start < 0 || headersEnd < 0 || end < 0) throw new Error('malformed multipart body');
  return body.subarray(headersEnd + 4, end);
}

function kuboStandIn(options: { tamperCat?: boolean; answerDagPb?: boolean } = {}): KuboStandIn {
  const blocks = new Map<string, Uint8Array>();
  const calls: string[] = [];
  const app = Fastify();
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('multipart/form-data', { parseAs: 'buffer', bodyLimit: 64 << 20 }, (_req, body, done) => done(null, body));
  const kuboError = (reply: FastifyReply, message: string) =>
    reply.code(500).header('content-type', 'application/json').send({ Message: message, Code: 0, Type: 'error' });
  const rawCid = async (bytes: Uint8Array) => CID.createV1(0x55, await sha256.digest(bytes)).toString();
  const notFound = (cid: string) => `block was not found locally (offline): ipld: could not find ${cid}`;

  app.all<{ Params: { '*': string }; Querystring: Record<string, string> }>('/api/v0/*', async (request, reply) => {
    if (request.method !== 'POST') return reply.code(405).send('405 - Method Not Allowed');
    const command = request.params['*'];
    const query = request.query;
    calls.push(`${command}?${new URLSearchParams(query)}`);
    switch (command) {
      case 'add': {
        const data = firstMultipartFile(request.body as Buffer, request.headers['content-type'] ?? '');
        if (query['cid-version'] !== '1' || query['raw-leaves'] !== 'true' || (query.hash ?? 'sha2-256') !== 'sha2-256') {
          return kuboError(reply, 'stand-in: only cid-version=1, raw-leaves=true, hash=sha2-256 are implemented');
        }
        const chunk = Number(/^size-(\d+)$/.exec(query.chunker ?? 'size-262144')?.[1]);
        if (!(chunk > 0)) return kuboError(reply, `unrecognized chunker option: ${query.chunker}`);
        if (chunk > CHUNK_BYTES) return kuboError(reply, `chunker parameters may not exceed the maximum chunk size of ${CHUNK_BYTES}`);
        if (data.length > chunk) return kuboError(reply, 'stand-in: multi-chunk UnixFS DAGs are not implemented (storage-kubo.test.ts runs a real Kubo)');
        let hash = await rawCid(data);
        blocks.set(hash, Uint8Array.from(data));
        // A real node configured without raw leaves would answer a dag-pb root: play that.
        if (options.answerDagPb) hash = CID.createV1(0x70, CID.parse(hash).multihash).toString();
        return reply.header('content-type', 'application/json').header('x-chunked-output', '1')
          .send(`${JSON.stringify({ Name: 'file', Hash: hash, Size: String(data.length) })}\n`);
      }
      case 'cat': {
        const data = blocks.get(query.arg ?? '');
        if (data === undefined) return kuboError(reply, notFound(query.arg ?? ''));
        const served = options.tamperCat ? Uint8Array.from(data, (byte, i) => (i === 0 ? byte ^ 1 : byte)) : data;
        return reply.header('content-type', 'text/plain').header('x-stream-output', '1').send(Buffer.from(served));
      }
      case 'block/stat': {
        const data = blocks.get(query.arg ?? '');
        if (data === undefined) return kuboError(reply, notFound(query.arg ?? ''));
        return reply.header('content-type', 'application/json').send({ Key: query.arg, Size: data.length });
      }
      default:
        return reply.code(404).send('404 page not found');
    }
  });
  return { app, blocks, calls };
}

// The stand-in plays the failures a real node does not produce on demand (wrong bytes, another
// CID); storage-kubo.test.ts runs the honest round trips, UnixFS included, against a real Kubo.
t.test('KuboClient against the Kubo stand-in', async (t) => {
  const kubo = kuboStandIn();
  const base = await listen(t, kubo.app);
  const client = new KuboClient(base);
  await honestRoundTrip(t, client);
  t.match(kubo.calls[0], /^add\?cid-version=1&raw-leaves=true&hash=sha2-256&chunker=size-1048576&max-file-links=1024&trickle=false&pin=true$/, 'add with every option of our import profile');
  t.ok(kubo.calls.some((call) => /^cat\?arg=bafkrei/.test(call)), 'get uses cat');
  t.ok(kubo.calls.some((call) => /^block\/stat\?arg=bafkrei\w+&offline=true$/.test(call)), 'has uses block/stat offline');
  const cid = await client.put(bytesOf('small'));

  t.equal(kuboApiUrl('/ip4/127.0.0.1/tcp/5001').href, 'http://127.0.0.1:5001/');
  t.equal(kuboApiUrl('/ip6/::1/tcp/5001').href, 'http://[::1]:5001/');
  t.equal(kuboApiUrl('/dns/ipfs.local/tcp/443/https').href, 'https://ipfs.local/');
  t.equal(kuboApiUrl('http://127.0.0.1:5001').href, 'http://127.0.0.1:5001/');
  const viaMultiaddr = new KuboClient(`/ip4/127.0.0.1/tcp/${new URL(base).port}`);
  t.same(Buffer.from(await viaMultiaddr.get(cid)), Buffer.from(bytesOf('small')), 'multiaddr form of --ipfs-api');
});

t.test('KuboClient rejects a node that serves wrong bytes or stores under another CID', async (t) => {
  const tampering = kuboStandIn({ tamperCat: true });
  const client = new KuboClient(await listen(t, tampering.app));
  const bytes = bytesOf('adapter delta for window 7');
  const cid = await client.put(bytes);
  await t.rejects(client.get(cid), {
    name: 'StorageError',
    code: StorageErrorCode.IntegrityMismatch,
    message: new RegExp(`^kubo http://127\\.0\\.0\\.1:\\d+: 26 bytes hash to bafkrei\\w+, not to the requested ${cid}; rejected$`),
  });

  const dagPb = kuboStandIn({ answerDagPb: true });
  await t.rejects(new KuboClient(await listen(t, dagPb.app)).put(bytes), {
    code: StorageErrorCode.IntegrityMismatch,
    message: /stored the content as bafybei\w+, not as bafkrei\w+ \(our import profile\); rejected/,
  });

  const failing = await listen(t, liar((reply) => reply.code(500).send({ Message: 'repo is locked', Code: 0, Type: 'error' })));
  await t.rejects(new KuboClient(failing).put(bytes), { code: StorageErrorCode.RemoteFailure, message: /upload failed: repo is locked/ });
  await t.rejects(new KuboClient(failing).get(cid), { code: StorageErrorCode.RemoteFailure, message: /repo is locked/ });
  await t.rejects(new KuboClient(failing).has(cid), { code: StorageErrorCode.RemoteFailure });

  const huge = await listen(t, liar((reply) => reply.send(Buffer.alloc(5000))));
  await t.rejects(new KuboClient(huge, { maxBytes: 4096 }).get(cid), { code: StorageErrorCode.TooLarge });
});
