/**
 * Four validators on one machine (test/helpers/localnet.ts, the network `npm run localnet` runs):
 * a few hundred random signed MsgSends spread over the nodes' RPCs; every node has the same app
 * hash at every height; with one node killed (app and cometbft, kill -9) the other three (> 2/3 of
 * the power) go on; restarted, it catches up to the same heights and hashes.
 */
import t from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { msgSend, signTx, testKey, type TestKey } from '../helpers/txs.ts';
import {
  broadcastTxSync, createLocalnet, headers, queryAccount, queryBalance, removeLocalnet, rpcCall, txHashHex, waitFor,
  type Localnet, type LocalnetNode,
} from '../helpers/localnet.ts';

const FEE = 5000n;
const FUNDS = 1_000_000_000_000n;

interface Sender {
  key: TestKey;
  accountNumber: bigint;
  sequence: bigint;
}

interface Sent {
  hash: string;
  from: string;
  to: string;
  amount: bigint;
  node: LocalnetNode;
}

/**
 * Sends `count` random MsgSends, round-robin over the senders, all senders at once. Each sender
 * talks to one node (its txs must reach CheckTx in sequence order; gossip carries them to the
 * others), and the senders are spread over `nodes`.
 */
async function sendRandom(chainId: string, senders: Sender[], recipients: string[], nodes: LocalnetNode[], count: number): Promise<Sent[]> {
  const sent: Sent[] = [];
  const perSender = Math.ceil(count / senders.length);
  await Promise.all(senders.map(async (sender, index) => {
    const node = nodes[index % nodes.length];
    for (let i = 0; i < perSender && sent.length < count; i++) {
      const to = recipients[Math.floor(Math.random() * recipients.length)];
      const amount = BigInt(1 + Math.floor(Math.random() * 10_000));
      const tx = await signTx(sender.key, [msgSend(sender.key.address, to, amount.toString())], {
        chainId, accountNumber: sender.accountNumber, sequence: sender.sequence, feeAmount: FEE.toString(),
      });
      const result = await broadcastTxSync(node.rpcUrl, tx);
      if (result.code !== 0) throw new Error(`CheckTx on ${node.name} rejected a tx of ${sender.key.address} (sequence ${sender.sequence}): code ${result.code} ${result.log}`);
      sender.sequence++;
      sent.push({ hash: txHashHex(tx), from: sender.key.address, to, amount, node });
    }
  }));
  return sent;
}

/** Waits until every tx is found by `tx` on the node it was sent to; returns the codes that are not 0. */
async function waitCommitted(sent: Sent[], timeoutMs: number): Promise<string[]> {
  const pending = new Map(sent.map((tx) => [tx.hash, tx]));
  const failed: string[] = [];
  await waitFor(`${sent.length} txs to commit`, timeoutMs, async () => {
    for (const tx of [...pending.values()]) {
      try {
        const found = await rpcCall<{ height: string; tx_result: { code: number; log: string } }>(tx.node.rpcUrl, 'tx', { hash: Buffer.from(tx.hash, 'hex').toString('base64') });
        pending.delete(tx.hash);
        if (found.tx_result.code !== 0) failed.push(`${tx.hash}@${found.height}: code ${found.tx_result.code} ${found.tx_result.log}`);
      } catch (error) {
        if (!/not found/.test((error as Error).message)) throw error;
      }
    }
    if (pending.size > 0) throw new Error(`${pending.size} of ${sent.length} not committed yet`);
    return true;
  }, 300);
  return failed;
}

/** Heights 1..min(latest) of `nodes` whose header (app hash, block hash) differs between nodes. */
async function compareHeaders(nodes: LocalnetNode[]): Promise<{ upTo: bigint; differences: string[] }> {
  const upTo = (await Promise.all(nodes.map((node) => node.height()))).reduce((a, b) => (a < b ? a : b));
  const all = await Promise.all(nodes.map((node) => headers(node.rpcUrl, 1n, upTo)));
  const differences: string[] = [];
  for (let h = 1n; h <= upTo; h++) {
    const reference = all[0].get(h);
    if (reference === undefined) {
      differences.push(`height ${h}: ${nodes[0].name} has no header`);
      continue;
    }
    all.slice(1).forEach((map, i) => {
      const other = map.get(h);
      if (other?.appHash !== reference.appHash || other?.blockHash !== reference.blockHash) {
        differences.push(`height ${h}: ${nodes[0].name} app ${reference.appHash} block ${reference.blockHash}; ${nodes[i + 1].name} app ${other?.appHash} block ${other?.blockHash}`);
      }
    });
  }
  return { upTo, differences };
}

function expectedBalances(sent: Sent[], senders: Sender[], recipients: string[]): Map<string, bigint> {
  const balances = new Map<string, bigint>([...senders.map((s): [string, bigint] => [s.key.address, FUNDS]), ...recipients.map((r): [string, bigint] => [r, 0n])]);
  for (const tx of sent) {
    balances.set(tx.from, balances.get(tx.from)! - tx.amount - FEE);
    balances.set(tx.to, balances.get(tx.to)! + tx.amount);
  }
  return balances;
}

