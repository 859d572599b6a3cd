/**
 * Two replacements in cosmjs-types' protobuf runtime (`cosmjs-types/binary`), which every message
 * type of the app encodes and decodes through. Each gives exactly the bytes or the string the
 * original gives (test/unit/proto-runtime.test.ts compares them); they only allocate less.
 * Imported for its effect by app/app.ts, before any tx is decoded.
 */
import { BinaryReader, BinaryWriter } from 'cosmjs-types/binary';
import { utf8Read } from 'cosmjs-types/utf8';

// BinaryWriter.alloc builds a fresh 8 KiB slab pool on every call, so each small
// `encode().finish()` allocated (and zeroed) a slab and returned a view into it: about a sixth of
// FinalizeBlock's time and most of its garbage (bench/chain-inprocess.ts). An exact-size array
// holds the same bytes.
BinaryWriter.alloc = (size: number): Uint8Array => new Uint8Array(size);

/**
 * The original `string()`: utf8Read grows a JS array one code unit at a time, copies it with
 * `slice` and spreads it into `String.fromCharCode` — about 1 KB of garbage per address-sized
 * field, and a tx has nine such fields (type URLs, addresses, denoms, amounts). Every string a
 * valid tx carries is ASCII; for ASCII bytes UTF-8 decoding is the identity on code units, so the
 * result equals utf8Read's. Anything else goes to utf8Read itself, so malformed or non-ASCII
 * input decodes exactly as before.
 */
export const originalReadString: (this: BinaryReader) => string = BinaryReader.prototype.string;

export function readStringAsciiFast(this: BinaryReader): string {
  const bytes = this.bytes();
  const length = bytes.length;
  for (let i = 0; i < length; i++) {
    if (bytes[i] >= 0x80) return utf8Read(bytes, 0, length);
  }
  if (length <= 256) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  return Buffer.from(bytes.buffer, bytes.byteOffset, length).toString('latin1');
}

BinaryReader.prototype.string = readStringAsciiFast;

/**
 * A BinaryReader over `bytes` itself. cosmjs-types' constructor copies its input
 * (`new Uint8Array(buf)`), so each nested `X.decode(bytes)` of a tx copied the bytes again —
 * TxRaw, then TxBody and AuthInfo, then the pubkey: four copies of a few hundred bytes per tx,
 * each a fresh ArrayBuffer. Decoded `bytes` fields are then views into `bytes`: use it only on
 * arrays nobody changes afterwards (tx bytes, and the views decoded from them).
 */
class SharedBytesReader extends BinaryReader {
  constructor(bytes: Uint8Array) {
    super();
    this.buf = bytes;
    this.len = bytes.length;
  }
}

export function readerOver(bytes: Uint8Array): BinaryReader {
  return new SharedBytesReader(bytes);
}
