// Squared ReLU (SPEC.md §4.7), the BitNet b1.58 2B4T FFN activation, in Q16 with the input
// capped at 2^24 (real 256) so a² stays below 2^48.

import { mulShr, satG } from './int.ts';

const CAP = 16777216;

export function relu2(f: Int32Array): Int32Array {
  const y = new Int32Array(f.length);
  for (let i = 0; i < f.length; i++) {
    const a = f[i] > 0 ? (f[i] < CAP ? f[i] : CAP) : 0;
    y[i] = mulShr(a, a, 16);
  }
  return y;
}

export function relu2Backward(f: Int32Array, dy: Int32Array): Int32Array {
  const df = new Int32Array(f.length);
  for (let i = 0; i < f.length; i++) {
    const a = f[i];
    df[i] = a > 0 && a < CAP ? satG(mulShr(dy[i], a, 15)) : 0;
  }
  return df;
}
