/**
 * Rewards: a window's distribution exact to the last unit (remainders to the community pool),
 * supply accounting, one test per rewards error code, params, queries and genesis round trip.
 */
import t, { type Test } from 'tap';
import { ChainError, type ErrorKind } from '../../app/core/errors.ts';
import { AuthKeeper } from '../../modules/auth/keeper.ts';
import { encodeAddress } from '../../app/core/address.ts';
import { BankKeeper } from '../../modules/bank/keeper.ts';
import { StakingKeeper } from '../../modules/staking/keeper.ts';
import { defaultStakingParams } from '../../modules/staking/params.ts';
import { Params as StakingParams } from '../../proto/gen/r3mes/staking/v1/types.ts';
import { COMMUNITY_POOL, REWARDS_POOL, RewardsKeeper } from '../../modules/rewards/keeper.ts';
import { rewardsModule } from '../../modules/rewards/module.ts';
import { rewardsInterface } from '../../modules/rewards/interface.ts';
import { rewardsErrors } from '../../modules/rewards/errors.ts';
import { defaultRewardsParams } from '../../modules/rewards/params.ts';
import { Params } from '../../proto/gen/r3mes/rewards/v1/types.ts';
import { QueryWindowRewardsRequest } from '../../proto/gen/r3mes/rewards/v1/query.ts';
import { emptyState, testContext } from '../helpers/module-context.ts';

const DENOM = 'ur3mes';
const addr = (n: number) => new Uint8Array(20).fill(n);
const key = (n: number) => new Uint8Array(32).fill(n);

function setup(overrides: Partial<Params> = {}) {
  const state = emptyState();
  const auth = new AuthKeeper();
  const bank = new BankKeeper(auth);
  const staking = new StakingKeeper(bank);
  const rewards = new RewardsKeeper(bank, staking);
  const module = rewardsModule(rewards);
  staking.setParams(state, StakingParams.fromPartial({ ...defaultStakingParams, minSelfStake: '100', powerReduction: '100' }));
  rewards.setParams(state, Params.fromPartial({ ...defaultRewardsParams, ...overrides }));
  const ctx = (height = 10n) => testContext(state, { height });
  const h = {
    state, bank, staking, rewards, module, ctx,
    balance: (address: Uint8Array) => bank.balance(state, address, DENOM),
    supply: () => bank.supplyOf(state, DENOM),
    sumOfBalances() {
      let sum = 0n;
      for (const holder of bank.allHolders(state)) for (const coin of holder.coins) if (coin.denom === DENOM) sum += coin.amount;
      return sum;
    },
    validator(n: number, selfStake: bigint, commissionRate = '0.1') {
      bank.mint(state, ctx().events, addr(n), [{ denom: DENOM, amount: selfStake }]);
      staking.createValidator(ctx(), { operator: addr(n), consensusPubkey: key(n), vrfPubkey: key(100 + n), moniker: `v${n}`, commissionRate, selfStake });
    },
    delegate(delegator: number, validator: number, amount: bigint) {
      bank.mint(state, ctx().events, addr(delegator), [{ denom: DENOM, amount }]);
      staking.delegate(ctx(), addr(delegator), addr(validator), amount);
    },
  };
  return h;
}

function expectError(t: Test, kind: ErrorKind, fn: () => unknown) {
  try {
    fn();
    t.fail(`expected ${kind.codespace}/${kind.code} (${kind.description})`);
  } catch (error) {
    t.ok(error instanceof ChainError, `a ChainError: ${(error as Error).message}`);
    t.equal((error as ChainError).codespace, kind.codespace);
    t.equal((error as ChainError).code, kind.code, (error as Error).message);
  }
}

