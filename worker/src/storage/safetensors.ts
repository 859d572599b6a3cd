// Canonical safetensors for integer tensors (I8, I16, I32).
//
// A gradient's CID is the hash of its file, so two honest miners holding the same tensors must
// write the same bytes. safetensors leaves key order, whitespace, padding and tensor layout to
// the writer; this file fixes every one of them (see README.md, "Canonical safetensors"):
//   - header JSON without whitespace; top-level keys (tensor names and `__metadata__`) sorted by
//     their UTF-8 bytes; each entry's keys in the order data_offsets, dtype, shape (sorted);
//   - `__metadata__` present only when non-empty, its keys sorted the same way;
//   - tensor data laid out back to back in sorted-name order, little-endian, no gaps;
//   - the header padded with trailing spaces (0x20) to the next multiple of 8 bytes, so the
//     data section starts 8-byte aligned (8-byte length prefix + 8k header bytes).
// Any conforming reader reads these files; our reader also accepts non-canonical files unless
// asked to `requireCanonical`, and rejects anything malformed with a StorageError.

import { StorageError, StorageErrorCode } from './errors.ts';

export type IntDtype = 'I8' | 'I16' | 'I32';

export type IntTensor =
  | { readonly dtype: 'I8'; readonly shape: readonly number[]; readonly data: Int8Array }
  | { readonly dtype: 'I16'; readonly shape: readonly number[]; readonly data: Int16Array }
  | { readonly dtype: 'I32'; readonly shape: readonly number[]; readonly data: Int32Array };

export type TensorMap = ReadonlyMap<string, IntTensor> | Readonly<Record<string, IntTensor>>;
export type MetadataMap = ReadonlyMap<string, string> | Readonly<Record<string, string>>;

export interface SafetensorsFile {
  tensors: Map<string, IntTensor>;
  metadata: Map<string, string>;
}

export interface DecodeOptions {
  /** Upper bound on the JSON header, checked before anything is decoded. Default 16 MiB. */
  maxHeaderBytes?: number;
  /** Reject files that are valid safetensors but not byte-identical to our canonical form. */
  requireCanonical?: boolean;
}

export const DEFAULT_MAX_HEADER_BYTES = 16 * 1024 * 1024;
const METADATA_KEY = '__metadata__';
const HEADER_ALIGN = 8;
const ENTRY_KEYS = ['data_offsets', 'dtype', 'shape'] as const;

const DTYPE_BYTES: Record<IntDtype, number> = { I8: 1, I16: 2, I32: 4 };

// Node also runs on big-endian s390x; the file is little-endian everywhere.
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

function corrupt(message: string): StorageError {
  return new StorageError(StorageErrorCode.CorruptSafetensors, `safetensors: ${message}`);
}

function invalid(message: string): StorageError {
  return new StorageError(StorageErrorCode.InvalidTensor, `safetensors: ${message}`);
}

/** Orders strings by their UTF-8 bytes (= code point order), unlike JS's UTF-16 `<`. */
function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

// A lone surrogate would be replaced by U+FFFD on encoding and break the round trip.
const LONE_SURROGATE = /\p{Cs}/u;

function entriesOf<V>(input: ReadonlyMap<string, V> | Readonly<Record<string, V>>): [string, V][] {
  return input instanceof Map ? [...input.entries()] : Object.entries(input as Record<string, V>);
}

function isIntDtype(value: unknown): value is IntDtype {
  return value === 'I8' || value === 'I16' || value === 'I32';
}

/** Number of elements, or an error message when the shape is not a list of sizes. */
function elementCount(shape: unknown): number | string {
  if (!Array.isArray(shape)) return 'shape is not an array';
  let count = 1;
  for (const dim of shape) {
    if (typeof dim !== 'number' || !Number.isSafeInteger(dim) || dim < 0) {
      return `shape has a dimension that is not a non-negative integer: ${JSON.stringify(dim)}`;
    }
    count *= dim;
    if (!Number.isSafeInteger(count)) return 'shape has more elements than 2^53';
  }
  return count;
}

function checkName(name: string): void {
  if (name.length === 0) throw invalid('tensor name is empty');
  if (name === METADATA_KEY) throw invalid(`"${METADATA_KEY}" is reserved and cannot name a tensor`);
  if (LONE_SURROGATE.test(name)) throw invalid(`tensor name ${JSON.stringify(name)} is not well-formed Unicode`);
}

