/**
 * Committed, authenticated, versioned chain state on LevelDB. See README.md (the spec).
 *
 * All committed state is also held in memory (a Map for O(1) reads, plus the Merkle tree
 * snapshot with its sorted key list for ordered iteration and proofs); LevelDB is the durable
 * copy and is only read at open. One block's life:
 *
 *   working().set/delete …        stage (FinalizeBlock; txs run on CacheStores over working())
 *   workingHash()                 app hash of committed + staged (cached until the next write)
 *   commit(height)                one atomic LevelDB batch; then the in-memory state advances
 *   discard()                     or drop the staged writes
 */
import { Level } from "level";
import type { KVReader, KVStore, StringKeyedStore } from "../core/store/types.ts";
import { CacheStore } from "../core/store/cache.ts";
import { bytesEqual, concatBytes } from "../core/bytes.ts";
import {
  decodeU64,
  encodeU64,
  fromKeyString,
  lowerBound,
  prefixEnd,
  toKeyString,
  uvarintLength,
  writeUvarint,
} from "../core/store/bytes.ts";
import { HASH_BYTES } from "./hash.ts";
import { EMPTY_ROOT, leafHash, MerkleTree, type LeafChange } from "./merkle.ts";
import { encodeCommitmentProof, existenceProofOf, type ProofMessage } from "./proof.ts";

// LevelDB key layout (first byte = table). Only table STATE is authenticated.
const META = 0x00; //    0x00 ‖ name                → metadata
const STATE = 0x01; //   0x01 ‖ key                 → value           (the authenticated key space)
const UNDO = 0x02; //    0x02 ‖ height(u64 BE)       → undo record of that height (encodeUndo)
const ROOTS = 0x03; //   0x03 ‖ height(u64 BE)       → app hash at that height

const META_HEIGHT = Uint8Array.of(META, 0x48); // "H": last committed height, u64 BE
const META_APP_HASH = Uint8Array.of(META, 0x41); // "A": last committed app hash
const META_FORMAT = Uint8Array.of(META, 0x56); // "V": layout version
const FORMAT_VERSION = Uint8Array.of(1);

export const DEFAULT_KEEP_RECENT = 100;

export interface CommitStoreOptions {
  /** Keep the values of the last N committed heights readable through getAt() (N >= 1). */
  keepRecent?: number;
  /** fsync each commit (survives power loss, not only process kills). Default true. */
  sync?: boolean;
}

export interface StateProof {
  /** The committed value, or undefined when the proof is an absence proof. */
  value: Uint8Array | undefined;
  /** ics23 CommitmentProof bytes (exist or nonexist), verifiable against the app hash. */
  proof: Uint8Array;
  /** Height whose app hash (in header height+1) the proof verifies against. */
  height: bigint;
}

interface UndoRecord {
  height: bigint;
  /** Value before `height` was committed; undefined = absent. */
  prev: Uint8Array | undefined;
}

function stateKey(k: string): Uint8Array {
  const out = new Uint8Array(1 + k.length);
  out[0] = STATE;
  for (let i = 0; i < k.length; i++) out[i + 1] = k.charCodeAt(i);
  return out;
}

function undoKey(height: bigint): Uint8Array {
  return concatBytes(Uint8Array.of(UNDO), encodeU64(height));
}

/**
 * Undo record of one height: for each changed key (ascending), the value it had before:
 *   repeat { uvarint(len key) ‖ key ‖ 0x00 }                          (was absent)
 *        | { uvarint(len key) ‖ key ‖ 0x01 ‖ uvarint(len prev) ‖ prev }  (had value prev)
 */
function encodeUndo(entries: ReadonlyArray<readonly [string, Uint8Array | undefined]>): Uint8Array {
  let size = 0;
  for (const [k, prev] of entries) {
    size += uvarintLength(k.length) + k.length + 1;
    if (prev !== undefined) size += uvarintLength(prev.length) + prev.length;
  }
  // Varints written in place: a block changes thousands of keys.
  const out = new Uint8Array(size);
  let o = 0;
  for (const [k, prev] of entries) {
    o = writeUvarint(out, o, k.length);
    for (let i = 0; i < k.length; i++) out[o++] = k.charCodeAt(i);
    if (prev === undefined) {
      out[o++] = 0;
    } else {
      out[o++] = 1;
      o = writeUvarint(out, o, prev.length);
      out.set(prev, o);
      o += prev.length;
    }
  }
  return out;
}

