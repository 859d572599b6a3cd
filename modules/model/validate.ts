/**
 * Stateless checks of what a proposal or genesis describes: architecture, LoRA, backbone,
 * proposal text and content. Limits are those of the worker's kernels (worker/SPEC.md §5).
 */
import { CID } from 'multiformats/cid';
import { utf8 } from '../../app/core/bytes.ts';
import type { Architecture, LoraConfig, ProposalContent, RegisterDatasetContent } from '../../proto/gen/r3mes/model/v1/types.ts';
import { modelErrors } from './errors.ts';

/** The byte-level (SPEC v1) family's vocabulary. */
export const VOCAB_SIZE = 256;
/** Largest vocabulary of the SPEC v2 family (2B4T has 128256). */
export const MAX_VOCAB_SIZE = 1 << 18;
/** Tokens in a training chunk; seq_len must divide it. */
export const CHUNK_TOKENS = 2048;
export const LORA_TARGETS = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] as const;
/** The byte-level (SPEC v1) family adapts the attention projections only. */
export const V1_LORA_TARGETS = ['q', 'k', 'v', 'o'] as const;
export const MAX_MIGRATION_BLOCKS = 1_000_000n;
export const MAX_TITLE_BYTES = 140;
export const MAX_SUMMARY_BYTES = 10_000;
export const MAX_PARAMS_JSON_BYTES = 65_536;
const SHA2_256 = 0x12;
/** Largest dataset vocabulary (worker/src/data/manifest.ts MAX_VOCAB). */
export const MAX_DATASET_VOCAB = 1 << 18;
/** Byte vocabulary: a dataset without a tokenizer CID. */
export const BYTE_VOCAB = 256;
export const MAX_DATASET_CHUNKS = 1n << 40n;

const inRange = (value: number, low: number, high: number) => Number.isSafeInteger(value) && value >= low && value <= high;

/**
 * Whether the architecture belongs to the BitNet b1.58 2B4T family of SPEC v2 (§5.2): any of its
 * fields set, or a vocabulary other than the byte-level one.
 */
export function isV2Architecture(a: Architecture): boolean {
  return a.vocabSize !== VOCAB_SIZE || a.nKvHeads !== 0 || a.ffn !== '' || a.ropeTheta !== 0 || a.ropeLayout !== '' || a.normGains || a.embedding !== '';
}

export function validateArchitecture(architecture: Architecture | undefined): Architecture {
  const fail = (why: string): never => {
    throw modelErrors.invalidArchitecture(why);
  };
  if (architecture === undefined) return fail('architecture is missing');
  const { dModel, nLayers, nHeads, dFf, vocabSize, seqLen } = architecture;
  if (!isV2Architecture(architecture)) {
    // The byte-level (v1) family: the limits of SPEC v1 §5.
    if (!inRange(dModel, 16, 1024)) fail(`d_model must be in [16, 1024], got ${dModel}`);
    if (!inRange(dFf, 16, 2048)) fail(`d_ff must be in [16, 2048], got ${dFf}`);
  } else {
    // The 2B4T family (SPEC v2 §5.2): the worker's bounds are proven for these limits.
    const { nKvHeads, ffn, ropeTheta, ropeLayout, embedding } = architecture;
    if (!inRange(vocabSize, 2, MAX_VOCAB_SIZE)) fail(`vocab_size must be in [2, ${MAX_VOCAB_SIZE}], got ${vocabSize}`);
    if (!['', 'ternary', 'bf16-tied'].includes(embedding)) fail(`embedding must be "ternary" or "bf16-tied", got ${JSON.stringify(embedding)}`);
    if (embedding !== 'bf16-tied' && vocabSize > 65_536) fail(`a ternary embedding allows vocab_size ≤ 65536, got ${vocabSize}`);
    if (!inRange(dModel, 16, 8192)) fail(`d_model must be in [16, 8192], got ${dModel}`);
    if (!inRange(dFf, 16, 32_768)) fail(`d_ff must be in [16, 32768], got ${dFf}`);
    if (!['', 'plain', 'gated'].includes(ffn)) fail(`ffn must be "plain" or "gated", got ${JSON.stringify(ffn)}`);
    if (!['', 'adjacent', 'half'].includes(ropeLayout)) fail(`rope_layout must be "adjacent" or "half", got ${JSON.stringify(ropeLayout)}`);
    if (ropeTheta !== 0 && !inRange(ropeTheta, 2, 2 ** 31 - 1)) fail(`rope_theta must be in [2, 2^31), got ${ropeTheta}`);
    const kv = nKvHeads === 0 ? nHeads : nKvHeads;
    if (!inRange(kv, 1, nHeads) || nHeads % kv !== 0 || nHeads / kv > 8) fail(`n_kv_heads must divide n_heads ${nHeads} with a group of at most 8, got ${nKvHeads}`);
  }
  if (!inRange(nLayers, 1, 128)) fail(`n_layers must be in [1, 128], got ${nLayers}`);
  if (!inRange(nHeads, 1, dModel) || dModel % nHeads !== 0) fail(`n_heads must divide d_model ${dModel}, got ${nHeads}`);
  const headDim = dModel / nHeads;
  if (headDim % 2 !== 0 || headDim > 256) fail(`head dimension d_model/n_heads must be even and at most 256, got ${headDim}`);
  if (!inRange(seqLen, 2, CHUNK_TOKENS) || CHUNK_TOKENS % seqLen !== 0) fail(`seq_len must be in [2, ${CHUNK_TOKENS}] and divide ${CHUNK_TOKENS}, got ${seqLen}`);
  return architecture;
}

