import type { Any } from 'cosmjs-types/google/protobuf/any';
import { protoFields } from '../../proto/gen/fields.ts';
import type { MsgHandler } from '../../app/core/module.ts';
import { decodeAddress } from '../../app/core/address.ts';
import {
  MsgAddMinerStake, MsgAddMinerStakeResponse, MsgCreateValidator, MsgCreateValidatorResponse, MsgDelegate, MsgDelegateResponse,
  MsgRegisterMiner, MsgRegisterMinerResponse, MsgSetContentLocations, MsgSetContentLocationsResponse, MsgUnbondMiner, MsgUnbondMinerResponse, MsgUndelegate, MsgUndelegateResponse,
  MsgUnjail, MsgUnjailMiner, MsgUnjailMinerResponse, MsgUnjailResponse,
} from '../../proto/gen/r3mes/staking/v1/tx.ts';
import {
  parsePositiveAmount, type StakingKeeper, validateBackend, validateGpuArch, validateMoniker, validatePubkey,
} from './keeper.ts';
import { parseRate } from './params.ts';
import { validateContentLocations } from './content-locations.ts';

const PREFIX = '/r3mes.staking.v1.';

function response(name: string, value: Uint8Array): Any {
  return { typeUrl: `${PREFIX}${name}`, value };
}

