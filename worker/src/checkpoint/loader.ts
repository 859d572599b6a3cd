// The loader of a Hugging Face BitNet model directory (README "Loader"): config.json, the
// weights (model.safetensors, or model.safetensors.index.json and its shards), tokenizer.json,
// tokenizer_config.json. Opening checks every header (names, dtypes, shapes, spans); tensor data
// is read one layer at a time when asked for.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type BitNetArchitecture, parseConfig } from './config.ts';
import { CheckpointError, CheckpointErrorCode } from './errors.ts';
import { SafetensorsFile, u16le } from './safetensors-file.ts';
import { quantizeAbsmean, unpackTernary } from './ternary.ts';
import { bf16IsFinite } from './bf16.ts';

export type CheckpointForm = 'packed' | 'bf16';

export const PROJECTIONS = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] as const;
export type Projection = (typeof PROJECTIONS)[number];

export const CONFIG_FILE = 'config.json';
export const TOKENIZER_FILE = 'tokenizer.json';
export const TOKENIZER_CONFIG_FILE = 'tokenizer_config.json';
export const SINGLE_WEIGHTS_FILE = 'model.safetensors';
export const INDEX_FILE = 'model.safetensors.index.json';

/** A BitLinear weight: ternary values and the bf16 scale that multiplies them. */
export interface TernaryWeight {
  /** out features */
  rows: number;
  /** in features */
  cols: number;
  /** Int8Array [rows, cols] (row-major: element [o, i] at o·cols + i) of −1, 0, +1. */
  values: Int8Array;
  /** bf16 bits of the scale: effective weight = values · scale. */
  scaleBits: number;
}

export interface LayerWeights {
  q: TernaryWeight;
  k: TernaryWeight;
  v: TernaryWeight;
  o: TernaryWeight;
  gate: TernaryWeight;
  up: TernaryWeight;
  down: TernaryWeight;
  /** bf16 bits [hidden] */
  inputNorm: Uint16Array;
  /** bf16 bits [hidden] */
  postAttentionNorm: Uint16Array;
  /** bf16 bits [hidden] (before o_proj) */
  attnSubNorm: Uint16Array;
  /** bf16 bits [intermediate] (before down_proj) */
  ffnSubNorm: Uint16Array;
}

export function projectionTensor(layer: number, p: Projection): string {
  const mod = p === 'gate' || p === 'up' || p === 'down' ? 'mlp' : 'self_attn';
  return `model.layers.${layer}.${mod}.${p}_proj.weight`;
}

/** [out, in] of a projection. */
export function projectionShape(a: BitNetArchitecture, p: Projection): [number, number] {
  const D = a.hiddenSize;
  const KV = a.numKvHeads * a.headDim;
  const F = a.intermediateSize;
  switch (p) {
    case 'q': case 'o': return [D, D];
    case 'k': case 'v': return [KV, D];
    case 'gate': case 'up': return [F, D];
    case 'down': return [D, F];
  }
}

export interface ExpectedTensor {
  name: string;
  dtype: string;
  shape: number[];
  /** Another accepted shape: a weight_scale may also be a 0-dimensional scalar (shape []). */
  alsoShape?: number[];
}

export const LAYER_NORMS = [
  ['inputNorm', 'input_layernorm.weight'],
  ['postAttentionNorm', 'post_attention_layernorm.weight'],
  ['attnSubNorm', 'self_attn.attn_sub_norm.weight'],
  ['ffnSubNorm', 'mlp.ffn_sub_norm.weight'],
] as const;

