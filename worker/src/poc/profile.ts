// Memory profiles (seed 000 "detected VRAM … applied profile", seed 004 batch size from memory):
// from each device's memory figure and limits, how the PoC model is laid out — which devices form
// a group, how each group's layers are split (weights resident on one device, or sharded by layers
// across the group), and how many nonces one command buffer carries (micro-batch). Pure.
//
// A profile changes where and in what grouping the integers are computed, never which integers:
// every layout computes SPEC §14's distances (test/webgpu-poc.test.ts runs two profiles).
//
// WebGPU reports no memory size. A device's figure is what the operator declares
// (`--device-memory`), else the adapter's maxBufferSize — the largest allocation the adapter
// promises, a lower bound of what it has; devices opened on one adapter share it equally.

import { type PocDims, PocError } from './compute.ts';
import { formGroups } from './groups.ts';
import { pocLayerBytes, pocPerNonceBytes, pocScratchBytes, type ShardRange, splitLayers } from './gpu.ts';

export interface DeviceLimits {
  readonly id: number;
  readonly memoryBytes: number;
  readonly maxBufferSize: number;
  readonly maxStorageBufferBindingSize: number;
}

/** Share of a device's memory the worker plans to use (seed 004: 90%), per mille. */
export const USAGE_PER_MILLE = 900;
/** Upper bound of nonces per command buffer: more gives no speed, only a longer wait per batch. */
export const MAX_MICRO_BATCH = 64;

export interface GroupPlan {
  readonly groupId: number;
  readonly deviceIds: readonly number[];
  /** layers of each device of the group, in device order */
  readonly shards: readonly ShardRange[];
  readonly residency: 'resident' | 'sharded';
  /** nonces per command buffer */
  readonly microBatch: number;
  /** bytes the plan uses on the group's busiest device */
  readonly peakDeviceBytes: number;
}

export interface PocProfile {
  readonly name: string;
  readonly groups: readonly GroupPlan[];
  readonly unused: readonly number[];
  /** bytes of one model instance on one device with one nonce in flight */
  readonly needBytes: number;
}

export interface PlanOptions {
  /** fix the micro-batch (capped by what memory allows) */
  readonly microBatch?: number;
  /** force groups of exactly this many devices (layer sharding), if memory allows */
  readonly groupSize?: number;
}

const MiB = 1048576;
export const mib = (b: number): string => `${(b / MiB).toFixed(b < 10 * MiB ? 2 : 0)} MiB`;

/** Bytes of one model instance on one device: every layer's packed weights, the scratch, one nonce. */
export function pocNeedBytes(d: PocDims): number {
  return d.nLayers * pocLayerBytes(d) + pocScratchBytes(d) + pocPerNonceBytes(d);
}

export function planPoc(devices: readonly DeviceLimits[], dims: PocDims, opts: PlanOptions = {}): PocProfile {
  const budget = (d: DeviceLimits) => Math.floor((d.memoryBytes * USAGE_PER_MILLE) / 1000);
  const need = pocNeedBytes(dims);
  let grouping: { groups: number[][]; unused: number[] };
  if (opts.groupSize !== undefined) {
    const size = opts.groupSize;
    if (![1, 2, 4, 8].includes(size)) throw new PocError(`group size must be 1, 2, 4 or 8, got ${size}`);
    const sorted = [...devices].sort((a, b) => a.id - b.id).map((d) => d.id);
    const groups: number[][] = [];
    for (let i = 0; i + size <= sorted.length; i += size) groups.push(sorted.slice(i, i + size));
    grouping = { groups, unused: sorted.slice(groups.length * size) };
  } else {
    // Every device of a group holds its own scratch and one nonce; the weights are what the group
    // shares out. So the grouping compares what is left for weights with the weights' size.
    const overhead = pocScratchBytes(dims) + pocPerNonceBytes(dims);
    grouping = formGroups(devices.map((d) => ({ id: d.id, memoryBytes: Math.max(0, budget(d) - overhead) })), dims.nLayers * pocLayerBytes(dims));
  }
  if (grouping.groups.length === 0) {
    const have = devices.map((d) => `#${d.id} ${mib(budget(d))}`).join(', ') || 'none';
    throw new PocError(
      `the PoC model (d_model ${dims.dModel}, ${dims.nLayers} layers, d_ff ${dims.dFF}, seq_len ${dims.seqLen}) needs ${mib(need)} on one group ` +
        `of 1, 2, 4 or 8 consecutive devices (each device of a group also holds ${mib(pocScratchBytes(dims) + pocPerNonceBytes(dims))} of scratch); the devices offer (at ${USAGE_PER_MILLE / 10}% of their memory) ${have}: no group fits`,
    );
  }
  const byId = new Map(devices.map((d) => [d.id, d]));
  const layerBytes = pocLayerBytes(dims);
  const scratch = pocScratchBytes(dims);
  const perNonce = pocPerNonceBytes(dims);
  const groups: GroupPlan[] = grouping.groups.map((ids, groupId) => {
    const shards = splitLayers(dims.nLayers, ids.length);
    let microBatch = MAX_MICRO_BATCH;
    let peak = 0;
    ids.forEach((id, i) => {
      const d = byId.get(id) as DeviceLimits;
      const fixed = (shards[i].to - shards[i].from) * layerBytes + scratch;
      const free = budget(d) - fixed;
      if (free < perNonce) {
        throw new PocError(`device #${id}: its share of the PoC model (layers ${shards[i].from}..${shards[i].to - 1}, ${mib(fixed + perNonce)}) does not fit its ${mib(budget(d))}`);
      }
      // The batch's input and output streams are single buffers: each must fit a binding.
      const byBinding = Math.floor(Math.min(d.maxStorageBufferBindingSize, d.maxBufferSize) / (perNonce / 2));
      microBatch = Math.min(microBatch, Math.floor(free / perNonce), byBinding);
      peak = Math.max(peak, fixed);
    });
    if (opts.microBatch !== undefined) microBatch = Math.min(microBatch, Math.max(1, opts.microBatch));
    microBatch = Math.max(1, microBatch);
    return {
      groupId, deviceIds: ids, shards, residency: ids.length === 1 ? 'resident' : 'sharded', microBatch,
      peakDeviceBytes: peak + microBatch * perNonce,
    };
  });
  const sizes = [...new Set(groups.map((g) => g.deviceIds.length))].join('/');
  const mbs = [...new Set(groups.map((g) => g.microBatch))].join('/');
  const name = `${groups.length}x${sizes}-${groups.every((g) => g.residency === 'resident') ? 'resident' : 'sharded'}-mb${mbs}`;
  return { name, groups, unused: grouping.unused, needBytes: need };
}

/** One line for the log: what the profile does with the devices. */
export function describeProfile(p: PocProfile): string {
  const gs = p.groups.map((g) => `group ${g.groupId} = [${g.deviceIds.join(',')}] ${g.residency === 'resident' ? 'weights resident' : `layers ${g.shards.map((s) => `${s.from}..${s.to - 1}`).join(' | ')}`}, micro-batch ${g.microBatch}, peak ${mib(g.peakDeviceBytes)}/device`);
  return `applied profile ${p.name} (model needs ${mib(p.needBytes)}): ${gs.join('; ')}${p.unused.length ? `; unused devices ${p.unused.join(',')}` : ''}`;
}
