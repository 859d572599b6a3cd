import type { AppModule, ModuleParams } from '../../app/core/module.ts';
import type { KVStore } from '../../app/core/store/types.ts';
import { decodeAddress, encodeAddress } from '../../app/core/address.ts';
import { amountTextProblem } from '../../app/core/coins.ts';
import { GenesisState } from '../../proto/gen/r3mes/staking/v1/genesis.ts';
import {
  QueryDelegationRequest, QueryDelegationResponse, QueryDelegatorDelegationsRequest, QueryDelegatorDelegationsResponse,
  QueryAllContentLocationsRequest, QueryAllContentLocationsResponse, QueryContentLocationsRequest, QueryContentLocationsResponse,
  QueryMinerRequest, QueryMinerResponse, QueryMinersRequest, QueryMinersResponse, QueryParamsResponse, QueryPoolResponse, QueryUnbondingRequest,
  QueryUnbondingResponse, QueryValidatorDelegationsRequest, QueryValidatorDelegationsResponse, QueryValidatorRequest,
  QueryValidatorResponse, QueryValidatorsRequest, QueryValidatorsResponse, type ValidatorInfo,
} from '../../proto/gen/r3mes/staking/v1/query.ts';
import { Delegation, Miner, Params, UnbondingKind, type Validator } from '../../proto/gen/r3mes/staking/v1/types.ts';
import { stakingErrors } from './errors.ts';
import type { StakingGenesisBankKeeper } from './expected-keepers.ts';
import {
  BONDED_POOL, compareAddresses, type StakingKeeper, UNBONDING_POOL, validateBackend, validateGpuArch, validateMoniker, validatePubkey,
} from './keeper.ts';
import { stakingMsgHandlers } from './msgs.ts';
import { validateContentLocations } from './content-locations.ts';
import { defaultStakingParams, fractionAtMost, parseRate, resolveStakingParams, stakingParamsFromJson } from './params.ts';

const Q = '/r3mes.staking.v1.Query/';

/** Staking genesis is the generated GenesisState's JSON (camelCase keys, integers as strings). */
export type StakingGenesisJson = unknown;

export function stakingParams(staking: StakingKeeper): ModuleParams {
  return {
    get: (store) => Params.toJSON(staking.getParams(store)),
    set(store, value) {
      const params = stakingParamsFromJson(value);
      // The staked denom is fixed once chosen: stake already bonded is in it.
      const current = staking.getParams(store).bondDenom;
      if (params.bondDenom !== current) throw stakingErrors.invalidParams(`bondDenom cannot change (is "${current}")`);
      const bonded = staking.bondedValidators(store).length;
      staking.setParams(store, params);
      // CometBFT halts on a validator set update that empties the set: keep at least one validator with power.
      if (bonded > 0 && staking.computePowers(store).size === 0) {
        throw stakingErrors.invalidParams(`with powerReduction ${params.powerReduction} no validator would keep voting power (the ${bonded} bonded ones would all be removed from the validator set)`);
      }
    },
  };
}

/**
 * The staking AppModule. `bank` is read at genesis to check that the pool accounts hold
 * exactly the stake the genesis declares (bank's genesis must run first).
 */
