// A checkpoint of a model version's head (training README "Checkpoints", SPEC §6.2): the
// consolidated LoRA parameters — the initial adapter plus, in window-id order, the aggregate of
// every applied window of the version up to `through_window` — as a canonical safetensors file.
// A carrier window's proposers publish it by CID and reveal its state hash with their aggregate;
// a worker rebuilding a base starts from the latest one it can fetch and verify.

import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { CID } from 'multiformats/cid';
import { cidOf, parseCid } from '../storage/cid.ts';
import { decodeSafetensors, encodeSafetensors } from '../storage/safetensors.ts';
import type { LoraLayer } from '../model/adapter.ts';
import { PARAM_BOUND, shapeOfModel, type LoraPairs } from './delta.ts';
import { OutputError, OutputErrorCode } from './errors.ts';
import { dec, MetaReader, type ModelIdentity, modelMetadata, parseModelMetadata } from './metadata.ts';
import { assertExactNames, type AdapterShape, pairsToTensors, tensorNames, tensorsToPairs } from './tensors.ts';

export const HEAD_CHECKPOINT_FORMAT = 'r3mes/head-checkpoint/v1';
const CHECKPOINT_DOMAIN = new TextEncoder().encode('r3mes/checkpoint/v1');

export interface HeadCheckpointInfo {
  readonly model: ModelIdentity;
  /** the last window it consolidates */
  readonly throughWindow: bigint;
  /** the applied windows it consolidates, ascending */
  readonly windows: readonly bigint[];
}

export interface HeadCheckpointFile extends HeadCheckpointInfo {
  /** the head's LoRA parameters (within ±2^16) */
  readonly params: LoraPairs;
  /** checkpointStateHash of `params` */
  readonly stateHash: Uint8Array;
}

/**
 * SHA-256(utf8("r3mes/checkpoint/v1") ‖ canonical safetensors of the lora.* parameter tensors,
 * without metadata): the numbers alone, the chain's `state_hash` of a checkpoint.
 */
export function checkpointStateHash(params: readonly LoraLayer[], shape: AdapterShape): Uint8Array {
  const body = encodeSafetensors(pairsToTensors('lora', params, shape));
  const msg = new Uint8Array(CHECKPOINT_DOMAIN.length + body.length);
  msg.set(CHECKPOINT_DOMAIN, 0);
  msg.set(body, CHECKPOINT_DOMAIN.length);
  return sha256(msg);
}

export async function encodeHeadCheckpoint(params: readonly LoraLayer[], info: HeadCheckpointInfo): Promise<{ bytes: Uint8Array; cid: CID; stateHash: Uint8Array }> {
  const shape = shapeOfModel(info.model);
  const bytes = encodeSafetensors(pairsToTensors('lora', params, shape), {
    ...modelMetadata(info.model),
    format: HEAD_CHECKPOINT_FORMAT,
    through_window: dec(info.throughWindow),
    windows: info.windows.map(dec).join(','),
  });
  return { bytes, cid: await cidOf(bytes), stateHash: checkpointStateHash(params, shape) };
}

/**
 * Reads a head checkpoint: the CID (when given) first, then the canonical form, the metadata and
 * the tensors; `stateHash` (when given, the chain's) must be the hash of the tensors (BadMetadata).
 */
export async function decodeHeadCheckpoint(bytes: Uint8Array, options: { cid?: CID | string; stateHash?: Uint8Array } = {}): Promise<HeadCheckpointFile> {
  if (options.cid !== undefined) {
    const want = typeof options.cid === 'string' ? parseCid(options.cid) : options.cid;
    const got = await cidOf(bytes);
    if (!got.equals(want)) throw new OutputError(OutputErrorCode.CidMismatch, `head checkpoint: the bytes hash to ${got}, not to ${want}`);
  }
  const file = decodeSafetensors(bytes, { requireCanonical: true });
  const r = new MetaReader(file.metadata, 'head checkpoint');
  r.expect('format', HEAD_CHECKPOINT_FORMAT);
  const model = parseModelMetadata(r);
  const shape = shapeOfModel(model);
  assertExactNames(file.tensors, tensorNames('lora', shape), 'head checkpoint');
  const params = tensorsToPairs(file.tensors, 'lora', shape, PARAM_BOUND, 'head checkpoint');
  const listed = r.str('windows');
  const windows = listed === '' ? [] : listed.split(',').map((w) => {
    if (!/^(0|[1-9]\d*)$/.test(w)) throw new OutputError(OutputErrorCode.BadMetadata, `head checkpoint: windows holds "${w}", not a decimal window id`);
    return BigInt(w);
  });
  const throughWindow = r.big('through_window');
  if (windows.some((w, i) => w > throughWindow || (i > 0 && w <= windows[i - 1]))) {
    throw new OutputError(OutputErrorCode.BadMetadata, 'head checkpoint: windows must be ascending and at most through_window');
  }
  const stateHash = checkpointStateHash(params, shape);
  if (options.stateHash !== undefined && bytesToHex(options.stateHash) !== bytesToHex(stateHash)) {
    throw new OutputError(OutputErrorCode.BadMetadata, `head checkpoint: the tensors hash to ${bytesToHex(stateHash)}, not to the chain's state_hash ${bytesToHex(options.stateHash)}`);
  }
  return { model, throughWindow, windows, params, stateHash };
}
