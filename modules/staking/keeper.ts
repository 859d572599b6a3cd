import { lengthPrefixedKey, type Page, type PageRequest, paginate, underPrefix } from '../../app/core/pagination.ts';
import { sha256 } from '@noble/hashes/sha2.js';
import type { ValidatorUpdate } from 'cosmjs-types/tendermint/abci/types';
import type { Context } from '../../app/core/context.ts';
import type { KVStore } from '../../app/core/store/types.ts';
import { prefixStore } from '../../app/core/store/prefix.ts';
import { bytesEqual, concatBytes, readU64be, toHex, u64be, utf8 } from '../../app/core/bytes.ts';
import { decodeAddress, encodeAddress, moduleAddress } from '../../app/core/address.ts';
import { MAX_AMOUNT, AMOUNT_TEXT } from '../../app/core/coins.ts';
import {
  BackendClass, ContentLocations, Delegation, LastValidatorPower, Miner, Params, UnbondingEntry, UnbondingKind, Validator,
} from '../../proto/gen/r3mes/staking/v1/types.ts';
import { stakingErrors } from './errors.ts';
import { validateContentLocations } from './content-locations.ts';
import type { Candidate, StakingBankKeeper } from './expected-keepers.ts';
import {
  defaultStakingParams, type Fraction, fractionAtMost, parseRate, resolveStakingParams, type StakingParams,
} from './params.ts';

/** Module accounts holding stake: bonded (validators' delegations and miners' stake) and unbonding entries. */
export const BONDED_POOL = moduleAddress('bonded_pool');
export const UNBONDING_POOL = moduleAddress('unbonding_pool');

/** CometBFT caps total power at MaxInt64/8; one validator's power is capped here (see README). */
export const MAX_VALIDATOR_POWER = 1n << 46n;
export const MAX_MONIKER_LENGTH = 70;
export const MAX_GPU_ARCH_LENGTH = 64;
export const MAX_SLASH_REASON_LENGTH = 128;
const GPU_ARCH = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

const lengthPrefixed = (address: Uint8Array) => concatBytes(Uint8Array.of(address.length), address);

/** Pagination keys of the lists keyed by address. */
const ADDRESS_KEY = { validKey: lengthPrefixedKey, keyMeaning: 'a length-prefixed address (u8 length ‖ bytes)' };

/** Key layout inside the module's prefix "staking/" (see README). */
const keys = {
  params: utf8('p'),
  validator: (operator: Uint8Array) => concatBytes(utf8('v/'), lengthPrefixed(operator)),
  validatorPrefix: utf8('v/'),
  consensusAddress: (consensusAddress: Uint8Array) => concatBytes(utf8('ca/'), consensusAddress),
  vrfKey: (vrfPubkey: Uint8Array) => concatBytes(utf8('vk/'), vrfPubkey),
  delegation: (delegator: Uint8Array, validator: Uint8Array) => concatBytes(utf8('d/'), lengthPrefixed(delegator), lengthPrefixed(validator)),
  delegatorPrefix: (delegator: Uint8Array) => concatBytes(utf8('d/'), lengthPrefixed(delegator)),
  delegationPrefix: utf8('d/'),
  byValidator: (validator: Uint8Array, delegator: Uint8Array) => concatBytes(utf8('dv/'), lengthPrefixed(validator), lengthPrefixed(delegator)),
  byValidatorPrefix: (validator: Uint8Array) => concatBytes(utf8('dv/'), lengthPrefixed(validator)),
  unbonding: (id: bigint) => concatBytes(utf8('u/'), u64be(id)),
  unbondingPrefix: utf8('u/'),
  queue: (completionHeight: bigint, id: bigint) => concatBytes(utf8('q/'), u64be(completionHeight), u64be(id)),
  queuePrefix: utf8('q/'),
  nextUnbondingId: utf8('n'),
  miner: (address: Uint8Array) => concatBytes(utf8('m/'), lengthPrefixed(address)),
  minerPrefix: utf8('m/'),
  lastPower: (operator: Uint8Array) => concatBytes(utf8('lp/'), lengthPrefixed(operator)),
  lastPowerPrefix: utf8('lp/'),
  contentLocations: (owner: Uint8Array) => concatBytes(utf8('cl/'), lengthPrefixed(owner)),
  contentLocationsPrefix: utf8('cl/'),
};

/** CometBFT's address of an ed25519 consensus key: the first 20 bytes of sha256(pubkey). */
export function consensusAddress(consensusPubkey: Uint8Array): Uint8Array {
  return sha256(consensusPubkey).slice(0, 20);
}

/** Order of addresses in every list this module returns: that of its store keys (length byte, then bytes). */
export function compareAddresses(a: Uint8Array, b: Uint8Array): number {
  return a.length !== b.length ? a.length - b.length : Buffer.compare(a, b);
}

/** A validator in the set CometBFT has (last power > 0), with its stake. */
export interface BondedValidator {
  operator: Uint8Array;
  operatorAddress: string;
  consensusPubkey: Uint8Array;
  vrfPubkey: Uint8Array;
  /** All delegated stake, self-delegation included. */
  tokens: bigint;
  /** Voting power CometBFT has for it. */
  power: bigint;
  commissionRate: Fraction;
}

export interface MinerInfo {
  address: Uint8Array;
  minerAddress: string;
  stake: bigint;
  backend: BackendClass;
  gpuArch: string;
  jailed: boolean;
  jailedUntil: bigint;
  registeredHeight: bigint;
}

