// The model a window trains: its version from the chain, its backbone generated from the seed
// (SPEC §7) or read from a backbone file named by CID, and the identity every output records.
//
// Backbone file (a model version's `model_cid`): canonical safetensors, I8 tensors with values
// in {−1, 0, +1}: `embed` [256, D], `layer.{ℓ}.wq|wk|wv|wo` [D, D], `layer.{ℓ}.w1` [F, D],
// `layer.{ℓ}.w2` [D, F], `head` [256, D]; optional metadata `gamma.<tensor>` (Q16 decimal in
// 1..65536) overrides the generated γ. Nothing else. The LoRA initialisation of a file backbone
// uses the seed SHA-256(utf8("r3mes/lora-seed/v1") ‖ utf8(cid)).

import { sha256 } from '@noble/hashes/sha2.js';
import { hexToBytes } from '@noble/hashes/utils.js';
import { packTernary } from '../kernels/cpu/ternary-pack.ts';
import { type Backbone, type BackboneLayer, generateBackbone, generatedGamma, type TernaryTensor } from '../model/backbone.ts';
import { type LoraTarget, type ModelConfig, validateConfig } from '../model/config.ts';
import { OutputError, OutputErrorCode } from '../output/errors.ts';
import type { BackboneRef, ModelIdentity } from '../output/metadata.ts';
import { CHUNK_TOKENS } from '../data/chunk.ts';
import { parseCid, verifyBytes } from '../storage/cid.ts';
import type { ContentStore } from '../storage/content-store.ts';
import { decodeSafetensors, type IntTensor } from '../storage/safetensors.ts';
import type { ModelVersion } from '../chain/client.ts';

export interface LoadedModel {
  readonly identity: ModelIdentity;
  readonly backbone: Backbone;
}

const LORA_SEED_DOMAIN = 'r3mes/lora-seed/v1';

export function loraSeedForCid(cid: string): Uint8Array {
  return sha256(new TextEncoder().encode(`${LORA_SEED_DOMAIN}${cid}`));
}

function badModel(msg: string): OutputError {
  return new OutputError(OutputErrorCode.BadTensors, `model file: ${msg}`);
}

/** The identity of a chain model version (architecture + LoRA rank + backbone reference). */
export function identityOfVersion(v: ModelVersion): ModelIdentity {
  const arch = v.architecture;
  if (!arch || !v.lora) throw badModel(`model version ${v.number} has no architecture or LoRA config`);
  // Fields a record written before they existed lacks read as their proto3 defaults.
  if ((v.manifestCid ?? '') !== '') throw badModel(`model version ${v.number} is a Hugging Face model directory (manifest ${v.manifestCid}); this worker cannot train it yet`);
  const backbone: BackboneRef = v.backboneSeed !== '' ? { seed: hexToBytes(v.backboneSeed) } : { cid: v.modelCid };
  const base: ModelConfig = {
    vocab: arch.vocabSize || 256, // absent in records from before it varied: the byte vocabulary
    dModel: arch.dModel, nLayers: arch.nLayers, nHeads: arch.nHeads, dFF: arch.dFf, seqLen: arch.seqLen, loraRank: v.lora.rank,
    seed: 'seed' in backbone ? backbone.seed : loraSeedForCid(backbone.cid),
    // The version's LoRA targets are honoured (SPEC §6: state bytes hold exactly them; q,k,v,o is
    // v1). Its alpha is not applied to byte-level (v1) architectures: their integers are fixed by
    // SPEC v1 (scale 1, i.e. alpha = rank); the 2B4T family carries loraAlpha (SPEC §5.2).
    ...(v.lora.targets.length > 0 ? { loraTargets: v.lora.targets as LoraTarget[] } : {}),
  };
  // The 2B4T family (SPEC v2 §5.2; modules/model README "Architecture"): each field the chain sets.
  const { nKvHeads = 0, ffn = '', ropeTheta = 0, ropeLayout = '', normGains = false, embedding = '' } = arch;
  const v2 = (arch.vocabSize || 256) !== 256 || nKvHeads !== 0 || ffn !== '' || ropeTheta !== 0 || ropeLayout !== '' || normGains || embedding !== '';
  const cfg: ModelConfig = !v2 ? base : {
    ...base,
    ...(nKvHeads !== 0 ? { nKvHeads } : {}),
    ...(ffn !== '' ? { ffn: ffn as 'plain' | 'gated' } : {}),
    ...(ropeTheta !== 0 ? { ropeTheta } : {}),
    ...(ropeLayout !== '' ? { ropeLayout: ropeLayout as 'adjacent' | 'half' } : {}),
    ...(normGains ? { normGains: true } : {}),
    ...(embedding !== '' ? { embedding: embedding as 'ternary' | 'bf16-tied' } : {}),
    loraAlpha: v.lora.alpha,
  };
  return { version: v.number, backbone, cfg };
}

