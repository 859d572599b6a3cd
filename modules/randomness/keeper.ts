/**
 * The randomness beacon (see README, "Beacon"): one 64-byte value per height, each the ECVRF
 * output of that block's proposer over (previous value ‖ height). The app calls this keeper from
 * PrepareProposal (make the proof), ProcessProposal (check it) and FinalizeBlock (store it before
 * any tx or hook runs); draws read the stored value through `beaconDrawer`.
 */
import { sha512 } from '@noble/hashes/sha2.js';
import type { KVStore } from '../../app/core/store/types.ts';
import type { EventLog } from '../../app/core/events.ts';
import { prefixStore } from '../../app/core/store/prefix.ts';
import { concatBytes, readU64be, toHex, u64be, utf8 } from '../../app/core/bytes.ts';
import { Beacon, Params } from '../../proto/gen/r3mes/randomness/v1/types.ts';
import { decodeBeaconTx, encodeBeaconTx, isBeaconFormat } from './beacon-tx.ts';
import { beaconErrors } from './errors.ts';
import type { VrfKeyReader } from './expected-keepers.ts';
import { prove, verify, VRF_OUTPUT_LENGTH, VRF_SUITE_ELL2 } from './vrf.ts';

/**
 * ELL2, not TAI: its encode-to-curve is one fixed computation (RFC 9380 Elligator 2) with no
 * failure path, where TAI loops a data-dependent number of times and can (with probability
 * ~2^-256) fail, which consensus code would need a rule for. Verifying costs ~6.5 ms against
 * TAI's ~4.2 ms (bench/vrf.ts): once or twice a block, irrelevant.
 */
export const BEACON_SUITE = VRF_SUITE_ELL2;
export const BEACON_LENGTH = VRF_OUTPUT_LENGTH;
export const DEFAULT_BEACON_RETENTION_BLOCKS = 1000n;

const GENESIS_TAG = utf8('r3mes-genesis-beacon');
const DERIVED_TAG = utf8('r3mes-derived-beacon');

/** Key layout inside the module's prefix "randomness/". */
const keys = {
  params: utf8('p'),
  genesisBeacon: utf8('g'),
  latest: utf8('l'),
  beacon: (height: bigint) => concatBytes(utf8('b/'), u64be(height)),
  beaconPrefix: utf8('b/'),
};

/** Default genesis beacon: SHA-512("r3mes-genesis-beacon" ‖ chain_id), both as UTF-8. */
export function defaultGenesisBeacon(chainId: string): Uint8Array {
  return sha512(concatBytes(GENESIS_TAG, utf8(chainId)));
}

/** The VRF input of height H: previous beacon (64 bytes) ‖ u64be(H). */
export function beaconAlpha(previous: Uint8Array, height: bigint): Uint8Array {
  return concatBytes(previous, u64be(height));
}

/** The beacon of a height whose proposer has no registered VRF key: SHA-512("r3mes-derived-beacon" ‖ previous ‖ u64be(H)). */
export function derivedBeacon(previous: Uint8Array, height: bigint): Uint8Array {
  return sha512(concatBytes(DERIVED_TAG, previous, u64be(height)));
}

/** What the beacon of a block is, given its proposer and its first tx. */
export type BeaconCheck =
  | { readonly ok: true; readonly source: 'vrf'; readonly value: Uint8Array; readonly proof: Uint8Array }
  | { readonly ok: true; readonly source: 'derived'; readonly value: Uint8Array }
  | { readonly ok: false; readonly reason: string };

export class BeaconKeeper {
  static readonly storePrefix = utf8('randomness/');

  constructor(private readonly vrfKeys: VrfKeyReader) {}

  private view(store: KVStore): KVStore {
    return prefixStore(store, BeaconKeeper.storePrefix);
  }

  getParams(store: KVStore): Params {
    const raw = this.view(store).get(keys.params);
    return raw === undefined ? { beaconRetentionBlocks: DEFAULT_BEACON_RETENTION_BLOCKS } : Params.decode(raw);
  }

  setParams(store: KVStore, params: Params): void {
    validateParams(params);
    this.view(store).set(keys.params, Params.encode(params).finish());
  }

