// `r3mes-worker model inspect DIR` through the real binary: the text report, --json, the manifest
// it writes, --expect, and a broken directory → one error line naming the tensor, exit 1.
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { BitNetArchitecture } from '../src/checkpoint/config.ts';
import { buildManifest } from '../src/checkpoint/manifest.ts';
import { cidOf } from '../src/storage/cid.ts';
import { writeCheckpoint } from '../src/checkpoint/write.ts';

const BIN = fileURLToPath(new URL('../bin/r3mes-worker', import.meta.url));
const run = async (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
  try {
    const r = await promisify(execFile)(BIN, args, { timeout: 120_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
};

const ARCH: BitNetArchitecture = {
  architecture: 'BitNetForCausalLM', hiddenSize: 256, intermediateSize: 704, numLayers: 3, numHeads: 8, numKvHeads: 2, headDim: 32,
  vocabSize: 1000, maxPositions: 2048, ropeTheta: 500000, rmsNormEps: 1e-5, tieWordEmbeddings: true, hiddenAct: 'relu2',
};

t.test('model inspect', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'r3mes-inspect-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const dir = join(root, 'bitnet');
  await writeCheckpoint(dir, ARCH, { form: 'packed', seed: 1, shards: 2 });
  const { cid } = await buildManifest(dir);

  const text = await run(['model', 'inspect', dir, '--manifest-out', join(root, 'manifest.json')]);
  t.equal(text.code, 0, text.stderr);
  t.match(text.stdout, /BitNetForCausalLM \(packed weights\)/);
  t.match(text.stdout, /8 query, 2 key\/value \(GQA 4:1\), head dim 32/);
  t.match(text.stdout, /ternary\s+2\.11 M \(2113536\)/); // 3 · (2·256² + 2·64·256 + 3·704·256)
  t.match(text.stdout, /cpu \(packed 2-bit, layer streaming\): [\d.]+ MiB/);
  t.match(text.stdout, new RegExp(`manifest CID ${cid}\\n$`));
  t.equal((await cidOf(new Uint8Array(await readFile(join(root, 'manifest.json'))))).toString(), cid, '--manifest-out writes the manifest the CID names');

  const json = await run(['model', 'inspect', dir, '--json', '--rank', '8', '--targets', 'q,v,gate']);
  t.equal(json.code, 0, json.stderr);
  const report = JSON.parse(json.stdout);
  t.equal(report.manifestCid, cid);
  t.equal(report.form, 'packed');
  t.equal(report.architecture.numKvHeads, 2);
  t.equal(report.parameters.ternary, 2113536);
  t.equal(report.parameters.lora, 3 * 8 * ((256 + 256) + (64 + 256) + (704 + 256)));
  t.same(report.parameters.loraTargets, ['q', 'v', 'gate']);
  t.equal(report.files.length, 6);
  t.ok(report.memory.cpu.totalBytes > 0 && report.memory.gpu.totalBytes >= report.memory.cpu.totalBytes);

  const ok = await run(['model', 'inspect', dir, '--json', '--expect', cid]);
  t.equal(ok.code, 0, '--expect with the right CID');
  const wrong = await run(['model', 'inspect', dir, '--expect', 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku']);
  t.equal(wrong.code, 1);
  t.match(wrong.stderr, /^error \[checkpoint\/8\]: .* its manifest has CID \w+, not the expected bafkrei/m);

  const badTarget = await run(['model', 'inspect', dir, '--targets', 'q,lm_head']);
  t.equal(badTarget.code, 1);
  t.match(badTarget.stderr, /--targets: "lm_head" is not one of/);

  const broken = join(root, 'broken');
  await writeCheckpoint(broken, ARCH, { form: 'bf16', seed: 1, mutate: (x) => (x.name === 'model.layers.2.self_attn.v_proj.weight' ? { ...x, shape: [32, 512] } : x) });
  const bad = await run(['model', 'inspect', broken]);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /^error \[checkpoint\/5\]: model\.layers\.2\.self_attn\.v_proj\.weight \(model\.safetensors\): shape \[32, 512\], expected \[64, 256\]\n$/);
  t.equal(bad.stdout, '', 'nothing on stdout');
  const missing = await run(['model', 'inspect', join(root, 'nowhere')]);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /^error \[checkpoint\/1\]: config\.json: cannot read/);
});