function decodeUndo(buf: Uint8Array): Array<[string, Uint8Array | undefined]> {
  const out: Array<[string, Uint8Array | undefined]> = [];
  let o = 0;
  const uvarint = (): number => {
    let n = 0;
    let mul = 1;
    for (;;) {
      if (o >= buf.length) throw new Error("store: truncated undo record");
      const b = buf[o++];
      n += (b & 0x7f) * mul;
      if (b < 0x80) return n;
      mul *= 128;
    }
  };
  const take = (len: number): Uint8Array => {
    if (o + len > buf.length) throw new Error("store: truncated undo record");
    const part = buf.slice(o, o + len);
    o += len;
    return part;
  };
  while (o < buf.length) {
    const key = toKeyString(take(uvarint()));
    const tag = take(1)[0];
    if (tag === 0) out.push([key, undefined]);
    else if (tag === 1) out.push([key, take(uvarint())]);
    else throw new Error("store: bad undo record");
  }
  return out;
}

function rootsKey(height: bigint): Uint8Array {
  return concatBytes(Uint8Array.of(ROOTS), encodeU64(height));
}

/** Read-only view of the last committed state. */
class CommittedView implements StringKeyedStore {
  constructor(private readonly store: CommitStore) {}

  get(key: Uint8Array): Uint8Array | undefined {
    return this.store.committedGet(toKeyString(key));
  }

  getS(key: string): Uint8Array | undefined {
    return this.store.committedGet(key);
  }

  has(key: Uint8Array): boolean {
    return this.store.committedGet(toKeyString(key)) !== undefined;
  }

  hasS(key: string): boolean {
    return this.store.committedGet(key) !== undefined;
  }

  setS(): void {
    throw new Error("committed state is read-only; write through CommitStore.working()");
  }

  deleteS(): void {
    throw new Error("committed state is read-only; write through CommitStore.working()");
  }

  *iterate(prefix: Uint8Array): IterableIterator<[Uint8Array, Uint8Array]> {
    // The key list belongs to one immutable tree snapshot, so a commit during the walk cannot
    // shift positions under us.
    const keys = this.store.committedKeys();
    const p = toKeyString(prefix);
    const end = prefixEnd(p);
    const to = end === undefined ? keys.length : lowerBound(keys, end);
    for (let i = lowerBound(keys, p); i < to; i++) {
      const v = this.store.committedGet(keys[i]);
      if (v !== undefined) yield [fromKeyString(keys[i]), v];
    }
  }

  set(): void {
    throw new Error("committed state is read-only; write through CommitStore.working()");
  }

  delete(): void {
    throw new Error("committed state is read-only; write through CommitStore.working()");
  }
}

export class CommitStore {
  private height = 0n;
  private appHash: Uint8Array = EMPTY_ROOT;
  private readonly values = new Map<string, Uint8Array>();
  private tree: MerkleTree = MerkleTree.empty();
  private readonly view: CommittedView;
  private work: CacheStore | undefined;
  /** workingHash() result, valid while the working store's revision is unchanged. */
  private staged: { revision: number; tree: MerkleTree; changes: Array<[string, Uint8Array | undefined]> } | undefined;
  private committing = false;
  private closed = false;

  // History (see README "Versioning"): undo records per key (ascending height), the keys
  // changed at each retained height (ascending height), and the retained app hashes.
  private readonly undoByKey = new Map<string, UndoRecord[]>();
  /** The last tree rebuilt by proveAt, valid while the store is at `atHeight`. */
  private historical: { height: bigint; atHeight: bigint; tree: MerkleTree; values: Map<string, Uint8Array> } | undefined;
  private readonly undoByHeight = new Map<bigint, string[]>();
  private readonly roots = new Map<bigint, Uint8Array>();

  private constructor(
    private readonly db: Level<Uint8Array, Uint8Array>,
    private readonly keepRecent: number,
    private readonly sync: boolean,
  ) {
    this.view = new CommittedView(this);
  }

