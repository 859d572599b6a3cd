import t from "tap";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Level } from "level";
import { CommitStore } from "../../app/store/commit-store.ts";
import { EMPTY_ROOT } from "../../app/store/merkle.ts";
import { verifyProof } from "../../app/store/proof.ts";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : new TextDecoder().decode(b));
const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), "r3mes-commit-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function dump(s: CommitStore): Array<[string, string]> {
  return [...s.committed().iterate(new Uint8Array(0))].map(([k, v]) => [dec(k) as string, dec(v) as string]);
}

t.test("fresh store: height 0, empty root, read-only committed view", async (t) => {
  const s = await CommitStore.open(tempDir(t), { sync: false });
  t.equal(s.lastHeight, 0n);
  t.equal(hex(s.lastAppHash), hex(EMPTY_ROOT));
  t.equal(hex(s.workingHash()), hex(EMPTY_ROOT));
  t.throws(() => s.committed().set(enc("a"), enc("b")), /read-only/);
  t.throws(() => s.committed().delete(enc("a")), /read-only/);
  await s.close();
});

t.test("commit and reopen: same height, root and state", async (t) => {
  const dir = tempDir(t);
  let s = await CommitStore.open(dir, { sync: false });
  const w = s.working();
  for (let i = 0; i < 500; i++) w.set(enc(`acct/${String(i).padStart(4, "0")}`), enc(`bal${i * 7}`));
  const staged = s.workingHash();
  t.equal(s.committed().get(enc("acct/0001")), undefined, "staged writes are not committed yet");
  const root = await s.commit(1n);
  t.equal(hex(root), hex(staged), "commit returns the working hash");
  t.equal(hex(s.lastAppHash), hex(root));
  t.equal(dec(s.committed().get(enc("acct/0001"))), "bal7");
  s.working().delete(enc("acct/0002"));
  s.working().set(enc("acct/0003"), enc("changed"));
  const root2 = await s.commit(2n);
  const before = dump(s);
  await s.close();

  s = await CommitStore.open(dir, { sync: false });
  t.equal(s.lastHeight, 2n);
  t.equal(hex(s.lastAppHash), hex(root2));
  t.same(dump(s), before);
  t.equal(s.committed().has(enc("acct/0002")), false);
  t.equal(dec(s.committed().get(enc("acct/0003"))), "changed");
  t.same(
    [...s.committed().iterate(enc("acct/049"))].map(([k]) => dec(k)),
    Array.from({ length: 10 }, (_, i) => `acct/049${i}`),
    "prefix iteration in order",
  );
  await s.close();
});

t.test("discard: staged writes vanish; commit height must increase", async (t) => {
  const s = await CommitStore.open(tempDir(t), { sync: false });
  s.working().set(enc("a"), enc("1"));
  await s.commit(5n);
  const root = s.lastAppHash;
  s.working().set(enc("a"), enc("2"));
  s.working().set(enc("b"), enc("3"));
  t.not(hex(s.workingHash()), hex(root));
  s.discard();
  t.equal(dec(s.working().get(enc("a"))), "1", "new working store sees committed state");
  t.equal(s.working().has(enc("b")), false);
  t.equal(hex(s.workingHash()), hex(root));
  await t.rejects(s.commit(5n), RangeError);
  await t.rejects(s.commit(4n), RangeError);
  const same = await s.commit(6n);
  t.equal(hex(same), hex(root), "empty block keeps the root");
  t.equal(s.lastHeight, 6n);
  await s.close();
});

t.test("working store is a cache: tx caches over it, failed tx dropped", async (t) => {
  const { CacheStore } = await import("../../app/core/store/cache.ts");
  const s = await CommitStore.open(tempDir(t), { sync: false });
  const ok = new CacheStore(s.working());
  ok.set(enc("x"), enc("1"));
  ok.write();
  const failed = new CacheStore(s.working());
  failed.set(enc("y"), enc("2"));
  await s.commit(1n);
  t.equal(dec(s.committed().get(enc("x"))), "1");
  t.equal(s.committed().has(enc("y")), false);
  await s.close();
});

t.test("the root changes when any single value changes, and comes back when reverted", async (t) => {
  const s = await CommitStore.open(tempDir(t), { sync: false });
  const keys = Array.from({ length: 37 }, (_, i) => enc(`k${i}`));
  for (const [i, k] of keys.entries()) s.working().set(k, enc(`v${i}`));
  const base = await s.commit(1n);
  const seen = new Set<string>([hex(base)]);
  for (const [i, k] of keys.entries()) {
    s.working().set(k, enc(`v${i}!`));
    const h = hex(s.workingHash());
    t.notOk(seen.has(h), `changing k${i} changes the root`);
    seen.add(h);
    s.working().set(k, enc(`v${i}`));
    t.equal(hex(s.workingHash()), hex(base), `restoring k${i} restores the root`);
    s.working().delete(k);
    t.not(hex(s.workingHash()), hex(base), `deleting k${i} changes the root`);
    s.discard();
  }
  s.working().set(enc("k0"), Uint8Array.of(0x76, 0x30, 0x00));
  t.not(hex(s.workingHash()), hex(base), "a trailing zero byte matters");
  await s.close();
});