/** Every tensor a checkpoint of `a` in `form` holds: name, dtype, shape. */
export function expectedTensors(a: BitNetArchitecture, form: CheckpointForm): ExpectedTensor[] {
  const D = a.hiddenSize;
  const out: ExpectedTensor[] = [{ name: 'model.embed_tokens.weight', dtype: 'BF16', shape: [a.vocabSize, D] }];
  for (let l = 0; l < a.numLayers; l++) {
    for (const p of PROJECTIONS) {
      const [rows, cols] = projectionShape(a, p);
      const name = projectionTensor(l, p);
      if (form === 'packed') {
        out.push({ name, dtype: 'U8', shape: [rows / 4, cols] });
        out.push({ name: name.replace(/weight$/, 'weight_scale'), dtype: 'BF16', shape: [1], alsoShape: [] });
      } else {
        out.push({ name, dtype: 'BF16', shape: [rows, cols] });
      }
    }
    for (const [key, suffix] of LAYER_NORMS) {
      out.push({ name: `model.layers.${l}.${suffix}`, dtype: 'BF16', shape: [key === 'ffnSubNorm' ? a.intermediateSize : D] });
    }
  }
  out.push({ name: 'model.norm.weight', dtype: 'BF16', shape: [D] });
  if (!a.tieWordEmbeddings) out.push({ name: 'lm_head.weight', dtype: 'BF16', shape: [a.vocabSize, D] });
  return out;
}

async function readText(dir: string, file: string): Promise<string> {
  try {
    return await readFile(join(dir, file), 'utf8');
  } catch (cause) {
    throw new CheckpointError(CheckpointErrorCode.MissingFile, `${file}: cannot read in ${dir} (${(cause as Error).message})`, { cause });
  }
}

/** The weight files of `dir` as the loader reads them: [model.safetensors] or [index, shards…]. */
export async function weightFiles(dir: string): Promise<{ index?: string; shards: string[]; weightMap?: Map<string, string> }> {
  let indexText: string | undefined;
  try {
    indexText = await readFile(join(dir, INDEX_FILE), 'utf8');
  } catch {
    indexText = undefined;
  }
  if (indexText === undefined) return { shards: [SINGLE_WEIGHTS_FILE] };
  let index: unknown;
  try {
    index = JSON.parse(indexText);
  } catch (cause) {
    throw new CheckpointError(CheckpointErrorCode.CorruptFile, `${INDEX_FILE}: not JSON (${(cause as Error).message})`, { cause });
  }
  const map = (index as { weight_map?: unknown } | null)?.weight_map;
  if (typeof map !== 'object' || map === null || Array.isArray(map)) {
    throw new CheckpointError(CheckpointErrorCode.CorruptFile, `${INDEX_FILE}: no "weight_map" object`);
  }
  const weightMap = new Map<string, string>();
  for (const [tensor, file] of Object.entries(map as Record<string, unknown>)) {
    if (typeof file !== 'string' || !/^[A-Za-z0-9._-]+\.safetensors$/.test(file) || file.startsWith('.')) {
      throw new CheckpointError(CheckpointErrorCode.CorruptFile, `${INDEX_FILE}: tensor "${tensor}" maps to ${JSON.stringify(file)}, not a .safetensors file name in the directory`);
    }
    weightMap.set(tensor, file);
  }
  const shards = [...new Set(weightMap.values())].sort();
  return { index: INDEX_FILE, shards, weightMap };
}

export class BitNetCheckpoint {
  private constructor(
    readonly dir: string,
    readonly arch: BitNetArchitecture,
    readonly form: CheckpointForm,
    /** Weight files read, relative to `dir`: the index first when sharded. */
    readonly weightFileNames: string[],
    private readonly files: SafetensorsFile[],
    private readonly where: Map<string, SafetensorsFile>,
    /** Tensors present that the architecture does not use (ignored). */
    readonly extraTensors: string[],
  ) {}

