import type { AppModule } from './core/module.ts';
import { sdkErrors } from './core/errors.ts';
import { bytesEqual } from './core/bytes.ts';
import { AuthKeeper } from '../modules/auth/keeper.ts';
import { FEE_COLLECTOR } from '../modules/auth/ante.ts';
import { authModule } from '../modules/auth/module.ts';
import { BankKeeper } from '../modules/bank/keeper.ts';
import { bankModule } from '../modules/bank/module.ts';
import { BONDED_POOL, StakingKeeper, UNBONDING_POOL } from '../modules/staking/keeper.ts';
import { stakingModule } from '../modules/staking/module.ts';
import { COMMUNITY_POOL, REWARDS_POOL, RewardsKeeper } from '../modules/rewards/keeper.ts';
import { rewardsModule } from '../modules/rewards/module.ts';
import { MODEL_MODULE_ADDRESS, ModelKeeper } from '../modules/model/keeper.ts';
import { modelModule } from '../modules/model/module.ts';
import type { ParamsRouter, StakeReader } from '../modules/model/expected-keepers.ts';
import { SubnetKeeper } from '../modules/subnet/keeper.ts';
import { subnetModule } from '../modules/subnet/module.ts';
import { TrainingKeeper } from '../modules/training/keeper.ts';
import { trainingModule } from '../modules/training/module.ts';
import { beaconDrawer } from '../modules/randomness/drawer.ts';
import { VERIFICATION_MODULE_ADDRESS, VerificationKeeper } from '../modules/verification/keeper.ts';
import { verificationModule } from '../modules/verification/module.ts';
import { BeaconKeeper } from '../modules/randomness/keeper.ts';
import { randomnessModule } from '../modules/randomness/module.ts';
import { PocKeeper } from '../modules/poc/keeper.ts';
import { pocModule } from '../modules/poc/module.ts';
import {
  aggregatorSlasher, computeWeightSource, disputeSettings, minerReader, modelReader, pocStaking, rewardsHook, trainingReader, validatorReader,
} from './adapters.ts';
import { invalidParamsOf, type ParamsConstraint, paramsConstraints } from './params-constraints.ts';

/**
 * Every module account, by name (`moduleAddress(name)`): the bank's blocked addresses (the Cosmos
 * SDK's `BlockedAddrs`). No user-initiated send may pay one (MsgSend: sdk 4 "<address> is not
 * allowed to receive funds"); each holds exactly what its module accounts for, and the modules'
 * own transfers keep working (bank README "Blocked addresses").
 */
export const MODULE_ACCOUNTS: ReadonlyArray<readonly [name: string, address: Uint8Array]> = [
  ['fee_collector', FEE_COLLECTOR],
  ['bonded_pool', BONDED_POOL],
  ['unbonding_pool', UNBONDING_POOL],
  ['rewards_pool', REWARDS_POOL],
  ['community_pool', COMMUNITY_POOL],
  ['model', MODEL_MODULE_ADDRESS],
  ['verification', VERIFICATION_MODULE_ADDRESS],
];

/**
 * Wires the keepers together (each receives only what it needs from the
 * others) and lists the modules in the order their genesis and block hooks
 * run: auth before bank (accounts), bank before staking (pool balances),
 * staking before model (votes are weighed by the stake staking reports),
 * randomness anywhere (its beacon is stored by the app before every hook),
 * model before subnet and training (a window opens on the active version), poc last (its
 * weights, set at an epoch's end, apply from the next block's submissions and payouts).
 */