export interface DelegationInfo {
  delegator: Uint8Array;
  validator: Uint8Array;
  amount: bigint;
}

/** Checks a positive amount given as a decimal string; staking 8 otherwise. */
export function parsePositiveAmount(text: string, what: string): bigint {
  if (!/^\d{1,78}$/.test(text)) throw stakingErrors.invalidAmount(`${what} "${text}" is not a positive integer`);
  if (!AMOUNT_TEXT.test(text)) throw stakingErrors.invalidAmount(`${what} "${text}" has a leading zero`);
  const amount = BigInt(text);
  if (amount === 0n || amount > MAX_AMOUNT) throw stakingErrors.invalidAmount(`${what} ${text} must be in [1, 2^256)`);
  return amount;
}

export function validatePubkey(pubkey: Uint8Array, what: string): void {
  if (pubkey.length !== 32) throw stakingErrors.invalidPubkey(`${what} has ${pubkey.length} bytes, expected 32`);
}

export function validateMoniker(moniker: string): void {
  if (moniker.length === 0 || moniker.length > MAX_MONIKER_LENGTH || moniker.trim() !== moniker || /[\u0000-\u001f\u007f]/.test(moniker)) {
    throw stakingErrors.invalidMoniker(`moniker ${JSON.stringify(moniker)} must be 1-${MAX_MONIKER_LENGTH} printable characters without surrounding spaces`);
  }
}

export function validateBackend(backend: BackendClass): void {
  if (backend !== BackendClass.BACKEND_CLASS_WEBGPU && backend !== BackendClass.BACKEND_CLASS_CPU) {
    throw stakingErrors.invalidBackend(`backend ${backend} is neither webgpu nor cpu`);
  }
}

export function validateGpuArch(gpuArch: string): void {
  if (gpuArch.length > MAX_GPU_ARCH_LENGTH || !GPU_ARCH.test(gpuArch)) {
    throw stakingErrors.invalidGpuArch(`gpu arch ${JSON.stringify(gpuArch)} must be 1-${MAX_GPU_ARCH_LENGTH} characters of [A-Za-z0-9._+-]`);
  }
}

function checkSlash(numerator: bigint, denominator: bigint, reason: string): void {
  if (denominator <= 0n || numerator < 0n || numerator > denominator) {
    throw stakingErrors.invalidSlash(`fraction ${numerator}/${denominator} must satisfy 0 ≤ numerator ≤ denominator, denominator > 0`);
  }
  if (reason.length === 0 || reason.length > MAX_SLASH_REASON_LENGTH) {
    throw stakingErrors.invalidSlash(`reason must be 1-${MAX_SLASH_REASON_LENGTH} characters`);
  }
}

/** Read-only layer: everything other modules (training, verification, rewards, governance, randomness) need. */
export class StakingViewKeeper {
  static readonly storePrefix = utf8('staking/');

  protected view(store: KVStore): KVStore {
    return prefixStore(store, StakingViewKeeper.storePrefix);
  }

  getParams(store: KVStore): Params {
    const raw = this.view(store).get(keys.params);
    return raw === undefined ? Params.fromPartial(defaultStakingParams) : Params.decode(raw);
  }

  params(store: KVStore): StakingParams {
    return resolveStakingParams(this.getParams(store));
  }

  validator(store: KVStore, operator: Uint8Array): Validator | undefined {
    const raw = this.view(store).get(keys.validator(operator));
    return raw === undefined ? undefined : Validator.decode(raw);
  }

  /** Every validator, bonded or not, in address order. */
  *validators(store: KVStore): IterableIterator<Validator> {
    for (const [, value] of this.view(store).iterate(keys.validatorPrefix)) yield Validator.decode(value);
  }

  /** A page of the validators, bonded or not, in operator address order (key: u8 length ‖ operator). */
  validatorsPage(store: KVStore, page: PageRequest | undefined): Page<Validator> {
    return paginate(underPrefix(this.view(store), keys.validatorPrefix), page, (_, value) => Validator.decode(value), ADDRESS_KEY);
  }

  /** A page of a delegator's delegations, in validator address order (key: u8 length ‖ validator). */
  delegationsByPage(store: KVStore, delegator: Uint8Array, page: PageRequest | undefined): Page<Delegation> {
    return paginate(underPrefix(this.view(store), keys.delegatorPrefix(delegator)), page, (_, value) => Delegation.decode(value), ADDRESS_KEY);
  }

  /** A page of the delegations to a validator, in delegator address order (key: u8 length ‖ delegator). */
  delegationsToPage(store: KVStore, validator: Uint8Array, page: PageRequest | undefined): Page<DelegationInfo> {
    return paginate(underPrefix(this.view(store), keys.byValidatorPrefix(validator)), page, (key) => {
      const delegation = this.delegation(store, key.slice(1), validator);
      if (delegation === undefined) throw new Error('staking state: delegation index without delegation');
      return delegation;
    }, ADDRESS_KEY);
  }

  /** A page of one delegator's unbonding entries, by id (key: u64be id; a scan of all entries, filtered). */
  unbondingEntriesPage(store: KVStore, delegatorAddress: string, page: PageRequest | undefined): Page<UnbondingEntry> {
    return paginate(underPrefix(this.view(store), keys.unbondingPrefix), page, (_, value) => {
      const entry = UnbondingEntry.decode(value);
      return entry.delegatorAddress === delegatorAddress ? entry : undefined;
    }, { keyLength: 8, keyMeaning: 'a u64be unbonding id' });
  }

