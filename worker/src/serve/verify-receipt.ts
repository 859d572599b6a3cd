// verify-receipt: rebuild the model and base a receipt names, check the prompt against its hash,
// re-run the generation with the receipt's sampling parameters and seed, and compare the output
// hash (SPEC.md §13). The forward and the sampler are integer, so an honest receipt reproduces
// exactly, on any backend.

import { invalid, parseRequest } from './api.ts';
import type { ChatTemplate } from './chat.ts';
import { generate, type InferenceBackend, type Receipt, tokensHash } from './engine.ts';
import type { HeadSource } from './head.ts';
import { checkSampling } from './sampling.ts';

const HEX = /^[0-9a-f]{64}$/;
const UTF8 = new TextEncoder();

/** The receipt in a file: a bare receipt, or a whole response / final stream chunk holding `r3mes_receipt`. */
export function receiptFrom(json: unknown): Receipt {
  const r = (json && typeof json === 'object' && 'r3mes_receipt' in json ? (json as { r3mes_receipt: unknown }).r3mes_receipt : json) as Record<string, unknown>;
  const bad = (what: string): never => {
    throw new Error(`receipt: ${what}`);
  };
  if (!r || typeof r !== 'object') bad('not a JSON object');
  if (r.format !== 'r3mes/receipt/v1') bad(`format must be "r3mes/receipt/v1", got ${JSON.stringify(r.format)}`);
  for (const k of ['base_state_hash', 'prompt_hash', 'output_hash']) if (typeof r[k] !== 'string' || !HEX.test(r[k] as string)) bad(`${k} must be 64 hex digits`);
  for (const k of ['prompt_tokens', 'completion_tokens', 'temperature_q16', 'top_p_q16', 'max_tokens']) if (!Number.isSafeInteger(r[k]) || (r[k] as number) < 0) bad(`${k} must be a non-negative integer`);
  if (typeof r.model_version !== 'string' || !/^[1-9]\d*$/.test(r.model_version)) bad('model_version must be a decimal');
  if (!Array.isArray(r.base_windows) || !r.base_windows.every((w) => typeof w === 'string' && /^[1-9]\d*$/.test(w))) bad('base_windows must be a list of window ids');
  if (typeof r.seed !== 'string' || !/^-?\d+$/.test(r.seed)) bad('seed must be a decimal string');
  if (!Array.isArray(r.stop) || !r.stop.every((s) => typeof s === 'string')) bad('stop must be a list of strings');
  if (r.endpoint !== 'completions' && r.endpoint !== 'chat.completions') bad('endpoint must be completions or chat.completions');
  if (r.finish_reason !== 'stop' && r.finish_reason !== 'length') bad('finish_reason must be stop or length');
  return r as unknown as Receipt;
}

/** The prompt tokens of a request body as the server builds them (chat: rendered by `template`). */
export function promptOfRequest(receipt: Receipt, body: unknown, template: ChatTemplate, contextLength: number): Uint8Array {
  const withModel = body && typeof body === 'object' ? { model: receipt.model, ...(body as object), stream: false } : body;
  return parseRequest(receipt.endpoint, withModel, { contextLength, template, chooseSeed: () => 0n }).spec.prompt;
}

export interface ReceiptVerdict {
  match: boolean;
  checks: Record<string, boolean>;
  model: string;
  recomputed: { base_state_hash: string; prompt_hash: string; output_hash: string; completion_tokens: number; finish_reason: string; text: string };
}

export async function verifyReceipt(a: {
  receipt: Receipt;
  /** the prompt, or a request body to build it from */
  prompt: { text: string } | { request: unknown };
  heads: HeadSource;
  backend: InferenceBackend;
  template: ChatTemplate;
}): Promise<ReceiptVerdict> {
  const r = a.receipt;
  const head = await a.heads.forReceipt(BigInt(r.model_version), r.base_windows.map(BigInt));
  const b = head.model.identity.backbone;
  const backboneOk = 'seed' in r.backbone
    ? 'seed' in b && Buffer.from(b.seed).toString('hex') === r.backbone.seed
    : 'cid' in r.backbone ? 'cid' in b && b.cid === r.backbone.cid
    : 'manifest' in b && b.manifest === r.backbone.manifest;
  const seqLen = head.model.identity.cfg.seqLen;
  const prompt = 'text' in a.prompt ? UTF8.encode(a.prompt.text) : promptOfRequest(r, a.prompt.request, a.template, seqLen);
  const sampling = { temperatureQ16: r.temperature_q16, topPQ16: r.top_p_q16, seed: BigInt(r.seed) };
  checkSampling(sampling);
  if (prompt.length + r.max_tokens > seqLen) throw invalid(`receipt: prompt (${prompt.length}) + max_tokens (${r.max_tokens}) exceed the context length ${seqLen}`);
  const decoder = await a.backend.decoder(head);
  try {
    const gen = await generate(decoder, { prompt, maxTokens: r.max_tokens, sampling, stop: r.stop.map((s) => UTF8.encode(s)) });
    const recomputed = {
      base_state_hash: head.baseStateHash, prompt_hash: tokensHash(prompt), output_hash: tokensHash(gen.tokens),
      completion_tokens: gen.tokens.length, finish_reason: gen.finishReason, text: new TextDecoder().decode(gen.text),
    };
    const checks: Record<string, boolean> = {
      backbone: backboneOk,
      model: r.model === head.id,
      base_state_hash: recomputed.base_state_hash === r.base_state_hash,
      prompt_hash: recomputed.prompt_hash === r.prompt_hash && prompt.length === r.prompt_tokens,
      output_hash: recomputed.output_hash === r.output_hash && recomputed.completion_tokens === r.completion_tokens,
      finish_reason: recomputed.finish_reason === r.finish_reason,
    };
    if (r.endpoint === 'chat.completions' && 'request' in a.prompt) checks.chat_template = r.chat_template_sha256 === a.template.sha256;
    return { match: Object.values(checks).every(Boolean), checks, model: head.id, recomputed };
  } finally {
    decoder.close();
  }
}
