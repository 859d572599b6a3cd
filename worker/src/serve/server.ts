// The serving node's HTTP API (fastify, like the worker's other servers): OpenAI-compatible
// `GET /v1/models`, `POST /v1/completions`, `POST /v1/chat/completions` (JSON or SSE with
// `stream: true`), plus `GET /health`, `GET /stats` and `GET /metrics` (Prometheus, serve/metrics.ts). Each response carries a receipt
// (`r3mes_receipt`, and the `x-r3mes-receipt` header on non-streamed responses).

import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Decoder } from '../model/decode.ts';
import { ApiError, type Endpoint, invalid, type ParsedRequest, parseRequest } from './api.ts';
import type { ChatTemplate } from './chat.ts';
import { buildReceipt, generate, type InferenceBackend, type Receipt, receiptHeader, type ServedModel } from './engine.ts';
import { GenerationQueue, QueueFullError, type Ticket } from './queue.ts';
import { serveMetrics } from './metrics.ts';

export interface InferenceServerOptions {
  /** the head served now (it may change between requests when new windows finalize) */
  head: () => ServedModel;
  backend: InferenceBackend;
  template: ChatTemplate;
  /** requests that may wait while one runs; more get 429 */
  maxQueue: number;
  /** positions per prefill block (the event loop runs between blocks) */
  prefillBlock?: number;
  log?: (line: string) => void;
  /** Node's process metrics on /metrics too (default true; tests turn them off). */
  processMetrics?: boolean;
  /**
   * Browser origins allowed to call the API (CORS, `--cors-origin`): e.g. the chain's dashboard
   * `http://127.0.0.1:1317`; `*` allows any. Empty or absent: no CORS headers (same-origin only).
   */
  corsOrigins?: readonly string[];
}

/**
 * CORS for the allowed origins: the `access-control-*` headers on every answer (set on the raw
 * response, so the hijacked SSE stream carries them too), and a 204 to a preflight `OPTIONS`.
 */
function allowCors(app: FastifyInstance, origins: readonly string[]): void {
  const any = origins.includes('*');
  app.addHook('onRequest', async (req, reply) => {
    const origin = req.headers.origin;
    if (origin === undefined || (!any && !origins.includes(origin))) return;
    const raw = reply.raw;
    raw.setHeader('access-control-allow-origin', any ? '*' : origin);
    if (!any) raw.setHeader('vary', 'origin');
    raw.setHeader('access-control-expose-headers', 'x-r3mes-receipt, x-r3mes-model');
    if (req.method === 'OPTIONS') {
      raw.setHeader('access-control-allow-methods', 'GET, POST, OPTIONS');
      raw.setHeader('access-control-allow-headers', req.headers['access-control-request-headers'] ?? 'content-type, authorization');
      raw.setHeader('access-control-max-age', '600');
      return reply.code(204).send();
    }
  });
}

export interface InferenceCounters {
  requests: number;
  completed: number;
  rejectedBusy: number;
  badRequests: number;
  aborted: number;
  failed: number;
  promptTokens: number;
  completionTokens: number;
}

const UTF8D = () => new TextDecoder('utf-8');