  /** A page of the miners, in address order (key: u8 length ‖ miner). */
  minersPage(store: KVStore, page: PageRequest | undefined): Page<Miner> {
    return paginate(underPrefix(this.view(store), keys.minerPrefix), page, (_, value) => Miner.decode(value), ADDRESS_KEY);
  }

  /**
   * MsgSetContentLocations: replaces where `owner`'s content can be fetched (an empty list
   * removes the entry). Only registered miners (any stake, jailed or not) and validators announce:
   * the entry is operator metadata, bounded in size (content-locations.ts).
   */
  setContentLocations(ctx: Context, owner: Uint8Array, locations: readonly string[]): void {
    validateContentLocations(locations);
    const ownerAddress = encodeAddress(owner);
    if (this.minerRecord(ctx.store, owner) === undefined && this.validator(ctx.store, owner) === undefined) {
      throw stakingErrors.notAnOperator(`${ownerAddress} is neither a registered miner nor a validator`);
    }
    const view = this.view(ctx.store);
    if (locations.length === 0) view.delete(keys.contentLocations(owner));
    else view.set(keys.contentLocations(owner), ContentLocations.encode({ address: ownerAddress, locations: [...locations] }).finish());
    ctx.events.emit('set_content_locations', [['owner', ownerAddress], ['locations', locations.join(' '), false]]);
  }

  genesisContentLocations(store: KVStore, entry: ContentLocations): void {
    this.view(store).set(keys.contentLocations(decodeAddress(entry.address)), ContentLocations.encode(entry).finish());
  }

  contentLocations(store: KVStore, owner: Uint8Array): ContentLocations | undefined {
    const raw = this.view(store).get(keys.contentLocations(owner));
    return raw === undefined ? undefined : ContentLocations.decode(raw);
  }

  *allContentLocations(store: KVStore): IterableIterator<ContentLocations> {
    for (const [, value] of this.view(store).iterate(keys.contentLocationsPrefix)) yield ContentLocations.decode(value);
  }

  /** A page of every announced content location list, in owner address order. */
  contentLocationsPage(store: KVStore, page: PageRequest | undefined): Page<ContentLocations> {
    return paginate(underPrefix(this.view(store), keys.contentLocationsPrefix), page, (_, value) => ContentLocations.decode(value), ADDRESS_KEY);
  }

  /** The validator whose consensus key has this CometBFT address (a block's proposer). */
  validatorByConsensusAddress(store: KVStore, address: Uint8Array): Validator | undefined {
    const operator = this.view(store).get(keys.consensusAddress(address));
    return operator === undefined ? undefined : this.validator(store, operator);
  }

  /** The voting power last sent to CometBFT (0 when none). */
  lastPower(store: KVStore, operator: Uint8Array): bigint {
    const raw = this.view(store).get(keys.lastPower(operator));
    return raw === undefined ? 0n : LastValidatorPower.decode(raw).power;
  }

  /** Validators CometBFT has with power > 0, in address order, with their stake. */
  bondedValidators(store: KVStore): BondedValidator[] {
    const bonded: BondedValidator[] = [];
    for (const [, value] of this.view(store).iterate(keys.lastPowerPrefix)) {
      const last = LastValidatorPower.decode(value);
      const operator = decodeAddress(last.operatorAddress);
      const validator = this.validator(store, operator);
      if (validator === undefined) throw new Error(`staking state: power without validator ${last.operatorAddress}`);
      bonded.push({
        operator, operatorAddress: validator.operatorAddress, consensusPubkey: validator.consensusPubkey, vrfPubkey: validator.vrfPubkey,
        tokens: BigInt(validator.tokens), power: last.power, commissionRate: parseRate(validator.commissionRate, 'commission'),
      });
    }
    return bonded;
  }

  /** Sum of the stake of bonded validators. */
  totalBonded(store: KVStore): bigint {
    let total = 0n;
    for (const validator of this.bondedValidators(store)) total += validator.tokens;
    return total;
  }

  /** Bonded validators as stake-weighted draw candidates (id = bech32 operator address, stake = tokens). */
  validatorCandidates(store: KVStore): Candidate[] {
    return this.bondedValidators(store).map((validator) => ({ id: validator.operatorAddress, stake: validator.tokens }));
  }

  delegation(store: KVStore, delegator: Uint8Array, validator: Uint8Array): DelegationInfo | undefined {
    const raw = this.view(store).get(keys.delegation(delegator, validator));
    return raw === undefined ? undefined : { delegator, validator, amount: BigInt(Delegation.decode(raw).amount) };
  }

  /** Delegations to one validator, in delegator address order. */
  delegationsTo(store: KVStore, validator: Uint8Array): DelegationInfo[] {
    const prefix = keys.byValidatorPrefix(validator);
    const out: DelegationInfo[] = [];
    for (const [key] of this.view(store).iterate(prefix)) {
      const delegator = key.slice(prefix.length + 1);
      const delegation = this.delegation(store, delegator, validator);
      if (delegation === undefined) throw new Error('staking state: delegation index without delegation');
      out.push(delegation);
    }
    return out;
  }

  /** Delegations of one delegator, in validator address order. */
  delegationsBy(store: KVStore, delegator: Uint8Array): Delegation[] {
    return [...this.view(store).iterate(keys.delegatorPrefix(delegator))].map(([, value]) => Delegation.decode(value));
  }

  *allDelegations(store: KVStore): IterableIterator<Delegation> {
    for (const [, value] of this.view(store).iterate(keys.delegationPrefix)) yield Delegation.decode(value);
  }

