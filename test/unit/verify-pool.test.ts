/**
 * Signature verification on worker threads (app/tx/verify-pool.ts) and pipelined CheckTx
 * (R3mesApp.checkTxBatch): the worker's answer equals the inline verifier's for valid, tampered,
 * wrong-account-number, wrong-chain and high-S signatures (account numbers 0, small and large,
 * multi-byte lengths), and a batch of CheckTx answers exactly as the same requests one by one.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { SignDoc } from 'cosmjs-types/cosmos/tx/v1beta1/tx';
import { secp256k1 as nobleSecp256k1 } from '@noble/curves/secp256k1.js';
import { sharedVerifyPool, VerifyPool, type VerifyJob } from '../../app/tx/verify-pool.ts';
import { verifySecp256k1 } from '../../app/tx/signature.ts';
import { createRequire } from 'node:module';
import { CHAIN_ID, genesisFor, startHarness } from '../helpers/app-harness.ts';
import { msgSend, signTx, testKey } from '../helpers/txs.ts';
import { decodeAddress } from '../../app/core/address.ts';

const ORDER = nobleSecp256k1.Point.Fn.ORDER;
const key = await testKey(1);

function job(accountNumber: bigint, chainId: string, bodyLength: number): VerifyJob {
  const bodyBytes = new Uint8Array(bodyLength).map((_, i) => (i * 7) & 0xff);
  const authInfoBytes = Uint8Array.of(1, 2, 3);
  const signBytes = SignDoc.encode({ bodyBytes, authInfoBytes, chainId, accountNumber }).finish();
  const digest = createHash('sha256').update(signBytes).digest();
  const signature = nobleSecp256k1.sign(digest, key.privkey, { prehash: false, lowS: true, format: 'compact' });
  return { bodyBytes, authInfoBytes, chainId, accountNumber, signature, pubkey: key.pubkey };
}

function inline(j: VerifyJob): boolean {
  const signBytes = SignDoc.encode({ bodyBytes: j.bodyBytes, authInfoBytes: j.authInfoBytes, chainId: j.chainId, accountNumber: j.accountNumber }).finish();
  return verifySecp256k1(j.signature, createHash('sha256').update(signBytes).digest(), j.pubkey);
}

t.test('the worker agrees with the inline verifier', async (t) => {
  const pool = new VerifyPool(1, createRequire(import.meta.url).resolve('secp256k1/bindings'));
  t.teardown(() => pool.close());
  const valid = [
    job(0n, CHAIN_ID, 10), job(1n, CHAIN_ID, 200), job(127n, 'c', 127), job(128n, CHAIN_ID, 128),
    job(2n ** 63n + 5n, 'a-much-longer-chain-id-ü', 20_000), job(300n, '', 0),
  ];
  const bad: VerifyJob[] = [
    { ...valid[1], accountNumber: 2n },
    { ...valid[1], chainId: 'other-chain' },
    { ...valid[2], bodyBytes: valid[2].bodyBytes.map((b, i) => (i === 3 ? b ^ 1 : b)) },
    { ...valid[0], signature: valid[0].signature.map((b, i) => (i === 63 ? b ^ 1 : b)) },
    { ...valid[0], pubkey: (await testKey(2)).pubkey },
    { ...valid[0], signature: valid[0].signature.subarray(0, 63) },
    { ...valid[0], pubkey: Uint8Array.of(2, ...new Uint8Array(32)) },
  ];
  // The high-S twin of a valid signature: valid for ECDSA, refused here (malleability).
  const s = BigInt('0x' + Buffer.from(valid[3].signature.subarray(32)).toString('hex'));
  const highS = new Uint8Array(64);
  highS.set(valid[3].signature.subarray(0, 32));
  highS.set(Buffer.from((ORDER - s).toString(16).padStart(64, '0'), 'hex'), 32);
  bad.push({ ...valid[3], signature: highS });
  const all = [...valid, ...bad];
  const ok = await pool.verify(all);
  t.same([...ok], all.map((j) => (inline(j) ? 1 : 0)));
  t.same([...ok], [...valid.map(() => 1), ...bad.map(() => 0)]);
  // Views into a larger buffer are packed, not sent whole.
  const big = new Uint8Array(1 << 20);
  big.set(valid[1].bodyBytes, 1000);
  t.same([...await pool.verify([{ ...valid[1], bodyBytes: big.subarray(1000, 1000 + valid[1].bodyBytes.length) }])], [1]);
});

t.test('a dead worker answers "not checked", never "valid"', async (t) => {
  const pool = new VerifyPool(1, createRequire(import.meta.url).resolve('secp256k1/bindings'));
  await pool.close();
  t.same([...await pool.verify([job(1n, CHAIN_ID, 5)])], [0]);
});

t.test('checkTxBatch answers as CheckTx one by one', async (t) => {
  const keys = await Promise.all([10, 11, 12].map((i) => testKey(i)));
  const stranger = await testKey(13);
  const run = async (batched: boolean) => {
    const harness = await startHarness(genesisFor(keys));
    await harness.block([]);
    const accountNumber = (i: number) => harness.app.auth.getAccount(harness.store.committed(), decodeAddress(keys[i].address))!.accountNumber;
    const txs: Uint8Array[] = [];
    for (let seq = 0n; seq < 3n; seq++) {
      for (let i = 0; i < keys.length; i++) {
        txs.push(await signTx(keys[i], [msgSend(keys[i].address, keys[(i + 1) % keys.length].address, '5')], { chainId: CHAIN_ID, accountNumber: accountNumber(i), sequence: seq }));
      }
    }
    // Wrong account number, wrong chain, a sequence gap, an unknown signer, garbage, a duplicate.
    txs.push(await signTx(keys[0], [msgSend(keys[0].address, keys[1].address, '5')], { chainId: CHAIN_ID, accountNumber: accountNumber(0) + 1n, sequence: 3n }));
    txs.push(await signTx(keys[1], [msgSend(keys[1].address, keys[0].address, '5')], { chainId: 'other', accountNumber: accountNumber(1), sequence: 3n }));
    txs.push(await signTx(keys[2], [msgSend(keys[2].address, keys[0].address, '5')], { chainId: CHAIN_ID, accountNumber: accountNumber(2), sequence: 9n }));
    txs.push(await signTx(stranger, [msgSend(stranger.address, keys[0].address, '5')], { chainId: CHAIN_ID, accountNumber: 0n, sequence: 0n }));
    txs.push(Uint8Array.of(1, 2, 3));
    txs.push(txs[0]);
    txs.push(await signTx(keys[0], [msgSend(keys[0].address, keys[1].address, '7')], { chainId: CHAIN_ID, accountNumber: accountNumber(0), sequence: 3n }));
    const reqs = txs.map((tx) => ({ tx, type: 0 as const }));
    const responses = batched ? await harness.app.checkTxBatch(reqs) : reqs.map((req) => harness.app.checkTx(req));
    const block = await harness.block(txs);
    await harness.close();
    return { responses, results: block.txResults, appHash: block.appHash, byWorker: harness.app.batchSignatureCounts.worker };
  };
  const one = await run(false);
  const batch = await run(true);
  // Only the first chunk (8 txs) stays on the main thread: a small batch still uses the worker.
  if (sharedVerifyPool() !== undefined) t.ok(batch.byWorker > 0, `the worker verified signatures of this 16-tx batch (${batch.byWorker})`);
  t.same(batch.responses, one.responses);
  t.same(batch.results, one.results);
  t.same(batch.appHash, one.appHash);
  t.same(one.responses.map((r) => r.code), [0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 4, 32, 9, 2, 32, 0]);
  t.ok(sharedVerifyPool() === undefined || sharedVerifyPool()!.size > 0);
});

t.test('a batch of many chunks, signatures shared between the worker and the main thread, answers as CheckTx one by one', async (t) => {
  const keys = await Promise.all(Array.from({ length: 40 }, (_, i) => testKey(100 + i)));
  const run = async (batched: boolean, busyWorker = false) => {
    const harness = await startHarness(genesisFor(keys));
    await harness.block([]);
    const accountNumber = (i: number) => harness.app.auth.getAccount(harness.store.committed(), decodeAddress(keys[i].address))!.accountNumber;
    const txs: Uint8Array[] = [];
    for (let seq = 0n; seq < 8n; seq++) {
      for (let i = 0; i < keys.length; i++) {
        const tx = await signTx(keys[i], [msgSend(keys[i].address, keys[(i + 3) % keys.length].address, '5')], { chainId: CHAIN_ID, accountNumber: accountNumber(i), sequence: seq });
        // Every 37th tx gets a broken signature: it fails (code 4) and, in CheckTx, the
        // sender's later txs then fail on their sequence (code 32) — wherever it was verified.
        if (txs.length % 37 === 36) tx[tx.length - 1] ^= 0x01;
        txs.push(tx);
      }
    }
    const reqs = txs.map((tx) => ({ tx, type: 0 as const }));
    const before = { ...harness.app.batchSignatureCounts };
    // A worker still busy with other work (≈ 0.2 s of it) makes the main thread verify from the back of the batch.
    const busy = busyWorker ? sharedVerifyPool()?.verify(Array.from({ length: 3000 }, () => job(1n, CHAIN_ID, 50))) : undefined;
    const responses = batched ? await harness.app.checkTxBatch(reqs) : reqs.map((req) => harness.app.checkTx(req));
    const counts = { worker: harness.app.batchSignatureCounts.worker - before.worker, ahead: harness.app.batchSignatureCounts.ahead - before.ahead };
    await busy;
    const block = await harness.block(txs);
    await harness.close();
    return { responses, results: block.txResults, appHash: block.appHash, counts, n: txs.length };
  };
  const one = await run(false);
  const batch = await run(true);
  const stealing = await run(true, true);
  t.same(stealing.responses, one.responses, 'same CheckTx answers with the worker busy elsewhere');
  t.same(stealing.appHash, one.appHash, 'same app hash with the worker busy elsewhere');
  t.comment(`signatures verified: idle worker ${JSON.stringify(batch.counts)}, busy worker ${JSON.stringify(stealing.counts)}`);
  if (sharedVerifyPool() !== undefined) t.ok(stealing.counts.ahead > 0, `with the worker busy, the main thread verified ahead (${stealing.counts.ahead})`);
  t.equal(one.n, 320);
  t.same(batch.responses, one.responses, 'same CheckTx answers');
  t.same(batch.results, one.results, 'same block results');
  t.same(batch.appHash, one.appHash, 'same app hash');
  const codes = one.responses.map((r) => r.code);
  t.ok(codes.filter((c) => c === 4).length >= 8, `broken signatures refused with code 4 (${codes.filter((c) => c === 4).length})`);
  t.ok(codes.filter((c) => c === 0).length > 200, 'most txs accepted');
  if (sharedVerifyPool() !== undefined) {
    t.ok(batch.counts.worker > 0, `the worker verified some (${batch.counts.worker})`);
    t.ok(batch.counts.worker + batch.counts.ahead <= one.n, `no signature counted twice (${batch.counts.worker} + ${batch.counts.ahead})`);
  } else {
    t.comment('no signature worker on this machine (one core or no native binding): the batch ran inline');
  }
});
