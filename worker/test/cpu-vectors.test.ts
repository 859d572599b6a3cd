// Stored per-op test vectors (test/vectors/*.json, listed in SPEC.md §9): the fast kernels and
// the independent BigInt reference must both reproduce every stored output and its SHA-256.
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { type Case, runKernel } from './vectors/cases.ts';
import { vectorHash } from './vectors/hash.ts';
import { runReference } from './vectors/run-reference.ts';

const dir = new URL('./vectors/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.json') && f !== 'train-step.json').sort();

t.ok(files.length >= 9, 'one vector file per op');
for (const f of files) {
  const c = JSON.parse(readFileSync(new URL(f, dir), 'utf8')) as Case & { sha256: Record<string, string> };
  t.test(c.name, async (t) => {
    const fast = runKernel(c);
    const ref = runReference(c);
    for (const [k, want] of Object.entries(c.outputs)) {
      t.strictSame(fast[k], want, `${k}: kernel = stored`);
      t.strictSame(ref[k], want, `${k}: BigInt reference = stored`);
      t.equal(vectorHash(c.op, k, fast[k]), c.sha256[k], `${k}: sha256`);
    }
  });
}
