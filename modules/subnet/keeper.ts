import { type Page, type PageRequest, paginate, underPrefix } from '../../app/core/pagination.ts';
import type { Context } from '../../app/core/context.ts';
import type { KVStore } from '../../app/core/store/types.ts';
import { prefixStore } from '../../app/core/store/prefix.ts';
import { concatBytes, toHex, u64be, utf8 } from '../../app/core/bytes.ts';
import { decodeAddress } from '../../app/core/address.ts';
import { contentCidProblem } from '../../app/core/cid.ts';
import type { MsgSubmitActivation } from '../../proto/gen/r3mes/subnet/v1/tx.ts';
import { Activation, Params } from '../../proto/gen/r3mes/subnet/v1/types.ts';
import { assignedSubnet, effectiveSubnetCount, type LayerRange, subnetLayerRanges } from './assignment.ts';
import { subnetErrors } from './errors.ts';
import type { MinerReader, ModelReader, ModelVersionView, WindowReader } from './expected-keepers.ts';
import { defaultParams } from './params.ts';

/** Key layout inside the module's prefix "subnet/" (see README). */
const keys = {
  params: utf8('p'),
  activation: (windowId: bigint, miner: string) => concatBytes(utf8('a/'), u64be(windowId), utf8(miner)),
  activationPrefix: (windowId: bigint) => concatBytes(utf8('a/'), u64be(windowId)),
  activationAllPrefix: utf8('a/'),
  cid: (windowId: bigint, cid: string) => concatBytes(utf8('c/'), u64be(windowId), utf8(cid)),
};

/** What MsgSubmitActivation reads of other modules. */
export interface ActivationDeps {
  readonly windows: WindowReader;
  readonly miners: MinerReader;
}

/** Read-only layer: params, layer split, assignments, activations. Satisfies training's SubnetReader. */
export class SubnetViewKeeper {
  static readonly storePrefix = utf8('subnet/');

  constructor(protected readonly models: ModelReader) {}

  protected view(store: KVStore): KVStore {
    return prefixStore(store, SubnetViewKeeper.storePrefix);
  }

  params(store: KVStore): Params {
    const raw = this.view(store).get(keys.params);
    return raw === undefined ? defaultParams() : Params.decode(raw);
  }

  /** The version (0 = the active one), or modelVersionNotFound. */
  modelVersion(store: KVStore, number: bigint): ModelVersionView {
    const version = number === 0n ? this.models.activeVersion(store) : this.models.version(store, number);
    if (version === undefined) throw subnetErrors.modelVersionNotFound(number === 0n ? 'no active model version' : `model version ${number}`);
    return version;
  }

  /** training's SubnetReader: the subnet count of new windows of this version. */
  subnetCount(store: KVStore, modelVersion: bigint): bigint {
    const version = this.modelVersion(store, modelVersion);
    return effectiveSubnetCount(BigInt(version.nLayers), this.params(store).subnetCount);
  }

  /** training's SubnetReader. */
  assignedSubnet(window: { readonly seed: Uint8Array; readonly subnetCount: bigint }, miner: string): bigint {
    return assignedSubnet(window.seed, miner, window.subnetCount);
  }

  /** The layer split of a version under the current subnet_count (0 = the active version). */
  subnets(store: KVStore, modelVersion: bigint): { version: ModelVersionView; subnets: LayerRange[] } {
    const version = this.modelVersion(store, modelVersion);
    const count = effectiveSubnetCount(BigInt(version.nLayers), this.params(store).subnetCount);
    return { version, subnets: subnetLayerRanges(BigInt(version.nLayers), count) };
  }

  /** A miner's subnet in a window, with its layers (the window's version and subnet count). */
  assignment(store: KVStore, windows: WindowReader, windowId: bigint, miner: string): { subnetCount: bigint; subnet: LayerRange } {
    const window = windows.windowInfo(store, windowId);
    if (window === undefined) throw subnetErrors.windowNotFound(`window ${windowId}`);
    const version = this.modelVersion(store, window.modelVersion);
    const ranges = subnetLayerRanges(BigInt(version.nLayers), window.subnetCount);
    return { subnetCount: window.subnetCount, subnet: ranges[Number(assignedSubnet(window.seed, miner, window.subnetCount))] };
  }

