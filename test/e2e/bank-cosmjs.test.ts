import t from 'tap';
import { DirectSecp256k1Wallet } from '@cosmjs/proto-signing';
import { connectSigningClient } from '../../app/client/index.ts';
import { startDevNode } from '../helpers/devnode.ts';
import { testKey } from '../helpers/txs.ts';

t.test('a stock CosmJS SigningStargateClient sends MsgSend with fee "auto" on a real CometBFT', async (t) => {
  const alice = await testKey(1);
  const bob = await testKey(2);
  const node = await startDevNode({ accounts: [{ address: alice.address, coins: '1000000000ur3mes' }] });
  t.teardown(() => node.stop());

  const wallet = await DirectSecp256k1Wallet.fromKey(alice.privkey, 'r3mes');
  const client = await connectSigningClient(node.rpcUrl, wallet);
  t.teardown(() => client.disconnect());

  t.equal(await client.getChainId(), node.chainId);
  // `r3mesd init` writes block.max_gas (app/block-gas.ts); CometBFT runs with it and the sends below fit.
  const params = await node.rpc<{ consensus_params: { block: { max_gas: string } } }>('consensus_params');
  t.equal(params.consensus_params.block.max_gas, '100000000', 'CometBFT\'s block.max_gas is r3mesd init\'s 100,000,000');
  const before = await client.getBalance(alice.address, 'ur3mes');
  t.equal(before.amount, '1000000000');

  const first = await client.sendTokens(alice.address, bob.address, [{ denom: 'ur3mes', amount: '1000' }], 'auto', 'first');
  t.equal(first.code, 0, `first send committed: ${first.rawLog ?? ''}`);
  const second = await client.sendTokens(alice.address, bob.address, [{ denom: 'ur3mes', amount: '250' }], 'auto');
  t.equal(second.code, 0, 'second send committed');
  t.ok(first.gasUsed > 0n && first.gasUsed <= first.gasWanted, `gas used ${first.gasUsed} within wanted ${first.gasWanted}`);

  t.equal((await client.getBalance(bob.address, 'ur3mes')).amount, '1250', 'recipient balance');
  const account = await client.getAccount(alice.address);
  t.equal(account?.sequence, 2, 'sender sequence advanced twice');
  t.ok(account?.pubkey !== null, 'sender pubkey recorded on first tx');
  t.equal(await client.getAccount((await testKey(99)).address), null, 'unknown account reads as null');

  const found = await client.searchTx(`transfer.recipient='${bob.address}'`);
  t.same(found.map((tx) => tx.hash).sort(), [first.transactionHash, second.transactionHash].sort(), 'tx_search by transfer.recipient finds both');
  const bySender = await client.searchTx(`message.sender='${alice.address}'`);
  t.equal(bySender.length, 2, 'tx_search by message.sender');
});
