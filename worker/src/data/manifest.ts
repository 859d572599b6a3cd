// The dataset manifest (README.md "Dataset manifest"): a canonical JSON file listing a dataset's
// pre-tokenized shards by size and CID. The CID of its bytes names the dataset on chain.
// Canonical form: keys sorted by code unit at every level, no whitespace, integers only, UTF-8,
// no trailing newline; a manifest whose bytes are not the canonical form of what they parse to
// is rejected, so one dataset has exactly one manifest CID.

import { parseCid } from '../storage/cid.ts';
import { CHUNK_TOKENS } from './chunk.ts';
import { DataError, DataErrorCode } from './errors.ts';

export const MANIFEST_FORMAT = 'r3mes-dataset/v1';
export const MANIFEST_FILE = 'manifest.json';
/** Bytes per token in a shard: uint32 little-endian. */
export const TOKEN_BYTES = 4;
/** Default tokens per shard: 2^21 (8 MiB files), a multiple of CHUNK_TOKENS. */
export const DEFAULT_SHARD_TOKENS = 1 << 21;
export const MAX_VOCAB = 1 << 18;

export type SplitName = 'train' | 'heldout';

export interface ShardEntry {
  /** File name inside the dataset directory: `<split>-<5-digit index>.u32`. */
  readonly file: string;
  readonly tokens: number;
  /** tokens × 4. */
  readonly bytes: number;
  /** CID of the file's bytes (worker/src/storage/cid.ts). */
  readonly cid: string;
}

export interface SplitEntry {
  readonly documents: number;
  readonly tokens: number;
  /** floor(tokens / chunk_tokens). */
  readonly chunks: number;
  readonly shards: readonly ShardEntry[];
}

export interface DatasetManifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly chunk_tokens: number;
  readonly shard_tokens: number;
  readonly token_encoding: 'uint32le';
  readonly vocab_size: number;
  /** The tokenizer.json that produced the ids; null for the byte vocabulary (token = byte value). */
  readonly tokenizer: { readonly cid: string; readonly file: string } | null;
  /** The token appended after every document; null when documents are concatenated as they are. */
  readonly separator: { readonly token: string; readonly id: number } | null;
  /** How documents were assigned to the held-out split. */
  readonly split_rule: { readonly kind: 'document-sha256-permille'; readonly heldout_permille: number } | { readonly kind: 'brown-file-name' };
  readonly train: SplitEntry;
  readonly heldout: SplitEntry;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) out[key] = sortKeys((value as Record<string, unknown>)[key]);
    return out;
  }
  if (typeof value === 'number' && !Number.isSafeInteger(value)) throw new DataError(DataErrorCode.InvalidManifest, `manifest number ${value} is not a safe integer`);
  return value;
}

/** The canonical bytes of a manifest (sorted keys, no whitespace). */
export function canonicalManifestBytes(manifest: DatasetManifest): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(sortKeys(manifest)));
}

export function shardFileName(split: SplitName, index: number): string {
  return `${split}-${String(index).padStart(5, '0')}.u32`;
}

const bad = (message: string) => new DataError(DataErrorCode.InvalidManifest, message);

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function int(v: unknown, what: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) throw bad(`${what} must be an integer in ${min}..${max}, got ${JSON.stringify(v)}`);
  return v;
}

function keysExactly(o: Record<string, unknown>, keys: string[], what: string): void {
  const have = Object.keys(o).sort();
  const want = [...keys].sort();
  if (have.join(',') !== want.join(',')) throw bad(`${what} must have exactly the keys ${want.join(', ')}; has ${have.join(', ')}`);
}

function cidField(v: unknown, what: string): string {
  if (typeof v !== 'string') throw bad(`${what} must be a CID string`);
  try {
    parseCid(v);
  } catch (cause) {
    throw new DataError(DataErrorCode.InvalidManifest, `${what}: ${(cause as Error).message}`, { cause });
  }
  return v;
}

function checkSplit(v: unknown, split: SplitName, shardTokens: number, chunkTokens: number): SplitEntry {
  if (!isObject(v)) throw bad(`${split} must be an object`);
  keysExactly(v, ['documents', 'tokens', 'chunks', 'shards'], split);
  const documents = int(v.documents, `${split}.documents`, 0);
  const tokens = int(v.tokens, `${split}.tokens`, 0);
  const chunks = int(v.chunks, `${split}.chunks`, 0);
  if (chunks !== Math.floor(tokens / chunkTokens)) throw bad(`${split}.chunks is ${chunks}; floor(${tokens} / ${chunkTokens}) is ${Math.floor(tokens / chunkTokens)}`);
  if (!Array.isArray(v.shards)) throw bad(`${split}.shards must be an array`);
  const expectShards = Math.ceil(tokens / shardTokens);
  if (v.shards.length !== expectShards) throw bad(`${split} has ${v.shards.length} shards; ${tokens} tokens in shards of ${shardTokens} make ${expectShards}`);
  const shards = v.shards.map((s: unknown, i: number): ShardEntry => {
    const at = `${split}.shards[${i}]`;
    if (!isObject(s)) throw bad(`${at} must be an object`);
    keysExactly(s, ['file', 'tokens', 'bytes', 'cid'], at);
    const want = i < expectShards - 1 ? shardTokens : tokens - shardTokens * (expectShards - 1);
    if (s.file !== shardFileName(split, i)) throw bad(`${at}.file must be ${shardFileName(split, i)}`);
    if (int(s.tokens, `${at}.tokens`, 1) !== want) throw bad(`${at}.tokens is ${s.tokens as number}; expected ${want}`);
    if (int(s.bytes, `${at}.bytes`, 1) !== want * TOKEN_BYTES) throw bad(`${at}.bytes must be tokens × ${TOKEN_BYTES}`);
    return { file: s.file as string, tokens: want, bytes: want * TOKEN_BYTES, cid: cidField(s.cid, `${at}.cid`) };
  });
  return { documents, tokens, chunks, shards };
}