/** LoRA of a version: its own limits, and the targets its architecture has. */
export function validateLoraFor(lora: LoraConfig | undefined, architecture: Architecture | undefined): LoraConfig {
  const checked = validateLora(lora);
  if (architecture === undefined) return checked;
  if (!isV2Architecture(architecture)) {
    for (const target of checked.targets) {
      if (!(V1_LORA_TARGETS as readonly string[]).includes(target)) throw modelErrors.invalidLora(`target "${target}" needs a v2 architecture; the byte-level family adapts q, k, v, o`);
    }
  } else if (checked.targets.includes('gate') && architecture.ffn !== 'gated') {
    throw modelErrors.invalidLora('target "gate" needs ffn "gated"');
  }
  return checked;
}

export function validateLora(lora: LoraConfig | undefined): LoraConfig {
  const fail = (why: string): never => {
    throw modelErrors.invalidLora(why);
  };
  if (lora === undefined) return fail('lora is missing');
  if (!inRange(lora.rank, 4, 64)) fail(`rank must be in [4, 64], got ${lora.rank}`);
  if (!inRange(lora.alpha, 1, 65_536)) fail(`alpha must be in [1, 65536], got ${lora.alpha}`);
  if (lora.targets.length === 0) fail('targets must not be empty');
  let previous = -1;
  for (const target of lora.targets) {
    const index = (LORA_TARGETS as readonly string[]).indexOf(target);
    if (index < 0) fail(`target "${target}" is not one of ${LORA_TARGETS.join(', ')}`);
    if (index <= previous) fail(`targets must be in the order ${LORA_TARGETS.join(', ')} without repeats`);
    previous = index;
  }
  return lora;
}

/**
 * Exactly one backbone source: a 64-hex-digit seed (generated backbone), a backbone file's CID
 * (model_cid), or a Hugging Face directory's manifest CID with its 64-hex-digit architecture hash;
 * CIDs canonical (base32) CIDv1 with a sha2-256 multihash.
 */
export function validateBackbone(modelCid: string, backboneSeed: string, manifestCid = '', architectureHash = ''): void {
  const fail = (why: string): never => {
    throw modelErrors.invalidBackbone(why);
  };
  if ([modelCid, backboneSeed, manifestCid].filter((x) => x !== '').length !== 1) fail('exactly one of model_cid, backbone_seed and manifest_cid must be set');
  if ((manifestCid === '') !== (architectureHash === '')) fail('architecture_hash goes with manifest_cid, and only with it');
  if (backboneSeed !== '') {
    if (!/^[0-9a-f]{64}$/.test(backboneSeed)) fail('backbone_seed must be 64 lowercase hex digits (32 bytes)');
    return;
  }
  if (architectureHash !== '' && !/^[0-9a-f]{64}$/.test(architectureHash)) fail('architecture_hash must be 64 lowercase hex digits (SHA-256)');
  if (manifestCid !== '') checkCid(manifestCid, 'manifest_cid', fail);
  else checkCid(modelCid, 'model_cid', fail);
}

/** A CIDv1 with a sha2-256 multihash in canonical base32; `fail` raises the caller's error. */
function checkCid(text: string, what: string, fail: (why: string) => never): void {
  let cid: CID;
  try {
    cid = CID.parse(text);
  } catch (error) {
    fail(`${what} "${text.slice(0, 100)}" is not a CID: ${(error as Error).message}`);
  }
  if (cid.version !== 1) fail(`${what} must be a CIDv1, got v${cid.version}`);
  if (cid.multihash.code !== SHA2_256) fail(`${what} must use a sha2-256 multihash`);
  if (cid.toString() !== text) fail(`${what} must be in canonical base32 form (${cid.toString()})`);
}

