/**
 * CometBFT v0.38 socket framing: each message is an UNSIGNED protobuf varint
 * holding the byte length, then that many bytes of a protobuf
 * `tendermint.abci.Request` / `Response`. (Before v0.37 the prefix was a
 * zigzag varint; that encoding is not accepted here.)
 *
 * FrameDecoder is incremental: feed it socket chunks of any size and it hands
 * back every frame completed so far, whether a frame spans many chunks or
 * many frames arrive in one chunk.
 */

/** Default cap on one frame's payload; CometBFT's own reader uses 64 MiB too. */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024;

/** A uint64 varint never needs more than 10 bytes. */
const MAX_VARINT_BYTES = 10;

export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FrameError';
  }
}

/**
 * The declared frame length exceeds the decoder's limit. Raised as soon as the
 * partly read prefix passes the limit, so `declaredBytes` is a lower bound.
 */
export class FrameTooLargeError extends FrameError {
  readonly declaredBytes: number;
  readonly maxFrameBytes: number;
  constructor(declaredBytes: number, maxFrameBytes: number) {
    const shown = Number.isFinite(declaredBytes) ? String(declaredBytes) : 'more than 2^53';
    super(`ABCI frame declares at least ${shown} bytes, over the limit of ${maxFrameBytes} bytes`);
    this.name = 'FrameTooLargeError';
    this.declaredBytes = declaredBytes;
    this.maxFrameBytes = maxFrameBytes;
  }
}

export interface FrameDecoderOptions {
  /** Largest payload accepted, in bytes (default 64 MiB). */
  maxFrameBytes?: number;
}

/** Number of bytes `writeUvarint` uses for `value`. */
export function uvarintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

/**
 * Writes `value` (a non-negative safe integer) as an unsigned varint at
 * `offset`; returns the offset after it. Uses division, not shifts, so
 * lengths past 2^31 stay correct.
 */
export function writeUvarint(out: Uint8Array, offset: number, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`varint value must be a non-negative safe integer, got ${value}`);
  }
  while (value >= 0x80) {
    out[offset++] = (value % 128) | 0x80;
    value = Math.floor(value / 128);
  }
  out[offset++] = value;
  return offset;
}

/** One frame: varint length prefix followed by `payload`. */
export function encodeFrame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(uvarintSize(payload.length) + payload.length);
  const start = writeUvarint(out, 0, payload.length);
  out.set(payload, start);
  return out;
}

/** Many frames in one contiguous buffer (one socket write instead of many). */
export function encodeFrames(payloads: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of payloads) total += uvarintSize(p.length) + p.length;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const p of payloads) {
    offset = writeUvarint(out, offset, p.length);
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/**
 * Incremental decoder. State is either "reading the length prefix" (a few
 * prefix bytes may be pending across chunks) or "filling a payload buffer"
 * of known size. Payloads that lie wholly inside one chunk are returned as
 * views of that chunk without copying; the caller must not mutate chunks
 * after pushing them (socket chunks are fresh buffers, so this holds).
 *
 * After push() throws, the stream is unrecoverable: the decoder stays failed.
 */
export class FrameDecoder {
  readonly maxFrameBytes: number;

  // Length-prefix state.
  private lengthSoFar = 0;
  private lengthMultiplier = 1;
  private lengthBytesSeen = 0;

  // Payload state: set while a frame's payload is being filled.
  private payload: Uint8Array | null = null;
  private payloadFilled = 0;

  private failure: FrameError | null = null;

  constructor(opts: FrameDecoderOptions = {}) {
    const max = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    if (!Number.isSafeInteger(max) || max < 0) {
      throw new RangeError(`maxFrameBytes must be a non-negative safe integer, got ${max}`);
    }
    this.maxFrameBytes = max;
  }

  /** True when no partial frame is buffered (a clean place for the stream to end). */
  get idle(): boolean {
    return this.payload === null && this.lengthBytesSeen === 0;
  }

  /** Bytes of the current partial frame held so far (prefix or payload). */
  get bufferedBytes(): number {
    return this.payload !== null ? this.payloadFilled : this.lengthBytesSeen;
  }

  /** Feeds one chunk; returns the payloads of all frames completed by it, in order. */
  push(chunk: Uint8Array): Uint8Array[] {
    if (this.failure) throw this.failure;
    const frames: Uint8Array[] = [];
    let pos = 0;
    const end = chunk.length;
    while (pos < end) {
      if (this.payload === null) {
        // Reading the length prefix, one byte at a time.
        const byte = chunk[pos++];
        this.lengthSoFar += (byte & 0x7f) * this.lengthMultiplier;
        this.lengthMultiplier *= 128;
        this.lengthBytesSeen++;
        if (this.lengthSoFar > this.maxFrameBytes) {
          // Reject as soon as the partial value is over the limit: it can only grow.
          this.fail(new FrameTooLargeError(this.lengthSoFar, this.maxFrameBytes));
        }
        if (byte & 0x80) {
          if (this.lengthBytesSeen >= MAX_VARINT_BYTES) {
            this.fail(new FrameError('ABCI frame length prefix is not a valid varint (over 10 bytes)'));
          }
          continue;
        }
        const length = this.lengthSoFar;
        this.lengthSoFar = 0;
        this.lengthMultiplier = 1;
        this.lengthBytesSeen = 0;
        if (length === 0) {
          frames.push(new Uint8Array(0));
          continue;
        }
        if (end - pos >= length) {
          frames.push(chunk.subarray(pos, pos + length));
          pos += length;
          continue;
        }
        this.payload = new Uint8Array(length);
        this.payloadFilled = 0;
      }
      // Filling a payload whose length is known.
      const want = this.payload.length - this.payloadFilled;
      const take = Math.min(want, end - pos);
      this.payload.set(chunk.subarray(pos, pos + take), this.payloadFilled);
      this.payloadFilled += take;
      pos += take;
      if (this.payloadFilled === this.payload.length) {
        frames.push(this.payload);
        this.payload = null;
        this.payloadFilled = 0;
      }
    }
    return frames;
  }

  private fail(err: FrameError): never {
    this.failure = err;
    throw err;
  }
}
