import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The floors of the code, checked on its imports (README "Layers"; app/core/README.md):
 * proto → app/core (the kernel) → modules → genesis → app (the node) → worker, scripts, bench.
 * Every relative import of every TypeScript file is resolved to a repository path and checked
 * against the rules below; an offending edge is reported as "file -> target".
 */

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** One relative import: the importing file, the file it names (repository paths) and whether it is type-only. */
interface Edge { from: string; to: string; typeOnly: boolean }

const SPECIFIER = /(?:^|[\s;}])(import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s*)?['"](\.{1,2}\/[^'"]+)['"]|import\s*\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...tsFiles(path));
    else if (entry.name.endsWith('.ts')) out.push(path);
  }
  return out;
}

function edgesOf(file: string): Edge[] {
  const text = readFileSync(join(root, file), 'utf8');
  const edges: Edge[] = [];
  for (const match of text.matchAll(SPECIFIER)) {
    const specifier = match[3] ?? match[4];
    const to = relative(root, resolve(root, dirname(file), specifier));
    edges.push({ from: file, to, typeOnly: match[2] !== undefined });
  }
  return edges;
}

const folders = ['app', 'modules', 'genesis', 'proto', 'scripts', 'bench', 'test', 'worker'];
const edges = folders.flatMap(tsFiles).flatMap(edgesOf);
const show = (list: Edge[]) => list.map((e) => `${e.from} -> ${e.to}`);
const under = (path: string, folder: string) => path === folder || path.startsWith(folder + '/');
const moduleOf = (path: string) => (under(path, 'modules') ? path.split('/')[1] : undefined);
const isKernel = (path: string) => under(path, 'app/core');
const isNode = (path: string) => under(path, 'app') && !isKernel(path);

t.test('the scanner sees the imports it checks', async (t) => {
  // Known edges of each kind: if the parser missed them, every rule below would pass vacuously.
  const seen = new Set(edges.map((e) => `${e.from} -> ${e.to}`));
  t.ok(seen.has('app/app.ts -> modules/auth/ante.ts'), 'node -> module (multi-name import)');
  t.ok(seen.has('modules/bank/keeper.ts -> app/core/store/types.ts'), 'module -> kernel (import type)');
  t.ok(edges.some((e) => e.from === 'modules/bank/expected-keepers.ts' && e.to === 'modules/auth/keeper.ts' && e.typeOnly), 'a type-only import is recognised');
  t.ok(seen.has('app/store/index.ts -> app/core/store/cache.ts'), 'export … from');
  t.ok(edges.length > 500, `${edges.length} relative imports scanned`);
});

t.test('the kernel (app/core) imports nothing above it: no module, no node part, no genesis', async (t) => {
  const bad = edges.filter((e) => isKernel(e.from) && !isKernel(e.to) && !under(e.to, 'proto'));
  t.same(show(bad), [], 'kernel files import only the kernel and the protos');
});

t.test('modules import only the kernel, the protos, their own folder, and each other through expected-keeper types', async (t) => {
  const fromModules = edges.filter((e) => moduleOf(e.from) !== undefined);
  const upward = fromModules.filter((e) => !isKernel(e.to) && !under(e.to, 'proto') && moduleOf(e.to) === undefined);
  t.same(show(upward), [], 'no module imports the node floor, genesis, scripts, tests or the worker');
  const across = fromModules.filter((e) => moduleOf(e.to) !== undefined && moduleOf(e.to) !== moduleOf(e.from));
  const badAcross = across.filter((e) => !e.from.endsWith('/expected-keepers.ts') || !e.typeOnly);
  t.same(show(badAcross), [], 'another module is named only by `import type` in expected-keepers.ts');
});

t.test('genesis/ builds on modules and the kernel, below the node', async (t) => {
  const bad = edges.filter((e) => under(e.from, 'genesis') && (isNode(e.to) || under(e.to, 'worker') || under(e.to, 'scripts') || under(e.to, 'test')));
  t.same(show(bad), [], 'genesis imports no node part');
});

t.test('the tx pipeline (app/tx) knows no module', async (t) => {
  const bad = edges.filter((e) => under(e.from, 'app/tx') && moduleOf(e.to) !== undefined);
  t.same(show(bad), [], 'app/tx gets the ante handler from the node');
});

t.test('production code never imports tests, scripts, benchmarks or the worker', async (t) => {
  const production = (path: string) => under(path, 'app') || under(path, 'modules') || under(path, 'genesis') || under(path, 'proto');
  const bad = edges.filter((e) => production(e.from) && !production(e.to));
  t.same(show(bad), [], 'app, modules, genesis and proto import only each other');
});

t.test('the CLI imports no command file through main.ts', async (t) => {
  const bad = edges.filter((e) => under(e.from, 'app/cli') && e.to === 'app/cli/main.ts');
  t.same(show(bad), [], 'shared option types live in app/cli/options.ts');
});

t.test('the worker reaches the chain only through its client package (@r3mes/client)', async (t) => {
  const bad = edges.filter((e) => under(e.from, 'worker') && !under(e.to, 'worker'));
  t.same(show(bad), [], 'no relative import leaves worker/');
});
