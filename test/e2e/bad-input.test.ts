/**
 * Bad input against a real node (r3mesd + CometBFT v0.38): raw txs through
 * CometBFT's JSON-RPC `broadcast_tx_sync`, each refused with its code and a
 * log; the committed app hash stays the same across the blocks that follow,
 * blocks keep coming, and a valid tx still goes through at the end.
 */
import t, { type Test } from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { secp256k1 as nobleSecp256k1 } from '@noble/curves/secp256k1.js';
import { SignDoc, TxRaw } from 'cosmjs-types/cosmos/tx/v1beta1/tx';
import { BaseAccount } from 'cosmjs-types/cosmos/auth/v1beta1/auth';
import { QueryAccountRequest, QueryAccountResponse } from 'cosmjs-types/cosmos/auth/v1beta1/query';
import { QueryBalanceRequest, QueryBalanceResponse } from 'cosmjs-types/cosmos/bank/v1beta1/query';
import { startDevNode } from '../helpers/devnode.ts';
import { msgSend, sha256, signTx, testKey, type SignOptions, type TestKey } from '../helpers/txs.ts';
import { setTomlValues } from '../../app/node/comet-config.ts';
import { defaultAuthParams } from '../../modules/auth/params.ts';

t.setTimeout(300_000);

const SECP256K1_ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
/** CometBFT's mempool limit for this test: twice the app's, so a tx can be between the two. */
const COMET_MAX_TX_BYTES = 2 * defaultAuthParams.maxTxBytes;

interface BroadcastResult {
  code: number;
  codespace: string;
  log: string;
  hash: string;
}

interface CommitResult {
  check_tx: { code: number; log: string };
  tx_result: { code: number; log: string };
  height: string;
}

const [alice, bob, poor] = await Promise.all([testKey(1), testKey(2), testKey(3)]);
const node = await startDevNode({
  accounts: [{ address: alice.address, coins: '1000000000ur3mes' }, { address: poor.address, coins: '100ur3mes' }],
});
t.teardown(() => node.stop());

const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const broadcast = (tx: Uint8Array) => node.rpc<BroadcastResult>('broadcast_tx_sync', { tx: base64(tx) });

async function abciQuery(path: string, data: Uint8Array): Promise<Uint8Array> {
  const result = await node.rpc<{ response: { code: number; log: string; value: string | null } }>('abci_query', { path, data: Buffer.from(data).toString('hex') });
  if (result.response.code !== 0) throw new Error(`${path}: ${result.response.log}`);
  return new Uint8Array(Buffer.from(result.response.value ?? '', 'base64'));
}

async function account(key: TestKey): Promise<{ accountNumber: bigint; sequence: bigint }> {
  const response = QueryAccountResponse.decode(await abciQuery('/cosmos.auth.v1beta1.Query/Account', QueryAccountRequest.encode({ address: key.address }).finish()));
  const decoded = BaseAccount.decode(response.account?.value ?? new Uint8Array());
  return { accountNumber: decoded.accountNumber, sequence: decoded.sequence };
}

async function balance(key: TestKey): Promise<bigint> {
  const response = QueryBalanceResponse.decode(await abciQuery('/cosmos.bank.v1beta1.Query/Balance', QueryBalanceRequest.encode({ address: key.address, denom: 'ur3mes' }).finish()));
  return BigInt(response.balance?.amount ?? '0');
}

/** A tx alice signs at her committed account number and sequence unless told otherwise. */
async function aliceTx(messages: Array<{ typeUrl: string; value: unknown }> = [msgSend(alice.address, bob.address, '1000')], options: Partial<SignOptions> = {}): Promise<Uint8Array> {
  const { accountNumber, sequence } = await account(alice);
  return signTx(alice, messages, { chainId: node.chainId, accountNumber, sequence, ...options });
}

/** Blocks keep coming, and the committed app hash after them is `appHash`. */
async function sameAppHashAfterBlocks(t: Test, appHash: string, blocks = 2n): Promise<void> {
  const { height } = await node.status();
  await node.waitForHeight(height + blocks, 20_000);
  const after = await node.status();
  t.ok(after.height >= height + blocks, `blocks kept coming (height ${height} → ${after.height})`);
  t.equal(after.appHash, appHash, 'committed app hash unchanged');
}

