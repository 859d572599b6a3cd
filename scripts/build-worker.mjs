// Compiles the r3mes-worker CLI (worker/src/cli/main.ts and everything it reaches, with
// @r3mes/client's sources) into worker/dist/r3mes-worker.mjs, and the compute thread's entry
// (worker/src/train/thread-entry.ts) into worker/dist/thread-entry.mjs, so that a call starts
// plain Node on JavaScript instead of compiling TypeScript through tsx's loader at every run.
// The files the sources read beside themselves at run time — the WGSL kernels and ternlin.wasm —
// are copied into worker/dist, where the bundle's `import.meta.url` now points.
// npm packages are bundled too, except those with native addons (left to node_modules).
//
// Run by `npm ci`/`npm install` (the root package's `prepare`), by scripts/ensure-deps (tests,
// devnet), and by worker/bin/r3mes-worker itself when a source is newer than the bundle. It
// writes to temporary names and renames, so concurrent builds never expose a half-written file.
// Usage: node scripts/build-worker.mjs [--quiet]
import { copyFileSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/** Packages with native addons (or that load files beside themselves): left to node_modules. */
const NATIVE = ['classic-level', 'level', 'secp256k1', 'webgpu', 'onnxruntime-node', 'wabt', 'tsx'];

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const worker = join(root, 'worker');
const dist = join(worker, 'dist');
const quiet = process.argv.includes('--quiet');
const version = JSON.parse(readFileSync(join(worker, 'package.json'), 'utf8')).version;
mkdirSync(dist, { recursive: true });

const entries = [
  { src: join(worker, 'src', 'cli', 'main.ts'), out: 'r3mes-worker.mjs' },
  { src: join(worker, 'src', 'train', 'thread-entry.ts'), out: 'thread-entry.mjs' },
];
const tmps = [];
try {
  let inputs = 0;
  for (const e of entries) {
    const tmp = join(dist, `.${e.out}.${process.pid}`);
    tmps.push(tmp);
    const result = await build({
      entryPoints: [e.src],
      outfile: tmp,
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      external: NATIVE,
      // @r3mes/client from its TypeScript sources (as bin/r3mes-worker resolves it in the repository).
      conditions: ['r3mes-source'],
      // The sources ask `r3mesBundle()` whether they run from here (thread.ts starts the compiled
      // thread entry; program.ts prints this version instead of reading package.json beside src/).
      define: { __R3MES_WORKER_BUNDLE__: JSON.stringify({ version }) },
      keepNames: true,
      logLevel: quiet ? 'error' : 'warning',
      metafile: true,
      banner: { js: "// r3mes-worker: compiled from the R3MES repository sources by scripts/build-worker.mjs; do not edit.\nimport { createRequire as __r3mesRequire } from 'node:module';\nconst require = __r3mesRequire(import.meta.url);" },
    });
    inputs += Object.keys(result.metafile.inputs).length;
  }
  const webgpu = join(worker, 'src', 'kernels', 'webgpu');
  for (const f of readdirSync(webgpu).filter((n) => n.endsWith('.wgsl'))) copyFileSync(join(webgpu, f), join(dist, f));
  copyFileSync(join(worker, 'src', 'kernels', 'wasm', 'ternlin.wasm'), join(dist, 'ternlin.wasm'));
  // The thread entry first: a CLI bundle never starts before the entry it would spawn exists.
  for (let i = entries.length - 1; i >= 0; i--) renameSync(tmps[i], join(dist, entries[i].out));
  if (!quiet) process.stderr.write(`r3mes-worker: worker/dist/r3mes-worker.mjs from ${inputs} source files\n`);
} catch (err) {
  for (const t of tmps) rmSync(t, { force: true });
  process.stderr.write(`r3mes-worker: build failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
