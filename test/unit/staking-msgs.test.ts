/**
 * Staking messages through their handlers (decode → signers → execute) over a real
 * AuthKeeper + BankKeeper on an in-memory state: every message's happy path and one test
 * per staking error code.
 */
import t, { type Test } from 'tap';
import { ChainError, type ErrorKind } from '../../app/core/errors.ts';
import { CacheStore } from '../../app/core/store/cache.ts';
import type { Any } from 'cosmjs-types/google/protobuf/any';
import { AuthKeeper } from '../../modules/auth/keeper.ts';
import { encodeAddress } from '../../app/core/address.ts';
import { BankKeeper } from '../../modules/bank/keeper.ts';
import { stakingErrors } from '../../modules/staking/errors.ts';
import { BONDED_POOL, StakingKeeper, UNBONDING_POOL } from '../../modules/staking/keeper.ts';
import { stakingModule } from '../../modules/staking/module.ts';
import { defaultStakingParams } from '../../modules/staking/params.ts';
import * as tx from '../../proto/gen/r3mes/staking/v1/tx.ts';
import { BackendClass, Params } from '../../proto/gen/r3mes/staking/v1/types.ts';
import { emptyState, testContext } from '../helpers/module-context.ts';

const DENOM = 'ur3mes';
const addr = (n: number) => new Uint8Array(20).fill(n);
const key = (n: number) => new Uint8Array(32).fill(n);

type MsgName = 'MsgCreateValidator' | 'MsgDelegate' | 'MsgUndelegate' | 'MsgUnjail' | 'MsgRegisterMiner' | 'MsgAddMinerStake' | 'MsgUnbondMiner' | 'MsgUnjailMiner' | 'MsgSetContentLocations';

