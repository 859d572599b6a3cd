/**
 * Module accounts are blocked addresses (bank README "Blocked addresses"; issue 12, item 1: one
 * MsgSend to the rewards pool halted the chain at the next window). Through the real app: a
 * MsgSend to each module account is refused with sdk 4 in CheckTx and in FinalizeBlock, and
 * nothing but the fee and the sequence changes.
 */
import t from 'tap';
import { decodeAddress, encodeAddress, moduleAddress } from '../../app/core/address.ts';
import { bytesEqual } from '../../app/core/bytes.ts';
import { MODULE_ACCOUNTS } from '../../app/modules.ts';
import { genesisFor, startHarness, CHAIN_ID } from '../helpers/app-harness.ts';
import { msgSend, signTx, testKey } from '../helpers/txs.ts';

const NAMES = ['fee_collector', 'bonded_pool', 'unbonding_pool', 'rewards_pool', 'community_pool', 'model', 'verification'];
const FEE = 5000n;

t.test('the blocked set is every module account', async (t) => {
  t.same(MODULE_ACCOUNTS.map(([name]) => name), NAMES);
  for (const [name, address] of MODULE_ACCOUNTS) t.ok(bytesEqual(address, moduleAddress(name)), `${name} = moduleAddress("${name}")`);
  const h = await startHarness({});
  t.teardown(() => h.close());
  for (const name of NAMES) t.ok(h.app.bank.isBlocked(moduleAddress(name)), `${name} is blocked`);
  t.notOk(h.app.bank.isBlocked(decodeAddress((await testKey(1)).address)), 'a user address is not');
});

t.test('a MsgSend to any module account is refused with sdk 4; state is untouched but for fee and sequence', async (t) => {
  const alice = await testKey(1);
  const bob = await testKey(2);
  const h = await startHarness(genesisFor([alice]));
  t.teardown(() => h.close());
  const aliceRaw = decodeAddress(alice.address);
  const bobRaw = decodeAddress(bob.address);
  await h.block([]); // genesis committed: read committed state from here on
  let sequence = 0n;

  for (const name of NAMES) {
    const target = moduleAddress(name);
    const to = encodeAddress(target);
    const state = h.store.committed();
    const before = {
      target: h.app.bank.allBalances(state, target), alice: h.app.bank.balance(state, aliceRaw, 'ur3mes'),
      supply: h.app.bank.totalSupply(state), targetAccount: h.app.auth.getAccount(state, target),
    };
    const tx = await signTx(alice, [msgSend(alice.address, to, '1')], { chainId: CHAIN_ID, accountNumber: 0n, sequence });
    const checked = h.check(tx);
    t.equal(checked.codespace, 'sdk', `${name}: CheckTx codespace`);
    t.equal(checked.code, 4, `${name}: CheckTx refuses (unauthorized): ${checked.log}`);
    t.match(checked.log, `${to} is not allowed to receive funds`, `${name}: the log names the address`);

    // A proposer may still include it: FinalizeBlock refuses it the same way.
    const block = await h.block([tx]);
    const result = block.txResults[0];
    t.equal(result.codespace, 'sdk', `${name}: FinalizeBlock codespace`);
    t.equal(result.code, 4, `${name}: FinalizeBlock refuses: ${result.log}`);
    t.match(result.log, `${to} is not allowed to receive funds`);
    const transfers = result.events.filter((e) => e.type === 'transfer').map((e) => Object.fromEntries(e.attributes.map((a) => [a.key, a.value])));
    t.same(transfers.filter((e) => e.recipient === to && e.amount === '1ur3mes'), [], `${name}: no transfer of the 1ur3mes to it`);
    sequence += 1n; // the ante handler ran: fee paid, sequence used (as for any failed tx)

    const after = h.store.committed();
    // The fee collector is paid the fee by the ante handler, as for every tx; nothing else reaches it.
    const expected = name === 'fee_collector' ? [{ denom: 'ur3mes', amount: (before.target[0]?.amount ?? 0n) + FEE }] : before.target;
    t.same(h.app.bank.allBalances(after, target), expected, `${name}: its balance is unchanged (but for the fee collector's fee)`);
    if (name !== 'fee_collector') t.same(h.app.auth.getAccount(after, target), before.targetAccount, `${name}: no account created or changed for it`);
    t.same(h.app.bank.totalSupply(after), before.supply, `${name}: supply unchanged`);
    t.equal(h.app.bank.balance(after, aliceRaw, 'ur3mes'), before.alice - FEE, `${name}: the sender lost the fee only`);
    t.equal(h.app.auth.getAccount(after, aliceRaw)?.sequence, sequence);
  }

  // A tx that pays a user and a module account fails as a whole: the first send is dropped too.
  const mixed = await signTx(alice, [msgSend(alice.address, bob.address, '10'), msgSend(alice.address, encodeAddress(moduleAddress('rewards_pool')), '1')], { chainId: CHAIN_ID, accountNumber: 0n, sequence });
  const mixedResult = (await h.block([mixed])).txResults[0];
  t.equal(mixedResult.code, 4, mixedResult.log);
  t.equal(h.app.bank.balance(h.store.committed(), bobRaw, 'ur3mes'), 0n, 'the user part of a refused tx is not applied');
  sequence += 1n;

  // Sends between users still work, with the same gas as before.
  const honest = await signTx(alice, [msgSend(alice.address, bob.address, '10')], { chainId: CHAIN_ID, accountNumber: 0n, sequence });
  const honestResult = (await h.block([honest])).txResults[0];
  t.equal(honestResult.code, 0, honestResult.log);
  t.equal(h.app.bank.balance(h.store.committed(), bobRaw, 'ur3mes'), 10n);
});

