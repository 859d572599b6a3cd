// The adapter a window's jobs start from (its "base"): the model version's initial adapter
// (SPEC §7) plus, in window-id order, the aggregate of every window of the same model version
// that was FINALIZED (applied: not NOT_APPLIED, the Proof of Learning gate, SPEC §16) before this
// window opened (closed_height < open_height) and not rolled back by governance before it opened
// (rolled_back_height = 0 or ≥ open_height), each added with the parameter clamp (applyDelta).
// Momentum starts at zero in every job.
//
// Everything in the definition is on chain and fixed once the window opens (a window finalized
// later has closed_height ≥ the opening height), so miners and verifiers compute the same base,
// and the trace's first entry (stateHash_0) binds a submission to it. Updates are summed rather
// than chained through each window's own base so that overlapping windows lose nothing: a
// window that opened before another was finalized still contributes its update afterwards.

import { bytesToHex } from '@noble/hashes/utils.js';
import { type TrainingCheckpoint, WindowStatus, type Window } from '@r3mes/client';
import { decodeAggregate, sameModel } from '../aggregate/file.ts';
import { type AdapterState, initAdapter } from '../model/adapter.ts';
import { applyDelta, gradientHash, type LoraPairs, shapeOfModel } from '../output/delta.ts';
import { OutputError, OutputErrorCode } from '../output/errors.ts';
import { decodeHeadCheckpoint, type HeadCheckpointFile } from '../output/head-checkpoint.ts';
import { parseCid } from '../storage/cid.ts';
import type { ContentStore } from '../storage/content-store.ts';
import type { LoadedModel } from './model.ts';

export interface BaseState {
  readonly state: AdapterState;
  /** the windows whose aggregates were applied, ascending */
  readonly windows: readonly bigint[];
}

/**
 * Whether window `v`'s aggregate is part of the base of window `w` (SPEC §6): same model version,
 * applied (FINALIZED with a result: the caller checks), closed before `w` opened, and not rolled
 * back by a governance proposal executed before `w` opened. Everything it reads is fixed once `w`
 * is open: a later rollback (height ≥ open_height) does not change `w`'s base.
 */
export function inBaseOf(v: Pick<Window, 'modelVersion' | 'closedHeight' | 'rolledBackHeight'>, w: Pick<Window, 'modelVersion' | 'openHeight'>): boolean {
  if (v.modelVersion !== w.modelVersion || v.closedHeight >= w.openHeight) return false;
  const rolledBack = v.rolledBackHeight ?? 0n; // a node from before rollbacks existed omits it
  return rolledBack === 0n || rolledBack >= w.openHeight;
}

export interface BaseChain {
  window(windowId: bigint): Promise<Window>;
  /**
   * Every checkpoint of a model version (training README "Checkpoints"); absent: none is used and
   * every base replays all windows of its version.
   */
  checkpoints?(modelVersion: bigint): Promise<TrainingCheckpoint[]>;
}

/** Where a fold of windows starts: a verified checkpoint's state and windows, or the initial adapter. */
interface Start {
  readonly state: AdapterState;
  readonly windows: readonly bigint[];
  /** windows ≤ this are in the start state (0: the initial adapter) */
  readonly through: bigint;
}

/** Bases per window and decoded aggregates per finalized window, fetched once each. */
export class BaseStates {
  private readonly bases = new Map<bigint, BaseState>();
  private readonly finalized = new Map<bigint, Window>();
  private readonly updates = new Map<bigint, LoraPairs>();
  private readonly checkpointFiles = new Map<string, HeadCheckpointFile>();

  constructor(private readonly chain: BaseChain, private readonly store: ContentStore, private readonly log: (line: string) => void = () => {}) {}

