// The model a window trains: its version from the chain, its backbone generated from the seed
// (SPEC §7) or read from a backbone file named by CID, and the identity every output records.
//
// Backbone file (a model version's `model_cid`): canonical safetensors, I8 tensors with values
// in {−1, 0, +1}: `embed` [256, D], `layer.{ℓ}.wq|wk|wv|wo` [D, D], `layer.{ℓ}.w1` [F, D],
// `layer.{ℓ}.w2` [D, F], `head` [256, D]; optional metadata `gamma.<tensor>` (Q16 decimal in
// 1..65536) overrides the generated γ. Nothing else. The LoRA initialisation of a file backbone
// uses the seed SHA-256(utf8("r3mes/lora-seed/v1") ‖ utf8(cid)).
//
// Model directory (a model version's `manifest_cid` + `architecture_hash`): a Hugging Face BitNet
// directory (src/checkpoint/README.md), read from a local directory (--model-dir) or fetched file
// by file from the content store by the CIDs its manifest names; either way the directory's
// architecture hash and manifest CID are checked against the version's before it is used. Its
// LoRA initialisation uses the same rule with the manifest CID.

import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256 } from '@noble/hashes/sha2.js';
import { hexToBytes } from '@noble/hashes/utils.js';
import { packTernary } from '../kernels/cpu/ternary-pack.ts';
import { type Backbone, type BackboneLayer, generateBackbone, generatedGamma, type TernaryTensor } from '../model/backbone.ts';
import { kvHeads, loraAlpha, type LoraTarget, loraTargets, type ModelConfig, ropeTheta, validateConfig } from '../model/config.ts';
import { architectureHash, parseConfig } from '../checkpoint/config.ts';
import { CheckpointError, CheckpointErrorCode } from '../checkpoint/errors.ts';
import { CONFIG_FILE, loadModel as loadCheckpoint } from '../checkpoint/loader.ts';
import { decodeManifest, verifyDirectory } from '../checkpoint/manifest.ts';
import { backboneOfCheckpoint } from '../checkpoint/to-backbone.ts';
import { OutputError, OutputErrorCode } from '../output/errors.ts';
import type { BackboneRef, ModelIdentity } from '../output/metadata.ts';
import { CHUNK_TOKENS } from '../data/chunk.ts';
import { cidOfFile, parseCid, verifyBytes } from '../storage/cid.ts';
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
  const manifestCid = v.manifestCid ?? '';
  const backbone: BackboneRef = v.backboneSeed !== '' ? { seed: hexToBytes(v.backboneSeed) }
    : manifestCid !== '' ? { manifest: manifestCid, architectureHash: v.architectureHash ?? '' } : { cid: v.modelCid };
  const base: ModelConfig = {
    vocab: arch.vocabSize || 256, // absent in records from before it varied: the byte vocabulary
    dModel: arch.dModel, nLayers: arch.nLayers, nHeads: arch.nHeads, dFF: arch.dFf, seqLen: arch.seqLen, loraRank: v.lora.rank,
    seed: loraSeedOf(backbone),
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

/** The LoRA-initialisation seed of a backbone (SPEC §6 "Seeds"): the seed itself, or derived from the CID. */
export function loraSeedOf(b: BackboneRef): Uint8Array {
  return 'seed' in b ? b.seed : loraSeedForCid('cid' in b ? b.cid : b.manifest);
}

/** Where a model's backbone comes from, besides a seed. */
export interface ModelSource {
  /** the backbone file of a version that names one by CID (checked against it) */
  readonly modelFile?: Uint8Array;
  /** a local model directory of a manifest-backed version (checked against its manifest CID and architecture hash) */
  readonly modelDir?: string;
  /** the content store: backbone files, manifests and model-directory files are fetched from it by CID */
  readonly store?: ContentStore;
  /** where model directories fetched from the store are written (default: <tmpdir>/r3mes-models) */
  readonly cacheDir?: string;
}

/**
 * Builds the backbone of `identity`: generated from its seed, read from `modelFile` bytes
 * (checked against the version's CID) or fetched from `store` by that CID, or a model directory
 * (`modelDir`, or fetched into `cacheDir` from `store`) checked against the manifest CID.
 *
 * The backbone and the LoRA initialisation follow the backbone reference (SPEC §6 "Seeds"), never
 * a file's `lora_seed`: an identity read from a file whose `lora_seed` is not the one its backbone
 * gives is rebuilt with the right one (the re-execution then differs from the file's claims).
 */
export async function loadModel(given: ModelIdentity, source: ModelSource = {}): Promise<LoadedModel> {
  const identity: ModelIdentity = { ...given, cfg: { ...given.cfg, seed: loraSeedOf(given.backbone) } };
  checkTrainable(identity.cfg);
  if ('seed' in identity.backbone) {
    if (source.modelFile) throw badModel('this model version generates its backbone from a seed; --model is not used');
    if (source.modelDir !== undefined) throw badModel('this model version generates its backbone from a seed; --model-dir is not used');
    return { identity, backbone: generateBackbone(identity.cfg) };
  }
  if ('manifest' in identity.backbone) return { identity, backbone: await loadDirectoryBackbone(identity, identity.backbone, source) };
  if (source.modelDir !== undefined) throw badModel(`model version ${identity.version} names a backbone file (${identity.backbone.cid}), not a model directory; give --model FILE, not --model-dir`);
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

const mismatch = (msg: string) => new CheckpointError(CheckpointErrorCode.CidMismatch, msg);

/** Fetches the manifest and each file it names from `store` into `dir` (a file already there with its CID is kept). */
async function fetchDirectory(store: ContentStore, manifestCid: string, dir: string, expectArch: string | undefined, version: bigint): Promise<Uint8Array> {
  const manifestBytes = await store.get(parseCid(manifestCid));
  const manifest = decodeManifest(manifestBytes);
  if (expectArch && manifest.architectureHash !== expectArch) {
    throw mismatch(`manifest ${manifestCid} names architecture hash ${manifest.architectureHash}, but model version ${version} records ${expectArch}`);
  }
  await mkdir(dir, { recursive: true });
  for (const f of manifest.files) {
    if (!/^[A-Za-z0-9._-]+$/.test(f.name) || f.name.startsWith('.')) throw mismatch(`manifest ${manifestCid} names a file "${f.name}" that is not a plain file name`);
    const path = join(dir, f.name);
    if (existsSync(path)) {
      const have = await cidOfFile(path);
      if (have.cid.toString() === f.cid && have.size === f.size) continue;
    }
    const bytes = await store.get(parseCid(f.cid));
    if (bytes.length !== f.size) throw mismatch(`${f.name}: the store gave ${bytes.length} bytes for ${f.cid}; manifest ${manifestCid} names ${f.size}`);
    const tmp = `${path}.part`;
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  }
  return manifestBytes;
}

/** The architecture fields a model version and a checkpoint's config.json must agree on. */
function architectureFields(c: ModelConfig): Record<string, number | string | boolean> {
  return {
    vocab_size: c.vocab, d_model: c.dModel, n_layers: c.nLayers, n_heads: c.nHeads, n_kv_heads: kvHeads(c), d_ff: c.dFF,
    ffn: c.ffn ?? 'plain', rope_theta: ropeTheta(c), rope_layout: c.ropeLayout ?? 'adjacent', norm_gains: c.normGains === true, embedding: c.embedding ?? 'ternary',
  };
}

async function loadDirectoryBackbone(identity: ModelIdentity, ref: { readonly manifest: string; readonly architectureHash?: string }, source: ModelSource): Promise<Backbone> {
  const { version, cfg } = identity;
  if (source.modelFile) throw badModel(`model version ${version} is a Hugging Face model directory (manifest ${ref.manifest}); give --model-dir DIR, not --model FILE`);
  const expectArch = ref.architectureHash || undefined;
  let dir: string;
  let manifestBytes: Uint8Array | undefined;
  if (source.modelDir !== undefined) {
    dir = source.modelDir;
    if (expectArch) {
      let text: string;
      try {
        text = await readFile(join(dir, CONFIG_FILE), 'utf8');
      } catch (cause) {
        throw new CheckpointError(CheckpointErrorCode.MissingFile, `${join(dir, CONFIG_FILE)}: cannot read it (${(cause as Error).message})`, { cause });
      }
      const got = architectureHash(parseConfig(text));
      if (got !== expectArch) throw mismatch(`${join(dir, CONFIG_FILE)}: architecture hash ${got}, but model version ${version} records ${expectArch}`);
    }
  } else if (source.store) {
    dir = join(source.cacheDir ?? join(tmpdir(), 'r3mes-models'), ref.manifest);
    manifestBytes = await fetchDirectory(source.store, ref.manifest, dir, expectArch, version);
  } else {
    throw badModel(`model version ${version} is a Hugging Face model directory (manifest ${ref.manifest}); pass --model-dir DIR or a store holding the manifest and its files`);
  }
  const manifest = await verifyDirectory(dir, ref.manifest, manifestBytes);
  if (expectArch && manifest.architectureHash !== expectArch) throw mismatch(`manifest ${ref.manifest} names architecture hash ${manifest.architectureHash}, but model version ${version} records ${expectArch}`);
  const ckpt = await loadCheckpoint(dir);
  const bb = backboneOfCheckpoint(ckpt, { seqLen: cfg.seqLen, loraRank: cfg.loraRank, loraAlpha: loraAlpha(cfg), loraTargets: loraTargets(cfg), seed: cfg.seed });
  const want = architectureFields(cfg);
  const have = architectureFields(bb.cfg);
  for (const k of Object.keys(want)) {
    if (want[k] !== have[k]) throw new OutputError(OutputErrorCode.BadMetadata, `model version ${version} says ${k} = ${want[k]}, but the model directory (manifest ${ref.manifest}) has ${have[k]}`);
  }
  return bb;
}
