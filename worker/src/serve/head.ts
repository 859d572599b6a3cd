// Which model head a serving node serves, and how a receipt's model and base are rebuilt:
// - chain: the active model version (`ActiveVersion`) and the aggregates of every finalized window
//   of that version up to the current window (BaseStates.head), fetched by CID from the store;
// - offline (`--model-version-file`): a model version written as JSON, base = its initial adapter.

import { readFile } from 'node:fs/promises';
import type { ModelVersion } from '../chain/client.ts';
import { initAdapter } from '../model/adapter.ts';
import { BaseStates, type BaseChain } from '../roles/base-state.ts';
import { identityOfVersion, type LoadedModel, loadModel, type ModelSource } from '../roles/model.ts';
import type { ContentStore } from '../storage/content-store.ts';
import { servedModel, type ServedModel } from './engine.ts';

/**
 * A model version as JSON (the fields of the chain's ModelVersion, camelCase as the node prints
 * them): `{number, architecture: {dModel, nLayers, nHeads, dFf, seqLen}, lora: {rank},
 * backboneSeed (64 hex) | modelCid | manifestCid + architectureHash}`; the SPEC v2 architecture fields
 * (nKvHeads, ffn, ropeTheta, ropeLayout, normGains, embedding) when set. Numbers may be JSON
 * numbers or decimal strings.
 */
export async function readModelVersionFile(path: string): Promise<ModelVersion> {
  let j: Record<string, any>;
  try {
    j = JSON.parse(await readFile(path, 'utf8'));
  } catch (cause) {
    throw new Error(`--model-version-file ${path}: ${(cause as Error).message}`, { cause });
  }
  const v = (j.version ?? j.active ?? j) as Record<string, any>;
  const n = (x: unknown, what: string): number => {
    const k = typeof x === 'string' && /^\d+$/.test(x) ? Number(x) : x;
    if (typeof k !== 'number' || !Number.isSafeInteger(k) || k < 0) throw new Error(`--model-version-file ${path}: ${what} must be a non-negative integer`);
    return k;
  };
  const a = v.architecture;
  if (!a || !v.lora) throw new Error(`--model-version-file ${path}: needs architecture {dModel, nLayers, nHeads, dFf, seqLen} and lora {rank}`);
  const seed = v.backboneSeed ?? v.backbone_seed ?? '';
  const cid = v.modelCid ?? v.model_cid ?? '';
  const manifestCid = v.manifestCid ?? v.manifest_cid ?? '';
  const archHash = v.architectureHash ?? v.architecture_hash ?? '';
  if ([seed, cid, manifestCid].filter((x) => x !== '').length !== 1) throw new Error(`--model-version-file ${path}: give exactly one of backboneSeed (64 hex digits), modelCid or manifestCid (with architectureHash)`);
  if (manifestCid !== '' && !/^[0-9a-f]{64}$/.test(archHash)) throw new Error(`--model-version-file ${path}: manifestCid needs architectureHash (64 lower-case hex digits)`);
  if (seed !== '' && !/^[0-9a-f]{64}$/.test(seed)) throw new Error(`--model-version-file ${path}: backboneSeed must be 64 lower-case hex digits`);
  return {
    number: BigInt(n(v.number ?? 1, 'number')),
    modelCid: cid,
    backboneSeed: seed,
    manifestCid,
    architectureHash: manifestCid !== '' ? archHash : '',
    architecture: {
      dModel: n(a.dModel ?? a.d_model, 'architecture.dModel'), nLayers: n(a.nLayers ?? a.n_layers, 'architecture.nLayers'),
      nHeads: n(a.nHeads ?? a.n_heads, 'architecture.nHeads'), dFf: n(a.dFf ?? a.d_ff, 'architecture.dFf'),
      vocabSize: n(a.vocabSize ?? a.vocab_size ?? 256, 'architecture.vocabSize'), seqLen: n(a.seqLen ?? a.seq_len, 'architecture.seqLen'),
      // SPEC v2 (the 2B4T family): as the chain prints them; absent = the byte-level defaults.
      nKvHeads: n(a.nKvHeads ?? 0, 'architecture.nKvHeads'), ffn: String(a.ffn ?? ''), ropeTheta: n(a.ropeTheta ?? 0, 'architecture.ropeTheta'),
      ropeLayout: String(a.ropeLayout ?? ''), normGains: a.normGains === true, embedding: String(a.embedding ?? ''),
    },
    lora: { rank: n(v.lora.rank, 'lora.rank'), alpha: n(v.lora.alpha ?? v.lora.rank, 'lora.alpha'), targets: v.lora.targets ?? ['q', 'k', 'v', 'o'] },
  } as unknown as ModelVersion;
}

export interface HeadSource {
  /** the head now */
  load(): Promise<ServedModel>;
  /** model + base of a receipt: version `version`, exactly the windows `windows` */
  forReceipt(version: bigint, windows: readonly bigint[]): Promise<ServedModel>;
  close(): void;
}

/** Offline: one model version from a file; base = its initial adapter (no window updates). */
export async function offlineHead(versionFile: string, source: ModelSource): Promise<HeadSource> {
  const version = await readModelVersionFile(versionFile);
  const model = await loadModel(identityOfVersion(version), source);
  const head = servedModel(model, initAdapter(model.identity.cfg), []);
  return {
    load: async () => head,
    forReceipt: async (v, windows) => {
      if (v !== model.identity.version) throw new Error(`the receipt names model version ${v}; --model-version-file holds version ${model.identity.version}`);
      if (windows.length > 0) throw new Error(`the receipt's base holds the updates of windows ${windows.join(', ')}: rebuilding it needs the chain (--node) and a store holding them`);
      return head;
    },
    close: () => {},
  };
}

export interface HeadChain extends BaseChain {
  activeVersion(): Promise<ModelVersion>;
  modelVersion(version: bigint): Promise<ModelVersion>;
  currentWindow(): Promise<{ id: bigint } | undefined>;
  disconnect?(): void;
}

/** Chain: the active version and its finalized window updates (refreshed by each load()). */
export function chainHead(chain: HeadChain, store: ContentStore, source: Omit<ModelSource, 'store'> = {}): HeadSource {
  const bases = new BaseStates(chain, store);
  const models = new Map<bigint, LoadedModel>();
  let last: ServedModel | undefined;
  const modelOf = async (version: ModelVersion): Promise<LoadedModel> => {
    let m = models.get(version.number);
    if (!m) models.set(version.number, (m = await loadModel(identityOfVersion(version), { ...source, store })));
    return m;
  };
  return {
    load: async () => {
      const model = await modelOf(await chain.activeVersion());
      const current = await chain.currentWindow();
      const base = await bases.head(model, current?.id ?? 0n);
      // Same version and windows → the same head object (decoders and caches stay).
      if (last && last.model === model && last.windows.join() === base.windows.join()) return last;
      last = servedModel(model, base.state, base.windows);
      return last;
    },
    forReceipt: async (version, windows) => {
      const model = await modelOf(await chain.modelVersion(version));
      const base = await bases.fromWindows(model, windows);
      return servedModel(model, base.state, base.windows);
    },
    close: () => chain.disconnect?.(),
  };
}