  /** The base of window `windowId` for `model` (the window's model version, loaded). */
  async forWindow(windowId: bigint, model: LoadedModel): Promise<BaseState> {
    const cached = this.bases.get(windowId);
    if (cached) return cached;
    const w = await this.chain.window(windowId);
    if (w.modelVersion !== model.identity.version) {
      throw new OutputError(OutputErrorCode.BadMetadata, `base state: window ${windowId} trains model version ${w.modelVersion}, not ${model.identity.version}`);
    }
    // The latest checkpoint recorded before w opened and not rolled back by then (README
    // "Checkpoints"): it holds exactly the windows ≤ its through window that are in w's base.
    const start = await this.start(model, windowId, (c) => c.height < w.openHeight && (c.rolledBackHeight === 0n || c.rolledBackHeight >= w.openHeight));
    let state = start.state;
    const applied: bigint[] = [...start.windows];
    for (let id = start.through + 1n; id < windowId; id++) {
      const v = await this.windowIfFinal(id);
      if (!v || !inBaseOf(v, w)) continue;
      state = applyDelta(state, await this.update(v, model));
      applied.push(id);
    }
    const base = { state, windows: applied };
    this.bases.set(windowId, base);
    return base;
  }

  /**
   * The model head of `model`'s version as of window `lastWindowId` (the serving node's base): the
   * initial adapter plus, in window-id order, the aggregate of every window ≤ lastWindowId of the
   * same version that is FINALIZED (applied) with a result and not rolled back. Unlike `forWindow`,
   * no opening height bounds it.
   */
  async head(model: LoadedModel, lastWindowId: bigint): Promise<BaseState> {
    // A checkpoint not rolled back holds exactly the windows ≤ its through window still in the head.
    const start = await this.start(model, lastWindowId + 1n, (c) => c.rolledBackHeight === 0n);
    let state = start.state;
    const ids: bigint[] = [...start.windows];
    for (let id = start.through + 1n; id <= lastWindowId; id++) {
      const v = await this.windowIfFinal(id);
      if (!v || v.modelVersion !== model.identity.version || (v.rolledBackHeight ?? 0n) !== 0n) continue;
      state = applyDelta(state, await this.update(v, model));
      ids.push(id);
    }
    return { state, windows: ids };
  }

  /**
   * The head of `model`'s version consolidated through window `through`, as a carrier window
   * whose aggregation started at height `asOf` publishes it (training README "Checkpoints"): the
   * initial adapter plus, in window-id order, every window ≤ through of the version that is
   * FINALIZED with a result and not rolled back before `asOf` (rolled_back_height 0 or ≥ asOf; a
   * rollback at or after asOf that reaches `through` makes the chain drop the checkpoint anyway).
   */
  async checkpointState(model: LoadedModel, through: bigint, asOf: bigint): Promise<BaseState> {
    const kept = (rolledBack: bigint) => rolledBack === 0n || rolledBack >= asOf;
    const start = await this.start(model, through, (c) => c.height < asOf && kept(c.rolledBackHeight));
    let state = start.state;
    const ids: bigint[] = [...start.windows];
    for (let id = start.through + 1n; id <= through; id++) {
      const v = await this.windowIfFinal(id);
      if (!v || v.modelVersion !== model.identity.version || !kept(v.rolledBackHeight ?? 0n)) continue;
      state = applyDelta(state, await this.update(v, model));
      ids.push(id);
    }
    return { state, windows: ids };
  }

  /**
   * The start of a fold of windows below `below`: the newest checkpoint of the version that
   * `usable` accepts and that can be fetched under its CID and verified against its state hash
   * (an unserved or altered one is skipped for the next older), else the initial adapter.
   */
  private async start(model: LoadedModel, below: bigint, usable: (c: TrainingCheckpoint) => boolean): Promise<Start> {
    const initial = initAdapter(model.identity.cfg);
    let listed: TrainingCheckpoint[] = [];
    try {
      if (this.chain.checkpoints !== undefined) listed = await this.chain.checkpoints(model.identity.version);
    } catch (err) {
      // A node that cannot list them (older, or unreachable for this query): replaying every window gives the same base.
      this.log(`base state: the chain's checkpoints could not be listed (${(err as Error).message}); replaying every window`);
    }
    const candidates = listed
      .filter((c) => c.modelVersion === model.identity.version && c.throughWindow < below && usable(c))
      .sort((a, b) => (a.throughWindow > b.throughWindow ? -1 : a.throughWindow < b.throughWindow ? 1 : 0));
    for (const c of candidates) {
      try {
        const file = await this.checkpointFile(c, model);
        return { state: { params: file.params, momentum: initial.momentum }, windows: file.windows, through: c.throughWindow };
      } catch (err) {
        this.log(`base state: checkpoint through window ${c.throughWindow} (${c.cid}) is not usable, trying an older one: ${(err as Error).message}`);
      }
    }
    return { state: initial, windows: [], through: 0n };
  }

