// Writes Hugging Face BitNet checkpoints in exactly the published layouts (README "Writing
// checkpoints"): for tests (reduced sizes) and the benchmark (full sizes, synthetic weights).
// Tensors are generated and written one at a time, so a full-size checkpoint never sits in
// memory. The floats here only make test data; nothing written here is hashed by the chain
// except as the bytes of the files it produces.

import { mkdir, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bf16FromNumber } from './bf16.ts';
import type { BitNetArchitecture } from './config.ts';
import { DTYPE_BYTES } from './safetensors-file.ts';
import {
  type CheckpointForm, CONFIG_FILE, INDEX_FILE, LAYER_NORMS, PROJECTIONS, projectionShape, projectionTensor,
  SINGLE_WEIGHTS_FILE, TOKENIZER_CONFIG_FILE, TOKENIZER_FILE,
} from './loader.ts';
import { packTernary, quantizeAbsmean } from './ternary.ts';

export interface TensorToWrite {
  name: string;
  dtype: string;
  shape: number[];
  /**
   * Produces the little-endian data; called once, when the tensor is written. `undefined` writes
   * nothing: the span stays a hole of the file and reads as zeros (tests of very large files).
   */
  data: () => Uint8Array | undefined;
}

/**
 * Writes a safetensors file: header entries in the order given with back-to-back offsets, the
 * JSON padded with spaces to a multiple of 8, `__metadata__` {"format": "pt"} as transformers
 * writes it.
 */
export async function writeSafetensorsFile(path: string, tensors: TensorToWrite[], metadata: Record<string, string> = { format: 'pt' }): Promise<void> {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    const bytes = t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype];
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Math.ceil(json.length / 8) * 8;
  const head = Buffer.alloc(8 + padded, 0x20);
  head.writeBigUInt64LE(BigInt(padded), 0);
  json.copy(head, 8);
  const handle = await open(path, 'w');
  try {
    await handle.write(head);
    let at = head.length;
    for (const t of tensors) {
      const data = t.data();
      const want = t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype];
      if (data !== undefined) {
        if (data.length !== want) throw new RangeError(`writeSafetensorsFile: ${t.name} produced ${data.length} bytes, its shape needs ${want}`);
        for (let done = 0; done < data.length;) {
          const { bytesWritten } = await handle.write(data, done, data.length - done, at + done);
          done += bytesWritten;
        }
      }
      at += want;
    }
    await handle.truncate(at);
  } finally {
    await handle.close();
  }
}

/**
 * A small deterministic generator for test data: xoshiro128** (32-bit state words, seeded by
 * splitmix64 of the seed), uniforms from 32 bits, normals by Box–Muller (both values used).
 * Test data only.
 */
export class TestRandom {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spare: number | undefined;
  constructor(seed: number | bigint) {
    let z = BigInt.asUintN(64, BigInt(seed));
    const words: number[] = [];
    for (let i = 0; i < 2; i++) {
      z = BigInt.asUintN(64, z + 0x9e3779b97f4a7c15n);
      let x = z;
      x = BigInt.asUintN(64, (x ^ (x >> 30n)) * 0xbf58476d1ce4e5b9n);
      x = BigInt.asUintN(64, (x ^ (x >> 27n)) * 0x94d049bb133111ebn);
      x ^= x >> 31n;
      words.push(Number(x & 0xffffffffn), Number(x >> 32n));
    }
    [this.s0, this.s1, this.s2, this.s3] = words;
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }
  private next32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }
  /** Uniform in (0, 1). */
  uniform(): number {
    return (this.next32() + 0.5) / 4294967296;
  }
  normal(): number {
    if (this.spare !== undefined) {
      const v = this.spare;
      this.spare = undefined;
      return v;
    }
    const r = Math.sqrt(-2 * Math.log(this.uniform()));
    const a = 2 * Math.PI * this.uniform();
    this.spare = r * Math.sin(a);
    return r * Math.cos(a);
  }
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

function bf16Bytes(values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  for (let i = 0; i < values.length; i++) {
    const b = bf16FromNumber(values[i]);
    out[2 * i] = b & 0xff;
    out[2 * i + 1] = b >>> 8;
  }
  return out;
}

function bitsBytes(bits: Uint16Array): Uint8Array {
  const out = new Uint8Array(bits.length * 2);
  for (let i = 0; i < bits.length; i++) {
    out[2 * i] = bits[i] & 0xff;
    out[2 * i + 1] = bits[i] >>> 8;
  }
  return out;
}

