/**
 * In-memory fakes of the keepers training and subnet expect from staking, model and rewards:
 * the seams the unit tests (test/unit/training-*.test.ts, subnet-*.test.ts) drive. They keep
 * their state in plain objects, not in the store: good for tests only.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { CID } from 'multiformats/cid';
import { create as createDigest } from 'multiformats/hashes/digest';
import type { Context } from '../../app/core/context.ts';
import { utf8 } from '../../app/core/bytes.ts';
import { encodeAddress } from '../../app/core/address.ts';
import { blockHashDrawer, type Drawer } from '../../modules/randomness/drawer.ts';
import { SubnetKeeper } from '../../modules/subnet/keeper.ts';
import { subnetModule } from '../../modules/subnet/module.ts';
import { TrainingKeeper } from '../../modules/training/keeper.ts';
import { trainingModule } from '../../modules/training/module.ts';
import type {
  AggregatorFault, AggregatorSlasher, DatasetView, MinerReader, MinerView, ModelReader, ModelVersionView, RewardsHook,
  SubmissionHoldReader, ValidatorReader, WeightedAddress,
} from '../../modules/training/expected-keepers.ts';

/** A deterministic bech32 address: the first 20 bytes of sha256(label). */
export function testAddress(label: string): string {
  return encodeAddress(sha256(utf8(label)).slice(0, 20));
}

/** The content CID (CIDv1 raw sha2-256, base32) of utf8(label). */
export function testCid(label: string): string {
  return CID.createV1(0x55, createDigest(0x12, sha256(utf8(label)))).toString();
}

export class FakeStaking implements MinerReader, ValidatorReader, AggregatorSlasher {
  readonly minersByAddress = new Map<string, MinerView>();
  validators: Array<{ address: string; stake: bigint }> = [];
  readonly penalties: Array<{ address: string; windowId: bigint; fault: AggregatorFault; height: bigint }> = [];

  miner(_store: unknown, address: string): MinerView | undefined {
    return this.minersByAddress.get(address);
  }

  bondedValidators(): ReadonlyArray<{ address: string; stake: bigint }> {
    return this.validators;
  }

  penalizeAggregator(ctx: Context, address: string, windowId: bigint, fault: AggregatorFault): void {
    this.penalties.push({ address, windowId, fault, height: ctx.height });
  }
}

export class FakeModels implements ModelReader {
  versions: ModelVersionView[] = [];

  version(_store: unknown, number: bigint): ModelVersionView | undefined {
    return this.versions.find((version) => version.number === number);
  }

  activeVersion(): ModelVersionView | undefined {
    return this.versions.find((version) => version.status === 'active');
  }

  /** Version number → its dataset; none by default (windows then record dataset 0). */
  datasets = new Map<bigint, DatasetView>();

  datasetFor(_store: unknown, version: bigint): DatasetView | undefined {
    return this.datasets.get(version);
  }
}

export class FakeRewards implements RewardsHook {
  readonly calls: Array<{ windowId: bigint; height: bigint; baseReward: bigint; miners: WeightedAddress[]; aggregators: WeightedAddress[] }> = [];

  distributeWindow(ctx: Context, windowId: bigint, payout: { baseReward: bigint; miners: readonly WeightedAddress[]; aggregators: readonly WeightedAddress[] }): void {
    this.calls.push({ windowId, height: ctx.height, baseReward: payout.baseReward, miners: [...payout.miners], aggregators: [...payout.aggregators] });
  }
}

/**
 * The keepers wired as app/modules.ts would wire them, over these fakes: a real SubnetKeeper
 * serves training's SubnetReader, the TrainingKeeper serves subnet's WindowReader, the
 * block-hash Drawer draws. Model version 1 (8 layers) is active.
 */
export function trainingTestbed(drawer: Drawer = blockHashDrawer, holds?: SubmissionHoldReader) {
  const staking = new FakeStaking();
  const models = new FakeModels();
  const rewards = new FakeRewards();
  models.versions.push({ number: 1n, status: 'active', nLayers: 8 });
  const subnet = new SubnetKeeper(models);
  const training = new TrainingKeeper({
    miners: staking, validators: staking, models, subnets: subnet, rewards, slasher: staking, drawer, holds,
  });
  return {
    staking, models, rewards, subnet, training,
    trainingModule: trainingModule(training),
    subnetModule: subnetModule(subnet, { windows: training, miners: staking }),
  };
}
