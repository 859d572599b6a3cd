// The packed packages, installed where the chain's sources are not. `npm pack` app/client (its
// prepack bundles dist/index.js and checks its dependencies against the bundle) and worker,
// `npm install` both tarballs into an empty directory outside the repository, then: the
// installed r3mes-worker answers --help; none of the chain's sources came along; every module of
// the installed worker loads (a relative import of the chain would not resolve there); the bundle
// exports and computes what the sources do. And no file of worker/ in the repository imports a
// relative path outside worker/ (tests and benches are not packed).
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { cpuBackend } from '../src/backend.ts';
import { chunkHash } from '../src/data/chunk.ts';
import { generateBackbone } from '../src/model/backbone.ts';
import type { ModelConfig } from '../src/model/config.ts';
import { adapterDelta, encodeDelta } from '../src/output/delta.ts';
import { runTrainingJob } from '../src/roles/job.ts';

const WORKER = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
const ROOT = dirname(WORKER);
const MNEMONIC = 'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';

// Children get no loader, condition or npm setting of this test run: the installed tree must
// stand on its own (npm's cache and user config stay, so the install can be offline).
const env: NodeJS.ProcessEnv = {};
for (const [key, value] of Object.entries(process.env)) {
  if (key === 'NODE_OPTIONS' || /^(TAP|_TAPJS|TS_NODE)/.test(key)) continue;
  if (key.startsWith('npm_') && !['npm_config_cache', 'npm_config_userconfig', 'npm_config_registry'].includes(key)) continue;
  env[key] = value;
}
const run = async (file: string, args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> => {
  try {
    const r = await promisify(execFile)(file, args, { cwd, env, timeout: 60_000, maxBuffer: 16 << 20 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
};

/** What the client exports and computes, as JSON: run on the installed bundle and on the sources alike. */
const probe = (keyringDir: string) => `
  import { bytesToHex } from '@noble/hashes/utils.js';
  import * as m from '@r3mes/client';
  const ring = m.Keyring.open(${JSON.stringify(keyringDir)}, 'test');
  const key = await ring.import('probe', ${JSON.stringify(MNEMONIC)});
  const registry = m.r3mesRegistry();
  console.log(JSON.stringify({
    exports: Object.keys(m).sort(),
    registry: typeof m.r3mesRegistry,
    keyring: ring.constructor.name,
    address: key.address,
    derived: (await m.deriveKey(${JSON.stringify(MNEMONIC)})).address,
    keys: (await ring.list()).map((k) => k.name),
    commitHash: bytesToHex(m.commitHash('bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy', new Uint8Array(32).fill(2), new Uint8Array(32).fill(3))),
    commitMsg: bytesToHex(registry.encode({ typeUrl: '/r3mes.training.v1.MsgCommitAggregation', value: { proposer: key.address, windowId: 5n, commitment: new Uint8Array(32).fill(1) } })),
    gasPrice: m.DEFAULT_GAS_PRICE,
    aggregationRule: m.defaultTrainingParams().aggregationRule,
    collecting: m.WindowStatus.WINDOW_STATUS_COLLECTING,
    window: bytesToHex(m.trainingTypes.Window.encode(m.trainingTypes.Window.fromPartial({ id: 7n, proposers: ['a', 'b'] })).finish()),
  }));`;

t.test('no file of worker/ imports a relative path outside worker/', async (t) => {
  const offenders: string[] = [];
  for (const dir of ['src', 'test', 'bench']) {
    for (const name of await readdir(join(WORKER, dir), { recursive: true })) {
      if (!name.endsWith('.ts')) continue;
      const file = join(WORKER, dir, name);
      const text = await readFile(file, 'utf8');
      for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.[^'"]*)\1/g)) {
        const target = resolve(dirname(file), m[2]);
        if (!target.startsWith(WORKER + sep)) offenders.push(`${relative(ROOT, file)}: ${m[2]}`);
      }
    }
  }
  t.same(offenders, [], 'the chain comes in through @r3mes/client only');
});

t.test('npm pack, npm install into an empty directory, run', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'r3mes-pack-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const packs = join(dir, 'packs');
  const app = join(dir, 'app');
  await mkdir(packs);
  await mkdir(app);

  const pack = await run('npm', ['pack', '-w', 'app/client', '-w', 'worker', '--pack-destination', packs, '--json'], ROOT);
  if (!t.equal(pack.code, 0, 'npm pack exits 0', { stderr: pack.stderr })) return;
  const packed = JSON.parse(pack.stdout) as { name: string; filename: string; files: { path: string }[] }[];
  const files = Object.fromEntries(packed.map((p) => [p.name, p.files.map((f) => f.path).sort()]));
  t.same(files['@r3mes/client'], ['README.md', 'dist/index.js', 'package.json'], 'the client tarball: its bundle, package.json, README');
  t.same(files['r3mes-worker'].filter((p) => !/^(bin|src)\/|^(README|SPEC)\.md$|^package\.json$/.test(p)), [], 'the worker tarball: bin/, src/, docs');

  await writeFile(join(app, 'package.json'), `${JSON.stringify({ name: 'r3mes-pack-check', private: true })}\n`);
  const tarballs = packed.map((p) => join(packs, p.filename));
  // --ignore-scripts: no install script of a dependency (webgpu's downloads) runs; none is needed here.
  const install = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', ...tarballs], app);
  if (!t.equal(install.code, 0, 'npm install exits 0', { stderr: install.stderr })) return;

  const installed = (await readdir(app, { recursive: true })).map((p) => p.split(sep).join('/'));
  const chainFile = /(^|\/)(app\/(interfaces|client\/entry|client\/registry|keys\/keyring)\.ts|modules\/training\/assignment\.ts|proto\/gen\/r3mes)(\/|$)/;
  t.same(installed.filter((p) => chainFile.test(p)), [], 'no chain sources anywhere');
  for (const at of ['node_modules', 'node_modules/@r3mes/client', 'node_modules/r3mes-worker']) {
    for (const chainDir of ['app', 'modules', 'proto']) t.notOk(installed.includes(`${at}/${chainDir}`), `no ${at}/${chainDir}`);
  }
  t.same(installed.filter((p) => p.startsWith('node_modules/@r3mes/client/')).sort(),
    ['node_modules/@r3mes/client/README.md', 'node_modules/@r3mes/client/dist', 'node_modules/@r3mes/client/dist/index.js', 'node_modules/@r3mes/client/package.json'],
    'the installed client: its bundle, package.json, README');

  const help = await run(join(app, 'node_modules', '.bin', 'r3mes-worker'), ['--help'], app);
  t.equal(help.code, 0, 'r3mes-worker --help exits 0', { stderr: help.stderr });
  for (const command of ['train', 'verify', 'arbitrate', 'challenge', 'aggregate', 'serve']) t.match(help.stdout, new RegExp(`^  ${command} `, 'm'), `--help lists ${command}`);

  // Every module of the installed worker, through the installed tsx (main.ts would run the CLI).
  const modules = installed.filter((p) => p.startsWith('node_modules/r3mes-worker/src/') && p.endsWith('.ts') && p !== 'node_modules/r3mes-worker/src/cli/main.ts');
  t.ok(modules.length > 50, `${modules.length} modules`);
  const loadAll = `for (const f of ${JSON.stringify(modules)}) await import('./' + f); console.log('loaded', ${modules.length});`;
  const load = await run(process.execPath, ['--no-warnings', '--import', 'tsx', '--input-type=module', '-e', loadAll], app);
  t.equal(load.code, 0, 'every module of the installed worker loads', { stderr: load.stderr });

  // A whole re-execution through the installed CLI: its compute thread loads the installed sources
  // through the installed tsx (src/train/thread-boot.mjs) and computes the bytes the sources do.
  const cfg: ModelConfig = { vocab: 256, dModel: 16, nLayers: 1, nHeads: 2, dFF: 16, seqLen: 16, loraRank: 4, seed: new Uint8Array(32).fill(6) };
  const chunk = Uint8Array.from({ length: 2048 }, (_, i) => 97 + ((i * 5) % 26));
  const identity = { version: 1n, backbone: { seed: cfg.seed }, cfg };
  const job = await runTrainingJob({ model: { identity, backbone: generateBackbone(cfg) }, chunk, steps: 2, lr: 256, backend: cpuBackend({ inProcess: true }) });
  const enc = await encodeDelta(adapterDelta(job.initial, job.final), {
    model: identity, miner: 'r3mes1miner', window: 1n, ordinal: 0n, chunkIndex: 0n, chunkHash: chunkHash(chunk), backend: 'cpu', lr: 256,
    stepHashes: job.stepHashes, lossBefore: job.lossBefore, lossAfter: job.lossAfter,
  });
  await writeFile(join(dir, 'delta.safetensors'), enc.bytes);
  await writeFile(join(dir, 'chunk.bin'), chunk);
  const verify = await run(join(app, 'node_modules', '.bin', 'r3mes-worker'),
    ['verify', '--backend', 'cpu', '--threads', '2', '--delta', join(dir, 'delta.safetensors'), '--chunk-file', join(dir, 'chunk.bin'), '--store', join(dir, 'store')], app);
  t.equal(verify.code, 0, 'the installed r3mes-worker re-executes a delta', { stderr: verify.stderr });
  const verdict = JSON.parse(verify.stdout || '{}') as { match?: boolean; gradientHash?: string };
  t.equal(verdict.match, true, 'on its compute thread, matching the job trained from the sources');
  t.equal(verdict.gradientHash, Buffer.from(enc.gradientHash).toString('hex'));
  t.match(verify.stderr, /^verify: re-executing on cpu \(.*on 2 worker threads\)$/m, 'the CPU backend, on its compute threads (--threads 2)');
  t.match(verify.stderr, /verify \[#+\] 100% step 2\/2/, 'with its progress lines');

  const bundled = await run(process.execPath, ['--input-type=module', '-e', probe(join(dir, 'keyring-bundle'))], app);
  if (!t.equal(bundled.code, 0, 'the bundle loads', { stderr: bundled.stderr })) return;
  const fromBundle = JSON.parse(bundled.stdout) as { registry: string; keyring: string; keys: string[] };
  t.equal(fromBundle.registry, 'function', 'r3mesRegistry is a function');
  t.equal(fromBundle.keyring, 'Keyring', 'a Keyring opens');
  t.same(fromBundle.keys, ['probe'], 'and holds the imported key');
  const sources = await run(process.execPath, ['--no-warnings', '--conditions=r3mes-source', '--import', 'tsx', '--input-type=module', '-e', probe(join(dir, 'keyring-source'))], ROOT);
  if (!t.equal(sources.code, 0, 'the sources load', { stderr: sources.stderr })) return;
  t.same(fromBundle, JSON.parse(sources.stdout), 'the bundle exports and computes what the sources do');
});