  /** A checkpoint's file, fetched by its CID, checked against the chain's state hash and the model. */
  private async checkpointFile(c: TrainingCheckpoint, model: LoadedModel): Promise<HeadCheckpointFile> {
    const known = this.checkpointFiles.get(c.cid);
    if (known) return known;
    const bytes = await this.store.get(parseCid(c.cid));
    const file = await decodeHeadCheckpoint(bytes, { cid: c.cid, stateHash: c.stateHash });
    if (!sameModel(file.model, model.identity) || file.throughWindow !== c.throughWindow) {
      throw new OutputError(OutputErrorCode.BadMetadata, `base state: ${c.cid} is not the checkpoint of model version ${model.identity.version} through window ${c.throughWindow}`);
    }
    this.checkpointFiles.set(c.cid, file);
    return file;
  }

  /**
   * The initial adapter plus the aggregates of exactly `windowIds` (ascending, each FINALIZED with
   * a result on `model`'s version): how a receipt's base is rebuilt.
   */
  async fromWindows(model: LoadedModel, windowIds: readonly bigint[]): Promise<BaseState> {
    let state = initAdapter(model.identity.cfg);
    windowIds.forEach((id, i) => {
      if (i > 0 && id <= windowIds[i - 1]) throw new OutputError(OutputErrorCode.BadMetadata, `base state: windows must be ascending, got ${windowIds.join(', ')}`);
    });
    for (const id of windowIds) {
      const v = await this.windowIfFinal(id);
      if (!v) throw new OutputError(OutputErrorCode.BadMetadata, `base state: window ${id} is not finalized with a model update`);
      if (v.modelVersion !== model.identity.version) throw new OutputError(OutputErrorCode.BadMetadata, `base state: window ${id} trained model version ${v.modelVersion}, not ${model.identity.version}`);
      state = applyDelta(state, await this.update(v, model));
    }
    return { state, windows: [...windowIds] };
  }

  /**
   * A window that is finalized (applied) with a result, else undefined. Its result never changes;
   * only a governance rollback can still mark it (rolled_back_height, set once), so it is kept
   * only once marked, and read again until then.
   */
  private async windowIfFinal(id: bigint): Promise<Window | undefined> {
    const known = this.finalized.get(id);
    if (known) return known;
    const v = await this.chain.window(id);
    if (v.status !== WindowStatus.WINDOW_STATUS_FINALIZED || v.resultCid === '') return undefined;
    if ((v.rolledBackHeight ?? 0n) !== 0n) this.finalized.set(id, v);
    return v;
  }

  /** Window `v`'s aggregate, fetched by its result CID and checked against its result hash. */
  private async update(v: Window, model: LoadedModel): Promise<LoraPairs> {
    const known = this.updates.get(v.id);
    if (known) return known;
    let bytes: Uint8Array;
    try {
      bytes = await this.store.get(parseCid(v.resultCid));
    } catch (err) {
      throw new OutputError(OutputErrorCode.CidMismatch, `base state: the aggregate of window ${v.id} (${v.resultCid}) cannot be fetched: ${(err as Error).message}`);
    }
    const agg = await decodeAggregate(bytes, { cid: v.resultCid });
    if (agg.window !== v.id || !sameModel(agg.model, model.identity)) {
      throw new OutputError(OutputErrorCode.BadMetadata, `base state: ${v.resultCid} is not window ${v.id}'s aggregate of this model (it names window ${agg.window})`);
    }
    if (bytesToHex(gradientHash(agg.delta, shapeOfModel(model.identity))) !== bytesToHex(v.resultHash)) {
      throw new OutputError(OutputErrorCode.BadMetadata, `base state: the aggregate ${v.resultCid} does not hash to window ${v.id}'s result_hash`);
    }
    this.updates.set(v.id, agg.delta);
    return agg.delta;
  }
}
