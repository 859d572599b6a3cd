import type { KVStore } from '../../app/core/store/types.ts';
import { GenesisState } from '../../proto/gen/r3mes/subnet/v1/genesis.ts';
import { contentCidProblem } from '../../app/core/cid.ts';
import { subnetErrors } from './errors.ts';
import type { SubnetKeeper, SubnetViewKeeper } from './keeper.ts';
import { defaultParams, validateParams } from './params.ts';

export function defaultGenesis(): GenesisState {
  return { params: defaultParams(), activations: [] };
}

export function parseGenesis(json: unknown): GenesisState {
  if (typeof json !== 'object' || json === null) throw subnetErrors.invalidGenesis('subnet genesis must be a JSON object');
  try {
    return GenesisState.fromJSON(json);
  } catch (error) {
    throw subnetErrors.invalidGenesis(`not a subnet GenesisState: ${(error as Error).message}`);
  }
}

export function initGenesis(subnet: SubnetKeeper, store: KVStore, genesis: GenesisState): void {
  if (genesis.params === undefined) throw subnetErrors.invalidGenesis('params missing');
  validateParams(genesis.params);
  subnet.setParams(store, genesis.params);
  let previousKey = '';
  for (const activation of genesis.activations) {
    const at = `activation of ${activation.miner} in window ${activation.windowId}`;
    const key = `${activation.windowId.toString().padStart(20, '0')}/${activation.miner}`;
    if (key <= previousKey) throw subnetErrors.invalidGenesis(`${at}: activations must be sorted by (window_id, miner) and unique`);
    previousKey = key;
    const problem = contentCidProblem(activation.activationCid);
    if (problem !== undefined) throw subnetErrors.invalidGenesis(`${at}: ${problem}`);
    if (activation.activationHash.length !== 32) throw subnetErrors.invalidGenesis(`${at}: activation_hash must be 32 bytes`);
    if (activation.toSubnet !== activation.fromSubnet + 1n) throw subnetErrors.invalidGenesis(`${at}: to_subnet must be from_subnet + 1`);
    if (subnet.cidHanded(store, activation.windowId, activation.activationCid)) throw subnetErrors.invalidGenesis(`${at}: duplicate CID in window`);
    subnet.setActivation(store, activation);
  }
}

export function exportGenesis(subnet: SubnetViewKeeper, store: KVStore): GenesisState {
  return { params: subnet.params(store), activations: [...subnet.allActivations(store)] };
}
