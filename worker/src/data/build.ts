// `r3mes-worker dataset build`: text and JSONL files → a dataset directory of pre-tokenized
// uint32 shards, a held-out split and a canonical manifest whose CID names the dataset. Every
// rule is in README.md "Datasets"; another implementation that follows it gets the same CID.

import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cidOf } from '../storage/cid.ts';
import { CHUNK_TOKENS } from './chunk.ts';
import { DataError, DataErrorCode } from './errors.ts';
import {
  canonicalManifestBytes, DEFAULT_SHARD_TOKENS, type DatasetManifest, encodeShard, MANIFEST_FILE, MANIFEST_FORMAT,
  MAX_VOCAB, type ShardEntry, shardFileName, type SplitEntry, type SplitName,
} from './manifest.ts';
import { encodeText, type LoadedTokenizer } from './tokenizer.ts';

export const DEFAULT_HELDOUT_PERMILLE = 50;
export const DEFAULT_TEXT_FIELD = 'text';

/** The byte vocabulary: token = byte value of the UTF-8 text, no tokenizer file, no separator. */
export const BYTE_TOKENIZER = 'bytes';

export interface BuildOptions {
  /** A loaded tokenizer, or BYTE_TOKENIZER. */
  readonly tokenizer: LoadedTokenizer | typeof BYTE_TOKENIZER;
  readonly files: readonly string[];
  readonly outDir: string;
  readonly heldoutPermille?: number;
  readonly shardTokens?: number;
  /** JSONL field holding a document's text (default "text"). */
  readonly field?: string;
  /** Called as input bytes are consumed: (bytes done, bytes in all). */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface BuildResult {
  readonly manifest: DatasetManifest;
  readonly manifestBytes: Uint8Array;
  readonly cid: string;
}

const invalidInput = (message: string, cause?: unknown) => new DataError(DataErrorCode.InvalidInput, message, cause === undefined ? undefined : { cause });

/** Held out iff uint32be(sha256(utf8(text))[0..4]) mod 1000 < permille. */
export function isHeldOut(text: Uint8Array, permille: number): boolean {
  const digest = createHash('sha256').update(text).digest();
  return digest.readUInt32BE(0) % 1000 < permille;
}

/** One split's stream, cut into shards as it grows; each full shard is written and hashed at once. */
class ShardWriter {
  private buffer: Uint32Array;
  private fill = 0;
  private readonly shards: ShardEntry[] = [];
  private pending: Promise<void> = Promise.resolve();
  tokens = 0;
  documents = 0;

  constructor(private readonly split: SplitName, private readonly dir: string, private readonly shardTokens: number) {
    this.buffer = new Uint32Array(shardTokens);
  }

  push(ids: ArrayLike<number>): void {
    for (let i = 0; i < ids.length; i++) {
      this.buffer[this.fill++] = ids[i];
      if (this.fill === this.shardTokens) this.flush();
    }
    this.tokens += ids.length;
  }

  private flush(): void {
    if (this.fill === 0) return;
    const tokens = this.buffer.subarray(0, this.fill);
    const bytes = encodeShard(tokens);
    const index = this.shards.length;
    const file = shardFileName(this.split, index);
    writeFileSync(join(this.dir, file), bytes);
    const entry = { file, tokens: tokens.length, bytes: bytes.length, cid: '' };
    this.shards.push(entry);
    this.pending = this.pending.then(async () => {
      entry.cid = (await cidOf(bytes)).toString();
    });
    this.buffer = new Uint32Array(this.shardTokens);
    this.fill = 0;
  }