  /** Unbonding entries, ascending by id. */
  *unbondingEntries(store: KVStore): IterableIterator<UnbondingEntry> {
    for (const [, value] of this.view(store).iterate(keys.unbondingPrefix)) yield UnbondingEntry.decode(value);
  }

  nextUnbondingId(store: KVStore): bigint {
    const raw = this.view(store).get(keys.nextUnbondingId);
    return raw === undefined ? 0n : readU64be(raw);
  }

  miner(store: KVStore, address: Uint8Array): MinerInfo | undefined {
    const miner = this.minerRecord(store, address);
    return miner === undefined ? undefined : minerInfo(address, miner);
  }

  /** The stored miner record (also for a miner that unbonded everything: stake "0"). */
  minerRecord(store: KVStore, address: Uint8Array): Miner | undefined {
    const raw = this.view(store).get(keys.miner(address));
    return raw === undefined ? undefined : Miner.decode(raw);
  }

  *miners(store: KVStore): IterableIterator<Miner> {
    for (const [, value] of this.view(store).iterate(keys.minerPrefix)) yield Miner.decode(value);
  }

  /** Miners that may submit work: not jailed and stake ≥ min_miner_stake, in address order. */
  activeMiners(store: KVStore): MinerInfo[] {
    const { minMinerStake } = this.params(store);
    const active: MinerInfo[] = [];
    for (const miner of this.miners(store)) {
      const info = minerInfo(decodeAddress(miner.address), miner);
      if (!info.jailed && info.stake >= minMinerStake) active.push(info);
    }
    return active;
  }

  /** Active miners as stake-weighted draw candidates. */
  minerCandidates(store: KVStore): Candidate[] {
    return this.activeMiners(store).map((miner) => ({ id: miner.minerAddress, stake: miner.stake }));
  }
}

function minerInfo(address: Uint8Array, miner: Miner): MinerInfo {
  return {
    address, minerAddress: miner.address, stake: BigInt(miner.stake), backend: miner.backend, gpuArch: miner.gpuArch,
    jailed: miner.jailed, jailedUntil: miner.jailedUntil, registeredHeight: miner.registeredHeight,
  };
}

export interface CreateValidatorInput {
  operator: Uint8Array;
  consensusPubkey: Uint8Array;
  vrfPubkey: Uint8Array;
  moniker: string;
  commissionRate: string;
  selfStake: bigint;
}

export interface RegisterMinerInput {
  miner: Uint8Array;
  stake: bigint;
  backend: BackendClass;
  gpuArch: string;
}

export interface UnbondingStarted {
  unbondingId: bigint;
  completionHeight: bigint;
}

/** Full layer: messages, slashing, unbonding maturity and validator updates. */
export class StakingKeeper extends StakingViewKeeper {
  constructor(private readonly bank: StakingBankKeeper) {
    super();
  }

  setParams(store: KVStore, params: Params): void {
    resolveStakingParams(params);
    this.view(store).set(keys.params, Params.encode(params).finish());
  }

  setValidator(store: KVStore, validator: Validator): void {
    this.view(store).set(keys.validator(decodeAddress(validator.operatorAddress)), Validator.encode(validator).finish());
  }

  createValidator(ctx: Context, input: CreateValidatorInput): void {
    const params = this.params(ctx.store);
    const view = this.view(ctx.store);
    validatePubkey(input.consensusPubkey, 'consensus pubkey');
    validatePubkey(input.vrfPubkey, 'VRF pubkey');
    validateMoniker(input.moniker);
    const rate = parseRate(input.commissionRate, 'commission rate');
    if (!fractionAtMost(rate, params.maxCommissionRate)) {
      throw stakingErrors.invalidCommission(`commission rate ${input.commissionRate} is above max_commission_rate`);
    }
    if (this.validator(ctx.store, input.operator) !== undefined) throw stakingErrors.validatorExists(encodeAddress(input.operator));
    if (view.has(keys.consensusAddress(consensusAddress(input.consensusPubkey)))) throw stakingErrors.pubkeyInUse('consensus pubkey');
    if (view.has(keys.vrfKey(input.vrfPubkey))) throw stakingErrors.pubkeyInUse('VRF pubkey');
    if (input.selfStake < params.minSelfStake) throw stakingErrors.selfStakeTooLow(`self-stake ${input.selfStake} < ${params.minSelfStake}`);

    this.bank.send(ctx.store, ctx.events, input.operator, BONDED_POOL, [{ denom: params.bondDenom, amount: input.selfStake }]);
    const operatorAddress = encodeAddress(input.operator);
    this.setValidator(ctx.store, {
      operatorAddress, consensusPubkey: Buffer.from(input.consensusPubkey), vrfPubkey: Buffer.from(input.vrfPubkey),
      moniker: input.moniker, commissionRate: input.commissionRate, tokens: '0', jailed: false, jailedUntil: 0n, createdHeight: ctx.height,
    });
    view.set(keys.consensusAddress(consensusAddress(input.consensusPubkey)), input.operator);
    view.set(keys.vrfKey(input.vrfPubkey), input.operator);
    this.addDelegation(ctx.store, input.operator, input.operator, input.selfStake);
    ctx.events.emit('create_validator', [
      ['validator', operatorAddress], ['moniker', input.moniker, false], ['commission_rate', input.commissionRate, false],
      ['amount', `${input.selfStake}${params.bondDenom}`, false],
    ]);
  }