export async function buildInferenceServer(o: InferenceServerOptions): Promise<{ app: FastifyInstance; queue: GenerationQueue; counters: InferenceCounters }> {
  const app = Fastify({ logger: false, bodyLimit: 1 << 20 });
  const queue = new GenerationQueue(o.maxQueue);
  const counters: InferenceCounters = { requests: 0, completed: 0, rejectedBusy: 0, badRequests: 0, aborted: 0, failed: 0, promptTokens: 0, completionTokens: 0 };
  let cached: { head: ServedModel; decoder: Decoder } | undefined;
  const decoderFor = async (head: ServedModel): Promise<Decoder> => {
    if (cached?.head === head) return cached.decoder;
    cached?.decoder.close();
    cached = { head, decoder: await o.backend.decoder(head) };
    return cached.decoder;
  };
  app.addHook('onClose', async () => cached?.decoder.close());
  if (o.corsOrigins !== undefined && o.corsOrigins.length > 0) allowCors(app, o.corsOrigins);

  const sendError = (reply: FastifyReply, err: ApiError) => reply.code(err.status).type('application/json').send(err.body());

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _req, reply) => {
    if (err instanceof ApiError) return sendError(reply, err);
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status < 500) {
      counters.badRequests++;
      return sendError(reply, new ApiError(status, `invalid request: ${err.message}`, 'invalid_request_error', null, err.code ?? null));
    }
    counters.failed++;
    o.log?.(`serve-model: request failed: ${err.message}`);
    return sendError(reply, new ApiError(500, `the server failed: ${err.message}`, 'server_error'));
  });
  app.setNotFoundHandler((req, reply) => sendError(reply, new ApiError(404, `Unknown request URL: ${req.method} ${req.url}. Please check the URL for typos.`, 'invalid_request_error', null, 'unknown_url')));

  const modelEntry = (head: ServedModel) => ({ id: head.id, object: 'model', created: 0, owned_by: 'r3mes' });
  app.get('/v1/models', async () => ({ object: 'list', data: [modelEntry(o.head())] }));
  app.get('/v1/models/:id', async (req, reply) => {
    const head = o.head();
    if ((req.params as { id: string }).id !== head.id) return sendError(reply, new ApiError(404, `The model '${(req.params as { id: string }).id}' does not exist`, 'invalid_request_error', 'model', 'model_not_found'));
    return modelEntry(head);
  });
  app.get('/health', async () => ({ ok: true, model: o.head().id, backend: o.backend.name, busy: queue.busy, queued: queue.depth }));
  const metrics = serveMetrics(counters, queue, o.head, { processMetrics: o.processMetrics });
  app.get('/metrics', async (_request, reply) => reply.type(metrics.contentType).header('cache-control', 'no-store').send(await metrics.metrics()));
  app.get('/stats', async () => {
    const head = o.head();
    return {
      role: 'serve-model', model: head.id, modelVersion: head.model.identity.version.toString(), baseWindows: head.windows.map(String), baseStateHash: head.baseStateHash,
      contextLength: head.model.identity.cfg.seqLen, backend: o.backend.name, adapter: o.backend.adapter, maxQueue: queue.maxQueue, queued: queue.depth, busy: queue.busy, counters,
    };
  });

  const handle = (endpoint: Endpoint) => async (req: FastifyRequest, reply: FastifyReply) => {
    counters.requests++;
    const head = o.head();
    let parsed: ParsedRequest;
    try {
      parsed = parseRequest(endpoint, req.body, { contextLength: head.model.identity.cfg.seqLen, template: o.template });
      // The served id, or the version alone ("r3mes-v1"): a request for another model is refused.
      if (parsed.model !== head.id && parsed.model !== `r3mes-v${head.model.identity.version}`) {
        throw new ApiError(404, `The model '${parsed.model}' does not exist or you do not have access to it (this node serves ${head.id})`, 'invalid_request_error', 'model', 'model_not_found');
      }
    } catch (err) {
      if (err instanceof ApiError) {
        counters.badRequests++;
        return sendError(reply, err);
      }
      throw err;
    }
    let ticket: Ticket;
    try {
      ticket = queue.enter();
    } catch (err) {
      if (err instanceof QueueFullError) {
        counters.rejectedBusy++;
        return sendError(reply, new ApiError(429, err.message, 'rate_limit_error', null, 'rate_limit_exceeded'));
      }
      throw err;
    }
    const abort = new AbortController();
    const gone = new Promise<void>((resolve) => abort.signal.addEventListener('abort', () => resolve(), { once: true }));
    reply.raw.on('close', () => {
      if (!reply.raw.writableFinished) {
        abort.abort();
        ticket.withdraw(); // a request still waiting leaves the line at once; a running one stops at its next token
      }
    });
    /** The client went away: nothing to answer; the socket is already closed. */
    const dropped = () => {
      counters.aborted++;
      if (!reply.sent) {
        reply.hijack();
        reply.raw.destroy();
      }
    };
    const id = `${endpoint === 'completions' ? 'cmpl' : 'chatcmpl'}-${randomUUID().replace(/-/g, '')}`;
    const created = Math.floor(Date.now() / 1000);
    const chat = endpoint === 'chat.completions';
    try {
      await Promise.race([ticket.ready, gone]);
      if (abort.signal.aborted) return dropped();
      // The head may have moved on while this request waited: answer with the one it runs on.
      const runHead = o.head();
      const decoder = await decoderFor(runHead);
      const usage = (r: Receipt) => ({ prompt_tokens: r.prompt_tokens, completion_tokens: r.completion_tokens, total_tokens: r.prompt_tokens + r.completion_tokens });
      const receiptOf = (gen: Awaited<ReturnType<typeof generate>>) => buildReceipt(runHead, {
        endpoint, chatTemplateSha256: chat ? o.template.sha256 : undefined, spec: parsed.spec, stop: parsed.stop, gen, backend: o.backend.name,
      });
      if (!parsed.stream) {
        const gen = await generate(decoder, parsed.spec, { signal: abort.signal, prefillBlock: o.prefillBlock });
        const receipt = receiptOf(gen);
        const text = UTF8D().decode(gen.text);
        counters.completed++;
        counters.promptTokens += receipt.prompt_tokens;
        counters.completionTokens += receipt.completion_tokens;
        const choice = chat
          ? { index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: gen.finishReason }
          : { text, index: 0, logprobs: null, finish_reason: gen.finishReason };
        reply.header('x-r3mes-receipt', receiptHeader(receipt));
        return reply.type('application/json').send({
          id, object: chat ? 'chat.completion' : 'text_completion', created, model: runHead.id, choices: [choice], usage: usage(receipt),
          system_fingerprint: runHead.baseStateHash.slice(0, 16), r3mes_receipt: receipt,
        });
      }
      // SSE: headers now, then one `data:` event per piece of text, the receipt on the last chunk.
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-r3mes-model': runHead.id });
      const event = (data: unknown) => {
        if (!res.destroyed) res.write(`data: ${JSON.stringify(data)}\n\n`);
      };
      const chunk = (delta: Record<string, unknown> | string, finish: string | null, extra: Record<string, unknown> = {}) => event({
        id, object: chat ? 'chat.completion.chunk' : 'text_completion', created, model: runHead.id, system_fingerprint: runHead.baseStateHash.slice(0, 16),
        choices: [chat ? { index: 0, delta, logprobs: null, finish_reason: finish } : { text: delta, index: 0, logprobs: null, finish_reason: finish }],
        ...extra,
      });
      if (chat) chunk({ role: 'assistant', content: '' }, null);
      const dec = UTF8D();
      try {
        const gen = await generate(decoder, parsed.spec, {
          signal: abort.signal, prefillBlock: o.prefillBlock,
          onBytes: (b) => {
            const text = dec.decode(b, { stream: true });
            if (text !== '') chunk(chat ? { content: text } : text, null);
          },
        });
        const tail = dec.decode();
        if (tail !== '') chunk(chat ? { content: tail } : tail, null);
        const receipt = receiptOf(gen);
        chunk(chat ? {} : '', gen.finishReason, { r3mes_receipt: receipt });
        if (parsed.includeUsage) {
          event({ id, object: chat ? 'chat.completion.chunk' : 'text_completion', created, model: runHead.id, choices: [], usage: usage(receipt) });
        }
        counters.completed++;
        counters.promptTokens += receipt.prompt_tokens;
        counters.completionTokens += receipt.completion_tokens;
      } catch (err) {
        if ((err as Error).name === 'AbortError') {
          counters.aborted++;
        } else {
          counters.failed++;
          o.log?.(`serve-model: stream failed: ${(err as Error).message}`);
          event(new ApiError(500, `generation failed: ${(err as Error).message}`, 'server_error').body());
        }
      }
      if (!res.destroyed) res.end('data: [DONE]\n\n');
      return;
    } catch (err) {
      if ((err as Error).name === 'AbortError') return dropped();
      if (err instanceof RangeError) throw invalid(err.message);
      throw err;
    } finally {
      ticket.release();
    }
  };
  app.post('/v1/completions', handle('completions'));
  app.post('/v1/chat/completions', handle('chat.completions'));
  return { app, queue, counters };
}
