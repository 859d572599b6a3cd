/**
 * Issue 12, item 2, end to end: a live node (r3mesd + a real CometBFT v0.38.25) while txs flow,
 * and a local process writing a framed Request.commit (3 bytes: 02 5a 00) or an HTTP OPTIONS
 * request to the app's ABCI listener — its default unix socket, and in a second node a TCP port.
 * Every stray connection gets an exception and is closed; the node keeps producing blocks; no
 * tx CheckTx accepted is lost; a fresh replica block-syncs from genesis to the same app hashes
 * (CometBFT's block sync checks every header's app hash against the replica's app).
 */
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, copyFileSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Response } from 'cosmjs-types/tendermint/abci/types';
import { parseListenAddress } from '../../app/abci/server.ts';
import { FrameDecoder } from '../../app/abci/framing.ts';
import { nodeHome } from '../../app/node/home.ts';
import { getTomlString, setTomlValues } from '../../app/node/comet-config.ts';
import { cometbftBinary, freePort, R3MESD, r3mesd, startDevNode, type DevNode } from '../helpers/devnode.ts';
import { msgSend, signTx, testKey, type TestKey } from '../helpers/txs.ts';
import {
  blockAt, broadcastTxSync, queryAccount, queryBalance, rpcCall, sleep, txHashHex, waitFor,
} from '../helpers/localnet.ts';

const FEE = 5000n;
const FUNDS = 1_000_000_000_000n;
const STRAY_COMMIT = Uint8Array.of(0x02, 0x5a, 0x00);
const HTTP_OPTIONS = new TextEncoder().encode('OPTIONS / HTTP/1.1\r\nHost: 127.0.0.1:26658\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n');

