// The serving node's HTTP API without a chain (src/serve/server.ts on a generated model):
// OpenAI-style error bodies for bad requests, the context-length refusal, the queue bound (429),
// a client that goes away mid-stream, stop sequences, receipts in body and header, and a server
// that answers other requests while it generates.

import t, { type Test } from 'tap';
import { CpuDecoder, type Decoder } from '../src/model/decode.ts';
import { defaultChatTemplate, loadChatTemplate } from '../src/serve/chat.ts';
import { cpuInference, generate, type InferenceBackend, type Receipt, tokensHash } from '../src/serve/engine.ts';
import { GenerationQueue, QueueFullError } from '../src/serve/queue.ts';
import { buildInferenceServer } from '../src/serve/server.ts';
import { devnetModel, head, trainedAdapter } from './helpers/serve.ts';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const model = devnetModel();
const served = head(model, trainedAdapter(model.identity.cfg, 11), [3n, 5n]);

/** A CPU decoder whose appends wait for `open()`: holds a generation in progress on purpose. */
function gatedBackend(): { backend: InferenceBackend; open: () => void; entered: Promise<void> } {
  let release!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  let entered!: () => void;
  const enteredP = new Promise<void>((r) => { entered = r; });
  const backend: InferenceBackend = {
    name: 'cpu', adapter: 'gated cpu',
    decoder: async (h) => {
      const inner = new CpuDecoder(h.model.backbone, h.lq);
      const d: Decoder = {
        get length() { return inner.length; },
        capacity: inner.capacity,
        append: async (tokens, all) => {
          entered();
          await gate;
          return inner.append(tokens, all);
        },
        reset: () => inner.reset(),
        close: () => inner.close(),
      };
      return d;
    },
    close: () => {},
  };
  return { backend, open: release, entered: enteredP };
}

async function server(t: Test, backend: InferenceBackend = cpuInference(), maxQueue = 4) {
  const s = await buildInferenceServer({ head: () => served, backend, template: defaultChatTemplate(), maxQueue });
  t.teardown(() => s.app.close());
  return s;
}

const post = (url: string, payload: unknown) => ({ method: 'POST' as const, url, payload: payload as object });
const errShape = (t: Test, body: any, status: number, res: { statusCode: number }, param: string | null, code: string | null, what: string) => {
  t.equal(res.statusCode, status, `${what}: HTTP ${status}`);
  t.same(Object.keys(body.error).sort(), ['code', 'message', 'param', 'type'], `${what}: {error: {message, type, param, code}}`);
  t.equal(body.error.param, param, `${what}: param`);
  t.equal(body.error.code, code, `${what}: code`);
  t.type(body.error.message, 'string');
};

t.test('GET /v1/models names the model version and base', async (t) => {
  const { app } = await server(t);
  const res = await app.inject({ method: 'GET', url: '/v1/models' });
  t.equal(res.statusCode, 200);
  t.same(res.json(), { object: 'list', data: [{ id: 'r3mes-v1@w5', object: 'model', created: 0, owned_by: 'r3mes' }] });
  t.equal((await app.inject({ method: 'GET', url: '/v1/models/r3mes-v1@w5' })).statusCode, 200);
  errShape(t, (await app.inject({ method: 'GET', url: '/v1/models/gpt-4' })).json(), 404, { statusCode: 404 }, 'model', 'model_not_found', 'unknown model id');
});

