import t from 'tap';
import { genesisFor, startHarness, CHAIN_ID } from '../helpers/app-harness.ts';
import { msgSend, signTx, testKey } from '../helpers/txs.ts';

t.test('MsgSend through CheckTx, FinalizeBlock and Commit moves coins and pays the fee', async (t) => {
  const alice = await testKey(1);
  const bob = await testKey(2);
  const h = await startHarness(genesisFor([alice]));
  t.teardown(() => h.close());
  const tx = await signTx(alice, [msgSend(alice.address, bob.address, '1234')], { chainId: CHAIN_ID, accountNumber: 0n, sequence: 0n });
  const checked = h.check(tx);
  t.equal(checked.code, 0, `CheckTx accepts: ${checked.log}`);
  t.same(checked.events, [], 'CheckTx answers without events (app/core/events.ts DiscardedEventLog: no one reads them)');
  t.ok(checked.gasUsed > 0n && checked.gasUsed <= checked.gasWanted, `CheckTx still meters gas (${checked.gasUsed} of ${checked.gasWanted})`);
  const block = await h.block([tx]);
  t.equal(block.txResults.length, 1);
  t.equal(block.txResults[0].code, 0, block.txResults[0].log);
  const store = h.store.committed();
  const aliceRaw = (await import('../../app/core/address.ts')).decodeAddress(alice.address);
  const bobRaw = (await import('../../app/core/address.ts')).decodeAddress(bob.address);
  t.equal(h.app.bank.balance(store, bobRaw, 'ur3mes'), 1234n);
  t.equal(h.app.bank.balance(store, aliceRaw, 'ur3mes'), 1_000_000_000n - 1234n - 5000n);
  t.equal(h.app.auth.getAccount(store, aliceRaw)?.sequence, 1n);
  t.equal(h.app.bank.supplyOf(store, 'ur3mes'), 1_000_000_000n, 'supply unchanged by a transfer');
  const types = block.txResults[0].events.map((e) => e.type);
  for (const type of ['message', 'transfer', 'coin_spent', 'coin_received', 'tx']) t.ok(types.includes(type), `event ${type}`);
  t.equal(block.txResults[0].gasUsed, checked.gasUsed, 'FinalizeBlock uses the gas CheckTx measured (events cost no gas)');

  const appHash = h.store.lastAppHash;
  await h.reopen();
  t.same(h.store.lastAppHash, appHash, 'same app hash after reopening the database');
  t.equal(h.app.bank.balance(h.store.committed(), bobRaw, 'ur3mes'), 1234n);
});

t.test('a tx decoded in CheckTx does not change when the caller reuses its buffer', async (t) => {
  const alice = await testKey(1);
  const bob = await testKey(2);
  const h = await startHarness(genesisFor([alice]));
  t.teardown(() => h.close());
  const tx = await signTx(alice, [msgSend(alice.address, bob.address, '77')], { chainId: CHAIN_ID, accountNumber: 0n, sequence: 0n });
  const pristine = tx.slice();
  t.equal(h.check(tx).code, 0);
  tx.fill(0xee); // the caller reuses its buffer for something else
  const block = await h.block([pristine]);
  t.equal(block.txResults[0].code, 0, block.txResults[0].log);
  const { TxRaw } = await import('cosmjs-types/cosmos/tx/v1beta1/tx');
  const signature = Buffer.from(TxRaw.decode(pristine).signatures[0]).toString('base64');
  const attributes = block.txResults[0].events.filter((e) => e.type === 'tx').flatMap((e) => e.attributes);
  t.equal(attributes.find((a) => a.key === 'signature')?.value, signature, 'the block sees the tx as signed, not the reused buffer');
});