/** Connects to `address` as a stray local process would, writes `bytes`, and reports what came back before the server closed it (or `waitMs` passed). */
async function stray(address: string, bytes: Uint8Array, waitMs = 3000): Promise<{ kinds: string[]; errors: string[]; closed: boolean }> {
  const target = parseListenAddress(address);
  return new Promise((resolve, reject) => {
    const socket = target.kind === 'unix' ? connect(target.path) : connect(target.port, target.host);
    const decoder = new FrameDecoder();
    const responses: Response[] = [];
    let settled = false;
    const finish = (closed: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({
        kinds: responses.map((r) => Object.entries(r).find(([, v]) => v !== undefined)?.[0] ?? 'none'),
        errors: responses.map((r) => r.exception?.error ?? ''),
        closed,
      });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    socket.once('connect', () => socket.write(bytes));
    socket.on('data', (chunk: Buffer) => {
      for (const frame of decoder.push(chunk)) responses.push(Response.decode(frame));
    });
    socket.once('close', () => finish(true));
    socket.once('error', (error) => {
      if (!settled && responses.length === 0 && (error as NodeJS.ErrnoException).code !== 'ECONNRESET') {
        settled = true;
        clearTimeout(timer);
        reject(error);
      }
    });
  });
}

/** Each sender signs MsgSends with its own sequence and broadcasts them until stopped; remembers what CheckTx accepted. */
function txStream(node: DevNode, senders: TestKey[], recipient: string) {
  const accepted = new Map<string, { sender: string; amount: bigint }>();
  const errors: string[] = [];
  let stopped = false;
  const loops = senders.map(async (key) => {
    try {
      await loop(key);
    } catch (error) {
      errors.push((error as Error).message); // this sender stops; the test reports it
    }
  });
  async function loop(key: TestKey): Promise<void> {
    const account = await queryAccount(node.rpcUrl, key.address);
    if (account === undefined) throw new Error(`${key.address} has no account`);
    let { sequence } = account;
    while (!stopped) {
      const amount = 1n + sequence % 997n;
      const tx = await signTx(key, [msgSend(key.address, recipient, amount.toString())], {
        chainId: node.chainId, accountNumber: account.accountNumber, sequence, feeAmount: FEE.toString(),
      });
      const result = await broadcastTxSync(node.rpcUrl, tx, 5000);
      if (result.code !== 0) throw new Error(`CheckTx refused a tx of ${key.address} at sequence ${sequence}: ${result.code} ${result.log}`);
      accepted.set(txHashHex(tx), { sender: key.address, amount });
      sequence++;
      await sleep(40);
    }
  }
  return { accepted, errors, stop: async () => { stopped = true; await Promise.all(loops); } };
}

async function height(node: DevNode): Promise<bigint> {
  return (await node.status()).height;
}

t.test('stray Commit and HTTP OPTIONS on the unix socket while txs flow: blocks go on, no tx lost, a replica syncs to the same app hashes', async (t) => {
  const senders = await Promise.all([1, 2].map((i) => testKey(i)));
  const recipient = (await testKey(101)).address;
  const node = await startDevNode({ accounts: senders.map((key) => ({ address: key.address, coins: `${FUNDS}ur3mes` })) });
  t.teardown(() => node.stop());
  t.match(node.abci, /^unix:\/\/.*\/abci\.sock$/, 'r3mesd serves ABCI on the unix socket in its home by default');
  t.match(getTomlString(readFileSync(nodeHome(node.home).configToml, 'utf8'), '', 'proxy_app'), node.abci, 'and `r3mesd init` pointed proxy_app there');
  t.equal(statSync(join(node.home, 'abci.sock')).mode & 0o777, 0o600, 'socket mode 0600');

  const stream = txStream(node, senders, recipient);
  const startHeight = await height(node);
  const outcomes: string[] = [];
  const attackUntil = Date.now() + 8000;
  let attacks = 0;
  while (Date.now() < attackUntil) {
    const [what, bytes] = attacks % 2 === 0 ? ['commit', STRAY_COMMIT] as const : ['OPTIONS', HTTP_OPTIONS] as const;
    const answer = await stray(node.abci, bytes);
    if (!answer.closed || answer.kinds.join() !== 'exception') outcomes.push(`${what}: ${answer.kinds.join() || 'no answer'}${answer.closed ? '' : ', left open'}`);
    attacks++;
    await sleep(50 + (attacks * 37) % 120); // land at different moments of the block cycle
  }
  t.same(outcomes, [], `${attacks} stray writes: each answered with an exception and closed`);
  const afterAttacks = await height(node);
  t.ok(afterAttacks >= startHeight + 5n, `blocks went on during the attacks (${startHeight} -> ${afterAttacks})`);
  await stream.stop();
  t.same(stream.errors, [], 'CheckTx accepted every tx of the stream (no sequence went back)');

  await waitFor('an empty mempool', 30_000, async () => ((await rpcCall<{ total: string }>(node.rpcUrl, 'num_unconfirmed_txs')).total === '0' ? true : undefined));
  await node.waitForHeight((await height(node)) + 2n, 30_000);
  const last = await height(node);

  // Every tx CheckTx accepted is in a block, succeeded, and is in state.
  const committed = new Map<string, number>();
  for (let h = 1n; h <= last; h++) {
    const { block } = await blockAt(node.rpcUrl, h);
    const txs = block.data.txs ?? [];
    if (txs.length === 0) continue;
    const results = await rpcCall<{ txs_results: Array<{ code: number }> | null }>(node.rpcUrl, 'block_results', { height: h.toString() });
    txs.forEach((tx, index) => committed.set(txHashHex(Buffer.from(tx, 'base64')), results.txs_results?.[index]?.code ?? -1));
  }
  t.ok(stream.accepted.size >= 20, `${stream.accepted.size} txs accepted by CheckTx`);
  t.same([...stream.accepted.keys()].filter((hash) => committed.get(hash) !== 0), [], 'every accepted tx is committed with code 0');
  let sent = 0n;
  for (const { amount } of stream.accepted.values()) sent += amount;
  t.equal(await queryBalance(node.rpcUrl, recipient), sent, 'the recipient holds every transfer');
  for (const key of senders) {
    const count = [...stream.accepted.values()].filter((a) => a.sender === key.address).length;
    t.equal((await queryAccount(node.rpcUrl, key.address))?.sequence, BigInt(count), `sender sequence = its ${count} txs`);
  }

  // A fresh replica: same genesis, the node as its peer, block sync from height 1.
  const started = Date.now();
  const home = mkdtempSync(join(tmpdir(), 'r3mes-replica-'));
  const children: ChildProcess[] = [];
  t.teardown(async () => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await Promise.race([exited, sleep(5000)]);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
    }
    if (process.env.R3MES_KEEP_TEST_HOMES === undefined) rmSync(home, { recursive: true, force: true });
  });
  const [rpcPort, p2pPort] = [await freePort(), await freePort()];
  const replicaRpc = `http://127.0.0.1:${rpcPort}`;
  r3mesd(['init', 'replica', '--home', home, '--chain-id', node.chainId, '--rpc-laddr', `tcp://127.0.0.1:${rpcPort}`, '--p2p-laddr', `tcp://127.0.0.1:${p2pPort}`, '--timeout-commit', '300ms']);
  copyFileSync(nodeHome(node.home).genesisJson, nodeHome(home).genesisJson);
  const nodeP2p = getTomlString(readFileSync(nodeHome(node.home).configToml, 'utf8'), 'p2p', 'laddr');
  const nodeId = (await rpcCall<{ node_info: { id: string } }>(node.rpcUrl, 'status')).node_info.id;
  const configPath = nodeHome(home).configToml;
  writeFileSync(configPath, setTomlValues(readFileSync(configPath, 'utf8'), [
    ['p2p', 'persistent_peers', `${nodeId}@${nodeP2p!.replace('tcp://', '')}`],
    ['p2p', 'addr_book_strict', false],
    ['p2p', 'allow_duplicate_ip', true],
  ]));
  const log = openSync(join(home, 'app.log'), 'a');
  children.push(spawn(R3MESD, ['start', '--home', home, '--rest', '', '--rpc', replicaRpc], { stdio: ['ignore', log, log], env: { ...process.env, COMETBFT: cometbftBinary() } }));
  closeSync(log);
  await waitFor(`the replica to sync to height ${last} (logs in ${home})`, 60_000, async () => {
    const status = await rpcCall<{ sync_info: { latest_block_height: string } }>(replicaRpc, 'status', {}, 2000);
    return BigInt(status.sync_info.latest_block_height) >= last ? true : undefined;
  }, 500);
  // The replica's app after block `last` must have the app hash the node's header `last + 1` carries.
  const info = await rpcCall<{ response: { last_block_height: string; last_block_app_hash: string } }>(replicaRpc, 'abci_info');
  const replicaHeight = BigInt(info.response.last_block_height);
  await node.waitForHeight(replicaHeight + 1n, 30_000);
  const header = (await blockAt(node.rpcUrl, replicaHeight + 1n)).block.header;
  t.equal(Buffer.from(info.response.last_block_app_hash, 'base64').toString('hex').toUpperCase(), header.app_hash,
    `the replica synced ${replicaHeight} blocks from genesis to the node's app hash (${Date.now() - started} ms)`);
  t.notMatch(readFileSync(join(home, 'cometbft.log'), 'utf8'), /wrong Block\.Header\.AppHash/, 'no app hash mismatch while syncing');
});

