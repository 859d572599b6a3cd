/** `x/auth` queries: accounts by address. */
import type { FastifyInstance } from 'fastify';
import { QueryAccountRequest, QueryAccountResponse } from 'cosmjs-types/cosmos/auth/v1beta1/query';
import type { RestContext } from './context.ts';
import { notFound } from './errors.ts';
import { anyToJson } from './json.ts';
import { anySchema, addressParamsSchema, errorResponses, heightHeaderSchema } from './schemas.ts';
import { checkAddress, parseHeightHeader } from './validate.ts';

export const accountPath = '/cosmos.auth.v1beta1.Query/Account';

export function registerRoutes(app: FastifyInstance, ctx: RestContext): void {
  app.get<{ Params: { address: string }; Headers: { 'x-cosmos-block-height'?: string } }>(
    '/cosmos/auth/v1beta1/accounts/:address',
    {
      schema: {
        summary: 'Account by address (BaseAccount: account_number, sequence, pub_key)',
        tags: ['auth'],
        params: addressParamsSchema,
        headers: heightHeaderSchema,
        response: {
          200: { type: 'object', required: ['account'], properties: { account: anySchema } },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const address = checkAddress(request.params.address, ctx.bech32Prefix);
      const height = parseHeightHeader(request.headers['x-cosmos-block-height']);
      const answer = await ctx.query(accountPath, QueryAccountRequest, { address }, QueryAccountResponse, height);
      if (!answer.response.account) throw notFound(`account ${address} not found`);
      reply.header('x-cosmos-block-height', answer.height.toString());
      return { account: anyToJson(answer.response.account) };
    },
  );
}
