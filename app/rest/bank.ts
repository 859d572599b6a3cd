/** `x/bank` queries: balances of an account and the total supply. */
import type { FastifyInstance } from 'fastify';
import {
  QueryAllBalancesRequest,
  QueryAllBalancesResponse,
  QueryBalanceRequest,
  QueryBalanceResponse,
  QueryTotalSupplyRequest,
  QueryTotalSupplyResponse,
} from 'cosmjs-types/cosmos/bank/v1beta1/query';
import type { RestContext } from './context.ts';
import { fixPagination, protoToJson } from './json.ts';
import {
  addressParamsSchema,
  coinSchema,
  errorResponses,
  heightHeaderSchema,
  pageResponseSchema,
  paginationQueryProperties,
} from './schemas.ts';
import { checkAddress, denomPattern, parseHeightHeader, parsePagination, type PaginationQuery } from './validate.ts';

export const balancePath = '/cosmos.bank.v1beta1.Query/Balance';
export const allBalancesPath = '/cosmos.bank.v1beta1.Query/AllBalances';
export const totalSupplyPath = '/cosmos.bank.v1beta1.Query/TotalSupply';

type HeightHeaders = { 'x-cosmos-block-height'?: string };

export function registerRoutes(app: FastifyInstance, ctx: RestContext): void {
  app.get<{ Params: { address: string }; Querystring: PaginationQuery & { resolve_denom?: boolean }; Headers: HeightHeaders }>(
    '/cosmos/bank/v1beta1/balances/:address',
    {
      schema: {
        summary: 'All balances of an account',
        tags: ['bank'],
        params: addressParamsSchema,
        querystring: {
          type: 'object',
          properties: { ...paginationQueryProperties, resolve_denom: { type: 'boolean' } },
        },
        headers: heightHeaderSchema,
        response: {
          200: {
            type: 'object',
            required: ['balances'],
            properties: { balances: { type: 'array', items: coinSchema }, pagination: pageResponseSchema },
          },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const address = checkAddress(request.params.address, ctx.bech32Prefix);
      const height = parseHeightHeader(request.headers['x-cosmos-block-height']);
      const pagination = parsePagination(request.query);
      const answer = await ctx.query(
        allBalancesPath,
        QueryAllBalancesRequest,
        QueryAllBalancesRequest.fromPartial({ address, pagination, resolveDenom: request.query.resolve_denom ?? false }),
        QueryAllBalancesResponse,
        height,
      );
      reply.header('x-cosmos-block-height', answer.height.toString());
      return fixPagination({ balances: [], ...protoToJson(QueryAllBalancesResponse, answer.response) });
    },
  );

  app.get<{ Params: { address: string }; Querystring: { denom: string }; Headers: HeightHeaders }>(
    '/cosmos/bank/v1beta1/balances/:address/by_denom',
    {
      schema: {
        summary: 'Balance of an account in one denom',
        tags: ['bank'],
        params: addressParamsSchema,
        querystring: {
          type: 'object',
          required: ['denom'],
          properties: { denom: { type: 'string', pattern: denomPattern } },
        },
        headers: heightHeaderSchema,
        response: {
          200: { type: 'object', required: ['balance'], properties: { balance: coinSchema } },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const address = checkAddress(request.params.address, ctx.bech32Prefix);
      const height = parseHeightHeader(request.headers['x-cosmos-block-height']);
      const { denom } = request.query;
      const answer = await ctx.query(balancePath, QueryBalanceRequest, { address, denom }, QueryBalanceResponse, height);
      reply.header('x-cosmos-block-height', answer.height.toString());
      return { balance: answer.response.balance ?? { denom, amount: '0' } };
    },
  );

  app.get<{ Querystring: PaginationQuery; Headers: HeightHeaders }>(
    '/cosmos/bank/v1beta1/supply',
    {
      schema: {
        summary: 'Total supply of every denom',
        tags: ['bank'],
        querystring: { type: 'object', properties: paginationQueryProperties },
        headers: heightHeaderSchema,
        response: {
          200: {
            type: 'object',
            required: ['supply'],
            properties: { supply: { type: 'array', items: coinSchema }, pagination: pageResponseSchema },
          },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const height = parseHeightHeader(request.headers['x-cosmos-block-height']);
      const pagination = parsePagination(request.query);
      const answer = await ctx.query(
        totalSupplyPath,
        QueryTotalSupplyRequest,
        QueryTotalSupplyRequest.fromPartial({ pagination }),
        QueryTotalSupplyResponse,
        height,
      );
      reply.header('x-cosmos-block-height', answer.height.toString());
      return fixPagination({ supply: [], ...protoToJson(QueryTotalSupplyResponse, answer.response) });
    },
  );
}