t.test('distributeWindow pays every group exactly, remainders to the community pool', async (t) => {
  const h = setup({ rewardPerWindow: '1000003' });
  h.validator(1, 1000n);
  h.validator(2, 1500n);
  h.delegate(9, 2, 500n);
  h.staking.endBlock(h.ctx());
  const before = new Map([1, 2, 9, 11, 12, 21].map((n) => [n, h.balance(addr(n))]));
  const supplyBefore = h.supply();
  const ctx = h.ctx(42n);
  const result = h.rewards.distributeWindow(ctx, 7n, {
    miners: [{ address: addr(12), weight: 4n }, { address: addr(11), weight: 3n }], // given out of order on purpose
    verifiers: [{ address: addr(21), weight: 5n }],
  });
  // budgets: 700002 / 200000 / 100000 (+1 left over from floor(bps))
  // miners 3:4 of 700002 → 300000, 400001 (1 dust); verifier → 200000
  // validators by stake 1000:2000 of 100000 → 33333, 66666 (1 dust)
  //   v1: commission 3333, self-delegation 30000; v2: commission 6666, self 45000, delegator 9 15000
  const gained = (n: number) => h.balance(addr(n)) - before.get(n)!;
  t.equal(gained(11), 300000n);
  t.equal(gained(12), 400001n);
  t.equal(gained(21), 200000n);
  t.equal(gained(1), 3333n + 30000n);
  t.equal(gained(2), 6666n + 45000n);
  t.equal(gained(9), 15000n);
  t.equal(h.balance(COMMUNITY_POOL), 3n, '1 (bps floor) + 1 (miners) + 1 (validators)');
  t.equal(h.balance(REWARDS_POOL), 0n, 'the rewards pool ends empty');
  t.same({ ...result, payouts: undefined }, {
    windowId: 7n, minted: 1000003n, minersPaid: 700001n, verifiersPaid: 200000n, validatorsPaid: 99999n, communityPool: 3n, payouts: undefined,
  });
  t.equal(result.minted, result.minersPaid + result.verifiersPaid + result.validatorsPaid + result.communityPool, 'minted = paid + remainder');
  t.equal(h.supply(), supplyBefore + 1000003n, 'supply grows by exactly what was minted');
  t.equal(h.sumOfBalances(), h.supply(), 'total supply = sum of balances');
  t.same(result.payouts.map((p) => [encodeAddress(p.recipient), p.role, p.amount]), [
    [encodeAddress(addr(11)), 'miner', 300000n], [encodeAddress(addr(12)), 'miner', 400001n], [encodeAddress(addr(21)), 'verifier', 200000n],
    [encodeAddress(addr(1)), 'validator_commission', 3333n], [encodeAddress(addr(1)), 'delegator', 30000n],
    [encodeAddress(addr(2)), 'validator_commission', 6666n], [encodeAddress(addr(2)), 'delegator', 45000n], [encodeAddress(addr(9)), 'delegator', 15000n],
  ], 'payouts in spec order');
  const payoutEvents = ctx.events.events.filter((e) => e.type === 'reward_payout');
  t.equal(payoutEvents.length, 8, 'one event per payout');
  t.same(payoutEvents[0].attributes.map((a) => [a.key, a.value, a.index]), [
    ['window_id', '7', true], ['recipient', encodeAddress(addr(11)), true], ['role', 'miner', true], ['amount', '300000ur3mes', false],
  ]);
  t.ok(ctx.events.events.some((e) => e.type === 'window_rewards'));
  t.same(h.rewards.windowRewards(h.state, 7n), {
    windowId: 7n, height: 42n, minted: '1000003', minersPaid: '700001', verifiersPaid: '200000', validatorsPaid: '99999', communityPool: '3',
  });
});

t.test('delegator-split dust goes to the operator', async (t) => {
  const h = setup({ rewardPerWindow: '100', minersShareBps: 0, verifiersShareBps: 0, validatorsShareBps: 10000 });
  h.validator(1, 100n, '0');
  h.delegate(8, 1, 100n);
  h.delegate(9, 1, 100n);
  h.staking.endBlock(h.ctx());
  const result = h.rewards.distributeWindow(h.ctx(), 1n, { miners: [], verifiers: [] });
  // 100 to delegators 1:1:1 → 33 each, 1 dust → operator's commission payout
  t.same(result.payouts.map((p) => [p.role, p.amount]), [['validator_commission', 1n], ['delegator', 33n], ['delegator', 33n], ['delegator', 33n]]);
  t.equal(result.communityPool, 0n);
});

