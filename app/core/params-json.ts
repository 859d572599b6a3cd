import type { ErrorKind } from './errors.ts';

/**
 * The governance JSON form of a module's params, read strictly: an object with
 * exactly `keys`; the `stringKeys` (amounts, fractions) as strings, every other
 * key a uint64 as a decimal string (a non-negative safe integer number is also
 * accepted) turned into a bigint. Range checks are the module's own.
 */
export function strictParamsFromJson<Params>(value: unknown, keys: readonly (keyof Params)[], stringKeys: readonly string[], error: ErrorKind): Params {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw error('params must be a JSON object');
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) if (!keys.includes(key as keyof Params)) throw error(`unknown parameter "${key}"`);
  const parsed: Record<string, unknown> = {};
  for (const key of keys as readonly string[]) {
    const raw = record[key];
    if (raw === undefined) throw error(`parameter "${key}" is missing`);
    if (stringKeys.includes(key)) {
      if (typeof raw !== 'string') throw error(`${key} must be a decimal string`);
      parsed[key] = raw;
    } else {
      const text = typeof raw === 'number' && Number.isSafeInteger(raw) && raw >= 0 ? String(raw) : raw;
      if (typeof text !== 'string' || !/^\d{1,20}$/.test(text)) throw error(`${key} must be a non-negative integer, got ${JSON.stringify(raw)}`);
      parsed[key] = BigInt(text);
    }
  }
  return parsed as unknown as Params;
}
