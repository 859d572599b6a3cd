// config.json of a Hugging Face BitNet checkpoint → the architecture, and its hash (README
// "Architecture hash").

import { createHash } from 'node:crypto';
import { CheckpointError, CheckpointErrorCode } from './errors.ts';

export const ARCHITECTURE = 'BitNetForCausalLM';

export interface BitNetArchitecture {
  architecture: typeof ARCHITECTURE;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  vocabSize: number;
  maxPositions: number;
  ropeTheta: number;
  rmsNormEps: number;
  tieWordEmbeddings: boolean;
  hiddenAct: 'relu2';
}

function bad(msg: string): CheckpointError {
  return new CheckpointError(CheckpointErrorCode.BadConfig, `config.json: ${msg}`);
}

function positiveInt(cfg: Record<string, unknown>, key: string, max: number): number {
  const v = cfg[key];
  if (!Number.isSafeInteger(v) || (v as number) < 1 || (v as number) > max) {
    throw bad(`${key} must be an integer in 1..${max}, got ${JSON.stringify(v)}`);
  }
  return v as number;
}

function positiveNumber(cfg: Record<string, unknown>, key: string, fallback?: number): number {
  const v = cfg[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw bad(`${key} must be a positive number, got ${JSON.stringify(v)}`);
  return v;
}

/**
 * Parses config.json text. Defaults where transformers' BitNetConfig has them and the field
 * is absent: hidden_act "relu2", num_key_value_heads = num_attention_heads, rms_norm_eps 1e-5,
 * rope_theta 500000, tie_word_embeddings false, head_dim hidden_size / num_attention_heads.
 */
export function parseConfig(text: string): BitNetArchitecture {
  let cfg: unknown;
  try {
    cfg = JSON.parse(text);
  } catch (cause) {
    throw new CheckpointError(CheckpointErrorCode.BadConfig, `config.json: not JSON (${(cause as Error).message})`, { cause });
  }
  if (typeof cfg !== 'object' || cfg === null || Array.isArray(cfg)) throw bad('not a JSON object');
  const c = cfg as Record<string, unknown>;
  const archs = c.architectures;
  if (!Array.isArray(archs) || archs.length !== 1 || archs[0] !== ARCHITECTURE) {
    throw bad(`architectures is ${JSON.stringify(archs)}; only ["${ARCHITECTURE}"] is supported`);
  }
  if (c.model_type !== undefined && c.model_type !== 'bitnet') throw bad(`model_type is ${JSON.stringify(c.model_type)}, not "bitnet"`);
  const hiddenAct = c.hidden_act ?? 'relu2';
  if (hiddenAct !== 'relu2') throw bad(`hidden_act is ${JSON.stringify(hiddenAct)}; BitNet uses "relu2"`);
  if (c.attention_bias !== undefined && c.attention_bias !== false) throw bad('attention_bias must be false (BitNet has no biases)');
  if (c.mlp_bias !== undefined && c.mlp_bias !== false) throw bad('mlp_bias must be false (BitNet has no biases)');
  if (c.rope_scaling !== undefined && c.rope_scaling !== null) throw bad('rope_scaling is not supported (plain RoPE only)');
  const hiddenSize = positiveInt(c, 'hidden_size', 1 << 16);
  const intermediateSize = positiveInt(c, 'intermediate_size', 1 << 18);
  const numLayers = positiveInt(c, 'num_hidden_layers', 1024);
  const numHeads = positiveInt(c, 'num_attention_heads', 1024);
  const numKvHeads = c.num_key_value_heads === undefined || c.num_key_value_heads === null ? numHeads : positiveInt(c, 'num_key_value_heads', 1024);
  const vocabSize = positiveInt(c, 'vocab_size', 1 << 24);
  const maxPositions = positiveInt(c, 'max_position_embeddings', 1 << 24);
  if (numHeads % numKvHeads !== 0) throw bad(`num_attention_heads ${numHeads} is not a multiple of num_key_value_heads ${numKvHeads}`);
  if (hiddenSize % numHeads !== 0) throw bad(`hidden_size ${hiddenSize} is not a multiple of num_attention_heads ${numHeads}`);
  const headDim = hiddenSize / numHeads;
  if (c.head_dim !== undefined && c.head_dim !== null && c.head_dim !== headDim) {
    throw bad(`head_dim ${JSON.stringify(c.head_dim)} differs from hidden_size / num_attention_heads = ${headDim} (attn_sub_norm has hidden_size gains)`);
  }
  if (headDim % 2 !== 0) throw bad(`head dimension ${headDim} is odd; RoPE needs pairs`);
  for (const [key, size] of [['hidden_size', hiddenSize], ['intermediate_size', intermediateSize], ['key/value width', numKvHeads * headDim]] as const) {
    if (size % 4 !== 0) throw bad(`${key} ${size} is not a multiple of 4 (packed weights hold 4 rows a byte)`);
  }
  const tie = c.tie_word_embeddings ?? false;
  if (typeof tie !== 'boolean') throw bad(`tie_word_embeddings must be a boolean, got ${JSON.stringify(tie)}`);
  return {
    architecture: ARCHITECTURE,
    hiddenSize,
    intermediateSize,
    numLayers,
    numHeads,
    numKvHeads,
    headDim,
    vocabSize,
    maxPositions,
    ropeTheta: positiveNumber(c, 'rope_theta', 500000),
    rmsNormEps: positiveNumber(c, 'rms_norm_eps', 1e-5),
    tieWordEmbeddings: tie,
    hiddenAct: 'relu2',
  };
}

/** IEEE-754 binary64 bits of `x` as 16 lower-case hex digits. */
export function float64Hex(x: number): string {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  return view.getBigUint64(0).toString(16).padStart(16, '0');
}

/**
 * The canonical encoding the architecture hash is taken over: JSON without whitespace, keys in
 * this (alphabetical) order, integers in decimal, the two real fields as the hex of their
 * float64 bits (no decimal spelling question), booleans as true/false.
 */
export function canonicalArchitecture(a: BitNetArchitecture): string {
  return JSON.stringify({
    architecture: a.architecture,
    head_dim: a.headDim,
    hidden_act: a.hiddenAct,
    hidden_size: a.hiddenSize,
    intermediate_size: a.intermediateSize,
    max_position_embeddings: a.maxPositions,
    num_attention_heads: a.numHeads,
    num_hidden_layers: a.numLayers,
    num_key_value_heads: a.numKvHeads,
    rms_norm_eps: float64Hex(a.rmsNormEps),
    rope_theta: float64Hex(a.ropeTheta),
    tie_word_embeddings: a.tieWordEmbeddings,
    vocab_size: a.vocabSize,
  });
}

/** SHA-256 of `canonicalArchitecture`, 64 lower-case hex digits. */
export function architectureHash(a: BitNetArchitecture): string {
  return createHash('sha256').update(canonicalArchitecture(a), 'utf8').digest('hex');
}
