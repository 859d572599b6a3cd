/**
 * Builds real signed Cosmos txs for tests and benchmarks, with CosmJS's own
 * encoders and secp256k1 keys: what a wallet would send.
 */
import { DirectSecp256k1Wallet, makeAuthInfoBytes, makeSignDoc, encodePubkey, Registry } from '@cosmjs/proto-signing';
import { encodeSecp256k1Pubkey } from '@cosmjs/amino';
import { defaultRegistryTypes } from '@cosmjs/stargate';
import { Secp256k1, sha256 } from '@cosmjs/crypto';
import { TxRaw } from 'cosmjs-types/cosmos/tx/v1beta1/tx';
import { SignMode } from 'cosmjs-types/cosmos/tx/signing/v1beta1/signing';
import { createHash } from 'node:crypto';
import { addressFromPubkey, encodeAddress } from '../../app/core/address.ts';

export const registry = new Registry(defaultRegistryTypes);

export interface TestKey {
  privkey: Uint8Array;
  pubkey: Uint8Array;
  address: string;
}

/** Deterministic test key number `index`: sha256("r3mes-test-key-" + index). */
export async function testKey(index: number): Promise<TestKey> {
  const privkey = new Uint8Array(createHash('sha256').update(`r3mes-test-key-${index}`).digest());
  const keypair = await Secp256k1.makeKeypair(privkey);
  const pubkey = Secp256k1.compressPubkey(keypair.pubkey);
  return { privkey, pubkey, address: encodeAddress(addressFromPubkey(pubkey)) };
}

export interface SignOptions {
  chainId: string;
  accountNumber: bigint;
  sequence: bigint;
  gasLimit?: bigint;
  feeAmount?: string;
  memo?: string;
  includePubkey?: boolean;
  /** The registry that encodes the messages (default: the Cosmos types only; r3mesRegistry() for R3MES messages). */
  registry?: Registry;
}

export function msgSend(from: string, to: string, amount: string, denom = 'ur3mes') {
  return { typeUrl: '/cosmos.bank.v1beta1.MsgSend', value: { fromAddress: from, toAddress: to, amount: [{ denom, amount }] } };
}

export async function signTx(key: TestKey, messages: Array<{ typeUrl: string; value: unknown }>, options: SignOptions): Promise<Uint8Array> {
  const bodyBytes = (options.registry ?? registry).encode({ typeUrl: '/cosmos.tx.v1beta1.TxBody', value: { messages, memo: options.memo ?? '' } });
  const gasLimit = options.gasLimit ?? 200_000n;
  const pubkeyAny = encodePubkey(encodeSecp256k1Pubkey(key.pubkey));
  const authInfoBytes = makeAuthInfoBytes(
    [{ pubkey: pubkeyAny, sequence: options.sequence }],
    [{ denom: 'ur3mes', amount: options.feeAmount ?? '5000' }],
    Number(gasLimit), undefined, undefined, SignMode.SIGN_MODE_DIRECT,
  );
  const signDoc = makeSignDoc(bodyBytes, authInfoBytes, options.chainId, Number(options.accountNumber));
  const wallet = await DirectSecp256k1Wallet.fromKey(key.privkey, 'r3mes');
  const { signature } = await wallet.signDirect(key.address, signDoc);
  return TxRaw.encode({ bodyBytes, authInfoBytes, signatures: [Buffer.from(signature.signature, 'base64')] }).finish();
}

export { sha256 };