async function rejected(t: Test, tx: Uint8Array, want: { code: number; log: RegExp }): Promise<void> {
  const before = await node.status();
  const result = await broadcast(tx);
  t.equal(result.code, want.code, `code ${want.code} (got ${result.code}: ${result.log})`);
  t.equal(result.codespace, 'sdk', 'codespace sdk');
  t.match(result.log, want.log, 'the log says what was wrong');
  await sameAppHashAfterBlocks(t, before.appHash);
}

let replayable: Uint8Array;

t.test('a valid tx commits, and CometBFT itself refuses the same bytes again from its cache', async (t) => {
  replayable = await aliceTx([msgSend(alice.address, bob.address, '1000')], { memo: 'pay once' });
  const committed = await node.rpc<CommitResult>('broadcast_tx_commit', { tx: base64(replayable) });
  t.equal(committed.check_tx.code, 0, committed.check_tx.log);
  t.equal(committed.tx_result.code, 0, committed.tx_result.log);
  t.equal(await balance(bob), 1000n);
  await t.rejects(broadcast(replayable), /tx already exists in cache/, 'the mempool cache answers before the app');
});

t.test('restart CometBFT with a mempool limit above the app\'s (its cache is gone with it)', async (t) => {
  const configToml = join(node.home, 'config', 'config.toml');
  const { height } = await node.status();
  await node.killComet('SIGTERM');
  writeFileSync(configToml, setTomlValues(readFileSync(configToml, 'utf8'), [
    ['mempool', 'max_tx_bytes', COMET_MAX_TX_BYTES],
    // Room for a base64 tx over that limit in the JSON-RPC body, so that the mempool (not the HTTP layer) refuses it.
    ['rpc', 'max_body_bytes', 4 * COMET_MAX_TX_BYTES],
  ]));
  node.startComet();
  await node.waitForHeight(height + 2n);
  t.pass('blocks again');
});

t.test('assumption: empty blocks do not change the app hash', async (t) => {
  const { appHash } = await node.status();
  await sameAppHashAfterBlocks(t, appHash, 3n);
});