export function buildModules() {
  const auth = new AuthKeeper();
  const bank = new BankKeeper(auth, MODULE_ACCOUNTS.map(([, address]) => address));
  const staking = new StakingKeeper(bank);
  const rewards = new RewardsKeeper(bank, staking);
  // The beacon checks a block's VRF proof against the key staking registered for its proposer.
  const randomness = new BeaconKeeper({ vrfPubkeyOf: (store, address) => staking.validatorByConsensusAddress(store, address)?.vrfPubkey });
  const modules: AppModule[] = [];
  const constraints: ParamsConstraint[] = [];
  const params = paramsRouter(modules, constraints);
  // The head rollback reaches training, built below: bound late (called only while txs and hooks run).
  const model = new ModelKeeper({
    bank, stake: stakeReader(staking), params,
    head: {
      check: (store, toWindow) => training.checkHeadRollback(store, toWindow),
      rollback: (store, events, height, toWindow, proposalId) => { training.rollbackHead(store, events, height, toWindow, proposalId); },
    },
  });
  const models = modelReader(model);
  const miners = minerReader(staking);
  const subnet = new SubnetKeeper(models);
  // Training and verification need each other: training asks whether a dispute holds a submission,
  // verification reads submissions. The hold reader is bound late to break the construction cycle.
  let verification: VerificationKeeper | undefined;
  let poc: PocKeeper | undefined;
  const training = new TrainingKeeper({
    miners, validators: validatorReader(staking), models, subnets: subnet,
    rewards: rewardsHook(rewards, () => verification, () => (poc === undefined ? undefined : computeWeightSource(poc))),
    slasher: aggregatorSlasher(staking), drawer: beaconDrawer(randomness),
    holds: { isHeld: (store, submissionId) => verification?.isHeld(store, submissionId) ?? false },
    compute: { chunkQuota: (store, miner, maxPerWindow) => poc?.chunkQuota(store, miner, maxPerWindow) ?? maxPerWindow },
  });
  verification = new VerificationKeeper({ bank, staking, training: trainingReader(training), drawer: beaconDrawer(randomness) });
  poc = new PocKeeper({ staking: pocStaking(staking), disputes: disputeSettings(verification), drawer: beaconDrawer(randomness) });
  constraints.push(...paramsConstraints({ training, verification, poc }));
  modules.push(
    authModule(auth) as AppModule,
    bankModule(bank) as AppModule,
    stakingModule(staking, bank) as AppModule,
    randomnessModule(randomness) as AppModule,
    rewardsModule(rewards) as AppModule,
    modelModule(model) as AppModule,
    subnetModule(subnet, { windows: training, miners }) as AppModule,
    trainingModule(training) as AppModule,
    verificationModule(verification) as AppModule,
    pocModule(poc) as AppModule,
  );
  return { auth, bank, staking, randomness, rewards, model, subnet, training, verification, poc, modules, params };
}

/** Governance weighs a vote by the bonded tokens (self + delegations) of the validator its voter operates. */
function stakeReader(staking: StakingKeeper): StakeReader {
  return {
    votingStake: (store, address) => staking.bondedValidators(store).find((v) => bytesEqual(v.operator, address))?.tokens ?? 0n,
    totalVotingStake: (store) => staking.bondedValidators(store).reduce((sum, v) => sum + v.tokens, 0n),
  };
}

/**
 * Every module's params, by module name, for parameter-change proposals. Reads the lists when
 * called, so it can be built before they are filled. `set` runs the module's own `set`, then every
 * rule across modules that involves it (app/params-constraints.ts) on the same store: a broken rule
 * throws the module's invalid-params error, and the caller's layer is dropped.
 */
export function paramsRouter(modules: readonly AppModule[], constraints: readonly ParamsConstraint[] = []): ParamsRouter {
  const find = (name: string) => {
    const params = modules.find((module) => module.name === name)?.params;
    if (params === undefined) throw sdkErrors.invalidRequest(`module "${name}" has no parameters`);
    return params;
  };
  return {
    modules: () => modules.filter((module) => module.params !== undefined).map((module) => module.name),
    get: (store, name) => find(name).get(store),
    set(store, name, value) {
      find(name).set(store, value);
      for (const constraint of constraints) {
        if (!constraint.modules.includes(name)) continue;
        const problem = constraint.check(store);
        if (problem !== undefined) throw (invalidParamsOf[name] ?? sdkErrors.invalidRequest)(problem);
      }
    },
  };
}
