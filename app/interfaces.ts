import type { ModuleInterface } from './core/module.ts';
import { stakingInterface } from '../modules/staking/interface.ts';
import { randomnessInterface } from '../modules/randomness/interface.ts';
import { rewardsInterface } from '../modules/rewards/interface.ts';
import { modelInterface } from '../modules/model/interface.ts';
import { subnetInterface } from '../modules/subnet/interface.ts';
import { trainingInterface } from '../modules/training/interface.ts';
import { verificationInterface } from '../modules/verification/interface.ts';
import { pocInterface } from '../modules/poc/interface.ts';

/**
 * The user-facing description of every R3MES module (CLI commands, REST
 * routes, Msg types for the CosmJS Registry). Modules add theirs here when
 * they are wired into app/modules.ts.
 */
export function moduleInterfaces(): ModuleInterface[] {
  return [stakingInterface, randomnessInterface, rewardsInterface, modelInterface, subnetInterface, trainingInterface, verificationInterface, pocInterface];
}