t.test('a group without recipients (or zero total weight) goes to the community pool', async (t) => {
  const h = setup({ rewardPerWindow: '1000' });
  const result = h.rewards.distributeWindow(h.ctx(), 1n, { miners: [{ address: addr(5), weight: 0n }], verifiers: [] });
  t.equal(result.communityPool, 1000n, 'no weight, no verifiers, no bonded validators');
  t.same(result.payouts, []);
  t.equal(h.balance(COMMUNITY_POOL), 1000n);
  t.equal(h.balance(addr(5)), 0n);
  t.equal(h.sumOfBalances(), h.supply());
});

t.test('reward_per_window 0 mints nothing and still records the window', async (t) => {
  const h = setup({ rewardPerWindow: '0' });
  const result = h.rewards.distributeWindow(h.ctx(), 3n, { miners: [{ address: addr(5), weight: 1n }], verifiers: [] });
  t.equal(result.minted, 0n);
  t.equal(h.supply(), 0n);
  t.ok(h.rewards.windowRewards(h.state, 3n));
});

t.test('invariant over many windows: minted = paid + remainder, supply = sum of balances', async (t) => {
  const h = setup({ rewardPerWindow: '999999937', minersShareBps: 6667, verifiersShareBps: 2222, validatorsShareBps: 1111 });
  h.validator(1, 12345n, '0.033');
  h.validator(2, 777n, '0.5');
  h.delegate(3, 1, 999n);
  h.delegate(4, 2, 4321n);
  h.staking.endBlock(h.ctx());
  let seed = 12345n;
  const next = (bound: bigint) => {
    seed = (seed * 6364136223846793005n + 1442695040888963407n) % (1n << 64n);
    return (seed >> 16n) % bound;
  };
  let minted = 0n;
  let community = 0n;
  for (let window = 0n; window < 40n; window++) {
    const miners = Array.from({ length: Number(next(6n)) }, (_, i) => ({ address: addr(30 + i), weight: next(1000n) }));
    const verifiers = Array.from({ length: Number(next(4n)) }, (_, i) => ({ address: addr(60 + i), weight: next(7n) }));
    const result = h.rewards.distributeWindow(h.ctx(), window, { miners, verifiers });
    let paid = 0n;
    for (const payout of result.payouts) paid += payout.amount;
    if (paid + result.communityPool !== result.minted) t.fail(`window ${window}: ${paid} + ${result.communityPool} ≠ ${result.minted}`);
    minted += result.minted;
    community += result.communityPool;
  }
  t.equal(h.balance(COMMUNITY_POOL), community);
  t.equal(h.balance(REWARDS_POOL), 0n);
  t.equal(h.supply(), minted + 12345n + 777n + 999n + 4321n);
  t.equal(h.sumOfBalances(), h.supply());
});

// ---------- one test per error code ----------

t.test('rewards/2 window already distributed', async (t) => {
  const h = setup();
  h.rewards.distributeWindow(h.ctx(), 1n, { miners: [], verifiers: [] });
  expectError(t, rewardsErrors.windowAlreadyDistributed, () => h.rewards.distributeWindow(h.ctx(), 1n, { miners: [], verifiers: [] }));
});

t.test('rewards/3 invalid weight', async (t) => {
  const h = setup();
  expectError(t, rewardsErrors.invalidWeight, () => h.rewards.distributeWindow(h.ctx(), 1n, { miners: [{ address: addr(1), weight: -1n }], verifiers: [] }));
  expectError(t, rewardsErrors.invalidWeight, () => h.rewards.distributeWindow(h.ctx(), 1n, { miners: [], verifiers: [{ address: addr(1), weight: 1 as unknown as bigint }] }));
  t.equal(h.supply(), 0n, 'nothing minted on a refused window');
});

