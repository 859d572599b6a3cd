// Models for the serving tests: a generated backbone and an adapter whose B is non-zero (the
// initial adapter has B = 0, so LoRA would add nothing and a bug in it would go unseen).

import { type AdapterState, initAdapter } from '../../src/model/adapter.ts';
import { generateBackbone } from '../../src/model/backbone.ts';
import { LORA_PROJECTIONS, type ModelConfig } from '../../src/model/config.ts';
import { identityOfVersion, type LoadedModel } from '../../src/roles/model.ts';
import { servedModel, type ServedModel } from '../../src/serve/engine.ts';
import type { ModelVersion } from '../../src/chain/client.ts';
import { rng } from './gpu.ts';

/** The devnet's model architecture (genesis/devnet.ts), LoRA rank 8 as the genesis version. */
export const DEVNET_VERSION_JSON = {
  number: '1',
  architecture: { dModel: 64, nLayers: 2, nHeads: 2, dFf: 128, vocabSize: 256, seqLen: 64 },
  lora: { rank: 8 },
  backboneSeed: '5a'.repeat(32),
};

/** An adapter with A from the seed and B random in ±2^14 (so the LoRA path changes the logits). */
export function trainedAdapter(cfg: ModelConfig, seed: number): AdapterState {
  const s = initAdapter(cfg);
  const next = rng(seed);
  for (const rec of s.params) for (const p of LORA_PROJECTIONS) for (let i = 0; i < rec[p].b.length; i++) rec[p].b[i] = (next() % 32769) - 16384;
  return s;
}

export function loadedModel(cfg: ModelConfig, version = 1n): LoadedModel {
  return { identity: { version, backbone: { seed: cfg.seed }, cfg }, backbone: generateBackbone(cfg) };
}

export function devnetModel(): LoadedModel {
  const v = DEVNET_VERSION_JSON;
  const mv = { number: 1n, modelCid: '', backboneSeed: v.backboneSeed, architecture: { ...v.architecture }, lora: { rank: 8, alpha: 8, targets: [] } } as unknown as ModelVersion;
  const identity = identityOfVersion(mv);
  return { identity, backbone: generateBackbone(identity.cfg) };
}

export function head(model: LoadedModel, state: AdapterState, windows: bigint[] = []): ServedModel {
  return servedModel(model, state, windows);
}
