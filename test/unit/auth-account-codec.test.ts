/**
 * The hand-written account codec (modules/auth/keeper.ts) stores exactly the bytes cosmjs-types'
 * BaseAccount encoder gives for `accountToProto`, and reads back what it or cosmjs-types wrote.
 */
import t from 'tap';
import { BaseAccount } from 'cosmjs-types/cosmos/auth/v1beta1/auth';
import { AuthKeeper, accountToProto, type Account } from '../../modules/auth/keeper.ts';
import { CacheStore } from '../../app/core/store/cache.ts';
import { SortedMemStore } from '../helpers/verification-testbed.ts';
import { utf8 } from '../../app/core/bytes.ts';

const auth = new AuthKeeper();
const numbers = [0n, 1n, 127n, 128n, 300n, 16_383n, 16_384n, 2n ** 32n, 2n ** 63n, 2n ** 64n - 1n];
const pubkeys = [undefined, Uint8Array.from({ length: 33 }, (_, i) => (i === 0 ? 2 : i * 9))];
const addresses = [new Uint8Array(20).fill(7), Uint8Array.from({ length: 32 }, (_, i) => i)];

t.test('stored bytes equal cosmjs-types BaseAccount encoding; round trip', async (t) => {
  let cases = 0;
  for (const address of addresses) for (const pubkey of pubkeys) for (const accountNumber of numbers) for (const sequence of numbers) {
    const account: Account = { address, accountNumber, sequence, pubkey };
    const store = new CacheStore(new SortedMemStore());
    auth.setAccount(store, account);
    const key = new Uint8Array([...utf8('auth/a/'), ...address]);
    const stored = store.get(key)!;
    const expected = BaseAccount.encode(accountToProto(account)).finish();
    if (Buffer.compare(Buffer.from(stored), Buffer.from(expected)) !== 0) t.fail(`bytes differ for ${JSON.stringify({ accountNumber: `${accountNumber}`, sequence: `${sequence}`, pubkey: pubkey !== undefined })}`);
    t.same(auth.getAccount(store, address), account);
    cases++;
  }
  t.ok(cases > 100);
});

t.test('bytes the fast reader does not expect still decode (generic path)', async (t) => {
  const address = addresses[0];
  const store = new CacheStore(new SortedMemStore());
  const key = new Uint8Array([...utf8('auth/a/'), ...address]);
  // Fields out of order, and a pubkey Any written with an unknown extra field skipped by the generic decoder.
  const reordered = Uint8Array.from([0x20, 5, 0x18, 9]);
  store.set(key, reordered);
  t.same(auth.getAccount(store, address), { address, accountNumber: 9n, sequence: 5n, pubkey: undefined });
  const generic = BaseAccount.decode(reordered);
  t.equal(generic.sequence, 5n);
});