/** Parses manifest bytes, checks every rule of the format and that the bytes are canonical. */
export function parseManifest(bytes: Uint8Array, source = 'manifest'): DatasetManifest {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (cause) {
    throw new DataError(DataErrorCode.InvalidManifest, `${source} is not UTF-8 JSON: ${(cause as Error).message}`, { cause });
  }
  try {
    if (!isObject(v)) throw bad('the manifest must be a JSON object');
    keysExactly(v, ['format', 'chunk_tokens', 'shard_tokens', 'token_encoding', 'vocab_size', 'tokenizer', 'separator', 'split_rule', 'train', 'heldout'], 'the manifest');
    if (v.format !== MANIFEST_FORMAT) throw bad(`format must be "${MANIFEST_FORMAT}", got ${JSON.stringify(v.format)}`);
    if (v.chunk_tokens !== CHUNK_TOKENS) throw bad(`chunk_tokens must be ${CHUNK_TOKENS}`);
    const shardTokens = int(v.shard_tokens, 'shard_tokens', CHUNK_TOKENS, 1 << 28);
    if (shardTokens % CHUNK_TOKENS !== 0) throw bad(`shard_tokens ${shardTokens} is not a multiple of ${CHUNK_TOKENS}`);
    if (v.token_encoding !== 'uint32le') throw bad('token_encoding must be "uint32le"');
    const vocab = int(v.vocab_size, 'vocab_size', 2, MAX_VOCAB);
    let tokenizer: DatasetManifest['tokenizer'] = null;
    if (v.tokenizer !== null) {
      if (!isObject(v.tokenizer)) throw bad('tokenizer must be null or {cid, file}');
      keysExactly(v.tokenizer, ['cid', 'file'], 'tokenizer');
      if (v.tokenizer.file !== 'tokenizer.json') throw bad('tokenizer.file must be "tokenizer.json"');
      tokenizer = { cid: cidField(v.tokenizer.cid, 'tokenizer.cid'), file: 'tokenizer.json' };
    }
    let separator: DatasetManifest['separator'] = null;
    if (v.separator !== null) {
      if (!isObject(v.separator)) throw bad('separator must be null or {token, id}');
      keysExactly(v.separator, ['token', 'id'], 'separator');
      if (typeof v.separator.token !== 'string' || v.separator.token === '') throw bad('separator.token must be a non-empty string');
      separator = { token: v.separator.token, id: int(v.separator.id, 'separator.id', 0, vocab - 1) };
    }
    if (!isObject(v.split_rule)) throw bad('split_rule must be an object');
    let splitRule: DatasetManifest['split_rule'];
    if (v.split_rule.kind === 'document-sha256-permille') {
      keysExactly(v.split_rule, ['kind', 'heldout_permille'], 'split_rule');
      splitRule = { kind: 'document-sha256-permille', heldout_permille: int(v.split_rule.heldout_permille, 'split_rule.heldout_permille', 0, 1000) };
    } else if (v.split_rule.kind === 'brown-file-name') {
      keysExactly(v.split_rule, ['kind'], 'split_rule');
      splitRule = { kind: 'brown-file-name' };
    } else {
      throw bad(`split_rule.kind ${JSON.stringify(v.split_rule.kind)} is not document-sha256-permille or brown-file-name`);
    }
    const manifest: DatasetManifest = {
      format: MANIFEST_FORMAT, chunk_tokens: CHUNK_TOKENS, shard_tokens: shardTokens, token_encoding: 'uint32le', vocab_size: vocab,
      tokenizer, separator, split_rule: splitRule,
      train: checkSplit(v.train, 'train', shardTokens, CHUNK_TOKENS),
      heldout: checkSplit(v.heldout, 'heldout', shardTokens, CHUNK_TOKENS),
    };
    if (Buffer.compare(Buffer.from(canonicalManifestBytes(manifest)), Buffer.from(bytes)) !== 0) {
      throw bad('the bytes are not the canonical form (sorted keys, no whitespace)');
    }
    return manifest;
  } catch (error) {
    if (error instanceof DataError && error.code === DataErrorCode.InvalidManifest) {
      throw new DataError(DataErrorCode.InvalidManifest, `${source}: ${error.message}`, { cause: error });
    }
    throw error;
  }
}

/** uint32 LE bytes of `tokens`. */
export function encodeShard(tokens: Uint32Array): Uint8Array {
  const out = new Uint8Array(tokens.length * TOKEN_BYTES);
  const view = new DataView(out.buffer);
  for (let i = 0; i < tokens.length; i++) view.setUint32(i * TOKEN_BYTES, tokens[i], true);
  return out;
}

/** Token ids of shard bytes; every id must be below `vocab`. */
export function decodeShard(bytes: Uint8Array, vocab: number, source: string): Uint32Array {
  if (bytes.length % TOKEN_BYTES !== 0) throw new DataError(DataErrorCode.DatasetMismatch, `${source}: ${bytes.length} bytes is not a whole number of uint32 tokens`);
  const out = new Uint32Array(bytes.length / TOKEN_BYTES);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < out.length; i++) {
    const id = view.getUint32(i * TOKEN_BYTES, true);
    if (id >= vocab) throw new DataError(DataErrorCode.DatasetMismatch, `${source}: token ${i} is ${id}, outside the vocabulary 0..${vocab - 1}`);
    out[i] = id;
  }
  return out;
}