/**
 * Master weight of a projection, bf16 bits: N(0, σ²) with σ = 1/√in, each output row scaled by
 * a log-normal factor (e^{0.3·z}) as trained matrices have uneven rows. Absmean quantization
 * of such a matrix leaves about a third zeros (31 % for one normal; more with uneven rows), as in real BitNet weights.
 */
export function masterWeightBits(rng: TestRandom, rows: number, cols: number): Uint16Array {
  const bits = new Uint16Array(rows * cols);
  const sigma = 1 / Math.sqrt(cols);
  for (let r = 0; r < rows; r++) {
    const rowScale = Math.exp(0.3 * rng.normal());
    for (let c = 0; c < cols; c++) bits[r * cols + c] = bf16FromNumber(sigma * rowScale * rng.normal());
  }
  return bits;
}

export interface WriteOptions {
  form: CheckpointForm;
  seed: number;
  /** Number of weight files: 1 writes model.safetensors, more writes an index and shards. Default 1. */
  shards?: number;
  /** Overrides for config.json fields (tests of bad configs), merged last. */
  configOverrides?: Record<string, unknown>;
  /** Changes a tensor's entry before it is written (tests of bad checkpoints): return undefined to drop it. */
  mutate?: (t: TensorToWrite) => TensorToWrite | undefined;
  /** Tensors written after the model's own (tests of extra tensors). */
  extraTensors?: TensorToWrite[];
}

/** config.json of `a` as the published checkpoint spells it. */
export function configJson(a: BitNetArchitecture, overrides: Record<string, unknown> = {}): string {
  return `${JSON.stringify({
    architectures: [a.architecture],
    attention_bias: false,
    attention_dropout: 0.0,
    bos_token_id: a.vocabSize - 2,
    eos_token_id: a.vocabSize - 1,
    hidden_act: a.hiddenAct,
    hidden_size: a.hiddenSize,
    initializer_range: 0.02,
    intermediate_size: a.intermediateSize,
    max_position_embeddings: a.maxPositions,
    model_type: 'bitnet',
    num_attention_heads: a.numHeads,
    num_hidden_layers: a.numLayers,
    num_key_value_heads: a.numKvHeads,
    rms_norm_eps: a.rmsNormEps,
    rope_scaling: null,
    rope_theta: a.ropeTheta,
    tie_word_embeddings: a.tieWordEmbeddings,
    torch_dtype: 'bfloat16',
    use_cache: true,
    vocab_size: a.vocabSize,
    ...overrides,
  }, null, 2)}\n`;
}

/** GPT-2's byte → printable character map (the ByteLevel alphabet). */
function byteLevelAlphabet(): string[] {
  const out: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    out[b] = String.fromCodePoint(printable ? b : 256 + extra++);
  }
  return out;
}

/**
 * A valid byte-level BPE tokenizer.json of exactly `vocab` ids (vocab ≥ 258): the 256 byte
 * symbols, merged pairs of them, and two special tokens at the end (begin/end of text).
 */
export function tokenizerJson(vocab: number): string {
  const alphabet = byteLevelAlphabet();
  const entries: Record<string, number> = {};
  const merges: string[] = [];
  alphabet.forEach((s, i) => { entries[s] = i; });
  let id = 256;
  for (let a = 0; a < 256 && id < vocab - 2; a++) {
    for (let b = 0; b < 256 && id < vocab - 2; b++) {
      entries[alphabet[a] + alphabet[b]] = id++;
      merges.push(`${alphabet[a]} ${alphabet[b]}`);
    }
  }
  const special = (content: string, tid: number) => ({ id: tid, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  return JSON.stringify({
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special('<|begin_of_text|>', vocab - 2), special('<|end_of_text|>', vocab - 1)],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab: entries, merges },
  });
}

export function tokenizerConfigJson(): string {
  return `${JSON.stringify({ bos_token: '<|begin_of_text|>', eos_token: '<|end_of_text|>', model_max_length: 4096, tokenizer_class: 'PreTrainedTokenizerFast', clean_up_tokenization_spaces: true }, null, 2)}\n`;
}

