import { pageRequestMessage } from '../../app/core/pagination.ts';
import type { ModuleInterface, QueryRoute, RegistryType, TxCommand } from '../../app/core/module.ts';
import { decodeAddress } from '../../app/core/address.ts';
import {
  MsgAddMinerStake, MsgCreateValidator, MsgDelegate, MsgRegisterMiner, MsgSetContentLocations, MsgUnbondMiner, MsgUndelegate, MsgUnjail, MsgUnjailMiner,
} from '../../proto/gen/r3mes/staking/v1/tx.ts';
import {
  QueryAllContentLocationsRequest, QueryAllContentLocationsResponse, QueryContentLocationsRequest, QueryContentLocationsResponse,
  QueryDelegationRequest, QueryDelegationResponse, QueryDelegatorDelegationsRequest, QueryDelegatorDelegationsResponse,
  QueryMinerRequest, QueryMinerResponse, QueryMinersRequest, QueryMinersResponse, QueryParamsRequest, QueryParamsResponse,
  QueryPoolRequest, QueryPoolResponse, QueryUnbondingRequest, QueryUnbondingResponse, QueryValidatorDelegationsRequest,
  QueryValidatorDelegationsResponse, QueryValidatorRequest, QueryValidatorResponse, QueryValidatorsRequest, QueryValidatorsResponse,
} from '../../proto/gen/r3mes/staking/v1/query.ts';
import { stakingErrors } from './errors.ts';
import { validateContentLocations } from './content-locations.ts';
import { parseBackend, parsePositiveAmount, validatePubkey } from './keeper.ts';

const MSG = '/r3mes.staking.v1.';
const Q = '/r3mes.staking.v1.Query/';
const REST = '/r3mes/staking/v1';

/** "1000" or "1000ur3mes" → "1000" (the bond denom is implied). */
function amountArg(text: string, what: string): string {
  const digits = text.endsWith('ur3mes') ? text.slice(0, -'ur3mes'.length) : text;
  return parsePositiveAmount(digits, what).toString();
}

/** A 32-byte ed25519 key given as 64 hex digits or base64 (as in CometBFT's priv_validator_key.json). */
export function pubkeyArg(text: string, what: string): Uint8Array {
  const bytes = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex')
    : /^[A-Za-z0-9+/]+={0,2}$/.test(text) ? Buffer.from(text, 'base64') : undefined;
  if (bytes === undefined) throw stakingErrors.invalidPubkey(`${what} is neither hex nor base64`);
  validatePubkey(bytes, what);
  return new Uint8Array(bytes);
}

const txs: TxCommand[] = [
  {
    name: 'create-validator',
    description: 'Create a validator with a self-delegation (amount in ur3mes)',
    args: ['consensus-pubkey', 'vrf-pubkey', 'self-stake', 'moniker'],
    options: [{ name: 'commission-rate', description: 'commission, a decimal in [0, 1]', default: '0.05' }],
    typeUrl: `${MSG}MsgCreateValidator`,
    build: (signer, args, options) => ({
      operatorAddress: signer,
      consensusPubkey: pubkeyArg(args['consensus-pubkey'], 'consensus pubkey'),
      vrfPubkey: pubkeyArg(args['vrf-pubkey'], 'VRF pubkey'),
      moniker: args.moniker,
      commissionRate: options['commission-rate'] ?? '0.05',
      selfStake: amountArg(args['self-stake'], 'self-stake'),
    }),
  },
  {
    name: 'delegate', description: 'Delegate stake to a validator', args: ['validator', 'amount'], typeUrl: `${MSG}MsgDelegate`,
    build: (signer, args) => ({ delegatorAddress: signer, validatorAddress: checked(args.validator, 'validator'), amount: amountArg(args.amount, 'amount') }),
  },
  {
    name: 'undelegate', description: 'Start unbonding stake from a validator (paid back after unbonding_blocks)', args: ['validator', 'amount'],
    typeUrl: `${MSG}MsgUndelegate`,
    build: (signer, args) => ({ delegatorAddress: signer, validatorAddress: checked(args.validator, 'validator'), amount: amountArg(args.amount, 'amount') }),
  },
  { name: 'unjail', description: 'Unjail your validator after jail_blocks', args: [], typeUrl: `${MSG}MsgUnjail`, build: (signer) => ({ validatorAddress: signer }) },
  {
    name: 'register-miner', description: 'Register as a miner: stake (ur3mes), backend (webgpu|cpu), GPU architecture', args: ['stake', 'backend', 'gpu-arch'],
    typeUrl: `${MSG}MsgRegisterMiner`,
    build: (signer, args) => ({ minerAddress: signer, stake: amountArg(args.stake, 'stake'), backend: parseBackend(args.backend), gpuArch: args['gpu-arch'] }),
  },
  {
    name: 'add-miner-stake', description: 'Add stake to your miner', args: ['amount'], typeUrl: `${MSG}MsgAddMinerStake`,
    build: (signer, args) => ({ minerAddress: signer, amount: amountArg(args.amount, 'amount') }),
  },
  {
    name: 'unbond-miner', description: 'Unbond miner stake (all of it to stop mining)', args: ['amount'], typeUrl: `${MSG}MsgUnbondMiner`,
    build: (signer, args) => ({ minerAddress: signer, amount: amountArg(args.amount, 'amount') }),
  },
  { name: 'unjail-miner', description: 'Unjail your miner after jail_blocks', args: [], typeUrl: `${MSG}MsgUnjailMiner`, build: (signer) => ({ minerAddress: signer }) },
  {
    name: 'set-content-locations',
    description: 'Announce where your content can be fetched: comma-separated http(s) gateways and Kubo multiaddrs ending /p2p/<peer id> ("" removes them)',
    args: ['locations'],
    typeUrl: `${MSG}MsgSetContentLocations`,
    build: (signer, args) => {
      const locations = args.locations.split(',').map((l) => l.trim()).filter((l) => l !== '');
      validateContentLocations(locations);
      return { owner: signer, locations };
    },
  },
];