  /** Opens `dir`: parses config.json, checks the tokenizer files are JSON, validates every weight header. */
  static async open(dir: string): Promise<BitNetCheckpoint> {
    const arch = parseConfig(await readText(dir, CONFIG_FILE));
    for (const file of [TOKENIZER_FILE, TOKENIZER_CONFIG_FILE]) {
      const text = await readText(dir, file);
      try {
        const v = JSON.parse(text);
        if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not a JSON object');
      } catch (cause) {
        throw new CheckpointError(CheckpointErrorCode.CorruptFile, `${file}: not a JSON object (${(cause as Error).message})`, { cause });
      }
    }
    const { index, shards, weightMap } = await weightFiles(dir);
    const files: SafetensorsFile[] = [];
    const where = new Map<string, SafetensorsFile>();
    try {
      for (const shard of shards) {
        const file = await SafetensorsFile.open(join(dir, shard));
        files.push(file);
        for (const name of file.tensors.keys()) {
          if (where.has(name)) throw new CheckpointError(CheckpointErrorCode.CorruptFile, `${shard}: tensor "${name}" is also in ${where.get(name)!.path}`);
          if (weightMap && weightMap.get(name) !== shard) {
            throw new CheckpointError(CheckpointErrorCode.CorruptFile, `${shard}: holds tensor "${name}" that ${INDEX_FILE} places in ${weightMap.get(name) ?? 'no file'}`);
          }
          where.set(name, file);
        }
      }
      if (weightMap) {
        for (const [name, shard] of weightMap) {
          if (!where.has(name)) throw new CheckpointError(CheckpointErrorCode.MissingTensor, `${shard}: has no tensor "${name}" although ${INDEX_FILE} says so`);
        }
      }
      // The form: what q_proj of layer 0 is stored as.
      const probe = projectionTensor(0, 'q');
      const probeEntry = where.get(probe)?.tensors.get(probe);
      if (!probeEntry) throw new CheckpointError(CheckpointErrorCode.MissingTensor, `checkpoint has no tensor "${probe}"`);
      let form: CheckpointForm;
      if (probeEntry.dtype === 'U8') form = 'packed';
      else if (probeEntry.dtype === 'BF16') form = 'bf16';
      else throw new CheckpointError(CheckpointErrorCode.WrongDtype, `${probe}: dtype ${probeEntry.dtype}; a BitNet checkpoint stores BitLinear weights as U8 (packed) or BF16 (master)`);
      const expected = expectedTensors(arch, form);
      const wanted = new Set(expected.map((e) => e.name));
      for (const e of expected) {
        const file = where.get(e.name);
        const entry = file?.tensors.get(e.name);
        if (!file || !entry) throw new CheckpointError(CheckpointErrorCode.MissingTensor, `checkpoint has no tensor "${e.name}" (${form} form needs ${e.dtype} [${e.shape.join(', ')}])`);
        if (entry.dtype !== e.dtype) {
          throw new CheckpointError(CheckpointErrorCode.WrongDtype, `${e.name} (${basenameOf(file)}): dtype ${entry.dtype}, expected ${e.dtype} in a ${form} checkpoint`);
        }
        const sameShape = (want: number[]) => entry.shape.length === want.length && entry.shape.every((d, i) => d === want[i]);
        if (!sameShape(e.shape) && !(e.alsoShape && sameShape(e.alsoShape))) {
          throw new CheckpointError(CheckpointErrorCode.WrongShape, `${e.name} (${basenameOf(file)}): shape [${entry.shape.join(', ')}], expected [${e.shape.join(', ')}]`);
        }
      }
      const extra = [...where.keys()].filter((n) => !wanted.has(n)).sort();
      const conflicting = extra.filter((n) => n === 'lm_head.weight' || /weight_scale$/.test(n) || (/^model\.layers\.\d+\./.test(n) && !/rotary_emb/.test(n)));
      if (conflicting.length > 0) {
        throw new CheckpointError(
          CheckpointErrorCode.WrongShape,
          `checkpoint holds ${conflicting.slice(0, 3).map((n) => `"${n}"`).join(', ')}${conflicting.length > 3 ? ` and ${conflicting.length - 3} more` : ''} that a ${form} ${arch.numLayers}-layer BitNet${arch.tieWordEmbeddings ? ' with tied embeddings' : ''} does not have`,
        );
      }
      const names = index ? [index, ...shards] : shards;
      return new BitNetCheckpoint(dir, arch, form, names, files, where, extra);
    } catch (err) {
      await Promise.all(files.map((f) => f.close()));
      throw err;
    }
  }

