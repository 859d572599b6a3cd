/**
 * The authenticated tree: a Tendermint "simple" Merkle tree over the sorted key/value pairs,
 * in the shape that @confio/ics23's `tendermintSpec` verifies.
 *
 *   leaf(k, v)  = sha256(0x00 ‖ uvarint(len k) ‖ k ‖ uvarint(32) ‖ sha256(v))
 *   inner(L, R) = sha256(0x01 ‖ L ‖ R)
 *   root([])    = sha256("")                      (CometBFT's empty hash)
 *   root([x])   = leaf(x)
 *   root(xs)    = inner(root(xs[0:k]), root(xs[k:]))   k = largest power of two < len(xs)
 *
 * Layout. With that split rule the tree over n leaves is a row of perfect subtrees ("blocks")
 * whose sizes are the binary digits of n, largest first (n = 13 → 8, 4, 1), each aligned at a
 * multiple of its size, folded right to left: root = inner(B8, inner(B4, B1)). So every inner
 * node of every block is an *aligned* node: node i at level j covers leaves [i·2^j, (i+1)·2^j).
 * We keep those nodes in flat buffers, `levels[j]` holding floor(n / 2^j) hashes of 32 bytes.
 *
 * Updates. A snapshot is immutable; `apply` returns a new one. If a batch only changes values,
 * the positions stay put and only the ancestors of changed leaves are rehashed (≈ m·log n
 * hashes). An insert or delete at position p shifts every later leaf, which changes every aligned
 * node at or after p: those are rehashed (≈ n − p inner hashes; leaf hashes are reused, never
 * recomputed for unchanged keys). Nodes before p are copied, bar ancestors of changed values.
 */
import { fromKeyString, lowerBound, uvarintLength, writeUvarint } from "../core/store/bytes.ts";
import { HASH_BYTES, innerHash, innerHashInto, sha256 } from "./hash.ts";

/** Root of the tree with no leaves: sha256 of the empty string, as in CometBFT. */
export const EMPTY_ROOT: Uint8Array = new Uint8Array(sha256(new Uint8Array(0)));

const LEAF_PREFIX = 0x00;

/** leaf = sha256(0x00 ‖ uvarint(len k) ‖ k ‖ 0x20 ‖ sha256(v)). */
export function leafHash(key: Uint8Array, value: Uint8Array): Uint8Array {
  const valueHash = sha256(value);
  const buf = new Uint8Array(1 + uvarintLength(key.length) + key.length + 1 + HASH_BYTES);
  buf[0] = LEAF_PREFIX;
  let o = writeUvarint(buf, 1, key.length);
  buf.set(key, o);
  o += key.length;
  buf[o++] = HASH_BYTES;
  buf.set(valueHash, o);
  return new Uint8Array(sha256(buf));
}

/** One step of a proof path: parent = sha256(prefix ‖ child ‖ suffix). */
export interface PathStep {
  prefix: Uint8Array;
  suffix: Uint8Array;
}

/** A change to the leaf set: `leaf` is the new leaf hash, undefined to delete the key. */
export interface LeafChange {
  key: string;
  leaf: Uint8Array | undefined;
}

function levelCount(n: number): number {
  let c = 0;
  while (n > 0) {
    c++;
    n = Math.floor(n / 2);
  }
  return c;
}

/**
 * Builds inner levels above `leaves`. Nodes entirely before leaf position `keepBefore` are
 * copied from `old` (the previous snapshot's levels, same positions), except the ancestors of
 * the leaf positions in `dirty` (ascending, all < keepBefore), which are rehashed. Every other
 * node is hashed from its children.
 */
