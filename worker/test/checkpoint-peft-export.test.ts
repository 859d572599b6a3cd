// `r3mes-worker checkpoint export`: a head checkpoint as a Hugging Face PEFT LoRA adapter
// directory. Read back with the repo's own safetensors reader (any dtype): PEFT's keys, the
// shapes PEFT expects (lora_A [r, in], lora_B [out, r]), float = integer × 2^-16, and the exact
// integers alongside.
import t from 'tap';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { bytesToHex } from '@noble/hashes/utils.js';
import { SafetensorsFile } from '../src/checkpoint/safetensors-file.ts';
import { initAdapter } from '../src/model/adapter.ts';
import { type ModelConfig, loraDims, loraTargets } from '../src/model/config.ts';
import type { LoraPairs } from '../src/output/delta.ts';
import { encodeHeadCheckpoint } from '../src/output/head-checkpoint.ts';
import type { ModelIdentity } from '../src/output/metadata.ts';
import { decodeSafetensors } from '../src/storage/safetensors.ts';

const BIN = fileURLToPath(new URL('../bin/r3mes-worker', import.meta.url));
const run = async (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
  try {
    const r = await promisify(execFile)(BIN, args, { timeout: 240_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
};

// GQA (K/V narrower than Q), the gated FFN targets, alpha ≠ rank: every shape rule shows.
const cfg: ModelConfig = {
  vocab: 256, dModel: 32, nLayers: 2, nHeads: 4, nKvHeads: 2, dFF: 48, seqLen: 16, loraRank: 4, loraAlpha: 8,
  ffn: 'gated', loraTargets: ['q', 'k', 'v', 'o', 'gate', 'up', 'down'], seed: new Uint8Array(32).fill(3),
} as ModelConfig;
const identity: ModelIdentity = { version: 3n, backbone: { seed: cfg.seed }, cfg };
const HF: Record<string, string> = {
  q: 'self_attn.q_proj', k: 'self_attn.k_proj', v: 'self_attn.v_proj', o: 'self_attn.o_proj', gate: 'mlp.gate_proj', up: 'mlp.up_proj', down: 'mlp.down_proj',
};

/** Parameters over the whole ±2^16 range, extremes included. */
function params(): LoraPairs {
  let x = 17;
  const next = () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return (x % 131073) - 65536;
  };
  return initAdapter(cfg).params.map((layer, l) => Object.fromEntries(Object.entries(layer).map(([p, pair], j) => {
    const a = pair!.a.map(next);
    if (l === 0 && j === 0) { a[0] = 65536; a[1] = -65536; a[2] = 1; }
    return [p, { a, b: pair!.b.map(next) }];
  }))) as LoraPairs;
}

t.test('checkpoint export --file: adapter_config.json, F32 adapter_model.safetensors with PEFT keys and shapes, the exact integers alongside', async (t) => {
  const dir = t.testdir();
  const head = params();
  const enc = await encodeHeadCheckpoint(head, { model: identity, throughWindow: 12n, windows: [2n, 5n, 12n] });
  const file = join(dir, 'head.safetensors');
  await writeFile(file, enc.bytes);
  const out = join(dir, 'peft');
  const r = await run(['checkpoint', 'export', '--file', file, '--out', out, '--base-model', 'microsoft/bitnet-b1.58-2B-4T-bf16', '--state-hash', bytesToHex(enc.stateHash)]);
  t.equal(r.code, 0, r.stderr);
  const printed = JSON.parse(r.stdout);
  t.equal(printed.cid, enc.cid.toString());
  t.equal(printed.throughWindow, '12');

  const config = JSON.parse(await readFile(join(out, 'adapter_config.json'), 'utf8'));
  t.match(config, { peft_type: 'LORA', r: 4, lora_alpha: 8, base_model_name_or_path: 'microsoft/bitnet-b1.58-2B-4T-bf16', task_type: 'CAUSAL_LM' });
  t.same(config.target_modules, ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']);

  const float = await SafetensorsFile.open(join(out, 'adapter_model.safetensors'));
  const exact = decodeSafetensors(await readFile(join(out, 'adapter_model.int32.safetensors')));
  try {
    const expected: string[] = [];
    for (let l = 0; l < cfg.nLayers; l++) {
      for (const p of loraTargets(cfg)) {
        const { K, N } = loraDims(cfg, p);
        for (const [m, shape, ints] of [['A', [4, K], head[l][p]!.a], ['B', [N, 4], head[l][p]!.b]] as const) {
          const key = `base_model.model.model.layers.${l}.${HF[p]}.lora_${m}.weight`;
          expected.push(key);
          const entry = float.tensors.get(key);
          t.ok(entry, key);
          if (!entry) continue;
          t.equal(entry.dtype, 'F32');
          t.same(entry.shape, shape, `${key}: PEFT's shape`);
          const bytes = await float.read(key);
          const values = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
          const mismatch = values.findIndex((v, i) => v !== ints[i] / 65536);
          t.equal(mismatch, -1, `${key}: float = integer × 2^-16, exactly`);
          const int = exact.tensors.get(key);
          t.same(int?.shape, shape);
          t.equal(bytesToHex(new Uint8Array(int!.data.buffer, int!.data.byteOffset, int!.data.byteLength)), bytesToHex(new Uint8Array(ints.buffer, ints.byteOffset, ints.byteLength)), `${key}: the exact integers`);
        }
      }
    }
    t.same([...float.tensors.keys()].sort(), expected.sort(), 'nothing else in the float file');
    t.equal(float.metadata.format, 'pt');
    t.equal(exact.metadata.get('scale'), '2^-16');
    t.equal(exact.metadata.get('checkpoint_cid'), enc.cid.toString());
    const first = new Float32Array((await float.read('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight')).slice().buffer);
    t.same([first[0], first[1], first[2]], [1, -1, 2 ** -16], 'the extremes ±2^16 → ±1.0, one unit → 2^-16');
  } finally {
    await float.close();
  }

  // A wrong state hash, or neither/both of --cid and --file: a clear error, nothing written.
  const bad = await run(['checkpoint', 'export', '--file', file, '--out', join(dir, 'bad'), '--state-hash', '00'.repeat(32)]);
  t.not(bad.code, 0);
  t.match(bad.stderr, /state_hash/);
  const none = await run(['checkpoint', 'export', '--out', join(dir, 'none')]);
  t.not(none.code, 0);
  t.match(none.stderr, /exactly one of --cid CID or --file PATH/);
  t.end();
});