t.test('bad requests get OpenAI-style error bodies', async (t) => {
  const { app, counters } = await server(t);
  const M = served.id;
  const cases: Array<[string, unknown, number, string | null, string | null]> = [
    ['no model', { prompt: 'hi' }, 400, 'model', 'missing_required_parameter'],
    ['no prompt', { model: M }, 400, 'prompt', 'missing_required_parameter'],
    ['empty prompt', { model: M, prompt: '' }, 400, 'prompt', null],
    ['another model', { model: 'gpt-4o', prompt: 'hi' }, 404, 'model', 'model_not_found'],
    ['temperature 3', { model: M, prompt: 'hi', temperature: 3 }, 400, 'temperature', null],
    ['top_p 1.5', { model: M, prompt: 'hi', top_p: 1.5 }, 400, 'top_p', null],
    ['seed 0.5', { model: M, prompt: 'hi', seed: 0.5 }, 400, 'seed', null],
    ['n 2', { model: M, prompt: 'hi', n: 2 }, 400, 'n', null],
    ['five stops', { model: M, prompt: 'hi', stop: ['a', 'b', 'c', 'd', 'e'] }, 400, 'stop', null],
    ['max_tokens 0', { model: M, prompt: 'hi', max_tokens: 0 }, 400, 'max_tokens', null],
    ['prompt + max_tokens > 64', { model: M, prompt: 'hello', max_tokens: 60 }, 400, 'max_tokens', 'context_length_exceeded'],
    ['prompt of 64 bytes', { model: M, prompt: 'x'.repeat(64) }, 400, 'prompt', 'context_length_exceeded'],
    ['token id 300', { model: M, prompt: [1, 300] }, 400, 'prompt', null],
  ];
  for (const [what, body, status, param, code] of cases) {
    const res = await app.inject(post('/v1/completions', body));
    errShape(t, res.json(), status, res, param, code, what);
  }
  const chatCases: Array<[string, unknown, string | null]> = [
    ['no messages', { model: M }, 'messages'],
    ['bad role', { model: M, messages: [{ role: 'wizard', content: 'x' }] }, 'messages[0].role'],
    ['image part', { model: M, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] }, 'messages[0].content'],
    ['messages too long', { model: M, messages: [{ role: 'user', content: 'y'.repeat(70) }] }, 'messages'],
    ['max_completion_tokens too many', { model: M, messages: [{ role: 'user', content: 'hi' }], max_completion_tokens: 60 }, 'max_completion_tokens'],
  ];
  for (const [what, body, param] of chatCases) {
    const res = await app.inject(post('/v1/chat/completions', body));
    errShape(t, res.json(), 400, res, param, what.includes('long') || what.includes('many') ? 'context_length_exceeded' : res.json().error.code, what);
  }
  const badJson = await app.inject({ method: 'POST', url: '/v1/completions', payload: '{"model": ', headers: { 'content-type': 'application/json' } });
  errShape(t, badJson.json(), 400, badJson, null, badJson.json().error.code, 'malformed JSON');
  const nowhere = await app.inject({ method: 'POST', url: '/v1/embeddings', payload: {} });
  errShape(t, nowhere.json(), 404, nowhere, null, 'unknown_url', 'unknown URL');
  t.equal(counters.completed, 0, 'no bad request generated anything');
});

t.test('a completion: text, usage, receipt in the body and the header', async (t) => {
  const { app } = await server(t);
  const res = await app.inject(post('/v1/completions', { model: 'r3mes-v1', prompt: 'The jury', max_tokens: 12, temperature: 0.8, top_p: 0.9, seed: 7 }));
  t.equal(res.statusCode, 200);
  const body = res.json();
  const r: Receipt = body.r3mes_receipt;
  t.equal(body.object, 'text_completion');
  t.equal(body.model, 'r3mes-v1@w5');
  t.same(body.usage, { prompt_tokens: 8, completion_tokens: 12, total_tokens: 20 });
  t.equal(body.choices[0].finish_reason, 'length');
  t.match(r, {
    format: 'r3mes/receipt/v1', model: 'r3mes-v1@w5', model_version: '1', base_windows: ['3', '5'], base_state_hash: served.baseStateHash,
    endpoint: 'completions', prompt_tokens: 8, prompt_hash: tokensHash(new TextEncoder().encode('The jury')), completion_tokens: 12,
    temperature_q16: 52429, top_p_q16: 58982, seed: '7', max_tokens: 12, stop: [], finish_reason: 'length', backend: 'cpu',
  });
  t.same(JSON.parse(Buffer.from(res.headers['x-r3mes-receipt'] as string, 'base64url').toString('utf8')), r, 'the header carries the same receipt');
  const again = (await app.inject(post('/v1/completions', { model: 'r3mes-v1', prompt: 'The jury', max_tokens: 12, temperature: 0.8, top_p: 0.9, seed: 7 }))).json();
  t.equal(again.choices[0].text, body.choices[0].text, 'same request + seed → same text');
  t.equal(again.r3mes_receipt.output_hash, r.output_hash);
  const unseeded = (await app.inject(post('/v1/completions', { model: 'r3mes-v1', prompt: 'The jury', max_tokens: 4 }))).json();
  t.match(unseeded.r3mes_receipt.seed, /^\d+$/, 'no seed in the request: the receipt names the one chosen');
});

