// Compiles the r3mesd CLI (app/cli/main.ts and everything it reaches in app/, modules/, genesis/,
// proto/gen) into one ES module, dist/r3mesd.mjs, so that a call starts plain Node on JavaScript
// instead of compiling TypeScript through tsx's loader at every run (2–3 CPU seconds before).
// npm packages are bundled too (resolving and reading hundreds of files in node_modules was half
// of the remaining start time), except those with native addons, which load from node_modules.
// The dashboard page is read beside the module (import.meta.dirname), so it is copied there.
//
// Run by `npm ci`/`npm install` (the root package's `prepare`), by scripts/ensure-deps (tests,
// devnet), and by bin/r3mesd itself when a source is newer than the bundle. It writes to a
// temporary name and renames, so concurrent builds never expose a half-written file.
// Usage: node scripts/build-cli.mjs [--quiet]
import { copyFileSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/** Packages with native addons (or that load files beside themselves): left to node_modules. */
const NATIVE = ['classic-level', 'level', 'secp256k1', 'webgpu'];

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const quiet = process.argv.includes('--quiet');
const tmp = join(dist, `.r3mesd.${process.pid}.mjs`);
mkdirSync(dist, { recursive: true });
try {
  const result = await build({
    entryPoints: [join(root, 'app', 'cli', 'main.ts')],
    outfile: tmp,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: NATIVE,
    keepNames: true, // classes and functions keep their source names (`.name`, stack traces)
    logLevel: quiet ? 'error' : 'warning',
    metafile: true,
    // CommonJS packages bundled into ESM call `require` for Node built-ins: give them one.
    banner: { js: "// r3mesd: compiled from the R3MES repository sources by scripts/build-cli.mjs; do not edit.\nimport { createRequire as __r3mesRequire } from 'node:module';\nconst require = __r3mesRequire(import.meta.url);" },
  });
  copyFileSync(join(root, 'app', 'rest', 'dashboard', 'page.html'), join(dist, 'page.html'));
  renameSync(tmp, join(dist, 'r3mesd.mjs'));
  if (!quiet) process.stderr.write(`r3mesd: dist/r3mesd.mjs from ${Object.keys(result.metafile.inputs).length} source files\n`);
} catch (err) {
  rmSync(tmp, { force: true });
  process.stderr.write(`r3mesd: build failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
