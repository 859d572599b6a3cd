import type { Context } from '../../app/core/context.ts';
import type { KVStore } from '../../app/core/store/types.ts';
import { prefixStore } from '../../app/core/store/prefix.ts';
import { concatBytes, u64be, utf8 } from '../../app/core/bytes.ts';
import { encodeAddress, moduleAddress } from '../../app/core/address.ts';
import { type Coin, formatCoins, MAX_AMOUNT } from '../../app/core/coins.ts';
import { reportInvariant } from '../../app/core/invariants.ts';
import { Params, WindowRewards } from '../../proto/gen/r3mes/rewards/v1/types.ts';
import { rewardsErrors } from './errors.ts';
import type { RewardsBankKeeper, RewardsStakingKeeper } from './expected-keepers.ts';
import { BPS, defaultRewardsParams, resolveRewardsParams, type RewardsParams } from './params.ts';

/** Module accounts: the pool a window's reward is minted into, and where every remainder goes. */
export const REWARDS_POOL = moduleAddress('rewards_pool');
export const COMMUNITY_POOL = moduleAddress('community_pool');

const U64_LIMIT = 1n << 64n;

/** Key layout inside the module's prefix "rewards/" (see README). */
const keys = {
  params: utf8('p'),
  window: (windowId: bigint) => concatBytes(utf8('w/'), u64be(windowId)),
  windowPrefix: utf8('w/'),
};

/** One recipient of a group and its weight (e.g. accepted work units, verifications done). */
export interface Contribution {
  address: Uint8Array;
  weight: bigint;
}

export interface WindowContributions {
  miners: readonly Contribution[];
  verifiers: readonly Contribution[];
}

export type PayoutRole = 'miner' | 'verifier' | 'validator_commission' | 'delegator';

export interface Payout {
  recipient: Uint8Array;
  role: PayoutRole;
  amount: bigint;
  /** For validator_commission and delegator payouts: the validator the stake is with. */
  validator?: string;
}

export interface WindowDistribution {
  windowId: bigint;
  minted: bigint;
  minersPaid: bigint;
  verifiersPaid: bigint;
  validatorsPaid: bigint;
  /** Every remainder of the floor divisions, and any share without recipients. */
  communityPool: bigint;
  payouts: Payout[];
}

/** floor(total × weight / Σweights) for each, in the given order; returns the shares and their sum. */
function proRata(total: bigint, weights: readonly bigint[]): { shares: bigint[]; paid: bigint } {
  let sum = 0n;
  for (const weight of weights) sum += weight;
  if (sum === 0n || total === 0n) return { shares: weights.map(() => 0n), paid: 0n };
  const shares = weights.map((weight) => (total * weight) / sum);
  let paid = 0n;
  for (const share of shares) paid += share;
  return { shares, paid };
}

function compareAddresses(a: Uint8Array, b: Uint8Array): number {
  return a.length !== b.length ? a.length - b.length : Buffer.compare(a, b);
}

/** Checks a group (weights in [0, 2^256), each address once) and returns it in address order. */
function sortedGroup(group: readonly Contribution[], what: string): Contribution[] {
  const sorted = [...group].sort((a, b) => compareAddresses(a.address, b.address));
  for (let i = 0; i < sorted.length; i++) {
    const { address, weight } = sorted[i];
    if (typeof weight !== 'bigint' || weight < 0n || weight > MAX_AMOUNT) throw rewardsErrors.invalidWeight(`${what} ${encodeAddress(address)} has weight ${String(weight)}`);
    if (i > 0 && compareAddresses(sorted[i - 1].address, address) === 0) throw rewardsErrors.duplicateRecipient(`${what} ${encodeAddress(address)}`);
  }
  return sorted;
}

export class RewardsViewKeeper {
  static readonly storePrefix = utf8('rewards/');

  protected view(store: KVStore): KVStore {
    return prefixStore(store, RewardsViewKeeper.storePrefix);
  }

  getParams(store: KVStore): Params {
    const raw = this.view(store).get(keys.params);
    return raw === undefined ? Params.fromPartial(defaultRewardsParams) : Params.decode(raw);
  }

  params(store: KVStore): RewardsParams {
    return resolveRewardsParams(this.getParams(store));
  }

  windowRewards(store: KVStore, windowId: bigint): WindowRewards | undefined {
    if (windowId < 0n || windowId >= U64_LIMIT) return undefined;
    const raw = this.view(store).get(keys.window(windowId));
    return raw === undefined ? undefined : WindowRewards.decode(raw);
  }

  /** Every distributed window, ascending by id. */
  *allWindowRewards(store: KVStore): IterableIterator<WindowRewards> {
    for (const [, value] of this.view(store).iterate(keys.windowPrefix)) yield WindowRewards.decode(value);
  }
}

export class RewardsKeeper extends RewardsViewKeeper {
  constructor(
    private readonly bank: RewardsBankKeeper,
    private readonly staking: RewardsStakingKeeper,
  ) {
    super();
  }

  setParams(store: KVStore, params: Params): void {
    resolveRewardsParams(params);
    this.view(store).set(keys.params, Params.encode(params).finish());
  }

  /** Everything the rewards pool holds: nothing between windows (genesis refuses a balance there). */
  poolHoldings(store: KVStore): Coin[] {
    return this.bank.allBalances(store, REWARDS_POOL);
  }

  setWindowRewards(store: KVStore, record: WindowRewards): void {
    this.view(store).set(keys.window(record.windowId), WindowRewards.encode(record).finish());
  }

