// A lazy reader of safetensors files of any dtype (Hugging Face checkpoints: BF16, U8, F32…):
// it reads the 8-byte little-endian header length and the JSON header, checks every tensor's
// span against the file size, and reads a tensor's bytes by offset only when asked. A
// multi-gigabyte file is never read whole.
//
// Why our own: no maintained npm package reads local safetensors lazily (the npm package
// `safetensors` is a 0.0.1 placeholder; @huggingface/hub parses headers of files on the Hub
// over HTTP), and storage/safetensors.ts is the canonical in-memory codec of integer tensors
// for our own artefacts. The format is small and documented
// (https://github.com/huggingface/safetensors#format): N (u64 LE), N bytes of JSON
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {string: string}},
// then the data section; offsets are relative to the data section.

import { open, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { CheckpointError, CheckpointErrorCode } from './errors.ts';

/** Bytes per element of every safetensors dtype. */
export const DTYPE_BYTES: Readonly<Record<string, number>> = {
  BOOL: 1, U8: 1, I8: 1, F8_E4M3: 1, F8_E5M2: 1,
  U16: 2, I16: 2, F16: 2, BF16: 2,
  U32: 4, I32: 4, F32: 4,
  U64: 8, I64: 8, F64: 8,
};

/** The largest header we accept (real checkpoints: well under 1 MiB). */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export interface TensorEntry {
  name: string;
  dtype: string;
  shape: number[];
  /** Absolute byte offset of the data in the file. */
  offset: number;
  byteLength: number;
}

export class SafetensorsFile {
  private constructor(
    readonly path: string,
    readonly size: number,
    readonly tensors: ReadonlyMap<string, TensorEntry>,
    readonly metadata: Readonly<Record<string, string>>,
    private readonly handle: FileHandle,
  ) {}

  /** Opens `path` and validates its header; the data stays on disk. */
  static async open(path: string): Promise<SafetensorsFile> {
    const file = basename(path);
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (cause) {
      throw new CheckpointError(CheckpointErrorCode.MissingFile, `${file}: cannot open (${(cause as Error).message})`, { cause });
    }
    try {
      const { size } = await handle.stat();
      const corrupt = (msg: string) => new CheckpointError(CheckpointErrorCode.CorruptFile, `${file}: ${msg}`);
      if (size < 8) throw corrupt(`${size} bytes, shorter than the 8-byte header length`);
      const lenBytes = Buffer.alloc(8);
      await readFully(handle, lenBytes, 0);
      const declared = lenBytes.readBigUInt64LE(0);
      if (declared === 0n || declared > BigInt(MAX_HEADER_BYTES)) throw corrupt(`header length ${declared} is outside 1..${MAX_HEADER_BYTES}`);
      const headerLength = Number(declared);
      if (8 + headerLength > size) throw corrupt(`truncated: the header needs ${8 + headerLength} bytes but the file has ${size}`);
      const headerBytes = Buffer.alloc(headerLength);
      await readFully(handle, headerBytes, 8);
      let header: unknown;
      try {
        header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
      } catch (cause) {
        throw new CheckpointError(CheckpointErrorCode.CorruptFile, `${file}: header is not UTF-8 JSON (${(cause as Error).message})`, { cause });
      }
      if (typeof header !== 'object' || header === null || Array.isArray(header)) throw corrupt('header is not a JSON object');
      const dataStart = 8 + headerLength;
      const dataLength = size - dataStart;
      const tensors = new Map<string, TensorEntry>();
      let metadata: Record<string, string> = {};
      for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
        if (name === '__metadata__') {
          if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || !Object.values(raw).every((v) => typeof v === 'string')) {
            throw corrupt('__metadata__ is not a string → string object');
          }
          metadata = raw as Record<string, string>;
          continue;
        }
        const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
        if (typeof e !== 'object' || e === null) throw corrupt(`tensor "${name}": entry is not an object`);
        if (typeof e.dtype !== 'string' || !(e.dtype in DTYPE_BYTES)) throw corrupt(`tensor "${name}": unknown dtype ${JSON.stringify(e.dtype)}`);
        if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw corrupt(`tensor "${name}": shape is not a list of non-negative integers`);
        const offsets = e.data_offsets;
        if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[1] < offsets[0]) {
          throw corrupt(`tensor "${name}": data_offsets must be two non-negative integers [begin, end], begin ≤ end`);
        }
        const shape = e.shape as number[];
        const count = shape.reduce((a, b) => a * b, 1);
        const byteLength = count * DTYPE_BYTES[e.dtype];
        if (!Number.isSafeInteger(byteLength)) throw corrupt(`tensor "${name}": shape [${shape.join(', ')}] is too large`);
        const [begin, end] = offsets as [number, number];
        if (end - begin !== byteLength) {
          throw corrupt(`tensor "${name}": shape [${shape.join(', ')}] of ${e.dtype} needs ${byteLength} bytes but data_offsets span ${end - begin}`);
        }
        if (end > dataLength) {
          throw corrupt(`truncated: tensor "${name}" ends at data byte ${end} but the data section holds ${dataLength} (file ${size} bytes)`);
        }
        tensors.set(name, { name, dtype: e.dtype, shape, offset: dataStart + begin, byteLength });
      }
      // No two tensors may share bytes.
      const byPos = [...tensors.values()].filter((t) => t.byteLength > 0).sort((a, b) => a.offset - b.offset);
      for (let i = 1; i < byPos.length; i++) {
        if (byPos[i].offset < byPos[i - 1].offset + byPos[i - 1].byteLength) {
          throw corrupt(`tensors "${byPos[i - 1].name}" and "${byPos[i].name}" overlap`);
        }
      }
      return new SafetensorsFile(path, size, tensors, metadata, handle);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /** Bytes `start .. start + length` of tensor `name`'s data (the whole tensor by default). */
  async read(name: string, start = 0, length?: number): Promise<Uint8Array> {
    const entry = this.tensors.get(name);
    if (!entry) throw new CheckpointError(CheckpointErrorCode.MissingTensor, `${basename(this.path)}: no tensor "${name}"`);
    const len = length ?? entry.byteLength - start;
    if (start < 0 || len < 0 || start + len > entry.byteLength) throw new RangeError(`read ${name}: bytes ${start}+${len} outside its ${entry.byteLength}`);
    const out = new Uint8Array(len);
    const got = await readFully(this.handle, out, entry.offset + start);
    if (got < len) {
      throw new CheckpointError(CheckpointErrorCode.CorruptFile, `${basename(this.path)}: truncated while reading tensor "${name}" (${got} of ${len} bytes)`);
    }
    return out;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

/** Reads until `buffer` is full or the file ends; returns the bytes read. */
async function readFully(handle: FileHandle, buffer: Uint8Array, position: number): Promise<number> {
  let filled = 0;
  while (filled < buffer.length) {
    const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled;
}

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Little-endian uint16 words of `bytes` (bf16 bits). On a little-endian host with `bytes`
 * 2-byte aligned (as `SafetensorsFile.read` returns them) this is a view, not a copy.
 */
export function u16le(bytes: Uint8Array): Uint16Array {
  if (bytes.length % 2 !== 0) throw new RangeError(`u16le: ${bytes.length} bytes is not a whole number of 16-bit words`);
  if (HOST_IS_LITTLE_ENDIAN && bytes.byteOffset % 2 === 0) return new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2);
  const out = new Uint16Array(bytes.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = bytes[2 * i] | (bytes[2 * i + 1] << 8);
  return out;
}