  /** The genesis beacon set in genesis, or undefined when genesis left it to the default. */
  explicitGenesisBeacon(store: KVStore): Uint8Array | undefined {
    return this.view(store).get(keys.genesisBeacon);
  }

  setGenesisBeacon(store: KVStore, value: Uint8Array): void {
    if (value.length !== BEACON_LENGTH) throw beaconErrors.invalidGenesis(`genesis beacon must be ${BEACON_LENGTH} bytes, got ${value.length}`);
    this.view(store).set(keys.genesisBeacon, value);
  }

  genesisBeacon(store: KVStore, chainId: string): Uint8Array {
    return this.explicitGenesisBeacon(store) ?? defaultGenesisBeacon(chainId);
  }

  beacon(store: KVStore, height: bigint): Beacon | undefined {
    if (height < 0n || height >= 1n << 64n) return undefined;
    const raw = this.view(store).get(keys.beacon(height));
    return raw === undefined ? undefined : Beacon.decode(raw);
  }

  latest(store: KVStore): Beacon | undefined {
    const raw = this.view(store).get(keys.latest);
    return raw === undefined ? undefined : Beacon.decode(raw);
  }

  /** Every stored beacon, ascending by height. */
  *beacons(store: KVStore): IterableIterator<Beacon> {
    for (const [, value] of this.view(store).iterate(keys.beaconPrefix)) yield Beacon.decode(value);
  }

  /**
   * The input of the next beacon: the latest stored (VRF) value, or the genesis beacon before the
   * first one. Derived values are not stored and not chained: they add no entropy.
   */
  previousValue(store: KVStore, chainId: string): Uint8Array {
    return this.latest(store)?.value ?? this.genesisBeacon(store, chainId);
  }

  /**
   * The beacon tx the proposer of `height` puts first, or undefined when the proposer has no
   * registered VRF key (its blocks carry none: the value is derived). The key is used even if it
   * is not the registered one: the proposal is then rejected, which is the operator's error to see.
   */
  makeBeaconTx(store: KVStore, chainId: string, height: bigint, proposer: Uint8Array, secretKey: Uint8Array): Uint8Array | undefined {
    if (this.vrfKeys.vrfPubkeyOf(store, proposer) === undefined) return undefined;
    return encodeBeaconTx(height, prove(secretKey, beaconAlpha(this.previousValue(store, chainId), height), BEACON_SUITE));
  }

  /**
   * The beacon of `height` from the block's first tx (undefined for an empty block): with a
   * registered VRF key, the first tx must be a beacon tx for this height whose proof verifies
   * against that key over alpha = previous ‖ u64be(height); without one, there must be no beacon
   * tx and the value is derived. Never throws on adversarial bytes.
   */
  checkBeacon(store: KVStore, chainId: string, height: bigint, proposer: Uint8Array, firstTx: Uint8Array | undefined): BeaconCheck {
    const previous = this.previousValue(store, chainId);
    const key = this.vrfKeys.vrfPubkeyOf(store, proposer);
    if (key === undefined) {
      if (firstTx !== undefined && isBeaconFormat(firstTx)) return { ok: false, reason: 'beacon tx from a proposer with no registered VRF key' };
      return this.derived(store, chainId, height);
    }
    if (firstTx === undefined || !isBeaconFormat(firstTx)) return { ok: false, reason: 'first tx is not a beacon tx' };
    const tx = decodeBeaconTx(firstTx);
    if (tx === undefined) return { ok: false, reason: 'malformed beacon tx' };
    if (tx.height !== height) return { ok: false, reason: `beacon tx is for height ${tx.height}, not ${height}` };
    const verified = verify(key, tx.proof, beaconAlpha(previous, height), BEACON_SUITE);
    if (!verified.valid) return { ok: false, reason: `VRF proof rejected: ${verified.reason}` };
    return { ok: true, source: 'vrf', value: verified.beta, proof: tx.proof };
  }

  /** The derived beacon of `height` (what a block without a valid beacon tx gets in FinalizeBlock). */
  derived(store: KVStore, chainId: string, height: bigint): BeaconCheck {
    return { ok: true, source: 'derived', value: derivedBeacon(this.previousValue(store, chainId), height) };
  }

