/**
 * Stateless checks of what a proposal or genesis describes: architecture, LoRA, backbone,
 * proposal text and content. Limits are those of the worker's kernels (worker/SPEC.md §5).
 */
import { CID } from 'multiformats/cid';
import { utf8 } from '../../app/core/bytes.ts';
import type { Architecture, LoraConfig, ProposalContent } from '../../proto/gen/r3mes/model/v1/types.ts';
import { modelErrors } from './errors.ts';

export const VOCAB_SIZE = 256;
/** Tokens in a training chunk; seq_len must divide it. */
export const CHUNK_TOKENS = 2048;
export const LORA_TARGETS = ['q', 'k', 'v', 'o'] as const;
export const MAX_MIGRATION_BLOCKS = 1_000_000n;
export const MAX_TITLE_BYTES = 140;
export const MAX_SUMMARY_BYTES = 10_000;
export const MAX_PARAMS_JSON_BYTES = 65_536;
const SHA2_256 = 0x12;

const inRange = (value: number, low: number, high: number) => Number.isSafeInteger(value) && value >= low && value <= high;

export function validateArchitecture(architecture: Architecture | undefined): Architecture {
  const fail = (why: string): never => {
    throw modelErrors.invalidArchitecture(why);
  };
  if (architecture === undefined) return fail('architecture is missing');
  const { dModel, nLayers, nHeads, dFf, vocabSize, seqLen } = architecture;
  if (vocabSize !== VOCAB_SIZE) fail(`vocab_size must be ${VOCAB_SIZE} (byte-level tokenizer), got ${vocabSize}`);
  if (!inRange(dModel, 16, 1024)) fail(`d_model must be in [16, 1024], got ${dModel}`);
  if (!inRange(dFf, 16, 2048)) fail(`d_ff must be in [16, 2048], got ${dFf}`);
  if (!inRange(nLayers, 1, 128)) fail(`n_layers must be in [1, 128], got ${nLayers}`);
  if (!inRange(nHeads, 1, dModel) || dModel % nHeads !== 0) fail(`n_heads must divide d_model ${dModel}, got ${nHeads}`);
  const headDim = dModel / nHeads;
  if (headDim % 2 !== 0 || headDim > 256) fail(`head dimension d_model/n_heads must be even and at most 256, got ${headDim}`);
  if (!inRange(seqLen, 2, CHUNK_TOKENS) || CHUNK_TOKENS % seqLen !== 0) fail(`seq_len must be in [2, ${CHUNK_TOKENS}] and divide ${CHUNK_TOKENS}, got ${seqLen}`);
  return architecture;
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
    if (index < 0) fail(`target "${target}" is not one of q, k, v, o`);
    if (index <= previous) fail('targets must be in the order q, k, v, o without repeats');
    previous = index;
  }
  return lora;
}

/** Exactly one of a 64-hex-digit seed or a canonical (base32) CIDv1 with a sha2-256 multihash. */
export function validateBackbone(modelCid: string, backboneSeed: string): void {
  const fail = (why: string): never => {
    throw modelErrors.invalidBackbone(why);
  };
  if ((modelCid === '') === (backboneSeed === '')) fail('exactly one of model_cid and backbone_seed must be set');
  if (backboneSeed !== '') {
    if (!/^[0-9a-f]{64}$/.test(backboneSeed)) fail('backbone_seed must be 64 lowercase hex digits (32 bytes)');
    return;
  }
  let cid: CID;
  try {
    cid = CID.parse(modelCid);
  } catch (error) {
    return fail(`model_cid "${modelCid}" is not a CID: ${(error as Error).message}`);
  }
  if (cid.version !== 1) fail(`model_cid must be a CIDv1, got v${cid.version}`);
  if (cid.multihash.code !== SHA2_256) fail('model_cid must use a sha2-256 multihash');
  if (cid.toString() !== modelCid) fail(`model_cid must be in canonical base32 form (${cid.toString()})`);
}

export function validateProposalText(title: string, summary: string): void {
  const titleBytes = utf8(title).length;
  if (titleBytes === 0 || titleBytes > MAX_TITLE_BYTES) throw modelErrors.invalidProposalText(`title must be 1..${MAX_TITLE_BYTES} bytes, got ${titleBytes}`);
  const summaryBytes = utf8(summary).length;
  if (summaryBytes > MAX_SUMMARY_BYTES) throw modelErrors.invalidProposalText(`summary must be at most ${MAX_SUMMARY_BYTES} bytes, got ${summaryBytes}`);
}

export type ContentKind = 'new_version' | 'param_change' | 'head_rollback';

/** Checks the content's own fields; returns its kind. Whether a module exists is checked against state later. */
export function validateProposalContent(content: ProposalContent | undefined): ContentKind {
  const fail = (why: string): never => {
    throw modelErrors.invalidProposalContent(why);
  };
  if (content === undefined) return fail('content is missing');
  const { newVersion, paramChange, headRollback } = content;
  const kinds = [newVersion, paramChange, headRollback].filter((kind) => kind !== undefined).length;
  if (kinds !== 1) fail('content must be exactly one of new_version, param_change and head_rollback');
  if (headRollback !== undefined) {
    if (headRollback.toWindow < 0n || headRollback.toWindow >= 1n << 64n) fail(`head_rollback to_window ${headRollback.toWindow} is not a u64`);
    return 'head_rollback';
  }
  if (newVersion !== undefined) {
    if (newVersion.migrationBlocks < 1n || newVersion.migrationBlocks > MAX_MIGRATION_BLOCKS) {
      fail(`migration_blocks must be in [1, ${MAX_MIGRATION_BLOCKS}], got ${newVersion.migrationBlocks}`);
    }
    validateBackbone(newVersion.modelCid, newVersion.backboneSeed);
    validateArchitecture(newVersion.architecture);
    validateLora(newVersion.lora);
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
