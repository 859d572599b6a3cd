// `train --offline` (README "Offline training"): one job without a chain — a model version from a
// file (or derived from a model directory), a chunk from a file, N steps from the initial adapter
// — printing what the spec makes checkable: every state hash, the trace root and the gradient hash.

import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { TrainBackend } from '../backend.ts';
import type { ModelVersion } from '../chain/client.ts';
import { CONFIG_FILE } from '../checkpoint/loader.ts';
import { parseConfig } from '../checkpoint/config.ts';
import { buildManifest } from '../checkpoint/manifest.ts';
import { CHUNK_TOKENS, type ChunkTokens, chunkHash } from '../data/chunk.ts';
import { initAdapter } from '../model/adapter.ts';
import { LORA_TARGETS } from '../model/config.ts';
import { adapterDelta, gradientHash, shapeOfModel } from '../output/delta.ts';
import { backboneText } from '../output/metadata.ts';
import { stateHash } from '../train/hash.ts';
import { traceRoot } from '../train/trace.ts';
import type { LoadedModel } from './model.ts';

/** LoRA and sequence choices for a version derived from a model directory. */
export interface DirectoryChoices {
  readonly seqLen?: number;
  readonly rank: number;
  readonly alpha?: number;
  readonly targets: readonly string[];
}

/**
 * The model version of a model directory as a governance proposal would register it: its manifest
 * CID and architecture hash, the 2B4T-family fields of its config.json, and the LoRA choices.
 * Default seq_len: the largest power of two ≤ min(2048, max_position_embeddings) (it divides the chunk).
 */
export async function versionOfDirectory(dir: string, c: DirectoryChoices): Promise<ModelVersion> {
  const arch = parseConfig(await readFile(join(dir, CONFIG_FILE), 'utf8'));
  const { cid, manifest } = await buildManifest(dir);
  let seqLen = c.seqLen ?? 0;
  if (seqLen === 0) for (seqLen = CHUNK_TOKENS; seqLen > arch.maxPositions; seqLen /= 2);
  for (const p of c.targets) if (!(LORA_TARGETS as readonly string[]).includes(p)) throw new Error(`--targets: "${p}" is not one of ${LORA_TARGETS.join(', ')}`);
  return {
    number: 1n, modelCid: '', backboneSeed: '', manifestCid: cid, architectureHash: manifest.architectureHash,
    architecture: {
      dModel: arch.hiddenSize, nLayers: arch.numLayers, nHeads: arch.numHeads, dFf: arch.intermediateSize, vocabSize: arch.vocabSize, seqLen,
      nKvHeads: arch.numKvHeads, ffn: 'gated', ropeTheta: arch.ropeTheta, ropeLayout: 'half', normGains: true, embedding: 'bf16-tied',
    },
    lora: { rank: c.rank, alpha: c.alpha ?? c.rank, targets: [...c.targets] },
  } as unknown as ModelVersion;
}

/**
 * A chunk file for an offline job: byte tokens when the model's vocabulary is ≤ 256, else uint32
 * little-endian token ids. Any length that is a positive multiple of seq_len (the protocol's chunks
 * are 2048 tokens; SPEC vectors use shorter ones).
 */
export async function readOfflineChunk(path: string, vocab: number, seqLen: number): Promise<ChunkTokens> {
  if ((await stat(path)).size > 64 * CHUNK_TOKENS * 4) throw new Error(`--chunk-file ${path} is larger than 64 chunks`);
  const bytes = new Uint8Array(await readFile(path));
  let tokens: ChunkTokens = bytes;
  if (vocab > 256) {
    if (bytes.length % 4 !== 0) throw new Error(`--chunk-file ${path}: ${bytes.length} bytes is not a whole number of uint32 token ids (vocabulary ${vocab} > 256)`);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    tokens = Uint32Array.from({ length: bytes.length / 4 }, (_, i) => view.getUint32(4 * i, true));
  }
  if (tokens.length === 0 || tokens.length % seqLen !== 0) throw new Error(`--chunk-file ${path}: ${tokens.length} tokens is not a positive multiple of seq_len ${seqLen}`);
  for (let i = 0; i < tokens.length; i++) if (tokens[i] >= vocab) throw new Error(`--chunk-file ${path}: token ${tokens[i]} at ${i} is outside the vocabulary (${vocab})`);
  return tokens;
}

export interface OfflineResult {
  readonly backbone: string;
  readonly tokens: number;
  /** sha256 of the chunk (data/chunk.ts) when it is one protocol chunk (2048 tokens) */
  readonly chunkHash?: string;
  readonly steps: number;
  readonly lr: number;
  /** stateHash_0 … stateHash_N */
  readonly stateHashes: string[];
  readonly traceRoot: string;
  readonly gradientHash: string;
  /** Σ of the per-target losses before each step's update, Q16 nats (SPEC §9 gives these) */
  readonly lossSumsQ16: number[];
}

/** Runs `steps` steps from the initial adapter, every step on `chunk`. */
export async function offlineTrain(model: LoadedModel, chunk: ChunkTokens, steps: number, lr: number, backend: TrainBackend,
  onStep?: (s: number, n: number, tokens: number, seconds: number) => void): Promise<OfflineResult> {
  const initial = initAdapter(model.identity.cfg);
  let state = initial;
  const hashes = [stateHash(0, initial)];
  const lossSumsQ16: number[] = [];
  for (let s = 1; s <= steps; s++) {
    const t0 = performance.now();
    const r = await backend.step(model.backbone, state, chunk, s, { lr });
    state = r.state;
    hashes.push(r.hash);
    lossSumsQ16.push(r.lossSumQ16);
    onStep?.(s, steps, r.tokens, (performance.now() - t0) / 1000);
  }
  return {
    backbone: backboneText(model.identity.backbone), tokens: chunk.length,
    ...(chunk.length === CHUNK_TOKENS ? { chunkHash: chunkHash(chunk) } : {}),
    steps, lr, stateHashes: hashes.map(bytesToHex), traceRoot: bytesToHex(traceRoot(hashes)),
    gradientHash: bytesToHex(gradientHash(adapterDelta(initial, state), shapeOfModel(model.identity))), lossSumsQ16,
  };
}
