import { Comet38Client, HttpClient } from '@cosmjs/tendermint-rpc';
import type { JsonRpcRequest, JsonRpcSuccessResponse } from '@cosmjs/json-rpc';
import { GasPrice, SigningStargateClient, StargateClient } from '@cosmjs/stargate';
import type { OfflineDirectSigner } from '@cosmjs/proto-signing';
import { r3mesRegistry } from './registry.ts';

/**
 * Connects stock CosmJS clients to an R3MES node. Comet38Client is used
 * directly: CosmJS's auto-detection falls back to the 0.37 client for
 * versions it does not know.
 */
export const DEFAULT_GAS_PRICE = '0.025ur3mes';

/**
 * An HTTP JSON-RPC client whose transport errors say which node and why: fetch rejects with only
 * "fetch failed" and hides the reason (ECONNREFUSED, ENOTFOUND, …) in its `cause`.
 */
class NamedHttpClient extends HttpClient {
  override async execute(request: JsonRpcRequest): Promise<JsonRpcSuccessResponse> {
    try {
      return await super.execute(request);
    } catch (err) {
      if (!(err instanceof TypeError)) throw err; // JSON-RPC and HTTP errors already say what failed
      const cause = err.cause instanceof Error && err.cause.message ? err.cause.message : err.message;
      throw new Error(`chain node ${this.url} is unreachable (${request.method}): ${cause}; is the node running? (--node)`, { cause: err });
    }
  }
}

/** A CometBFT 0.38 RPC client for `rpcUrl` whose connection errors name the URL and the cause. */
export async function connectComet(rpcUrl: string): Promise<Comet38Client> {
  return Comet38Client.create(new NamedHttpClient(rpcUrl));
}

export async function connectQueryClient(rpcUrl: string): Promise<StargateClient> {
  return StargateClient.create(await connectComet(rpcUrl));
}

export async function connectSigningClient(rpcUrl: string, signer: OfflineDirectSigner, gasPrice = DEFAULT_GAS_PRICE): Promise<SigningStargateClient> {
  return SigningStargateClient.createWithSigner(await connectComet(rpcUrl), signer, {
    gasPrice: GasPrice.fromString(gasPrice),
    registry: r3mesRegistry(),
  });
}