t.test('refused, each with its code; state untouched', async (t) => {
  const before = { alice: await account(alice), aliceBalance: await balance(alice), bobBalance: await balance(bob), poorBalance: await balance(poor) };

  t.test('malformed bytes: 2', async (t) => {
    await rejected(t, sha256(new TextEncoder().encode('not a tx')), { code: 2, log: /tx parse error/ });
    const valid = await aliceTx();
    await rejected(t, valid.subarray(0, valid.length - 5), { code: 2, log: /cannot decode/ });
    await rejected(t, new Uint8Array([...valid, 0x78, 0x01]), { code: 2, log: /not canonically encoded/ });
  });

  t.test('bad signature (one flipped bit): 4', async (t) => {
    const tx = TxRaw.decode(await aliceTx());
    const flipped = new Uint8Array(tx.signatures[0]);
    flipped[3] ^= 0x10;
    await rejected(t, TxRaw.encode({ ...tx, signatures: [flipped] }).finish(), { code: 4, log: /signature verification failed/ });
  });

  t.test('high-S signature (valid, but the malleated form): 4', async (t) => {
    const tx = TxRaw.decode(await aliceTx());
    const { accountNumber } = await account(alice);
    const signHash = sha256(SignDoc.encode({ bodyBytes: tx.bodyBytes, authInfoBytes: tx.authInfoBytes, chainId: node.chainId, accountNumber }).finish());
    const signature = tx.signatures[0];
    const s = BigInt('0x' + Buffer.from(signature.subarray(32)).toString('hex'));
    const malleated = new Uint8Array([...signature.subarray(0, 32), ...Buffer.from((SECP256K1_ORDER - s).toString(16).padStart(64, '0'), 'hex')]);
    t.ok(nobleSecp256k1.verify(malleated, signHash, alice.pubkey, { prehash: false, lowS: false }), 'mathematically valid');
    await rejected(t, TxRaw.encode({ ...tx, signatures: [malleated] }).finish(), { code: 4, log: /high-S/ });
  });

  t.test('signed for another chain id: 4', async (t) =>
    rejected(t, await aliceTx(undefined, { chainId: 'r3mes-other-1' }), { code: 4, log: new RegExp(`signature verification failed.*chain-id \\(${node.chainId}\\)`) }));

  t.test('replay of the committed tx (reaching the app now): 32', async (t) =>
    rejected(t, replayable, { code: 32, log: /account sequence mismatch, expected 1, got 0/ }));

  t.test('wrong sequence: 32', async (t) =>
    rejected(t, await aliceTx(undefined, { sequence: 5n }), { code: 32, log: /account sequence mismatch, expected 1, got 5/ }));

  t.test('insufficient funds: 5', async (t) => {
    await rejected(t, await aliceTx([msgSend(alice.address, bob.address, '1000000000000')]), { code: 5, log: /spendable balance \d+ur3mes is smaller than 1000000000000ur3mes/ });
    const { accountNumber, sequence } = await account(poor);
    const poorTx = await signTx(poor, [msgSend(poor.address, bob.address, '1')], { chainId: node.chainId, accountNumber, sequence });
    await rejected(t, poorTx, { code: 5, log: /spendable balance 100ur3mes is smaller than 5000ur3mes/ });
  });

  t.test('insufficient fee: 13', async (t) =>
    rejected(t, await aliceTx(undefined, { feeAmount: '1' }), { code: 13, log: /got 1ur3mes, required 5000ur3mes/ }));

  t.test('zero amount: 10', async (t) =>
    rejected(t, await aliceTx([msgSend(alice.address, bob.address, '0')]), { code: 10, log: /amount must be positive/ }));

  t.test('overflowing amount (2^256): 10', async (t) =>
    rejected(t, await aliceTx([msgSend(alice.address, bob.address, (2n ** 256n).toString())]), { code: 10, log: /overflows 2\^256-1/ }));

  t.test('invalid bech32: 7', async (t) => {
    await rejected(t, await aliceTx([msgSend(alice.address, 'r3mes1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq', '1')]), { code: 7, log: /invalid to_address/ });
    await rejected(t, await aliceTx([msgSend(alice.address, bob.address.replace(/^r3mes/, 'cosmos'), '1')]), { code: 7, log: /invalid to_address/ });
  });

  t.test('unknown message type: 6', async (t) => {
    const delegate = {
      typeUrl: '/cosmos.staking.v1beta1.MsgDelegate',
      value: { delegatorAddress: alice.address, validatorAddress: 'r3mesvaloper1abc', amount: { denom: 'ur3mes', amount: '10' } },
    };
    await rejected(t, await aliceTx([delegate]), { code: 6, log: /unknown type "\/cosmos\.staking\.v1beta1\.MsgDelegate"/ });
  });

  t.test('over the app\'s size limit but under CometBFT\'s: 21 from the app', async (t) => {
    const one = msgSend(alice.address, bob.address, '1');
    const tx = await aliceTx(Array.from({ length: Math.ceil(defaultAuthParams.maxTxBytes / 100) }, () => one));
    t.ok(tx.length > defaultAuthParams.maxTxBytes && tx.length < COMET_MAX_TX_BYTES, `${tx.length} bytes`);
    await rejected(t, tx, { code: 21, log: new RegExp(`tx of ${tx.length} bytes exceeds the limit of ${defaultAuthParams.maxTxBytes}`) });
  });

  t.test('over CometBFT\'s own limit: CometBFT refuses it before the app sees it', async (t) => {
    const { appHash } = await node.status();
    const tx = new Uint8Array(COMET_MAX_TX_BYTES + 1);
    await t.rejects(broadcast(tx), new RegExp(`tx too large\\. Max size is ${COMET_MAX_TX_BYTES}, but got ${tx.length}`, 'i'));
    await sameAppHashAfterBlocks(t, appHash);
  });

  t.test('nothing moved, no sequence used', async (t) => {
    t.same(await account(alice), before.alice, 'alice: same account number and sequence');
    t.equal(await balance(alice), before.aliceBalance, 'alice: same balance');
    t.equal(await balance(bob), before.bobBalance, 'bob: same balance');
    t.equal(await balance(poor), before.poorBalance, 'poor: same balance');
  });
  t.end();
});

t.test('the node is alive and a valid tx still succeeds', async (t) => {
  const tx = await aliceTx([msgSend(alice.address, bob.address, '500')], { memo: 'after the storm' });
  const committed = await node.rpc<CommitResult>('broadcast_tx_commit', { tx: base64(tx) });
  t.equal(committed.check_tx.code, 0, committed.check_tx.log);
  t.equal(committed.tx_result.code, 0, committed.tx_result.log);
  t.equal(await balance(bob), 1500n, 'bob received it');
  t.equal((await account(alice)).sequence, 2n, 'alice: second sequence used');
  const { height } = await node.status();
  await node.waitForHeight(height + 1n, 20_000);
  t.pass('blocks keep coming');
});
