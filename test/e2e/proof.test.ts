import t from 'tap';
import { verifyProof } from '../../app/store/proof.ts';
import { concatBytes, utf8 } from '../../app/core/bytes.ts';
import { decodeAddress } from '../../app/core/address.ts';
import { startDevNode } from '../helpers/devnode.ts';
import { testKey } from '../helpers/txs.ts';

interface AbciQueryResult {
  response: { code: number; log: string; value: string | null; height: string; proofOps: { ops: Array<{ type: string; key: string; data: string }> } | null };
}

t.test('abci_query with prove=true returns proofs that verify against the app hash in header H+1', async (t) => {
  const alice = await testKey(1);
  const nobody = await testKey(77);
  const node = await startDevNode({ accounts: [{ address: alice.address, coins: '5000ur3mes' }] });
  t.teardown(() => node.stop());

  const balanceKey = (address: string) => {
    const raw = decodeAddress(address);
    return concatBytes(utf8('b/'), Uint8Array.of(raw.length), raw, utf8('ur3mes'));
  };
  const query = (key: Uint8Array) =>
    node.rpc<AbciQueryResult>('abci_query', { path: '/store/bank/key', data: Buffer.from(key).toString('hex'), prove: true });
  const headerAppHash = async (height: bigint) => {
    await node.waitForHeight(height);
    const block = await node.rpc<{ block: { header: { app_hash: string } } }>('block', { height: height.toString() });
    return new Uint8Array(Buffer.from(block.block.header.app_hash, 'hex'));
  };

  const present = await query(balanceKey(alice.address));
  t.equal(present.response.code, 0, present.response.log);
  const value = new Uint8Array(Buffer.from(present.response.value ?? '', 'base64'));
  t.equal(Buffer.from(value).toString(), '5000', 'the raw balance value');
  const op = present.response.proofOps?.ops[0];
  t.ok(op, 'a proof op is returned');
  const fullKey = new Uint8Array(Buffer.from(op?.key ?? '', 'base64'));
  const proof = new Uint8Array(Buffer.from(op?.data ?? '', 'base64'));
  const appHash = await headerAppHash(BigInt(present.response.height) + 1n);
  t.ok(verifyProof(appHash, fullKey, value, proof), 'inclusion proof verifies against header H+1 app hash');
  t.notOk(verifyProof(appHash, fullKey, utf8('5001'), proof), 'a forged value does not verify');

  const absent = await query(balanceKey(nobody.address));
  t.equal(absent.response.code, 0, absent.response.log);
  t.equal(absent.response.value ?? '', '', 'no value for an absent key');
  const absentOp = absent.response.proofOps?.ops[0];
  t.equal(absentOp?.type, 'ics23:nonexist');
  const absentHash = await headerAppHash(BigInt(absent.response.height) + 1n);
  const absentKey = new Uint8Array(Buffer.from(absentOp?.key ?? '', 'base64'));
  const absentProof = new Uint8Array(Buffer.from(absentOp?.data ?? '', 'base64'));
  t.ok(verifyProof(absentHash, absentKey, undefined, absentProof), 'absence proof verifies');
  t.notOk(verifyProof(absentHash, absentKey, utf8('1'), absentProof), 'an absence proof does not prove a value');

  // An earlier height (a light client asks for H, then checks header H+1): answered from the
  // retained history, against that height's own app hash.
  const old = BigInt(present.response.height);
  await node.waitForHeight(old + 3n);
  const atOld = await node.rpc<AbciQueryResult>('abci_query', {
    path: '/store/bank/key', data: Buffer.from(balanceKey(alice.address)).toString('hex'), prove: true, height: old.toString(),
  });
  t.equal(atOld.response.code, 0, atOld.response.log);
  t.equal(atOld.response.height, old.toString(), 'answered at the height asked for');
  const oldOp = atOld.response.proofOps?.ops[0];
  const oldValue = new Uint8Array(Buffer.from(atOld.response.value ?? '', 'base64'));
  t.ok(verifyProof(await headerAppHash(old + 1n), fullKey, oldValue, new Uint8Array(Buffer.from(oldOp?.data ?? '', 'base64'))), 'historical proof verifies against header H+1');
  const moduleAtOld = await node.rpc<AbciQueryResult>('abci_query', { path: '/cosmos.bank.v1beta1.Query/TotalSupply', data: '', height: old.toString() });
  t.not(moduleAtOld.response.code, 0, 'a module query at an old height is refused with a code');
  t.match(moduleAtOld.response.log, /module queries are answered at the latest height/);
});