  activation(store: KVStore, windowId: bigint, miner: string): Activation | undefined {
    const raw = this.view(store).get(keys.activation(windowId, miner));
    return raw === undefined ? undefined : Activation.decode(raw);
  }

  /** A page of a window's activations, by miner address (key: the miner's bech32 address, UTF-8). */
  activationsPage(store: KVStore, windowId: bigint, page: PageRequest | undefined): Page<Activation> {
    return paginate(underPrefix(this.view(store), keys.activationPrefix(windowId)), page, (_, value) => Activation.decode(value));
  }

  /** A window's activations, ordered by miner address bytes. */
  activations(store: KVStore, windowId: bigint): Activation[] {
    return [...this.view(store).iterate(keys.activationPrefix(windowId))].map(([, value]) => Activation.decode(value));
  }

  *allActivations(store: KVStore): IterableIterator<Activation> {
    for (const [, value] of this.view(store).iterate(keys.activationAllPrefix)) yield Activation.decode(value);
  }

  cidHanded(store: KVStore, windowId: bigint, cid: string): boolean {
    return this.view(store).has(keys.cid(windowId, cid));
  }
}

/** Full layer: params and activations. */
export class SubnetKeeper extends SubnetViewKeeper {
  setParams(store: KVStore, params: Params): void {
    this.view(store).set(keys.params, Params.encode(params).finish());
  }

  setActivation(store: KVStore, activation: Activation): void {
    const view = this.view(store);
    view.set(keys.activation(activation.windowId, activation.miner), Activation.encode(activation).finish());
    view.set(keys.cid(activation.windowId, activation.activationCid), new Uint8Array());
  }

  submitActivation(ctx: Context, msg: MsgSubmitActivation, deps: ActivationDeps): void {
    validateSubmitActivation(msg);
    const { store } = ctx;
    const miner = deps.miners.miner(store, msg.miner);
    if (miner === undefined) throw subnetErrors.minerNotRegistered(msg.miner);
    const window = deps.windows.windowInfo(store, msg.windowId);
    if (window === undefined) throw subnetErrors.windowNotFound(`window ${msg.windowId}`);
    if (window.status !== 'collecting') throw subnetErrors.windowNotCollecting(`window ${msg.windowId} is ${window.status}`);
    const assigned = assignedSubnet(window.seed, msg.miner, window.subnetCount);
    if (assigned !== msg.subnet) throw subnetErrors.notAssigned(`window ${msg.windowId} assigns ${msg.miner} to subnet ${assigned}, not ${msg.subnet}`);
    if (msg.subnet + 1n >= window.subnetCount) throw subnetErrors.noNextSubnet(`subnet ${msg.subnet} is the last of ${window.subnetCount}`);
    if (this.activation(store, msg.windowId, msg.miner) !== undefined) {
      throw subnetErrors.duplicateActivation(`${msg.miner} already handed an activation in window ${msg.windowId}`);
    }
    if (this.cidHanded(store, msg.windowId, msg.activationCid)) {
      throw subnetErrors.duplicateActivation(`activation ${msg.activationCid} was already handed in window ${msg.windowId}`);
    }
    const activation: Activation = {
      windowId: msg.windowId, miner: msg.miner, fromSubnet: msg.subnet, toSubnet: msg.subnet + 1n,
      activationCid: msg.activationCid, activationHash: Buffer.from(msg.activationHash), height: ctx.height,
    };
    this.setActivation(store, activation);
    ctx.events.emit('activation', [
      ['window', msg.windowId.toString()],
      ['miner', msg.miner],
      ['from_subnet', msg.subnet.toString()],
      ['to_subnet', activation.toSubnet.toString()],
      ['cid', msg.activationCid],
      ['hash', toHex(msg.activationHash), false],
    ]);
  }
}

/** Stateless checks; returns the signer. */
export function validateSubmitActivation(msg: MsgSubmitActivation): Uint8Array {
  const miner = decodeAddress(msg.miner, 'miner');
  if (msg.activationHash.length !== 32) throw subnetErrors.invalidHash(`activation_hash is ${msg.activationHash.length} bytes, must be 32`);
  const problem = contentCidProblem(msg.activationCid);
  if (problem !== undefined) throw subnetErrors.invalidCid(`activation_cid: ${problem}`);
  return miner;
}