t.test('stop sequences cut the text (and count in the output hash)', async (t) => {
  const { app } = await server(t);
  const req = { model: served.id, prompt: 'It was the best of times', max_tokens: 40, temperature: 0 };
  const free = (await app.inject(post('/v1/completions', req))).json();
  t.equal(free.usage.completion_tokens, 40);
  // The greedy tokens (the same integers the server ran), and a printable pair among them as the stop.
  const gen = await generate(new CpuDecoder(served.model.backbone, served.lq), {
    prompt: new TextEncoder().encode(req.prompt), maxTokens: 40, sampling: { temperatureQ16: 0, topPQ16: 65536, seed: 0n }, stop: [],
  });
  t.equal(tokensHash(gen.tokens), free.r3mes_receipt.output_hash, 'the server sampled these tokens');
  const printable = (b: number) => b >= 0x20 && b < 0x7f;
  let i = 3;
  while (i < 38 && !(printable(gen.tokens[i]) && printable(gen.tokens[i + 1]))) i++;
  t.ok(i < 38, 'a printable pair in the output');
  const stop = String.fromCharCode(gen.tokens[i], gen.tokens[i + 1]);
  let j = 0;
  while (!(gen.tokens[j] === gen.tokens[i] && gen.tokens[j + 1] === gen.tokens[i + 1])) j++; // its first occurrence
  const cut = (await app.inject(post('/v1/completions', { ...req, stop: ['zzzzqqqq', stop] }))).json();
  t.equal(cut.choices[0].finish_reason, 'stop');
  t.equal(cut.choices[0].text, new TextDecoder().decode(gen.tokens.subarray(0, j)), 'text ends before the stop sequence');
  t.equal(cut.usage.completion_tokens, j + 2, 'the tokens sampled include the stop sequence');
  t.equal(cut.r3mes_receipt.output_hash, tokensHash(gen.tokens.subarray(0, j + 2)));
  t.same(cut.r3mes_receipt.stop, ['zzzzqqqq', stop]);
});

t.test('streaming: SSE chunks, the receipt on the last one, then [DONE]', async (t) => {
  const { app } = await server(t);
  const res = await app.inject(post('/v1/chat/completions', {
    model: served.id, messages: [{ role: 'user', content: 'Hello' }], max_tokens: 10, seed: 3, stream: true, stream_options: { include_usage: true },
  }));
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /text\/event-stream/);
  const events = res.body.split('\n\n').filter((e) => e !== '');
  t.ok(events.every((e) => e.startsWith('data: ')), 'every event is a data: line');
  t.equal(events[events.length - 1], 'data: [DONE]');
  const chunks = events.slice(0, -1).map((e) => JSON.parse(e.slice(6)));
  t.same(chunks[0].choices[0].delta, { role: 'assistant', content: '' });
  const final = chunks[chunks.length - 2];
  t.equal(final.choices[0].finish_reason, 'length');
  t.equal(final.r3mes_receipt.endpoint, 'chat.completions');
  t.equal(final.r3mes_receipt.chat_template_sha256, defaultChatTemplate().sha256);
  t.equal(final.r3mes_receipt.prompt_tokens, new TextEncoder().encode('user: Hello\nassistant:').length, 'the default template renders "user: Hello\\nassistant:"');
  t.same(chunks[chunks.length - 1].usage, { prompt_tokens: 22, completion_tokens: 10, total_tokens: 32 }, 'include_usage: a last chunk with usage');
  const streamed = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
  const whole = (await app.inject(post('/v1/chat/completions', { model: served.id, messages: [{ role: 'user', content: 'Hello' }], max_tokens: 10, seed: 3 }))).json();
  t.equal(streamed, whole.choices[0].message.content, 'streamed text = the non-streamed answer');
  t.equal(final.r3mes_receipt.output_hash, whole.r3mes_receipt.output_hash);
});

t.test('the chat template comes from tokenizer_config.json when it has one', async (t) => {
  const dir = t.testdir();
  const path = join(dir, 'tokenizer_config.json');
  writeFileSync(path, JSON.stringify({ bos_token: { content: '<s>' }, chat_template: "{{ bos_token }}{% for m in messages %}[{{ m.role | upper }}] {{ m.content }}{% endfor %}{% if add_generation_prompt %}[BOT]{% endif %}" }));
  const tpl = await loadChatTemplate(path);
  t.equal(tpl.render([{ role: 'user', content: 'hi' }]), '<s>[USER] hi[BOT]');
  writeFileSync(path, JSON.stringify({ model_max_length: 64 }));
  t.equal((await loadChatTemplate(path)).source, defaultChatTemplate().source, 'no chat_template → the default');
  writeFileSync(path, JSON.stringify({ chat_template: '{% for %}' }));
  await t.rejects(loadChatTemplate(path), /does not parse/);
});

