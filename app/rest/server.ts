/**
 * The Cosmos-style REST server (the "API server" on port 1317 of a Cosmos
 * node). It holds no state: every answer comes from the CometBFT RPC, and
 * queries reach the app through `abci_query` with protobuf-encoded requests.
 */
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import swagger from '@fastify/swagger';
import { RestContext, type RegisterRoutes } from './context.ts';
import { GrpcCode, RestError, type RestErrorBody } from './errors.ts';
import { CometRpc } from './rpc.ts';
import { registerRoutes as registerAuthRoutes } from './auth.ts';
import { registerRoutes as registerBankRoutes } from './bank.ts';
import { registerRoutes as registerHealthRoutes } from './health.ts';
import { registerRoutes as registerTxRoutes } from './tx.ts';
import { registerDashboardRoutes } from './dashboard/routes.ts';

export interface RestServerOptions {
  /** CometBFT RPC, e.g. http://127.0.0.1:26657 (tcp:// is accepted too). */
  rpcUrl: string;
  logger?: boolean;
  /** Bech32 prefix of account addresses; default `r3mes`. */
  bech32Prefix?: string;
  /** Timeout of each RPC call in ms; default 10 000. */
  rpcTimeoutMs?: number;
  /** Largest tx accepted by broadcast/simulate; default 1 MiB, CometBFT's default `max_tx_bytes`. */
  maxTxBytes?: number;
  /** Routes of further modules, registered after the built-in ones. */
  modules?: RegisterRoutes[];
  /**
   * The node's Prometheus metrics (app/metrics/node-metrics.ts), served at `GET /metrics` in the
   * text exposition format. `r3mesd start` passes the metrics of the app it runs; a REST server
   * without them (fronting a node elsewhere) has no /metrics route.
   */
  metrics?: { readonly contentType: string; metrics(): Promise<string> };
  /**
   * A serving node's OpenAI-compatible API base URL (`r3mesd start --model-api`, e.g.
   * http://127.0.0.1:8080/v1): the dashboard's prompt box sends chat completions there (its
   * origin joins the page's CSP connect-src). Absent: the page has no model API.
   */
  modelApi?: string;
}

const defaultMaxTxBytes = 1024 * 1024;

function sendError(reply: FastifyReply, status: number, body: RestErrorBody): FastifyReply {
  return reply.code(status).type('application/json; charset=utf-8').send(body);
}

/** Ajv's message plus what it leaves out (the allowed values of an enum). */
function validationMessage(error: FastifyError): string {
  const details = (error.validation ?? [])
    .map((v) => {
      const allowed = v.keyword === 'enum' ? (v.params as { allowedValues?: unknown }).allowedValues : undefined;
      return Array.isArray(allowed) ? `allowed: ${allowed.join(', ')}` : '';
    })
    .filter((text) => text !== '');
  return details.length > 0 ? `${error.message} (${details.join('; ')})` : error.message;
}

export async function buildRestServer(opts: RestServerOptions): Promise<FastifyInstance> {
  const maxTxBytes = opts.maxTxBytes ?? defaultMaxTxBytes;
  const app = Fastify({
    logger: opts.logger ?? false,
    // Room for a max-size tx in base64 plus the JSON around it; bigger bodies are refused before parsing.
    bodyLimit: Math.ceil((maxTxBytes * 4) / 3) + 4096,
    routerOptions: { maxParamLength: 512 },
    // Malformed URLs and the like: a 400 in the same shape as every other error.
    frameworkErrors: (error, _request, reply) => {
      sendError(reply, 400, { code: GrpcCode.InvalidArgument, message: error.message, details: [] });
    },
  });

  const ctx = new RestContext(
    new CometRpc(opts.rpcUrl, { timeoutMs: opts.rpcTimeoutMs }),
    opts.bech32Prefix ?? 'r3mes',
    maxTxBytes,
  );
  app.decorate('restContext', ctx);

  app.setErrorHandler((error: FastifyError | RestError, request, reply) => {
    if (error instanceof RestError) {
      if (error.httpStatus >= 500) request.log.warn({ err: error }, 'REST request failed upstream');
      return sendError(reply, error.httpStatus, error.toBody());
    }
    if (error.validation) {
      return sendError(reply, 400, { code: GrpcCode.InvalidArgument, message: validationMessage(error), details: [] });
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      // Unparsable JSON, body too large (413), wrong content type (415): all a bad request, as the API promises.
      let message = error.message;
      if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
        message = `unsupported content-type ${JSON.stringify(request.headers['content-type'] ?? '')}: send application/json`;
      } else if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        message = `request body is larger than ${app.initialConfig.bodyLimit} bytes`;
      }
      return sendError(reply, 400, { code: GrpcCode.InvalidArgument, message, details: [] });
    }
    request.log.error({ err: error }, 'REST handler failed');
    return sendError(reply, 500, { code: GrpcCode.Internal, message: 'internal error', details: [] });
  });

  app.setNotFoundHandler((request, reply) => {
    sendError(reply, 404, { code: GrpcCode.NotFound, message: `no route for ${request.method} ${request.url}`, details: [] });
  });

  // Must come before the routes: it records each route's schema as it is added.
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'R3MES REST API',
        description: 'Cosmos SDK-style REST (gRPC-gateway JSON) over the CometBFT RPC.',
        version: '0.1.0',
      },
      tags: [
        { name: 'auth', description: 'accounts' },
        { name: 'bank', description: 'balances and supply' },
        { name: 'tx', description: 'broadcast, simulate and look up txs' },
        { name: 'node', description: 'node health and API description' },
      ],
    },
  });

  app.get(
    '/openapi.json',
    {
      schema: {
        summary: 'This API as an OpenAPI 3 document',
        tags: ['node'],
        response: { 200: { type: 'object', additionalProperties: true } },
      },
    },
    async () => app.swagger(),
  );

  const metrics = opts.metrics;
  if (metrics !== undefined) {
    // hide: Prometheus text, not part of the JSON API that /openapi.json describes.
    app.get('/metrics', { schema: { hide: true } }, async (_request, reply) =>
      reply.type(metrics.contentType).header('cache-control', 'no-store').send(await metrics.metrics()));
  }

  for (const register of [registerHealthRoutes, registerAuthRoutes, registerBankRoutes, registerTxRoutes, (a: FastifyInstance) => registerDashboardRoutes(a, { modelApi: opts.modelApi }), ...(opts.modules ?? [])]) {
    await register(app, ctx);
  }
  return app;
}
