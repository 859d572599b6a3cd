/**
 * `npm pack` (prepack): bundles entry.ts and the chain sources it reaches (app/, modules/,
 * proto/gen) into dist/index.js, an ES module for Node with every npm import left external,
 * then checks that package.json's `dependencies` are exactly the packages the bundle imports,
 * each with the range the repository's root package.json tests the sources against.
 * Run by hand: `npx tsx app/client/bundle.ts`.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as { version: string; dependencies?: Record<string, string> };
const pkg = readJson(join(here, 'package.json'));
const root = readJson(join(here, '..', '..', 'package.json'));

const result = await build({
  entryPoints: [join(here, 'entry.ts')],
  outfile: join(here, 'dist', 'index.js'),
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  keepNames: true, // classes and functions keep their source names (`.name`, stack traces)
  metafile: true,
  logLevel: 'warning',
  banner: { js: `// @r3mes/client ${pkg.version}: bundled from the R3MES repository's TypeScript sources (app/client/entry.ts).` },
});

/** `@scope/name/sub/path` → `@scope/name`, `name/sub` → `name`. */
const packageOf = (specifier: string) => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');
const imported = new Set<string>();
for (const output of Object.values(result.metafile.outputs)) {
  for (const imp of output.imports) {
    if (!imp.external || imp.path.startsWith('node:')) continue;
    imported.add(packageOf(imp.path));
  }
}
const declared = new Set(Object.keys(pkg.dependencies ?? {}));
const problems: string[] = [];
for (const name of imported) if (!declared.has(name)) problems.push(`the bundle imports ${name}, which is not in dependencies`);
for (const name of declared) if (!imported.has(name)) problems.push(`dependencies lists ${name}, which the bundle never imports`);
for (const name of declared) {
  const want = root.dependencies?.[name];
  if (pkg.dependencies![name] !== want) problems.push(`${name}: ${pkg.dependencies![name]} here, ${want ?? 'nothing'} in the root package.json`);
}
if (problems.length > 0) {
  process.stderr.write(`app/client/package.json does not match the bundle:\n${problems.map((p) => `  ${p}\n`).join('')}`);
  process.exit(1);
}
const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
process.stderr.write(`@r3mes/client: dist/index.js, ${bytes} bytes, ${Object.keys(result.metafile.inputs).length} source files, imports ${[...imported].sort().join(', ')}\n`);
