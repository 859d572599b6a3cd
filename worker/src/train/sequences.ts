import type { Tokens } from '../model/forward.ts';
// How a chunk of byte tokens becomes training sequences (SPEC.md §6): consecutive windows of
// seqLen bytes; position t predicts byte t+1 of the same window.

export function splitSequences<C extends Tokens>(chunk: C, seqLen: number): C[] {
  if (chunk.length % seqLen !== 0) {
    throw new RangeError(`chunk length ${chunk.length} is not a multiple of seqLen ${seqLen}`);
  }
  const out: C[] = [];
  for (let o = 0; o < chunk.length; o += seqLen) out.push(chunk.subarray(o, o + seqLen) as C);
  return out;
}

/** targets[t] = seq[t+1]; the last position has none (−1). */
export function nextByteTargets(seq: Tokens): Int32Array {
  const tg = new Int32Array(seq.length);
  for (let t = 0; t + 1 < seq.length; t++) tg[t] = seq[t + 1];
  tg[seq.length - 1] = -1;
  return tg;
}

/** [from, to) of each of `n` parts of `count` items: contiguous, the first `count mod n` one longer. */
export function splitEvenly(count: number, n: number): Array<[number, number]> {
  const base = Math.floor(count / n);
  const extra = count % n;
  const out: Array<[number, number]> = [];
  let from = 0;
  for (let i = 0; i < n; i++) {
    const to = from + base + (i < extra ? 1 : 0);
    out.push([from, to]);
    from = to;
  }
  return out;
}
