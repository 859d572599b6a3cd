/**
 * Input checks the JSON schemas cannot express (bech32 checksums, base64 that
 * must decode, heights that must fit int64). Each throws a 400 RestError whose
 * message says what was wrong; route handlers call them before any RPC.
 */
import { fromBech32 } from '@cosmjs/encoding';
import { PageRequest } from 'cosmjs-types/cosmos/base/query/v1beta1/pagination';
import { badRequest } from './errors.ts';

/** Addresses of accounts (20 bytes) and of module or derived accounts (32 bytes). */
const addressLengths = new Set([20, 32]);

/** BIP-173 caps addresses at 90 characters; Cosmos allows longer ones (32-byte addresses). */
const bech32Limit = 256;

export function checkAddress(address: string, prefix: string): string {
  let decoded: { prefix: string; data: Uint8Array };
  try {
    // An explicit limit: @cosmjs/encoding 0.39's default (Infinity) is rejected by the @scure/base it uses.
    decoded = fromBech32(address, bech32Limit);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw badRequest(`invalid address ${JSON.stringify(address)}: ${reason}`);
  }
  if (decoded.prefix !== prefix) {
    throw badRequest(`invalid address ${JSON.stringify(address)}: prefix is "${decoded.prefix}", expected "${prefix}"`);
  }
  if (!addressLengths.has(decoded.data.length)) {
    throw badRequest(`invalid address ${JSON.stringify(address)}: ${decoded.data.length} bytes, expected 20 or 32`);
  }
  // All-upper-case bech32 is valid; the app keys state by the canonical lower-case form.
  return address.toLowerCase();
}

const base64Pattern = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Padded base64, standard or URL-safe alphabet (the gateway accepts both). */
export function decodeBase64(text: string, field: string): Uint8Array {
  const standard = text.replace(/-/g, '+').replace(/_/g, '/');
  if (!base64Pattern.test(standard)) throw badRequest(`${field} is not valid base64`);
  return new Uint8Array(Buffer.from(standard, 'base64'));
}

export function checkTxHash(hash: string): string {
  if (!/^[0-9a-fA-F]{64}$/.test(hash)) {
    throw badRequest(`invalid tx hash ${JSON.stringify(hash)}: expected 64 hex digits (sha256 of the tx bytes)`);
  }
  return hash.toUpperCase();
}

const int64Max = (1n << 63n) - 1n;
const uint64Max = (1n << 64n) - 1n;

function parseUnsigned(text: string, field: string, max: bigint): bigint {
  if (!/^\d{1,20}$/.test(text)) throw badRequest(`${field} must be a non-negative decimal integer`);
  const value = BigInt(text);
  if (value > max) throw badRequest(`${field} is out of range`);
  return value;
}

/**
 * The `x-cosmos-block-height` request header selects the state a query reads,
 * as in the Cosmos SDK gateway. Absent or 0 means the latest committed state.
 */
export function parseHeightHeader(value: string | string[] | undefined): bigint | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) throw badRequest('x-cosmos-block-height given more than once');
  return parseUnsigned(value.trim(), 'x-cosmos-block-height', int64Max);
}

export interface PaginationQuery {
  'pagination.key'?: string;
  'pagination.offset'?: string;
  'pagination.limit'?: string;
  'pagination.count_total'?: boolean;
  'pagination.reverse'?: boolean;
}

/** Query-string pagination (`pagination.limit=10&pagination.key=...`) → PageRequest; undefined if none given. */
export function parsePagination(query: PaginationQuery): PageRequest | undefined {
  const key = query['pagination.key'];
  const offset = query['pagination.offset'];
  const limit = query['pagination.limit'];
  const countTotal = query['pagination.count_total'];
  const reverse = query['pagination.reverse'];
  if (key === undefined && offset === undefined && limit === undefined && countTotal === undefined && reverse === undefined) {
    return undefined;
  }
  const page = PageRequest.fromPartial({
    key: key !== undefined ? decodeBase64(key, 'pagination.key') : new Uint8Array(),
    offset: offset !== undefined ? parseUnsigned(offset, 'pagination.offset', uint64Max) : 0n,
    limit: limit !== undefined ? parseUnsigned(limit, 'pagination.limit', uint64Max) : 0n,
    countTotal: countTotal ?? false,
    reverse: reverse ?? false,
  });
  if (page.key.length > 0 && page.offset > 0n) {
    throw badRequest('pagination.key and pagination.offset cannot both be set');
  }
  return page;
}

/** Cosmos SDK denom rule (sdk.Coin): a letter, then 2–127 of [a-zA-Z0-9/:._-]. */
export const denomPattern = '^[a-zA-Z][a-zA-Z0-9/:._-]{2,127}$';