t.test("workingHash is cached until the next write", async (t) => {
  const s = await CommitStore.open(tempDir(t), { sync: false });
  const w = s.working();
  for (let i = 0; i < 2000; i++) w.set(enc(`k${i}`), enc(`v${i}`));
  const h1 = s.workingHash();
  const h2 = s.workingHash();
  t.equal(hex(h1), hex(h2));
  w.set(enc("k5"), enc("other"));
  t.not(hex(s.workingHash()), hex(h1));
  h1[0] ^= 0xff; // the caller's copy is not the cache
  w.set(enc("k5"), enc("v5"));
  t.not(hex(s.workingHash()), hex(h1));
  await s.close();
});

t.test("determinism: same final state, any write order and batching → same root", async (t) => {
  const a = await CommitStore.open(tempDir(t), { sync: false });
  const b = await CommitStore.open(tempDir(t), { sync: false });
  for (let i = 0; i < 300; i++) a.working().set(enc(`k${i}`), enc(`v${i}`));
  await a.commit(1n);
  for (let i = 0; i < 300; i += 3) a.working().delete(enc(`k${i}`));
  await a.commit(2n);
  for (let i = 299; i >= 0; i--) if (i % 3 !== 0) b.working().set(enc(`k${i}`), enc(`v${i}`));
  b.working().set(enc("junk"), enc("x"));
  b.working().delete(enc("junk"));
  await b.commit(2n);
  t.equal(hex(a.lastAppHash), hex(b.lastAppHash));
  await a.close();
  await b.close();
});

t.test("history: getAt over the last N heights, pruned in the same batch", async (t) => {
  const dir = tempDir(t);
  let s = await CommitStore.open(dir, { sync: false, keepRecent: 3 });
  // height h: k = "v{h}" on odd heights, deleted on even heights; "stable" written once at 1.
  const roots: Uint8Array[] = [];
  for (let h = 1n; h <= 6n; h++) {
    if (h % 2n === 1n) s.working().set(enc("k"), enc(`v${h}`));
    else s.working().delete(enc("k"));
    if (h === 1n) s.working().set(enc("stable"), enc("s"));
    roots[Number(h)] = await s.commit(h);
  }
  const check = (st: CommitStore): void => {
    t.same(st.retainedHeights(), [4n, 5n, 6n]);
    t.equal(st.getAt(enc("k"), 4n), undefined);
    t.equal(dec(st.getAt(enc("k"), 5n)), "v5");
    t.equal(st.getAt(enc("k"), 6n), undefined);
    t.equal(dec(st.getAt(enc("stable"), 4n)), "s");
    t.equal(st.getAt(enc("never"), 5n), undefined);
    t.throws(() => st.getAt(enc("k"), 3n), RangeError);
    t.throws(() => st.getAt(enc("k"), 7n), RangeError);
    t.equal(hex(st.appHashAt(5n) as Uint8Array), hex(roots[5]));
    t.equal(st.appHashAt(2n), undefined);
  };
  check(s);
  await s.close();
  s = await CommitStore.open(dir, { sync: false, keepRecent: 3 });
  check(s);
  await s.close();

  // LevelDB holds no history older than needed: undo records only for heights 5 and 6.
  const raw = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: "view", valueEncoding: "view" });
  const undoHeights = new Set<number>();
  const rootHeights: number[] = [];
  for await (const [k] of raw.iterator()) {
    if (k[0] === 0x02) undoHeights.add(Number(Buffer.from(k.subarray(1, 9)).readBigUInt64BE()));
    if (k[0] === 0x03) rootHeights.push(Number(Buffer.from(k.subarray(1, 9)).readBigUInt64BE()));
  }
  await raw.close();
  t.same([...undoHeights].sort(), [5, 6]);
  t.same(rootHeights, [4, 5, 6]);

  // Default N is 100; shrinking N on reopen prunes on the next commit.
  s = await CommitStore.open(dir, { sync: false, keepRecent: 1 });
  s.working().set(enc("k"), enc("v7"));
  await s.commit(7n);
  t.same(s.retainedHeights(), [7n]);
  t.equal(dec(s.getAt(enc("k"), 7n)), "v7");
  await s.close();
});

