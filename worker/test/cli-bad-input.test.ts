// The r3mes-worker binary end to end: --help on every command, offline re-execution, and bad
// input (corrupt model file, wrong shapes, chunk of wrong length, CID mismatch, unreachable chain
// or storage) → one clear error line, exit 1, nothing signed or journaled.
import t from 'tap';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { bytesToHex } from '@noble/hashes/utils.js';
import { Keyring } from '@r3mes/client';
import { cpuBackend } from '../src/backend.ts';
import { chunkHash } from '../src/data/chunk.ts';
import { generateBackbone } from '../src/model/backbone.ts';
import type { ModelConfig } from '../src/model/config.ts';
import { adapterDelta, encodeDelta } from '../src/output/delta.ts';
import type { ModelIdentity } from '../src/output/metadata.ts';
import { encodeState } from '../src/output/state.ts';
import { encodeTrace, makeTrace } from '../src/output/trace.ts';
import { runTrainingJob } from '../src/roles/job.ts';
import { FileBlockstore } from '../src/storage/blockstore.ts';
import { cidOf } from '../src/storage/cid.ts';
import { encodeSafetensors } from '../src/storage/safetensors.ts';
import { initAdapter } from '../src/model/adapter.ts';
import { buildProgram } from '../src/cli/program.ts';

