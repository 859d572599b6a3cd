import { sdkErrors } from './errors.ts';

/**
 * Parsers for the positional arguments and options of a module's CLI commands (ModuleInterface,
 * module.ts): a bad argument is an invalid-request error that names it.
 */

/** A uint64 argument in decimal. */
export function uintArg(text: string | undefined, name: string): bigint {
  if (text === undefined || !/^\d{1,20}$/.test(text) || BigInt(text) >= 1n << 64n) {
    throw sdkErrors.invalidRequest(`${name} must be an unsigned integer, got "${text ?? ''}"`);
  }
  return BigInt(text);
}

/** A bytes argument in hex (optionally 0x-prefixed). */
export function hexArg(text: string | undefined, name: string): Buffer {
  const digits = (text ?? '').replace(/^0x/, '');
  if (!/^([0-9a-fA-F]{2})*$/.test(digits) || digits.length === 0) throw sdkErrors.invalidRequest(`${name} must be hex bytes, got "${text ?? ''}"`);
  return Buffer.from(digits, 'hex');
}
