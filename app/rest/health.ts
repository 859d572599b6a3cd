/** Liveness of the REST server and of the node behind it. */
import type { FastifyInstance } from 'fastify';
import type { RestContext } from './context.ts';
import { fromRpcError } from './errors.ts';
import { errorResponses } from './schemas.ts';

export function registerRoutes(app: FastifyInstance, ctx: RestContext): void {
  app.get(
    '/health',
    {
      schema: {
        summary: 'CometBFT RPC reachable, latest height, catching up',
        description: 'Answers 200 while the node answers (check catching_up before trusting state), 503 when it does not.',
        tags: ['node'],
        response: {
          200: {
            type: 'object',
            required: ['status', 'latest_block_height', 'catching_up'],
            properties: {
              status: { type: 'string', enum: ['ok', 'catching_up'] },
              network: { type: 'string', description: 'chain id' },
              node_version: { type: 'string' },
              moniker: { type: 'string' },
              latest_block_height: { type: 'string' },
              latest_block_time: { type: 'string' },
              latest_app_hash: { type: 'string' },
              catching_up: { type: 'boolean' },
            },
          },
          ...errorResponses,
        },
      },
    },
    async () => {
      const answer = await ctx.rpc.status();
      if (!answer.ok) throw fromRpcError(answer.error);
      const s = answer.value;
      return {
        status: s.catchingUp ? 'catching_up' : 'ok',
        network: s.network,
        node_version: s.nodeVersion,
        moniker: s.moniker,
        latest_block_height: s.latestBlockHeight.toString(),
        latest_block_time: s.latestBlockTime,
        latest_app_hash: s.latestAppHash,
        catching_up: s.catchingUp,
      };
    },
  );
}
