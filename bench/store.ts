/**
 * Store benchmark: ms per workingHash() with 1,000 changed keys over 10k and 100k committed
 * keys, for value updates, random inserts and appends, against a full rebuild of the tree (the
 * O(N) baseline), plus commit() and an in-process tx/s estimate.
 *
 *   npx tsx bench/store.ts
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CacheStore } from "../app/core/store/cache.ts";
import { CommitStore } from "../app/store/commit-store.ts";
import { leafHash, MerkleTree } from "../app/store/merkle.ts";

const te = new TextEncoder();

function makeRng(seed: number): (n: number) => number {
  let s = BigInt(seed);
  return (n: number) => {
    s = (s * 6364136223846793005n + 1442695040888963407n) & ((1n << 64n) - 1n);
    return Number((s >> 33n) % BigInt(n));
  };
}

// Keys: "acct/" + 8 hex digits of a spread-out id, so inserts land at random positions.
const keyOf = (id: number): Uint8Array => te.encode(`acct/${(Math.imul(id, 2654435761) >>> 0).toString(16).padStart(8, "0")}`);
const valueOf = (id: number, v: number): Uint8Array => te.encode(`{"balance":"${v}","seq":${id}}`.padEnd(64, " "));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function ms(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

async function benchSize(n: number, changed: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "r3mes-bench-"));
  const store = await CommitStore.open(dir, { sync: false });
  const w = store.working();
  for (let i = 0; i < n; i++) w.set(keyOf(i), valueOf(i, i));
  let t0 = process.hrtime.bigint();
  store.workingHash();
  const initialBuild = ms(t0);
  t0 = process.hrtime.bigint();
  await store.commit(1n);
  const initialCommit = ms(t0);

  // Baseline: rebuild the whole tree from the key/value pairs (leaf hashes included).
  const keys = store.committed();
  const rebuild: number[] = [];
  for (let r = 0; r < 3; r++) {
    t0 = process.hrtime.bigint();
    const ks: string[] = [];
    const parts: Uint8Array[] = [];
    for (const [k, v] of keys.iterate(new Uint8Array(0))) {
      ks.push(Buffer.from(k).toString("latin1"));
      parts.push(leafHash(k, v));
    }
    const leaves = new Uint8Array(ks.length * 32);
    parts.forEach((p, i) => leaves.set(p, i * 32));
    MerkleTree.fromLeaves(ks, leaves);
    rebuild.push(ms(t0));
  }
  const base = median(rebuild);

  const rnd = makeRng(n);
  let nextId = n;
  const scenarios: Array<[string, () => void]> = [
    ["update existing", () => { for (let i = 0; i < changed; i++) store.working().set(keyOf(rnd(n)), valueOf(i, rnd(1e9))); }],
    ["insert random", () => { for (let i = 0; i < changed; i++) store.working().set(keyOf(nextId++), valueOf(i, 1)); }],
    ["append (end of key space)", () => { for (let i = 0; i < changed; i++) store.working().set(te.encode(`zz/${String(nextId++).padStart(10, "0")}`), valueOf(i, 1)); }],
    ["90% update + 10% insert", () => {
      for (let i = 0; i < changed; i++) store.working().set(i % 10 === 0 ? keyOf(nextId++) : keyOf(rnd(n)), valueOf(i, rnd(1e9)));
    }],
  ];
  console.log(`\n${n} keys, ${changed} changed keys per block (median of 7)`);
  console.log(`  initial build ${initialBuild.toFixed(1)} ms, initial commit ${initialCommit.toFixed(1)} ms`);
  console.log(`  full rebuild (baseline)          ${base.toFixed(2)} ms`);
  for (const [name, stage] of scenarios) {
    const times: number[] = [];
    for (let r = 0; r < 7; r++) {
      stage();
      t0 = process.hrtime.bigint();
      store.workingHash();
      times.push(ms(t0));
      store.discard();
    }
    const m = median(times);
    console.log(`  workingHash ${name.padEnd(26)} ${m.toFixed(2).padStart(7)} ms   (${(base / m).toFixed(1)}x faster than rebuild)`);
  }
  const commits: number[] = [];
  for (let r = 0; r < 5; r++) {
    for (let i = 0; i < changed; i++) store.working().set(keyOf(rnd(n)), valueOf(i, rnd(1e9)));
    store.workingHash();
    t0 = process.hrtime.bigint();
    await store.commit(BigInt(r + 2));
    commits.push(ms(t0));
  }
  console.log(`  commit (1,000 updates, hash already computed, sync off)  ${median(commits).toFixed(2)} ms`);

  // Store-side cost of a block of txs: each tx reads 2 keys and writes 2 through its own cache.
  const txs = 3000;
  t0 = process.hrtime.bigint();
  for (let i = 0; i < txs; i++) {
    const tx = new CacheStore(store.working());
    const a = keyOf(rnd(n));
    const b = keyOf(rnd(n));
    const va = tx.get(a);
    const vb = tx.get(b);
    tx.set(a, va ?? valueOf(i, 0));
    tx.set(b, vb ?? valueOf(i, 1));
    tx.write();
  }
  const exec = ms(t0);
  t0 = process.hrtime.bigint();
  store.workingHash();
  const hashT = ms(t0);
  t0 = process.hrtime.bigint();
  await store.commit(100n);
  const commitT = ms(t0);
  const total = exec + hashT + commitT;
  console.log(
    `  block of ${txs} txs (2 reads + 2 writes each): exec ${exec.toFixed(1)} + hash ${hashT.toFixed(1)} + commit ${commitT.toFixed(1)} ms` +
      ` = ${Math.round((txs / total) * 1000)} tx/s (store only)`,
  );
  await store.close();
  t0 = process.hrtime.bigint();
  const reopened = await CommitStore.open(dir, { sync: false });
  console.log(`  reopen (load + rebuild + verify root) ${ms(t0).toFixed(0)} ms`);
  await reopened.close();
  rmSync(dir, { recursive: true, force: true });
}

// Calibration: machine speed and load vary; these make the numbers comparable across runs.
{
  const { innerHashInto, sha256 } = await import("../app/store/hash.ts");
  const buf = new Uint8Array(96);
  const rounds = 200_000;
  let t0 = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) innerHashInto(buf, 64, buf, 0, buf, 32);
  const inner = ms(t0);
  const msg = new Uint8Array(65);
  t0 = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) sha256(msg);
  const native = ms(t0);
  const os = await import("node:os");
  console.log(
    `calibration: inner hash ${((inner * 1000) / rounds).toFixed(2)} µs (JS, 65 B), node:crypto hash() ${((native * 1000) / rounds).toFixed(2)} µs (65 B); ` +
      `${os.cpus().length} cpus, load average ${os.loadavg()[0].toFixed(1)}`,
  );
}

await benchSize(10_000, 1_000);
await benchSize(100_000, 1_000);
