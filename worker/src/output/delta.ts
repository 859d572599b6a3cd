// The adapter delta a miner publishes (final − initial LoRA parameters) as a canonical
// safetensors file with metadata, its CID, and the backend-independent gradient hash.
// Format: worker/src/output/README.md.

import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { CID } from 'multiformats/cid';
import { clamp } from '../kernels/cpu/int.ts';
import { type AdapterState, type LoraLayer, type LoraPair, presentTargets } from '../model/adapter.ts';
import { type LoraTarget, loraDims, loraTargets } from '../model/config.ts';
import { cidOf, parseCid } from '../storage/cid.ts';
import { decodeSafetensors, encodeSafetensors } from '../storage/safetensors.ts';
import { traceRoot } from '../train/trace.ts';
import { OutputError, OutputErrorCode } from './errors.ts';
import { dec, hex, MetaReader, type ModelIdentity, modelMetadata, parseModelMetadata } from './metadata.ts';
import { type AdapterShape, assertExactNames, pairsToTensors, tensorNames, tensorsToPairs } from './tensors.ts';

export const DELTA_FORMAT = 'r3mes/adapter-delta/v1';
/** Parameters live in ±2^16 (SPEC §1), so a difference of two lies in ±2^17. */
export const PARAM_BOUND = 65536;
export const DELTA_BOUND = 2 * PARAM_BOUND;
const GRADIENT_DOMAIN = new TextEncoder().encode('r3mes/gradient/v1');

export type LoraPairs = LoraLayer[];

/** What the miner trained and what came out: everything the metadata records. */
export interface DeltaInfo {
  readonly model: ModelIdentity;
  readonly miner: string;
  readonly window: bigint;
  readonly ordinal: bigint;
  readonly chunkIndex: bigint;
  /** sha256 of the chunk's tokens, lower-case hex */
  readonly chunkHash: string;
  readonly backend: string;
  /** learning rate, Q16 (SPEC §4.9) */
  readonly lr: number;
  /** stateHash_0 .. stateHash_steps */
  readonly stepHashes: readonly Uint8Array[];
  /** mean loss on the chunk before / after training, Q16 nats per byte */
  readonly lossBefore: number;
  readonly lossAfter: number;
}

export interface DeltaFile {
  readonly info: DeltaInfo;
  readonly steps: number;
  readonly traceRoot: Uint8Array;
  /** final − initial parameters, per layer and projection */
  readonly delta: LoraPairs;
}

export interface EncodedDelta {
  readonly bytes: Uint8Array;
  readonly cid: CID;
  /** SHA-256 over the tensors alone (see gradientHash) */
  readonly gradientHash: Uint8Array;
  readonly traceRoot: Uint8Array;
}

export function shapeOfModel(model: ModelIdentity): AdapterShape {
  const cfg = model.cfg;
  return { nLayers: cfg.nLayers, dModel: cfg.dModel, loraRank: cfg.loraRank, targets: loraTargets(cfg), dims: (p) => loraDims(cfg, p) };
}

/** final − initial, per parameter (exact; both within ±2^16). */
export function adapterDelta(initial: AdapterState, final: AdapterState): LoraPairs {
  return final.params.map((rec, l) => {
    const out: Partial<Record<LoraTarget, LoraPair>> = {};
    for (const p of presentTargets(rec)) {
      const [fa, fb, ia, ib] = [rec[p]!.a, rec[p]!.b, initial.params[l][p]!.a, initial.params[l][p]!.b];
      out[p] = { a: fa.map((v, i) => v - ia[i]), b: fb.map((v, i) => v - ib[i]) };
    }
    return out as LoraLayer;
  });
}

/** params + delta, each clamped to ±2^16 (the parameter range); momentum is left as it is. */
export function applyDelta(state: AdapterState, delta: LoraPairs): AdapterState {
  const add = (x: Int32Array, d: Int32Array) => x.map((v, i) => clamp(v + d[i], -PARAM_BOUND, PARAM_BOUND));
  const params = state.params.map((rec, l) => {
    const out: Partial<Record<LoraTarget, LoraPair>> = {};
    for (const p of presentTargets(rec)) {
      const d = delta[l][p];
      if (!d) throw new OutputError(OutputErrorCode.BadTensors, `delta has no LoRA target ${p} in layer ${l}`);
      out[p] = { a: add(rec[p]!.a, d.a), b: add(rec[p]!.b, d.b) };
    }
    return out as LoraLayer;
  });
  return { params, momentum: state.momentum };
}