/** Every staking message: stateless checks in `signers`, state checks and writes in the keeper. */
export function stakingMsgHandlers(staking: StakingKeeper): MsgHandler[] {
  const createValidator: MsgHandler<MsgCreateValidator> = {
    typeUrl: `${PREFIX}MsgCreateValidator`,
    module: 'staking',
    fields: protoFields,
    decode: (bytes) => MsgCreateValidator.decode(bytes),
    signers(msg) {
      const operator = decodeAddress(msg.operatorAddress, 'operator_address');
      validatePubkey(msg.consensusPubkey, 'consensus_pubkey');
      validatePubkey(msg.vrfPubkey, 'vrf_pubkey');
      validateMoniker(msg.moniker);
      parseRate(msg.commissionRate, 'commission_rate');
      parsePositiveAmount(msg.selfStake, 'self_stake');
      return [operator];
    },
    execute(ctx, msg) {
      staking.createValidator(ctx, {
        operator: decodeAddress(msg.operatorAddress, 'operator_address'), consensusPubkey: msg.consensusPubkey, vrfPubkey: msg.vrfPubkey,
        moniker: msg.moniker, commissionRate: msg.commissionRate, selfStake: parsePositiveAmount(msg.selfStake, 'self_stake'),
      });
      return response('MsgCreateValidatorResponse', MsgCreateValidatorResponse.encode({}).finish());
    },
  };

  const delegate: MsgHandler<MsgDelegate> = {
    typeUrl: `${PREFIX}MsgDelegate`,
    module: 'staking',
    fields: protoFields,
    decode: (bytes) => MsgDelegate.decode(bytes),
    signers(msg) {
      const delegator = decodeAddress(msg.delegatorAddress, 'delegator_address');
      decodeAddress(msg.validatorAddress, 'validator_address');
      parsePositiveAmount(msg.amount, 'amount');
      return [delegator];
    },
    execute(ctx, msg) {
      staking.delegate(ctx, decodeAddress(msg.delegatorAddress), decodeAddress(msg.validatorAddress), parsePositiveAmount(msg.amount, 'amount'));
      return response('MsgDelegateResponse', MsgDelegateResponse.encode({}).finish());
    },
  };

  const undelegate: MsgHandler<MsgUndelegate> = {
    typeUrl: `${PREFIX}MsgUndelegate`,
    module: 'staking',
    fields: protoFields,
    decode: (bytes) => MsgUndelegate.decode(bytes),
    signers(msg) {
      const delegator = decodeAddress(msg.delegatorAddress, 'delegator_address');
      decodeAddress(msg.validatorAddress, 'validator_address');
      parsePositiveAmount(msg.amount, 'amount');
      return [delegator];
    },
    execute(ctx, msg) {
      const started = staking.undelegate(ctx, decodeAddress(msg.delegatorAddress), decodeAddress(msg.validatorAddress), parsePositiveAmount(msg.amount, 'amount'));
      return response('MsgUndelegateResponse', MsgUndelegateResponse.encode(started).finish());
    },
  };

  const unjail: MsgHandler<MsgUnjail> = {
    typeUrl: `${PREFIX}MsgUnjail`,
    module: 'staking',
    fields: protoFields,
    decode: (bytes) => MsgUnjail.decode(bytes),
    signers: (msg) => [decodeAddress(msg.validatorAddress, 'validator_address')],
    execute(ctx, msg) {
      staking.unjail(ctx, decodeAddress(msg.validatorAddress));
      return response('MsgUnjailResponse', MsgUnjailResponse.encode({}).finish());
    },
  };

  const registerMiner: MsgHandler<MsgRegisterMiner> = {
    typeUrl: `${PREFIX}MsgRegisterMiner`,
    module: 'staking',
    fields: protoFields,
    decode: (bytes) => MsgRegisterMiner.decode(bytes),
    signers(msg) {
      const miner = decodeAddress(msg.minerAddress, 'miner_address');
      parsePositiveAmount(msg.stake, 'stake');
      validateBackend(msg.backend);
      validateGpuArch(msg.gpuArch);
      return [miner];
    },
    execute(ctx, msg) {
      staking.registerMiner(ctx, {
        miner: decodeAddress(msg.minerAddress), stake: parsePositiveAmount(msg.stake, 'stake'), backend: msg.backend, gpuArch: msg.gpuArch,
      });
      return response('MsgRegisterMinerResponse', MsgRegisterMinerResponse.encode({}).finish());
    },
  };

  const addMinerStake: MsgHandler<MsgAddMinerStake> = {
    typeUrl: `${PREFIX}MsgAddMinerStake`,
    module: 'staking',
    fields: protoFields,
    decode: (bytes) => MsgAddMinerStake.decode(bytes),
    signers(msg) {
      const miner = decodeAddress(msg.minerAddress, 'miner_address');
      parsePositiveAmount(msg.amount, 'amount');
      return [miner];
    },
    execute(ctx, msg) {
      staking.addMinerStake(ctx, decodeAddress(msg.minerAddress), parsePositiveAmount(msg.amount, 'amount'));
      return response('MsgAddMinerStakeResponse', MsgAddMinerStakeResponse.encode({}).finish());
    },
  };

  const unbondMiner: MsgHandler<MsgUnbondMiner> = {
    typeUrl: `${PREFIX}MsgUnbondMiner`,
    module: 'staking',
    fields: protoFields,
    decode: (bytes) => MsgUnbondMiner.decode(bytes),
    signers(msg) {
      const miner = decodeAddress(msg.minerAddress, 'miner_address');
      parsePositiveAmount(msg.amount, 'amount');
      return [miner];
    },
    execute(ctx, msg) {
      const started = staking.unbondMiner(ctx, decodeAddress(msg.minerAddress), parsePositiveAmount(msg.amount, 'amount'));
      return response('MsgUnbondMinerResponse', MsgUnbondMinerResponse.encode(started).finish());
    },
  };

  const unjailMiner: MsgHandler<MsgUnjailMiner> = {
    typeUrl: `${PREFIX}MsgUnjailMiner`,
    module: 'staking',
    fields: protoFields,
    decode: (bytes) => MsgUnjailMiner.decode(bytes),
    signers: (msg) => [decodeAddress(msg.minerAddress, 'miner_address')],
    execute(ctx, msg) {
      staking.unjailMiner(ctx, decodeAddress(msg.minerAddress));
      return response('MsgUnjailMinerResponse', MsgUnjailMinerResponse.encode({}).finish());
    },
  };

  const setContentLocations: MsgHandler<MsgSetContentLocations> = {
    typeUrl: `${PREFIX}MsgSetContentLocations`,
    module: 'staking',
    fields: protoFields,
    decode: (bytes) => MsgSetContentLocations.decode(bytes),
    signers(msg) {
      const owner = decodeAddress(msg.owner, 'owner');
      validateContentLocations(msg.locations);
      return [owner];
    },
    execute(ctx, msg) {
      staking.setContentLocations(ctx, decodeAddress(msg.owner), msg.locations);
      return response('MsgSetContentLocationsResponse', MsgSetContentLocationsResponse.encode({}).finish());
    },
  };

  return [createValidator, delegate, undelegate, unjail, registerMiner, addMinerStake, unbondMiner, unjailMiner, setContentLocations] as MsgHandler[];
}
