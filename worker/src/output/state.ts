// A training-state checkpoint (parameters and momentum after step s) as a canonical
// safetensors file: what `verify --step K` re-executes from, and what `train` resumes from
// after a restart mid-chunk. Its state_hash is the SPEC §6 stateHash_s, re-checked on read.

import { bytesToHex } from '@noble/hashes/utils.js';
import type { CID } from 'multiformats/cid';
import type { AdapterState } from '../model/adapter.ts';
import { cidOf, parseCid } from '../storage/cid.ts';
import { decodeSafetensors, encodeSafetensors } from '../storage/safetensors.ts';
import { stateHash } from '../train/hash.ts';
import { OutputError, OutputErrorCode } from './errors.ts';
import { dec, hex, MetaReader, type ModelIdentity, modelMetadata, parseModelMetadata } from './metadata.ts';
import { PARAM_BOUND, shapeOfModel } from './delta.ts';
import { assertExactNames, pairsToTensors, tensorNames, tensorsToPairs } from './tensors.ts';

export const STATE_FORMAT = 'r3mes/adapter-state/v1';
/** Momentum is clamped to ±(2^30 − 1) (SPEC §1). */
const MOMENTUM_BOUND = 1073741823;

export interface StateCheckpoint {
  readonly model: ModelIdentity;
  /** steps taken: 0 is the initial state */
  readonly step: number;
  readonly state: AdapterState;
  /** stateHash_step */
  readonly hash: Uint8Array;
  /** learning rate of the job (Q16), so the next step can be re-executed from this file alone */
  readonly lr: number;
}

export async function encodeState(model: ModelIdentity, step: number, state: AdapterState, lr: number): Promise<{ bytes: Uint8Array; cid: CID; hash: Uint8Array }> {
  const shape = shapeOfModel(model);
  const tensors = pairsToTensors('lora', state.params, shape);
  pairsToTensors('momentum', state.momentum, shape, tensors);
  const hash = stateHash(step, state);
  const bytes = encodeSafetensors(tensors, {
    ...modelMetadata(model),
    format: STATE_FORMAT,
    step: dec(step),
    lr: dec(lr),
    state_hash: hex(hash),
  });
  return { bytes, cid: await cidOf(bytes), hash };
}

export async function decodeState(bytes: Uint8Array, options: { cid?: CID | string } = {}): Promise<StateCheckpoint> {
  if (options.cid !== undefined) {
    const want = typeof options.cid === 'string' ? parseCid(options.cid) : options.cid;
    const got = await cidOf(bytes);
    if (!got.equals(want)) throw new OutputError(OutputErrorCode.CidMismatch, `state checkpoint: the bytes hash to ${got}, not to ${want}`);
  }
  const file = decodeSafetensors(bytes, { requireCanonical: true });
  const r = new MetaReader(file.metadata, 'state checkpoint');
  r.expect('format', STATE_FORMAT);
  const model = parseModelMetadata(r);
  const shape = shapeOfModel(model);
  assertExactNames(file.tensors, [...tensorNames('lora', shape), ...tensorNames('momentum', shape)], 'state checkpoint');
  const state: AdapterState = {
    params: tensorsToPairs(file.tensors, 'lora', shape, PARAM_BOUND, 'state checkpoint'),
    momentum: tensorsToPairs(file.tensors, 'momentum', shape, MOMENTUM_BOUND, 'state checkpoint'),
  };
  const step = r.num('step');
  const hash = stateHash(step, state);
  if (bytesToHex(hash) !== bytesToHex(r.hash('state_hash'))) {
    throw new OutputError(OutputErrorCode.BadMetadata, `state checkpoint: tensors hash to ${bytesToHex(hash)}, not to the recorded state_hash`);
  }
  return { model, step, state, hash, lr: r.num('lr') };
}
