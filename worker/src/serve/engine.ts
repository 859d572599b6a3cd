// Generation on the served model head: a KV-cached decoder (CPU or WebGPU), the integer sampler,
// stop sequences, and the receipt that binds a response to the model, base, prompt, output and
// sampling parameters (SPEC.md §12, §13).

import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { AdapterState } from '../model/adapter.ts';
import { CpuDecoder, type Decoder } from '../model/decode.ts';
import { type LayerLoraQ, quantizeAdapter } from '../model/forward.ts';
import type { LoadedModel } from '../roles/model.ts';
import { stateHash } from '../train/hash.ts';
import { DrawStream, type SamplingParams, sampleToken } from './sampling.ts';

/** The model head being served: backbone + the adapter base (initial adapter + finalized windows). */
export interface ServedModel {
  readonly model: LoadedModel;
  readonly state: AdapterState;
  /** the finalized windows whose updates the base holds, ascending */
  readonly windows: readonly bigint[];
  /** stateHash_0 of the base (SPEC §6, momentum zero): the base's identity in receipts */
  readonly baseStateHash: string;
  /** the OpenAI model id: r3mes-v{version}@w{last window}, or @init with no update */
  readonly id: string;
  readonly lq: readonly LayerLoraQ[];
}

export function modelId(version: bigint, windows: readonly bigint[]): string {
  return `r3mes-v${version}@${windows.length === 0 ? 'init' : `w${windows[windows.length - 1]}`}`;
}

export function servedModel(model: LoadedModel, state: AdapterState, windows: readonly bigint[]): ServedModel {
  return {
    model, state, windows, baseStateHash: bytesToHex(stateHash(0, state)), id: modelId(model.identity.version, windows), lq: quantizeAdapter(state),
  };
}

/** Where the forward runs. Every backend computes the same integers (SPEC), so the same tokens. */
export interface InferenceBackend {
  readonly name: 'cpu' | 'webgpu';
  readonly adapter: string;
  /** a decoder over the served head (one sequence at a time) */
  decoder(head: ServedModel): Promise<Decoder>;
  close(): void;
}

export function cpuInference(): InferenceBackend {
  return {
    name: 'cpu', adapter: `cpu (TypeScript reference kernels, node ${process.version})`,
    decoder: async (head) => new CpuDecoder(head.model.backbone, head.lq),
    close: () => {},
  };
}

const UTF8 = new TextEncoder();
const TOKENS_DOMAIN = UTF8.encode('r3mes/tokens/v1');

/** SHA-256(utf8("r3mes/tokens/v1") ‖ u64le(n) ‖ u32le(token_0) ‖ … ‖ u32le(token_{n−1})), hex. */
export function tokensHash(tokens: ArrayLike<number>): string {
  const msg = new Uint8Array(TOKENS_DOMAIN.length + 8 + 4 * tokens.length);
  msg.set(TOKENS_DOMAIN, 0);
  const view = new DataView(msg.buffer);
  view.setBigUint64(TOKENS_DOMAIN.length, BigInt(tokens.length), true);
  for (let i = 0; i < tokens.length; i++) view.setUint32(TOKENS_DOMAIN.length + 8 + 4 * i, tokens[i], true);
  return bytesToHex(sha256(msg));
}

export interface GenerationSpec {
  /** prompt tokens (bytes of the UTF-8 prompt) */
  readonly prompt: Uint8Array;
  readonly maxTokens: number;
  readonly sampling: SamplingParams;
  /** stop sequences as bytes (their UTF-8), at most 4 */
  readonly stop: readonly Uint8Array[];
}

export type FinishReason = 'stop' | 'length';

export interface Generation {
  /** every sampled token, in order (a stop sequence that ended generation included) */
  readonly tokens: Uint8Array;
  /** the answer's bytes: tokens without the stop sequence and what follows */
  readonly text: Uint8Array;
  readonly finishReason: FinishReason;
  /** ms from the start of the prompt to the first sampled token */
  readonly firstTokenMs: number;
}

export interface GenerateOptions {
  /** called with the bytes that became final (never part of a possible stop sequence) */
  onBytes?: (bytes: Uint8Array) => void;
  signal?: AbortSignal;
  /** positions per prefill block; the event loop gets a turn between blocks and between tokens */
  prefillBlock?: number;
  /** no KV cache: recompute the whole sequence for every token (for benchmarks) */
  noCache?: boolean;
}

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

function endsWith(out: Uint8Array, n: number, s: Uint8Array): boolean {
  if (s.length === 0 || s.length > n) return false;
  for (let i = 0; i < s.length; i++) if (out[n - s.length + i] !== s[i]) return false;
  return true;
}

/** Longest suffix of out[0..n) that is a proper prefix of some stop sequence. */
function heldBack(out: Uint8Array, n: number, stop: readonly Uint8Array[]): number {
  let best = 0;
  for (const s of stop) {
    for (let k = Math.min(s.length - 1, n); k > best; k--) {
      let ok = true;
      for (let i = 0; i < k; i++) if (out[n - k + i] !== s[i]) { ok = false; break; }
      if (ok) { best = k; break; }
    }
  }
  return best;
}

function abortError(): Error {
  const e = new Error('generation aborted: the client went away');
  e.name = 'AbortError';
  return e;
}

