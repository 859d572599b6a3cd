// Proofs from CommitStore.prove() checked by a third-party verifier: @confio/ics23's
// verifyMembership / verifyNonMembership with tendermintSpec (directly, and via verifyProof).
import t from "tap";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ics23, tendermintSpec, verifyMembership, verifyNonMembership } from "@confio/ics23";
import { CommitStore } from "../../app/store/commit-store.ts";
import { EMPTY_ROOT } from "../../app/store/merkle.ts";
import { verifyProof } from "../../app/store/proof.ts";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const latin1 = (b: Uint8Array): string => Buffer.from(b).toString("latin1");
const bytes = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, "latin1"));

function makeRng(seed: number): (n: number) => number {
  let s = BigInt(seed);
  return (n: number) => {
    s = (s * 6364136223846793005n + 1442695040888963407n) & ((1n << 64n) - 1n);
    return Number((s >> 33n) % BigInt(n));
  };
}

async function withStore(fn: (s: CommitStore) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "r3mes-proof-"));
  const s = await CommitStore.open(dir, { sync: false });
  try {
    await fn(s);
  } finally {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Both our wrapper and a direct @confio/ics23 call must agree. */
function check(root: Uint8Array, key: Uint8Array, value: Uint8Array | undefined, proof: Uint8Array): boolean {
  const ours = verifyProof(root, key, value, proof);
  const msg = ics23.CommitmentProof.decode(proof);
  const direct =
    value === undefined
      ? verifyNonMembership(msg, tendermintSpec, root, key)
      : verifyMembership(msg, tendermintSpec, root, key, value);
  if (ours !== direct) throw new Error(`verifyProof disagrees with @confio/ics23 for ${latin1(key)}`);
  return ours;
}

t.test("empty tree: absence proof holds only against EMPTY_ROOT", async (t) => {
  await withStore(async (s) => {
    t.equal(Buffer.from(s.lastAppHash).toString("hex"), Buffer.from(EMPTY_ROOT).toString("hex"));
    const p = s.prove(enc("anything"));
    t.equal(p.value, undefined);
    t.equal(p.height, 0n);
    t.ok(verifyProof(s.lastAppHash, enc("anything"), undefined, p.proof));
    t.notOk(verifyProof(s.lastAppHash, enc("other"), undefined, p.proof), "bound to its key");
    t.notOk(verifyProof(new Uint8Array(32), enc("anything"), undefined, p.proof), "wrong root");
    t.notOk(verifyProof(s.lastAppHash, enc("anything"), enc("v"), p.proof), "not a membership proof");
    await s.commit(1n); // committing nothing keeps the empty root
    t.ok(verifyProof(s.lastAppHash, enc("x"), undefined, s.prove(enc("x")).proof));
  });
});

t.test("positions: single key, before first, between, after last", async (t) => {
  await withStore(async (s) => {
    s.working().set(enc("m"), enc("middle"));
    await s.commit(1n);
    let root = s.lastAppHash;
    const one = s.prove(enc("m"));
    t.same(one.value, enc("middle"));
    t.ok(check(root, enc("m"), enc("middle"), one.proof), "single-key inclusion");
    t.ok(check(root, enc("a"), undefined, s.prove(enc("a")).proof), "single-key: before");
    t.ok(check(root, enc("z"), undefined, s.prove(enc("z")).proof), "single-key: after");

    const w = s.working();
    for (const k of ["c", "e", "g", "i", "k"]) w.set(enc(k), enc("v" + k));
    await s.commit(2n);
    root = s.lastAppHash;
    for (const [k, where] of [
      ["a", "before first"],
      ["d", "between"],
      ["f", "between"],
      ["j", "between"],
      ["l", "between (before m)"],
      ["mm", "between, extends a key"],
      ["z", "after last"],
      ["\x00", "lowest byte"],
      ["\xff\xff", "highest bytes"],
    ] as const) {
      const p = s.prove(bytes(k));
      t.equal(p.value, undefined);
      t.ok(check(root, bytes(k), undefined, p.proof), `absence ${where}`);
      t.notOk(check(root, bytes(k), enc("x"), p.proof), `absence proof is not membership (${where})`);
    }
    const d = s.prove(enc("d")).proof;
    t.notOk(check(root, enc("h"), undefined, d), "absence proof for d does not cover h");
    t.notOk(check(root, enc("e"), undefined, s.prove(enc("e")).proof), "present key has no absence proof");
  });
});

t.test("forgeries fail", async (t) => {
  await withStore(async (s) => {
    const w = s.working();
    for (let i = 0; i < 20; i++) w.set(enc(`key${i}`), enc(`value${i}`));
    await s.commit(7n);
    const root = s.lastAppHash;
    const p = s.prove(enc("key5"));
    t.equal(p.height, 7n);
    t.ok(check(root, enc("key5"), enc("value5"), p.proof));
    t.notOk(check(root, enc("key5"), enc("value6"), p.proof), "forged value");
    t.notOk(check(root, enc("key6"), enc("value5"), p.proof), "proof used for another key");
    t.notOk(check(root, enc("key5"), undefined, p.proof), "inclusion proof is not absence");
    const wrong = root.slice();
    wrong[0] ^= 1;
    t.notOk(check(wrong, enc("key5"), enc("value5"), p.proof), "wrong root");
    const absent = s.prove(enc("key55"));
    t.notOk(check(wrong, enc("key55"), undefined, absent.proof), "absence against wrong root");
    // Flip the low bit of each byte in turn. The protobuf decoder ignores a field's wire type,
    // so flipping a tag byte can decode to the very same proof; every other tamper must fail.
    let forged = 0;
    for (let i = 0; i < p.proof.length; i++) {
      const bad = p.proof.slice();
      bad[i] ^= 0x01;
      if (!verifyProof(root, enc("key5"), enc("value5"), bad)) continue;
      const same = ics23.CommitmentProof.encode(ics23.CommitmentProof.decode(bad)).finish();
      if (Buffer.compare(Buffer.from(same), Buffer.from(p.proof)) !== 0) forged++;
    }
    t.equal(forged, 0, "no single-bit tamper that changes the proof verifies");
    t.notOk(verifyProof(root, enc("key5"), enc("value5"), Uint8Array.of(1, 2, 3)), "garbage proof");
    // An old proof does not verify against the next app hash once the value changes.
    s.working().set(enc("key5"), enc("changed"));
    await s.commit(8n);
    t.notOk(check(s.lastAppHash, enc("key5"), enc("value5"), p.proof), "stale proof");
    t.ok(check(s.lastAppHash, enc("key5"), enc("changed"), s.prove(enc("key5")).proof));
  });
});

t.test("randomized: 1..300 keys, every size, seeded PRNG", async (t) => {
  const rnd = makeRng(2024);
  await withStore(async (s) => {
    const present = new Map<string, Uint8Array>();
    let bad = 0;
    let checked = 0;
    let height = 0n;
    while (present.size < 300) {
      // add one new random key (random length 1..5, small alphabet so prefixes collide)
      let k: string;
      do {
        const len = 1 + rnd(5);
        k = latin1(Uint8Array.from({ length: len }, () => [0x00, 0x41, 0x42, 0x7f, 0x80, 0xff][rnd(6)]));
      } while (present.has(k));
      const v = Uint8Array.from({ length: 1 + rnd(40) }, () => rnd(256));
      present.set(k, v);
      s.working().set(bytes(k), v);
      // occasionally also rewrite an existing value
      if (rnd(4) === 0) {
        const ks = [...present.keys()];
        const kk = ks[rnd(ks.length)];
        const nv = Uint8Array.of(rnd(256), 1);
        present.set(kk, nv);
        s.working().set(bytes(kk), nv);
      }
      height++;
      const root = await s.commit(height);
      const sorted = [...present.keys()].sort();
      // up to 12 present keys (always first and last) and 12 absent probes
      const sample = new Set<string>([sorted[0], sorted[sorted.length - 1]]);
      while (sample.size < Math.min(12, sorted.length)) sample.add(sorted[rnd(sorted.length)]);
      for (const key of sample) {
        const p = s.prove(bytes(key));
        checked++;
        if (!p.value || !check(root, bytes(key), present.get(key) as Uint8Array, p.proof)) bad++;
      }
      for (let i = 0; i < 12; i++) {
        const probe = latin1(Uint8Array.from({ length: 1 + rnd(6) }, () => [0x00, 0x41, 0x42, 0x7f, 0x80, 0xff, 0x01][rnd(7)]));
        if (present.has(probe)) continue;
        const p = s.prove(bytes(probe));
        checked++;
        if (p.value !== undefined || !check(root, bytes(probe), undefined, p.proof)) bad++;
      }
    }
    t.equal(bad, 0, `all ${checked} proofs verify`);
    t.ok(checked > 5000);
  });
});

t.test("historical proofs: every retained height proves against its own app hash", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "r3mes-proof-"));
  const s = await CommitStore.open(dir, { sync: false, keepRecent: 4 });
  try {
    const rng = makeRng(11);
    const universe = Array.from({ length: 40 }, (_, i) => `k${String(i).padStart(2, "0")}`);
    const roots = new Map<bigint, Uint8Array>();
    const states = new Map<bigint, Map<string, string>>();
    let state = new Map<string, string>();
    for (let h = 1n; h <= 7n; h++) {
      const w = s.working();
      for (let n = 0; n < 12; n++) {
        const k = universe[rng(universe.length)]!;
        if (rng(3) === 0) {
          w.delete(enc(k));
          state.delete(k);
        } else {
          const v = `v${h}-${n}`;
          w.set(enc(k), enc(v));
          state.set(k, v);
        }
      }
      await s.commit(h);
      roots.set(h, s.lastAppHash);
      states.set(h, new Map(state));
      state = new Map(state);
    }
    t.same(s.retainedHeights(), [4n, 5n, 6n, 7n], "keepRecent 4");
    for (const h of [4n, 5n, 6n, 7n]) {
      t.same(s.appHashAt(h), roots.get(h), `app hash of ${h} kept`);
      let ok = 0;
      for (const k of [...universe, "a-before", "zz-after"]) {
        const p = s.proveAt(enc(k), h);
        const want = states.get(h)!.get(k);
        if (want === undefined ? p.value !== undefined : p.value === undefined || latin1(p.value) !== want) {
          t.fail(`height ${h}, key ${k}: value ${p.value && latin1(p.value)}, expected ${want}`);
          continue;
        }
        if (p.height !== h) t.fail(`proof height ${p.height}, expected ${h}`);
        if (check(roots.get(h)!, enc(k), want === undefined ? undefined : enc(want), p.proof)) ok++;
        else t.fail(`height ${h}, key ${k}: proof does not verify against the app hash of ${h}`);
      }
      t.equal(ok, universe.length + 2, `height ${h}: every key's inclusion or absence proof verifies`);
    }
    // A key whose value changed after height 4: its proof at 4 holds against 4's hash only.
    const changed = universe.find((k) => states.get(4n)!.get(k) !== states.get(7n)!.get(k) && states.get(4n)!.has(k))!;
    const old = s.proveAt(enc(changed), 4n);
    t.ok(check(roots.get(4n)!, enc(changed), old.value, old.proof), "the old value at height 4");
    t.notOk(check(roots.get(7n)!, enc(changed), old.value, old.proof), "does not verify against height 7");
    t.throws(() => s.proveAt(enc("k00"), 3n), /height 3 is not retained \(retained: 4–7\)/, "pruned height: a clear error");
    t.throws(() => s.proveAt(enc("k00"), 8n), /height 8 is not retained/, "future height");
  } finally {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
