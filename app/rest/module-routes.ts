import type { FastifyInstance } from 'fastify';
import type { ModuleInterface, QueryRoute } from '../core/module.ts';
import { ChainError } from '../core/errors.ts';
import type { RegisterRoutes, RestContext } from './context.ts';
import { badRequest } from './errors.ts';
import { errorResponses } from './schemas.ts';

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

function addRoute(app: FastifyInstance, ctx: RestContext, module: string, route: QueryRoute): void {
  const url = route.rest.replace(/\{([a-zA-Z0-9_]+)\}/g, ':$1');
  const properties = Object.fromEntries(route.args.map((arg) => [arg, { type: 'string', minLength: 1, maxLength: 256 }]));
  app.get<{ Params: Record<string, string> }>(url, {
    schema: {
      tags: [module],
      summary: route.description,
      ...(route.args.length > 0 ? { params: { type: 'object', properties, required: [...route.args] } } : {}),
      response: { 200: { type: 'object', additionalProperties: true }, ...errorResponses },
    },
  }, async (request) => {
    let data: Uint8Array;
    try {
      data = route.encodeRequest(request.params ?? {});
    } catch (error) {
      throw badRequest(error instanceof ChainError || error instanceof Error ? error.message : String(error));
    }
    const raw = { encode: () => ({ finish: () => data }) };
    const { response } = await ctx.query(route.path, raw, null, { decode: (bytes: Uint8Array) => route.decodeResponse(bytes) });
    return response;
  });
}