function setup(overrides: Partial<Params> = {}) {
  const state = emptyState();
  const auth = new AuthKeeper();
  const bank = new BankKeeper(auth);
  const staking = new StakingKeeper(bank);
  const module = stakingModule(staking, bank);
  staking.setParams(state, Params.fromPartial({
    ...defaultStakingParams, minSelfStake: '1000', minMinerStake: '500', powerReduction: '100', unbondingBlocks: 10n, jailBlocks: 5n, ...overrides,
  }));
  const h = {
    state, auth, bank, staking, module, height: 1n,
    fund(address: Uint8Array, amount: bigint) {
      bank.mint(state, testContext(state).events, address, [{ denom: DENOM, amount }]);
    },
    /** Runs one message as a tx would: on a cache layer, written only on success. */
    deliver(name: MsgName, value: Record<string, unknown>): { response: Any; events: string[] } {
      const codec = (tx as unknown as Record<string, { fromPartial(v: unknown): unknown; encode(m: unknown): { finish(): Uint8Array } }>)[name];
      const handler = module.msgs.find((m) => m.typeUrl === `/r3mes.staking.v1.${name}`);
      if (handler === undefined) throw new Error(`no handler for ${name}`);
      const msg = handler.decode(codec.encode(codec.fromPartial(value)).finish());
      handler.signers(msg);
      const layer = new CacheStore(state);
      const ctx = testContext(layer, { height: h.height });
      const response = handler.execute(ctx, msg);
      layer.write();
      return { response, events: ctx.events.events.map((e) => e.type) };
    },
    endBlock() {
      return module.endBlock!(testContext(state, { height: h.height })) ?? [];
    },
    balance: (address: Uint8Array) => bank.balance(state, address, DENOM),
    createValidator(n: number, selfStake = '5000', extra: Record<string, unknown> = {}) {
      h.fund(addr(n), 1_000_000n);
      return h.deliver('MsgCreateValidator', {
        operatorAddress: encodeAddress(addr(n)), consensusPubkey: key(n), vrfPubkey: key(100 + n), moniker: `val-${n}`,
        commissionRate: '0.1', selfStake, ...extra,
      });
    },
    registerMiner(n: number, stake = '1000', extra: Record<string, unknown> = {}) {
      h.fund(addr(n), 1_000_000n);
      return h.deliver('MsgRegisterMiner', { minerAddress: encodeAddress(addr(n)), stake, backend: BackendClass.BACKEND_CLASS_WEBGPU, gpuArch: 'nvidia-hopper', ...extra });
    },
    /** Sum of every balance equals the total supply. */
    supplyExact() {
      let sum = 0n;
      for (const holder of bank.allHolders(state)) for (const coin of holder.coins) if (coin.denom === DENOM) sum += coin.amount;
      return sum === bank.supplyOf(state, DENOM);
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

// ---------- happy paths ----------

t.test('MsgCreateValidator bonds the self-stake and creates the validator with its self-delegation', async (t) => {
  const h = setup();
  const { response, events } = h.createValidator(1);
  t.equal(response.typeUrl, '/r3mes.staking.v1.MsgCreateValidatorResponse');
  t.ok(events.includes('create_validator') && events.includes('transfer'));
  const validator = h.staking.validator(h.state, addr(1))!;
  t.equal(validator.tokens, '5000');
  t.equal(validator.moniker, 'val-1');
  t.same(new Uint8Array(validator.consensusPubkey), key(1));
  t.equal(h.staking.delegation(h.state, addr(1), addr(1))?.amount, 5000n);
  t.equal(h.balance(BONDED_POOL), 5000n);
  t.equal(h.balance(addr(1)), 1_000_000n - 5000n);
  t.equal(h.staking.validatorByConsensusAddress(h.state, (await import('../../modules/staking/keeper.ts')).consensusAddress(key(1)))?.operatorAddress, encodeAddress(addr(1)));
  const updates = h.endBlock();
  t.same(updates, [{ pubKey: { ed25519: key(1) }, power: 50n }], 'power = 5000 / 100');
  t.same(h.endBlock(), [], 'no update when nothing changed');
});

t.test('MsgDelegate adds to the delegation and the validator tokens', async (t) => {
  const h = setup();
  h.createValidator(1);
  h.endBlock();
  h.fund(addr(9), 10_000n);
  const { response, events } = h.deliver('MsgDelegate', { delegatorAddress: encodeAddress(addr(9)), validatorAddress: encodeAddress(addr(1)), amount: '2500' });
  t.equal(response.typeUrl, '/r3mes.staking.v1.MsgDelegateResponse');
  t.ok(events.includes('delegate'));
  t.equal(h.staking.delegation(h.state, addr(9), addr(1))?.amount, 2500n);
  t.equal(h.staking.validator(h.state, addr(1))?.tokens, '7500');
  t.equal(h.balance(BONDED_POOL), 7500n);
  t.same(h.endBlock(), [{ pubKey: { ed25519: key(1) }, power: 75n }]);
  t.same(h.staking.delegationsTo(h.state, addr(1)).map((d) => d.amount), [5000n, 2500n], 'delegations in delegator address order');
});

t.test('MsgUndelegate moves stake to the unbonding pool, lowers power now, pays back at maturity', async (t) => {
  const h = setup();
  h.createValidator(1);
  h.fund(addr(9), 10_000n);
  h.deliver('MsgDelegate', { delegatorAddress: encodeAddress(addr(9)), validatorAddress: encodeAddress(addr(1)), amount: '5000' });
  t.same(h.endBlock(), [{ pubKey: { ed25519: key(1) }, power: 100n }]);
  h.height = 20n;
  const { response, events } = h.deliver('MsgUndelegate', { delegatorAddress: encodeAddress(addr(9)), validatorAddress: encodeAddress(addr(1)), amount: '2000' });
  t.equal(response.typeUrl, '/r3mes.staking.v1.MsgUndelegateResponse');
  t.same(tx.MsgUndelegateResponse.decode(response.value), { unbondingId: 0n, completionHeight: 30n });
  t.ok(events.includes('unbond'));
  t.equal(h.balance(UNBONDING_POOL), 2000n);
  t.equal(h.balance(BONDED_POOL), 8000n);
  t.same(h.endBlock(), [{ pubKey: { ed25519: key(1) }, power: 80n }], 'power drops when unbonding starts');
  h.height = 29n;
  h.endBlock();
  t.equal(h.balance(addr(9)), 5000n, 'not paid before completion height');
  h.height = 30n;
  t.same(h.endBlock(), [], 'maturity changes no power');
  t.equal(h.balance(addr(9)), 7000n, 'paid back at completion height');
  t.equal(h.balance(UNBONDING_POOL), 0n);
  t.same([...h.staking.unbondingEntries(h.state)], []);
  t.ok(h.supplyExact());
});

t.test('undelegating all of a delegation removes it', async (t) => {
  const h = setup();
  h.createValidator(1);
  h.fund(addr(9), 10_000n);
  h.deliver('MsgDelegate', { delegatorAddress: encodeAddress(addr(9)), validatorAddress: encodeAddress(addr(1)), amount: '5000' });
  h.deliver('MsgUndelegate', { delegatorAddress: encodeAddress(addr(9)), validatorAddress: encodeAddress(addr(1)), amount: '5000' });
  t.equal(h.staking.delegation(h.state, addr(9), addr(1)), undefined);
  t.same(h.staking.delegationsTo(h.state, addr(1)).map((d) => d.amount), [5000n]);
});

t.test('self-undelegation below min_self_stake jails the validator (power 0)', async (t) => {
  const h = setup();
  h.createValidator(1, '5000');
  h.endBlock();
  const { events } = h.deliver('MsgUndelegate', { delegatorAddress: encodeAddress(addr(1)), validatorAddress: encodeAddress(addr(1)), amount: '4500' });
  t.ok(events.includes('jail'));
  t.equal(h.staking.validator(h.state, addr(1))?.jailed, true);
  t.same(h.endBlock(), [{ pubKey: { ed25519: key(1) }, power: 0n }]);
  t.same(h.staking.bondedValidators(h.state), []);
});

t.test('MsgUnjail restores a jailed validator after jail_blocks', async (t) => {
  const h = setup();
  h.createValidator(1);
  h.endBlock();
  const ctx = testContext(h.state, { height: h.height });
  h.staking.slashValidator(ctx, addr(1), 0n, 1n, 'downtime', true);
  t.same(h.endBlock(), [{ pubKey: { ed25519: key(1) }, power: 0n }], 'jail → power 0');
  h.height = 6n;
  const { response, events } = h.deliver('MsgUnjail', { validatorAddress: encodeAddress(addr(1)) });
  t.equal(response.typeUrl, '/r3mes.staking.v1.MsgUnjailResponse');
  t.ok(events.includes('unjail'));
  t.same(h.endBlock(), [{ pubKey: { ed25519: key(1) }, power: 50n }], 'power back');
});

t.test('MsgRegisterMiner, MsgAddMinerStake, MsgUnbondMiner, MsgUnjailMiner', async (t) => {
  const h = setup();
  let out = h.registerMiner(7, '1000');
  t.equal(out.response.typeUrl, '/r3mes.staking.v1.MsgRegisterMinerResponse');
  t.ok(out.events.includes('register_miner'));
  const miner = h.staking.miner(h.state, addr(7))!;
  t.equal(miner.stake, 1000n);
  t.equal(miner.backend, BackendClass.BACKEND_CLASS_WEBGPU);
  t.equal(miner.gpuArch, 'nvidia-hopper');
  t.equal(h.balance(BONDED_POOL), 1000n);
  t.same(h.staking.activeMiners(h.state).map((m) => m.minerAddress), [encodeAddress(addr(7))]);
  t.same(h.staking.minerCandidates(h.state), [{ id: encodeAddress(addr(7)), stake: 1000n }]);

  out = h.deliver('MsgAddMinerStake', { minerAddress: encodeAddress(addr(7)), amount: '700' });
  t.equal(out.response.typeUrl, '/r3mes.staking.v1.MsgAddMinerStakeResponse');
  t.equal(h.staking.miner(h.state, addr(7))?.stake, 1700n);

  out = h.deliver('MsgUnbondMiner', { minerAddress: encodeAddress(addr(7)), amount: '200' });
  t.same(tx.MsgUnbondMinerResponse.decode(out.response.value), { unbondingId: 0n, completionHeight: 11n });
  t.equal(h.staking.miner(h.state, addr(7))?.stake, 1500n);
  h.height = 11n;
  h.endBlock();
  t.equal(h.balance(addr(7)), 1_000_000n - 1500n);

  h.staking.slashMiner(testContext(h.state, { height: 11n }), addr(7), 0n, 1n, 'bad gradient', true);
  t.same(h.staking.activeMiners(h.state), [], 'jailed miners are not active');
  h.height = 16n;
  out = h.deliver('MsgUnjailMiner', { minerAddress: encodeAddress(addr(7)) });
  t.equal(out.response.typeUrl, '/r3mes.staking.v1.MsgUnjailMinerResponse');
  t.equal(h.staking.miner(h.state, addr(7))?.jailed, false);

  h.deliver('MsgUnbondMiner', { minerAddress: encodeAddress(addr(7)), amount: '1500' });
  t.equal(h.staking.miner(h.state, addr(7))?.stake, 0n, 'a miner may leave by unbonding everything');
  t.same(h.staking.activeMiners(h.state), []);
  h.registerMiner(7, '600', { backend: BackendClass.BACKEND_CLASS_CPU, gpuArch: 'x86_64' });
  t.equal(h.staking.miner(h.state, addr(7))?.backend, BackendClass.BACKEND_CLASS_CPU, 'and register again');
  t.ok(h.supplyExact());
});

// ---------- one test per error code ----------

t.test('staking/2 validator already exists', async (t) => {
  const h = setup();
  h.createValidator(1);
  expectError(t, stakingErrors.validatorExists, () => h.createValidator(1, '5000', { consensusPubkey: key(50), vrfPubkey: key(51) }));
});

t.test('staking/3 validator not found', async (t) => {
  const h = setup();
  h.fund(addr(9), 10_000n);
  expectError(t, stakingErrors.validatorNotFound, () => h.deliver('MsgDelegate', { delegatorAddress: encodeAddress(addr(9)), validatorAddress: encodeAddress(addr(1)), amount: '1' }));
});

t.test('staking/4 public key already in use (consensus and VRF)', async (t) => {
  const h = setup();
  h.createValidator(1);
  expectError(t, stakingErrors.pubkeyInUse, () => h.createValidator(2, '5000', { consensusPubkey: key(1) }));
  expectError(t, stakingErrors.pubkeyInUse, () => h.createValidator(2, '5000', { vrfPubkey: key(101) }));
});

t.test('staking/5 invalid ed25519 public key', async (t) => {
  const h = setup();
  expectError(t, stakingErrors.invalidPubkey, () => h.createValidator(1, '5000', { consensusPubkey: new Uint8Array(31) }));
  expectError(t, stakingErrors.invalidPubkey, () => h.createValidator(1, '5000', { vrfPubkey: new Uint8Array(33) }));
});

t.test('staking/6 invalid commission rate (format, above 1, above max_commission_rate)', async (t) => {
  const h = setup({ maxCommissionRate: '0.2' });
  expectError(t, stakingErrors.invalidCommission, () => h.createValidator(1, '5000', { commissionRate: '0,1' }));
  expectError(t, stakingErrors.invalidCommission, () => h.createValidator(1, '5000', { commissionRate: '1.5' }));
  expectError(t, stakingErrors.invalidCommission, () => h.createValidator(1, '5000', { commissionRate: '0.2000000001' }));
  h.createValidator(1, '5000', { commissionRate: '0.2' });
});

t.test('staking/7 invalid moniker', async (t) => {
  const h = setup();
  expectError(t, stakingErrors.invalidMoniker, () => h.createValidator(1, '5000', { moniker: '' }));
  expectError(t, stakingErrors.invalidMoniker, () => h.createValidator(1, '5000', { moniker: 'x'.repeat(71) }));
});

t.test('staking/8 invalid amount', async (t) => {
  const h = setup();
  h.createValidator(1);
  expectError(t, stakingErrors.invalidAmount, () => h.deliver('MsgDelegate', { delegatorAddress: encodeAddress(addr(1)), validatorAddress: encodeAddress(addr(1)), amount: '0' }));
  expectError(t, stakingErrors.invalidAmount, () => h.deliver('MsgDelegate', { delegatorAddress: encodeAddress(addr(1)), validatorAddress: encodeAddress(addr(1)), amount: '-5' }));
  expectError(t, stakingErrors.invalidAmount, () => h.deliver('MsgDelegate', { delegatorAddress: encodeAddress(addr(1)), validatorAddress: encodeAddress(addr(1)), amount: '1.5' }));
});

t.test('staking/9 self-stake below min_self_stake (create and unjail)', async (t) => {
  const h = setup();
  expectError(t, stakingErrors.selfStakeTooLow, () => h.createValidator(1, '999'));
  h.createValidator(2, '5000');
  h.deliver('MsgUndelegate', { delegatorAddress: encodeAddress(addr(2)), validatorAddress: encodeAddress(addr(2)), amount: '4500' });
  expectError(t, stakingErrors.selfStakeTooLow, () => h.deliver('MsgUnjail', { validatorAddress: encodeAddress(addr(2)) }));
});

t.test('staking/10 delegation not found', async (t) => {
  const h = setup();
  h.createValidator(1);
  expectError(t, stakingErrors.delegationNotFound, () => h.deliver('MsgUndelegate', { delegatorAddress: encodeAddress(addr(9)), validatorAddress: encodeAddress(addr(1)), amount: '1' }));
});

t.test('staking/11 amount exceeds the delegation', async (t) => {
  const h = setup();
  h.createValidator(1);
  expectError(t, stakingErrors.insufficientDelegation, () => h.deliver('MsgUndelegate', { delegatorAddress: encodeAddress(addr(1)), validatorAddress: encodeAddress(addr(1)), amount: '5001' }));
});

t.test('staking/12 not jailed', async (t) => {
  const h = setup();
  h.createValidator(1);
  h.registerMiner(7);
  expectError(t, stakingErrors.notJailed, () => h.deliver('MsgUnjail', { validatorAddress: encodeAddress(addr(1)) }));
  expectError(t, stakingErrors.notJailed, () => h.deliver('MsgUnjailMiner', { minerAddress: encodeAddress(addr(7)) }));
});

t.test('staking/13 still jailed', async (t) => {
  const h = setup();
  h.createValidator(1);
  h.registerMiner(7);
  h.staking.slashValidator(testContext(h.state, { height: 1n }), addr(1), 0n, 1n, 'test', true);
  h.staking.slashMiner(testContext(h.state, { height: 1n }), addr(7), 0n, 1n, 'test', true);
  h.height = 5n;
  expectError(t, stakingErrors.jailPeriodActive, () => h.deliver('MsgUnjail', { validatorAddress: encodeAddress(addr(1)) }));
  expectError(t, stakingErrors.jailPeriodActive, () => h.deliver('MsgUnjailMiner', { minerAddress: encodeAddress(addr(7)) }));
});

t.test('staking/14 miner already registered', async (t) => {
  const h = setup();
  h.registerMiner(7);
  expectError(t, stakingErrors.minerExists, () => h.registerMiner(7));
});

t.test('staking/15 miner not found', async (t) => {
  const h = setup();
  h.fund(addr(7), 10_000n);
  expectError(t, stakingErrors.minerNotFound, () => h.deliver('MsgAddMinerStake', { minerAddress: encodeAddress(addr(7)), amount: '10' }));
  expectError(t, stakingErrors.minerNotFound, () => h.deliver('MsgUnbondMiner', { minerAddress: encodeAddress(addr(7)), amount: '10' }));
});

t.test('staking/16 miner stake below min_miner_stake (register, partial unbond)', async (t) => {
  const h = setup();
  expectError(t, stakingErrors.minerStakeTooLow, () => h.registerMiner(7, '499'));
  h.registerMiner(8, '1000');
  expectError(t, stakingErrors.minerStakeTooLow, () => h.deliver('MsgUnbondMiner', { minerAddress: encodeAddress(addr(8)), amount: '501' }));
});

t.test('staking/17 invalid backend class', async (t) => {
  const h = setup();
  expectError(t, stakingErrors.invalidBackend, () => h.registerMiner(7, '1000', { backend: BackendClass.BACKEND_CLASS_UNSPECIFIED }));
  expectError(t, stakingErrors.invalidBackend, () => h.registerMiner(7, '1000', { backend: 9 }));
});

t.test('staking/18 invalid GPU architecture', async (t) => {
  const h = setup();
  expectError(t, stakingErrors.invalidGpuArch, () => h.registerMiner(7, '1000', { gpuArch: '' }));
  expectError(t, stakingErrors.invalidGpuArch, () => h.registerMiner(7, '1000', { gpuArch: 'has space' }));
  expectError(t, stakingErrors.invalidGpuArch, () => h.registerMiner(7, '1000', { gpuArch: 'a'.repeat(65) }));
});

t.test('staking/19 miner is jailed', async (t) => {
  const h = setup();
  h.registerMiner(7, '1000');
  h.staking.slashMiner(testContext(h.state), addr(7), 1n, 1n, 'fraud', true);
  expectError(t, stakingErrors.minerJailed, () => h.registerMiner(7, '1000'));
});

t.test('staking/20 invalid slash (fraction, reason)', async (t) => {
  const h = setup();
  h.createValidator(1);
  const ctx = testContext(h.state);
  expectError(t, stakingErrors.invalidSlash, () => h.staking.slashValidator(ctx, addr(1), 3n, 2n, 'x', false));
  expectError(t, stakingErrors.invalidSlash, () => h.staking.slashValidator(ctx, addr(1), 1n, 0n, 'x', false));
  expectError(t, stakingErrors.invalidSlash, () => h.staking.slashValidator(ctx, addr(1), -1n, 2n, 'x', false));
  expectError(t, stakingErrors.invalidSlash, () => h.staking.slashMiner(ctx, addr(1), 1n, 2n, '', false));
});

t.test('staking/21 invalid staking params', async (t) => {
  const h = setup();
  const params = h.module.params!;
  const good = params.get(h.state) as Record<string, unknown>;
  expectError(t, stakingErrors.invalidParams, () => params.set(h.state, { ...good, maxValidators: 0 }));
  expectError(t, stakingErrors.invalidParams, () => params.set(h.state, { ...good, powerReduction: '0' }));
  expectError(t, stakingErrors.invalidParams, () => params.set(h.state, { ...good, unbondingBlocks: 'soon' }));
  expectError(t, stakingErrors.invalidParams, () => params.set(h.state, { ...good, bondDenom: 'uatom' }));
  expectError(t, stakingErrors.invalidParams, () => params.set(h.state, { ...good, surprise: 1 }));
  expectError(t, stakingErrors.invalidParams, () => params.set(h.state, 'nope'));
  t.same(params.get(h.state), good, 'nothing changed');
  params.set(h.state, { ...good, unbondingBlocks: '77' });
  t.equal((params.get(h.state) as Record<string, unknown>).unbondingBlocks, '77', 'a valid change applies');
});

t.test('staking/22 amount exceeds the miner stake', async (t) => {
  const h = setup();
  h.registerMiner(7, '1000');
  expectError(t, stakingErrors.insufficientMinerStake, () => h.deliver('MsgUnbondMiner', { minerAddress: encodeAddress(addr(7)), amount: '1001' }));
});

t.test('staking/23 invalid staking genesis', async (t) => {
  const h = setup();
  const genesis = h.module.defaultGenesis() as Record<string, unknown>;
  const validator = {
    operatorAddress: encodeAddress(addr(1)), consensusPubkey: Buffer.from(key(1)).toString('base64'), vrfPubkey: Buffer.from(key(2)).toString('base64'),
    moniker: 'v', commissionRate: '0', tokens: '100',
  };
  // tokens without delegations
  expectError(t, stakingErrors.invalidGenesis, () => h.module.initGenesis(emptyState(), { ...genesis, validators: [validator] }));
  // pools that do not hold the declared stake
  expectError(t, stakingErrors.invalidGenesis, () => h.module.initGenesis(emptyState(), {
    ...genesis, validators: [validator], delegations: [{ delegatorAddress: validator.operatorAddress, validatorAddress: validator.operatorAddress, amount: '100' }],
  }));
  expectError(t, stakingErrors.invalidGenesis, () => h.module.initGenesis(emptyState(), { ...genesis, nextUnbondingId: 'x' }));
});

t.test('MsgSetContentLocations: miners and validators announce, replace and remove where their content is; export/import keeps it', async (t) => {
  const h = setup();
  h.registerMiner(7);
  h.createValidator(8);
  const miner = encodeAddress(addr(7));
  const peer = '/ip4/10.0.0.7/tcp/4001/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA';
  const { events } = h.deliver('MsgSetContentLocations', { owner: miner, locations: ['http://10.0.0.7:4080', peer] });
  t.ok(events.includes('set_content_locations'), 'an event says so');
  t.same(h.staking.contentLocations(h.state, addr(7))?.locations, ['http://10.0.0.7:4080', peer]);
  h.deliver('MsgSetContentLocations', { owner: encodeAddress(addr(8)), locations: ['https://gw.example.org/r3mes'] });
  h.deliver('MsgSetContentLocations', { owner: miner, locations: ['https://miner7.example.org'] });
  t.same(h.staking.contentLocations(h.state, addr(7))?.locations, ['https://miner7.example.org'], 'a second announce replaces the first');
  const exported = h.module.exportGenesis!(h.state) as { contentLocations: unknown[] };
  t.equal(exported.contentLocations.length, 2, 'genesis export lists both owners');
  const again = setup();
  again.fund(BONDED_POOL, 6000n); // the stake export declares (validator 5000 + miner 1000)
  again.module.initGenesis(again.state, exported);
  t.same(again.staking.contentLocations(again.state, addr(7))?.locations, ['https://miner7.example.org'], 'and import restores them');
  const query = h.module.queries![`/r3mes.staking.v1.Query/AllContentLocations`]!(h.state, new Uint8Array());
  t.ok(query.length > 0, 'the list query answers');
  h.deliver('MsgSetContentLocations', { owner: miner, locations: [] });
  t.equal(h.staking.contentLocations(h.state, addr(7)), undefined, 'an empty list removes the entry');
});

t.test('staking/24 neither a registered miner nor a validator; staking/25 invalid content location', async (t) => {
  const h = setup();
  h.fund(addr(9), 1000n);
  expectError(t, stakingErrors.notAnOperator, () => h.deliver('MsgSetContentLocations', { owner: encodeAddress(addr(9)), locations: ['http://10.0.0.9:4080'] }));
  t.equal(h.staking.contentLocations(h.state, addr(9)), undefined, 'nothing stored');
  h.registerMiner(7);
  const owner = encodeAddress(addr(7));
  for (const bad of [
    ['ftp://10.0.0.7/'], ['http://user:pw@host/'], ['http://host/path?q=1'], ['http://host:99999'], ['http://host:4080', 'http://host:4080'],
    ['/ip4/1.2.3.4/tcp/4001'], ['a', 'b', 'c', 'd', 'e'], [`http://h/${'x'.repeat(260)}`], ['javascript:alert(1)'],
  ]) {
    expectError(t, stakingErrors.invalidContentLocation, () => h.deliver('MsgSetContentLocations', { owner, locations: bad }));
  }
  t.equal(h.staking.contentLocations(h.state, addr(7)), undefined, 'no refused announce left anything');
});

t.test('an unfunded account cannot stake (sdk/5 insufficient funds)', async (t) => {
  const h = setup();
  try {
    h.deliver('MsgRegisterMiner', { minerAddress: encodeAddress(addr(3)), stake: '1000', backend: BackendClass.BACKEND_CLASS_CPU, gpuArch: 'cpu' });
    t.fail('expected insufficient funds');
  } catch (error) {
    t.equal((error as ChainError).codespace, 'sdk');
    t.equal((error as ChainError).code, 5);
  }
  t.equal(h.staking.miner(h.state, addr(3)), undefined, 'a failed message leaves no state');
});

t.test('every staking error code has a test above', async (t) => {
  const codes = Object.values(stakingErrors).map((kind) => kind.code).sort((a, b) => a - b);
  t.same(codes, Array.from({ length: codes.length }, (_, i) => i + 2), 'codes 2..N, each once');
  t.equal(codes.length, 24);
});
