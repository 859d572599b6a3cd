// Strict readers and writers of the string → string metadata our safetensors files carry.
// Every integer is a canonical decimal string (no sign, no leading zeros), every hash lower-case
// hex: one value has one spelling, so the same facts always give the same bytes (and CID).

import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { isV2, kvHeads, LORA_TARGETS, type LoraTarget, loraAlpha, loraTargets, type ModelConfig, ropeTheta, validateConfig } from '../model/config.ts';
import { OutputError, OutputErrorCode } from './errors.ts';

const DECIMAL = /^(0|[1-9][0-9]*)$/;
const HEX32 = /^[0-9a-f]{64}$/;

function bad(what: string, msg: string): OutputError {
  return new OutputError(OutputErrorCode.BadMetadata, `${what}: ${msg}`);
}

export class MetaReader {
  constructor(private readonly meta: ReadonlyMap<string, string>, readonly what: string) {}

  has(key: string): boolean {
    return this.meta.has(key);
  }

  str(key: string): string {
    const v = this.meta.get(key);
    if (v === undefined) throw bad(this.what, `metadata "${key}" is missing`);
    return v;
  }

  big(key: string): bigint {
    const v = this.str(key);
    if (!DECIMAL.test(v) || v.length > 20 || BigInt(v) >= 1n << 64n) throw bad(this.what, `metadata "${key}" = ${JSON.stringify(v)} is not a u64 decimal`);
    return BigInt(v);
  }

  /** A decimal below 2^53. */
  num(key: string): number {
    const v = this.big(key);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw bad(this.what, `metadata "${key}" = ${v} is too large`);
    return Number(v);
  }

  hash(key: string): Uint8Array {
    const v = this.str(key);
    if (!HEX32.test(v)) throw bad(this.what, `metadata "${key}" is not 64 lower-case hex digits`);
    return hexToBytes(v);
  }

  hashList(key: string): Uint8Array[] {
    const v = this.str(key);
    const parts = v === '' ? [] : v.split(',');
    return parts.map((h, i) => {
      if (!HEX32.test(h)) throw bad(this.what, `metadata "${key}" entry ${i} is not 64 lower-case hex digits`);
      return hexToBytes(h);
    });
  }

  expect(key: string, value: string): void {
    const v = this.str(key);
    if (v !== value) throw bad(this.what, `metadata "${key}" is ${JSON.stringify(v)}, expected ${JSON.stringify(value)}`);
  }
}

export const hex = bytesToHex;
export const dec = (n: number | bigint): string => {
  if (typeof n === 'number' && (!Number.isSafeInteger(n) || n < 0)) throw new RangeError(`not a non-negative integer: ${n}`);
  if (typeof n === 'bigint' && n < 0n) throw new RangeError(`negative: ${n}`);
  return n.toString();
};

/**
 * Which backbone a model version trains: generated from a seed, a backbone file named by CID, or
 * a Hugging Face model directory named by the CID of its manifest (src/checkpoint/README.md
 * "Manifest"). `architectureHash` is the chain's, when the reference came from the chain (the
 * manifest names its own; a file's metadata records only the manifest CID).
 */
export type BackboneRef = { readonly seed: Uint8Array } | { readonly cid: string } | { readonly manifest: string; readonly architectureHash?: string };

/** The metadata spelling of a backbone reference: `seed:<hex>`, `cid:<cid>`, `manifest:<cid>`. */
export function backboneText(b: BackboneRef): string {
  return 'seed' in b ? `seed:${hex(b.seed)}` : 'cid' in b ? `cid:${b.cid}` : `manifest:${b.manifest}`;
}

/** Everything needed to rebuild the model a file was trained on. */
export interface ModelIdentity {
  readonly version: bigint;
  readonly backbone: BackboneRef;
  /** the config; `seed` is the backbone seed, or for a file backbone the LoRA-init seed */
  readonly cfg: ModelConfig;
}