  static async open(dir: string, options: CommitStoreOptions = {}): Promise<CommitStore> {
    const keepRecent = options.keepRecent ?? DEFAULT_KEEP_RECENT;
    if (!Number.isSafeInteger(keepRecent) || keepRecent < 1) throw new RangeError("keepRecent must be an integer >= 1");
    const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: "view", valueEncoding: "view" });
    await db.open();
    const store = new CommitStore(db, keepRecent, options.sync ?? true);
    try {
      await store.load();
    } catch (err) {
      await db.close();
      throw err;
    }
    return store;
  }

  private async load(): Promise<void> {
    const keys: string[] = [];
    const leafParts: Uint8Array[] = [];
    let height: bigint | undefined;
    let appHash: Uint8Array | undefined;
    let format: Uint8Array | undefined;
    const it = this.db.iterator();
    try {
      for (;;) {
        const entries = await it.nextv(4096);
        if (entries.length === 0) break;
        for (const [k, v] of entries) {
          const table = k[0];
          if (table === STATE) {
            const ks = toKeyString(k.subarray(1));
            const value = new Uint8Array(v);
            keys.push(ks);
            this.values.set(ks, value);
            leafParts.push(leafHash(k.subarray(1), value));
          } else if (table === UNDO) {
            const h = decodeU64(k, 1);
            for (const [ks, prev] of decodeUndo(v)) this.addUndo(h, ks, prev);
          } else if (table === ROOTS) {
            this.roots.set(decodeU64(k, 1), new Uint8Array(v));
          } else if (table === META) {
            if (bytesEqual(k, META_HEIGHT)) height = decodeU64(v);
            else if (bytesEqual(k, META_APP_HASH)) appHash = new Uint8Array(v);
            else if (bytesEqual(k, META_FORMAT)) format = new Uint8Array(v);
          } else {
            throw new Error(`store: unknown LevelDB table 0x${table.toString(16)}`);
          }
        }
      }
    } finally {
      await it.close();
    }
    if (format !== undefined && !bytesEqual(format, FORMAT_VERSION)) throw new Error("store: unsupported layout version");
    const leaves = new Uint8Array(keys.length * HASH_BYTES);
    for (let i = 0; i < leafParts.length; i++) leaves.set(leafParts[i], i * HASH_BYTES);
    this.tree = MerkleTree.fromLeaves(keys, leaves); // also checks LevelDB's order
    if (height === undefined) {
      if (keys.length > 0 || appHash !== undefined) throw new Error("store: state present but no committed height");
      return;
    }
    if (appHash === undefined) throw new Error("store: committed height without app hash");
    // Integrity check: the state we loaded must hash to the app hash written in the same batch.
    if (!bytesEqual(this.tree.root, appHash)) throw new Error(`store: state does not match app hash at height ${height}`);
    this.height = height;
    this.appHash = appHash;
  }

  private addUndo(height: bigint, key: string, prev: Uint8Array | undefined): void {
    let list = this.undoByKey.get(key);
    if (list === undefined) this.undoByKey.set(key, (list = []));
    list.push({ height, prev });
    let keys = this.undoByHeight.get(height);
    if (keys === undefined) this.undoByHeight.set(height, (keys = []));
    keys.push(key);
  }

  /** Last committed height; 0n before the first commit. */
  get lastHeight(): bigint {
    return this.height;
  }

  /** App hash of the last commit; EMPTY_ROOT before the first commit. */
  get lastAppHash(): Uint8Array {
    return this.appHash.slice();
  }

  /** @internal */
  committedGet(key: string): Uint8Array | undefined {
    return this.values.get(key);
  }

  /** @internal */
  committedKeys(): readonly string[] {
    return this.tree.keys;
  }

  /** Read view of the last committed state; set/delete throw. */
  committed(): KVReader & KVStore {
    return this.view;
  }

  /** The block's staged state: a cache over committed state, created on first use. */
  working(): KVStore {
    this.assertUsable();
    if (this.work === undefined) this.work = new CacheStore(this.view);
    return this.work;
  }

  private assertUsable(): void {
    if (this.closed) throw new Error("store is closed");
    if (this.committing) throw new Error("a commit is in progress");
  }

  private stage(): { tree: MerkleTree; changes: Array<[string, Uint8Array | undefined]> } {
    const work = this.work;
    if (work === undefined) return { tree: this.tree, changes: [] };
    if (this.staged !== undefined && this.staged.revision === work.revision) return this.staged;
    // Keep only real changes: a set to the committed value or a delete of an absent key
    // changes nothing (and needs no history).
    const changes: Array<[string, Uint8Array | undefined]> = [];
    const leafChanges: LeafChange[] = [];
    for (const [k, v] of work.latin1Changes()) {
      const old = this.values.get(k);
      if (v === undefined ? old === undefined : old !== undefined && bytesEqual(old, v)) continue;
      changes.push([k, v]);
      leafChanges.push({ key: k, leaf: v === undefined ? undefined : leafHash(fromKeyString(k), v) });
    }
    const tree = this.tree.apply(leafChanges);
    this.staged = { revision: work.revision, tree, changes };
    return this.staged;
  }

  /** App hash of committed + staged state. */
  workingHash(): Uint8Array {
    if (this.closed) throw new Error("store is closed");
    return this.stage().tree.root.slice();
  }

  /**
   * Persists the staged state as `height` (> lastHeight) in one atomic LevelDB batch: state
   * writes and deletes, undo records and app hash for `height`, pruning of history older than
   * the last keepRecent heights, and the new height and app hash. The in-memory state advances
   * only after the batch is durable. Returns the app hash.
   */
  async commit(height: bigint): Promise<Uint8Array> {
    this.assertUsable();
    if (height <= this.height) throw new RangeError(`commit height ${height} must exceed last height ${this.height}`);
    const { tree, changes } = this.stage();
    // A chained batch: LevelDB applies it as one WriteBatch (one log record), all or nothing.
    const batch = this.db.batch();
    const undo: Array<[string, Uint8Array | undefined]> = [];
    for (const [k, v] of changes) {
      if (v === undefined) batch.del(stateKey(k));
      else batch.put(stateKey(k), v);
      undo.push([k, this.values.get(k)]);
    }
    if (undo.length > 0) batch.put(undoKey(height), encodeUndo(undo));
    // Retained heights after this commit: height-keepRecent+1 … height. An undo record at h
    // answers reads at heights < h, so records at h <= height-keepRecent+1 are no longer needed.
    const keep = BigInt(this.keepRecent);
    const undoCut = height - keep + 1n;
    const rootCut = height - keep;
    const prunedUndo: bigint[] = [];
    for (const [h, keys] of this.undoByHeight) {
      if (h > undoCut) break; // Map iterates in insertion order = ascending height
      prunedUndo.push(h);
      if (keys.length > 0) batch.del(undoKey(h));
    }
    const prunedRoots: bigint[] = [];
    for (const h of this.roots.keys()) {
      if (h > rootCut) break;
      prunedRoots.push(h);
      batch.del(rootsKey(h));
    }
    const root = tree.root;
    batch.put(rootsKey(height), root);
    batch.put(META_FORMAT, FORMAT_VERSION);
    batch.put(META_HEIGHT, encodeU64(height));
    batch.put(META_APP_HASH, root);

    this.committing = true;
    try {
      const writeOptions: { sync: boolean } = { sync: this.sync };
      await batch.write(writeOptions);
    } finally {
      this.committing = false;
    }

    // Durable: advance the in-memory copy to match.
    for (const [k, prev] of undo) this.addUndo(height, k, prev);
    for (const [k, v] of changes) {
      if (v === undefined) this.values.delete(k);
      else this.values.set(k, v);
    }
    for (const h of prunedUndo) {
      for (const k of this.undoByHeight.get(h) ?? []) {
        const list = this.undoByKey.get(k);
        if (list === undefined) continue;
        const i = list.findIndex((r) => r.height === h);
        if (i >= 0) list.splice(i, 1);
        if (list.length === 0) this.undoByKey.delete(k);
      }
      this.undoByHeight.delete(h);
    }
    for (const h of prunedRoots) this.roots.delete(h);
    this.roots.set(height, root);
    this.tree = tree;
    this.height = height;
    this.appHash = root;
    this.work = undefined;
    this.staged = undefined;
    return root.slice();
  }

  /** Drops the staged state. */
  discard(): void {
    this.assertUsable();
    this.work = undefined;
    this.staged = undefined;
  }

  /** Heights whose state getAt() can read, ascending (the last keepRecent commits). */
  retainedHeights(): bigint[] {
    return [...this.roots.keys()];
  }

  /** App hash committed at `height`, if that height is retained. */
  appHashAt(height: bigint): Uint8Array | undefined {
    return this.roots.get(height)?.slice();
  }

  /** Value of `key` as committed at `height`; throws RangeError if the height is not retained. */
  getAt(key: Uint8Array, height: bigint): Uint8Array | undefined {
    if (!this.roots.has(height)) throw new RangeError(`height ${height} is not retained`);
    const k = toKeyString(key);
    // The first change after `height` recorded what the value was at `height`.
    for (const r of this.undoByKey.get(k) ?? []) if (r.height > height) return r.prev;
    return this.values.get(k);
  }

  /**
   * Proof for `key` against lastAppHash: an existence proof if the key is committed, else an
   * absence proof made of the existence proofs of its left and right neighbours (one of them
   * for keys outside the range; none in an empty tree, whose root is EMPTY_ROOT).
   */
  prove(key: Uint8Array): StateProof {
    return proofIn(this.tree, this.values, this.height, key);
  }

  /**
   * Proof for `key` against the app hash committed at `height`, any retained height (light
   * clients ask for height H and check against header H+1, by which time the node may be past
   * H). The tree of that height is rebuilt from the current state and the undo records
   * (O(n log n)), checked against the stored root, and kept for the next query at that height.
   */
  proveAt(key: Uint8Array, height: bigint): StateProof {
    if (height === this.height) return this.prove(key);
    const root = this.roots.get(height);
    if (root === undefined) {
      const kept = this.retainedHeights();
      throw new RangeError(`height ${height} is not retained (retained: ${kept.length > 0 ? `${kept[0]}–${kept[kept.length - 1]}` : "none"})`);
    }
    let snap = this.historical;
    if (snap === undefined || snap.height !== height || snap.atHeight !== this.height) {
      const values = new Map(this.values);
      for (const [k, records] of this.undoByKey) {
        // The first change after `height` recorded the value the key had at `height`.
        const first = records.find((r) => r.height > height);
        if (first === undefined) continue;
        if (first.prev === undefined) values.delete(k);
        else values.set(k, first.prev);
      }
      const keys = [...values.keys()].sort(); // latin1 strings: code-unit order is byte order
      const leaves = new Uint8Array(keys.length * 32);
      keys.forEach((k, i) => leaves.set(leafHash(fromKeyString(k), values.get(k)!), i * 32));
      const tree = MerkleTree.fromLeaves(keys, leaves);
      if (!bytesEqual(tree.root, root)) throw new Error(`store: the state rebuilt for height ${height} does not match its app hash`);
      snap = { height, atHeight: this.height, tree, values };
      this.historical = snap;
    }
    return proofIn(snap.tree, snap.values, height, key);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.committing) throw new Error("a commit is in progress");
    this.closed = true;
    this.work = undefined;
    this.staged = undefined;
    await this.db.close();
  }
}

/** Existence or absence proof of `key` in `tree` (whose leaf values are `values`). */
function proofIn(tree: MerkleTree, values: ReadonlyMap<string, Uint8Array>, height: bigint, key: Uint8Array): StateProof {
  if (key.length === 0) throw new RangeError("cannot prove the empty key");
  const k = toKeyString(key);
  const i = tree.lowerBound(k);
  const existence = (pos: number): ProofMessage["exist"] =>
    existenceProofOf(tree.keyAt(pos), values.get(tree.keys[pos]) ?? new Uint8Array(0), tree.path(pos));
  let msg: ProofMessage;
  let value: Uint8Array | undefined;
  if (i < tree.size && tree.keys[i] === k) {
    value = values.get(k);
    msg = { exist: existence(i) };
  } else {
    msg = {
      nonexist: {
        key: key.slice(),
        left: i > 0 ? existence(i - 1) : undefined,
        right: i < tree.size ? existence(i) : undefined,
      },
    };
  }
  return { value, proof: encodeCommitmentProof(msg), height };
}
