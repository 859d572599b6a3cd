// Chat messages → prompt text through a Jinja chat template (@huggingface/jinja: Hugging Face's
// maintained JavaScript implementation of the template language `transformers` uses for
// `chat_template`, zero dependencies, written for exactly this job). The template is the model's
// `tokenizer_config.json` `chat_template` when the model has one, else DEFAULT_CHAT_TEMPLATE for
// the byte-level models (plain text lines, as the Brown-corpus models were trained on).

import { readFile } from 'node:fs/promises';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { Template } from '@huggingface/jinja';

/**
 * The byte-level models' template: one `role: content` line per message, then `assistant:` when
 * a reply is asked for. No special tokens (a byte-level vocabulary has none).
 */
export const DEFAULT_CHAT_TEMPLATE =
  "{% for message in messages %}{{ message['role'] }}: {{ message['content'] }}\n{% endfor %}" +
  '{% if add_generation_prompt %}assistant:{% endif %}';

export interface ChatMessage {
  readonly role: string;
  readonly content: string;
  readonly name?: string;
}

export interface ChatTemplate {
  readonly source: string;
  /** where it came from: "default" or the tokenizer_config.json path */
  readonly origin: string;
  /** SHA-256 of the template text (UTF-8), hex: receipts name the template by it */
  readonly sha256: string;
  /** special tokens the template may use (bos_token, eos_token) from tokenizer_config.json */
  readonly tokens: Readonly<Record<string, string>>;
  render(messages: readonly ChatMessage[]): string;
}

export function chatTemplate(source: string, origin: string, tokens: Record<string, string> = {}): ChatTemplate {
  let tpl: Template;
  try {
    tpl = new Template(source);
  } catch (cause) {
    throw new Error(`chat template (${origin}) does not parse: ${(cause as Error).message}`, { cause });
  }
  return {
    source, origin, tokens, sha256: bytesToHex(sha256(new TextEncoder().encode(source))),
    render: (messages) => tpl.render({ messages: messages.map((m) => ({ ...m })), add_generation_prompt: true, bos_token: '', eos_token: '', ...tokens }),
  };
}

export const defaultChatTemplate = (): ChatTemplate => chatTemplate(DEFAULT_CHAT_TEMPLATE, 'default');

/** A special token of tokenizer_config.json: a string or an AddedToken object {content}. */
function tokenText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return undefined;
}

/**
 * The template of a tokenizer_config.json: its `chat_template` (a string, or the list form
 * [{name, template}] where the one named "default" is used), else the default template.
 */
export async function loadChatTemplate(tokenizerConfigPath: string | undefined): Promise<ChatTemplate> {
  if (tokenizerConfigPath === undefined) return defaultChatTemplate();
  let cfg: Record<string, unknown>;
  try {
    cfg = JSON.parse(await readFile(tokenizerConfigPath, 'utf8')) as Record<string, unknown>;
  } catch (cause) {
    throw new Error(`tokenizer config ${tokenizerConfigPath}: ${(cause as Error).message}`, { cause });
  }
  const tokens: Record<string, string> = {};
  for (const k of ['bos_token', 'eos_token', 'unk_token', 'pad_token']) {
    const t = tokenText(cfg[k]);
    if (t !== undefined) tokens[k] = t;
  }
  let source = cfg.chat_template;
  if (Array.isArray(source)) source = (source as Array<{ name?: string; template?: string }>).find((e) => e?.name === 'default')?.template;
  if (source === undefined || source === null) return defaultChatTemplate();
  if (typeof source !== 'string') throw new Error(`tokenizer config ${tokenizerConfigPath}: chat_template is not a string`);
  return chatTemplate(source, tokenizerConfigPath, tokens);
}