export function modelMetadata(id: ModelIdentity): Record<string, string> {
  const { cfg } = id;
  return {
    model_version: dec(id.version),
    backbone: backboneText(id.backbone),
    d_model: dec(cfg.dModel),
    n_layers: dec(cfg.nLayers),
    n_heads: dec(cfg.nHeads),
    d_ff: dec(cfg.dFF),
    seq_len: dec(cfg.seqLen),
    lora_rank: dec(cfg.loraRank),
    lora_seed: hex(cfg.seed),
    ...(isV2(cfg) ? v2Metadata(cfg) : {}),
  };
}

/** SPEC v2 config fields, written (all of them) only for v2 configs: v1 files keep their bytes. */
const V2_KEYS = ['vocab', 'n_kv_heads', 'ffn', 'rope_theta', 'rope_layout', 'norm_gains', 'embedding', 'lora_targets', 'lora_alpha'] as const;
function v2Metadata(cfg: ModelConfig): Record<(typeof V2_KEYS)[number], string> {
  return {
    vocab: dec(cfg.vocab),
    n_kv_heads: dec(kvHeads(cfg)),
    ffn: cfg.ffn ?? 'plain',
    rope_theta: dec(ropeTheta(cfg)),
    rope_layout: cfg.ropeLayout ?? 'adjacent',
    norm_gains: cfg.normGains ? '1' : '0',
    embedding: cfg.embedding ?? 'ternary',
    lora_targets: loraTargets(cfg).join(','),
    lora_alpha: dec(loraAlpha(cfg)),
  };
}

function parseV2(r: MetaReader): Partial<ModelConfig> {
  if (!V2_KEYS.some((k) => r.has(k))) return {};
  const oneOf = <T extends string>(key: string, allowed: readonly T[]): T => {
    const v = r.str(key);
    if (!(allowed as readonly string[]).includes(v)) throw bad(r.what, `metadata "${key}" = ${JSON.stringify(v)} is not one of ${allowed.join(', ')}`);
    return v as T;
  };
  const targets = r.str('lora_targets').split(',');
  for (const p of targets) if (!(LORA_TARGETS as readonly string[]).includes(p)) throw bad(r.what, `metadata "lora_targets" names ${JSON.stringify(p)}`);
  return {
    vocab: r.num('vocab'),
    nKvHeads: r.num('n_kv_heads'),
    ffn: oneOf('ffn', ['plain', 'gated'] as const),
    ropeTheta: r.num('rope_theta'),
    ropeLayout: oneOf('rope_layout', ['adjacent', 'half'] as const),
    normGains: oneOf('norm_gains', ['0', '1'] as const) === '1',
    embedding: oneOf('embedding', ['ternary', 'bf16-tied'] as const),
    loraTargets: targets as LoraTarget[],
    loraAlpha: r.num('lora_alpha'),
  };
}

export function parseModelMetadata(r: MetaReader): ModelIdentity {
  const backboneText = r.str('backbone');
  let backbone: BackboneRef;
  if (backboneText.startsWith('seed:') && HEX32.test(backboneText.slice(5))) backbone = { seed: hexToBytes(backboneText.slice(5)) };
  else if (backboneText.startsWith('cid:') && backboneText.length > 4) backbone = { cid: backboneText.slice(4) };
  else if (backboneText.startsWith('manifest:') && backboneText.length > 9) backbone = { manifest: backboneText.slice(9) };
  else throw bad(r.what, `metadata "backbone" must be "seed:<64 hex>", "cid:<cid>" or "manifest:<cid>"`);
  const cfg: ModelConfig = {
    vocab: 256,
    dModel: r.num('d_model'),
    nLayers: r.num('n_layers'),
    nHeads: r.num('n_heads'),
    dFF: r.num('d_ff'),
    seqLen: r.num('seq_len'),
    loraRank: r.num('lora_rank'),
    seed: r.hash('lora_seed'),
    ...parseV2(r),
  };
  try {
    validateConfig(cfg);
  } catch (cause) {
    throw new OutputError(OutputErrorCode.BadMetadata, `${r.what}: ${(cause as Error).message}`, { cause });
  }
  return { version: r.big('model_version'), backbone, cfg };
}
