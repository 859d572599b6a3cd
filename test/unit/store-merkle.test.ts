// The incremental tree against a from-scratch reference of the spec (README "Tree"), and the
// fast inner-node hash against node:crypto, bit for bit.
import t from "tap";
import { createHash } from "node:crypto";
import { innerHash, innerHashReference } from "../../app/store/hash.ts";
import { EMPTY_ROOT, leafHash, MerkleTree, type LeafChange } from "../../app/store/merkle.ts";

const sha = (...parts: Uint8Array[]): Uint8Array => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};
const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

function varint(n: number): Uint8Array {
  const out: number[] = [];
  while (n >= 128) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Uint8Array.from(out);
}

/** Spec, written independently: Tendermint simple tree over sorted (key, value). */
function referenceRoot(entries: Array<[Uint8Array, Uint8Array]>): Uint8Array {
  const leaves = entries.map(([k, v]) => sha(Uint8Array.of(0), varint(k.length), k, varint(32), sha(v)));
  const rec = (xs: Uint8Array[]): Uint8Array => {
    if (xs.length === 0) return sha();
    if (xs.length === 1) return xs[0];
    let k = 1;
    while (k * 2 < xs.length) k *= 2;
    return sha(Uint8Array.of(1), rec(xs.slice(0, k)), rec(xs.slice(k)));
  };
  return rec(leaves);
}

function makeRng(seed: number): (n: number) => number {
  let s = BigInt(seed);
  return (n: number) => {
    s = (s * 6364136223846793005n + 1442695040888963407n) & ((1n << 64n) - 1n);
    return Number((s >> 33n) % BigInt(n));
  };
}

const latin1 = (b: Uint8Array): string => Buffer.from(b).toString("latin1");

t.test("fast inner hash equals node:crypto", async (t) => {
  const rnd = makeRng(7);
  let same = 0;
  for (let i = 0; i < 2000; i++) {
    const l = Uint8Array.from({ length: 32 }, () => rnd(256));
    const r = Uint8Array.from({ length: 32 }, () => rnd(256));
    if (i === 0) l.fill(0xff), r.fill(0xff);
    if (i === 1) l.fill(0), r.fill(0);
    if (hex(innerHash(l, r)) === hex(innerHashReference(l, r))) same++;
  }
  t.equal(same, 2000);
  t.equal(hex(innerHashReference(new Uint8Array(32), new Uint8Array(32))), hex(sha(new Uint8Array(65).fill(1, 0, 1))));
});

t.test("empty tree root is sha256('')", async (t) => {
  t.equal(hex(EMPTY_ROOT), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  t.equal(hex(MerkleTree.empty().root), hex(EMPTY_ROOT));
});

t.test("fromLeaves equals the reference for n = 0..70", async (t) => {
  for (let n = 0; n <= 70; n++) {
    const entries: Array<[Uint8Array, Uint8Array]> = [];
    for (let i = 0; i < n; i++) entries.push([Uint8Array.of(0x10, i), Uint8Array.of(i, i, 7)]);
    const leaves = new Uint8Array(n * 32);
    entries.forEach(([k, v], i) => leaves.set(leafHash(k, v), i * 32));
    const tree = MerkleTree.fromLeaves(entries.map(([k]) => latin1(k)), leaves);
    t.equal(hex(tree.root), hex(referenceRoot(entries)), `n=${n}`);
  }
});

t.test("leaf hash uses a multi-byte varint for long keys", async (t) => {
  const k = new Uint8Array(300).fill(0x61);
  const v = Uint8Array.of(1);
  t.equal(hex(leafHash(k, v)), hex(sha(Uint8Array.of(0), Uint8Array.of(0xac, 0x02), k, Uint8Array.of(32), sha(v))));
});

t.test("incremental apply equals a rebuild from scratch (random batches)", async (t) => {
  const rnd = makeRng(99);
  const model = new Map<string, Uint8Array>();
  let tree = MerkleTree.empty();
  for (let round = 0; round < 60; round++) {
    const batch = new Map<string, Uint8Array | undefined>();
    const size = 1 + rnd(round % 3 === 0 ? 200 : 12);
    const valueOnly = round % 4 === 1; // exercise the no-structural-change path
    const existing = [...model.keys()];
    for (let i = 0; i < size; i++) {
      if (valueOnly && existing.length > 0) {
        batch.set(existing[rnd(existing.length)], Uint8Array.of(round, i, 1));
        continue;
      }
      const key = latin1(Uint8Array.of(rnd(4), rnd(256), ...(rnd(3) === 0 ? [rnd(256)] : [])));
      batch.set(key, rnd(4) === 0 ? undefined : Uint8Array.of(round, i));
    }
    const changes: LeafChange[] = [...batch.keys()].sort().map((key) => {
      const v = batch.get(key);
      return { key, leaf: v === undefined ? undefined : leafHash(Uint8Array.from(Buffer.from(key, "latin1")), v) };
    });
    const before = tree.root;
    tree = tree.apply(changes);
    for (const [k, v] of batch) {
      if (v === undefined) model.delete(k);
      else model.set(k, v);
    }
    const sorted = [...model.keys()].sort();
    t.same(tree.keys, sorted, `round ${round} keys`);
    const expected = referenceRoot(sorted.map((k) => [Uint8Array.from(Buffer.from(k, "latin1")), model.get(k) as Uint8Array]));
    t.equal(hex(tree.root), hex(expected), `round ${round} root (n=${sorted.length})`);
    t.ok(before.length === 32, "old snapshot untouched");
  }
});

t.test("snapshots are immutable: apply leaves the old tree intact", async (t) => {
  const keys = ["a", "b", "c", "d", "e"];
  const leaves = new Uint8Array(keys.length * 32);
  keys.forEach((k, i) => leaves.set(leafHash(Buffer.from(k), Uint8Array.of(i)), i * 32));
  const t0 = MerkleTree.fromLeaves(keys, leaves);
  const r0 = hex(t0.root);
  const path0 = t0.path(3).map((s) => hex(s.prefix) + hex(s.suffix));
  t0.apply([{ key: "b", leaf: leafHash(Buffer.from("b"), Uint8Array.of(9)) }]);
  t0.apply([{ key: "bb", leaf: leafHash(Buffer.from("bb"), Uint8Array.of(9)) }]);
  t.equal(hex(t0.root), r0);
  t.same(t0.path(3).map((s) => hex(s.prefix) + hex(s.suffix)), path0);
  t.equal(t0.apply([]), t0);
  t.equal(t0.apply([{ key: "zz", leaf: undefined }]), t0, "delete of absent key is a no-op");
  t.throws(() => t0.apply([{ key: "b", leaf: undefined }, { key: "a", leaf: undefined }]), "unsorted changes rejected");
});