t.test('a MsgSend to a module account is refused before its balance is checked', async (t) => {
  const alice = await testKey(1);
  const h = await startHarness(genesisFor([alice], 10_000n));
  t.teardown(() => h.close());
  const tx = await signTx(alice, [msgSend(alice.address, encodeAddress(moduleAddress('bonded_pool')), '999999999')], { chainId: CHAIN_ID, accountNumber: 0n, sequence: 0n });
  const checked = h.check(tx);
  t.equal(checked.code, 4, `unauthorized, not insufficient funds: ${checked.log}`);
});

t.test('genesis refuses a module account as validator operator, delegator, unbonding recipient or miner', async (t) => {
  const { buildModules } = await import('../../app/modules.ts');
  const { validateAppState } = await import('../../genesis/app-state.ts');
  const { ChainError } = await import('../../app/core/errors.ts');
  const modules = buildModules().modules;
  const user = (await testKey(1)).address;
  const blocked = encodeAddress(moduleAddress('community_pool'));
  const pool = encodeAddress(moduleAddress('bonded_pool'));
  const key = (n: number) => Buffer.alloc(32, n).toString('base64');
  const validator = (operator: string) => ({ operatorAddress: operator, consensusPubkey: key(1), vrfPubkey: key(2), moniker: 'v', commissionRate: '0.1', tokens: '1000000', jailed: false, jailedUntil: '0', createdHeight: '0' });
  const sorted = (list: Array<{ address: string; coins: unknown[] }>) => list.sort((a, b) => Buffer.compare(decodeAddress(a.address), decodeAddress(b.address)));
  const state = (staking: Record<string, unknown>, extraBonded = 0n) => ({
    bank: { balances: sorted([{ address: pool, coins: [{ denom: 'ur3mes', amount: (1_000_000n + extraBonded).toString() }] }]), supply: [] },
    staking: { validators: [], delegations: [], unbondingEntries: [], miners: [], nextUnbondingId: '0', ...staking },
  });
  const refused = (name: string, appState: Record<string, unknown>) => {
    let thrown: unknown;
    try {
      validateAppState(modules, appState);
    } catch (error) {
      thrown = error;
    }
    t.ok(thrown instanceof ChainError && thrown.codespace === 'staking' && thrown.code === 23 && /is a module account/.test(thrown.message), `${name}: ${String(thrown)}`);
  };
  t.doesNotThrow(() => validateAppState(modules, state({ validators: [validator(user)], delegations: [{ delegatorAddress: user, validatorAddress: user, amount: '1000000' }] })), 'a user validator is fine');
  refused('operator', state({ validators: [validator(blocked)], delegations: [{ delegatorAddress: blocked, validatorAddress: blocked, amount: '1000000' }] }));
  refused('delegator', state({ validators: [validator(user)], delegations: [{ delegatorAddress: blocked, validatorAddress: user, amount: '1000000' }] }));
  refused('miner', state({ miners: [{ address: blocked, stake: '1000000', backend: 'BACKEND_CLASS_CPU', gpuArch: 'cpu', jailed: false, jailedUntil: '0', registeredHeight: '0' }] }));
  const unbondingPool = encodeAddress(moduleAddress('unbonding_pool'));
  refused('unbonding recipient', {
    bank: { balances: sorted([{ address: unbondingPool, coins: [{ denom: 'ur3mes', amount: '5' }] }]), supply: [] },
    staking: { validators: [], delegations: [], miners: [], nextUnbondingId: '1', unbondingEntries: [{ id: '0', delegatorAddress: blocked, validatorAddress: '', kind: 'UNBONDING_KIND_MINER', amount: '5', creationHeight: '1', completionHeight: '2' }] },
  });
});
