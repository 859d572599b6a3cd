/**
 * The REST server in front of a real node (app + CometBFT), with keys from the
 * keyring: read balances and accounts, simulate, broadcast, look the tx up by
 * hash and by events, all through HTTP only.
 */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeSecp256k1Pubkey } from '@cosmjs/amino';
import { encodePubkey, makeAuthInfoBytes, makeSignDoc, Registry } from '@cosmjs/proto-signing';
import { defaultRegistryTypes } from '@cosmjs/stargate';
import { SignMode } from 'cosmjs-types/cosmos/tx/signing/v1beta1/signing';
import { TxRaw } from 'cosmjs-types/cosmos/tx/v1beta1/tx';
import { Keyring } from '../../app/keys/index.ts';
import { startDevNode } from '../helpers/devnode.ts';

const registry = new Registry(defaultRegistryTypes);
/** A test-side view of JSON answers: the assertions check the shapes. */
type Json = Record<string, any>;

async function http(base: string, path: string, init?: { method?: string; body?: unknown }): Promise<{ status: number; body: Json }> {
  const response = await fetch(`${base}${path}`, {
    method: init?.method ?? 'GET',
    headers: init?.body === undefined ? {} : { 'content-type': 'application/json' },
    body: init?.body === undefined ? undefined : JSON.stringify(init.body),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: response.status, body: (await response.json()) as Json };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

t.test('REST against a real node: query, simulate, broadcast, look up', async (t) => {
  const keyDir = mkdtempSync(join(tmpdir(), 'r3mes-rest-e2e-'));
  t.teardown(() => rmSync(keyDir, { recursive: true, force: true }));
  const keyring = Keyring.open(keyDir, 'test');
  const alice = await keyring.import('alice', `${'abandon '.repeat(23)}art`);
  const bob = await keyring.add('bob');

  const node = await startDevNode({ accounts: [{ address: alice.address, coins: '1000000000ur3mes' }] });
  t.teardown(() => node.stop());
  const rest = node.restUrl;
  await waitFor('REST server', async () => ((await http(rest, '/health')).status === 200 ? true : undefined));

  const health = await http(rest, '/health');
  t.equal(health.body.network, node.chainId, 'health: chain id');
  t.ok(BigInt(health.body.latest_block_height) >= 2n, 'health: height');

  const balances = await http(rest, `/cosmos/bank/v1beta1/balances/${alice.address}`);
  t.equal(balances.status, 200);
  t.same(balances.body.balances, [{ denom: 'ur3mes', amount: '1000000000' }], 'genesis balance');
  const byDenom = await http(rest, `/cosmos/bank/v1beta1/balances/${alice.address}/by_denom?denom=ur3mes`);
  t.same(byDenom.body, { balance: { denom: 'ur3mes', amount: '1000000000' } });
  const supply = await http(rest, '/cosmos/bank/v1beta1/supply');
  t.equal(supply.status, 200);
  t.ok((supply.body.supply as Json[]).some((c) => c.denom === 'ur3mes'), 'supply lists ur3mes');

  const unknown = await http(rest, `/cosmos/auth/v1beta1/accounts/${bob.address}`);
  t.equal(unknown.status, 404, `unknown account is 404: ${JSON.stringify(unknown.body)}`);
  t.same(unknown.body.details, []);

  const account = await http(rest, `/cosmos/auth/v1beta1/accounts/${alice.address}`);
  t.equal(account.status, 200, `account: ${JSON.stringify(account.body)}`);
  t.match(account.body.account, { '@type': '/cosmos.auth.v1beta1.BaseAccount', address: alice.address, sequence: '0' });

  // Sign a MsgSend with the keyring's signer, as the CLI will.
  const signer = await keyring.signer('alice');
  const sign = async (sequence: bigint, gasLimit: number): Promise<Uint8Array> => {
    const bodyBytes = registry.encode({
      typeUrl: '/cosmos.tx.v1beta1.TxBody',
      value: { messages: [{ typeUrl: '/cosmos.bank.v1beta1.MsgSend', value: { fromAddress: alice.address, toAddress: bob.address, amount: [{ denom: 'ur3mes', amount: '777' }] } }], memo: 'rest e2e' },
    });
    const pubkey = encodePubkey(encodeSecp256k1Pubkey(Buffer.from(alice.pubkey, 'base64')));
    const authInfoBytes = makeAuthInfoBytes([{ pubkey, sequence }], [{ denom: 'ur3mes', amount: '5000' }], gasLimit, undefined, undefined, SignMode.SIGN_MODE_DIRECT);
    const signDoc = makeSignDoc(bodyBytes, authInfoBytes, node.chainId, Number(account.body.account.account_number));
    const { signature } = await signer.signDirect(alice.address, signDoc);
    return TxRaw.encode({ bodyBytes, authInfoBytes, signatures: [Buffer.from(signature.signature, 'base64')] }).finish();
  };

  const simulated = await http(rest, '/cosmos/tx/v1beta1/simulate', { method: 'POST', body: { tx_bytes: Buffer.from(await sign(0n, 200_000)).toString('base64') } });
  t.equal(simulated.status, 200, `simulate: ${JSON.stringify(simulated.body)}`);
  const gasUsed = BigInt(simulated.body.gas_info?.gas_used ?? '0');
  t.ok(gasUsed > 0n, `simulate reports gas used (${gasUsed})`);

  const txBytes = await sign(0n, Number((gasUsed * 15n) / 10n) + 10_000);
  const broadcast = await http(rest, '/cosmos/tx/v1beta1/txs', { method: 'POST', body: { tx_bytes: Buffer.from(txBytes).toString('base64'), mode: 'BROADCAST_MODE_SYNC' } });
  t.equal(broadcast.status, 200);
  t.equal(broadcast.body.tx_response.code, 0, `CheckTx accepted: ${broadcast.body.tx_response.raw_log}`);
  const hash = broadcast.body.tx_response.txhash as string;
  t.match(hash, /^[0-9A-F]{64}$/);

  const found = await waitFor('tx by hash', async () => {
    const res = await http(rest, `/cosmos/tx/v1beta1/txs/${hash.toLowerCase()}`);
    return res.status === 200 ? res.body : undefined;
  });
  t.equal(found.tx_response.code, 0, `tx committed: ${found.tx_response.raw_log}`);
  t.equal(found.tx_response.txhash, hash);
  t.ok(found.tx_response.timestamp.length > 0, 'block time');
  t.match(found.tx.body.messages[0], { '@type': '/cosmos.bank.v1beta1.MsgSend', from_address: alice.address, to_address: bob.address, amount: [{ denom: 'ur3mes', amount: '777' }] });
  t.ok((found.tx_response.events as Json[]).some((e) => e.type === 'transfer'), 'transfer event');

  t.same((await http(rest, `/cosmos/bank/v1beta1/balances/${bob.address}`)).body.balances, [{ denom: 'ur3mes', amount: '777' }], 'recipient balance');
  const after = await http(rest, `/cosmos/auth/v1beta1/accounts/${alice.address}`);
  t.match(after.body.account, { sequence: '1', pub_key: { '@type': '/cosmos.crypto.secp256k1.PubKey', key: alice.pubkey } }, 'sequence and pubkey after the tx');

  const search = await http(rest, `/cosmos/tx/v1beta1/txs?query=${encodeURIComponent(`message.sender='${alice.address}'`)}`);
  t.equal(search.status, 200);
  t.ok((search.body.tx_responses as Json[]).some((r) => r.txhash === hash), 'tx_search by message.sender');

  const again = await http(rest, '/cosmos/tx/v1beta1/txs', { method: 'POST', body: { tx_bytes: Buffer.from(txBytes).toString('base64'), mode: 'BROADCAST_MODE_SYNC' } });
  t.equal(again.status, 200);
  t.not(again.body.tx_response.code, 0, `replay refused (code ${again.body.tx_response.code}: ${again.body.tx_response.raw_log})`);

  const bad = await http(rest, '/cosmos/bank/v1beta1/balances/cosmos1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqnrql8a');
  t.equal(bad.status, 400);
});