  delegate(ctx: Context, delegator: Uint8Array, validatorOperator: Uint8Array, amount: bigint): void {
    const params = this.params(ctx.store);
    this.requireValidator(ctx.store, validatorOperator);
    if (amount <= 0n) throw stakingErrors.invalidAmount('delegation must be positive');
    this.bank.send(ctx.store, ctx.events, delegator, BONDED_POOL, [{ denom: params.bondDenom, amount }]);
    this.addDelegation(ctx.store, delegator, validatorOperator, amount);
    ctx.events.emit('delegate', [
      ['validator', encodeAddress(validatorOperator)], ['delegator', encodeAddress(delegator)], ['amount', `${amount}${params.bondDenom}`, false],
    ]);
  }

  undelegate(ctx: Context, delegator: Uint8Array, validatorOperator: Uint8Array, amount: bigint): UnbondingStarted {
    const params = this.params(ctx.store);
    const validator = this.requireValidator(ctx.store, validatorOperator);
    if (amount <= 0n) throw stakingErrors.invalidAmount('undelegation must be positive');
    const delegation = this.delegation(ctx.store, delegator, validatorOperator);
    if (delegation === undefined) throw stakingErrors.delegationNotFound(`${encodeAddress(delegator)} to ${validator.operatorAddress}`);
    if (amount > delegation.amount) throw stakingErrors.insufficientDelegation(`${amount} > delegated ${delegation.amount}`);

    this.setDelegationAmount(ctx.store, delegator, validatorOperator, delegation.amount - amount);
    const updated = validator;
    updated.tokens = (BigInt(updated.tokens) - amount).toString();
    // An operator whose self-delegation drops below the minimum is jailed, as in the Cosmos SDK.
    if (bytesEqual(delegator, validatorOperator) && !updated.jailed && delegation.amount - amount < params.minSelfStake) {
      updated.jailed = true;
      updated.jailedUntil = ctx.height;
      ctx.events.emit('jail', [['validator', updated.operatorAddress], ['reason', 'self_stake_below_min'], ['jailed_until', ctx.height.toString(), false]]);
    }
    this.setValidator(ctx.store, updated);
    const started = this.startUnbonding(ctx, delegator, updated.operatorAddress, UnbondingKind.UNBONDING_KIND_DELEGATION, amount, params);
    ctx.events.emit('unbond', [
      ['validator', updated.operatorAddress], ['delegator', encodeAddress(delegator)], ['amount', `${amount}${params.bondDenom}`, false],
      ['unbonding_id', started.unbondingId.toString()], ['completion_height', started.completionHeight.toString(), false],
    ]);
    return started;
  }

  unjail(ctx: Context, operator: Uint8Array): void {
    const params = this.params(ctx.store);
    const validator = this.requireValidator(ctx.store, operator);
    if (!validator.jailed) throw stakingErrors.notJailed(`validator ${validator.operatorAddress}`);
    if (ctx.height < validator.jailedUntil) throw stakingErrors.jailPeriodActive(`validator ${validator.operatorAddress} may unjail at height ${validator.jailedUntil}`);
    const self = this.delegation(ctx.store, operator, operator)?.amount ?? 0n;
    if (self < params.minSelfStake) throw stakingErrors.selfStakeTooLow(`self-stake ${self} < ${params.minSelfStake}`);
    validator.jailed = false;
    validator.jailedUntil = 0n;
    this.setValidator(ctx.store, validator);
    ctx.events.emit('unjail', [['validator', validator.operatorAddress]]);
  }

  registerMiner(ctx: Context, input: RegisterMinerInput): void {
    const params = this.params(ctx.store);
    validateBackend(input.backend);
    validateGpuArch(input.gpuArch);
    const existing = this.miner(ctx.store, input.miner);
    if (existing !== undefined && existing.jailed) throw stakingErrors.minerJailed(existing.minerAddress);
    if (existing !== undefined && existing.stake > 0n) throw stakingErrors.minerExists(existing.minerAddress);
    if (input.stake < params.minMinerStake) throw stakingErrors.minerStakeTooLow(`stake ${input.stake} < ${params.minMinerStake}`);
    this.bank.send(ctx.store, ctx.events, input.miner, BONDED_POOL, [{ denom: params.bondDenom, amount: input.stake }]);
    const minerAddress = encodeAddress(input.miner);
    this.setMiner(ctx.store, {
      address: minerAddress, stake: input.stake.toString(), backend: input.backend, gpuArch: input.gpuArch,
      jailed: false, jailedUntil: 0n, registeredHeight: ctx.height,
    });
    ctx.events.emit('register_miner', [
      ['miner', minerAddress], ['backend', backendName(input.backend)], ['gpu_arch', input.gpuArch],
      ['stake', `${input.stake}${params.bondDenom}`, false],
    ]);
  }

  addMinerStake(ctx: Context, address: Uint8Array, amount: bigint): void {
    const params = this.params(ctx.store);
    const miner = this.requireMiner(ctx.store, address);
    if (amount <= 0n) throw stakingErrors.invalidAmount('stake must be positive');
    this.bank.send(ctx.store, ctx.events, address, BONDED_POOL, [{ denom: params.bondDenom, amount }]);
    miner.stake = (BigInt(miner.stake) + amount).toString();
    this.setMiner(ctx.store, miner);
    ctx.events.emit('add_miner_stake', [['miner', miner.address], ['amount', `${amount}${params.bondDenom}`, false], ['stake', miner.stake, false]]);
  }