export function stakingModule(staking: StakingKeeper, bank: StakingGenesisBankKeeper): AppModule<StakingGenesisJson> {
  const info = (store: KVStore, validator: Validator): ValidatorInfo => ({
    validator, power: staking.lastPower(store, decodeAddress(validator.operatorAddress)),
  });
  return {
    name: 'staking',
    msgs: stakingMsgHandlers(staking),
    params: stakingParams(staking),
    queries: {
      [`${Q}Params`]: (store) => QueryParamsResponse.encode({ params: staking.getParams(store) }).finish(),
      [`${Q}Validator`]: (store, data) => {
        const request = QueryValidatorRequest.decode(data);
        const validator = staking.validator(store, decodeAddress(request.validatorAddress, 'validator_address'));
        if (validator === undefined) throw stakingErrors.validatorNotFound(request.validatorAddress);
        return QueryValidatorResponse.encode({ validator: info(store, validator) }).finish();
      },
      [`${Q}Validators`]: (store, data) => {
        const page = staking.validatorsPage(store, QueryValidatorsRequest.decode(data).pagination);
        return QueryValidatorsResponse.encode({ validators: page.items.map((v) => info(store, v)), pagination: page.pagination }).finish();
      },
      [`${Q}Delegation`]: (store, data) => {
        const request = QueryDelegationRequest.decode(data);
        const delegator = decodeAddress(request.delegatorAddress, 'delegator_address');
        const validator = decodeAddress(request.validatorAddress, 'validator_address');
        const delegation = staking.delegation(store, delegator, validator);
        if (delegation === undefined) throw stakingErrors.delegationNotFound(`${request.delegatorAddress} to ${request.validatorAddress}`);
        return QueryDelegationResponse.encode({
          delegation: { delegatorAddress: request.delegatorAddress, validatorAddress: request.validatorAddress, amount: delegation.amount.toString() },
        }).finish();
      },
      [`${Q}DelegatorDelegations`]: (store, data) => {
        const request = QueryDelegatorDelegationsRequest.decode(data);
        const page = staking.delegationsByPage(store, decodeAddress(request.delegatorAddress, 'delegator_address'), request.pagination);
        return QueryDelegatorDelegationsResponse.encode({ delegations: page.items, pagination: page.pagination }).finish();
      },
      [`${Q}ValidatorDelegations`]: (store, data) => {
        const request = QueryValidatorDelegationsRequest.decode(data);
        const validator = decodeAddress(request.validatorAddress, 'validator_address');
        const page = staking.delegationsToPage(store, validator, request.pagination);
        const delegations: Delegation[] = page.items.map((d) => ({
          delegatorAddress: encodeAddress(d.delegator), validatorAddress: request.validatorAddress, amount: d.amount.toString(),
        }));
        return QueryValidatorDelegationsResponse.encode({ delegations, pagination: page.pagination }).finish();
      },
      [`${Q}Unbonding`]: (store, data) => {
        const request = QueryUnbondingRequest.decode(data);
        decodeAddress(request.delegatorAddress, 'delegator_address');
        const page = staking.unbondingEntriesPage(store, request.delegatorAddress, request.pagination);
        return QueryUnbondingResponse.encode({ entries: page.items, pagination: page.pagination }).finish();
      },
      [`${Q}Miner`]: (store, data) => {
        const request = QueryMinerRequest.decode(data);
        const address = decodeAddress(request.minerAddress, 'miner_address');
        const miner = staking.minerRecord(store, address);
        if (miner === undefined) throw stakingErrors.minerNotFound(request.minerAddress);
        return QueryMinerResponse.encode({ miner }).finish();
      },
      [`${Q}Miners`]: (store, data) => {
        const page = staking.minersPage(store, QueryMinersRequest.decode(data).pagination);
        return QueryMinersResponse.encode({ miners: page.items, pagination: page.pagination }).finish();
      },
      [`${Q}ContentLocations`]: (store, data) => {
        const request = QueryContentLocationsRequest.decode(data);
        const entry = staking.contentLocations(store, decodeAddress(request.address, 'address'));
        return QueryContentLocationsResponse.encode({ entry: entry ?? { address: request.address, locations: [] } }).finish();
      },
      [`${Q}AllContentLocations`]: (store, data) => {
        const page = staking.contentLocationsPage(store, QueryAllContentLocationsRequest.decode(data).pagination);
        return QueryAllContentLocationsResponse.encode({ entries: page.items, pagination: page.pagination }).finish();
      },
      [`${Q}Pool`]: (store) => {
        const denom = staking.getParams(store).bondDenom;
        return QueryPoolResponse.encode({
          bondedPool: bank.balance(store, BONDED_POOL, denom).toString(),
          unbondingPool: bank.balance(store, UNBONDING_POOL, denom).toString(),
          totalBonded: staking.totalBonded(store).toString(),
        }).finish();
      },
    },
    endBlock: (ctx) => staking.endBlock(ctx),
    defaultGenesis: () => GenesisState.toJSON({
      params: Params.fromPartial(defaultStakingParams), validators: [], delegations: [], unbondingEntries: [], miners: [], nextUnbondingId: 0n, contentLocations: [],
    }),
    initGenesis(store, json) {
      initStakingGenesis(staking, bank, store, json);
    },
    exportGenesis(store) {
      return GenesisState.toJSON({
        params: staking.getParams(store),
        validators: [...staking.validators(store)],
        delegations: [...staking.allDelegations(store)],
        unbondingEntries: [...staking.unbondingEntries(store)],
        miners: [...staking.miners(store)],
        nextUnbondingId: staking.nextUnbondingId(store),
        contentLocations: [...staking.allContentLocations(store)],
      });
    },
  };
}