/** The tensors of a checkpoint of `a` in `form`, in the order written, with their generators. */
export function checkpointTensors(a: BitNetArchitecture, form: CheckpointForm, seed: number): TensorToWrite[] {
  const D = a.hiddenSize;
  const out: TensorToWrite[] = [];
  // Every generator has its own stream, so a tensor's values do not depend on which are written.
  const rngFor = (name: string) => {
    let h = BigInt(seed);
    for (const ch of Buffer.from(name)) h = BigInt.asUintN(64, h * 1099511628211n + BigInt(ch));
    return new TestRandom(h);
  };
  const gains = (name: string, n: number, mean: number, spread: number) => () => {
    const rng = rngFor(name);
    return bf16Bytes(Array.from({ length: n }, () => Math.abs(mean + spread * rng.normal())));
  };
  const embedName = 'model.embed_tokens.weight';
  out.push({
    name: embedName, dtype: 'BF16', shape: [a.vocabSize, D], data: () => {
      const rng = rngFor(embedName);
      const n = a.vocabSize * D;
      const bytes = new Uint8Array(n * 2);
      const sigma = 2 / Math.sqrt(D); // logits of a few nats' spread through the tied head
      for (let i = 0; i < n; i++) {
        const b = bf16FromNumber(sigma * rng.normal());
        bytes[2 * i] = b & 0xff;
        bytes[2 * i + 1] = b >>> 8;
      }
      return bytes;
    },
  });
  for (let l = 0; l < a.numLayers; l++) {
    for (const p of PROJECTIONS) {
      const name = projectionTensor(l, p);
      const [rows, cols] = projectionShape(a, p);
      if (form === 'bf16') {
        out.push({ name, dtype: 'BF16', shape: [rows, cols], data: () => bitsBytes(masterWeightBits(rngFor(name), rows, cols)) });
      } else {
        // Quantized once, shared by the weight and its scale.
        let q: ReturnType<typeof quantizeAbsmean> | undefined;
        const quantized = () => (q ??= quantizeAbsmean(masterWeightBits(rngFor(name), rows, cols), name));
        out.push({ name, dtype: 'U8', shape: [rows / 4, cols], data: () => packTernary(quantized().values, rows, cols) });
        out.push({ name: name.replace(/weight$/, 'weight_scale'), dtype: 'BF16', shape: [1], data: () => bitsBytes(Uint16Array.of(quantized().scaleBits)) });
      }
    }
    for (const [key, suffix] of LAYER_NORMS) {
      const name = `model.layers.${l}.${suffix}`;
      const n = key === 'ffnSubNorm' ? a.intermediateSize : D;
      const [mean, spread] = key === 'attnSubNorm' || key === 'ffnSubNorm' ? [1.5, 0.4] : [1, 0.15];
      out.push({ name, dtype: 'BF16', shape: [n], data: gains(name, n, mean, spread) });
    }
  }
  out.push({ name: 'model.norm.weight', dtype: 'BF16', shape: [D], data: gains('model.norm.weight', D, 1.5, 0.2) });
  if (!a.tieWordEmbeddings) {
    out.push({ name: 'lm_head.weight', dtype: 'BF16', shape: [a.vocabSize, D], data: () => bitsBytes(masterWeightBits(rngFor('lm_head.weight'), a.vocabSize, D)) });
  }
  return out;
}

/** Writes a whole model directory: config, tokenizer files, weights (one file or an index + shards). */
export async function writeCheckpoint(dir: string, a: BitNetArchitecture, options: WriteOptions): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, CONFIG_FILE), configJson(a, options.configOverrides));
  await writeFile(join(dir, TOKENIZER_FILE), tokenizerJson(a.vocabSize));
  await writeFile(join(dir, TOKENIZER_CONFIG_FILE), tokenizerConfigJson());
  let tensors = checkpointTensors(a, options.form, options.seed);
  if (options.mutate) tensors = tensors.map(options.mutate).filter((t): t is TensorToWrite => t !== undefined);
  tensors.push(...(options.extraTensors ?? []));
  const shards = options.shards ?? 1;
  if (shards <= 1) {
    await writeSafetensorsFile(join(dir, SINGLE_WEIGHTS_FILE), tensors);
    return;
  }
  // Contiguous groups of about equal bytes, as transformers' save_pretrained shards.
  const sizes = tensors.map((t) => t.shape.reduce((x, y) => x * y, 1) * DTYPE_BYTES[t.dtype]);
  const total = sizes.reduce((x, y) => x + y, 0);
  const groups: TensorToWrite[][] = Array.from({ length: shards }, () => []);
  let acc = 0;
  tensors.forEach((t, i) => {
    const g = Math.min(shards - 1, Math.floor((acc * shards) / total));
    groups[g].push(t);
    acc += sizes[i];
  });
  const fileName = (i: number) => `model-${String(i + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
  const weightMap: Record<string, string> = {};
  for (let g = 0; g < shards; g++) {
    for (const t of groups[g]) weightMap[t.name] = fileName(g);
    await writeSafetensorsFile(join(dir, fileName(g)), groups[g]);
  }
  await writeFile(join(dir, INDEX_FILE), `${JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2)}\n`);
}