  unbondMiner(ctx: Context, address: Uint8Array, amount: bigint): UnbondingStarted {
    const params = this.params(ctx.store);
    const miner = this.requireMiner(ctx.store, address);
    if (amount <= 0n) throw stakingErrors.invalidAmount('unbonding must be positive');
    const stake = BigInt(miner.stake);
    if (amount > stake) throw stakingErrors.insufficientMinerStake(`${amount} > stake ${stake}`);
    const remaining = stake - amount;
    if (remaining !== 0n && remaining < params.minMinerStake) {
      throw stakingErrors.minerStakeTooLow(`remaining stake ${remaining} < ${params.minMinerStake} (unbond all of it to leave)`);
    }
    miner.stake = remaining.toString();
    this.setMiner(ctx.store, miner);
    this.bank.send(ctx.store, ctx.events, BONDED_POOL, UNBONDING_POOL, [{ denom: params.bondDenom, amount }]);
    const started = this.queueUnbonding(ctx, address, '', UnbondingKind.UNBONDING_KIND_MINER, amount, params);
    ctx.events.emit('unbond_miner', [
      ['miner', miner.address], ['amount', `${amount}${params.bondDenom}`, false],
      ['unbonding_id', started.unbondingId.toString()], ['completion_height', started.completionHeight.toString(), false],
    ]);
    return started;
  }

  unjailMiner(ctx: Context, address: Uint8Array): void {
    const params = this.params(ctx.store);
    const miner = this.requireMiner(ctx.store, address, true);
    if (!miner.jailed) throw stakingErrors.notJailed(`miner ${miner.address}`);
    if (ctx.height < miner.jailedUntil) throw stakingErrors.jailPeriodActive(`miner ${miner.address} may unjail at height ${miner.jailedUntil}`);
    if (BigInt(miner.stake) < params.minMinerStake) throw stakingErrors.minerStakeTooLow(`stake ${miner.stake} < ${params.minMinerStake}`);
    miner.jailed = false;
    miner.jailedUntil = 0n;
    this.setMiner(ctx.store, miner);
    ctx.events.emit('unjail_miner', [['miner', miner.address]]);
  }

  /**
   * Slashes `numerator/denominator` of a validator's stake: every delegation to it and every
   * unbonding entry from it loses floor(amount × numerator / denominator), and the sum is
   * burned. With `jail`, the validator is jailed for `jail_blocks` (power 0 from this block's
   * end). Returns the amount burned. A zero numerator only jails.
   */
  slashValidator(ctx: Context, operator: Uint8Array, numerator: bigint, denominator: bigint, reason: string, jail: boolean): bigint {
    checkSlash(numerator, denominator, reason);
    const params = this.params(ctx.store);
    this.requireValidator(ctx.store, operator);
    let bondedCut = 0n;
    for (const delegation of this.delegationsTo(ctx.store, operator)) {
      const cut = (delegation.amount * numerator) / denominator;
      if (cut === 0n) continue;
      this.setDelegationAmount(ctx.store, delegation.delegator, operator, delegation.amount - cut);
      bondedCut += cut;
    }
    const validator = this.requireValidator(ctx.store, operator);
    validator.tokens = (BigInt(validator.tokens) - bondedCut).toString();
    const unbondingCut = this.slashUnbonding(ctx.store, (entry) => entry.kind === UnbondingKind.UNBONDING_KIND_DELEGATION && entry.validatorAddress === validator.operatorAddress, numerator, denominator);
    if (jail) this.jail(validator, ctx.height + params.jailBlocks);
    this.setValidator(ctx.store, validator);
    this.burn(ctx, params, bondedCut, unbondingCut);
    ctx.events.emit('slash', [
      ['address', validator.operatorAddress], ['role', 'validator'], ['reason', reason], ['fraction', `${numerator}/${denominator}`, false],
      ['burned', `${bondedCut + unbondingCut}${params.bondDenom}`, false], ['jailed', String(validator.jailed)],
    ]);
    return bondedCut + unbondingCut;
  }

  /** As slashValidator, for a miner's stake and its unbonding entries; `jail` sets the jailed-from-mining flag. */
  slashMiner(ctx: Context, address: Uint8Array, numerator: bigint, denominator: bigint, reason: string, jail: boolean): bigint {
    checkSlash(numerator, denominator, reason);
    const params = this.params(ctx.store);
    const miner = this.requireMiner(ctx.store, address, true);
    const stake = BigInt(miner.stake);
    const bondedCut = (stake * numerator) / denominator;
    miner.stake = (stake - bondedCut).toString();
    const unbondingCut = this.slashUnbonding(ctx.store, (entry) => entry.kind === UnbondingKind.UNBONDING_KIND_MINER && entry.delegatorAddress === miner.address, numerator, denominator);
    if (jail) {
      miner.jailed = true;
      const until = ctx.height + params.jailBlocks;
      if (until > miner.jailedUntil) miner.jailedUntil = until;
    }
    this.setMiner(ctx.store, miner);
    this.burn(ctx, params, bondedCut, unbondingCut);
    ctx.events.emit('slash', [
      ['address', miner.address], ['role', 'miner'], ['reason', reason], ['fraction', `${numerator}/${denominator}`, false],
      ['burned', `${bondedCut + unbondingCut}${params.bondDenom}`, false], ['jailed', String(miner.jailed)],
    ]);
    return bondedCut + unbondingCut;
  }

