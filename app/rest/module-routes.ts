import type { FastifyInstance } from 'fastify';
import type { ModuleInterface, QueryRoute } from '../core/module.ts';
import { ChainError } from '../core/errors.ts';
import type { RegisterRoutes, RestContext } from './context.ts';
import { badRequest } from './errors.ts';
import { errorResponses, pageResponseSchema, paginationQueryProperties } from './schemas.ts';
import { parsePagination, type PaginationQuery } from './validate.ts';
import { pageResponseJson } from '../core/pagination.ts';

/**
 * REST routes for every query a module describes in its ModuleInterface:
 * `GET /r3mes/<module>/v1/...` → the ABCI query → the response as JSON. The
 * CLI's `query` commands come from the same descriptions.
 */
export function moduleRoutes(interfaces: readonly ModuleInterface[]): RegisterRoutes {
  return (app: FastifyInstance, ctx: RestContext) => {
    for (const module of interfaces) {
      for (const route of module.queries) addRoute(app, ctx, module.module, route);
    }
  };
}

/**
 * A list query (`route.paginated`) takes Cosmos pagination in the query string
 * (`pagination.key` base64, `pagination.offset`, `pagination.limit`, `pagination.count_total`,
 * `pagination.reverse`) and answers `pagination: {next_key (base64 or null), total}` as the
 * Cosmos gateway does; its filters (`?status=…`) are query-string parameters too.
 */
function addRoute(app: FastifyInstance, ctx: RestContext, module: string, route: QueryRoute): void {
  const url = route.rest.replace(/\{([a-zA-Z0-9_]+)\}/g, ':$1');
  const properties = Object.fromEntries(route.args.map((arg) => [arg, { type: 'string', minLength: 1, maxLength: 256 }]));
  const filters = route.filters ?? [];
  const queryProperties = {
    ...(route.paginated === true ? paginationQueryProperties : {}),
    ...Object.fromEntries(filters.map((filter) => [filter.name, {
      type: 'string', description: filter.description, ...(filter.values !== undefined ? { enum: [...new Set([...filter.values, 'all'])] } : {}),
    }])),
  };
  const hasQuery = Object.keys(queryProperties).length > 0;
  app.get<{ Params: Record<string, string>; Querystring: PaginationQuery & Record<string, string | boolean | undefined> }>(url, {
    schema: {
      tags: [module],
      summary: route.description,
      ...(route.args.length > 0 ? { params: { type: 'object', properties, required: [...route.args] } } : {}),
      ...(hasQuery ? { querystring: { type: 'object', properties: queryProperties } } : {}),
      response: {
        200: route.paginated === true
          ? { type: 'object', additionalProperties: true, properties: { pagination: pageResponseSchema } }
          : { type: 'object', additionalProperties: true },
        ...errorResponses,
      },
    },
  }, async (request) => {
    const query = request.query ?? {};
    const pagination = route.paginated === true ? parsePagination(query) : undefined;
    const filterValues = Object.fromEntries(filters.map((filter) => {
      const value = query[filter.name];
      return [filter.name, typeof value === 'string' ? value : undefined];
    }));
    let data: Uint8Array;
    try {
      data = route.encodeRequest(request.params ?? {}, { pagination, filters: filterValues });
    } catch (error) {
      throw badRequest(error instanceof ChainError || error instanceof Error ? error.message : String(error));
    }
    const raw = { encode: () => ({ finish: () => data }) };
    const { response } = await ctx.query(route.path, raw, null, { decode: (bytes: Uint8Array) => route.decodeResponse(bytes) });
    if (route.paginated !== true || typeof response !== 'object' || response === null) return response;
    const json = response as Record<string, unknown>;
    return { ...json, pagination: pageResponseJson(json.pagination) };
  });
}
