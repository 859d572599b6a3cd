import type { KVStore } from '../../app/core/store/types.ts';

/**
 * What the beacon needs from staking: the VRF public key registered for the validator whose
 * consensus key has this CometBFT address (a block's proposer), or undefined when there is none.
 */
export interface VrfKeyReader {
  vrfPubkeyOf(store: KVStore, consensusAddress: Uint8Array): Uint8Array | undefined;
}
