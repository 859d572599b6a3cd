// `verify --delta FILE` re-executes on the backbone the file names (SPEC §6 "Seeds": the backbone
// and the LoRA initialisation come from the backbone reference, never from the file's lora_seed).
// A delta trained on the backbone generated from seed A, whose metadata claims backbone seed B
// (lora_seed still A), used to verify as a match: the backbone was generated from lora_seed.
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { cpuBackend } from '../src/backend.ts';
import { chunkHash } from '../src/data/chunk.ts';
import { generateBackbone } from '../src/model/backbone.ts';
import type { ModelConfig } from '../src/model/config.ts';
import { adapterDelta, encodeDelta } from '../src/output/delta.ts';
import type { ModelIdentity } from '../src/output/metadata.ts';
import { runTrainingJob } from '../src/roles/job.ts';

const BIN = fileURLToPath(new URL('../bin/r3mes-worker', import.meta.url));
const run = async (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
  try {
    const r = await promisify(execFile)(BIN, args, { timeout: 300_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
};

t.test('verify --delta uses the backbone the delta names', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'r3mes-vdelta-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const seedA = new Uint8Array(32).fill(9);
  const seedB = new Uint8Array(32).fill(7);
  const cfg: ModelConfig = { vocab: 256, dModel: 16, nLayers: 1, nHeads: 2, dFF: 16, seqLen: 16, loraRank: 4, seed: seedA };
  const chunk = Uint8Array.from({ length: 2048 }, (_, i) => 97 + ((i * 7) % 26));
  await writeFile(join(dir, 'chunk.bin'), chunk);
  const honest: ModelIdentity = { version: 1n, backbone: { seed: seedA }, cfg };
  // Trained on the backbone of seed A; the forged file claims seed B with A's lora_seed.
  const job = await runTrainingJob({ model: { identity: honest, backbone: generateBackbone(cfg) }, chunk, steps: 1, lr: 256, backend: cpuBackend({ inProcess: true }) });
  const write = async (name: string, model: ModelIdentity) => {
    const enc = await encodeDelta(adapterDelta(job.initial, job.final), {
      model, miner: 'r3mes1miner', window: 1n, ordinal: 0n, chunkIndex: 0n, chunkHash: chunkHash(chunk), backend: 'cpu', lr: 256,
      stepHashes: job.stepHashes, lossBefore: job.lossBefore, lossAfter: job.lossAfter,
    });
    await writeFile(join(dir, name), enc.bytes);
  };
  await write('honest.safetensors', honest);
  await write('forged.safetensors', { version: 1n, backbone: { seed: seedB }, cfg });
  const verify = (file: string) => run(['verify', '--backend', 'cpu', '--delta', join(dir, file), '--chunk-file', join(dir, 'chunk.bin'), '--store', join(dir, 'store')]);

  const ok = await verify('honest.safetensors');
  t.equal(ok.code, 0, ok.stderr);
  t.equal(JSON.parse(ok.stdout).match, true, 'the honest file verifies');

  const forged = await verify('forged.safetensors');
  t.equal(forged.code, 3, 'a file claiming another backbone is a mismatch (exit 3)');
  const verdict = JSON.parse(forged.stdout || '{}') as { match?: boolean; reasons?: string[]; firstDivergentStep?: number };
  t.equal(verdict.match, false);
  t.equal(verdict.firstDivergentStep, 0, 'from the initial state on (the LoRA initialisation comes from seed B)');
  t.match(verdict.reasons?.join('; '), /lora_seed .* is not the one its backbone seed:0707/, 'the reason names the inconsistent metadata');
});