function checkTensor(name: string, tensor: IntTensor): void {
  if (!isIntDtype(tensor.dtype)) throw invalid(`tensor "${name}": unsupported dtype ${JSON.stringify(tensor.dtype)}`);
  const arrayType = { I8: Int8Array, I16: Int16Array, I32: Int32Array }[tensor.dtype];
  if (!(tensor.data instanceof arrayType)) {
    throw invalid(`tensor "${name}": dtype ${tensor.dtype} needs a ${arrayType.name} as data`);
  }
  const count = elementCount(tensor.shape);
  if (typeof count === 'string') throw invalid(`tensor "${name}": ${count}`);
  if (count !== tensor.data.length) {
    throw invalid(`tensor "${name}": shape [${tensor.shape.join(',')}] holds ${count} elements but data has ${tensor.data.length}`);
  }
}

function toLittleEndianBytes(tensor: IntTensor): Uint8Array {
  const { data } = tensor;
  if (HOST_IS_LITTLE_ENDIAN || tensor.dtype === 'I8') {
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  const out = new Uint8Array(data.byteLength);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) {
    if (tensor.dtype === 'I16') view.setInt16(i * 2, data[i], true);
    else view.setInt32(i * 4, data[i], true);
  }
  return out;
}

function fromLittleEndianBytes(dtype: IntDtype, bytes: Uint8Array, shape: number[]): IntTensor {
  // Copy into a fresh, 0-aligned buffer: tensors in a file need not be aligned. (Not
  // bytes.slice(): on a Buffer that is a view into the whole, possibly pooled, memory.)
  const copy = new Uint8Array(bytes);
  switch (dtype) {
    case 'I8':
      return { dtype, shape, data: new Int8Array(copy.buffer) };
    case 'I16': {
      const data = new Int16Array(copy.buffer);
      if (!HOST_IS_LITTLE_ENDIAN) {
        const view = new DataView(copy.buffer);
        for (let i = 0; i < data.length; i++) data[i] = view.getInt16(i * 2, true);
      }
      return { dtype, shape, data };
    }
    case 'I32': {
      const data = new Int32Array(copy.buffer);
      if (!HOST_IS_LITTLE_ENDIAN) {
        const view = new DataView(copy.buffer);
        for (let i = 0; i < data.length; i++) data[i] = view.getInt32(i * 4, true);
      }
      return { dtype, shape, data };
    }
  }
}

