import t from 'tap';
import { SignatureCache, type VerifiedSignature } from '../../app/tx/signature-cache.ts';

const base = (): VerifiedSignature => ({
  txHash: 'A'.repeat(64),
  accountNumber: 7n,
  chainId: 'r3mes-test-1',
  pubkey: Uint8Array.from({ length: 33 }, (_, i) => (i === 0 ? 2 : i)),
});

t.test('a cached signature counts only for exactly the inputs it was verified with', async (t) => {
  const cache = new SignatureCache();
  t.notOk(cache.has(base()), 'empty cache');
  cache.add(base());
  t.ok(cache.has(base()), 'same inputs (other objects, equal values)');
  t.notOk(cache.has({ ...base(), txHash: 'B'.repeat(64) }), 'another tx');
  t.notOk(cache.has({ ...base(), accountNumber: 8n }), 'another account number');
  t.notOk(cache.has({ ...base(), chainId: 'r3mes-test-2' }), 'another chain-id');
  const otherKey = base().pubkey;
  otherKey[32] ^= 1;
  t.notOk(cache.has({ ...base(), pubkey: otherKey }), 'another pubkey');
  cache.add({ ...base(), accountNumber: 8n });
  t.ok(cache.has({ ...base(), accountNumber: 8n }) && cache.has(base()), 'two entries for one tx');
});

t.test('the cache keeps its own copy of the pubkey', async (t) => {
  const cache = new SignatureCache();
  const check = base();
  cache.add(check);
  check.pubkey[1] ^= 0xff;
  t.notOk(cache.has(check), 'changing the caller\'s array does not change what was verified');
  t.ok(cache.has(base()));
});

t.test('bounded: the oldest tx goes first', async (t) => {
  const cache = new SignatureCache(3);
  const tx = (i: number): VerifiedSignature => ({ ...base(), txHash: String(i).padStart(64, '0') });
  for (let i = 0; i < 4; i++) cache.add(tx(i));
  t.notOk(cache.has(tx(0)), 'tx 0 evicted');
  for (let i = 1; i < 4; i++) t.ok(cache.has(tx(i)), `tx ${i} kept`);
});
