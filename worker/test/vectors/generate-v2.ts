// Writes v2-ops.json (SPEC v2 op vectors, §9) from the CPU kernels. Run once after a reviewed
// change of the v2 definition: `npx tsx worker/test/vectors/generate-v2.ts`.
import { writeFileSync } from 'node:fs';
import { v2CaseHashes } from './v2-cases.ts';
writeFileSync(new URL('./v2-ops.json', import.meta.url), `${JSON.stringify(v2CaseHashes(), null, 1)}\n`);
