/**
 * The rewards pool is transit (rewards README "Distribution", 7): when it still holds something
 * after a window's payouts — coins that reached it from outside the module; sends to it are
 * blocked, so only a direct write here — the window's hook sweeps it to the community pool and
 * reports it, instead of throwing (issue 12, item 1: the throw halted the chain for good).
 */
import t from 'tap';
import { AuthKeeper } from '../../modules/auth/keeper.ts';
import { BankKeeper } from '../../modules/bank/keeper.ts';
import { StakingKeeper } from '../../modules/staking/keeper.ts';
import { COMMUNITY_POOL, REWARDS_POOL, RewardsKeeper } from '../../modules/rewards/keeper.ts';
import { rewardsModule } from '../../modules/rewards/module.ts';
import { rewardsErrors } from '../../modules/rewards/errors.ts';
import { defaultRewardsParams } from '../../modules/rewards/params.ts';
import { Params } from '../../proto/gen/r3mes/rewards/v1/types.ts';
import { ChainError } from '../../app/core/errors.ts';
import { encodeAddress } from '../../app/core/address.ts';
import { INVARIANT_EVENT } from '../../app/core/invariants.ts';
import { MAX_AMOUNT } from '../../app/core/coins.ts';
import type { Event } from 'cosmjs-types/tendermint/abci/types';
import { emptyState, testContext } from '../helpers/module-context.ts';

const addr = (n: number) => new Uint8Array(20).fill(n);
const attrs = (event: Event) => Object.fromEntries(event.attributes.map((a) => [a.key, a.value]));

function setup(overrides: Partial<Params> = {}) {
  const state = emptyState();
  const bank = new BankKeeper(new AuthKeeper());
  const rewards = new RewardsKeeper(bank, new StakingKeeper(bank));
  rewards.setParams(state, Params.fromPartial({ ...defaultRewardsParams, ...overrides }));
  const sumOfBalances = (denom: string) => {
    let sum = 0n;
    for (const holder of bank.allHolders(state)) for (const coin of holder.coins) if (coin.denom === denom) sum += coin.amount;
    return sum;
  };
  return { state, bank, rewards, module: rewardsModule(rewards), sumOfBalances };
}

t.test('a surplus in the rewards pool is swept to the community pool with an event, not thrown', async (t) => {
  const h = setup({ rewardPerWindow: '1000' });
  // The surplus: a direct keeper write (a mint into the pool), in two denoms.
  h.bank.mint(h.state, testContext(h.state).events, REWARDS_POOL, [{ denom: 'uatom', amount: 3n }, { denom: 'ur3mes', amount: 7n }]);
  const ctx = testContext(h.state, { height: 20n });
  let result: ReturnType<RewardsKeeper['distributeWindow']> | undefined;
  t.doesNotThrow(() => {
    result = h.rewards.distributeWindow(ctx, 4n, { miners: [{ address: addr(1), weight: 1n }], verifiers: [] });
  }, 'the window hook does not throw');
  t.same(h.bank.allBalances(h.state, REWARDS_POOL), [], 'the rewards pool ends empty');
  t.equal(h.bank.balance(h.state, addr(1), 'ur3mes'), 700n, 'the miner is paid as without the surplus');
  t.equal(result?.communityPool, 300n, 'the window record counts its own remainder only');
  t.same(h.bank.allBalances(h.state, COMMUNITY_POOL), [{ denom: 'uatom', amount: 3n }, { denom: 'ur3mes', amount: 307n }], 'remainder + surplus in the community pool');
  t.equal(h.bank.supplyOf(h.state, 'ur3mes'), 1007n, 'supply = surplus + minted: a sweep mints and burns nothing');
  t.equal(h.sumOfBalances('ur3mes'), 1007n);

  const swept = ctx.events.events.filter((e) => e.type === 'rewards_pool_swept');
  t.same(swept.map(attrs), [{ window_id: '4', amount: '3uatom,7ur3mes' }], 'rewards_pool_swept{window_id, amount}');
  const broken = ctx.events.events.filter((e) => e.type === INVARIANT_EVENT).map(attrs);
  t.equal(broken.length, 1, 'reported as a broken invariant (the node logs and counts it)');
  t.match(broken[0], { module: 'rewards', invariant: 'rewards-pool-empty' });
  const sweepTransfer = ctx.events.events.filter((e) => e.type === 'transfer').map(attrs).at(-1);
  t.same(sweepTransfer, { recipient: encodeAddress(COMMUNITY_POOL), sender: encodeAddress(REWARDS_POOL), amount: '3uatom,7ur3mes' }, 'the bank reports the move');

  // The next window finds an empty pool: nothing to sweep, nothing reported.
  const next = testContext(h.state, { height: 21n });
  h.rewards.distributeWindow(next, 5n, { miners: [], verifiers: [] });
  t.notOk(next.events.events.some((e) => e.type === 'rewards_pool_swept' || e.type === INVARIANT_EVENT), 'honest windows emit neither');
});

t.test('a surplus with nothing minted (reward_per_window 0) is swept as well', async (t) => {
  const h = setup({ rewardPerWindow: '0' });
  h.bank.mint(h.state, testContext(h.state).events, REWARDS_POOL, [{ denom: 'ur3mes', amount: 1n }]);
  const ctx = testContext(h.state, { height: 3n });
  t.doesNotThrow(() => h.rewards.distributeWindow(ctx, 1n, { miners: [], verifiers: [] }));
  t.equal(h.bank.balance(h.state, REWARDS_POOL, 'ur3mes'), 0n);
  t.equal(h.bank.balance(h.state, COMMUNITY_POOL, 'ur3mes'), 1n);
});

t.test('a mint past the supply bound (governance set an absurd reward) is skipped and reported, not thrown', async (t) => {
  const h = setup({ rewardPerWindow: (MAX_AMOUNT - 5n).toString() });
  h.bank.mint(h.state, testContext(h.state).events, addr(9), [{ denom: 'ur3mes', amount: 10n }]);
  const ctx = testContext(h.state, { height: 3n });
  let result: ReturnType<RewardsKeeper['distributeWindow']> | undefined;
  t.doesNotThrow(() => {
    result = h.rewards.distributeWindow(ctx, 1n, { miners: [{ address: addr(1), weight: 1n }], verifiers: [] });
  });
  t.equal(result?.minted, 0n);
  t.equal(h.bank.supplyOf(h.state, 'ur3mes'), 10n);
  t.match(ctx.events.events.filter((e) => e.type === INVARIANT_EVENT).map(attrs), [{ module: 'rewards', invariant: 'supply-bound' }]);
  t.ok(h.rewards.windowRewards(h.state, 1n), 'the window is still recorded (minted 0)');
});

t.test('genesis refuses a balance in the rewards pool (the bank genesis runs first)', async (t) => {
  const h = setup();
  h.bank.setBalance(h.state, REWARDS_POOL, 'ur3mes', 1n);
  let thrown: unknown;
  try {
    h.module.initGenesis(h.state, h.module.defaultGenesis());
  } catch (error) {
    thrown = error;
  }
  t.ok(thrown instanceof ChainError && thrown.codespace === 'rewards' && thrown.code === rewardsErrors.invalidGenesis.code, String(thrown));
  t.match(String(thrown), /rewards pool .* holds 1ur3mes/);
  const empty = setup();
  t.doesNotThrow(() => empty.module.initGenesis(empty.state, empty.module.defaultGenesis()));
});
