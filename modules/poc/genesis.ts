import type { KVStore } from '../../app/core/store/types.ts';
import { compareBytes } from '../../app/core/bytes.ts';
import { decodeAddress } from '../../app/core/address.ts';
import { GenesisState } from '../../proto/gen/r3mes/poc/v1/genesis.ts';
import { DisputeStatus } from '../../proto/gen/r3mes/poc/v1/types.ts';
import { pocErrors } from './errors.ts';
import { emptySchedule, keys, type PocKeeper, type PocViewKeeper } from './keeper.ts';
import { defaultParams, validateParams } from './params.ts';

export function defaultGenesis(): GenesisState {
  return { params: defaultParams(), schedule: emptySchedule(), epochs: [], batches: [], claims: [], minerEpochs: [], checks: [], disputes: [], weights: [] };
}

export function parseGenesis(json: unknown): GenesisState {
  if (typeof json !== 'object' || json === null) throw pocErrors.invalidGenesis('poc genesis must be a JSON object');
  try {
    return GenesisState.fromJSON(json);
  } catch (error) {
    throw pocErrors.invalidGenesis(`not a poc GenesisState: ${(error as Error).message}`);
  }
}

/** Each list strictly ascending by its store key (so: sorted and unique), addresses well-formed. */
function ascending<T>(list: readonly T[], key: (item: T) => Uint8Array, what: string): void {
  let previous: Uint8Array | undefined;
  for (const item of list) {
    const current = key(item);
    if (previous !== undefined && compareBytes(previous, current) >= 0) throw pocErrors.invalidGenesis(`${what} must be sorted by their key and unique`);
    previous = current;
  }
}

function address(text: string, what: string): void {
  try {
    decodeAddress(text, what);
  } catch (error) {
    throw pocErrors.invalidGenesis(`${what}: ${(error as Error).message}`);
  }
}

export function initGenesis(poc: PocKeeper, store: KVStore, genesis: GenesisState): void {
  if (genesis.params === undefined) throw pocErrors.invalidGenesis('params missing');
  validateParams(genesis.params, pocErrors.invalidGenesis);
  const schedule = genesis.schedule ?? emptySchedule();
  if (schedule.nextEpochId < 1n || schedule.nextDisputeId < 1n) throw pocErrors.invalidGenesis('schedule: next_epoch_id and next_dispute_id start at 1');
  ascending(genesis.epochs, (e) => keys.epoch(e.id), 'epochs');
  for (const epoch of genesis.epochs) if (epoch.id < 1n || epoch.id >= schedule.nextEpochId) throw pocErrors.invalidGenesis(`epoch ${epoch.id} is not below next_epoch_id ${schedule.nextEpochId}`);
  if (schedule.currentEpochId !== 0n && !genesis.epochs.some((e) => e.id === schedule.currentEpochId)) throw pocErrors.invalidGenesis(`current epoch ${schedule.currentEpochId} missing`);
  ascending(genesis.batches, (b) => keys.batch(b.epoch, b.miner, b.index), 'batches');
  ascending(genesis.claims, (c) => keys.claim(c.epoch, c.miner, c.nonce), 'claims');
  ascending(genesis.minerEpochs, (m) => keys.minerEpoch(m.epoch, m.miner), 'miner_epochs');
  ascending(genesis.checks, (c) => keys.check(c.epoch, c.miner, c.nonce), 'checks');
  ascending(genesis.disputes, (d) => keys.dispute(d.id), 'disputes');
  ascending(genesis.weights, (w) => keys.weight(w.miner), 'weights');
  for (const dispute of genesis.disputes) if (dispute.id < 1n || dispute.id >= schedule.nextDisputeId) throw pocErrors.invalidGenesis(`dispute ${dispute.id} is not below next_dispute_id`);
  for (const item of [...genesis.batches, ...genesis.claims, ...genesis.minerEpochs]) address(item.miner, 'miner');
  for (const weight of genesis.weights) {
    address(weight.miner, 'weights miner');
    if (weight.weight === 0n) throw pocErrors.invalidGenesis(`weight of ${weight.miner} is 0: only positive weights are listed`);
  }
  let total = 0n;
  let max = 0n;
  for (const { weight } of genesis.weights) {
    total += weight;
    if (weight > max) max = weight;
  }
  if (total !== schedule.weightTotal || max !== schedule.weightMax) throw pocErrors.invalidGenesis(`schedule weight_total/weight_max (${schedule.weightTotal}/${schedule.weightMax}) disagree with the weights (${total}/${max})`);

  poc.setParams(store, genesis.params);
  poc.setSchedule(store, schedule);
  for (const epoch of genesis.epochs) poc.setEpoch(store, epoch);
  for (const batch of genesis.batches) poc.setBatch(store, batch);
  for (const claim of genesis.claims) poc.setClaim(store, claim.epoch, claim.miner, claim);
  for (const record of genesis.minerEpochs) poc.setMinerEpoch(store, record);
  for (const check of genesis.checks) poc.setCheck(store, check);
  for (const dispute of genesis.disputes) {
    if (dispute.status === DisputeStatus.DISPUTE_STATUS_UNSPECIFIED) throw pocErrors.invalidGenesis(`dispute ${dispute.id} has no status`);
    poc.setDispute(store, dispute);
  }
  for (const weight of genesis.weights) poc.setWeight(store, weight.miner, weight.weight);
}

export function exportGenesis(poc: PocViewKeeper, store: KVStore): GenesisState {
  return {
    params: poc.params(store),
    schedule: poc.schedule(store),
    epochs: [...poc.epochs(store)],
    batches: [...poc.allBatches(store)],
    claims: [...poc.allClaims(store)],
    minerEpochs: [...poc.allMinerEpochs(store)],
    checks: [...poc.allChecks(store)],
    disputes: [...poc.allDisputes(store)],
    weights: poc.weights(store),
  };
}