function checkTrainable(cfg: ModelConfig): void {
  try {
    validateConfig(cfg);
  } catch (cause) {
    throw new OutputError(OutputErrorCode.BadMetadata, (cause as Error).message, { cause });
  }
  if (CHUNK_TOKENS % cfg.seqLen !== 0) throw new OutputError(OutputErrorCode.BadMetadata, `model config: seqLen ${cfg.seqLen} does not divide the ${CHUNK_TOKENS}-token chunk`);
}

/** Reads and checks a backbone file against the model's config. */
export function decodeBackbone(bytes: Uint8Array, cfg: ModelConfig): Backbone {
  let file;
  try {
    file = decodeSafetensors(bytes);
  } catch (cause) {
    throw new OutputError(OutputErrorCode.BadTensors, `model file: ${(cause as Error).message}`, { cause });
  }
  const { dModel: D, dFF: F } = cfg;
  const used = new Set<string>();
  const int8 = (name: string, rows: number, cols: number): Int8Array => {
    const t: IntTensor | undefined = file.tensors.get(name);
    if (!t) throw badModel(`tensor ${name} is missing`);
    if (t.dtype !== 'I8') throw badModel(`tensor ${name} is ${t.dtype}, expected I8`);
    if (t.shape.length !== 2 || t.shape[0] !== rows || t.shape[1] !== cols) throw badModel(`tensor ${name} has shape [${t.shape.join(',')}], expected [${rows},${cols}]`);
    const w = t.data as Int8Array;
    for (let i = 0; i < w.length; i++) if (w[i] < -1 || w[i] > 1) throw badModel(`tensor ${name}[${i}] = ${w[i]} is not ternary`);
    used.add(name);
    return w;
  };
  const tern = (name: string, rows: number, cols: number): TernaryTensor => {
    const w = int8(name, rows, cols);
    const g = file.metadata.get(`gamma.${name}`);
    let gamma = generatedGamma(cols);
    if (g !== undefined) {
      if (!/^[1-9][0-9]{0,4}$/.test(g) || Number(g) > 65536) throw badModel(`gamma.${name} = ${JSON.stringify(g)} is not an integer in 1..65536`);
      gamma = Number(g);
    }
    return { w, rows, cols, gamma, packed: packTernary(w, rows, cols) };
  };
  const layers: BackboneLayer[] = [];
  for (let l = 0; l < cfg.nLayers; l++) {
    layers.push({
      wq: tern(`layer.${l}.wq`, D, D), wk: tern(`layer.${l}.wk`, D, D), wv: tern(`layer.${l}.wv`, D, D), wo: tern(`layer.${l}.wo`, D, D),
      w1: tern(`layer.${l}.w1`, F, D), w2: tern(`layer.${l}.w2`, D, F),
    });
  }
  const embed = int8('embed', 256, D);
  const head = tern('head', 256, D);
  for (const name of file.tensors.keys()) if (!used.has(name)) throw badModel(`unexpected tensor ${name}`);
  return { cfg, embed, layers, head };
}

/**
 * Builds the backbone of `identity`: generated from its seed, or read from `modelFile` bytes
 * (checked against the version's CID) or fetched from `store` by that CID.
 */
export async function loadModel(identity: ModelIdentity, source: { modelFile?: Uint8Array; store?: ContentStore } = {}): Promise<LoadedModel> {
  checkTrainable(identity.cfg);
  if ('seed' in identity.backbone) {
    if (source.modelFile) throw badModel('this model version generates its backbone from a seed; --model is not used');
    return { identity, backbone: generateBackbone(identity.cfg) };
  }
  const cid = parseCid(identity.backbone.cid);
  let bytes: Uint8Array;
  if (source.modelFile) {
    bytes = source.modelFile;
    try {
      await verifyBytes(cid, bytes, 'model file');
    } catch (cause) {
      throw new OutputError(OutputErrorCode.CidMismatch, `model file does not match the version's model_cid ${cid}: ${(cause as Error).message}`, { cause });
    }
  } else if (source.store) {
    bytes = await source.store.get(cid);
  } else {
    throw badModel(`model version ${identity.version} names a backbone file (${cid}); pass --model FILE or a store holding it`);
  }
  return { identity, backbone: decodeBackbone(bytes, identity.cfg) };
}