t.test("proofs are against the last commit, not staged state", async (t) => {
  const s = await CommitStore.open(tempDir(t), { sync: false });
  s.working().set(enc("a"), enc("1"));
  await s.commit(1n);
  s.working().set(enc("a"), enc("2"));
  const p = s.prove(enc("a"));
  t.equal(dec(p.value), "1");
  t.equal(p.height, 1n);
  t.ok(verifyProof(s.lastAppHash, enc("a"), enc("1"), p.proof));
  await s.close();
});

t.test("open refuses state that does not hash to the stored app hash", async (t) => {
  const dir = tempDir(t);
  const s = await CommitStore.open(dir, { sync: false });
  s.working().set(enc("a"), enc("1"));
  await s.commit(1n);
  await s.close();
  const raw = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: "view", valueEncoding: "view" });
  await raw.put(Uint8Array.of(0x01, 0x61), enc("tampered"));
  await raw.close();
  await t.rejects(CommitStore.open(dir), /does not match app hash/);
});

// ---- kill -9 -------------------------------------------------------------------------------
// A child process commits big blocks in a loop (sync on, so commits take a while) and is
// SIGKILLed at a random moment, usually with a commit() promise pending. Reopening must give a
// consistent store at the last height the child saw complete, or the one after it, with exactly
// the state that the deterministic block sequence defines for that height.

const KEYS_PER_BLOCK = 1500;

/** The writes of block h (deterministic): returns [key, value | undefined]. */
function blockOps(h: number): Array<[string, string | undefined]> {
  const ops: Array<[string, string | undefined]> = [];
  for (let i = 0; i < KEYS_PER_BLOCK; i++) {
    const k = `key${((h * 7919 + i * 104729) % 5000).toString().padStart(5, "0")}`;
    ops.push([k, (h + i) % 5 === 0 ? undefined : `h${h}i${i}`.padEnd(96, ".")]);
  }
  return ops;
}

const CHILD = `
import { CommitStore } from ${JSON.stringify(resolve("app/store/commit-store.ts"))};
const te = new TextEncoder();
${blockOps.toString()}
const KEYS_PER_BLOCK = ${KEYS_PER_BLOCK};
const s = await CommitStore.open(process.argv[1]);
process.stdout.write("open " + s.lastHeight + "\\n");
for (let h = Number(s.lastHeight) + 1; ; h++) {
  const w = s.working();
  for (const [k, v] of blockOps(h)) v === undefined ? w.delete(te.encode(k)) : w.set(te.encode(k), te.encode(v));
  await s.commit(BigInt(h));
  process.stdout.write("committed " + h + "\\n");
}
`;

function runChildAndKill(dir: string, killAfterMs: number): Promise<{ opened: number; lastSeen: number }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", CHILD, dir], {
      cwd: resolve("."),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    let timer: NodeJS.Timeout | undefined;
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      if (timer === undefined && out.includes("committed")) {
        timer = setTimeout(() => child.kill("SIGKILL"), killAfterMs);
      }
    });
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("exit", (code, signal) => {
      if (signal !== "SIGKILL") return reject(new Error(`child exited ${code} ${signal}: ${err}`));
      const opened = Number(/open (\d+)/.exec(out)?.[1] ?? NaN);
      const all = [...out.matchAll(/committed (\d+)/g)].map((m) => Number(m[1]));
      resolvePromise({ opened, lastSeen: all.length ? all[all.length - 1] : opened });
    });
  });
}

t.test("kill -9 at random moments leaves the last or the next commit", async (t) => {
  const dir = tempDir(t);
  const model = new Map<string, string>();
  let modelHeight = 0;
  const advanceModel = (to: number): void => {
    for (; modelHeight < to; ) {
      modelHeight++;
      for (const [k, v] of blockOps(modelHeight)) v === undefined ? model.delete(k) : model.set(k, v);
    }
  };
  let seed = 77;
  for (let round = 0; round < 6; round++) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    const killAfter = 20 + (seed % 400);
    const { opened, lastSeen } = await runChildAndKill(dir, killAfter);
    t.equal(opened, modelHeight, `round ${round}: child resumed at the last height`);
    const s = await CommitStore.open(dir, { sync: false }); // open itself checks state against the app hash
    const h = Number(s.lastHeight);
    t.ok(h === lastSeen || h === lastSeen + 1, `round ${round}: height ${h} is last seen ${lastSeen} or the next`);
    advanceModel(h);
    const expected = [...model.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1));
    t.same(dump(s), expected, `round ${round}: state is exactly block ${h}'s`);
    await s.close();
  }
});