function buildLevels(
  leaves: Uint8Array,
  n: number,
  old: readonly Uint8Array[] | undefined,
  keepBefore: number,
  dirty: number[],
): Uint8Array[] {
  const levels: Uint8Array[] = [leaves];
  let below = leaves;
  let count = n;
  let level = 0;
  let dirtyBelow = dirty;
  while (count >= 2) {
    const c = Math.floor(count / 2);
    const buf = new Uint8Array(c * HASH_BYTES);
    level++;
    const keep = old ? Math.min(c, Math.floor(keepBefore / 2 ** level)) : 0;
    if (keep > 0 && old) buf.set(old[level].subarray(0, keep * HASH_BYTES));
    const dirtyHere: number[] = [];
    let last = -1;
    for (const d of dirtyBelow) {
      const i = d >> 1;
      if (i === last || i >= keep) continue;
      last = i;
      dirtyHere.push(i);
      innerHashInto(buf, i * HASH_BYTES, below, 2 * i * HASH_BYTES, below, (2 * i + 1) * HASH_BYTES);
    }
    for (let i = keep; i < c; i++) {
      innerHashInto(buf, i * HASH_BYTES, below, 2 * i * HASH_BYTES, below, (2 * i + 1) * HASH_BYTES);
    }
    levels.push(buf);
    below = buf;
    count = c;
    dirtyBelow = dirtyHere;
  }
  return levels;
}

interface Block {
  level: number;
  start: number;
}

/** The perfect subtrees of an n-leaf tree, left to right (largest first). */
function blocksOf(n: number): Block[] {
  const out: Block[] = [];
  let start = 0;
  for (let level = levelCount(n) - 1; level >= 0; level--) {
    const size = 2 ** level;
    if (Math.floor(n / size) % 2 === 1) {
      out.push({ level, start });
      start += size;
    }
  }
  return out;
}

export class MerkleTree {
  /** Root hash; EMPTY_ROOT for no leaves. */
  readonly root: Uint8Array;

  private constructor(
    /** Sorted latin1 keys; shared between snapshots, never mutated. */
    readonly keys: readonly string[],
    private readonly levels: readonly Uint8Array[],
  ) {
    this.root = this.computeRoot();
  }

  static empty(): MerkleTree {
    return new MerkleTree([], [new Uint8Array(0)]);
  }

  /** `keys` sorted ascending and unique; `leaves` their leaf hashes, 32 bytes each, in order. */
  static fromLeaves(keys: readonly string[], leaves: Uint8Array): MerkleTree {
    if (leaves.length !== keys.length * HASH_BYTES) throw new RangeError("leaf buffer size");
    for (let i = 1; i < keys.length; i++) {
      if (!(keys[i - 1] < keys[i])) throw new Error("keys not strictly ascending");
    }
    return new MerkleTree(keys, buildLevels(leaves, keys.length, undefined, 0, []));
  }

  get size(): number {
    return this.keys.length;
  }

  /** Position of the first key >= `key`. */
  lowerBound(key: string): number {
    return lowerBound(this.keys, key);
  }

  leafAt(i: number): Uint8Array {
    return this.levels[0].slice(i * HASH_BYTES, (i + 1) * HASH_BYTES);
  }

  private node(level: number, index: number): Uint8Array {
    return this.levels[level].subarray(index * HASH_BYTES, (index + 1) * HASH_BYTES);
  }

  private computeRoot(): Uint8Array {
    const n = this.keys.length;
    if (n === 0) return EMPTY_ROOT;
    const blocks = blocksOf(n);
    return this.foldBlocks(blocks, 0);
  }

  /** Hash of the fold of blocks[from..] (the right part of the root spine). */
  private foldBlocks(blocks: Block[], from: number): Uint8Array {
    const lastBlock = blocks[blocks.length - 1];
    let acc: Uint8Array = this.node(lastBlock.level, lastBlock.start / 2 ** lastBlock.level).slice();
    for (let t = blocks.length - 2; t >= from; t--) {
      const b = blocks[t];
      acc = innerHash(this.node(b.level, b.start / 2 ** b.level), acc);
    }
    return acc;
  }