t.test('stray Commit and HTTP OPTIONS on a TCP listener (`--abci tcp://...`): refused, blocks go on', async (t) => {
  const sender = await testKey(3);
  const recipient = (await testKey(103)).address;
  const node = await startDevNode({ accounts: [{ address: sender.address, coins: `${FUNDS}ur3mes` }], abciTransport: 'tcp' });
  t.teardown(() => node.stop());
  t.match(node.abci, /^tcp:\/\/127\.0\.0\.1:\d+$/);
  const stream = txStream(node, [sender], recipient);
  const before = await height(node);
  const outcomes: string[] = [];
  for (let i = 0; i < 12; i++) {
    const answer = await stray(node.abci, i % 2 === 0 ? STRAY_COMMIT : HTTP_OPTIONS);
    if (!answer.closed || answer.kinds.join() !== 'exception') outcomes.push(`${i}: ${answer.kinds.join() || 'no answer'}${answer.closed ? '' : ', left open'}`);
    await sleep(90 + i * 23);
  }
  t.same(outcomes, [], 'each stray write answered with an exception and closed');
  await stream.stop();
  t.same(stream.errors, [], 'CheckTx accepted every tx of the stream');
  await waitFor('an empty mempool', 30_000, async () => ((await rpcCall<{ total: string }>(node.rpcUrl, 'num_unconfirmed_txs')).total === '0' ? true : undefined));
  await node.waitForHeight((await height(node)) + 2n, 30_000);
  t.ok((await height(node)) >= before + 4n, 'blocks went on');
  let sent = 0n;
  for (const { amount } of stream.accepted.values()) sent += amount;
  t.equal(await queryBalance(node.rpcUrl, recipient), sent, `all ${stream.accepted.size} transfers committed`);
});