/** Writes the canonical safetensors bytes of `tensors` and `metadata`. */
export function encodeSafetensors(tensors: TensorMap, metadata: MetadataMap = {}): Uint8Array {
  const tensorEntries = entriesOf(tensors).sort(([a], [b]) => compareUtf8(a, b));
  const metaEntries = entriesOf(metadata).sort(([a], [b]) => compareUtf8(a, b));

  const headerEntries: [string, string][] = [];
  const payloads: Uint8Array[] = [];
  let offset = 0;
  for (const [name, tensor] of tensorEntries) {
    checkName(name);
    checkTensor(name, tensor);
    const payload = toLittleEndianBytes(tensor);
    const end = offset + payload.byteLength;
    headerEntries.push([
      name,
      `{"data_offsets":[${offset},${end}],"dtype":"${tensor.dtype}","shape":[${tensor.shape.join(',')}]}`,
    ]);
    payloads.push(payload);
    offset = end;
  }
  if (metaEntries.length > 0) {
    for (const [key, value] of metaEntries) {
      if (typeof value !== 'string') throw invalid(`metadata "${key}" is not a string`);
      if (LONE_SURROGATE.test(key) || LONE_SURROGATE.test(value)) {
        throw invalid(`metadata "${key}" is not well-formed Unicode`);
      }
    }
    const body = metaEntries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',');
    headerEntries.push([METADATA_KEY, `{${body}}`]);
    headerEntries.sort(([a], [b]) => compareUtf8(a, b));
  }

  const json = `{${headerEntries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;
  const jsonBytes = utf8Encoder.encode(json);
  const headerLength = Math.ceil(jsonBytes.length / HEADER_ALIGN) * HEADER_ALIGN;

  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(jsonBytes, 8);
  out.fill(0x20, 8 + jsonBytes.length, 8 + headerLength);
  let at = 8 + headerLength;
  for (const payload of payloads) {
    out.set(payload, at);
    at += payload.byteLength;
  }
  return out;
}

interface ParsedEntry {
  name: string;
  dtype: IntDtype;
  shape: number[];
  begin: number;
  end: number;
}

function parseEntry(name: string, raw: unknown): ParsedEntry {
  if (name.length === 0) throw corrupt('a tensor has an empty name');
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw corrupt(`tensor "${name}": entry is not an object`);
  }
  const entry = raw as Record<string, unknown>;
  for (const key of Object.keys(entry)) {
    if (!(ENTRY_KEYS as readonly string[]).includes(key)) throw corrupt(`tensor "${name}": unknown field "${key}"`);
  }
  const { dtype, shape, data_offsets: offsets } = entry;
  if (!isIntDtype(dtype)) {
    throw corrupt(`tensor "${name}": unsupported dtype ${JSON.stringify(dtype)} (integer tensors only: I8, I16, I32)`);
  }
  const count = elementCount(shape);
  if (typeof count === 'string') throw corrupt(`tensor "${name}": ${count}`);
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => typeof o === 'number' && Number.isSafeInteger(o) && o >= 0)
  ) {
    throw corrupt(`tensor "${name}": data_offsets must be two non-negative integers`);
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) throw corrupt(`tensor "${name}": data_offsets [${begin},${end}] end before they begin`);
  const expected = count * DTYPE_BYTES[dtype];
  if (end - begin !== expected) {
    throw corrupt(
      `tensor "${name}": shape [${(shape as number[]).join(',')}] of ${dtype} needs ${expected} bytes but data_offsets span ${end - begin}`,
    );
  }
  return { name, dtype, shape: shape as number[], begin, end };
}

function parseMetadata(raw: unknown): Map<string, string> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw corrupt(`"${METADATA_KEY}" is not an object`);
  }
  const metadata = new Map<string, string>();
  for (const [key, value] of Object.entries(raw)) {
    if (typeof value !== 'string') throw corrupt(`metadata "${key}" is not a string`);
    metadata.set(key, value);
  }
  return metadata;
}

/** Reads and validates a safetensors file of integer tensors. */
export function decodeSafetensors(bytes: Uint8Array, options: DecodeOptions = {}): SafetensorsFile {
  const maxHeaderBytes = options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
  if (bytes.length < 8) throw corrupt(`file is ${bytes.length} bytes, shorter than the 8-byte header length`);

  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declared = view.getBigUint64(0, true);
  if (declared === 0n) throw corrupt('header length is 0');
  if (declared > BigInt(maxHeaderBytes)) {
    throw corrupt(`header length ${declared} exceeds the limit of ${maxHeaderBytes} bytes`);
  }
  const headerLength = Number(declared);
  if (8 + headerLength > bytes.length) {
    throw corrupt(`header length ${headerLength} runs past the end of the ${bytes.length}-byte file`);
  }

  let text: string;
  try {
    text = utf8Decoder.decode(bytes.subarray(8, 8 + headerLength));
  } catch (cause) {
    throw new StorageError(StorageErrorCode.CorruptSafetensors, 'safetensors: header is not valid UTF-8', { cause });
  }
  if (!text.startsWith('{')) throw corrupt('header does not start with "{"');
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (cause) {
    throw new StorageError(StorageErrorCode.CorruptSafetensors, `safetensors: header is not valid JSON (${(cause as Error).message})`, { cause });
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw corrupt('header is not a JSON object');
  }

  let metadata = new Map<string, string>();
  const entries: ParsedEntry[] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === METADATA_KEY) metadata = parseMetadata(raw);
    else entries.push(parseEntry(name, raw));
  }

  // Sorted by position, the spans must tile the data section exactly: this one check rules
  // out gaps, overlaps, and offsets outside the file.
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const byPosition = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const entry of byPosition) {
    if (entry.begin < cursor) {
      throw corrupt(`tensor "${entry.name}" starts at ${entry.begin}, inside the previous tensor (which ends at ${cursor})`);
    }
    if (entry.begin > cursor) {
      throw corrupt(`tensor "${entry.name}" starts at ${entry.begin}, leaving a gap after byte ${cursor}`);
    }
    if (entry.end > dataLength) {
      throw corrupt(`tensor "${entry.name}" ends at ${entry.end}, past the ${dataLength}-byte data section`);
    }
    cursor = entry.end;
  }
  if (cursor !== dataLength) {
    throw corrupt(`tensors cover ${cursor} bytes but the data section holds ${dataLength}`);
  }

  const tensors = new Map<string, IntTensor>();
  for (const entry of entries) {
    const span = bytes.subarray(dataStart + entry.begin, dataStart + entry.end);
    tensors.set(entry.name, fromLittleEndianBytes(entry.dtype, span, entry.shape));
  }

  if (options.requireCanonical) {
    const canonical = encodeSafetensors(tensors, metadata);
    if (Buffer.compare(canonical, bytes) !== 0) throw corrupt('file is valid but not in canonical form');
  }
  return { tensors, metadata };
}
