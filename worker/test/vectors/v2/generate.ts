// Writes ops.json (SPEC v2 op vectors, §9) from the CPU kernels. Run once after a reviewed
// change of the v2 definition: `npx tsx worker/test/vectors/v2/generate.ts`.
import { writeFileSync } from 'node:fs';
import { v2CaseHashes } from './cases.ts';
writeFileSync(new URL('./ops.json', import.meta.url), `${JSON.stringify(v2CaseHashes(), null, 1)}\n`);
