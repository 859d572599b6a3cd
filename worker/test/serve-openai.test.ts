// End to end without a chain: `r3mes-worker serve-model --model-version-file` on a generated
// devnet-size model (the devnet's architecture), driven by the stock `openai` npm client. A chat
// completion streams, its receipt verifies with `r3mes-worker verify-receipt` (and a tampered one
// does not), a plain completion works, and the same request gives the same tokens from a node on
// the CPU and a node on WebGPU (Mesa's llvmpipe here; the test prints the adapter).

import t from 'tap';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import OpenAI from 'openai';
import { DEVNET_VERSION_JSON } from './helpers/serve.ts';

const BIN = fileURLToPath(new URL('../bin/r3mes-worker', import.meta.url));
const dir = t.testdir();
const versionFile = join(dir, 'version.json');
writeFileSync(versionFile, JSON.stringify(DEVNET_VERSION_JSON));

/** Starts serve-model, resolves with its base URL once it listens. */
async function startNode(backend: 'cpu' | 'webgpu'): Promise<{ url: string; proc: ChildProcess; log: () => string }> {
  const proc = spawn(BIN, ['serve-model', '--model-version-file', versionFile, '--listen', '127.0.0.1:0', '--backend', backend, '--max-queue', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  t.teardown(() => { proc.kill('SIGTERM'); });
  const url = await new Promise<string>((resolve, reject) => {
    proc.stderr!.on('data', (b: Buffer) => {
      log += b.toString();
      const m = /OpenAI-compatible API at (http:\/\/[^\s]+)\/v1/.exec(log);
      if (m) resolve(m[1]);
    });
    proc.on('exit', (code) => reject(new Error(`serve-model (${backend}) exited ${code}: ${log}`)));
  });
  return { url, proc, log: () => log };
}

async function verifyReceipt(args: string[]): Promise<{ code: number; out: any; err: string }> {
  try {
    const r = await promisify(execFile)(BIN, ['verify-receipt', ...args, '--model-version-file', versionFile, '--backend', 'cpu'], { timeout: 120_000 });
    return { code: 0, out: JSON.parse(r.stdout), err: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, out: err.stdout ? JSON.parse(err.stdout) : undefined, err: err.stderr };
  }
}

const request = {
  model: 'r3mes-v1@init',
  messages: [{ role: 'system' as const, content: 'You are terse.' }, { role: 'user' as const, content: 'Say hi' }],
  max_tokens: 14, temperature: 0.9, top_p: 0.95, seed: 1234,
};

t.test('the openai client streams a chat completion; its receipt verifies; CPU = WebGPU', async (t) => {
  const cpu = await startNode('cpu');
  t.match(cpu.log(), /serve-model: r3mes-v1@init \(model version 1, base the initial adapter/);
  const client = new OpenAI({ baseURL: `${cpu.url}/v1`, apiKey: 'unused', maxRetries: 0 });

  const models = await client.models.list();
  t.same(models.data.map((m) => m.id), ['r3mes-v1@init'], 'models.list()');

  const stream = await client.chat.completions.create({ ...request, stream: true });
  let text = '';
  let chunks = 0;
  let receipt: any;
  let finish: string | null = null;
  for await (const chunk of stream) {
    chunks++;
    text += chunk.choices[0]?.delta?.content ?? '';
    if (chunk.choices[0]?.finish_reason) finish = chunk.choices[0].finish_reason;
    if ((chunk as any).r3mes_receipt) receipt = (chunk as any).r3mes_receipt;
  }
  t.ok(chunks >= 3, `${chunks} chunks streamed`);
  t.equal(finish, 'length');
  t.match(receipt, { format: 'r3mes/receipt/v1', model: 'r3mes-v1@init', endpoint: 'chat.completions', completion_tokens: 14, seed: '1234', temperature_q16: 58982, top_p_q16: 62259, backend: 'cpu' });

  // Non-streamed, the same request gives the same text and output hash.
  const whole = await client.chat.completions.create(request);
  t.equal(whole.choices[0].message.content, text, 'streamed = non-streamed');
  t.equal((whole as any).r3mes_receipt.output_hash, receipt.output_hash);

  // verify-receipt re-runs it from the request.
  writeFileSync(join(dir, 'receipt.json'), JSON.stringify(receipt));
  writeFileSync(join(dir, 'request.json'), JSON.stringify(request));
  const ok = await verifyReceipt([join(dir, 'receipt.json'), '--request', join(dir, 'request.json')]);
  t.equal(ok.code, 0, `verify-receipt exits 0 (${ok.err.trim()})`);
  t.equal(ok.out.match, true);
  t.same(ok.out.checks, { backbone: true, model: true, base_state_hash: true, prompt_hash: true, output_hash: true, finish_reason: true, chat_template: true });
  t.equal(ok.out.recomputed.text, text, 'the recomputed text is the streamed text');
  // ... and from the rendered prompt text.
  const byText = await verifyReceipt([join(dir, 'receipt.json'), '--prompt', 'system: You are terse.\nuser: Say hi\nassistant:']);
  t.equal(byText.out?.match, true, '--prompt with the rendered text');

  // A receipt with another output, or a request it was not made for, does not verify.
  writeFileSync(join(dir, 'forged.json'), JSON.stringify({ ...receipt, output_hash: receipt.prompt_hash }));
  const forged = await verifyReceipt([join(dir, 'forged.json'), '--request', join(dir, 'request.json')]);
  t.equal(forged.code, 3, 'forged output hash: exit 3');
  t.equal(forged.out.checks.output_hash, false);
  writeFileSync(join(dir, 'other-seed.json'), JSON.stringify({ ...receipt, seed: '1235' }));
  t.equal((await verifyReceipt([join(dir, 'other-seed.json'), '--request', join(dir, 'request.json')])).code, 3, 'another seed: exit 3');
  writeFileSync(join(dir, 'request2.json'), JSON.stringify({ ...request, messages: [{ role: 'user', content: 'Say bye' }] }));
  const other = await verifyReceipt([join(dir, 'receipt.json'), '--request', join(dir, 'request2.json')]);
  t.equal(other.code, 3, 'another prompt: exit 3');
  t.equal(other.out.checks.prompt_hash, false);

  // A plain completion, and an OpenAI error surfacing as the client's typed error.
  const comp = await client.completions.create({ model: 'r3mes-v1', prompt: 'It was the', max_tokens: 5, temperature: 0 });
  t.equal((comp as any).r3mes_receipt.completion_tokens, 5);
  const err = await client.completions.create({ model: 'r3mes-v1', prompt: 'x'.repeat(60), max_tokens: 10 }).catch((e) => e);
  t.ok(err instanceof OpenAI.BadRequestError, 'context overflow → BadRequestError');
  t.equal(err.code, 'context_length_exceeded');
  t.equal(err.param, 'max_tokens');

  // The same request on a WebGPU node.
  const gpu = await startNode('webgpu');
  t.comment(gpu.log().split('\n').find((l) => l.includes(' on ')) ?? '');
  const gclient = new OpenAI({ baseURL: `${gpu.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  let gtext = '';
  let greceipt: any;
  for await (const chunk of await gclient.chat.completions.create({ ...request, stream: true })) {
    gtext += chunk.choices[0]?.delta?.content ?? '';
    if ((chunk as any).r3mes_receipt) greceipt = (chunk as any).r3mes_receipt;
  }
  t.equal(greceipt.backend, 'webgpu');
  t.equal(greceipt.output_hash, receipt.output_hash, 'WebGPU node: the same output tokens as the CPU node');
  t.equal(gtext, text);
  const { backend: _b1, ...a } = greceipt;
  const { backend: _b2, ...b } = receipt;
  t.same(a, b, 'the receipts agree in everything but the backend label');
});
