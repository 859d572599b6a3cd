/**
 * Staking: validator updates for CometBFT, slashing (exact burns, supply), read interfaces
 * for other modules, queries, the CLI/REST description, and the genesis round trip.
 */
import t from 'tap';
import { AuthKeeper } from '../../modules/auth/keeper.ts';
import { encodeAddress } from '../../app/core/address.ts';
import { BankKeeper } from '../../modules/bank/keeper.ts';
import { bankModule } from '../../modules/bank/module.ts';
import { BONDED_POOL, StakingKeeper, UNBONDING_POOL } from '../../modules/staking/keeper.ts';
import { stakingModule } from '../../modules/staking/module.ts';
import { stakingInterface } from '../../modules/staking/interface.ts';
import { defaultStakingParams } from '../../modules/staking/params.ts';
import { BackendClass, Params } from '../../proto/gen/r3mes/staking/v1/types.ts';
import { QueryPoolResponse, QueryValidatorsResponse, QueryMinerRequest, QueryMinerResponse } from '../../proto/gen/r3mes/staking/v1/query.ts';
import { emptyState, testContext } from '../helpers/module-context.ts';
import type { KVStore } from '../../app/core/store/types.ts';

const DENOM = 'ur3mes';
const addr = (n: number) => new Uint8Array(20).fill(n);
const key = (n: number) => new Uint8Array(32).fill(n);

function setup(overrides: Partial<Params> = {}, state: KVStore = emptyState()) {
  const auth = new AuthKeeper();
  const bank = new BankKeeper(auth);
  const staking = new StakingKeeper(bank);
  const module = stakingModule(staking, bank);
  staking.setParams(state, Params.fromPartial({ ...defaultStakingParams, minSelfStake: '100', minMinerStake: '100', powerReduction: '100', unbondingBlocks: 10n, jailBlocks: 5n, ...overrides }));
  let height = 1n;
  const ctx = () => testContext(state, { height });
  return {
    state, bank, staking, module, ctx,
    setHeight(h: bigint) { height = h; },
    fund(address: Uint8Array, amount: bigint) { bank.mint(state, ctx().events, address, [{ denom: DENOM, amount }]); },
    validator(n: number, stake: bigint) {
      bank.mint(state, ctx().events, addr(n), [{ denom: DENOM, amount: stake }]);
      staking.createValidator(ctx(), { operator: addr(n), consensusPubkey: key(n), vrfPubkey: key(100 + n), moniker: `v${n}`, commissionRate: '0.1', selfStake: stake });
    },
    endBlock: () => module.endBlock!(ctx()) ?? [],
    balance: (address: Uint8Array) => bank.balance(state, address, DENOM),
    supply: () => bank.supplyOf(state, DENOM),
    sumOfBalances() {
      let sum = 0n;
      for (const holder of bank.allHolders(state)) for (const coin of holder.coins) if (coin.denom === DENOM) sum += coin.amount;
      return sum;
    },
  };
}

t.test('validator updates: only changes, sorted by operator address, top max_validators by power', async (t) => {
  const h = setup({ maxValidators: 2 });
  h.validator(3, 300n);
  h.validator(1, 100n);
  h.validator(2, 300n);
  const first = h.endBlock();
  t.same(first, [{ pubKey: { ed25519: key(2) }, power: 3n }, { pubKey: { ed25519: key(3) }, power: 3n }], 'v1 (lowest power) is outside max_validators; tie broken by address');
  t.same(h.staking.bondedValidators(h.state).map((v) => [v.operatorAddress, v.tokens, v.power]), [[encodeAddress(addr(2)), 300n, 3n], [encodeAddress(addr(3)), 300n, 3n]]);
  t.equal(h.staking.totalBonded(h.state), 600n);
  t.same(h.staking.validatorCandidates(h.state), [{ id: encodeAddress(addr(2)), stake: 300n }, { id: encodeAddress(addr(3)), stake: 300n }]);

  h.fund(addr(1), 350n);
  h.staking.delegate(h.ctx(), addr(1), addr(1), 350n);
  const second = h.endBlock();
  t.same(second, [{ pubKey: { ed25519: key(1) }, power: 4n }, { pubKey: { ed25519: key(3) }, power: 0n }], 'v1 enters with 4; of v2 and v3 (3 each) the lower address stays');
  t.same(h.endBlock(), []);

  h.fund(addr(1), 49n);
  h.staking.delegate(h.ctx(), addr(1), addr(2), 49n);
  t.same(h.endBlock(), [], 'tokens that do not change the power do not make an update');
  t.equal(h.staking.validator(h.state, addr(2))?.tokens, '349');
  t.same(h.staking.bondedValidators(h.state).map((v) => v.tokens), [450n, 349n]);
});

