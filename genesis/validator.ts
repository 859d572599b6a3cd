import { createHash } from 'node:crypto';
import { encodeAddress, decodeAddress } from '../app/core/address.ts';
import { BONDED_POOL } from '../modules/staking/keeper.ts';
import type { GenesisDoc } from './file.ts';

/**
 * The public keys a genesis validator is listed with: CometBFT's ed25519 consensus key and the
 * ed25519 VRF key of the randomness beacon (read from a node home by app/node/validator-keys.ts).
 */
export interface ValidatorKeys {
  consensusPubkey: Uint8Array;
  consensusAddressHex: string;
  vrfPubkey: Uint8Array;
}

interface StakingGenesisJson {
  params: { bondDenom: string; powerReduction: string; [key: string]: unknown };
  validators?: Array<Record<string, unknown> & { operatorAddress: string }>;
  delegations?: Array<{ delegatorAddress: string; validatorAddress: string; amount: string }>;
  [key: string]: unknown;
}

/**
 * Makes `operator` a genesis validator bonding `selfStake` of its genesis
 * balance: moves the coins to the bonded pool in the bank's genesis, writes
 * the validator and its self-delegation into staking's, and lists the same
 * key with the same power in CometBFT's own validators, so both agree at
 * height 1 (staking's README: genesis validators and CometBFT).
 */
export function addGenesisValidator(doc: GenesisDoc, operator: string, selfStake: bigint, moniker: string, keys: ValidatorKeys, commissionRate = '0.1'): void {
  const state = doc.app_state ?? {};
  const staking = state.staking as StakingGenesisJson | undefined;
  const bank = state.bank;
  if (staking === undefined || bank === undefined) throw new Error('genesis has no staking or bank state: run `r3mesd init` first');
  decodeAddress(operator, 'validator operator');
  const denom = staking.params.bondDenom;
  const validators = (staking.validators ??= []);
  if (validators.some((v) => v.operatorAddress === operator)) throw new Error(`${operator} is already a genesis validator`);
  const consensusB64 = Buffer.from(keys.consensusPubkey).toString('base64');
  if (validators.some((v) => v.consensusPubkey === consensusB64)) throw new Error('this consensus key already belongs to a genesis validator');

  const holder = bank.balances.find((balance) => balance.address === operator);
  const coin = holder?.coins.find((c) => c.denom === denom);
  if (holder === undefined || coin === undefined || BigInt(coin.amount) < selfStake) {
    throw new Error(`${operator} needs at least ${selfStake}${denom} in genesis to bond (add it with \`genesis add-account\` first)`);
  }
  const power = selfStake / BigInt(staking.params.powerReduction);
  if (power === 0n) throw new Error(`self-stake ${selfStake}${denom} is below one unit of voting power (${staking.params.powerReduction}${denom})`);

  coin.amount = (BigInt(coin.amount) - selfStake).toString();
  holder.coins = holder.coins.filter((c) => c.amount !== '0');
  bank.balances = bank.balances.filter((balance) => balance.coins.length > 0);
  const pool = encodeAddress(BONDED_POOL);
  let poolBalance = bank.balances.find((balance) => balance.address === pool);
  if (poolBalance === undefined) {
    poolBalance = { address: pool, coins: [] };
    bank.balances.push(poolBalance);
    bank.balances.sort((a, b) => Buffer.compare(decodeAddress(a.address), decodeAddress(b.address)));
  }
  const poolCoin = poolBalance.coins.find((c) => c.denom === denom);
  if (poolCoin === undefined) poolBalance.coins.push({ denom, amount: selfStake.toString() });
  else poolCoin.amount = (BigInt(poolCoin.amount) + selfStake).toString();
  poolBalance.coins.sort((a, b) => (a.denom < b.denom ? -1 : 1));

  validators.push({
    operatorAddress: operator, consensusPubkey: consensusB64, vrfPubkey: Buffer.from(keys.vrfPubkey).toString('base64'),
    moniker, commissionRate, tokens: selfStake.toString(), jailed: false, jailedUntil: '0', createdHeight: '0',
  });
  validators.sort((a, b) => Buffer.compare(decodeAddress(a.operatorAddress), decodeAddress(b.operatorAddress)));
  const delegations = (staking.delegations ??= []);
  delegations.push({ delegatorAddress: operator, validatorAddress: operator, amount: selfStake.toString() });
  delegations.sort((a, b) => Buffer.compare(decodeAddress(a.delegatorAddress), decodeAddress(b.delegatorAddress)) || Buffer.compare(decodeAddress(a.validatorAddress), decodeAddress(b.validatorAddress)));

  // CometBFT's validators become exactly the staking validators (the one `cometbft init` wrote is replaced).
  doc.validators = validators.map((v) => ({
    address: createHash('sha256').update(Buffer.from(String(v.consensusPubkey), 'base64')).digest().subarray(0, 20).toString('hex').toUpperCase(),
    pub_key: { type: 'tendermint/PubKeyEd25519', value: v.consensusPubkey },
    power: (BigInt(String(v.tokens)) / BigInt(staking.params.powerReduction)).toString(),
    name: String(v.moniker),
  }));
}