const BIN = fileURLToPath(new URL('../bin/r3mes-worker', import.meta.url));
const run = async (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
  try {
    const r = await promisify(execFile)(BIN, args, { timeout: 60_000, env: { ...process.env, R3MES_KEYRING_PASSPHRASE: '' } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
};

const seed = new Uint8Array(32).fill(13);
const cfg: ModelConfig = { vocab: 256, dModel: 16, nLayers: 1, nHeads: 2, dFF: 16, seqLen: 16, loraRank: 4, seed };
const model: ModelIdentity = { version: 1n, backbone: { seed }, cfg };
const chunk = Uint8Array.from({ length: 2048 }, (_, i) => 97 + ((i * 5) % 26));

t.test('--help on every command', async (t) => {
  // In process (each spawn costs a couple of seconds); the binary itself is run by the tests below.
  const help = (args: string[]): string => {
    let out = '';
    const program = buildProgram({ writeOut: (s) => { out += s; }, writeErr: (s) => { out += s; }, exitOverride: true });
    try {
      program.parse(['node', 'r3mes-worker', ...args]);
    } catch (err) {
      t.equal((err as { code?: string }).code, 'commander.helpDisplayed', `${args.join(' ')} shows help`);
    }
    return out;
  };
  const top = help(['--help']);
  for (const c of ['train', 'verify', 'arbitrate', 'aggregate', 'serve']) t.match(top, c);
  const expect: Record<string, string[]> = {
    train: ['--node', '--home', '--key', '--keyring-backend', '--backend', '--store', '--ipfs-api', '--gateway-listen', '--once', '--steps', '--model', '--threads'],
    verify: ['--step', '--state', '--trace', '--delta', '--submission', '--chunk-file', '--chunk-index', '--backend', '--threads'],
    arbitrate: ['--backend', '--submission', '--delta', '--threads'],
    aggregate: ['--rule', '--inputs', '--once', '--key', '--out'],
    serve: ['--listen', '--store', '--ipfs-api'],
  };
  for (const [c, flags] of Object.entries(expect)) {
    const text = help([c, '--help']);
    for (const flag of flags) t.match(text, flag, `${c} --help lists ${flag}`);
  }
  const bin = await run(['verify', '--help']);
  t.equal(bin.code, 0, 'the binary answers --help with exit 0');
  t.match(bin.stdout, '--step');
});

t.test('verify: one step from a committed state, a whole delta; mismatches and bad files', async (t) => {
  const dir = t.testdir();
  const bb = generateBackbone(cfg);
  const job = await runTrainingJob({ model: { identity: model, backbone: bb }, chunk, steps: 2, lr: 256, backend: cpuBackend() });
  const s0 = await encodeState(model, 0, initAdapter(cfg), 256);
  const delta = await encodeDelta(adapterDelta(job.initial, job.final), {
    model, miner: 'r3mes1x', window: 1n, ordinal: 0n, chunkIndex: 0n, chunkHash: chunkHash(chunk), backend: 'cpu', lr: 256,
    stepHashes: job.stepHashes, lossBefore: job.lossBefore, lossAfter: job.lossAfter,
  });
  const p = (n: string) => join(dir, n);
  await writeFile(p('s0'), s0.bytes);
  await writeFile(p('s1'), job.checkpoints[1]);
  await writeFile(p('chunk'), chunk);
  await writeFile(p('short'), chunk.subarray(0, 2000));
  await writeFile(p('trace.json'), encodeTrace(makeTrace(job.stepHashes)));
  await writeFile(p('delta'), delta.bytes);

  const ok = await run(['verify', '--step', '1', '--state', p('s0'), '--chunk-file', p('chunk'), '--trace', p('trace.json'), '--backend', 'cpu']);
  t.equal(ok.code, 0, ok.stderr);
  const v = JSON.parse(ok.stdout) as { hash: string; match: boolean };
  t.equal(v.hash, bytesToHex(job.stepHashes[1]));
  t.equal(v.match, true);

  const whole = await run(['arbitrate', '--delta', p('delta'), '--chunk-file', p('chunk')]);
  t.equal(whole.code, 0, whole.stderr);
  t.equal((JSON.parse(whole.stdout) as { match: boolean }).match, true);
  // --threads: the chunk's sequences split between compute threads, the same verdict and gradient hash.
  for (const n of ['1', '3']) {
    const on = await run(['arbitrate', '--delta', p('delta'), '--chunk-file', p('chunk'), '--threads', n]);
    t.equal(on.code, 0, on.stderr);
    t.same(JSON.parse(on.stdout), JSON.parse(whole.stdout), `arbitrate --threads ${n}: the same result`);
  }
  const zero = await run(['arbitrate', '--delta', p('delta'), '--chunk-file', p('chunk'), '--threads', '0']);
  t.equal(zero.code, 1);
  t.match(zero.stderr, /error: --threads must be at least 1/);

  // The same delta (mined on the CPU) re-executed on WebGPU (llvmpipe here): same verdict.
  const onGpu = await run(['verify', '--delta', p('delta'), '--chunk-file', p('chunk'), '--backend', 'webgpu']);
  t.equal(onGpu.code, 0, onGpu.stderr);
  t.equal((JSON.parse(onGpu.stdout) as { match: boolean }).match, true, 'WebGPU re-execution agrees with the CPU-mined delta');
  const stepOnGpu = await run(['verify', '--step', '2', '--state', p('s1'), '--chunk-file', p('chunk'), '--trace', p('trace.json'), '--backend', 'webgpu']);
  t.equal(stepOnGpu.code, 0, stepOnGpu.stderr);
  t.equal((JSON.parse(stepOnGpu.stdout) as { hash: string }).hash, bytesToHex(job.stepHashes[2]), 'verify --step 2 on WebGPU');

  // A trace that disagrees at step 1: exit 3, the expected and actual hashes printed.
  const other = [...job.stepHashes];
  other[1] = new Uint8Array(32).fill(1);
  await writeFile(p('bad-trace.json'), encodeTrace(makeTrace(other)));
  const mism = await run(['verify', '--step', '1', '--state', p('s0'), '--chunk-file', p('chunk'), '--trace', p('bad-trace.json'), '--backend', 'cpu']);
  t.equal(mism.code, 3);
  t.equal((JSON.parse(mism.stdout) as { match: boolean }).match, false);

  const wrongStep = await run(['verify', '--step', '2', '--state', p('s0'), '--chunk-file', p('chunk'), '--backend', 'cpu']);
  t.equal(wrongStep.code, 1);
  t.match(wrongStep.stderr, /error \[output\/2\]: re-executing step 2 needs the checkpoint of step 1/);

  const short = await run(['verify', '--step', '1', '--state', p('s0'), '--chunk-file', p('short'), '--backend', 'cpu']);
  t.equal(short.code, 1);
  t.match(short.stderr, /error \[data\/1\]: chunk file \S+ is 2000 bytes: a chunk is 2048 bytes \(byte tokens\) or 8192/);

  // CID mismatch: a block altered in the store is refused, not used.
  const store = await FileBlockstore.open(p('store'));
  await store.put(s0.bytes);
  const bad = s0.bytes.slice();
  bad[bad.length - 1] ^= 1;
  await writeFile(store.pathOf(s0.cid), bad);
  const cidBad = await run(['verify', '--step', '1', '--state', s0.cid.toString(), '--store', p('store'), '--chunk-file', p('chunk'), '--backend', 'cpu']);
  t.equal(cidBad.code, 1);
  t.match(cidBad.stderr, /error \[storage\/3\]: .*hash to .*not to the requested/);

  const refused = await run(['arbitrate', '--backend', 'webgpu', '--delta', p('delta'), '--chunk-file', p('chunk')]);
  t.equal(refused.code, 1);
  t.match(refused.stderr, /CPU reference only/);
});

t.test('model files: corrupt bytes, wrong shapes, CID mismatch', async (t) => {
  const dir = t.testdir();
  const p = (n: string) => join(dir, n);
  // A backbone file with layer 0's wq of the wrong shape, named by its own CID.
  const bb = generateBackbone(cfg);
  const tensors = new Map<string, { dtype: 'I8'; shape: number[]; data: Int8Array }>();
  tensors.set('embed', { dtype: 'I8', shape: [256, 16], data: bb.embed });
  tensors.set('head', { dtype: 'I8', shape: [256, 16], data: bb.head!.w });
  for (const [k, w] of Object.entries(bb.layers[0])) tensors.set(`layer.0.${k}`, { dtype: 'I8', shape: [w.rows, w.cols], data: w.w });
  tensors.set('layer.0.wq', { dtype: 'I8', shape: [8, 32], data: bb.layers[0].wq.w });
  const file = encodeSafetensors(tensors);
  const cid = (await cidOf(file)).toString();
  const fileModel: ModelIdentity = { version: 2n, backbone: { cid }, cfg };
  await writeFile(p('s0'), (await encodeState(fileModel, 0, initAdapter(cfg), 256)).bytes);
  await writeFile(p('model'), file);
  await writeFile(p('other'), encodeSafetensors(new Map([['embed', { dtype: 'I8', shape: [1], data: Int8Array.of(0) }]])));
  await writeFile(p('corrupt'), Uint8Array.from({ length: 300 }, (_, i) => (i * 37) & 0xff));
  await writeFile(p('chunk'), chunk);
  const base = ['verify', '--step', '1', '--state', p('s0'), '--chunk-file', p('chunk'), '--backend', 'cpu'];
  const shapes = await run([...base, '--model', p('model')]);
  t.equal(shapes.code, 1);
  t.match(shapes.stderr, /error \[output\/3\]: model file: tensor layer.0.wq has shape \[8,32\], expected \[16,16\]/);
  const mismatch = await run([...base, '--model', p('other')]);
  t.match(mismatch.stderr, /error \[output\/1\]: model file does not match the version's model_cid/);
  const corrupt = await run([...base, '--model', p('corrupt')]);
  t.equal(corrupt.code, 1);
  t.match(corrupt.stderr, /model file .* is corrupt: safetensors:/);
  // train checks the model file before it touches keys or the chain.
  const train = await run(['train', '--key', 'nobody', '--home', p('home'), '--model', p('corrupt'), '--node', 'http://127.0.0.1:1']);
  t.equal(train.code, 1);
  t.match(train.stderr, /model file .* is corrupt/);
});

t.test('unreachable chain or storage: a clear error and nothing journaled', async (t) => {
  const home = t.testdir();
  await Keyring.open(join(home, 'keyring-test'), 'test').add('miner');
  const chain = await run(['train', '--key', 'miner', '--keyring-backend', 'test', '--home', home, '--node', 'http://127.0.0.1:1', '--backend', 'cpu']);
  t.equal(chain.code, 1);
  t.match(chain.stderr, /^error \[chain\/1\]: chain node http:\/\/127.0.0.1:1 is unreachable/m);
  const storage = await run(['train', '--key', 'miner', '--keyring-backend', 'test', '--home', home, '--ipfs-api', 'http://127.0.0.1:1', '--backend', 'cpu']);
  t.equal(storage.code, 1);
  t.match(storage.stderr, /^error \[storage\/7\]: kubo http:\/\/127.0.0.1:1/m);
  const noKey = await run(['train', '--key', 'ghost', '--keyring-backend', 'test', '--home', home, '--backend', 'cpu']);
  t.match(noKey.stderr, /error \[chain\/4\]: key "ghost"/);
  // The WebGPU backend opens (llvmpipe here), then the unreachable node stops the miner the same way.
  const gpu = await run(['train', '--key', 'miner', '--keyring-backend', 'test', '--home', home, '--node', 'http://127.0.0.1:1', '--backend', 'webgpu']);
  t.equal(gpu.code, 1);
  t.match(gpu.stderr, /^error \[chain\/1\]: chain node http:\/\/127.0.0.1:1 is unreachable/m);
  t.notOk(existsSync(join(home, 'worker', 'journal.json')), 'nothing was signed');
  const agg = await run(['aggregate', '--key', 'miner', '--keyring-backend', 'test', '--home', home, '--node', 'http://127.0.0.1:1', '--once']);
  t.match(agg.stderr, /error \[chain\/1\]/);
  const rule = await run(['aggregate', '--rule', 'mean', '--inputs', 'x']);
  t.match(rule.stderr, /error \[aggregate\/4\]: unknown aggregation rule "mean"/);
});

t.test('--version and -v print the package version', async (t) => {
  const { readFileSync } = await import('node:fs');
  const version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  for (const flag of ['--version', '-v']) {
    const out = await run([flag]);
    t.equal(out.code, 0, `${flag}: ${out.stderr}`);
    t.equal(out.stdout.trim(), version, flag);
  }
});
