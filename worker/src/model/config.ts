// Model-version configuration of the BitNet b1.58 decoder (SPEC.md §5) and its limits, which
// are what the kernels' overflow proofs assume.
//
// SPEC v2 is a superset: a config that sets none of the optional fields below (or sets them to
// their v1 values) is a v1 config — the byte-level models generated from a seed — with exactly the
// v1 integers and hashes. Setting any of them selects the BitNet b1.58 2B4T family (§5.2).

/** Every projection a LoRA adapter may sit beside, in canonical order (state bytes, files). */
export const LORA_TARGETS = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] as const;
export type LoraTarget = (typeof LORA_TARGETS)[number];
/** v1's fixed targets. */
export const LORA_PROJECTIONS = ['q', 'k', 'v', 'o'] as const;
/** The v1 targets (what the modules written before v2 handle). */
export type LoraProjection = (typeof LORA_PROJECTIONS)[number];

export interface ModelConfig {
  /** 256 (byte-level) in v1; 2..2^18 in v2 */
  readonly vocab: number;
  readonly dModel: number;
  readonly nLayers: number;
  readonly nHeads: number;
  readonly dFF: number;
  readonly seqLen: number;
  readonly loraRank: number;
  /** 32-byte backbone seed of the model version */
  readonly seed: Uint8Array;
  // ---- SPEC v2 fields (absent = the v1 value) ----
  /** key/value heads (GQA): divides nHeads, group nHeads/nKvHeads ∈ 1..8; v1 = nHeads */
  readonly nKvHeads?: number;
  /** 'plain' (v1): W2·relu²(W1·x); 'gated' (2B4T): Wdown·(relu²(Wgate·x) ⊙ Wup·x) */
  readonly ffn?: 'plain' | 'gated';
  /** RoPE base θ (integer); v1 = 10000 */
  readonly ropeTheta?: number;
  /** RoPE pairs: 'adjacent' (v1) or 'half' (rotate_half, 2B4T) */
  readonly ropeLayout?: 'adjacent' | 'half';
  /** learned bf16 gains on every RMSNorm (incl. the sub-norms and the final norm); v1 = none */
  readonly normGains?: boolean;
  /** 'ternary' (v1: ternary embedding, separate ternary head) or 'bf16-tied' (2B4T) */
  readonly embedding?: 'ternary' | 'bf16-tied';
  /** LoRA targets, a non-empty subset of LORA_TARGETS in canonical order; v1 = q, k, v, o */
  readonly loraTargets?: readonly LoraTarget[];
  /** LoRA alpha: the adapter output is scaled by alpha/rank; absent = rank (scale 1, v1) */
  readonly loraAlpha?: number;
}

export function headDim(cfg: ModelConfig): number {
  return cfg.dModel / cfg.nHeads;
}
export function kvHeads(cfg: ModelConfig): number {
  return cfg.nKvHeads ?? cfg.nHeads;
}
export function loraTargets(cfg: ModelConfig): readonly LoraTarget[] {
  return cfg.loraTargets ?? LORA_PROJECTIONS;
}
export function loraAlpha(cfg: ModelConfig): number {
  return cfg.loraAlpha ?? cfg.loraRank;
}
export function ropeTheta(cfg: ModelConfig): number {
  return cfg.ropeTheta ?? 10000;
}

/** Input width K and output width N of the projection a LoRA target sits beside. */
export function loraDims(cfg: ModelConfig, p: LoraTarget): { K: number; N: number } {
  const D = cfg.dModel;
  const F = cfg.dFF;
  const Dkv = kvHeads(cfg) * headDim(cfg);
  switch (p) {
    case 'q': case 'o': return { K: D, N: D };
    case 'k': case 'v': return { K: D, N: Dkv };
    case 'gate': case 'up': return { K: D, N: F };
    case 'down': return { K: F, N: D };
  }
}

/** The v2-only features, by key (what a backend may declare it implements). */
export type V2Feature = 'vocab' | 'gqa' | 'gatedFfn' | 'ropeTheta' | 'ropeHalf' | 'normGains' | 'tiedEmbedding' | 'loraTargets' | 'loraAlpha' | 'wide';