t.test('rewards/4 recipient listed twice', async (t) => {
  const h = setup();
  expectError(t, rewardsErrors.duplicateRecipient, () => h.rewards.distributeWindow(h.ctx(), 1n, {
    miners: [{ address: addr(1), weight: 1n }, { address: addr(1), weight: 2n }], verifiers: [],
  }));
});

t.test('rewards/5 invalid rewards params', async (t) => {
  const h = setup();
  const params = h.module.params!;
  const good = params.get(h.state) as Record<string, unknown>;
  expectError(t, rewardsErrors.invalidParams, () => params.set(h.state, { ...good, minersShareBps: 6999 }));
  expectError(t, rewardsErrors.invalidParams, () => params.set(h.state, { ...good, rewardPerWindow: '-1' }));
  expectError(t, rewardsErrors.invalidParams, () => params.set(h.state, { ...good, rewardDenom: '' }));
  expectError(t, rewardsErrors.invalidParams, () => params.set(h.state, { ...good, inflation: '0.07' }));
  t.same(params.get(h.state), good);
  params.set(h.state, { ...good, rewardPerWindow: '5' });
  t.equal((params.get(h.state) as Record<string, unknown>).rewardPerWindow, '5');
});

t.test('rewards/6 window rewards not found', async (t) => {
  const h = setup();
  expectError(t, rewardsErrors.windowNotFound, () => h.module.queries['/r3mes.rewards.v1.Query/WindowRewards'](h.state, QueryWindowRewardsRequest.encode({ windowId: 9n }).finish()));
});

t.test('rewards/7 invalid rewards genesis', async (t) => {
  const h = setup();
  const window = { windowId: '2', height: '5', minted: '10', minersPaid: '5', verifiersPaid: '2', validatorsPaid: '1', communityPool: '2' };
  expectError(t, rewardsErrors.invalidGenesis, () => h.module.initGenesis(emptyState(), { windows: [{ ...window, communityPool: '3' }] }));
  expectError(t, rewardsErrors.invalidGenesis, () => h.module.initGenesis(emptyState(), { windows: [window, { ...window, windowId: '1' }] }));
});

t.test('every rewards error code has a test above', async (t) => {
  t.same(Object.values(rewardsErrors).map((kind) => kind.code), [2, 3, 4, 5, 6, 7]);
});

t.test('genesis round trip and queries', async (t) => {
  const h = setup({ rewardPerWindow: '777' });
  h.rewards.distributeWindow(h.ctx(), 5n, { miners: [{ address: addr(1), weight: 1n }], verifiers: [] });
  h.rewards.distributeWindow(h.ctx(), 2n, { miners: [], verifiers: [{ address: addr(2), weight: 1n }] });
  const genesis = h.module.exportGenesis(h.state);
  const other = setup();
  other.module.initGenesis(other.state, genesis);
  t.same(other.module.exportGenesis(other.state), genesis);
  t.same((genesis as { windows: Array<{ windowId: string }> }).windows.map((w) => w.windowId), ['2', '5'], 'ascending by window id');
  const def = other.module.defaultGenesis();
  const third = setup();
  third.module.initGenesis(third.state, def);
  t.same(third.module.exportGenesis(third.state), def);

  for (const route of rewardsInterface.queries) {
    t.match(route.rest, /^\/r3mes\/rewards\/v1\//);
    const answer = route.decodeResponse(h.module.queries[route.path](h.state, route.encodeRequest({ window_id: '5' })));
    t.type(answer, 'object');
  }
  const window = rewardsInterface.queries[1].decodeResponse(h.module.queries[rewardsInterface.queries[1].path](h.state, rewardsInterface.queries[1].encodeRequest({ window_id: '5' })));
  t.match(window, { window: { windowId: '5', minted: '777' } });
});
