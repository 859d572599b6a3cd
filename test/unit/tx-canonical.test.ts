/**
 * isCanonicalTxRaw (app/tx/decode.ts) gives the same answer as "decodes with TxRaw.decode and
 * re-encodes to the same bytes", the rule it replaced, on real txs and on many mutations of them.
 */
import t from 'tap';
import { TxRaw } from 'cosmjs-types/cosmos/tx/v1beta1/tx';
import { isCanonicalTxRaw } from '../../app/tx/decode.ts';
import { msgSend, signTx, testKey } from '../helpers/txs.ts';
import { CHAIN_ID } from '../helpers/app-harness.ts';
import { xorshift32 } from '../helpers/rng.ts';

function reference(bytes: Uint8Array): boolean {
  try {
    return Buffer.compare(Buffer.from(TxRaw.encode(TxRaw.decode(bytes)).finish()), Buffer.from(bytes)) === 0;
  } catch {
    return false;
  }
}

// The same cases every run.
const next = xorshift32(0x12345678);
const rand = (n: number) => next() % n;

t.test('agrees with decode + re-encode', async (t) => {
  const key = await testKey(1);
  const valid = await signTx(key, [msgSend(key.address, key.address, '5')], { chainId: CHAIN_ID, accountNumber: 3n, sequence: 1n });
  const raw = TxRaw.decode(valid);
  const samples: Uint8Array[] = [
    valid,
    TxRaw.encode({ bodyBytes: new Uint8Array(), authInfoBytes: raw.authInfoBytes, signatures: [] }).finish(),
    TxRaw.encode({ bodyBytes: raw.bodyBytes, authInfoBytes: new Uint8Array(), signatures: [new Uint8Array(), raw.signatures[0]] }).finish(),
    TxRaw.encode({ bodyBytes: new Uint8Array(300).fill(1), authInfoBytes: new Uint8Array(20000).fill(2), signatures: [new Uint8Array(200000)] }).finish(),
    new Uint8Array(), Uint8Array.of(0x0a, 0x00), Uint8Array.of(0x1a, 0x00), Uint8Array.of(0x1a, 0x80, 0x00), Uint8Array.of(0x0a, 0x81, 0x00, 1),
    Uint8Array.of(0x1a, 0x01, 7, 0x0a, 0x01, 7), Uint8Array.of(0x0a, 0x01, 7, 0x0a, 0x01, 8), Uint8Array.of(0x12, 0x01, 7, 0x0a, 0x01, 8),
    Uint8Array.of(0x22, 0x01, 7), Uint8Array.of(0x08, 0x01), Uint8Array.of(0x0a, 0x05, 1), Uint8Array.of(0x1a),
    Uint8Array.of(0x8a, 0x00, 0x01, 0x07), Uint8Array.of(0x1a, 0xff, 0xff, 0xff, 0xff, 0x7f),
  ];
  let disagreements = 0;
  let checked = 0;
  const check = (bytes: Uint8Array) => {
    checked++;
    if (isCanonicalTxRaw(bytes) !== reference(bytes)) {
      disagreements++;
      if (disagreements < 5) t.fail(`disagree on ${Buffer.from(bytes.subarray(0, 24)).toString('hex')}… (${bytes.length} bytes)`);
    }
  };
  for (const sample of samples) check(sample);
  for (let i = 0; i < 20000; i++) {
    const base = samples[rand(4)];
    const bytes = Uint8Array.from(base);
    const edits = 1 + rand(3);
    let mutated: Uint8Array = bytes;
    for (let e = 0; e < edits; e++) {
      const kind = rand(4);
      const at = rand(Math.max(1, mutated.length));
      if (kind === 0 && mutated.length > 0) mutated[at] = rand(256);
      else if (kind === 1 && mutated.length > 0) mutated[rand(Math.min(mutated.length, 8))] = rand(256); // near the head: tags and lengths
      else if (kind === 2) mutated = Uint8Array.from([...mutated.subarray(0, at), rand(256), ...mutated.subarray(at)]);
      else mutated = mutated.subarray(0, at);
    }
    check(mutated);
  }
  t.equal(disagreements, 0, `${checked} byte strings`);
  t.ok(isCanonicalTxRaw(valid));
});