  /** Pays out unbonding entries whose completion height has been reached (endBlock). */
  matureUnbondings(ctx: Context): void {
    const params = this.params(ctx.store);
    const view = this.view(ctx.store);
    const due: Array<[Uint8Array, bigint]> = [];
    for (const [key] of view.iterate(keys.queuePrefix)) {
      const completionHeight = readU64be(key.slice(keys.queuePrefix.length, keys.queuePrefix.length + 8));
      if (completionHeight > ctx.height) break;
      due.push([key, readU64be(key.slice(keys.queuePrefix.length + 8))]);
    }
    for (const [queueKey, id] of due) {
      const raw = view.get(keys.unbonding(id));
      if (raw === undefined) throw new Error(`staking state: queued unbonding ${id} missing`);
      const entry = UnbondingEntry.decode(raw);
      view.delete(queueKey);
      view.delete(keys.unbonding(id));
      const amount = BigInt(entry.amount);
      if (amount > 0n) this.bank.send(ctx.store, ctx.events, UNBONDING_POOL, decodeAddress(entry.delegatorAddress), [{ denom: params.bondDenom, amount }]);
      ctx.events.emit('complete_unbonding', [
        ['delegator', entry.delegatorAddress], ['validator', entry.validatorAddress], ['unbonding_id', id.toString()],
        ['amount', `${amount}${params.bondDenom}`, false],
      ]);
    }
  }

  /**
   * The voting power every validator should have now: not jailed, power = tokens /
   * power_reduction ≥ 1, the top max_validators by (power desc, address asc). Keyed by the hex
   * of the operator's store key so that sorting the keys gives address order.
   */
  computePowers(store: KVStore): Map<string, { validator: Validator; power: bigint }> {
    const params = this.params(store);
    const candidates: Array<{ key: string; validator: Validator; power: bigint }> = [];
    for (const validator of this.validators(store)) {
      if (validator.jailed) continue;
      let power = BigInt(validator.tokens) / params.powerReduction;
      if (power > MAX_VALIDATOR_POWER) power = MAX_VALIDATOR_POWER;
      if (power === 0n) continue;
      candidates.push({ key: toHex(keys.lastPower(decodeAddress(validator.operatorAddress))), validator, power });
    }
    // Candidates arrive in address order; a stable sort by power keeps that order among equals.
    candidates.sort((a, b) => (a.power === b.power ? 0 : a.power > b.power ? -1 : 1));
    return new Map(candidates.slice(0, params.maxValidators).map(({ key, validator, power }) => [key, { validator, power }]));
  }

  /**
   * Compares the wanted powers with those last sent to CometBFT, records the new ones and
   * returns the changes (power 0 removes a validator), in operator address order.
   */
  applyValidatorUpdates(ctx: Context): ValidatorUpdate[] {
    const view = this.view(ctx.store);
    const wanted = this.computePowers(ctx.store);
    const changes = new Map<string, { operator: Uint8Array; pubkey: Uint8Array; address: string; power: bigint }>();
    for (const [key, value] of view.iterate(keys.lastPowerPrefix)) {
      const last = LastValidatorPower.decode(value);
      const hex = toHex(key);
      if (wanted.has(hex)) continue;
      const operator = decodeAddress(last.operatorAddress);
      const validator = this.requireValidator(ctx.store, operator);
      changes.set(hex, { operator, pubkey: validator.consensusPubkey, address: last.operatorAddress, power: 0n });
    }
    for (const [hex, { validator, power }] of wanted) {
      const operator = decodeAddress(validator.operatorAddress);
      if (this.lastPower(ctx.store, operator) === power) continue;
      changes.set(hex, { operator, pubkey: validator.consensusPubkey, address: validator.operatorAddress, power });
    }
    const updates: ValidatorUpdate[] = [];
    for (const hex of [...changes.keys()].sort()) {
      const change = changes.get(hex)!;
      this.setLastPower(ctx.store, change.operator, change.power);
      updates.push({ pubKey: { ed25519: new Uint8Array(change.pubkey) }, power: change.power });
      ctx.events.emit('validator_power', [['validator', change.address], ['power', change.power.toString(), false]]);
    }
    return updates;
  }

  /** endBlock: unbondings mature first, then the validator set is brought up to date. */
  endBlock(ctx: Context): ValidatorUpdate[] {
    this.matureUnbondings(ctx);
    return this.applyValidatorUpdates(ctx);
  }

  // ---- genesis helpers (no events, no bank moves: genesis balances are the bank's) ----

  setLastPower(store: KVStore, operator: Uint8Array, power: bigint): void {
    if (power === 0n) this.view(store).delete(keys.lastPower(operator));
    else this.view(store).set(keys.lastPower(operator), LastValidatorPower.encode({ operatorAddress: encodeAddress(operator), power }).finish());
  }

  genesisValidator(store: KVStore, validator: Validator): void {
    const operator = decodeAddress(validator.operatorAddress);
    const view = this.view(store);
    if (view.has(keys.consensusAddress(consensusAddress(validator.consensusPubkey))) || view.has(keys.vrfKey(validator.vrfPubkey))) {
      throw stakingErrors.pubkeyInUse(`genesis validator ${validator.operatorAddress}`);
    }
    this.setValidator(store, validator);
    view.set(keys.consensusAddress(consensusAddress(validator.consensusPubkey)), operator);
    view.set(keys.vrfKey(validator.vrfPubkey), operator);
  }

  genesisDelegation(store: KVStore, delegator: Uint8Array, validator: Uint8Array, amount: bigint): void {
    this.setDelegationAmount(store, delegator, validator, amount);
  }