t.test('tokens below power_reduction give no power; jailing sends power 0', async (t) => {
  const h = setup({ minSelfStake: '1' });
  h.validator(1, 199n);
  h.validator(2, 99n);
  t.same(h.endBlock(), [{ pubKey: { ed25519: key(1) }, power: 1n }], 'floor(199/100) = 1; 99 → 0 → not in the set');
  h.staking.slashValidator(h.ctx(), addr(1), 0n, 1n, 'double-sign', true);
  t.same(h.endBlock(), [{ pubKey: { ed25519: key(1) }, power: 0n }]);
  t.same(h.staking.bondedValidators(h.state), []);
  t.equal(h.staking.totalBonded(h.state), 0n);
});

t.test('slashValidator burns floor(amount·n/d) of every delegation and unbonding entry; supply stays exact', async (t) => {
  const h = setup();
  h.validator(1, 1000n);
  h.fund(addr(8), 10_000n);
  h.fund(addr(9), 10_000n);
  h.staking.delegate(h.ctx(), addr(8), addr(1), 333n);
  h.staking.delegate(h.ctx(), addr(9), addr(1), 777n);
  h.staking.undelegate(h.ctx(), addr(9), addr(1), 77n); // unbonding entry of 77, still slashable
  h.endBlock();
  const supplyBefore = h.supply();
  const burned = h.staking.slashValidator(h.ctx(), addr(1), 1n, 3n, 'arbiter-panel', true);
  // 1000/3 = 333, 333/3 = 111, 700/3 = 233, unbonding 77/3 = 25
  t.equal(burned, 333n + 111n + 233n + 25n);
  t.equal(h.staking.delegation(h.state, addr(1), addr(1))?.amount, 667n);
  t.equal(h.staking.delegation(h.state, addr(8), addr(1))?.amount, 222n);
  t.equal(h.staking.delegation(h.state, addr(9), addr(1))?.amount, 467n);
  t.equal(h.staking.validator(h.state, addr(1))?.tokens, String(667n + 222n + 467n));
  t.equal([...h.staking.unbondingEntries(h.state)][0].amount, '52');
  t.equal(h.supply(), supplyBefore - burned, 'supply falls by exactly the burn');
  t.equal(h.sumOfBalances(), h.supply(), 'sum of balances = supply');
  t.equal(h.balance(BONDED_POOL), 667n + 222n + 467n, 'bonded pool = validator tokens');
  t.equal(h.balance(UNBONDING_POOL), 52n, 'unbonding pool = entries');
  const ctx = h.ctx();
  h.staking.slashValidator(ctx, addr(1), 1n, 1000n, 'late vote', false);
  const event = ctx.events.events.find((e) => e.type === 'slash')!;
  t.same(event.attributes.map((a) => [a.key, a.index]), [['address', true], ['role', true], ['reason', true], ['fraction', false], ['burned', false], ['jailed', true]]);
  t.equal(event.attributes.find((a) => a.key === 'burned')?.value, '0ur3mes', 'floor per delegation: 667/1000 = 222/1000 = 467/1000 = 52/1000 = 0');
});

t.test('slashMiner burns its stake share and its unbonding entries; jail makes it inactive', async (t) => {
  const h = setup();
  h.fund(addr(7), 10_000n);
  h.staking.registerMiner(h.ctx(), { miner: addr(7), stake: 1001n, backend: BackendClass.BACKEND_CLASS_CPU, gpuArch: 'cpu' });
  h.staking.unbondMiner(h.ctx(), addr(7), 1n);
  h.staking.addMinerStake(h.ctx(), addr(7), 100n);
  const supplyBefore = h.supply();
  const burned = h.staking.slashMiner(h.ctx(), addr(7), 1n, 2n, 'l3-fraud', true);
  t.equal(burned, 550n + 0n, 'floor(1100/2) = 550, floor(1/2) = 0');
  t.equal(h.staking.miner(h.state, addr(7))?.stake, 550n);
  t.equal(h.staking.miner(h.state, addr(7))?.jailed, true);
  t.equal(h.staking.miner(h.state, addr(7))?.jailedUntil, 6n);
  t.same(h.staking.activeMiners(h.state), []);
  t.equal(h.supply(), supplyBefore - 550n);
  t.equal(h.sumOfBalances(), h.supply());
  t.equal(h.staking.slashMiner(h.ctx(), addr(7), 1n, 1n, 'all', false), 550n + 1n, 'a full slash takes the unbonding entry too');
  t.equal(h.balance(BONDED_POOL) + h.balance(UNBONDING_POOL), 0n);
});

