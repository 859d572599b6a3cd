// The model shapes the CPU benchmarks run: the devnet's (genesis/devnet.ts) and the genesis-size
// one of issue 17 (D256 L4 H4 F1024 T256 r8), with a fixed chunk of printable bytes.

import type { ModelConfig } from '../../src/model/config.ts';

export interface BenchShape {
  readonly cfg: ModelConfig;
  readonly chunkTokens: number;
}

export function benchConfig(name: string): BenchShape {
  const seed = new Uint8Array(32).fill(42);
  switch (name) {
    case 'devnet':
      return { cfg: { vocab: 256, dModel: 64, nLayers: 2, nHeads: 2, dFF: 128, seqLen: 64, loraRank: 8, seed }, chunkTokens: 2048 };
    case 'genesis':
      return { cfg: { vocab: 256, dModel: 256, nLayers: 4, nHeads: 4, dFF: 1024, seqLen: 256, loraRank: 8, seed }, chunkTokens: 2048 };
    default:
      throw new Error(`unknown shape ${JSON.stringify(name)}: devnet or genesis`);
  }
}

/** `n` fixed printable-ish bytes. */
export function benchChunk(n: number): Uint8Array {
  const chunk = new Uint8Array(n);
  for (let i = 0; i < n; i++) chunk[i] = 32 + ((i * 2654435761) >>> 25);
  return chunk;
}
