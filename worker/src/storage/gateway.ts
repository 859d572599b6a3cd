// HTTP gateway over any ContentStore: the path-style subset of the IPFS HTTP gateway that
// workers need, plus an upload endpoint.
//
//   GET  /ipfs/{cid}  raw bytes, application/octet-stream, ETag "{cid}", immutable caching
//   HEAD /ipfs/{cid}  the same headers, no body (fastify derives it from GET)
//   POST /ipfs        raw request body, any content type; answers 201 {"cid": "..."}
//
// Errors answer {codespace, code, message}: 400 malformed or foreign CID, 404 unknown,
// 413 upload over the limit, 500 stored bytes that fail their hash (never served).
//
// Uploads follow an UploadPolicy: open (the default of a standalone gateway, and of the worker's
// server on a loopback address), off (403; the worker's server on any other address unless it has
// a token), or behind a bearer token (401 without it; checked before the body is read). A quota
// bounds the bytes all uploads together may add while the gateway runs (507 past it).
// It is a fastify plugin so the worker can mount it beside /stats: the raw-body parser it
// installs stays inside the plugin's encapsulation context.

import { timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify';
import { parseCid } from './cid.ts';
import type { ContentStore } from './content-store.ts';
import { StorageError, StorageErrorCode, type StorageErrorCodeValue } from './errors.ts';

export interface UploadPolicy {
  /** When set, an upload needs `Authorization: Bearer <token>`. */
  token?: string;
  /** Bytes all uploads together may add while the gateway runs (a full disk is no one's fault but ours). Default unlimited. */
  quotaBytes?: number;
}

export interface GatewayOptions {
  store: ContentStore;
  /** Largest accepted upload; larger bodies get 413 before they are read. Default 64 MiB. */
  maxUploadBytes?: number;
  /** Who may upload: a policy, or false for a read-only gateway. Default: anyone, no quota. */
  upload?: UploadPolicy | false;
}

export const DEFAULT_MAX_UPLOAD_BYTES = 64 * 1024 * 1024;

const STATUS_BY_CODE: Record<StorageErrorCodeValue, number> = {
  [StorageErrorCode.InvalidCid]: 400,
  [StorageErrorCode.NotFound]: 404,
  [StorageErrorCode.IntegrityMismatch]: 500,
  [StorageErrorCode.TooLarge]: 413,
  [StorageErrorCode.CorruptSafetensors]: 400,
  [StorageErrorCode.InvalidTensor]: 400,
  [StorageErrorCode.RemoteFailure]: 502,
};

const IMMUTABLE = 'public, max-age=29030400, immutable';

export const ipfsGateway: FastifyPluginAsync<GatewayOptions> = async (app, options) => {
  const { store } = options;
  const maxUploadBytes = options.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES;
  const upload = options.upload ?? {};
  const expectedAuth = upload !== false && upload.token !== undefined ? Buffer.from(`Bearer ${upload.token}`) : undefined;
  let uploadedBytes = 0;

  // Uploads are opaque bytes whatever Content-Type the client sends: never parse them as JSON.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  app.setErrorHandler((error: FastifyError | StorageError, request, reply) => {
    if (error instanceof StorageError) {
      const status = STATUS_BY_CODE[error.code];
      if (status >= 500) request.log.error({ err: error }, 'gateway storage failure');
      return reply.code(status).send({ codespace: error.codespace, code: error.code, message: error.message });
    }
    const status = error.statusCode !== undefined && error.statusCode >= 400 ? error.statusCode : 500;
    if (status >= 500) request.log.error({ err: error }, 'gateway failure');
    return reply.code(status).send({ codespace: 'http', code: status, message: error.message });
  });

  app.get<{ Params: { '*': string } }>('/ipfs/*', async (request, reply) => {
    const cid = parseCid(request.params['*']);
    const etag = `"${cid}"`;
    // Content under a CID never changes, so a client holding this ETag holds these bytes.
    const known = request.headers['if-none-match']?.split(',').map((tag) => tag.trim()) ?? [];
    if (known.includes(etag) && (await store.has(cid))) {
      return reply.code(304).header('etag', etag).header('cache-control', IMMUTABLE).send();
    }
    const bytes = await store.get(cid);
    return reply
      .header('content-type', 'application/octet-stream')
      .header('etag', etag)
      .header('cache-control', IMMUTABLE)
      .header('x-content-type-options', 'nosniff')
      .send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  });

  const refuse = (reply: FastifyReply, status: number, message: string) => reply.code(status).send({ codespace: 'gateway', code: status, message });

  // Before the body is read: a refused client cannot make us read (and buffer) its upload.
  const admit = async (request: FastifyRequest, reply: FastifyReply) => {
    if (upload === false) return refuse(reply, 403, 'uploads are off on this gateway (it listens on a public address without an upload token)');
    if (expectedAuth !== undefined) {
      const given = Buffer.from(request.headers.authorization ?? '');
      if (given.length !== expectedAuth.length || !timingSafeEqual(given, expectedAuth)) return refuse(reply, 401, 'this gateway needs an upload token (Authorization: Bearer <token>)');
    }
    const announced = Number(request.headers['content-length'] ?? 0);
    if (upload.quotaBytes !== undefined && uploadedBytes + announced > upload.quotaBytes) return refuse(reply, 507, `upload quota of ${upload.quotaBytes} bytes reached`);
  };

  app.post('/ipfs', { bodyLimit: maxUploadBytes, onRequest: admit }, async (request, reply) => {
    // An empty body reaches us as undefined: it is still content (the empty block).
    const body = request.body instanceof Uint8Array ? request.body : new Uint8Array(0);
    if (upload !== false && upload.quotaBytes !== undefined) {
      // Counted again on the bytes received (a client may send no or a false Content-Length).
      if (uploadedBytes + body.length > upload.quotaBytes) return refuse(reply, 507, `upload quota of ${upload.quotaBytes} bytes reached`);
      uploadedBytes += body.length;
    }
    const cid = await store.put(body);
    return reply.code(201).header('location', `/ipfs/${cid}`).send({ cid: cid.toString() });
  });
};

export interface BuildGatewayOptions extends GatewayOptions {
  logger?: boolean;
}

/** A standalone fastify app serving only the gateway (call `listen` on it). */
export async function buildGateway(options: BuildGatewayOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: options.logger ?? false });
  await app.register(ipfsGateway, { store: options.store, maxUploadBytes: options.maxUploadBytes, upload: options.upload });
  return app;
}