/**
 * Generates up to spec.maxTokens tokens after spec.prompt. Token i is sampled from the logits of
 * the last position with draw i of the seed's stream; generation ends at max_tokens or when the
 * output ends with a stop sequence (the stop sequence is cut from the text, not from `tokens`).
 */
export async function generate(decoder: Decoder, spec: GenerationSpec, opts: GenerateOptions = {}): Promise<Generation> {
  const { prompt, maxTokens, stop } = spec;
  if (prompt.length < 1) throw new RangeError('the prompt must hold at least one token');
  if (prompt.length + maxTokens > decoder.capacity) throw new RangeError(`prompt (${prompt.length}) + max_tokens (${maxTokens}) exceed the context length ${decoder.capacity}`);
  const started = performance.now();
  const block = Math.max(1, opts.prefillBlock ?? 32);
  const draws = new DrawStream(spec.sampling.seed);
  const out = new Uint8Array(maxTokens);
  let n = 0;
  let emitted = 0;
  let firstTokenMs = 0;
  let finishReason: FinishReason = 'length';
  let cut = -1;
  decoder.reset();
  const check = () => {
    if (opts.signal?.aborted) throw abortError();
  };
  // Prefill: the prompt in blocks (the last block's last row gives the first token's logits).
  let logits: Int32Array | undefined;
  const full = new Uint8Array(prompt.length + maxTokens);
  full.set(prompt, 0);
  if (opts.noCache) {
    logits = await decoder.append(prompt);
  } else {
    for (let i = 0; i < prompt.length; i += block) {
      check();
      logits = await decoder.append(prompt.subarray(i, Math.min(prompt.length, i + block)));
      if (i + block < prompt.length) await yieldToLoop();
    }
  }
  while (n < maxTokens) {
    check();
    const tok = sampleToken(logits!, spec.sampling, draws, n);
    out[n++] = tok;
    full[prompt.length + n - 1] = tok;
    if (n === 1) firstTokenMs = performance.now() - started;
    const hit = stop.filter((s) => endsWith(out, n, s)).sort((a, b) => b.length - a.length)[0];
    if (hit) {
      finishReason = 'stop';
      cut = n - hit.length;
      break;
    }
    const safe = n - heldBack(out, n, stop);
    if (safe > emitted) {
      opts.onBytes?.(out.slice(emitted, safe));
      emitted = safe;
    }
    if (n === maxTokens) break;
    await yieldToLoop();
    if (opts.noCache) {
      decoder.reset();
      logits = await decoder.append(full.subarray(0, prompt.length + n));
    } else {
      logits = await decoder.append(out.subarray(n - 1, n));
    }
  }
  const textEnd = cut >= 0 ? cut : n;
  if (textEnd > emitted) opts.onBytes?.(out.slice(emitted, textEnd));
  return { tokens: out.slice(0, n), text: out.slice(0, textEnd), finishReason, firstTokenMs };
}

/** The receipt of one response (SPEC §13). Every field but `backend` is checked by verify-receipt. */
export interface Receipt {
  format: 'r3mes/receipt/v1';
  model: string;
  model_version: string;
  /** the backbone: its seed (hex) for a generated one, its CID for a file */
  backbone: { seed: string } | { cid: string } | { manifest: string };
  base_windows: string[];
  base_state_hash: string;
  endpoint: 'completions' | 'chat.completions';
  /** SHA-256 of the chat template text (chat only) */
  chat_template_sha256?: string;
  prompt_tokens: number;
  prompt_hash: string;
  completion_tokens: number;
  output_hash: string;
  temperature_q16: number;
  top_p_q16: number;
  seed: string;
  max_tokens: number;
  stop: string[];
  finish_reason: FinishReason;
  /** where it ran (informational: every backend gives the same tokens) */
  backend: string;
}

export function buildReceipt(head: ServedModel, a: {
  endpoint: Receipt['endpoint']; chatTemplateSha256?: string; spec: GenerationSpec; stop: string[]; gen: Generation; backend: string;
}): Receipt {
  const b = head.model.identity.backbone;
  return {
    format: 'r3mes/receipt/v1',
    model: head.id,
    model_version: head.model.identity.version.toString(),
    backbone: 'seed' in b ? { seed: bytesToHex(b.seed) } : 'cid' in b ? { cid: b.cid } : { manifest: b.manifest },
    base_windows: head.windows.map((w) => w.toString()),
    base_state_hash: head.baseStateHash,
    endpoint: a.endpoint,
    ...(a.chatTemplateSha256 !== undefined ? { chat_template_sha256: a.chatTemplateSha256 } : {}),
    prompt_tokens: a.spec.prompt.length,
    prompt_hash: tokensHash(a.spec.prompt),
    completion_tokens: a.gen.tokens.length,
    output_hash: tokensHash(a.gen.tokens),
    temperature_q16: a.spec.sampling.temperatureQ16,
    top_p_q16: a.spec.sampling.topPQ16,
    seed: a.spec.sampling.seed.toString(),
    max_tokens: a.spec.maxTokens,
    stop: a.stop,
    finish_reason: a.gen.finishReason,
    backend: a.backend,
  };
}

/** Base64url of the receipt's JSON: the `x-r3mes-receipt` header. */
export function receiptHeader(r: Receipt): string {
  return Buffer.from(JSON.stringify(r), 'utf8').toString('base64url');
}
