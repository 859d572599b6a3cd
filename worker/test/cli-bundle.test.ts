// The compiled CLI (scripts/build-worker.mjs → worker/dist): bin/r3mes-worker runs it rather than
// compiling the TypeScript sources at each call. The bundle must compute what the sources do,
// including what they find beside themselves at run time: the compute thread's entry (a second
// bundle), the WGSL kernels and ternlin.wasm (copied into dist/).
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
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
const BUNDLE = join(WORKER, 'dist', 'r3mes-worker.mjs');

// Children get no loader or condition of this test run: the bundle must stand on its own.
const env: NodeJS.ProcessEnv = {};
for (const [key, value] of Object.entries(process.env)) if (key !== 'NODE_OPTIONS' && !/^(TAP|_TAPJS)/.test(key)) env[key] = value;
const run = async (file: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
  try {
    const r = await promisify(execFile)(file, args, { cwd: ROOT, env, timeout: 300_000, maxBuffer: 16 << 20 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
};

t.test('the compiled r3mes-worker re-executes a delta as the sources trained it', async (t) => {
  const build = await run(process.execPath, [join(ROOT, 'scripts', 'build-worker.mjs'), '--quiet']);
  if (!t.equal(build.code, 0, 'scripts/build-worker.mjs builds', { stderr: build.stderr })) return;
  for (const f of ['r3mes-worker.mjs', 'thread-entry.mjs', 'ternlin.wasm', 'ternlin.wgsl', 'attention.wgsl']) {
    t.ok((await stat(join(WORKER, 'dist', f))).size > 0, `dist/${f}`);
  }
  const builtAt = (await stat(BUNDLE)).mtimeMs;

  const pkg = JSON.parse(await readFile(join(WORKER, 'package.json'), 'utf8')) as { version: string };
  const version = await run(join(WORKER, 'bin', 'r3mes-worker'), ['--version']);
  t.equal(version.stdout.trim(), pkg.version, 'bin/r3mes-worker --version prints the package version');
  t.equal((await stat(BUNDLE)).mtimeMs, builtAt, 'a fresh bundle is used as it is, not rebuilt');

  const dir = await mkdtemp(join(tmpdir(), 'r3mes-bundle-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const cfg: ModelConfig = { vocab: 256, dModel: 16, nLayers: 1, nHeads: 2, dFF: 16, seqLen: 16, loraRank: 4, seed: new Uint8Array(32).fill(9) };
  const chunk = Uint8Array.from({ length: 2048 }, (_, i) => 97 + ((i * 7) % 26));
  const identity = { version: 1n, backbone: { seed: cfg.seed }, cfg };
  const job = await runTrainingJob({ model: { identity, backbone: generateBackbone(cfg) }, chunk, steps: 2, lr: 256, backend: cpuBackend({ inProcess: true }) });
  const enc = await encodeDelta(adapterDelta(job.initial, job.final), {
    model: identity, miner: 'r3mes1miner', window: 1n, ordinal: 0n, chunkIndex: 0n, chunkHash: chunkHash(chunk), backend: 'cpu', lr: 256,
    stepHashes: job.stepHashes, lossBefore: job.lossBefore, lossAfter: job.lossAfter,
  });
  await writeFile(join(dir, 'delta.safetensors'), enc.bytes);
  await writeFile(join(dir, 'chunk.bin'), chunk);

  const cpu = await run(process.execPath, [BUNDLE, 'verify', '--backend', 'cpu', '--threads', '2', '--delta', join(dir, 'delta.safetensors'), '--chunk-file', join(dir, 'chunk.bin'), '--store', join(dir, 'store')]);
  t.equal(cpu.code, 0, 'verify --backend cpu exits 0', { stderr: cpu.stderr });
  const verdict = JSON.parse(cpu.stdout || '{}') as { match?: boolean; gradientHash?: string };
  t.equal(verdict.match, true, 'the bundle re-executes to the same bytes');
  t.equal(verdict.gradientHash, Buffer.from(enc.gradientHash).toString('hex'));
  t.match(cpu.stderr, /^verify: re-executing on cpu \(.*on 2 worker threads\)$/m, 'on the compiled compute threads (--threads 2: the bundled pool)');

  const gpu = await run(process.execPath, [BUNDLE, 'verify', '--backend', 'webgpu', '--delta', join(dir, 'delta.safetensors'), '--chunk-file', join(dir, 'chunk.bin'), '--store', join(dir, 'store')]);
  if (/no WebGPU adapter|no adapter/i.test(gpu.stderr)) {
    t.comment(`no WebGPU adapter here: the WGSL kernels of the bundle are not exercised (${gpu.stderr.trim().split('\n').pop()})`);
    return;
  }
  t.equal(gpu.code, 0, 'verify --backend webgpu exits 0 (WGSL read from dist/)', { stderr: gpu.stderr });
  t.equal((JSON.parse(gpu.stdout || '{}') as { match?: boolean }).match, true, 'and matches the CPU bytes');
});
