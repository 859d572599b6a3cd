// The OpenAI request bodies this node accepts, turned into a generation spec, and the OpenAI-style
// errors it answers: `{error: {message, type, param, code}}` with the HTTP status OpenAI uses.

import { randomBytes } from 'node:crypto';
import type { ChatMessage, ChatTemplate } from './chat.ts';
import type { GenerationSpec } from './engine.ts';
import { Q16, TEMPERATURE_MAX_Q16, toQ16 } from './sampling.ts';

export class ApiError extends Error {
  constructor(
    readonly status: number, message: string, readonly type: string, readonly param: string | null = null, readonly code: string | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  body(): { error: { message: string; type: string; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export const invalid = (message: string, param: string | null = null, code: string | null = null) =>
  new ApiError(400, message, 'invalid_request_error', param, code);

export type Endpoint = 'completions' | 'chat.completions';

export interface ParsedRequest {
  readonly endpoint: Endpoint;
  readonly model: string;
  readonly spec: GenerationSpec;
  readonly stop: string[];
  readonly stream: boolean;
  readonly includeUsage: boolean;
  /** the seed was chosen by the server (the request had none) */
  readonly seedChosen: boolean;
}

export interface ParseContext {
  readonly contextLength: number;
  readonly template: ChatTemplate;
  /** seed for a request without one (default: 53 random bits) */
  readonly chooseSeed?: () => bigint;
}

const UTF8 = new TextEncoder();
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function num(body: Record<string, unknown>, key: string, lo: number, hi: number, def: number): number {
  const v = body[key];
  if (v === undefined || v === null) return def;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) throw invalid(`${key} must be a number in [${lo}, ${hi}], got ${JSON.stringify(v)}`, key);
  return v;
}

function int(body: Record<string, unknown>, key: string, lo: number, hi: number): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < lo || v > hi) throw invalid(`${key} must be an integer in [${lo}, ${hi}], got ${JSON.stringify(v)}`, key);
  return v;
}

function stopOf(body: Record<string, unknown>): string[] {
  const v = body.stop;
  if (v === undefined || v === null) return [];
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || list.length > 4 || !list.every((s) => typeof s === 'string' && s.length > 0)) {
    throw invalid('stop must be a non-empty string or an array of at most 4 non-empty strings', 'stop');
  }
  return list as string[];
}

function promptOf(body: Record<string, unknown>): Uint8Array {
  let p = body.prompt;
  if (p === undefined || p === null) throw invalid('you must provide a prompt', 'prompt', 'missing_required_parameter');
  if (Array.isArray(p) && p.length === 1 && typeof p[0] === 'string') p = p[0];
  if (typeof p === 'string') return UTF8.encode(p);
  // A list of token ids: bytes on the byte-level models.
  if (Array.isArray(p) && p.every((t) => Number.isInteger(t) && (t as number) >= 0 && (t as number) <= 255)) return Uint8Array.from(p as number[]);
  throw invalid('prompt must be a string, a list of one string, or a list of token ids (0..255 on a byte-level model)', 'prompt');
}

function messagesOf(body: Record<string, unknown>): ChatMessage[] {
  const ms = body.messages;
  if (!Array.isArray(ms) || ms.length === 0) throw invalid('messages must be a non-empty array', 'messages', ms === undefined ? 'missing_required_parameter' : null);
  return ms.map((m, i) => {
    const param = `messages[${i}]`;
    if (!isObj(m)) throw invalid(`${param} must be an object`, param);
    if (typeof m.role !== 'string' || !['system', 'developer', 'user', 'assistant', 'tool'].includes(m.role)) {
      throw invalid(`${param}.role must be one of system, developer, user, assistant, tool`, `${param}.role`);
    }
    let content = m.content;
    if (Array.isArray(content)) {
      if (!content.every((c) => isObj(c) && c.type === 'text' && typeof c.text === 'string')) {
        throw invalid(`${param}.content: only text parts ({type: "text", text}) are supported by this model`, `${param}.content`);
      }
      content = content.map((c) => (c as { text: string }).text).join('');
    }
    if (content === null || content === undefined) content = '';
    if (typeof content !== 'string') throw invalid(`${param}.content must be a string or a list of text parts`, `${param}.content`);
    return { role: m.role, content, ...(typeof m.name === 'string' ? { name: m.name } : {}) };
  });
}

