/**
 * Compute weight → chunks per window, through the real training keeper: its rate limit (training
 * 13) and Assignment.remaining follow the poc module's weights in force, and with no weight in
 * force (PoC unused) they are the window's cap exactly as before. Training's other seams are the
 * fakes of test/helpers/training-testbed.ts; poc is the real keeper on the same store.
 */
import t from 'tap';
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8 } from '../../app/core/bytes.ts';
import { ChainError } from '../../app/core/errors.ts';
import type { Context } from '../../app/core/context.ts';
import { emptyState, testContext } from '../helpers/module-context.ts';
import { FakeModels, FakeRewards, FakeStaking, testAddress, testCid } from '../helpers/training-testbed.ts';
import { blockHashDrawer } from '../../modules/randomness/drawer.ts';
import { SubnetKeeper } from '../../modules/subnet/keeper.ts';
import { subnetModule } from '../../modules/subnet/module.ts';
import { TrainingKeeper } from '../../modules/training/keeper.ts';
import { trainingModule } from '../../modules/training/module.ts';
import { defaultGenesis as trainingDefaultGenesis } from '../../modules/training/genesis.ts';
import { defaultParams as trainingDefaultParams } from '../../modules/training/params.ts';
import { PocKeeper } from '../../modules/poc/keeper.ts';
import { pocModule } from '../../modules/poc/module.ts';
import { defaultGenesis as pocDefaultGenesis } from '../../modules/poc/genesis.ts';
import { GenesisState as SubnetGenesis } from '../../proto/gen/r3mes/subnet/v1/genesis.ts';
import { GenesisState as TrainingGenesis } from '../../proto/gen/r3mes/training/v1/genesis.ts';
import { GenesisState as PocGenesis } from '../../proto/gen/r3mes/poc/v1/genesis.ts';
import { MsgSubmitGradient } from '../../proto/gen/r3mes/training/v1/tx.ts';

const [ALICE, BOB, CAROL] = ['alice', 'bob', 'carol'].map((name) => testAddress(`miner-${name}`));

function setup(weights: Array<{ miner: string; weight: bigint }>, withReader = true) {
  const staking = new FakeStaking();
  const models = new FakeModels();
  models.versions.push({ number: 1n, status: 'active', nLayers: 8 });
  const subnet = new SubnetKeeper(models);
  const poc = new PocKeeper({
    staking: { miner: () => undefined, validatorCandidates: () => [], slashMiner: () => 0n, penalizeValidator: () => 0n },
    disputes: { disputeSettings: () => { throw new Error('no disputes here'); } },
    drawer: blockHashDrawer,
  });
  const training = new TrainingKeeper({
    miners: staking, validators: staking, models, subnets: subnet, rewards: new FakeRewards(), slasher: staking, drawer: blockHashDrawer,
    compute: withReader ? poc : undefined,
  });
  const store = emptyState();
  subnetModule(subnet, { windows: training, miners: staking }).initGenesis(store, SubnetGenesis.toJSON({ params: { subnetCount: 4n }, activations: [] }));
  trainingModule(training).initGenesis(store, TrainingGenesis.toJSON({
    ...trainingDefaultGenesis(), params: { ...trainingDefaultParams(), windowBlocks: 10n, chunkCount: 16n, maxSubmissionsPerMinerPerWindow: 4n, minMinerStake: '100', baseReward: '500',
    challengePeriodBlocks: 2n, aggregationProposers: 3n, commitPeriodBlocks: 3n, revealPeriodBlocks: 3n },
  }));
  const sorted = [...weights].sort((a, b) => (a.miner < b.miner ? -1 : 1));
  const total = sorted.reduce((sum, w) => sum + w.weight, 0n);
  const max = sorted.reduce((m, w) => (w.weight > m ? w.weight : m), 0n);
  pocModule(poc).initGenesis(store, PocGenesis.toJSON({
    ...pocDefaultGenesis(), schedule: { ...pocDefaultGenesis().schedule!, weightsEpoch: weights.length > 0 ? 1n : 0n, nextEpochId: 2n, weightTotal: total, weightMax: max },
    epochs: [], weights: sorted,
  }));
  for (const miner of [ALICE, BOB, CAROL]) staking.minersByAddress.set(miner, { stake: 1000n, jailed: false, backend: 'webgpu' });
  const ctx = testContext(store, { height: 1n });
  training.beginBlock(ctx);
  const at2 = testContext(store, { height: 2n });
  /** Submits until the rate limit; returns how many were accepted. */
  const fill = (miner: string): bigint => {
    let accepted = 0n;
    for (let i = 0; i < 6; i++) {
      const next = training.assignment(store, 1n, miner);
      const msg = MsgSubmitGradient.fromPartial({
        miner, windowId: 1n, subnet: next.subnet, modelVersion: 1n, gradientCid: testCid(`g/${miner}/${i}`),
        gradientHash: Buffer.from(sha256(utf8(`h/${miner}/${i}`))), traceRoot: Buffer.from(sha256(utf8(`t/${miner}/${i}`))),
        chunkIndex: next.chunkIndex, lossBefore: 2n, lossAfter: 1n, backend: 'webgpu',
      });
      try {
        training.submitGradient(at2 as Context, msg);
        accepted += 1n;
      } catch (error) {
        if (!(error instanceof ChainError) || error.codespace !== 'training' || error.code !== 13) throw error;
        return accepted;
      }
    }
    return accepted;
  };
  return { training, store, fill };
}

t.test('no compute weight in force: every miner trains the window cap (as without PoC)', (t) => {
  const withPoc = setup([]);
  const without = setup([], false);
  for (const miner of [ALICE, BOB, CAROL]) {
    t.equal(withPoc.training.assignment(withPoc.store, 1n, miner).remaining, 4n, 'remaining = the cap');
    t.equal(withPoc.fill(miner), 4n, 'four chunks');
    t.equal(without.fill(miner), 4n, 'the same without the reader');
  }
  t.end();
});

t.test('weights in force: the heaviest keeps the cap, others in proportion, none at the floor', (t) => {
  const s = setup([{ miner: ALICE, weight: 10n }, { miner: BOB, weight: 5n }]);
  t.equal(s.training.assignment(s.store, 1n, BOB).remaining, 3n, 'bob: 1 + ⌈3·5/10⌉');
  t.equal(s.fill(ALICE), 4n, 'alice (heaviest): the cap');
  t.equal(s.fill(BOB), 3n, 'bob: half the weight, three chunks');
  t.equal(s.fill(CAROL), 1n, 'carol (no weight): unweighted_chunk_quota');
  t.equal(s.training.assignment(s.store, 1n, CAROL).remaining, 0n);
  t.end();
});
