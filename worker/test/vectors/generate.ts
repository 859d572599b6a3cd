// Writes test/vectors/<case>.json from the fast kernels. Run once after the reference tests
// pass: npx tsx worker/test/vectors/generate.ts
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { caseInputs, runKernel } from './cases.ts';
import { vectorHash } from './hash.ts';

const lines: string[] = [];
for (const c of caseInputs()) {
  const outputs = runKernel(c);
  const hashes = Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, vectorHash(c.op, k, v)]));
  const file = new URL(`./${c.name}.json`, import.meta.url);
  const body = `${JSON.stringify({ ...c, outputs, sha256: hashes })}\n`;
  writeFileSync(file, body);
  lines.push(`| ${c.name}.json | ${Object.entries(hashes).map(([k, h]) => `${k} \`${h.slice(0, 16)}…\``).join(', ')} | \`${createHash('sha256').update(body).digest('hex').slice(0, 16)}…\` |`);
}
console.log(lines.join('\n'));