async function balancesOn(node: LocalnetNode, addresses: Iterable<string>): Promise<Map<string, bigint>> {
  const out = new Map<string, bigint>();
  for (const address of addresses) out.set(address, await queryBalance(node.rpcUrl, address));
  return out;
}

t.test('four validators agree on every app hash, survive one node down, and the node catches up', async (t) => {
  const started = Date.now();
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
  const keys = await Promise.all([201, 202, 203, 204, 205, 206, 207, 208].map((i) => testKey(i)));
  const recipients = (await Promise.all([301, 302, 303, 304, 305, 306].map((i) => testKey(i)))).map((key) => key.address);
  const dir = mkdtempSync(join(tmpdir(), 'r3mes-localnet-'));
  let net: Localnet | undefined;
  t.teardown(async () => {
    await net?.stopAll('SIGTERM');
    if (process.env.R3MES_KEEP_TEST_HOMES === undefined) removeLocalnet(dir);
  });
  net = await createLocalnet({
    dir, chainId: 'r3mes-localnet-e2e', accounts: keys.map((key) => ({ address: key.address, coins: `${FUNDS}ur3mes` })),
    timeoutCommit: '300ms', timeoutPropose: '1s', timeoutVote: '500ms',
  });
  const { nodes } = net;
  net.startAll();
  await net.waitForHeight(2n, 90_000);
  t.comment(`4 nodes producing blocks after ${elapsed()}`);

  const senders: Sender[] = [];
  for (const key of keys) {
    const account = await queryAccount(nodes[0].rpcUrl, key.address);
    if (account === undefined) throw new Error(`genesis account ${key.address} missing`);
    senders.push({ key, ...account });
  }

  // 1. A few hundred txs over all four RPCs.
  const first = await sendRandom(net.chainId, senders, recipients, nodes, 320);
  t.equal(first.length, 320, `320 txs accepted by CheckTx on 4 nodes (${elapsed()})`);
  t.same(await waitCommitted(first, 60_000), [], 'all committed with code 0');
  const allHeights = await compareHeaders(nodes);
  t.ok(allHeights.upTo >= 3n, `compared ${allHeights.upTo} heights`);
  t.same(allHeights.differences, [], `identical app hash and block hash at heights 1..${allHeights.upTo} on all 4 nodes (${elapsed()})`);
  const expected = expectedBalances(first, senders, recipients);
  for (const node of nodes) {
    await waitFor(`${node.name} past the last tx`, 20_000, async () => ((await node.height()) >= allHeights.upTo ? true : undefined));
  }
  const onEach = await Promise.all(nodes.map((node) => balancesOn(node, expected.keys())));
  onEach.forEach((balances, i) => t.same(balances, expected, `${nodes[i].name}: balances match every committed send and fee`));

  // 2. One validator down (app and its cometbft, kill -9): 3 of 4 hold > 2/3 of the power.
  const down = nodes[3];
  const up = nodes.slice(0, 3);
  const downAt = await up[0].height();
  await down.kill('SIGKILL');
  t.notOk(down.running(), `${down.name} killed at height ${downAt}`);
  const second = await sendRandom(net.chainId, senders, recipients, up, 80);
  t.same(await waitCommitted(second, 60_000), [], `80 more txs committed by the 3 remaining nodes (${elapsed()})`);
  await net.waitForHeight(downAt + 8n, 60_000, up);
  t.pass(`chain went on without ${down.name}: past height ${downAt + 8n}`);
  const whileDown = await compareHeaders(up);
  t.same(whileDown.differences, [], `3 remaining nodes identical at heights 1..${whileDown.upTo}`);

  // 3. Restart it: it replays/syncs the blocks it missed and ends on the same hashes.
  down.start();
  const target = await up[0].height();
  await net.waitForHeight(target, 90_000, [down]);
  t.pass(`${down.name} restarted and caught up to height ${target} (${elapsed()})`);
  const afterRestart = await compareHeaders(nodes);
  t.ok(afterRestart.upTo >= target, `compared ${afterRestart.upTo} heights`);
  t.same(afterRestart.differences, [], `identical app hash and block hash at heights 1..${afterRestart.upTo} on all 4 nodes`);
  const all = expectedBalances([...first, ...second], senders, recipients);
  t.same(await balancesOn(down, all.keys()), all, `${down.name}: balances include the txs committed while it was down`);
  const sequences = await Promise.all(senders.map(async (s) => (await queryAccount(down.rpcUrl, s.key.address))?.sequence));
  t.same(sequences, senders.map((s) => s.sequence), `${down.name}: sender sequences`);
  t.comment(`localnet test done in ${elapsed()}`);
});
