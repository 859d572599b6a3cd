import { type GeneratedType, Registry } from '@cosmjs/proto-signing';
import { defaultRegistryTypes } from '@cosmjs/stargate';
import { moduleInterfaces } from '../interfaces.ts';

/**
 * A CosmJS Registry with the Cosmos defaults and every R3MES message, so a
 * user's SigningStargateClient can sign them:
 * `SigningStargateClient.connectWithSigner(url, signer, { registry: r3mesRegistry() })`.
 */
export function r3mesRegistry(): Registry {
  const types: Array<[string, GeneratedType]> = [...defaultRegistryTypes];
  for (const module of moduleInterfaces()) {
    for (const [typeUrl, type] of module.registryTypes) types.push([typeUrl, type as unknown as GeneratedType]);
  }
  return new Registry(types);
}