t.test('the queue: one runs, maxQueue wait, the rest get 429; the server never stops answering', async (t) => {
  // Unit: the queue itself.
  const q = new GenerationQueue(1);
  const a = q.enter();
  const b = q.enter();
  t.throws(() => q.enter(), QueueFullError, 'a third request while one runs and one waits');
  let bStarted = false;
  void b.ready.then(() => { bStarted = true; });
  await new Promise((r) => setImmediate(r));
  t.notOk(bStarted, 'the waiting one waits');
  a.release();
  await b.ready;
  t.ok(bStarted, 'released in order');
  b.release();
  t.notOk(q.busy);
  // withdraw: a waiting ticket leaves the line; a running one keeps its slot.
  const r1 = q.enter();
  const w1 = q.enter();
  r1.withdraw();
  t.ok(q.busy, 'withdraw does not free a running slot');
  w1.withdraw();
  t.equal(q.depth, 0, 'a waiting ticket withdrew');
  q.enter().release(); // the freed place can be taken again
  r1.release();
  t.notOk(q.busy, 'the withdrawn ticket never runs');

  // Server: a generation held in progress, one waiting, the next refused with 429.
  const gated = gatedBackend();
  const { app, counters } = await server(t, gated.backend, 1);
  const body = { model: served.id, prompt: 'abc', max_tokens: 2, seed: 1 };
  const first = app.inject(post('/v1/completions', body));
  await gated.entered;
  const second = app.inject(post('/v1/completions', body));
  await new Promise((r) => setImmediate(r));
  const third = await app.inject(post('/v1/completions', body));
  errShape(t, third.json(), 429, third, null, 'rate_limit_exceeded', 'beyond --max-queue');
  t.equal(third.json().error.type, 'rate_limit_error');
  const health = (await app.inject({ method: 'GET', url: '/health' })).json();
  t.match(health, { ok: true, busy: true, queued: 1 }, '/health answers while a generation runs');
  const busyMetrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  t.match(busyMetrics, /^r3mes_serve_queue\{state="busy"\} 1$/m, '/metrics: one generating');
  t.match(busyMetrics, /^r3mes_serve_queue\{state="queued"\} 1$/m, '/metrics: one waiting');
  gated.open();
  t.equal((await first).statusCode, 200);
  t.equal((await second).statusCode, 200);
  t.match(counters, { completed: 2, rejectedBusy: 1 });
  t.equal((await app.inject(post('/v1/completions', body))).statusCode, 200, 'served again after the rush');
  // /metrics reads the same counters /stats shows.
  const stats = (await app.inject({ method: 'GET', url: '/stats' })).json() as { counters: Record<string, number> };
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  const value = (line: RegExp) => Number(line.exec(text)?.[1]);
  t.equal(value(/^r3mes_serve_requests_total (\d+)$/m), stats.counters.requests, 'requests: /metrics = /stats');
  t.equal(value(/^r3mes_serve_outcomes_total\{outcome="completed"\} (\d+)$/m), 3, 'three completed');
  t.equal(value(/^r3mes_serve_outcomes_total\{outcome="rejectedBusy"\} (\d+)$/m), 1, 'one refused with 429');
  t.equal(value(/^r3mes_serve_tokens_total\{kind="completion"\} (\d+)$/m), stats.counters.completionTokens, 'completion tokens: /metrics = /stats');
  t.match(text, new RegExp(`^r3mes_serve_model_info\\{model="${served.id}"\\} 1$`, 'm'), 'the head served');
});

t.test('a client that goes away mid-stream frees the slot; the server goes on', async (t) => {
  const { app, counters } = await server(t, cpuInference(), 0);
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  const ac = new AbortController();
  const res = await fetch(`${address}/v1/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, signal: ac.signal,
    body: JSON.stringify({ model: served.id, prompt: 'a', max_tokens: 60, temperature: 0, stream: true }),
  });
  const reader = res.body!.getReader();
  await reader.read(); // the first event arrived: generation is under way
  ac.abort();
  await reader.read().catch(() => undefined);
  // The next request is served (maxQueue 0: it would get 429 if the slot were still held).
  for (let i = 0; i < 200 && counters.aborted === 0; i++) await new Promise((r) => setTimeout(r, 10));
  t.equal(counters.aborted, 1, 'the abandoned generation stopped');
  const ok = await fetch(`${address}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: served.id, prompt: 'b', max_tokens: 3 }) });
  t.equal(ok.status, 200);
});