  /**
   * ProcessProposal's rule: the beacon check of the first tx passes, and no other tx is
   * beacon-format. Returns the beacon when the proposal is acceptable.
   */
  checkProposal(store: KVStore, chainId: string, height: bigint, proposer: Uint8Array, txs: readonly Uint8Array[]): BeaconCheck {
    const check = this.checkBeacon(store, chainId, height, proposer, txs[0]);
    if (!check.ok) return check;
    const firstOther = check.source === 'vrf' ? 1 : 0;
    for (let i = firstOther; i < txs.length; i++) {
      if (isBeaconFormat(txs[i])) return { ok: false, reason: `tx ${i} is a beacon-format tx` };
    }
    return check;
  }

  /**
   * Records the beacon of `height`, which FinalizeBlock does before any tx or hook: a VRF beacon
   * is stored (and becomes the latest) and beacons that fell out of the retention window are
   * deleted; a derived one is not stored (a chain without VRF keys keeps empty blocks free of
   * writes) — `beaconValue` recomputes it. Emits `beacon{height, value, proposer, source}` either way.
   */
  recordBeacon(store: KVStore, events: EventLog, height: bigint, proposer: Uint8Array, check: BeaconCheck): void {
    if (!check.ok) throw new Error(`beacon of height ${height}: ${check.reason}`);
    if (check.source === 'vrf') {
      const view = this.view(store);
      const encoded = Beacon.encode({ height, value: Buffer.from(check.value), proposer: Buffer.from(proposer), proof: Buffer.from(check.proof) }).finish();
      view.set(keys.beacon(height), encoded);
      view.set(keys.latest, encoded);
      const retention = this.getParams(store).beaconRetentionBlocks;
      if (height >= retention) this.pruneThrough(store, height - retention);
    }
    events.emit('beacon', [
      ['height', height.toString()],
      ['value', toHex(check.value), false],
      ['proposer', toHex(proposer).toUpperCase()],
      ['source', check.source, false],
    ]);
  }

  /**
   * The beacon of `height` while that block executes (after `recordBeacon`): the stored value,
   * or for a derived height the derived value from the latest stored one. Undefined for a past
   * height that has no stored beacon (derived earlier, or pruned).
   */
  beaconValue(store: KVStore, chainId: string, height: bigint): Uint8Array | undefined {
    const stored = this.beacon(store, height);
    if (stored !== undefined) return stored.value;
    const latest = this.latest(store);
    if (latest !== undefined && latest.height >= height) return undefined;
    return derivedBeacon(this.previousValue(store, chainId), height);
  }

  /** Deletes the stored beacons of heights ≤ `height` (the latest pointer stays). */
  private pruneThrough(store: KVStore, height: bigint): void {
    const view = this.view(store);
    const doomed: Uint8Array[] = [];
    for (const [key] of view.iterate(keys.beaconPrefix)) {
      if (readU64be(key.subarray(keys.beaconPrefix.length)) > height) break;
      doomed.push(key.slice());
    }
    for (const key of doomed) view.delete(key);
  }

  /** Genesis: a stored beacon list must be ascending, 64-byte values; the last one becomes the latest. */
  importBeacons(store: KVStore, beacons: readonly Beacon[]): void {
    let previous: bigint | undefined;
    for (const beacon of beacons) {
      if (previous !== undefined && beacon.height <= previous) throw beaconErrors.invalidGenesis('beacons must be sorted by height and unique');
      if (beacon.value.length !== BEACON_LENGTH) throw beaconErrors.invalidGenesis(`beacon ${beacon.height}: value must be ${BEACON_LENGTH} bytes`);
      if (beacon.proof.length !== 0 && beacon.proof.length !== 80) throw beaconErrors.invalidGenesis(`beacon ${beacon.height}: proof must be empty or 80 bytes`);
      previous = beacon.height;
      this.view(store).set(keys.beacon(beacon.height), Beacon.encode(beacon).finish());
    }
    const last = beacons.at(-1);
    if (last !== undefined) this.view(store).set(keys.latest, Beacon.encode(last).finish());
  }
}

export function validateParams(params: Params): void {
  if (params.beaconRetentionBlocks < 1n || params.beaconRetentionBlocks >= 1n << 63n) {
    throw beaconErrors.invalidParams(`beaconRetentionBlocks must be in [1, 2^63), got ${params.beaconRetentionBlocks}`);
  }
}