/**
 * The stateless rules of a dataset registration (`model/17`): manifest CID required, tokenizer CID
 * empty (byte vocabulary, then vocab_size = 256) or a CID, 2 ≤ vocab_size ≤ 2^18,
 * 1 ≤ chunk_count < 2^40, held_out_chunk_count < 2^40.
 */
export function validateDatasetContent(content: RegisterDatasetContent): RegisterDatasetContent {
  const fail = (why: string): never => {
    throw modelErrors.invalidDataset(why);
  };
  if (content.manifestCid === '') fail('manifest_cid is required');
  checkCid(content.manifestCid, 'manifest_cid', fail);
  if (content.tokenizerCid !== '') checkCid(content.tokenizerCid, 'tokenizer_cid', fail);
  else if (content.vocabSize !== BYTE_VOCAB) fail(`a dataset without tokenizer_cid is byte-level: vocab_size must be ${BYTE_VOCAB}, got ${content.vocabSize}`);
  if (!inRange(content.vocabSize, 2, MAX_DATASET_VOCAB)) fail(`vocab_size must be in [2, ${MAX_DATASET_VOCAB}], got ${content.vocabSize}`);
  if (content.chunkCount < 1n || content.chunkCount >= MAX_DATASET_CHUNKS) fail(`chunk_count must be in [1, 2^40), got ${content.chunkCount}`);
  if (content.heldOutChunkCount < 0n || content.heldOutChunkCount >= MAX_DATASET_CHUNKS) fail(`held_out_chunk_count must be below 2^40, got ${content.heldOutChunkCount}`);
  return content;
}

export function validateProposalText(title: string, summary: string): void {
  const titleBytes = utf8(title).length;
  if (titleBytes === 0 || titleBytes > MAX_TITLE_BYTES) throw modelErrors.invalidProposalText(`title must be 1..${MAX_TITLE_BYTES} bytes, got ${titleBytes}`);
  const summaryBytes = utf8(summary).length;
  if (summaryBytes > MAX_SUMMARY_BYTES) throw modelErrors.invalidProposalText(`summary must be at most ${MAX_SUMMARY_BYTES} bytes, got ${summaryBytes}`);
}

export type ContentKind = 'new_version' | 'param_change' | 'register_dataset' | 'head_rollback';

/** Checks the content's own fields; returns its kind. Whether a module exists is checked against state later. */
export function validateProposalContent(content: ProposalContent | undefined): ContentKind {
  const fail = (why: string): never => {
    throw modelErrors.invalidProposalContent(why);
  };
  if (content === undefined) return fail('content is missing');
  const { newVersion, paramChange, registerDataset, headRollback } = content;
  const kinds = [newVersion, paramChange, registerDataset, headRollback].filter((kind) => kind !== undefined).length;
  if (kinds !== 1) fail('content must be exactly one of new_version, param_change, register_dataset and head_rollback');
  if (registerDataset !== undefined) {
    validateDatasetContent(registerDataset);
    return 'register_dataset';
  }
  if (headRollback !== undefined) {
    if (headRollback.toWindow < 0n || headRollback.toWindow >= 1n << 64n) fail(`head_rollback to_window ${headRollback.toWindow} is not a u64`);
    return 'head_rollback';
  }
  if (newVersion !== undefined) {
    if (newVersion.migrationBlocks < 1n || newVersion.migrationBlocks > MAX_MIGRATION_BLOCKS) {
      fail(`migration_blocks must be in [1, ${MAX_MIGRATION_BLOCKS}], got ${newVersion.migrationBlocks}`);
    }
    validateBackbone(newVersion.modelCid, newVersion.backboneSeed, newVersion.manifestCid, newVersion.architectureHash);
    validateArchitecture(newVersion.architecture);
    validateLoraFor(newVersion.lora, newVersion.architecture);
    return 'new_version';
  }
  const change = paramChange!;
  if (!/^[a-z][a-z0-9_]{0,31}$/.test(change.module)) fail(`param_change module "${change.module}" is not a module name`);
  if (utf8(change.paramsJson).length > MAX_PARAMS_JSON_BYTES) fail(`params_json exceeds ${MAX_PARAMS_JSON_BYTES} bytes`);
  try {
    JSON.parse(change.paramsJson);
  } catch (error) {
    fail(`params_json is not JSON: ${(error as Error).message}`);
  }
  return 'param_change';
}
