/**
 * JSON schemas shared by the routes. They validate requests (Ajv), shape
 * responses (fast-json-stringify) and become the OpenAPI document, so every
 * route states its params, body and answers here or beside its handler.
 *
 * Objects whose fields depend on a message type (decoded Any, txs, events'
 * payloads) are `additionalProperties: true`: the serializer must pass them
 * through untouched.
 */

export const errorSchema = {
  type: 'object',
  description: 'Cosmos gRPC-gateway error: code is the gRPC status code',
  required: ['code', 'message', 'details'],
  properties: {
    code: { type: 'integer' },
    message: { type: 'string' },
    details: { type: 'array', items: {} },
  },
} as const;

/** Error answers every route may give (client errors, node unreachable). */
export const errorResponses = {
  '4xx': errorSchema,
  '5xx': errorSchema,
} as const;

export const coinSchema = {
  type: 'object',
  required: ['denom', 'amount'],
  properties: {
    denom: { type: 'string' },
    amount: { type: 'string', description: 'integer amount as a decimal string' },
  },
} as const;

export const pageResponseSchema = {
  type: 'object',
  nullable: true,
  properties: {
    next_key: { type: 'string', nullable: true, description: 'base64; pass as pagination.key for the next page' },
    total: { type: 'string' },
  },
} as const;

export const anySchema = {
  type: 'object',
  description: 'google.protobuf.Any, unpacked: "@type" plus the fields of that message',
  required: ['@type'],
  properties: { '@type': { type: 'string' } },
  additionalProperties: true,
} as const;

export const addressParamsSchema = {
  type: 'object',
  required: ['address'],
  properties: {
    address: { type: 'string', minLength: 1, maxLength: 256, description: 'bech32 account address (r3mes1...)' },
  },
} as const;

export const heightHeaderSchema = {
  type: 'object',
  properties: {
    'x-cosmos-block-height': {
      type: 'string',
      description: 'query the state at this height (default: latest)',
    },
  },
} as const;

export const paginationQueryProperties = {
  'pagination.key': { type: 'string', maxLength: 1024, description: 'base64 next_key of the previous page' },
  'pagination.offset': { type: 'string', pattern: '^[0-9]{1,20}$' },
  'pagination.limit': { type: 'string', pattern: '^[0-9]{1,20}$' },
  'pagination.count_total': { type: 'boolean' },
  'pagination.reverse': { type: 'boolean' },
} as const;

export const eventSchema = {
  type: 'object',
  properties: {
    type: { type: 'string' },
    attributes: {
      type: 'array',
      items: {
        type: 'object',
        properties: { key: { type: 'string' }, value: { type: 'string' }, index: { type: 'boolean' } },
      },
    },
  },
} as const;

/** cosmos.base.abci.v1beta1.TxResponse. */
export const txResponseSchema = {
  type: 'object',
  properties: {
    height: { type: 'string' },
    txhash: { type: 'string', description: 'upper-case hex sha256 of the tx bytes' },
    codespace: { type: 'string' },
    code: { type: 'integer' },
    data: { type: 'string', description: 'hex' },
    raw_log: { type: 'string' },
    logs: { type: 'array', items: { type: 'object', additionalProperties: true } },
    info: { type: 'string' },
    gas_wanted: { type: 'string' },
    gas_used: { type: 'string' },
    tx: { ...anySchema, nullable: true },
    timestamp: { type: 'string' },
    events: { type: 'array', items: eventSchema },
  },
} as const;

/** A decoded cosmos.tx.v1beta1.Tx; its messages are Any, so it is open. */
export const txSchema = {
  type: 'object',
  nullable: true,
  additionalProperties: true,
  properties: {
    body: { type: 'object', additionalProperties: true },
    auth_info: { type: 'object', additionalProperties: true },
    signatures: { type: 'array', items: { type: 'string' } },
  },
} as const;