t.test('queries answer from state', async (t) => {
  const h = setup();
  h.validator(1, 500n);
  h.fund(addr(7), 1000n);
  h.staking.registerMiner(h.ctx(), { miner: addr(7), stake: 200n, backend: BackendClass.BACKEND_CLASS_WEBGPU, gpuArch: 'apple-m2' });
  h.endBlock();
  const q = h.module.queries;
  const validators = QueryValidatorsResponse.decode(q['/r3mes.staking.v1.Query/Validators'](h.state, new Uint8Array()));
  t.equal(validators.validators[0].power, 5n);
  const pool = QueryPoolResponse.decode(q['/r3mes.staking.v1.Query/Pool'](h.state, new Uint8Array()));
  t.same(pool, { bondedPool: '700', unbondingPool: '0', totalBonded: '500' });
  const miner = QueryMinerResponse.decode(q['/r3mes.staking.v1.Query/Miner'](h.state, QueryMinerRequest.encode({ minerAddress: encodeAddress(addr(7)) }).finish()));
  t.equal(miner.miner?.gpuArch, 'apple-m2');
  // Every described route has a handler, and REST paths are under /r3mes/staking/v1.
  for (const route of stakingInterface.queries) {
    t.ok(q[route.path], `handler for ${route.path}`);
    t.match(route.rest, /^\/r3mes\/staking\/v1\//);
    const args = Object.fromEntries(route.args.map((name) => [name, name === 'delegator' ? encodeAddress(addr(7)) : name === 'miner' ? encodeAddress(addr(7)) : encodeAddress(addr(1))]));
    if (route.name === 'delegation') args.delegator = encodeAddress(addr(1));
    const answer = route.decodeResponse(q[route.path](h.state, route.encodeRequest(args)));
    t.type(answer, 'object', `${route.name} answers JSON`);
  }
  const handlers = new Set(h.module.msgs.map((m) => m.typeUrl));
  for (const command of stakingInterface.txs) t.ok(handlers.has(command.typeUrl), `${command.name} → ${command.typeUrl}`);
  t.same(stakingInterface.registryTypes.map(([url]) => url).sort(), [...handlers].sort());
  const built = stakingInterface.txs.find((c) => c.name === 'create-validator')!.build(encodeAddress(addr(1)), {
    'consensus-pubkey': Buffer.from(key(1)).toString('base64'), 'vrf-pubkey': Buffer.from(key(2)).toString('hex'), 'self-stake': '1000ur3mes', moniker: 'm',
  }, { 'commission-rate': '0.07' }) as Record<string, unknown>;
  t.same(built.consensusPubkey, key(1));
  t.same(built.vrfPubkey, key(2));
  t.equal(built.selfStake, '1000');
});

function stakingEntries(store: ReturnType<typeof emptyState>): string[] {
  const prefix = Buffer.from('staking/').toString('hex');
  return store.changes()
    .map(([k, v]) => `${Buffer.from(k).toString('hex')}=${v === undefined ? '' : Buffer.from(v).toString('hex')}`)
    .filter((entry) => entry.startsWith(prefix));
}

t.test('genesis: exportGenesis(initGenesis(g)) = g, powers derived, InitChain-equivalent state', async (t) => {
  const h = setup();
  h.validator(2, 1000n);
  h.validator(1, 400n);
  h.fund(addr(9), 5000n);
  h.staking.delegate(h.ctx(), addr(9), addr(2), 250n);
  h.staking.undelegate(h.ctx(), addr(9), addr(2), 50n);
  h.fund(addr(7), 5000n);
  h.staking.registerMiner(h.ctx(), { miner: addr(7), stake: 300n, backend: BackendClass.BACKEND_CLASS_WEBGPU, gpuArch: 'nvidia-ada' });
  h.staking.unbondMiner(h.ctx(), addr(7), 100n);
  h.staking.slashValidator(h.ctx(), addr(1), 0n, 1n, 'test', true);
  h.endBlock();

  const stakingGenesis = h.module.exportGenesis(h.state);
  const bankGenesis = bankModule(h.bank).exportGenesis(h.state);
  t.same(JSON.parse(JSON.stringify(stakingGenesis)), stakingGenesis, 'plain JSON');

  const fresh = emptyState();
  const again = setup({}, fresh);
  bankModule(again.bank).initGenesis(fresh, bankGenesis);
  again.module.initGenesis(fresh, stakingGenesis);
  t.same(again.module.exportGenesis(fresh), stakingGenesis, 'round trip');
  t.same(again.staking.bondedValidators(fresh), h.staking.bondedValidators(h.state), 'same bonded set (last powers derived at genesis)');
  t.same(again.endBlock(), [], 'no validator updates right after genesis');
  t.same(stakingEntries(fresh), stakingEntries(h.state as ReturnType<typeof emptyState>), 'identical staking key-value state');

  // default genesis round-trips too
  const empty = setup({}, emptyState());
  const def = empty.module.defaultGenesis();
  empty.module.initGenesis(empty.state, def);
  t.same(empty.module.exportGenesis(empty.state), def);
});

t.test('genesis validators: sorted, unique keys', async (t) => {
  const h = setup();
  h.validator(1, 400n);
  h.validator(2, 400n);
  h.endBlock();
  const g = h.module.exportGenesis(h.state) as { validators: Array<Record<string, unknown>>; delegations: unknown[] };
  const bankGenesis = bankModule(h.bank).exportGenesis(h.state);
  const load = (genesis: unknown) => {
    const s = setup({}, emptyState());
    bankModule(s.bank).initGenesis(s.state, bankGenesis);
    s.module.initGenesis(s.state, genesis);
  };
  t.throws(() => load({ ...g, validators: [...g.validators].reverse() }), /sorted/);
  t.throws(() => load({ ...g, validators: [g.validators[0], { ...g.validators[1], consensusPubkey: g.validators[0].consensusPubkey }] }), /public key already in use/);
  load(g);
});
