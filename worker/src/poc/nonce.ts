// Collision-free nonce iterators (seed 004, "Unique Nonce Generation"): node `node_id` of
// `n_nodes`, group `group_id` of `n_groups` walks `value_i = offset + i · step` with
// `offset = node_id + group_id · n_nodes` and `step = n_nodes · n_groups`. Every (node, group)
// pair owns one residue class mod `step` (offset < step, and offset determines the pair), so two
// iterators of one epoch never produce the same nonce, and together they cover 0, 1, 2, … with no
// gap. Nonces are u64 (bigint here); an iterator that would pass 2^64 − 1 throws.

export const U64_MAX = (1n << 64n) - 1n;

export interface NonceLayout {
  readonly nodeId: number;
  readonly nNodes: number;
  readonly groupId: number;
  readonly nGroups: number;
}

export class NonceError extends Error {
  readonly codespace = 'poc';
  constructor(message: string) {
    super(message);
    this.name = 'NonceError';
  }
}

/** Throws a NonceError naming the first field out of range. */
export function checkLayout(l: NonceLayout): void {
  const int = (v: number, what: string, min: number) => {
    if (!Number.isSafeInteger(v) || v < min) throw new NonceError(`nonce layout: ${what} must be an integer ≥ ${min}, got ${v}`);
  };
  int(l.nNodes, 'n_nodes', 1);
  int(l.nGroups, 'n_groups', 1);
  int(l.nodeId, 'node_id', 0);
  int(l.groupId, 'group_id', 0);
  if (l.nodeId >= l.nNodes) throw new NonceError(`nonce layout: node_id ${l.nodeId} must be < n_nodes ${l.nNodes}`);
  if (l.groupId >= l.nGroups) throw new NonceError(`nonce layout: group_id ${l.groupId} must be < n_groups ${l.nGroups}`);
}

export class NonceIterator implements Iterator<bigint> {
  readonly offset: bigint;
  readonly step: bigint;
  /** index of the next value */
  private i: bigint;

  constructor(readonly layout: NonceLayout, start = 0n) {
    checkLayout(layout);
    if (start < 0n) throw new NonceError(`nonce iterator: start index must be ≥ 0, got ${start}`);
    this.offset = BigInt(layout.nodeId) + BigInt(layout.groupId) * BigInt(layout.nNodes);
    this.step = BigInt(layout.nNodes) * BigInt(layout.nGroups);
    this.i = start;
  }

  /** value i of this iterator (pure). */
  at(i: bigint): bigint {
    const v = this.offset + i * this.step;
    if (v > U64_MAX) throw new NonceError(`nonce iterator: value ${i} of node ${this.layout.nodeId}, group ${this.layout.groupId} passes 2^64 − 1`);
    return v;
  }

  /** index of the next value (for resuming) */
  get index(): bigint {
    return this.i;
  }

  next(): IteratorResult<bigint> {
    const v = this.at(this.i);
    this.i += 1n;
    return { value: v, done: false };
  }

  /** the next `n` values */
  take(n: number): bigint[] {
    const out: bigint[] = [];
    for (let k = 0; k < n; k++) out.push(this.next().value);
    return out;
  }

  [Symbol.iterator](): Iterator<bigint> {
    return this;
  }
}