  /**
   * Applies a batch of leaf changes (sorted by key, unique keys) and returns the new snapshot.
   * Deleting an absent key is a no-op.
   */
  apply(changes: readonly LeafChange[]): MerkleTree {
    if (changes.length === 0) return this;
    const oldKeys = this.keys;
    const oldLeaves = this.levels[0];
    const n = oldKeys.length;

    // Locate each change; find the first structural (insert/delete) position.
    const idx = new Array<number>(changes.length);
    const found = new Array<boolean>(changes.length);
    let firstStructural = n;
    let delta = 0;
    let structural = false;
    let prevKey: string | undefined;
    for (let c = 0; c < changes.length; c++) {
      const ch = changes[c];
      if (prevKey !== undefined && !(prevKey < ch.key)) throw new Error("changes not sorted/unique");
      prevKey = ch.key;
      const i = lowerBound(oldKeys, ch.key);
      const hit = i < n && oldKeys[i] === ch.key;
      idx[c] = i;
      found[c] = hit;
      if (hit !== (ch.leaf !== undefined)) {
        // insert (absent, set) or delete (present, delete)
        structural = true;
        if (i < firstStructural) firstStructural = i;
        delta += hit ? -1 : 1;
      }
    }

    if (!structural) {
      // Value changes only (and deletes of absent keys): same positions.
      const leaves = oldLeaves.slice();
      const dirty: number[] = [];
      for (let c = 0; c < changes.length; c++) {
        const leaf = changes[c].leaf;
        if (!found[c] || leaf === undefined) continue;
        leaves.set(leaf, idx[c] * HASH_BYTES);
        dirty.push(idx[c]);
      }
      if (dirty.length === 0) return this;
      return new MerkleTree(oldKeys, buildLevels(leaves, n, this.levels, n, dirty));
    }

    const newN = n + delta;
    const keys: string[] = new Array<string>(newN);
    const leaves = new Uint8Array(newN * HASH_BYTES);
    const dirty: number[] = [];
    let cursor = 0; // next unconsumed old position
    let pos = 0; // next new position
    const copyRun = (end: number): void => {
      if (end <= cursor) return;
      leaves.set(oldLeaves.subarray(cursor * HASH_BYTES, end * HASH_BYTES), pos * HASH_BYTES);
      for (let i = cursor; i < end; i++) keys[pos++] = oldKeys[i];
      cursor = end;
    };
    for (let c = 0; c < changes.length; c++) {
      const ch = changes[c];
      copyRun(idx[c]);
      if (found[c]) {
        cursor++; // consume the old entry
        if (ch.leaf === undefined) continue; // delete
        if (pos < firstStructural) dirty.push(pos);
      } else if (ch.leaf === undefined) {
        continue; // delete of an absent key
      }
      keys[pos] = ch.key;
      leaves.set(ch.leaf, pos * HASH_BYTES);
      pos++;
    }
    copyRun(n);
    if (pos !== newN) throw new Error("merkle apply: size mismatch");
    return new MerkleTree(keys, buildLevels(leaves, newN, this.levels, firstStructural, dirty));
  }

  /** Inclusion path of leaf `i`, bottom-up, as ics23 inner ops (prefix, suffix). */
  path(i: number): PathStep[] {
    const n = this.keys.length;
    if (!(i >= 0 && i < n)) throw new RangeError(`leaf ${i} out of range`);
    const blocks = blocksOf(n);
    let t = 0;
    while (i >= blocks[t].start + 2 ** blocks[t].level) t++;
    const steps: PathStep[] = [];
    const one = Uint8Array.of(0x01);
    // Inside the perfect block.
    for (let l = 0; l < blocks[t].level; l++) {
      const me = Math.floor(i / 2 ** l);
      const sibling = this.node(l, me ^ 1).slice();
      steps.push(me % 2 === 0 ? { prefix: one, suffix: sibling } : { prefix: concat1(sibling), suffix: new Uint8Array(0) });
    }
    // Up the spine: left child of inner(B_t, fold(t+1..)), then right child of each B_s, s < t.
    if (t < blocks.length - 1) steps.push({ prefix: one, suffix: this.foldBlocks(blocks, t + 1) });
    for (let s = t - 1; s >= 0; s--) {
      const b = blocks[s];
      steps.push({ prefix: concat1(this.node(b.level, b.start / 2 ** b.level)), suffix: new Uint8Array(0) });
    }
    return steps;
  }

  /** Key bytes at position i. */
  keyAt(i: number): Uint8Array {
    return fromKeyString(this.keys[i]);
  }
}

function concat1(h: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + h.length);
  out[0] = 0x01;
  out.set(h, 1);
  return out;
}
