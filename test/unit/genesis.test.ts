import t from 'tap';
import { buildModules } from '../../app/modules.ts';
import { validateAppState as validateWith } from '../../genesis/app-state.ts';
import { ChainError } from '../../app/core/errors.ts';
import { decodeAddress } from '../../app/core/address.ts';
import { genesisFor, startHarness, CHAIN_ID } from '../helpers/app-harness.ts';
import { msgSend, signTx, testKey } from '../helpers/txs.ts';

/** What `r3mesd genesis validate` runs: the node's modules' checks. */
const validateAppState = (state: Record<string, unknown>) => validateWith(buildModules().modules, state);

t.test('export at a height, import into a new chain: identical state root and identical export', async (t) => {
  const keys = await Promise.all([1, 2, 3].map(testKey));
  const h = await startHarness(genesisFor(keys));
  t.teardown(() => h.close());
  const sender = h.app.auth.getAccount(h.store.working(), decodeAddress(keys[0].address));
  t.ok(sender, 'genesis holder has an account');
  for (let i = 0; i < 3; i++) {
    const tx = await signTx(keys[0], [msgSend(keys[0].address, keys[1 + (i % 2)].address, String(100 + i))], { chainId: CHAIN_ID, accountNumber: sender?.accountNumber ?? 0n, sequence: BigInt(i) });
    const block = await h.block([tx]);
    t.equal(block.txResults[0].code, 0, block.txResults[0].log);
  }
  const exported = h.app.exportGenesis();
  const fresh = await startHarness(exported);
  t.teardown(() => fresh.close());
  t.same(fresh.store.workingHash(), h.store.lastAppHash, 'imported state has the exporting chain\'s app hash');
  t.same(fresh.app.exportGenesis(fresh.store.working()), exported, 'export(import(g)) = g');
  t.same(JSON.parse(JSON.stringify(exported)), exported, 'export is plain JSON');
});

t.test('genesis validation rejects bad app state with a clear error', async (t) => {
  const alice = await testKey(1);
  const good = genesisFor([alice]);
  t.doesNotThrow(() => validateAppState(good));
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['unknown module', { ...good, nosuch: {} }, /unknown module "nosuch"/],
    ['bad address', { bank: { balances: [{ address: 'cosmos1xyz', coins: [] }], supply: [] } }, /invalid genesis balance address/],
    ['supply mismatch', { bank: { balances: (good.bank as { balances: unknown[] }).balances, supply: [{ denom: 'ur3mes', amount: '1' }] } }, /supply of ur3mes/],
    ['zero balance', { bank: { balances: [{ address: alice.address, coins: [{ denom: 'ur3mes', amount: '0' }] }], supply: [] } }, /is zero/],
    ['overflow', { bank: { balances: [{ address: alice.address, coins: [{ denom: 'ur3mes', amount: (1n << 256n).toString() }] }], supply: [] } }, /overflows/],
  ];
  for (const [name, state, pattern] of cases) {
    let thrown: unknown;
    try {
      validateAppState(state);
    } catch (error) {
      thrown = error;
    }
    t.ok(thrown instanceof ChainError && pattern.test(thrown.message), `${name}: ${String(thrown)}`);
  }
});