const randomSeed = (): bigint => BigInt(`0x${randomBytes(8).toString('hex')}`) & ((1n << 53n) - 1n);

/** Validates a request body of `endpoint` and builds its generation spec (400s name the parameter). */
export function parseRequest(endpoint: Endpoint, raw: unknown, ctx: ParseContext): ParsedRequest {
  if (!isObj(raw)) throw invalid('the request body must be a JSON object');
  const body = raw;
  if (typeof body.model !== 'string' || body.model === '') throw invalid('you must provide a model parameter', 'model', 'missing_required_parameter');
  const n = int(body, 'n', 1, 1);
  if (n !== undefined && n !== 1) throw invalid('n must be 1', 'n');
  if (int(body, 'best_of', 1, 1) !== undefined && body.best_of !== 1) throw invalid('best_of must be 1', 'best_of');
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== 'boolean') throw invalid('stream must be a boolean', 'stream');
  const stream = body.stream === true;
  const so = body.stream_options;
  if (so !== undefined && so !== null && !isObj(so)) throw invalid('stream_options must be an object', 'stream_options');
  const includeUsage = isObj(so) && so.include_usage === true;

  const prompt = endpoint === 'completions' ? promptOf(body) : UTF8.encode(ctx.template.render(messagesOf(body)));
  const promptParam = endpoint === 'completions' ? 'prompt' : 'messages';
  if (prompt.length === 0) throw invalid('the prompt is empty: a byte-level model needs at least one byte to continue', promptParam);
  if (prompt.length >= ctx.contextLength) {
    throw invalid(`This model's maximum context length is ${ctx.contextLength} tokens. However, your ${endpoint === 'completions' ? 'prompt' : 'messages'} resulted in ${prompt.length} tokens, which leaves no room for a completion.`, promptParam, 'context_length_exceeded');
  }
  const maxKey = endpoint === 'chat.completions' && body.max_completion_tokens !== undefined && body.max_completion_tokens !== null ? 'max_completion_tokens' : 'max_tokens';
  const room = ctx.contextLength - prompt.length;
  const given = int(body, maxKey, 1, Number.MAX_SAFE_INTEGER);
  // OpenAI's defaults: 16 for completions, "as much as fits" for chat.
  const maxTokens = given ?? (endpoint === 'completions' ? Math.min(16, room) : room);
  if (maxTokens > room) {
    throw invalid(`This model's maximum context length is ${ctx.contextLength} tokens. However, you requested ${prompt.length + maxTokens} tokens (${prompt.length} in the ${endpoint === 'completions' ? 'prompt' : 'messages'}, ${maxTokens} in the completion). Please reduce the length of the ${endpoint === 'completions' ? 'prompt' : 'messages'} or completion.`, maxKey, 'context_length_exceeded');
  }
  const temperature = num(body, 'temperature', 0, TEMPERATURE_MAX_Q16 / Q16, 1);
  const topP = num(body, 'top_p', 0, 1, 1);
  const seedGiven = body.seed !== undefined && body.seed !== null;
  if (seedGiven && (typeof body.seed !== 'number' || !Number.isSafeInteger(body.seed))) throw invalid('seed must be an integer with |seed| < 2^53', 'seed');
  const seed = seedGiven ? BigInt(body.seed as number) : (ctx.chooseSeed ?? randomSeed)();
  const stop = stopOf(body);
  return {
    endpoint, model: body.model, stream, includeUsage, stop, seedChosen: !seedGiven,
    spec: { prompt, maxTokens, sampling: { temperatureQ16: toQ16(temperature), topPQ16: toQ16(topP), seed }, stop: stop.map((s) => UTF8.encode(s)) },
  };
}
