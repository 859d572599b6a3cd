// Sparse form of a ternary matrix for the CPU kernels: per row, the column indices of +1
// weights then of −1 weights. A ternary dot product becomes adds and subtracts over half the
// columns (a generated row is half zeros) with no multiplications. Same integers as the dense
// definition; only the CPU uses it.

export interface PackedTernary {
  readonly rows: number;
  readonly cols: number;
  /** column indices, row by row: positives then negatives */
  readonly idx: Int32Array;
  /** row n's positives are idx[start[n] .. mid[n]), negatives idx[mid[n] .. start[n+1]) */
  readonly start: Int32Array;
  readonly mid: Int32Array;
}

export function packTernary(w: Int8Array, rows: number, cols: number): PackedTernary {
  let nnz = 0;
  for (let i = 0; i < rows * cols; i++) if (w[i] !== 0) nnz++;
  const idx = new Int32Array(nnz);
  const start = new Int32Array(rows + 1);
  const mid = new Int32Array(rows);
  let o = 0;
  for (let n = 0; n < rows; n++) {
    start[n] = o;
    for (let k = 0; k < cols; k++) if (w[n * cols + k] === 1) idx[o++] = k;
    mid[n] = o;
    for (let k = 0; k < cols; k++) if (w[n * cols + k] === -1) idx[o++] = k;
  }
  start[rows] = o;
  return { rows, cols, idx, start, mid };
}