  async finish(): Promise<SplitEntry> {
    this.flush();
    await this.pending;
    return { documents: this.documents, tokens: this.tokens, chunks: Math.floor(this.tokens / CHUNK_TOKENS), shards: this.shards };
  }
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

function decodeUtf8(bytes: Uint8Array, where: string): string {
  try {
    return utf8Decoder.decode(bytes);
  } catch (cause) {
    throw invalidInput(`${where} is not valid UTF-8`, cause);
  }
}

function jsonlDocument(line: string, field: string, where: string): string | undefined {
  if (line.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (cause) {
    throw invalidInput(`${where}: not JSON: ${(cause as Error).message}`, cause);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalidInput(`${where}: not a JSON object`);
  const doc = (value as Record<string, unknown>)[field];
  if (typeof doc !== 'string') throw invalidInput(`${where}: field "${field}" is ${doc === undefined ? 'missing' : `not a string (${typeof doc})`}`);
  return doc;
}

/**
 * Every document of one input file, in order, with the input bytes consumed so far: a .jsonl
 * file is streamed line by line (so files of any size), any other file is one document.
 */
async function* documentsOf(path: string, field: string): AsyncGenerator<{ text: string; consumed: number }> {
  if (!path.endsWith('.jsonl')) {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(readFileSync(path));
    } catch (cause) {
      throw invalidInput(`cannot read ${path}: ${(cause as Error).message}`, cause);
    }
    yield { text: decodeUtf8(bytes, path), consumed: bytes.length };
    return;
  }
  let rest: Buffer = Buffer.alloc(0);
  let consumed = 0;
  let lineNo = 0;
  const parseLine = (line: Buffer) => {
    lineNo += 1;
    const where = `${path} line ${lineNo}`;
    return jsonlDocument(decodeUtf8(line, where), field, where);
  };
  const stream = createReadStream(path, { highWaterMark: 1 << 20 });
  try {
    for await (const piece of stream) {
      const buf: Buffer = rest.length === 0 ? (piece as Buffer) : Buffer.concat([rest, piece as Buffer]);
      let from = 0;
      for (let nl = buf.indexOf(0x0a, from); nl >= 0; nl = buf.indexOf(0x0a, from)) {
        const doc = parseLine(buf.subarray(from, nl));
        consumed += nl + 1 - from;
        from = nl + 1;
        if (doc !== undefined) yield { text: doc, consumed };
      }
      rest = Buffer.from(buf.subarray(from));
    }
  } catch (cause) {
    if (cause instanceof DataError) throw cause;
    throw invalidInput(`cannot read ${path}: ${(cause as Error).message}`, cause);
  } finally {
    stream.destroy();
  }
  const last = parseLine(rest);
  consumed += rest.length;
  if (last !== undefined) yield { text: last, consumed };
}

function prepareOutDir(dir: string): void {
  let entries: string[] = [];
  try {
    if (!statSync(dir).isDirectory()) throw invalidInput(`--out ${dir} exists and is not a directory`);
    entries = readdirSync(dir);
  } catch (error) {
    if (error instanceof DataError) throw error;
    mkdirSync(dir, { recursive: true });
  }
  if (entries.length > 0) throw invalidInput(`--out ${dir} is not empty; a dataset is written into an empty directory`);
}

export async function buildDataset(opts: BuildOptions): Promise<BuildResult> {
  const permille = opts.heldoutPermille ?? DEFAULT_HELDOUT_PERMILLE;
  const shardTokens = opts.shardTokens ?? DEFAULT_SHARD_TOKENS;
  const field = opts.field ?? DEFAULT_TEXT_FIELD;
  if (!Number.isSafeInteger(permille) || permille < 0 || permille > 1000) throw invalidInput(`--held-out-permille must be an integer in 0..1000, got ${permille}`);
  if (!Number.isSafeInteger(shardTokens) || shardTokens < CHUNK_TOKENS || shardTokens % CHUNK_TOKENS !== 0 || shardTokens > 1 << 28) {
    throw invalidInput(`--shard-tokens must be a multiple of ${CHUNK_TOKENS} in ${CHUNK_TOKENS}..${1 << 28}, got ${shardTokens}`);
  }
  if (field === '') throw invalidInput('the JSONL text field name is empty');
  if (opts.files.length === 0) throw new DataError(DataErrorCode.EmptyDataset, 'no input files');
  const sizes = opts.files.map((path) => {
    try {
      const st = statSync(path);
      if (!st.isFile()) throw invalidInput(`${path} is not a file`);
      return st.size;
    } catch (cause) {
      if (cause instanceof DataError) throw cause;
      throw invalidInput(`cannot read ${path}: ${(cause as Error).message}`, cause);
    }
  });
  const total = sizes.reduce((a, b) => a + b, 0);
  const tok = opts.tokenizer;
  const vocab = tok === BYTE_TOKENIZER ? 256 : tok.vocabSize;
  if (vocab > MAX_VOCAB) throw new DataError(DataErrorCode.InvalidTokenizer, `vocabulary of ${vocab} tokens is over the limit ${MAX_VOCAB}`);
  const separator = tok === BYTE_TOKENIZER ? null : tok.eos === undefined ? null : { token: tok.eos.token, id: tok.eos.id };
  if (tok !== BYTE_TOKENIZER && separator === null) {
    throw new DataError(DataErrorCode.InvalidTokenizer, 'no EOS token to separate documents: tokenizer_config.json has no eos_token; pass --eos-token');
  }

  prepareOutDir(opts.outDir);
  const writers: Record<SplitName, ShardWriter> = {
    train: new ShardWriter('train', opts.outDir, shardTokens),
    heldout: new ShardWriter('heldout', opts.outDir, shardTokens),
  };
  const encoder = new TextEncoder();
  let done = 0;
  opts.onProgress?.(0, total);
  for (let f = 0; f < opts.files.length; f++) {
    const path = opts.files[f];
    let lastPercent = -1;
    for await (const { text, consumed } of documentsOf(path, field)) {
      // Progress inside a file (input bytes consumed), at most once a percent.
      const percent = total > 0 ? Math.floor(((done + consumed) * 100) / total) : 100;
      if (percent !== lastPercent) {
        lastPercent = percent;
        opts.onProgress?.(done + consumed, total);
      }
      if (text === '') continue;
      const utf8 = encoder.encode(text);
      const writer = writers[isHeldOut(utf8, permille) ? 'heldout' : 'train'];
      writer.documents += 1;
      if (tok === BYTE_TOKENIZER) {
        writer.push(utf8);
      } else {
        writer.push(encodeText(tok, text));
        writer.push([separator!.id]);
      }
    }
    done += sizes[f];
    opts.onProgress?.(done, total);
  }
  const train = await writers.train.finish();
  const heldout = await writers.heldout.finish();
  if (train.documents + heldout.documents === 0) throw new DataError(DataErrorCode.EmptyDataset, `the inputs (${opts.files.join(', ')}) hold no non-empty document`);
  if (train.chunks === 0) {
    throw new DataError(DataErrorCode.EmptyDataset, `the train split has ${train.tokens} tokens, less than one ${CHUNK_TOKENS}-token chunk`);
  }
  let tokenizer: DatasetManifest['tokenizer'] = null;
  if (tok !== BYTE_TOKENIZER) {
    writeFileSync(join(opts.outDir, 'tokenizer.json'), tok.bytes);
    tokenizer = { cid: tok.cid, file: 'tokenizer.json' };
  }
  const manifest: DatasetManifest = {
    format: MANIFEST_FORMAT, chunk_tokens: CHUNK_TOKENS, shard_tokens: shardTokens, token_encoding: 'uint32le', vocab_size: vocab,
    tokenizer, separator, split_rule: { kind: 'document-sha256-permille', heldout_permille: permille }, train, heldout,
  };
  const manifestBytes = canonicalManifestBytes(manifest);
  writeFileSync(join(opts.outDir, MANIFEST_FILE), manifestBytes);
  return { manifest, manifestBytes, cid: (await cidOf(manifestBytes)).toString() };
}
