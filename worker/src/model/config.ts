// Model-version configuration of the BitNet b1.58 decoder (SPEC.md §5) and its limits, which
// are what the kernels' overflow proofs assume.

export interface ModelConfig {
  readonly vocab: 256;
  readonly dModel: number;
  readonly nLayers: number;
  readonly nHeads: number;
  readonly dFF: number;
  readonly seqLen: number;
  readonly loraRank: number;
  /** 32-byte backbone seed of the model version */
  readonly seed: Uint8Array;
}

export const LORA_PROJECTIONS = ['q', 'k', 'v', 'o'] as const;
export type LoraProjection = (typeof LORA_PROJECTIONS)[number];

export function headDim(cfg: ModelConfig): number {
  return cfg.dModel / cfg.nHeads;
}

/** Throws a RangeError naming the first limit a config breaks. */
export function validateConfig(cfg: ModelConfig): void {
  const fail = (why: string): never => {
    throw new RangeError(`model config: ${why}`);
  };
  const isInt = (x: number): boolean => Number.isInteger(x) && x > 0;
  if (cfg.vocab !== 256) fail('vocab must be 256 (byte-level)');
  for (const [k, v] of Object.entries({ dModel: cfg.dModel, nLayers: cfg.nLayers, nHeads: cfg.nHeads, dFF: cfg.dFF, seqLen: cfg.seqLen, loraRank: cfg.loraRank })) {
    if (!isInt(v)) fail(`${k} must be a positive integer`);
  }
  if (cfg.dModel < 16 || cfg.dModel > 1024) fail('dModel must be in [16, 1024]');
  if (cfg.dFF < 16 || cfg.dFF > 2048) fail('dFF must be in [16, 2048]');
  if (cfg.dModel % cfg.nHeads !== 0) fail('nHeads must divide dModel');
  const dh = headDim(cfg);
  if (dh % 2 !== 0 || dh > 256) fail('head dim must be even and ≤ 256');
  if (cfg.loraRank < 4 || cfg.loraRank > 64) fail('loraRank must be in [4, 64]');
  if (cfg.seqLen < 2 || cfg.seqLen > 4096) fail('seqLen must be in [2, 4096]');
  if (cfg.seed.length !== 32) fail('seed must be 32 bytes');
}
