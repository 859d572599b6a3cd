// What a new user hits before any node runs: r3mesd starts from its compiled module (rebuilt when
// a source is newer), spells its version flag --version, and a query without a node says which
// URL it tried and why, not only "fetch failed".
import t from 'tap';
import { execFile } from 'node:child_process';
import { readFileSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, R3MESD } from '../helpers/devnode.ts';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const BUNDLE = join(ROOT, 'dist', 'r3mesd.mjs');
const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

async function r3mesd(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(R3MESD, args);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? 1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

t.test('version: the command, --version and -v print the package version', async (t) => {
  for (const args of [['version'], ['--version'], ['-v']]) {
    const out = await r3mesd(args);
    t.equal(out.code, 0, `${args.join(' ')}: ${out.stderr}`);
    t.equal(out.stdout.trim(), version, args.join(' '));
  }
});

t.test('bin/r3mesd runs the compiled module and rebuilds it when a source is newer', async (t) => {
  await r3mesd(['version']);
  const before = statSync(BUNDLE).mtimeMs;
  // A source one second newer than the bundle: the next call must rebuild before it runs.
  const source = join(ROOT, 'app', 'app.ts');
  const keep = statSync(source);
  const newer = new Date(before + 1000);
  utimesSync(source, newer, newer);
  t.teardown(() => utimesSync(source, keep.atime, keep.mtime));
  const out = await r3mesd(['version']);
  t.equal(out.stdout.trim(), version);
  t.ok(statSync(BUNDLE).mtimeMs >= newer.getTime(), 'dist/r3mesd.mjs was rebuilt');
  t.match(readFileSync(BUNDLE, 'utf8').slice(0, 200), /compiled from the R3MES repository sources/, 'the bundle is the build script\'s output');
});

t.test('a query without a node names the URL and the cause', async (t) => {
  const url = `http://127.0.0.1:${await freePort()}`;
  for (const args of [['query', 'training', 'current-window', '--node', url], ['query', 'bank', 'total', '--node', url]]) {
    const out = await r3mesd(args);
    t.not(out.code, 0, args.join(' '));
    t.match(out.stderr, `chain node ${url} is unreachable`, 'names the URL');
    t.match(out.stderr, /ECONNREFUSED/, 'and the cause');
    t.notMatch(out.stderr, /^Error: fetch failed$/m);
  }
});
