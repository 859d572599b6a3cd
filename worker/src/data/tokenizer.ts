// Text to token ids with the model's own tokenizer.json, through Hugging Face's tokenizers.js
// (`@huggingface/tokenizers`: the pure-JS tokenizer transformers.js uses, maintained by Hugging
// Face, no native build). Nothing here implements BPE: the library reads the tokenizer.json.
// Consensus never depends on this: datasets are registered as pre-tokenized shards, and the
// tokenizer's CID only records which tokenizer.json produced them.

import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { cidOf } from '../storage/cid.ts';
import { DataError, DataErrorCode } from './errors.ts';

export interface LoadedTokenizer {
  readonly tokenizer: Tokenizer;
  /** The tokenizer.json bytes exactly as read (its CID names the tokenizer). */
  readonly bytes: Uint8Array;
  readonly cid: string;
  /** Largest id in the vocabulary (added tokens included) + 1. */
  readonly vocabSize: number;
  /** The EOS token (tokenizer_config.json `eos_token`, or the one asked for) and its id; undefined when none. */
  readonly eos?: { readonly token: string; readonly id: number };
}

function invalid(message: string, cause?: unknown): DataError {
  return new DataError(DataErrorCode.InvalidTokenizer, message, cause === undefined ? undefined : { cause });
}

function readJson(path: string): { bytes: Uint8Array; value: unknown } {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (cause) {
    throw invalid(`cannot read ${path}: ${(cause as Error).message}`, cause);
  }
  try {
    return { bytes, value: JSON.parse(Buffer.from(bytes).toString('utf8')) };
  } catch (cause) {
    throw invalid(`${path} is not JSON: ${(cause as Error).message}`, cause);
  }
}

function tokenText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value !== null && typeof value === 'object' && typeof (value as { content?: unknown }).content === 'string') {
    return (value as { content: string }).content;
  }
  return undefined;
}

/**
 * Loads `path`: a model directory (its tokenizer.json, and tokenizer_config.json when present)
 * or a tokenizer.json file (tokenizer_config.json beside it is read when present). `eosToken`
 * overrides the config's `eos_token`; it must be in the vocabulary.
 */
export async function loadTokenizer(path: string, opts: { eosToken?: string } = {}): Promise<LoadedTokenizer> {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (cause) {
    throw invalid(`cannot read tokenizer ${path}: ${(cause as Error).message}`, cause);
  }
  const file = isDir ? join(path, 'tokenizer.json') : path;
  const configPath = join(isDir ? path : dirname(path), 'tokenizer_config.json');
  const { bytes, value: json } = readJson(file);
  let config: Record<string, unknown> = {};
  let hasConfig = false;
  try {
    statSync(configPath);
    hasConfig = true;
  } catch {
    // no tokenizer_config.json: the tokenizer.json alone
  }
  if (hasConfig) {
    const { value } = readJson(configPath);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid(`${configPath} is not a JSON object`);
    config = value as Record<string, unknown>;
  }
  let tokenizer: Tokenizer;
  try {
    tokenizer = new Tokenizer(json as object, config);
  } catch (cause) {
    throw invalid(`${file} is not a tokenizer the library can load: ${(cause as Error).message}`, cause);
  }
  let maxId = -1;
  for (const id of tokenizer.get_vocab(true).values()) if (id > maxId) maxId = id;
  if (maxId < 0) throw invalid(`${file} has an empty vocabulary`);
  const eosName = opts.eosToken ?? tokenText(config.eos_token);
  let eos: LoadedTokenizer['eos'];
  if (eosName !== undefined) {
    const id = tokenizer.token_to_id(eosName);
    if (id === undefined) throw invalid(`EOS token ${JSON.stringify(eosName)} is not in the vocabulary of ${file}`);
    eos = { token: eosName, id };
  }
  return { tokenizer, bytes, cid: (await cidOf(bytes)).toString(), vocabSize: maxId + 1, eos };
}

/** The ids of `text`, without special tokens (no BOS); each checked to lie in 0..vocabSize-1. */
export function encodeText(t: LoadedTokenizer, text: string): number[] {
  const ids = t.tokenizer.encode(text, { add_special_tokens: false }).ids;
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0 || id >= t.vocabSize) throw invalid(`the tokenizer produced id ${id}, outside 0..${t.vocabSize - 1}`);
  }
  return ids;
}

export function decodeIds(t: LoadedTokenizer, ids: readonly number[]): string {
  if (ids.length === 0) return ''; // the library refuses an empty list
  return t.tokenizer.decode([...ids], { skip_special_tokens: false, clean_up_tokenization_spaces: false });
}
