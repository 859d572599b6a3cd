/**
 * Unknown protobuf fields, at every nesting level (the Cosmos SDK's ADR-020, `RejectUnknownFields`).
 * A protobuf decoder skips fields it does not know, so a field a signer set (from a newer proto,
 * or crafted) would be ignored and the tx run with other semantics than signed; and a known field
 * on another wire type is read by some generated decoders as if it had the declared one (two
 * encodings, one meaning). `unknownFieldProblem` walks the bytes against a field table and names
 * the first field that is not declared with that wire form.
 *
 * Field tables: `proto/gen/fields.ts` for every proto/r3mes type (generated from the .proto files
 * by scripts/proto-gen), hand-written ones for the few Cosmos types the chain reads (app/tx, bank).
 */

/**
 * How a declared field is written: `varint`, `fixed64`, `fixed32`, `len` (string, bytes), the
 * `repeated-…` scalars (which may also come packed, as one `len` field), or the full name of a
 * message type (a `len` field whose content is checked against that type's table too).
 */
export type FieldKind = 'varint' | 'fixed64' | 'fixed32' | 'len' | 'repeated-varint' | 'repeated-fixed64' | 'repeated-fixed32' | string;

/** Message types by full name (`cosmos.base.v1beta1.Coin`): field number → how it is written. */
export type ProtoFields = Readonly<Record<string, Readonly<Record<number, FieldKind>>>>;

const SCALAR_WIRE: Readonly<Record<string, readonly number[]>> = {
  varint: [0], fixed64: [1], fixed32: [5], len: [2],
  'repeated-varint': [0, 2], 'repeated-fixed64': [1, 2], 'repeated-fixed32': [5, 2],
};

/** Field numbers from this one up are non-critical (ADR-020); allowed unknown only where the caller says. */
export const NON_CRITICAL_FIELD = 1024;

export interface UnknownFieldOptions {
  /** Unknown fields ≥ 1024 are allowed at the top level (TxBody). Never below it. */
  allowNonCriticalAtTop?: boolean;
}

/**
 * Why `bytes` is not a `type` whose every field (at every nesting level) its table declares with
 * the wire type it is written in, or undefined when it is one. The answer reads
 * "has unknown field 7", "has unknown field 3 inside field 3 (cosmos.base.v1beta1.Coin)" or
 * "has field 2 with wire type 0, declared 2". Truncated or malformed bytes are a problem too.
 * A type missing from the table is a programming error: thrown as an Error.
 */
export function unknownFieldProblem(bytes: Uint8Array, type: string, fields: ProtoFields, options: UnknownFieldOptions = {}): string | undefined {
  return walk(bytes, 0, bytes.length, type, fields, options.allowNonCriticalAtTop === true, 0);
}

const MAX_DEPTH = 100;

function walk(bytes: Uint8Array, start: number, end: number, type: string, fields: ProtoFields, allowNonCritical: boolean, depth: number): string | undefined {
  const table = fields[type];
  if (table === undefined) throw new Error(`no field table for ${type}`);
  if (depth > MAX_DEPTH) return `nests deeper than ${MAX_DEPTH} messages`;
  let o = start;
  const varint = (): number | undefined => {
    let value = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (o >= end) return undefined;
      const b = bytes[o++];
      value += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return value;
    }
    return undefined;
  };
  while (o < end) {
    const tag = varint();
    if (tag === undefined || tag > 0xffff_ffff) return 'does not decode (bad tag)';
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (field === 0) return 'has field number 0';
    let contentStart = o;
    switch (wire) {
      case 0: if (varint() === undefined) return `does not decode (field ${field})`; break;
      case 1: o += 8; break;
      case 5: o += 4; break;
      case 2: {
        const length = varint();
        if (length === undefined || length > end - o) return `does not decode (field ${field})`;
        contentStart = o;
        o += length;
        break;
      }
      default: return `has field ${field} with wire type ${wire} (groups are not supported)`;
    }
    if (o > end) return `does not decode (field ${field})`;
    const kind = table[field];
    if (kind === undefined) {
      if (allowNonCritical && field >= NON_CRITICAL_FIELD) continue;
      return `has unknown field ${field}`;
    }
    const allowed = SCALAR_WIRE[kind];
    if (allowed !== undefined) {
      if (!allowed.includes(wire)) return `has field ${field} with wire type ${wire}, declared ${allowed.join(' or ')}`;
      continue;
    }
    if (wire !== 2) return `has field ${field} with wire type ${wire}, declared 2`;
    const inner = walk(bytes, contentStart, o, kind, fields, false, depth + 1);
    if (inner !== undefined) return `${inner} inside field ${field} (${kind})`;
  }
  return undefined;
}
