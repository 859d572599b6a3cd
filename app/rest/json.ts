/**
 * Protobuf messages → the JSON the Cosmos SDK's gRPC gateway writes:
 * snake_case field names (the .proto names), 64-bit integers as strings,
 * bytes as base64, enums by name, and every `google.protobuf.Any` unpacked
 * into `{ "@type": typeUrl, ...fields }` when its type is registered here
 * (otherwise `{ "@type": typeUrl, value: base64 }`).
 *
 * cosmjs-types' `toJSON` already does the integer/bytes/enum part but writes
 * camelCase names and leaves Any packed; this module finishes the job.
 * Modules whose messages should render decoded call `registerAnyType`.
 */
import { Any } from 'cosmjs-types/google/protobuf/any';
import { BaseAccount, ModuleAccount } from 'cosmjs-types/cosmos/auth/v1beta1/auth';
import { PubKey as Secp256k1PubKey } from 'cosmjs-types/cosmos/crypto/secp256k1/keys';
import { PubKey as Ed25519PubKey } from 'cosmjs-types/cosmos/crypto/ed25519/keys';
import { LegacyAminoPubKey } from 'cosmjs-types/cosmos/crypto/multisig/keys';
import { MsgSend, MsgMultiSend, MsgSendResponse, MsgMultiSendResponse } from 'cosmjs-types/cosmos/bank/v1beta1/tx';
import { Tx } from 'cosmjs-types/cosmos/tx/v1beta1/tx';

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** The part of a cosmjs-types message codec this module needs. */
export interface ProtoCodec<T> {
  readonly typeUrl: string;
  decode(input: Uint8Array): T;
  toJSON(message: T): unknown;
}

type AnyRenderer = (value: Uint8Array) => JsonObject;

const anyRenderers = new Map<string, AnyRenderer>();

/**
 * Makes Any values of this type render decoded. `fixup` may adjust the Cosmos
 * JSON (e.g. write `null` for an absent message field, as the gateway does).
 */
export function registerAnyType<T>(codec: ProtoCodec<T>, fixup?: (json: JsonObject) => JsonObject): void {
  anyRenderers.set(codec.typeUrl, (value) => {
    const json = toCosmosJson(codec.toJSON(codec.decode(value)));
    const object: JsonObject = isJsonObject(json) ? json : {};
    return fixup ? fixup(object) : object;
  });
}

function isJsonObject(value: Json): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** camelCase → snake_case, the inverse of protobuf's JSON name rule. */
export function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function renderAny(typeUrl: string, valueBase64: string): JsonObject {
  const renderer = anyRenderers.get(typeUrl);
  if (renderer) {
    try {
      return { '@type': typeUrl, ...renderer(Buffer.from(valueBase64, 'base64')) };
    } catch {
      // Undecodable bytes under a known type URL: show them packed rather than fail the request.
    }
  }
  return { '@type': typeUrl, value: valueBase64 };
}

/** Converts the output of a cosmjs-types `toJSON` into Cosmos gateway JSON. */
export function toCosmosJson(value: unknown): Json {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map(toCosmosJson);
  if (typeof value !== 'object') return null;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  // A packed Any as cosmjs-types' Any.toJSON writes it.
  if (typeof record.typeUrl === 'string' && keys.every((k) => k === 'typeUrl' || k === 'value')) {
    const packed = typeof record.value === 'string' ? record.value : '';
    return renderAny(record.typeUrl, packed);
  }
  const out: JsonObject = {};
  for (const key of keys) {
    if (record[key] === undefined) continue;
    out[snakeCase(key)] = toCosmosJson(record[key]);
  }
  return out;
}

/** Decodes `bytes` with `codec` and renders Cosmos gateway JSON. */
export function protoToJson<T>(codec: { toJSON(message: T): unknown }, message: T): JsonObject {
  const json = toCosmosJson(codec.toJSON(message));
  return isJsonObject(json) ? json : {};
}

/** Renders an Any message (given decoded) the way the gateway does. */
export function anyToJson(any: Any): JsonObject {
  return renderAny(any.typeUrl, Buffer.from(any.value).toString('base64'));
}

/** Cosmos `PageResponse` renders an empty `next_key` as null. */
export function fixPagination(json: JsonObject): JsonObject {
  const page = json.pagination;
  if (isJsonObject(page) && page.next_key === '') page.next_key = null;
  if (json.pagination === undefined) json.pagination = null;
  return json;
}

/** The gateway writes `null` for absent message fields of BaseAccount. */
function fixBaseAccount(json: JsonObject): JsonObject {
  return {
    address: json.address ?? '',
    pub_key: json.pub_key ?? null,
    account_number: json.account_number ?? '0',
    sequence: json.sequence ?? '0',
  };
}

registerAnyType(BaseAccount, fixBaseAccount);
registerAnyType(ModuleAccount, (json) => ({
  ...json,
  base_account: isJsonObject(json.base_account ?? null) ? fixBaseAccount(json.base_account as JsonObject) : null,
}));
registerAnyType(Secp256k1PubKey);
registerAnyType(Ed25519PubKey);
registerAnyType(LegacyAminoPubKey);
registerAnyType(MsgSend);
registerAnyType(MsgMultiSend);
registerAnyType(MsgSendResponse);
registerAnyType(MsgMultiSendResponse);
registerAnyType(Tx);