  private async bf16(name: string): Promise<Uint16Array> {
    const bits = u16le(await this.where.get(name)!.read(name));
    for (let i = 0; i < bits.length; i++) {
      if (!bf16IsFinite(bits[i])) throw new CheckpointError(CheckpointErrorCode.BadValue, `${name}: element ${i} is not finite (bf16 bits 0x${bits[i].toString(16)})`);
    }
    return bits;
  }

  /** One BitLinear weight: unpacked (packed form) or quantized by absmean (bf16 form). */
  async projection(layer: number, p: Projection): Promise<TernaryWeight> {
    this.checkLayer(layer);
    const [rows, cols] = projectionShape(this.arch, p);
    const name = projectionTensor(layer, p);
    if (this.form === 'packed') {
      const values = unpackTernary(await this.where.get(name)!.read(name), rows, cols, name);
      const [scaleBits] = await this.bf16(name.replace(/weight$/, 'weight_scale'));
      return { rows, cols, values, scaleBits };
    }
    const q = quantizeAbsmean(u16le(await this.where.get(name)!.read(name)), name);
    return { rows, cols, values: q.values, scaleBits: q.scaleBits };
  }

  /** Every weight of layer `layer` (about 70 MB at 2B4T shapes: load one layer at a time). */
  async layer(layer: number): Promise<LayerWeights> {
    this.checkLayer(layer);
    const out = {} as LayerWeights;
    for (const p of PROJECTIONS) out[p] = await this.projection(layer, p);
    for (const [key, suffix] of LAYER_NORMS) out[key] = await this.bf16(`model.layers.${layer}.${suffix}`);
    return out;
  }

  /** bf16 bits [vocab, hidden] of the token embedding. */
  embedding(): Promise<Uint16Array> {
    return this.bf16('model.embed_tokens.weight');
  }

  /** Rows start .. start + count of the embedding, read by offset. */
  async embeddingRows(start: number, count: number): Promise<Uint16Array> {
    const D = this.arch.hiddenSize;
    if (!(Number.isSafeInteger(start) && Number.isSafeInteger(count) && start >= 0 && count >= 0 && start + count <= this.arch.vocabSize)) {
      throw new RangeError(`embeddingRows: rows ${start}+${count} outside 0..${this.arch.vocabSize}`);
    }
    const name = 'model.embed_tokens.weight';
    return u16le(await this.where.get(name)!.read(name, start * D * 2, count * D * 2));
  }

  /** bf16 bits [hidden] of the final norm. */
  finalNorm(): Promise<Uint16Array> {
    return this.bf16('model.norm.weight');
  }

  /** bf16 bits [vocab, hidden] of the LM head: the embedding when tied. */
  lmHead(): Promise<Uint16Array> {
    return this.arch.tieWordEmbeddings ? this.embedding() : this.bf16('lm_head.weight');
  }

  private checkLayer(layer: number): void {
    if (!Number.isSafeInteger(layer) || layer < 0 || layer >= this.arch.numLayers) {
      throw new RangeError(`layer ${layer} outside 0..${this.arch.numLayers - 1}`);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.files.map((f) => f.close()));
  }
}

function basenameOf(file: SafetensorsFile): string {
  return file.path.split(/[\\/]/).pop()!;
}

/** A whole small model in memory (tests, the float reference): not for 2B-scale checkpoints. */
export interface LoadedModel {
  arch: BitNetArchitecture;
  form: CheckpointForm;
  embedding: Uint16Array;
  layers: LayerWeights[];
  finalNorm: Uint16Array;
  lmHead: Uint16Array;
}

export async function loadModel(dir: string): Promise<LoadedModel> {
  const ckpt = await BitNetCheckpoint.open(dir);
  try {
    const layers: LayerWeights[] = [];
    for (let l = 0; l < ckpt.arch.numLayers; l++) layers.push(await ckpt.layer(l));
    const embedding = await ckpt.embedding();
    return {
      arch: ckpt.arch,
      form: ckpt.form,
      embedding,
      layers,
      finalNorm: await ckpt.finalNorm(),
      lmHead: ckpt.arch.tieWordEmbeddings ? embedding : await ckpt.lmHead(),
    };
  } finally {
    await ckpt.close();
  }
}