function checked(address: string, what: string): string {
  decodeAddress(address, what);
  return address;
}

interface Codec<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(bytes: Uint8Array): T;
  fromPartial(object: never): T;
  toJSON(message: T): unknown;
}

function route<Req, Res>(
  name: string, description: string, args: string[], method: string, rest: string,
  request: Codec<Req>, response: Codec<Res>, build: (args: Readonly<Record<string, string>>) => Partial<Req>,
): QueryRoute {
  return {
    name, description, args, path: `${Q}${method}`, rest: `${REST}${rest}`,
    encodeRequest: (values) => request.encode(request.fromPartial(build(values) as never)).finish(),
    decodeResponse: (bytes) => response.toJSON(response.decode(bytes)),
  };
}

/** A list query: takes `pagination` (Cosmos PageRequest) besides its arguments. */
function list<Req, Res>(
  name: string, description: string, args: string[], method: string, rest: string,
  request: Codec<Req>, response: Codec<Res>, build: (args: Readonly<Record<string, string>>) => Partial<Req>,
): QueryRoute {
  return {
    ...route(name, description, args, method, rest, request, response, build),
    paginated: true,
    encodeRequest: (values, input) => request.encode(request.fromPartial({ ...build(values), pagination: pageRequestMessage(input?.pagination) } as never)).finish(),
  };
}

const queries: QueryRoute[] = [
  route('params', 'Staking parameters', [], 'Params', '/params', QueryParamsRequest, QueryParamsResponse, () => ({})),
  list('validators', 'Validators (bonded or not) with their voting power, by operator address', [], 'Validators', '/validators', QueryValidatorsRequest, QueryValidatorsResponse, () => ({})),
  route('validator', 'One validator with its voting power', ['validator'], 'Validator', '/validators/{validator}', QueryValidatorRequest, QueryValidatorResponse,
    (a) => ({ validatorAddress: checked(a.validator, 'validator') })),
  list('validator-delegations', 'Delegations to a validator', ['validator'], 'ValidatorDelegations', '/validators/{validator}/delegations',
    QueryValidatorDelegationsRequest, QueryValidatorDelegationsResponse, (a) => ({ validatorAddress: checked(a.validator, 'validator') })),
  list('delegations', 'Delegations of a delegator', ['delegator'], 'DelegatorDelegations', '/delegations/{delegator}',
    QueryDelegatorDelegationsRequest, QueryDelegatorDelegationsResponse, (a) => ({ delegatorAddress: checked(a.delegator, 'delegator') })),
  route('delegation', 'One delegation', ['delegator', 'validator'], 'Delegation', '/delegations/{delegator}/{validator}', QueryDelegationRequest, QueryDelegationResponse,
    (a) => ({ delegatorAddress: checked(a.delegator, 'delegator'), validatorAddress: checked(a.validator, 'validator') })),
  list('unbonding', 'Unbonding entries of a delegator or miner', ['delegator'], 'Unbonding', '/unbonding/{delegator}', QueryUnbondingRequest, QueryUnbondingResponse,
    (a) => ({ delegatorAddress: checked(a.delegator, 'delegator') })),
  list('miners', 'Miners, by address', [], 'Miners', '/miners', QueryMinersRequest, QueryMinersResponse, () => ({})),
  route('miner', 'One miner', ['miner'], 'Miner', '/miners/{miner}', QueryMinerRequest, QueryMinerResponse, (a) => ({ minerAddress: checked(a.miner, 'miner') })),
  route('content-locations', 'Where an operator announced its content can be fetched', ['address'], 'ContentLocations', '/content_locations/{address}',
    QueryContentLocationsRequest, QueryContentLocationsResponse, (a) => ({ address: checked(a.address, 'address') })),
  list('all-content-locations', 'Every announced content location list, by owner address', [], 'AllContentLocations', '/content_locations',
    QueryAllContentLocationsRequest, QueryAllContentLocationsResponse, () => ({})),
  route('pool', 'Bonded and unbonding pool balances, total bonded validator stake', [], 'Pool', '/pool', QueryPoolRequest, QueryPoolResponse, () => ({})),
];

export const stakingInterface: ModuleInterface = {
  module: 'staking',
  txs,
  queries,
  registryTypes: ([
    ['MsgCreateValidator', MsgCreateValidator], ['MsgDelegate', MsgDelegate], ['MsgUndelegate', MsgUndelegate], ['MsgUnjail', MsgUnjail],
    ['MsgRegisterMiner', MsgRegisterMiner], ['MsgAddMinerStake', MsgAddMinerStake], ['MsgUnbondMiner', MsgUnbondMiner], ['MsgUnjailMiner', MsgUnjailMiner],
    ['MsgSetContentLocations', MsgSetContentLocations],
  ] as const).map(([name, type]) => [`${MSG}${name}`, type as unknown as RegistryType] as const),
};