  /**
   * Called by training when window `windowId` is finalized: mints `reward_per_window` into the
   * rewards pool and pays it out, exactly, by the rule in README ("Distribution"). Every unit
   * minted ends in a recipient's balance or the community pool; the rewards pool ends empty.
   */
  distributeWindow(ctx: Context, windowId: bigint, contributions: WindowContributions): WindowDistribution {
    if (windowId < 0n || windowId >= U64_LIMIT) throw new RangeError(`window id ${windowId} out of u64 range`);
    if (this.view(ctx.store).has(keys.window(windowId))) throw rewardsErrors.windowAlreadyDistributed(`window ${windowId}`);
    const miners = sortedGroup(contributions.miners, 'miner');
    const verifiers = sortedGroup(contributions.verifiers, 'verifier');
    const params = this.params(ctx.store);
    const denom = params.rewardDenom;
    let minted = params.rewardPerWindow;
    // Governance sets reward_per_window; a mint past the supply bound would throw in the block hook.
    const supply = this.bank.supplyOf(ctx.store, denom);
    if (minted > MAX_AMOUNT - supply) {
      reportInvariant(ctx.events, 'rewards', 'supply-bound', `window ${windowId}: minting ${minted}${denom} would take the supply ${supply}${denom} past 2^256-1; nothing minted`);
      minted = 0n;
    }

    const minersBudget = (minted * params.minersShareBps) / BPS;
    const verifiersBudget = (minted * params.verifiersShareBps) / BPS;
    const validatorsBudget = (minted * params.validatorsShareBps) / BPS;
    const payouts: Payout[] = [];

    const minerShares = proRata(minersBudget, miners.map((m) => m.weight));
    miners.forEach((m, i) => payouts.push({ recipient: m.address, role: 'miner', amount: minerShares.shares[i] }));
    const verifierShares = proRata(verifiersBudget, verifiers.map((v) => v.weight));
    verifiers.forEach((v, i) => payouts.push({ recipient: v.address, role: 'verifier', amount: verifierShares.shares[i] }));

    const bonded = this.staking.bondedValidators(ctx.store);
    const validatorShares = proRata(validatorsBudget, bonded.map((v) => v.tokens));
    bonded.forEach((validator, i) => {
      const portion = validatorShares.shares[i];
      const commission = (portion * validator.commissionRate.numerator) / validator.commissionRate.denominator;
      const toDelegators = portion - commission;
      const delegations = this.staking.delegationsTo(ctx.store, validator.operator);
      const delegatorShares = proRata(toDelegators, delegations.map((d) => d.amount));
      // Commission and the dust of the delegators' split go to the operator.
      payouts.push({ recipient: validator.operator, role: 'validator_commission', amount: commission + toDelegators - delegatorShares.paid, validator: validator.operatorAddress });
      delegations.forEach((d, j) => payouts.push({ recipient: d.delegator, role: 'delegator', amount: delegatorShares.shares[j], validator: validator.operatorAddress }));
    });

    const communityPool = minted - minerShares.paid - verifierShares.paid - validatorShares.paid;
    if (minted > 0n) this.bank.mint(ctx.store, ctx.events, REWARDS_POOL, [{ denom, amount: minted }]);
    const idText = windowId.toString();
    for (const payout of payouts) {
      if (payout.amount === 0n) continue;
      this.bank.send(ctx.store, ctx.events, REWARDS_POOL, payout.recipient, [{ denom, amount: payout.amount }]);
      ctx.events.emit('reward_payout', [
        ['window_id', idText], ['recipient', encodeAddress(payout.recipient)], ['role', payout.role],
        ['amount', `${payout.amount}${denom}`, false], ...(payout.validator === undefined ? [] : [['validator', payout.validator] as [string, string]]),
      ]);
    }
    if (communityPool > 0n) this.bank.send(ctx.store, ctx.events, REWARDS_POOL, COMMUNITY_POOL, [{ denom, amount: communityPool }]);
    this.sweepPool(ctx, windowId);

    const distribution: WindowDistribution = {
      windowId, minted, minersPaid: minerShares.paid, verifiersPaid: verifierShares.paid, validatorsPaid: validatorShares.paid,
      communityPool, payouts: payouts.filter((p) => p.amount > 0n),
    };
    this.setWindowRewards(ctx.store, {
      windowId, height: ctx.height, minted: minted.toString(), minersPaid: distribution.minersPaid.toString(),
      verifiersPaid: distribution.verifiersPaid.toString(), validatorsPaid: distribution.validatorsPaid.toString(), communityPool: communityPool.toString(),
    });
    ctx.events.emit('window_rewards', [
      ['window_id', idText], ['minted', `${minted}${denom}`, false], ['miners_paid', distribution.minersPaid.toString(), false],
      ['verifiers_paid', distribution.verifiersPaid.toString(), false], ['validators_paid', distribution.validatorsPaid.toString(), false],
      ['community_pool', communityPool.toString(), false],
    ]);
    return distribution;
  }

  /**
   * The rewards pool is transit and must be empty after a window's payouts (README
   * "Distribution", 7). Whatever it still holds, in any denom, came from outside this module (a
   * genesis balance, a bug: sends to it are blocked): it is swept to the community pool and
   * reported (`rewards_pool_swept` and `invariant_broken`), never thrown on — a throw here would
   * halt the chain at every replay of the block.
   */
  private sweepPool(ctx: Context, windowId: bigint): void {
    const left = this.bank.allBalances(ctx.store, REWARDS_POOL);
    if (left.length === 0) return;
    this.bank.send(ctx.store, ctx.events, REWARDS_POOL, COMMUNITY_POOL, left);
    const amount = formatCoins(left);
    ctx.events.emit('rewards_pool_swept', [['window_id', windowId.toString()], ['amount', amount, false]]);
    reportInvariant(ctx.events, 'rewards', 'rewards-pool-empty', `window ${windowId}: the rewards pool held ${amount} after the payouts; swept to the community pool`);
  }
}
