// The worker's HTTP face: the IPFS-style gateway over its content store (`GET /ipfs/{cid}`,
// `POST /ipfs`) and `GET /stats`, `GET /health` (fastify).

import Fastify, { type FastifyInstance } from 'fastify';
import type { ContentStore } from '../storage/content-store.ts';
import { ipfsGateway } from '../storage/gateway.ts';
import type { WorkerStats } from './stats.ts';

export interface ServerOptions {
  store?: ContentStore;
  stats: WorkerStats;
}

export async function buildWorkerServer(options: ServerOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  if (options.store) await app.register(ipfsGateway, { store: options.store });
  app.get('/stats', async () => options.stats.snapshot());
  app.get('/health', async () => {
    const s = options.stats.snapshot();
    return { ok: s.lastError === null || s.status !== 'error', status: s.status, role: s.role, backend: s.backend, adapter: s.adapter, steps: s.steps, submissions: s.submissions, loss: s.lossAfter };
  });
  return app;
}

/** Parses `host:port` (port 0 = any free port). */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^(.+):(\d{1,5})$/.exec(text);
  if (!m || Number(m[2]) > 65535) throw new Error(`--gateway-listen/--listen must be host:port, got "${text}"`);
  return { host: m[1].replace(/^\[(.*)\]$/, '$1'), port: Number(m[2]) };
}

export async function startWorkerServer(listen: string, options: ServerOptions): Promise<{ app: FastifyInstance; address: string }> {
  const app = await buildWorkerServer(options);
  const { host, port } = parseListen(listen);
  const address = await app.listen({ host, port });
  return { app, address };
}