const bad = stakingErrors.invalidGenesis;

function amountOf(text: string, what: string, allowZero: boolean): bigint {
  const problem = amountTextProblem(text, what);
  if (problem !== undefined) throw bad(problem);
  const amount = BigInt(text);
  if (!allowZero && amount === 0n) throw bad(`${what} is zero`);
  return amount;
}

/** Strictly increasing by the given address order: the order export produces. */
function checkSorted(addresses: Uint8Array[][], what: string): void {
  for (let i = 1; i < addresses.length; i++) {
    const [a, b] = [addresses[i - 1], addresses[i]];
    let order = 0;
    for (let j = 0; j < a.length && order === 0; j++) order = compareAddresses(a[j], b[j]);
    if (order >= 0) throw bad(`${what} must be sorted by address and unique`);
  }
}

/**
 * Validates and writes staking genesis. The voting powers last sent to CometBFT are derived
 * from the validators, and InitChain returns no validator updates: CometBFT's own genesis.json
 * must list exactly these validators with these powers (see README, "Genesis").
 */
export function initStakingGenesis(staking: StakingKeeper, bank: StakingGenesisBankKeeper, store: KVStore, json: unknown): void {
  const party = (address: string, what: string): Uint8Array => {
    const raw = decodeAddress(address, what);
    if (bank.isBlocked(raw)) throw bad(`${what} ${address} is a module account (a blocked address)`);
    return raw;
  };
  let genesis: GenesisState;
  try {
    genesis = GenesisState.fromJSON(json);
  } catch (error) {
    throw bad(`does not decode: ${(error as Error).message}`);
  }
  const params = genesis.params ?? Params.fromPartial(defaultStakingParams);
  const resolved = resolveStakingParams(params);
  staking.setParams(store, params);

  const tokens = new Map<string, bigint>();
  checkSorted(genesis.validators.map((v) => [party(v.operatorAddress, 'genesis validator')]), 'validators');
  for (const validator of genesis.validators) {
    validatePubkey(validator.consensusPubkey, `consensus pubkey of ${validator.operatorAddress}`);
    validatePubkey(validator.vrfPubkey, `VRF pubkey of ${validator.operatorAddress}`);
    validateMoniker(validator.moniker);
    if (!fractionAtMost(parseRate(validator.commissionRate, 'commission'), resolved.maxCommissionRate)) {
      throw stakingErrors.invalidCommission(`genesis validator ${validator.operatorAddress}`);
    }
    tokens.set(validator.operatorAddress, amountOf(validator.tokens, `tokens of ${validator.operatorAddress}`, true));
    staking.genesisValidator(store, validator);
  }

  checkSorted(genesis.delegations.map((d) => [party(d.delegatorAddress, 'genesis delegator'), decodeAddress(d.validatorAddress, 'genesis validator')]), 'delegations');
  const delegated = new Map<string, bigint>();
  for (const delegation of genesis.delegations) {
    if (!tokens.has(delegation.validatorAddress)) throw bad(`delegation to unknown validator ${delegation.validatorAddress}`);
    const amount = amountOf(delegation.amount, `delegation of ${delegation.delegatorAddress}`, false);
    delegated.set(delegation.validatorAddress, (delegated.get(delegation.validatorAddress) ?? 0n) + amount);
    staking.genesisDelegation(store, decodeAddress(delegation.delegatorAddress), decodeAddress(delegation.validatorAddress), amount);
  }
  let bonded = 0n;
  for (const [operator, total] of tokens) {
    if ((delegated.get(operator) ?? 0n) !== total) throw bad(`tokens of ${operator} (${total}) differ from its delegations (${delegated.get(operator) ?? 0n})`);
    bonded += total;
  }

  let unbonding = 0n;
  let previousId = -1n;
  for (const entry of genesis.unbondingEntries) {
    if (entry.id <= previousId) throw bad('unbonding entries must be sorted by id and unique');
    previousId = entry.id;
    if (entry.id >= genesis.nextUnbondingId) throw bad(`unbonding id ${entry.id} not below nextUnbondingId`);
    party(entry.delegatorAddress, 'unbonding delegator');
    if (entry.kind === UnbondingKind.UNBONDING_KIND_DELEGATION) {
      if (!tokens.has(entry.validatorAddress)) throw bad(`unbonding entry ${entry.id} from unknown validator`);
    } else if (entry.kind !== UnbondingKind.UNBONDING_KIND_MINER || entry.validatorAddress !== '') {
      throw bad(`unbonding entry ${entry.id} has a bad kind or validator`);
    }
    if (entry.completionHeight < entry.creationHeight) throw bad(`unbonding entry ${entry.id} completes before it starts`);
    unbonding += amountOf(entry.amount, `unbonding entry ${entry.id}`, true);
    staking.genesisUnbonding(store, entry);
  }
  staking.setNextUnbondingId(store, genesis.nextUnbondingId);

  checkSorted(genesis.miners.map((m) => [party(m.address, 'genesis miner')]), 'miners');
  for (const miner of genesis.miners) {
    validateBackend(miner.backend);
    validateGpuArch(miner.gpuArch);
    bonded += amountOf(miner.stake, `stake of miner ${miner.address}`, true);
    staking.setMiner(store, Miner.fromPartial(miner));
  }

  checkSorted(genesis.contentLocations.map((c) => [party(c.address, 'content locations owner')]), 'content locations');
  for (const entry of genesis.contentLocations) {
    try {
      validateContentLocations(entry.locations);
    } catch (error) {
      throw bad(`content locations of ${entry.address}: ${(error as Error).message}`);
    }
    const owner = decodeAddress(entry.address);
    if (entry.locations.length === 0) throw bad(`content locations of ${entry.address}: an empty list is not stored`);
    if (staking.minerRecord(store, owner) === undefined && staking.validator(store, owner) === undefined) {
      throw bad(`content locations of ${entry.address}: neither a genesis miner nor a genesis validator`);
    }
    staking.genesisContentLocations(store, entry);
  }

  // Supply is exact from block 0: the pools hold exactly the stake declared here.
  const bondedBalance = bank.balance(store, BONDED_POOL, resolved.bondDenom);
  const unbondingBalance = bank.balance(store, UNBONDING_POOL, resolved.bondDenom);
  if (bondedBalance !== bonded) throw bad(`bonded pool holds ${bondedBalance}${resolved.bondDenom}, genesis stake sums to ${bonded}`);
  if (unbondingBalance !== unbonding) throw bad(`unbonding pool holds ${unbondingBalance}${resolved.bondDenom}, unbonding entries sum to ${unbonding}`);

  for (const { validator, power } of staking.computePowers(store).values()) {
    staking.setLastPower(store, decodeAddress(validator.operatorAddress), power);
  }
}
