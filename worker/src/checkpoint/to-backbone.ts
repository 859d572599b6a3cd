// A loaded Hugging Face BitNet checkpoint (loader.ts) → the SPEC v2 integer model (src/model):
// the model config of its architecture and the weights `buildBackbone` converts to fixed point
// (SPEC §1.1: every bf16 value by the exact rules, errors naming the tensor). This module only
// renames: ternary values and raw bf16 bits pass through untouched.

import { type Backbone, type BackboneWeights, buildBackbone, type LayerWeights as ModelLayerWeights, type TernaryWeight as ModelTernary } from '../model/backbone.ts';
import type { LoraTarget, ModelConfig } from '../model/config.ts';
import type { BitNetArchitecture } from './config.ts';
import { CheckpointError, CheckpointErrorCode } from './errors.ts';
import type { LoadedModel, TernaryWeight } from './loader.ts';

/** What the chain's model version adds to a checkpoint's architecture. */
export interface TrainingChoices {
  /** Tokens per sequence (divides the 2048-token chunk; at most max_position_embeddings). */
  readonly seqLen: number;
  readonly loraRank: number;
  readonly loraAlpha: number;
  readonly loraTargets: readonly LoraTarget[];
  /** 32-byte seed of the LoRA initialisation (SPEC §7). */
  readonly seed: Uint8Array;
}

/** The SPEC v2 config of a BitNetForCausalLM architecture (SPEC §5.2: gated FFN, gains, rotate_half, tied bf16 head). */
export function configOfArchitecture(a: BitNetArchitecture, t: TrainingChoices): ModelConfig {
  const fail = (why: string): never => {
    throw new CheckpointError(CheckpointErrorCode.BadConfig, `config.json: ${why}`);
  };
  if (!a.tieWordEmbeddings) fail('tie_word_embeddings is false: SPEC v2 has a tied bf16 LM head only (2B4T ties it)');
  if (a.headDim * a.numHeads !== a.hiddenSize) fail(`head_dim ${a.headDim} × ${a.numHeads} heads ≠ hidden_size ${a.hiddenSize}`);
  if (!Number.isSafeInteger(a.ropeTheta)) fail(`rope_theta ${a.ropeTheta} is not an integer (SPEC v2 tables take an integer θ)`);
  if (t.seqLen > a.maxPositions) fail(`seq_len ${t.seqLen} exceeds max_position_embeddings ${a.maxPositions}`);
  return {
    vocab: a.vocabSize, dModel: a.hiddenSize, nLayers: a.numLayers, nHeads: a.numHeads, dFF: a.intermediateSize,
    seqLen: t.seqLen, loraRank: t.loraRank, seed: t.seed,
    nKvHeads: a.numKvHeads, ffn: 'gated', ropeTheta: a.ropeTheta, ropeLayout: 'half', normGains: true, embedding: 'bf16-tied',
    loraTargets: t.loraTargets, loraAlpha: t.loraAlpha,
  };
}

const ternary = (w: TernaryWeight): ModelTernary => ({ w: w.values, rows: w.rows, cols: w.cols, scaleBits: w.scaleBits });

/** The weights of a loaded checkpoint in the form `buildBackbone` takes (HF [out, in] layouts kept). */
export function weightsOfCheckpoint(m: LoadedModel): BackboneWeights {
  const layers: ModelLayerWeights[] = m.layers.map((l) => ({
    wq: ternary(l.q), wk: ternary(l.k), wv: ternary(l.v), wo: ternary(l.o),
    wgate: ternary(l.gate), wup: ternary(l.up), wdown: ternary(l.down),
    gains: { attnNorm: l.inputNorm, attnSubNorm: l.attnSubNorm, ffnNorm: l.postAttentionNorm, ffnSubNorm: l.ffnSubNorm },
  }));
  return { embed: { bf16: m.embedding }, layers, finalNorm: m.finalNorm };
}

/** The integer backbone of a loaded checkpoint: shapes checked and bf16 converted by SPEC §1.1. */
export function backboneOfCheckpoint(m: LoadedModel, t: TrainingChoices): Backbone {
  return buildBackbone(configOfArchitecture(m.arch, t), weightsOfCheckpoint(m));
}
