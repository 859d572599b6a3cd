/** The tx service: broadcast, simulate, look up by hash, search by events. */
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { SimulateRequest, SimulateResponse } from 'cosmjs-types/cosmos/tx/v1beta1/service';
import { Tx, TxRaw } from 'cosmjs-types/cosmos/tx/v1beta1/tx';
import type { RestContext } from './context.ts';
import { badRequest, fromRpcError, notFound } from './errors.ts';
import { protoToJson, type JsonObject } from './json.ts';
import type { RpcEvent, TxResult } from './rpc.ts';
import { errorResponses, txResponseSchema, txSchema } from './schemas.ts';
import { checkTxHash, decodeBase64 } from './validate.ts';

export const simulatePath = '/cosmos.tx.v1beta1.Service/Simulate';

export const broadcastModes = ['BROADCAST_MODE_SYNC', 'BROADCAST_MODE_ASYNC'] as const;
export type BroadcastMode = (typeof broadcastModes)[number];

function txHashOf(txBytes: Uint8Array): string {
  return createHash('sha256').update(txBytes).digest('hex').toUpperCase();
}

/** Base64 → tx bytes that at least parse as a TxRaw, within the size limit. */
function decodeTxBytes(text: string, maxTxBytes: number): Uint8Array {
  const txBytes = decodeBase64(text, 'tx_bytes');
  if (txBytes.length === 0) throw badRequest('tx_bytes is empty');
  if (txBytes.length > maxTxBytes) throw badRequest(`tx_bytes is ${txBytes.length} bytes, more than the ${maxTxBytes} allowed`);
  try {
    const raw = TxRaw.decode(txBytes);
    if (raw.bodyBytes.length === 0 || raw.authInfoBytes.length === 0) throw new Error('body or auth_info missing');
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw badRequest(`tx_bytes is not a cosmos.tx.v1beta1.TxRaw: ${reason}`);
  }
  return txBytes;
}

function eventsToJson(events: RpcEvent[]): JsonObject[] {
  return events.map((event) => ({
    type: event.type,
    attributes: event.attributes.map((a) => ({ key: a.key, value: a.value, index: a.index })),
  }));
}

function decodeTxJson(txBytes: Uint8Array): JsonObject | null {
  try {
    return protoToJson(Tx, Tx.decode(txBytes));
  } catch {
    return null;
  }
}

/** A committed tx as cosmos.base.abci.v1beta1.TxResponse. */
export function txResponseJson(result: TxResult, timestamp: string): JsonObject {
  const tx = decodeTxJson(result.tx);
  return {
    height: result.height.toString(),
    txhash: result.hash,
    codespace: result.result.codespace,
    code: result.result.code,
    data: Buffer.from(result.result.data).toString('hex').toUpperCase(),
    raw_log: result.result.log,
    logs: [],
    info: result.result.info,
    gas_wanted: result.result.gasWanted.toString(),
    gas_used: result.result.gasUsed.toString(),
    tx: tx ? { '@type': '/cosmos.tx.v1beta1.Tx', ...tx } : null,
    timestamp,
    events: eventsToJson(result.result.events),
  };
}

function pendingTxResponse(fields: { txhash: string; code: number; codespace: string; log: string; dataHex: string }): JsonObject {
  return {
    height: '0',
    txhash: fields.txhash,
    codespace: fields.codespace,
    code: fields.code,
    data: fields.dataHex.toUpperCase(),
    raw_log: fields.log,
    logs: [],
    info: '',
    gas_wanted: '0',
    gas_used: '0',
    tx: null,
    timestamp: '',
    events: [],
  };
}

/**
 * CometBFT refuses some broadcasts with a JSON-RPC error instead of a CheckTx
 * code; the Cosmos SDK (CheckCometError) reports these as tx responses with
 * an `sdk` code, and so do we.
 */
const cometRefusals: Array<{ pattern: RegExp; code: number; log: string }> = [
  { pattern: /tx already exists in cache/i, code: 19, log: 'tx already in mempool' },
  { pattern: /mempool is full/i, code: 20, log: 'mempool is full' },
  { pattern: /tx too large/i, code: 21, log: 'tx too large' },
];