  genesisUnbonding(store: KVStore, entry: UnbondingEntry): void {
    this.view(store).set(keys.unbonding(entry.id), UnbondingEntry.encode(entry).finish());
    this.view(store).set(keys.queue(entry.completionHeight, entry.id), new Uint8Array());
  }

  setNextUnbondingId(store: KVStore, next: bigint): void {
    this.view(store).set(keys.nextUnbondingId, u64be(next));
  }

  setMiner(store: KVStore, miner: Miner): void {
    this.view(store).set(keys.miner(decodeAddress(miner.address)), Miner.encode(miner).finish());
  }

  // ---- internals ----

  private requireValidator(store: KVStore, operator: Uint8Array): Validator {
    const validator = this.validator(store, operator);
    if (validator === undefined) throw stakingErrors.validatorNotFound(encodeAddress(operator));
    return validator;
  }

  /** A registered miner; one that left (stake 0) counts as not found unless `includeEmpty`. */
  private requireMiner(store: KVStore, address: Uint8Array, includeEmpty = false): Miner {
    const miner = this.minerRecord(store, address);
    if (miner === undefined || (!includeEmpty && miner.stake === '0')) throw stakingErrors.minerNotFound(encodeAddress(address));
    return miner;
  }

  private addDelegation(store: KVStore, delegator: Uint8Array, validatorOperator: Uint8Array, amount: bigint): void {
    const current = this.delegation(store, delegator, validatorOperator)?.amount ?? 0n;
    this.setDelegationAmount(store, delegator, validatorOperator, current + amount);
    const validator = this.requireValidator(store, validatorOperator);
    validator.tokens = (BigInt(validator.tokens) + amount).toString();
    this.setValidator(store, validator);
  }

  /** Writes a delegation and its by-validator index; amount 0 deletes both. Does not touch validator tokens. */
  private setDelegationAmount(store: KVStore, delegator: Uint8Array, validatorOperator: Uint8Array, amount: bigint): void {
    const view = this.view(store);
    if (amount === 0n) {
      view.delete(keys.delegation(delegator, validatorOperator));
      view.delete(keys.byValidator(validatorOperator, delegator));
      return;
    }
    const delegation: Delegation = { delegatorAddress: encodeAddress(delegator), validatorAddress: encodeAddress(validatorOperator), amount: amount.toString() };
    view.set(keys.delegation(delegator, validatorOperator), Delegation.encode(delegation).finish());
    view.set(keys.byValidator(validatorOperator, delegator), new Uint8Array());
  }

  private startUnbonding(ctx: Context, delegator: Uint8Array, validatorAddress: string, kind: UnbondingKind, amount: bigint, params: StakingParams): UnbondingStarted {
    this.bank.send(ctx.store, ctx.events, BONDED_POOL, UNBONDING_POOL, [{ denom: params.bondDenom, amount }]);
    return this.queueUnbonding(ctx, delegator, validatorAddress, kind, amount, params);
  }

  private queueUnbonding(ctx: Context, delegator: Uint8Array, validatorAddress: string, kind: UnbondingKind, amount: bigint, params: StakingParams): UnbondingStarted {
    const unbondingId = this.nextUnbondingId(ctx.store);
    this.setNextUnbondingId(ctx.store, unbondingId + 1n);
    const completionHeight = ctx.height + params.unbondingBlocks;
    this.genesisUnbonding(ctx.store, {
      id: unbondingId, delegatorAddress: encodeAddress(delegator), validatorAddress, kind, amount: amount.toString(),
      creationHeight: ctx.height, completionHeight,
    });
    return { unbondingId, completionHeight };
  }

  /** Cuts floor(amount × n / d) from every matching unbonding entry; returns the sum cut. */
  private slashUnbonding(store: KVStore, matches: (entry: UnbondingEntry) => boolean, numerator: bigint, denominator: bigint): bigint {
    let total = 0n;
    const view = this.view(store);
    const changed: UnbondingEntry[] = [];
    for (const entry of this.unbondingEntries(store)) {
      if (!matches(entry)) continue;
      const amount = BigInt(entry.amount);
      const cut = (amount * numerator) / denominator;
      if (cut === 0n) continue;
      changed.push({ ...entry, amount: (amount - cut).toString() });
      total += cut;
    }
    for (const entry of changed) view.set(keys.unbonding(entry.id), UnbondingEntry.encode(entry).finish());
    return total;
  }

  private jail(validator: Validator, until: bigint): void {
    validator.jailed = true;
    if (until > validator.jailedUntil) validator.jailedUntil = until;
  }

  private burn(ctx: Context, params: StakingParams, bondedCut: bigint, unbondingCut: bigint): void {
    if (bondedCut > 0n) this.bank.burn(ctx.store, ctx.events, BONDED_POOL, [{ denom: params.bondDenom, amount: bondedCut }]);
    if (unbondingCut > 0n) this.bank.burn(ctx.store, ctx.events, UNBONDING_POOL, [{ denom: params.bondDenom, amount: unbondingCut }]);
  }
}

export function backendName(backend: BackendClass): string {
  return backend === BackendClass.BACKEND_CLASS_WEBGPU ? 'webgpu' : backend === BackendClass.BACKEND_CLASS_CPU ? 'cpu' : 'unspecified';
}

export function parseBackend(name: string): BackendClass {
  if (name === 'webgpu') return BackendClass.BACKEND_CLASS_WEBGPU;
  if (name === 'cpu') return BackendClass.BACKEND_CLASS_CPU;
  throw stakingErrors.invalidBackend(`backend "${name}" is neither webgpu nor cpu`);
}
