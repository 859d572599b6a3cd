/**
 * Subnet parameters and their governance JSON form: `{ "subnetCount": "<decimal>" }`, every
 * field present, no other key.
 */
import { Params } from '../../proto/gen/r3mes/subnet/v1/types.ts';
import { subnetErrors } from './errors.ts';

export const MAX_SUBNET_COUNT = 1024n;

export function defaultParams(): Params {
  return { subnetCount: 4n };
}

export function validateParams(params: Params): void {
  if (params.subnetCount < 1n || params.subnetCount > MAX_SUBNET_COUNT) {
    throw subnetErrors.invalidParams(`subnetCount must be in [1, ${MAX_SUBNET_COUNT}], got ${params.subnetCount}`);
  }
}

export function paramsToJson(params: Params): Record<string, string> {
  return { subnetCount: params.subnetCount.toString() };
}

export function paramsFromJson(value: unknown): Params {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw subnetErrors.invalidParams('params must be a JSON object');
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) if (key !== 'subnetCount') throw subnetErrors.invalidParams(`unknown parameter "${key}"`);
  const raw = record.subnetCount;
  const text = typeof raw === 'number' && Number.isSafeInteger(raw) && raw >= 0 ? String(raw) : raw;
  if (typeof text !== 'string' || !/^\d{1,20}$/.test(text)) throw subnetErrors.invalidParams(`subnetCount must be a non-negative integer, got ${JSON.stringify(raw)}`);
  const params = { subnetCount: BigInt(text) };
  validateParams(params);
  return params;
}