export function registerRoutes(app: FastifyInstance, ctx: RestContext): void {
  app.post<{ Body: { tx_bytes: string; mode: BroadcastMode } }>(
    '/cosmos/tx/v1beta1/txs',
    {
      schema: {
        summary: 'Broadcast a signed tx (TxRaw bytes)',
        description: 'SYNC waits for CheckTx; ASYNC returns at once. The tx is committed later: poll GET /cosmos/tx/v1beta1/txs/{hash}.',
        tags: ['tx'],
        body: {
          type: 'object',
          required: ['tx_bytes', 'mode'],
          properties: {
            tx_bytes: { type: 'string', minLength: 1, description: 'base64 of the TxRaw protobuf' },
            mode: { type: 'string', enum: broadcastModes },
          },
        },
        response: {
          200: { type: 'object', required: ['tx_response'], properties: { tx_response: txResponseSchema } },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const txBytes = decodeTxBytes(request.body.tx_bytes, ctx.maxTxBytes);
      const txhash = txHashOf(txBytes);
      const answer =
        request.body.mode === 'BROADCAST_MODE_ASYNC' ? await ctx.rpc.broadcastTxAsync(txBytes) : await ctx.rpc.broadcastTxSync(txBytes);
      if (!answer.ok) {
        const reason = `${answer.error.rpcData ?? ''} ${answer.error.message}`;
        const refusal = answer.error.kind === 'rpc' ? cometRefusals.find((r) => r.pattern.test(reason)) : undefined;
        if (!refusal) throw fromRpcError(answer.error);
        return { tx_response: pendingTxResponse({ txhash, code: refusal.code, codespace: 'sdk', log: refusal.log, dataHex: '' }) };
      }
      const { code, codespace, log, dataHex, hash } = answer.value;
      return { tx_response: pendingTxResponse({ txhash: hash || txhash, code, codespace, log, dataHex }) };
    },
  );

  app.post<{ Body: { tx_bytes: string } }>(
    '/cosmos/tx/v1beta1/simulate',
    {
      schema: {
        summary: 'Simulate a tx: gas used and events, nothing committed',
        tags: ['tx'],
        body: {
          type: 'object',
          required: ['tx_bytes'],
          properties: { tx_bytes: { type: 'string', minLength: 1, description: 'base64 of the TxRaw protobuf' } },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              gas_info: {
                type: 'object',
                properties: { gas_wanted: { type: 'string' }, gas_used: { type: 'string' } },
              },
              result: {
                type: 'object',
                nullable: true,
                additionalProperties: true,
                properties: {
                  data: { type: 'string' },
                  log: { type: 'string' },
                  events: { type: 'array', items: { type: 'object', additionalProperties: true } },
                  msg_responses: { type: 'array', items: { type: 'object', additionalProperties: true } },
                },
              },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const txBytes = decodeTxBytes(request.body.tx_bytes, ctx.maxTxBytes);
      const answer = await ctx.query(
        simulatePath,
        SimulateRequest,
        SimulateRequest.fromPartial({ txBytes }),
        SimulateResponse,
      );
      const json = protoToJson(SimulateResponse, answer.response);
      return {
        gas_info: json.gas_info ?? { gas_wanted: '0', gas_used: '0' },
        result: json.result ?? null,
      };
    },
  );

  app.get<{ Params: { hash: string } }>(
    '/cosmos/tx/v1beta1/txs/:hash',
    {
      schema: {
        summary: 'A committed tx by hash: decoded tx and its result with events',
        tags: ['tx'],
        params: {
          type: 'object',
          required: ['hash'],
          properties: { hash: { type: 'string', minLength: 1, maxLength: 256, description: '64 hex digits' } },
        },
        response: {
          200: {
            type: 'object',
            required: ['tx', 'tx_response'],
            properties: { tx: txSchema, tx_response: txResponseSchema },
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const hash = checkTxHash(request.params.hash);
      const answer = await ctx.rpc.tx(hash);
      if (!answer.ok) {
        if (answer.error.kind === 'rpc' && /not found/i.test(`${answer.error.rpcData ?? ''} ${answer.error.message}`)) {
          throw notFound(`tx not found: ${hash}`);
        }
        throw fromRpcError(answer.error);
      }
      const timestamp = await blockTime(ctx, answer.value.height);
      const txResponse = txResponseJson(answer.value, timestamp);
      return { tx: decodeTxJson(answer.value.tx), tx_response: txResponse };
    },
  );

  app.get<{ Querystring: { query: string; page?: number; limit?: number; order_by?: 'ORDER_BY_ASC' | 'ORDER_BY_DESC' | 'ORDER_BY_UNSPECIFIED' } }>(
    '/cosmos/tx/v1beta1/txs',
    {
      schema: {
        summary: "Search committed txs by events (CometBFT query, e.g. message.sender='r3mes1...')",
        tags: ['tx'],
        querystring: {
          type: 'object',
          required: ['query'],
          properties: {
            query: { type: 'string', minLength: 1, maxLength: 1024 },
            page: { type: 'integer', minimum: 1, maximum: 1_000_000 },
            limit: { type: 'integer', minimum: 1, maximum: 100 },
            order_by: { type: 'string', enum: ['ORDER_BY_UNSPECIFIED', 'ORDER_BY_ASC', 'ORDER_BY_DESC'] },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              txs: { type: 'array', items: txSchema },
              tx_responses: { type: 'array', items: txResponseSchema },
              pagination: { type: 'object', nullable: true },
              total: { type: 'string' },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { query, page, limit, order_by: orderBy } = request.query;
      const answer = await ctx.rpc.txSearch(query, {
        page: page ?? 1,
        perPage: limit ?? 100,
        orderBy: orderBy === 'ORDER_BY_DESC' ? 'desc' : 'asc',
      });
      if (!answer.ok) {
        // The node refuses a query it cannot parse; anything else is the node's trouble.
        if (answer.error.kind === 'rpc') throw badRequest(`invalid query ${JSON.stringify(query)}: ${answer.error.message}`);
        throw fromRpcError(answer.error);
      }
      const times = new Map<bigint, string>();
      const txResponses: JsonObject[] = [];
      for (const found of answer.value.txs) {
        if (!times.has(found.height)) times.set(found.height, await blockTime(ctx, found.height));
        txResponses.push(txResponseJson(found, times.get(found.height) ?? ''));
      }
      return {
        txs: answer.value.txs.map((found) => decodeTxJson(found.tx)),
        tx_responses: txResponses,
        pagination: null,
        total: answer.value.totalCount.toString(),
      };
    },
  );
}

/** The block time for a tx response; empty when the block is pruned or the node does not say. */
async function blockTime(ctx: RestContext, height: bigint): Promise<string> {
  const header = await ctx.rpc.blockHeader(height);
  return header.ok ? header.value.time : '';
}