/**
 * SHA-256(utf8("r3mes/gradient/v1") ‖ canonical safetensors of the delta tensors, no metadata).
 * It names the numbers alone: every honest miner and verifier that trains the same chunk from
 * the same state gets the same hash, whatever its backend, address or ordinal (the CID, which
 * covers the metadata too, differs between miners so that the chain's duplicate check holds).
 */
export function gradientHash(delta: LoraPairs, shape: AdapterShape): Uint8Array {
  const body = encodeSafetensors(pairsToTensors('lora', delta, shape));
  const msg = new Uint8Array(GRADIENT_DOMAIN.length + body.length);
  msg.set(GRADIENT_DOMAIN, 0);
  msg.set(body, GRADIENT_DOMAIN.length);
  return sha256(msg);
}

function deltaMetadata(info: DeltaInfo, root: Uint8Array): Record<string, string> {
  if (info.stepHashes.length < 1) throw new OutputError(OutputErrorCode.BadMetadata, 'a delta needs at least the initial state hash');
  return {
    ...modelMetadata(info.model),
    format: DELTA_FORMAT,
    miner: info.miner,
    window: dec(info.window),
    ordinal: dec(info.ordinal),
    chunk_index: dec(info.chunkIndex),
    chunk_hash: info.chunkHash,
    backend: info.backend,
    lr: dec(info.lr),
    steps: dec(info.stepHashes.length - 1),
    step_hashes: info.stepHashes.map(hex).join(','),
    trace_root: hex(root),
    loss_before: dec(info.lossBefore),
    loss_after: dec(info.lossAfter),
  };
}

export async function encodeDelta(delta: LoraPairs, info: DeltaInfo): Promise<EncodedDelta> {
  const shape = shapeOfModel(info.model);
  const root = traceRoot(info.stepHashes);
  const bytes = encodeSafetensors(pairsToTensors('lora', delta, shape), deltaMetadata(info, root));
  return { bytes, cid: await cidOf(bytes), gradientHash: gradientHash(delta, shape), traceRoot: root };
}

export interface DecodeDeltaOptions {
  /** The CID the bytes were fetched under: checked first (CidMismatch). */
  readonly cid?: CID | string;
}

/** Reads a delta file: CID (when given), canonical form, metadata, trace root, tensors. */
export async function decodeDelta(bytes: Uint8Array, options: DecodeDeltaOptions = {}): Promise<DeltaFile> {
  if (options.cid !== undefined) {
    const want = typeof options.cid === 'string' ? parseCid(options.cid) : options.cid;
    const got = await cidOf(bytes);
    if (!got.equals(want)) {
      throw new OutputError(OutputErrorCode.CidMismatch, `adapter delta: the ${bytes.length} bytes hash to ${got}, not to ${want}; the file was altered or is not the one named`);
    }
  }
  const file = decodeSafetensors(bytes, { requireCanonical: true });
  const r = new MetaReader(file.metadata, 'adapter delta');
  r.expect('format', DELTA_FORMAT);
  const model = parseModelMetadata(r);
  const stepHashes = r.hashList('step_hashes');
  const steps = r.num('steps');
  if (stepHashes.length !== steps + 1) {
    throw new OutputError(OutputErrorCode.BadMetadata, `adapter delta: ${stepHashes.length} step hashes for ${steps} steps (expected ${steps + 1})`);
  }
  const root = r.hash('trace_root');
  if (bytesToHex(traceRoot(stepHashes)) !== bytesToHex(root)) {
    throw new OutputError(OutputErrorCode.BadMetadata, 'adapter delta: trace_root is not the Merkle root of step_hashes');
  }
  const chunkHash = r.str('chunk_hash');
  if (!/^[0-9a-f]{64}$/.test(chunkHash)) throw new OutputError(OutputErrorCode.BadMetadata, 'adapter delta: chunk_hash is not 64 hex digits');
  const info: DeltaInfo = {
    model,
    miner: r.str('miner'),
    window: r.big('window'),
    ordinal: r.big('ordinal'),
    chunkIndex: r.big('chunk_index'),
    chunkHash,
    backend: r.str('backend'),
    lr: r.num('lr'),
    stepHashes,
    lossBefore: r.num('loss_before'),
    lossAfter: r.num('loss_after'),
  };
  const shape = shapeOfModel(model);
  assertExactNames(file.tensors, tensorNames('lora', shape), 'adapter delta');
  const delta = tensorsToPairs(file.tensors, 'lora', shape, DELTA_BOUND, 'adapter delta');
  return { info, steps, traceRoot: root, delta };
}