/** The v2-only features a config uses, each with its key and a description naming it. */
export function v2FeatureList(cfg: ModelConfig): { key: V2Feature; text: string }[] {
  const out: { key: V2Feature; text: string }[] = [];
  const add = (key: V2Feature, text: string) => out.push({ key, text });
  if (cfg.vocab !== 256) add('vocab', `vocab ${cfg.vocab}`);
  if (kvHeads(cfg) !== cfg.nHeads) add('gqa', `grouped-query attention (nKvHeads ${kvHeads(cfg)})`);
  if ((cfg.ffn ?? 'plain') !== 'plain') add('gatedFfn', 'gated FFN');
  if (ropeTheta(cfg) !== 10000) add('ropeTheta', `ropeTheta ${ropeTheta(cfg)}`);
  if ((cfg.ropeLayout ?? 'adjacent') !== 'adjacent') add('ropeHalf', 'rotate_half RoPE layout');
  if (cfg.normGains) add('normGains', 'learned norm gains');
  if ((cfg.embedding ?? 'ternary') !== 'ternary') add('tiedEmbedding', 'bf16 tied embedding/LM head');
  const tg = loraTargets(cfg);
  if (tg.length !== 4 || tg.some((p, i) => p !== LORA_PROJECTIONS[i])) add('loraTargets', `LoRA targets ${tg.join(',')}`);
  if (loraAlpha(cfg) !== cfg.loraRank) add('loraAlpha', `LoRA alpha ${loraAlpha(cfg)} ≠ rank`);
  if (cfg.dModel > 1024 || cfg.dFF > 2048) add('wide', 'd_model > 1024 or d_ff > 2048');
  return out;
}

/**
 * The v2-only features a config uses, by name (empty for a v1 config). Backends that implement
 * only part of v2 (today's WebGPU step) refuse a config with any other, naming them.
 */
export function v2Features(cfg: ModelConfig): string[] {
  return v2FeatureList(cfg).map((f) => f.text);
}

export function isV2(cfg: ModelConfig): boolean {
  return v2Features(cfg).length > 0;
}

/** Throws a RangeError naming the first limit a config breaks. */
export function validateConfig(cfg: ModelConfig): void {
  const fail = (why: string): never => {
    throw new RangeError(`model config: ${why}`);
  };
  const isInt = (x: number): boolean => Number.isInteger(x) && x > 0;
  for (const [k, v] of Object.entries({ vocab: cfg.vocab, dModel: cfg.dModel, nLayers: cfg.nLayers, nHeads: cfg.nHeads, dFF: cfg.dFF, seqLen: cfg.seqLen, loraRank: cfg.loraRank, nKvHeads: kvHeads(cfg), loraAlpha: loraAlpha(cfg), ropeTheta: ropeTheta(cfg) })) {
    if (!isInt(v)) fail(`${k} must be a positive integer`);
  }
  const v2 = isV2(cfg);
  if (!v2) {
    if (cfg.dModel < 16 || cfg.dModel > 1024) fail('dModel must be in [16, 1024]');
    if (cfg.dFF < 16 || cfg.dFF > 2048) fail('dFF must be in [16, 2048]');
  } else {
    // SPEC v2 §5.2 / §8 limits
    if (cfg.vocab < 2 || cfg.vocab > 262144) fail('vocab must be in [2, 2^18]');
    if (cfg.embedding !== 'bf16-tied' && cfg.vocab > 65536) fail('a ternary embedding allows vocab ≤ 2^16');
    if (cfg.dModel < 16 || cfg.dModel > 8192) fail('dModel must be in [16, 8192]');
    if (cfg.dFF < 16 || cfg.dFF > 32768) fail('dFF must be in [16, 32768]');
    if (cfg.nLayers > 128) fail('nLayers must be ≤ 128');
    if (cfg.nHeads % kvHeads(cfg) !== 0) fail('nKvHeads must divide nHeads');
    if (cfg.nHeads / kvHeads(cfg) > 8) fail('GQA group size nHeads/nKvHeads must be ≤ 8');
    if (ropeTheta(cfg) < 2 || ropeTheta(cfg) >= 2 ** 31) fail('ropeTheta must be an integer in [2, 2^31)');
    if (loraAlpha(cfg) > 65536) fail('loraAlpha must be in [1, 65536]');
    const tg = loraTargets(cfg);
    if (tg.length === 0) fail('loraTargets must not be empty');
    let prev = -1;
    for (const p of tg) {
      const i = LORA_TARGETS.indexOf(p);
      if (i < 0) fail(`unknown LoRA target ${String(p)} (allowed: ${LORA_TARGETS.join(', ')})`);
      if (i <= prev) fail(`loraTargets must be in the order ${LORA_TARGETS.join(', ')} without repeats`);
      prev = i;
    }
    if ((cfg.ffn ?? 'plain') === 'plain' && tg.includes('gate')) fail("LoRA target 'gate' needs ffn 'gated'");
  }
  if (cfg.vocab !== 256 && !v2) fail('vocab must be 256 (byte-level)');
  if (cfg.dModel % cfg.nHeads !== 0) fail('nHeads must divide dModel');
  const dh = headDim(cfg);
  if (dh % 2 !== 0 || dh > 256) fail('head dim must be even and ≤ 256');
  if (cfg.loraRank < 4 || cfg.loraRank > 64) fail('loraRank must be in [4, 64]');
  if (cfg.seqLen < 2 || cfg.seqLen > 4096) fail('seqLen must be in [2, 4096]');
  if (cfg.seed.length !== 32) fail('seed must be 32 bytes');
}
