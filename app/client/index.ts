import { Comet38Client } from '@cosmjs/tendermint-rpc';
import { GasPrice, SigningStargateClient, StargateClient } from '@cosmjs/stargate';
import type { OfflineDirectSigner } from '@cosmjs/proto-signing';
import { r3mesRegistry } from './registry.ts';

/**
 * Connects stock CosmJS clients to an R3MES node. Comet38Client is used
 * directly: CosmJS's auto-detection falls back to the 0.37 client for
 * versions it does not know.
 */
export const DEFAULT_GAS_PRICE = '0.025ur3mes';

export async function connectQueryClient(rpcUrl: string): Promise<StargateClient> {
  return StargateClient.create(await Comet38Client.connect(rpcUrl));
}

export async function connectSigningClient(rpcUrl: string, signer: OfflineDirectSigner, gasPrice = DEFAULT_GAS_PRICE): Promise<SigningStargateClient> {
  return SigningStargateClient.createWithSigner(await Comet38Client.connect(rpcUrl), signer, {
    gasPrice: GasPrice.fromString(gasPrice),
    registry: r3mesRegistry(),
  });
}
