// The PoC loop of `r3mes-worker poc`: one compute unit per group (a WebGPU device group, or the
// CPU compute thread), each walking its own nonce iterator (node_id, group_id) in micro-batches,
// all groups at once (data-parallel: no communication between groups). Claims are (nonce,
// distance) pairs; the batch a miner submits is buildClaimBatch(claims, r_target).

import type { ComputeThread } from '../train/thread.ts';
import { type Claim } from './claims.ts';
import { type PocDims, type PocModel, pocDistanceFromOutput } from './compute.ts';
import { PocGpuGroup } from './gpu.ts';
import { NonceIterator } from './nonce.ts';
import type { OpenedGpuDevice } from './devices.ts';

/** One group's compute: distances of a batch of nonces, in order. */
export interface PocUnit {
  readonly name: string;
  /** device ids of the group (empty: the CPU) */
  readonly deviceIds: readonly number[];
  readonly microBatch: number;
  distances(nonces: readonly bigint[]): Promise<bigint[]>;
  close(): void;
}

/** The CPU reference on a compute thread (off the event loop). */
export function cpuPocUnit(thread: ComputeThread, seed: Uint8Array, dims: PocDims, microBatch = 8): PocUnit {
  return {
    name: 'cpu', deviceIds: [], microBatch,
    distances: async (nonces) => (await thread.poc(seed, dims, nonces)).distances,
    close: () => {},
  };
}

/** A WebGPU device group holding one model instance (layers sharded when the group has several devices). */
export function gpuPocUnit(devices: readonly OpenedGpuDevice[], model: PocModel, microBatch: number): PocUnit {
  const group = new PocGpuGroup(devices.map((d) => d.ctx), model);
  return {
    name: `webgpu[${devices.map((d) => d.id).join(',')}]`, deviceIds: devices.map((d) => d.id), microBatch,
    distances: async (nonces) => (await group.outputs(nonces)).map((x) => pocDistanceFromOutput(x, model.target)),
    close: () => group.close(),
  };
}

/**
 * Data-parallel over units: `nonces` split into contiguous runs of micro-batches, unit i taking
 * every i-th micro-batch; the distances come back in the order of `nonces`. Any split gives the
 * same distances (they are exact): this is how a verifier recomputes a sample on N devices.
 */
export async function computeDistances(units: readonly PocUnit[], nonces: readonly bigint[]): Promise<Claim[]> {
  const out: Claim[] = new Array(nonces.length);
  let next = 0;
  await Promise.all(units.map(async (u) => {
    for (;;) {
      const from = next;
      if (from >= nonces.length) return;
      const to = Math.min(nonces.length, from + u.microBatch);
      next = to;
      const ds = await u.distances(nonces.slice(from, to));
      for (let i = from; i < to; i++) out[i] = { nonce: nonces[i], distance: ds[i - from] };
    }
  }));
  return out;
}

export interface UnitProgress {
  readonly unit: PocUnit;
  readonly groupId: number;
  nonces: number;
  claims: number;
  /** wall-clock ms spent, for rates (not hashed) */
  elapsedMs: number;
}

export interface RunPocOptions {
  readonly units: readonly PocUnit[];
  readonly nodeId: number;
  readonly nNodes: number;
  readonly rTarget: bigint;
  /** total nonces over every group (split as evenly as possible, group 0 first) */
  readonly count?: number;
  /** stop after this long (wall clock), finishing the batch in flight */
  readonly durationMs?: number;
  /** called after every micro-batch of any group */
  readonly onBatch?: (p: readonly UnitProgress[], batch: readonly Claim[], unit: UnitProgress) => void;
  readonly signal?: AbortSignal;
}

/** Runs every unit on its nonce iterator; returns every computed claim (all distances) in completion order. */
export async function runPoc(o: RunPocOptions): Promise<{ computed: Claim[]; progress: UnitProgress[] }> {
  const G = o.units.length;
  if (o.count === undefined && o.durationMs === undefined) throw new RangeError('runPoc: give a count or a duration');
  const start = Date.now();
  const computed: Claim[] = [];
  const progress: UnitProgress[] = o.units.map((unit, groupId) => ({ unit, groupId, nonces: 0, claims: 0, elapsedMs: 0 }));
  await Promise.all(progress.map(async (p) => {
    const it = new NonceIterator({ nodeId: o.nodeId, nNodes: o.nNodes, groupId: p.groupId, nGroups: G });
    const quota = o.count === undefined ? Infinity : Math.floor(o.count / G) + (p.groupId < o.count % G ? 1 : 0);
    const t0 = Date.now();
    while (p.nonces < quota) {
      if (o.signal?.aborted) break;
      if (o.durationMs !== undefined && Date.now() - start >= o.durationMs) break;
      const nonces = it.take(Math.min(p.unit.microBatch, quota - p.nonces));
      const ds = await p.unit.distances(nonces);
      const batch = nonces.map((nonce, i) => ({ nonce, distance: ds[i] }));
      computed.push(...batch);
      p.nonces += batch.length;
      p.claims += batch.filter((c) => c.distance < o.rTarget).length;
      p.elapsedMs = Date.now() - t0;
      o.onBatch?.(progress, batch, p);
    }
  }));
  return { computed, progress };
}

/** nonces per minute of a unit so far (0 before its first batch). */
export function noncesPerMinute(p: UnitProgress): number {
  return p.elapsedMs > 0 ? (p.nonces * 60000) / p.elapsedMs : 0;
}

export interface ClaimCheck {
  readonly nonce: bigint;
  readonly claimed: bigint;
  readonly recomputed: bigint;
  /** recomputed = claimed and below r_target */
  readonly ok: boolean;
}

/**
 * A validator's check of sampled claims (the verify role): recompute each nonce's distance on
 * `units` and compare. Distances are exact, so one mismatch is fraud, not noise.
 */
export async function checkClaims(units: readonly PocUnit[], claims: readonly Claim[], rTarget: bigint): Promise<{ checks: ClaimCheck[]; mismatches: ClaimCheck[] }> {
  const got = await computeDistances(units, claims.map((c) => c.nonce));
  const checks = claims.map((c, i) => ({ nonce: c.nonce, claimed: c.distance, recomputed: got[i].distance, ok: got[i].distance === c.distance && c.distance < rTarget }));
  return { checks, mismatches: checks.filter((c) => !c.ok) };
}
