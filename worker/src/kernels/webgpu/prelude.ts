// Shared WGSL libraries prepended to kernels: int.wgsl (SPEC §2 primitives and the 64-bit
// emulation) and poly.wgsl (SPEC §3 polynomials). A kernel file declares only its own bindings
// and entry point; the concatenated text is what the pipeline cache keys on.

import { loadWgsl } from './wgsl.ts';

export const INT_WGSL = loadWgsl('int.wgsl');
export const POLY_WGSL = loadWgsl('poly.wgsl');

/** A kernel's full source: the integer library, optionally the polynomials, then the kernel. */
export function withPrelude(kernel: string, opts: { poly?: boolean } = {}): string {
  return INT_WGSL + '\n' + (opts.poly ? POLY_WGSL + '\n' : '') + kernel;
}
