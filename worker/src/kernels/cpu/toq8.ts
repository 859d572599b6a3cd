// toq8: Q16 activation → Q8 attention operand clamped to ±2047 (SPEC.md §4.4), so q·k dot
// products of dh ≤ 256 terms stay inside int32. Backward is the identity (straight-through).

import { clamp, fired, rshr } from './int.ts';

export function toq8(y: Int32Array): Int32Array {
  const out = new Int32Array(y.length);
  for (let i = 0; i < y.length; i++) {
    const q = rshr(y[i], 8);
    if (q > 2047 || q < -2047) fired.toq8++;
    out[i] = clamp(q, -2047, 2047);
  }
  return out;
}
