// Every op's fast kernel against the naive BigInt reference on fresh random inputs (the stored
// vectors use one seed; these use others), including the edge rows each case builds in.
import t from 'tap';
import { caseInputs, runKernel } from './vectors/cases.ts';
import { runReference } from './vectors/run-reference.ts';

for (const seed of [1, 2, 3, 4, 5, 6]) {
  t.test(`seed ${seed}`, async (t) => {
    for (const c of caseInputs(seed)) {
      const fast = runKernel(c);
      const ref = runReference(c);
      for (const k of Object.keys(fast)) t.strictSame(fast[k], ref[k], `${c.op}.${k}`);
    }
  });
}