t.test('a client that gives up while waiting in line leaves it at once', async (t) => {
  const gated = gatedBackend();
  const { app, counters, queue } = await server(t, gated.backend, 1);
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  const body = JSON.stringify({ model: served.id, prompt: 'abc', max_tokens: 2, seed: 1 });
  const send = (signal?: AbortSignal) => fetch(`${address}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal });
  const first = send();
  await gated.entered;
  const ac = new AbortController();
  const waiting = send(ac.signal).catch((e) => e);
  for (let i = 0; i < 500 && queue.depth === 0; i++) await new Promise((r) => setTimeout(r, 5));
  t.equal(queue.depth, 1, 'the second request waits');
  ac.abort();
  await waiting;
  for (let i = 0; i < 500 && queue.depth === 1; i++) await new Promise((r) => setTimeout(r, 5));
  t.equal(queue.depth, 0, 'it left the line');
  const third = send();
  for (let i = 0; i < 500 && queue.depth === 0; i++) await new Promise((r) => setTimeout(r, 5));
  t.equal(queue.depth, 1, 'a new request takes the free place (not 429)');
  gated.open();
  t.equal((await first).status, 200);
  t.equal((await third).status, 200);
  t.equal(counters.aborted, 1);
  t.equal(counters.rejectedBusy, 0);
});

t.test('the event loop runs between tokens: /health answers during a long generation', async (t) => {
  const { app } = await server(t, cpuInference(), 2);
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  const gen = fetch(`${address}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: served.id, prompt: 'abcd', max_tokens: 60, temperature: 0 }) });
  // Wait until the generation holds the queue, then ask for /health: it must answer while busy.
  let health: any;
  for (let i = 0; i < 500; i++) {
    health = await (await fetch(`${address}/health`)).json();
    if (health.busy) break;
  }
  t.equal(health.busy, true, '/health answered while a generation was running');
  t.equal((await gen).status, 200);
});

t.test('CORS (--cors-origin): an allowed origin gets the headers (on the SSE stream too) and a preflight 204; another origin gets none', async (t) => {
  const s = await buildInferenceServer({ head: () => served, backend: cpuInference(), template: defaultChatTemplate(), maxQueue: 2, corsOrigins: ['http://127.0.0.1:1317'] });
  t.teardown(() => s.app.close());
  const page = 'http://127.0.0.1:1317';
  const pre = await s.app.inject({ method: 'OPTIONS', url: '/v1/chat/completions', headers: { origin: page, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });
  t.equal(pre.statusCode, 204, 'preflight answered');
  t.equal(pre.headers['access-control-allow-origin'], page);
  t.match(String(pre.headers['access-control-allow-methods']), /POST/);
  t.equal(pre.headers['access-control-allow-headers'], 'content-type');
  const stream = await s.app.inject({ ...post('/v1/chat/completions', { model: served.id, messages: [{ role: 'user', content: 'hi' }], max_tokens: 3, stream: true }), headers: { origin: page } });
  t.equal(stream.statusCode, 200);
  t.match(stream.headers['content-type'], /text\/event-stream/);
  t.equal(stream.headers['access-control-allow-origin'], page, 'the hijacked SSE answer carries the header');
  t.match(stream.body, /r3mes_receipt/);
  const models = await s.app.inject({ method: 'GET', url: '/v1/models', headers: { origin: page } });
  t.equal(models.headers['access-control-allow-origin'], page);
  const other = await s.app.inject({ method: 'GET', url: '/v1/models', headers: { origin: 'http://evil.example' } });
  t.equal(other.statusCode, 200);
  t.equal(other.headers['access-control-allow-origin'], undefined, 'another origin: no CORS header');
  const otherPre = await s.app.inject({ method: 'OPTIONS', url: '/v1/chat/completions', headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' } });
  t.equal(otherPre.headers['access-control-allow-origin'], undefined, 'another origin\'s preflight is not allowed');
  // Without --cors-origin: no header at all (the default is same-origin only).
  const plain = await server(t);
  const none = await plain.app.inject({ method: 'GET', url: '/v1/models', headers: { origin: page } });
  t.equal(none.headers['access-control-allow-origin'], undefined);
});
