// The worker's HTTP face: the IPFS-style gateway over its content store (`GET /ipfs/{cid}`,
// `POST /ipfs`) and `GET /stats`, `GET /health`, `GET /metrics` (Prometheus, roles/metrics.ts) (fastify).

import Fastify, { type FastifyInstance } from 'fastify';
import type { ContentStore } from '../storage/content-store.ts';
import { ipfsGateway, type UploadPolicy } from '../storage/gateway.ts';
import type { WorkerStats } from './stats.ts';
import { workerMetrics } from './metrics.ts';

export interface ServerOptions {
  store?: ContentStore;
  stats: WorkerStats;
  /** Who may upload (storage/gateway.ts); startWorkerServer decides from the address when unset. */
  upload?: UploadPolicy | false;
}

export async function buildWorkerServer(options: ServerOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  if (options.store) await app.register(ipfsGateway, { store: options.store, upload: options.upload });
  app.get('/stats', async () => options.stats.snapshot());
  const metrics = workerMetrics(options.stats);
  app.get('/metrics', async (_request, reply) => reply.type(metrics.contentType).header('cache-control', 'no-store').send(await metrics.metrics()));
  app.get('/health', async () => {
    const s = options.stats.snapshot();
    // ok: the last pass of the role's loop succeeded. The last error stays visible after recovery.
    return {
      ok: s.consecutiveFailures === 0 && s.status !== 'error', status: s.status, role: s.role, backend: s.backend, adapter: s.adapter,
      steps: s.steps, submissions: s.submissions, loss: s.lossAfter,
      lastError: s.lastError, lastErrorAt: s.lastErrorAt, consecutiveFailures: s.consecutiveFailures,
    };
  });
  return app;
}

/** Parses `host:port` (port 0 = any free port). */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^(.+):(\d{1,5})$/.exec(text);
  if (!m || Number(m[2]) > 65535) throw new Error(`--gateway-listen/--listen must be host:port, got "${text}"`);
  return { host: m[1].replace(/^\[(.*)\]$/, '$1'), port: Number(m[2]) };
}

/** Whether `host` is reachable only from this machine (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * The upload rule of a worker's server: on a loopback address anyone on this machine may upload
 * (the devnet's shared store); anywhere else uploads need a token, and are off without one.
 */
export function uploadPolicyFor(host: string, policy: UploadPolicy = {}): UploadPolicy | false {
  if (policy.token !== undefined || isLoopbackHost(host)) return policy;
  return false;
}

export async function startWorkerServer(listen: string, options: ServerOptions): Promise<{ app: FastifyInstance; address: string }> {
  const { host, port } = parseListen(listen);
  const app = await buildWorkerServer({ ...options, upload: options.upload ?? uploadPolicyFor(host) });
  const address = await app.listen({ host, port });
  return { app, address };
}
