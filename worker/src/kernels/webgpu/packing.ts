// Host-side packing into the layouts the WGSL kernels read (README.md, "Layouts").
//
// int8 rows: row-major, 4 lanes per u32 (lane j = bits 8j..8j+7 = element 4i+j), each row padded
// with zeros to a multiple of ROW_ALIGN elements so every kernel can walk K in whole 16-element
// steps with no tail case. Zero padding adds nothing to any dot product.
//
// ternary rows: row-major, 16 weights per u32, 2 bits each (weight j of a word in bits 2j..2j+1):
// 00 = 0, 01 = +1, 10 = −1 (11 is rejected). Four times smaller than int8 lanes, which is what
// a memory-bound GPU matmul wants; the shader widens each byte back to four int8 lanes.

/** Elements per row are padded to this multiple (16 = one ternary word = four int8x4 words). */
export const ROW_ALIGN = 16;

export function paddedCols(cols: number): number {
  return Math.ceil(cols / ROW_ALIGN) * ROW_ALIGN;
}

/** u32 words per packed int8 row. */
export function int8RowWords(cols: number): number {
  return paddedCols(cols) / 4;
}

/** u32 words per packed ternary row. */
export function ternaryRowWords(cols: number): number {
  return paddedCols(cols) / 16;
}

function checkShape(length: number, rows: number, cols: number, what: string): void {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0 || length !== rows * cols) {
    throw new RangeError(`${what}: ${length} values do not form a ${rows}×${cols} matrix`);
  }
}

/** Packs a rows×cols int8 matrix (row-major) into padded int8x4 rows. */
export function packInt8Rows(values: Int8Array, rows: number, cols: number): Uint32Array {
  checkShape(values.length, rows, cols, 'packInt8Rows');
  const rowWords = int8RowWords(cols);
  const words = new Uint32Array(rows * rowWords);
  const bytes = new Int8Array(words.buffer);
  // The byte view of a little-endian u32 array is exactly the lane layout.
  for (let r = 0; r < rows; r++) bytes.set(values.subarray(r * cols, (r + 1) * cols), r * rowWords * 4);
  return words;
}

/** Inverse of packInt8Rows. */
export function unpackInt8Rows(words: Uint32Array, rows: number, cols: number): Int8Array {
  const rowBytes = int8RowWords(cols) * 4;
  const bytes = new Int8Array(words.buffer, words.byteOffset, words.byteLength);
  const out = new Int8Array(rows * cols);
  for (let r = 0; r < rows; r++) out.set(bytes.subarray(r * rowBytes, r * rowBytes + cols), r * cols);
  return out;
}

/** Packs a rows×cols ternary matrix ({−1, 0, +1} as int8, row-major) into 2-bit rows. */
export function packTernaryRows(values: Int8Array, rows: number, cols: number): Uint32Array {
  checkShape(values.length, rows, cols, 'packTernaryRows');
  const rowWords = ternaryRowWords(cols);
  const words = new Uint32Array(rows * rowWords);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const v = values[r * cols + c];
      if (v === 0) continue;
      if (v !== 1 && v !== -1) throw new RangeError(`packTernaryRows: weight [${r}, ${c}] = ${v} is not ternary`);
      const code = v === 1 ? 1 : 2;
      words[r * rowWords + (c >>> 4)] |= code << ((c & 15) * 2);
    }
  }
  return words;
}

/**
 * The CPU's sparse ternary form (cpu/ternary-pack.ts: per row the column indices of +1 weights,
 * then of −1 weights) → 2-bit rows. A structural copy of the CPU's PackedTernary type, so the
 * GPU backend does not import CPU modules.
 */
export interface SparseTernary {
  readonly rows: number;
  readonly cols: number;
  readonly idx: Int32Array;
  readonly start: Int32Array;
  readonly mid: Int32Array;
}

export function packTernaryRowsFromSparse(w: SparseTernary): Uint32Array {
  const rowWords = ternaryRowWords(w.cols);
  const words = new Uint32Array(w.rows * rowWords);
  for (let n = 0; n < w.rows; n++) {
    for (let i = w.start[n]; i < w.start[n + 1]; i++) {
      const c = w.idx[i];
      if (c < 0 || c >= w.cols) throw new RangeError(`packTernaryRowsFromSparse: column ${c} out of range`);
      const code = i < w.mid[n] ? 1 : 2;
      words[n * rowWords + (c >>> 4)] |= code << ((c & 15) * 2);
    }
  }
  return words;
}

/** Inverse of packTernaryRows. */
export function unpackTernaryRows(words: Uint32Array, rows: number, cols: number): Int8Array {
  const rowWords = ternaryRowWords(cols);
  const out = new Int8Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const code = (words[r * rowWords + (c >>> 4)] >>> ((c & 15) * 2)) & 3;
      out[r * cols + c] = code === 1 ? 1 : code === 2 ? -1 : 0;
    }
  }
  return out;
}

/** Row-major transpose of a rows×cols matrix (host side; for callers whose layout is [K, N]). */
export function transpose<T extends Int8Array | Int32Array>(values: T, rows: number, cols: number): T {
  checkShape(values.length, rows, cols, 'transpose');
  const out = new (values.constructor as new (n: number) => T)(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c];
  return out;
}

// acc64: the SPEC's exact 64-bit sums. The CPU keeps them in a BigInt64Array (one int64 per
// element); the GPU keeps (lo u32, hi i32) two's-complement pairs, element i in words 2i, 2i+1.

const ACC_MAX = 1n << 52n;

/** BigInt64Array of acc64 sums (SPEC §1 range |x| < 2^52, else RangeError) → acc64 pairs. */
export function toAcc64(values: BigInt64Array): Uint32Array {
  const out = new Uint32Array(values.length * 2);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v >= ACC_MAX || v <= -ACC_MAX) throw new RangeError(`acc64: ${v} is outside ±2^52`);
    out[2 * i] = Number(BigInt.asUintN(32, v));
    out[2 * i + 1] = Number(BigInt.asUintN(32, v >> 32n));
  }
  return out;
}

/** acc64 pairs → BigInt64Array (exact for every int64), written into `into` when given. */
export function fromAcc64(pairs: Uint32Array | Int32Array, into?: BigInt64Array): BigInt64Array {
  const n = pairs.length / 2;
  const out = into ?? new BigInt64Array(n);
  for (let i = 0; i < n; i++) out[i] = (BigInt(pairs[2 * i + 1] | 0) << 32n) + BigInt(pairs[2 * i] >>> 0);
  return out;
}
