/**
 * "Nothing is lost": kill -9 the app (and, separately, cometbft) of a real node while several
 * senders stream signed MsgSend txs into it, restart, and check that
 *   - the chain goes on;
 *   - every tx CometBFT holds in a block is reflected in state (balances, sequences), and the
 *     tx index agrees with the blocks;
 *   - the app hash at every height equals that of a replay from genesis: every block's txs and
 *     header time fed into a fresh R3mesApp over a fresh store (app hash of H is in header H+1).
 *
 * What CometBFT v0.38.25 does when the app dies: its ABCI clients see the connection drop, it
 * logs "... connection terminated. Did the application crash? Please restart CometBFT" and sends
 * itself SIGTERM (proxy killTMOnClientError). Usually it exits at once; when the app died inside
 * FinalizeBlock it can hang in that shutdown ("Stopping State service", RPC still answering)
 * until killed. So after an app kill: wait a few seconds, SIGKILL it if still there, restart the
 * app, then cometbft (its handshake replays the block the app had not committed).
 */
import t from 'tap';
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RequestFinalizeBlock } from 'cosmjs-types/tendermint/abci/types';
import { R3mesApp } from '../../app/app.ts';
import { CommitStore } from '../../app/store/commit-store.ts';
import { utf8 } from '../../app/core/bytes.ts';
import { readGenesis } from '../../genesis/file.ts';
import { decodeAddress } from '../../app/core/address.ts';
import { nodeHome } from '../../app/node/home.ts';
import { parseListenAddress } from '../../app/abci/server.ts';
import { startDevNode, type DevNode } from '../helpers/devnode.ts';
import { msgSend, signTx, testKey, type TestKey } from '../helpers/txs.ts';
import { genesisFor, startHarness } from '../helpers/app-harness.ts';
import {
  blockAt, broadcastTxSync, hex, queryAccount, queryBalance, rpcCall, sleep, txHashHex, waitFor,
} from '../helpers/localnet.ts';

const FEE = 5000n;
const FUNDS = 1_000_000_000_000n;

interface SentTx {
  hash: string;
  sender: number;
  recipient: string;
  amount: bigint;
  sequence: bigint;
}

/** Senders that each sign MsgSends with their own sequence and broadcast_tx_sync them until stopped. */
class TxStream {
  readonly sent = new Map<string, SentTx>();
  accepted = 0;
  failedBroadcasts = 0;
  private stopped = false;
  private readonly loops: Promise<void>[] = [];

  constructor(private readonly node: DevNode, private readonly senders: TestKey[], private readonly recipients: string[]) {}

  start(): void {
    this.senders.forEach((key, index) => this.loops.push(this.loop(key, index)));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }

  private async loop(key: TestKey, index: number): Promise<void> {
    let sequence: bigint | undefined;
    let accountNumber = 0n;
    while (!this.stopped) {
      if (sequence === undefined) {
        // After a crash (or a rejected tx) start again from committed state: the mempool died with cometbft.
        try {
          const account = await queryAccount(this.node.rpcUrl, key.address);
          if (account === undefined) throw new Error(`sender ${key.address} has no account`);
          ({ sequence, accountNumber } = account);
        } catch {
          await sleep(250);
          continue;
        }
      }
      const recipient = this.recipients[Math.floor(Math.random() * this.recipients.length)];
      const amount = BigInt(1 + Math.floor(Math.random() * 1000));
      const tx = await signTx(key, [msgSend(key.address, recipient, amount.toString())], {
        chainId: this.node.chainId, accountNumber, sequence, feeAmount: FEE.toString(),
      });
      const hash = txHashHex(tx);
      this.sent.set(hash, { hash, sender: index, recipient, amount, sequence });
      try {
        const result = await broadcastTxSync(this.node.rpcUrl, tx, 5000);
        if (result.code === 0) {
          sequence += 1n;
          this.accepted++;
        } else {
          sequence = undefined; // typically 32 (wrong sequence) just after a restart: CheckTx state still holds lost mempool txs
          await sleep(200);
        }
      } catch {
        this.failedBroadcasts++;
        sequence = undefined;
        await sleep(250);
      }
      await sleep(10);
    }
  }
}

async function height(node: DevNode): Promise<bigint> {
  return (await node.status()).height;
}

/** Resolves just after the node commits a new block (bounded). */
async function nextBlock(node: DevNode, timeoutMs = 20_000): Promise<bigint> {
  const start = await waitFor('node answering', timeoutMs, () => height(node));
  return waitFor(`a block after ${start}`, timeoutMs, async () => {
    const h = await height(node);
    return h > start ? h : undefined;
  }, 15);
}

async function rpcDown(node: DevNode, timeoutMs: number): Promise<boolean> {
  try {
    await waitFor('cometbft RPC to stop answering', timeoutMs, async () => {
      try {
        await rpcCall(node.rpcUrl, 'health', {}, 500);
        return undefined;
      } catch {
        return true;
      }
    }, 100);
    return true;
  } catch {
    return false;
  }
}

/** Waits until the app accepts connections on its ABCI address (unix socket or TCP), so cometbft does not sit out its 3 s retry. */
async function appListening(node: DevNode, timeoutMs = 30_000): Promise<void> {
  const target = parseListenAddress(node.abci);
  await waitFor('the app to listen on ABCI', timeoutMs, () => new Promise<true | undefined>((resolve) => {
    const socket = target.kind === 'unix' ? connect(target.path) : connect(target.port, target.host);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(undefined));
  }), 100);
}

type Moment = { afterBlockMs: number } | { logLine: RegExp };

/** Resolves with the matched text as soon as `pattern` appears in what is appended to `file` from now on. */
async function logged(file: string, pattern: RegExp, timeoutMs: number): Promise<string> {
  let offset = statSync(file).size;
  let tail = '';
  const deadline = Date.now() + timeoutMs;
  const fd = openSync(file, 'r');
  try {
    while (Date.now() < deadline) {
      const size = fstatSync(fd).size;
      if (size > offset) {
        const chunk = Buffer.alloc(size - offset);
        readSync(fd, chunk, 0, chunk.length, offset);
        offset = size;
        tail = (tail + chunk.toString('utf8')).slice(-4096);
        const match = pattern.exec(tail);
        if (match !== null) return match[0].replace(/\s+/g, ' ');
      }
      await sleep(2);
    }
  } finally {
    closeSync(fd);
  }
  throw new Error(`${file}: no line matching ${pattern} within ${timeoutMs} ms`);
}

/** CometBFT's handshake line of its latest start: how far the app, the state and the block store were. */
function lastHandshake(home: string): string {
  const lines = readFileSync(join(home, 'cometbft.log'), 'utf8').split('\n').filter((line) => line.includes('ABCI Replay Blocks'));
  const match = /appHeight=(\d+) storeHeight=(\d+) stateHeight=(\d+)/.exec(lines.at(-1) ?? '');
  return match === null ? 'no handshake logged' : `handshake: app ${match[1]}, block store ${match[2]}, state ${match[3]}`;
}

function parseTime(rfc3339: string): { seconds: bigint; nanos: number } {
  const match = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(rfc3339);
  if (match === null) throw new Error(`bad time ${rfc3339}`);
  const seconds = BigInt(Date.parse(`${match[1]}Z`) / 1000);
  return { seconds, nanos: Number((match[2] ?? '').padEnd(9, '0').slice(0, 9)) };
}

const bytesOfHex = (text: string) => new Uint8Array(Buffer.from(text, 'hex'));

t.test('kill -9 of the app and of cometbft during a tx stream loses nothing', async (t) => {
  const senders = await Promise.all([1, 2, 3, 4].map((i) => testKey(i)));
  const recipients = (await Promise.all([101, 102, 103, 104, 105].map((i) => testKey(i)))).map((key) => key.address);
  const setup = Date.now();
  const node = await startDevNode({ accounts: senders.map((key) => ({ address: key.address, coins: `${FUNDS}ur3mes` })), timeoutCommit: '300ms' });
  t.teardown(() => node.stop());
  const stream = new TxStream(node, senders, recipients);
  t.teardown(() => stream.stop());
  const started = Date.now();
  t.comment(`node up in ${started - setup} ms`);
  stream.start();
  await sleep(2000);

  // Kill moments: either a delay after a new block became visible over RPC (the timeout_commit
  // pause), or the instant cometbft logs a step of block execution (file polled every few ms):
  // "finalizing commit of block" = block saved, FinalizeBlock/Commit about to run; "executed block"
  // = FinalizeBlock answered, the app's Commit comes next.
  const when = async (moment: Moment): Promise<string> => {
    if ('afterBlockMs' in moment) {
      await nextBlock(node);
      await sleep(moment.afterBlockMs);
      return `${moment.afterBlockMs} ms after a block`;
    }
    return `at "${await logged(join(node.home, 'cometbft.log'), moment.logLine, 20_000)}"`;
  };

  const killHeights = new Set<bigint>();
  const appKills: Moment[] = [{ afterBlockMs: 0 }, { logLine: /finalizing commit of block\s+module=consensus height=\d+/ }, { afterBlockMs: 200 }];
  for (const [round, moment] of appKills.entries()) {
    const before = await height(node);
    const at = await when(moment);
    await node.killApp('SIGKILL');
    killHeights.add(before).add(before + 1n).add(before + 2n);
    // CometBFT normally stops itself here; when the app dies inside a block it can instead hang in
    // its shutdown after "CONSENSUS FAILURE" with RPC still up. Either way it must be restarted.
    const cometStopped = await rpcDown(node, 6000);
    t.comment(`app kill ${round + 1} (${at}, height ${before}+): ${cometStopped ? 'cometbft stopped on its own' : 'cometbft still answered RPC 6 s later (hung in shutdown); killing it'}`);
    await node.killComet('SIGKILL'); // no-op when it already exited
    node.startApp();
    await appListening(node);
    node.startComet();
    await node.waitForHeight(before + 3n, 60_000);
    t.pass(`app kill ${round + 1}: chain continues past ${before + 3n} after restarting both (${lastHandshake(node.home)})`);
    await sleep(800);
  }

  // cometbft alone: the app keeps running, with whatever it staged or accepted into CheckTx state.
  const cometKills: Moment[] = [{ logLine: /executed block\s+module=state height=\d+/ }, { afterBlockMs: 150 }, { logLine: /finalized block\s+module=state height=\d+ num_txs_res=[1-9]/ }];
  for (const [round, moment] of cometKills.entries()) {
    const before = await height(node);
    const at = await when(moment);
    await node.killComet('SIGKILL');
    killHeights.add(before).add(before + 1n).add(before + 2n);
    node.startComet();
    await node.waitForHeight(before + 3n, 60_000);
    t.pass(`cometbft kill ${round + 1} (${at}): chain continues with the same app process (${lastHandshake(node.home)})`);
    await sleep(800);
  }

  await stream.stop();
  t.comment(`stream: ${stream.sent.size} txs signed, ${stream.accepted} accepted by CheckTx, ${stream.failedBroadcasts} broadcasts failed (node down), ${Date.now() - started} ms`);

  // Let the mempool drain, then two more blocks so the last txs' app hash is in a header.
  await waitFor('an empty mempool', 30_000, async () => {
    const pending = await rpcCall<{ total: string }>(node.rpcUrl, 'num_unconfirmed_txs');
    return pending.total === '0' ? true : undefined;
  });
  await node.waitForHeight((await height(node)) + 2n, 30_000);
  const last = await height(node);

  // What CometBFT committed: every block's txs, and their results.
  const blocks = new Map<bigint, { txs: Uint8Array[]; header: Awaited<ReturnType<typeof blockAt>>['block']['header']; hash: string }>();
  const inBlocks = new Map<string, { height: bigint; index: number; code: number }>();
  for (let h = 1n; h <= last; h++) {
    const { block, block_id } = await blockAt(node.rpcUrl, h);
    const txs = (block.data.txs ?? []).map((tx) => new Uint8Array(Buffer.from(tx, 'base64')));
    blocks.set(h, { txs, header: block.header, hash: block_id.hash });
    if (txs.length === 0) continue;
    const results = await rpcCall<{ txs_results: Array<{ code: number }> | null }>(node.rpcUrl, 'block_results', { height: h.toString() });
    txs.forEach((tx, index) => inBlocks.set(txHashHex(tx), { height: h, index, code: results.txs_results?.[index]?.code ?? -1 }));
  }
  t.ok(inBlocks.size >= 50, `${inBlocks.size} txs committed in ${last} blocks`);
  t.same([...inBlocks.keys()].filter((hash) => !stream.sent.has(hash)), [], 'every tx in a block is one the stream sent');
  t.same([...inBlocks.entries()].filter(([, at]) => at.code !== 0).map(([hash, at]) => `${hash}@${at.height}: code ${at.code}`), [],
    'every committed tx succeeded (sequences were right)');

  // The tx index agrees with the blocks, for every tx the stream signed. CometBFT indexes a block
  // asynchronously after committing its state, so a kill -9 in between can leave a committed block
  // unindexed (no replay happens: app, state and block store agree); `cometbft reindex-event` repairs
  // that. So a missing entry is tolerated at the heights of a kill only; a wrong entry never.
  const wrongIndex: string[] = [];
  const unindexed: string[] = [];
  for (const sent of stream.sent.values()) {
    let found: { height: string; tx_result: { code: number } } | undefined;
    try {
      // JSON-RPC takes []byte params as base64 (GET URIs take 0x-hex).
      found = await rpcCall(node.rpcUrl, 'tx', { hash: Buffer.from(sent.hash, 'hex').toString('base64'), prove: false });
    } catch (error) {
      if (!/not found/.test((error as Error).message)) throw error;
    }
    const block = inBlocks.get(sent.hash);
    if (found === undefined && block !== undefined) {
      if (killHeights.has(block.height)) unindexed.push(`${sent.hash}@${block.height}`);
      else wrongIndex.push(`${sent.hash}: in block ${block.height} (no kill near it) but not indexed`);
    }
    if (found !== undefined && (block === undefined || BigInt(found.height) !== block.height || found.tx_result.code !== block.code)) {
      wrongIndex.push(`${sent.hash}: indexed at ${found.height} code ${found.tx_result.code}, blocks say ${block?.height ?? 'none'}`);
    }
  }
  t.same(wrongIndex, [], '`tx` finds the txs in blocks at their heights with their codes (and none that are not in a block)');
  if (unindexed.length > 0) {
    t.comment(`${unindexed.length} committed txs not in the tx index, all at kill heights (heights ${[...new Set(unindexed.map((u) => u.split('@')[1]))].join(', ')}): CometBFT indexes after its state commit`);
  }

  // Every committed tx is reflected in state: balances and sequences.
  const expectedBalance = new Map<string, bigint>(senders.map((key) => [key.address, FUNDS]));
  const expectedSequence = senders.map(() => 0n);
  for (const hash of inBlocks.keys()) {
    const sent = stream.sent.get(hash)!;
    const from = senders[sent.sender].address;
    expectedBalance.set(from, expectedBalance.get(from)! - sent.amount - FEE);
    expectedBalance.set(sent.recipient, (expectedBalance.get(sent.recipient) ?? 0n) + sent.amount);
    expectedSequence[sent.sender]++;
  }
  const balances = new Map<string, bigint>();
  for (const address of expectedBalance.keys()) balances.set(address, await queryBalance(node.rpcUrl, address));
  t.same(balances, expectedBalance, 'balances = genesis funds ± every committed send and fee');
  const sequences = await Promise.all(senders.map(async (key) => (await queryAccount(node.rpcUrl, key.address))?.sequence));
  t.same(sequences, expectedSequence, 'each sender\'s sequence = its committed tx count');

  // Replay from genesis over a fresh store: app hash after H must be header H+1's app hash.
  const genesis = readGenesis(nodeHome(node.home).genesisJson);
  const dir = mkdtempSync(join(tmpdir(), 'r3mes-replay-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const store = await CommitStore.open(join(dir, 'app.db'), { sync: false });
  t.teardown(() => store.close());
  const app = new R3mesApp(store);
  // CometBFT hands the app genesis.json's consensus params at InitChain; the app keeps block.max_gas in its state.
  const block = (genesis.consensus_params as { block?: { max_bytes: string; max_gas: string } } | undefined)?.block;
  const consensusParams = block === undefined ? undefined : { block: { maxBytes: BigInt(block.max_bytes), maxGas: BigInt(block.max_gas) } };
  const init = app.initChain({
    time: parseTime(genesis.genesis_time), chainId: genesis.chain_id, consensusParams, validators: [],
    appStateBytes: utf8(JSON.stringify(genesis.app_state)), initialHeight: BigInt(genesis.initial_height === '0' ? 1 : genesis.initial_height),
  });
  t.equal(hex(init.appHash), blocks.get(1n)!.header.app_hash, 'InitChain app hash is header 1\'s app hash');
  const hashMismatches: string[] = [];
  const resultMismatches: string[] = [];
  for (let h = 1n; h < last; h++) {
    const block = blocks.get(h)!;
    const request: RequestFinalizeBlock = {
      txs: block.txs, decidedLastCommit: { round: 0, votes: [] }, misbehavior: [], hash: bytesOfHex(block.hash),
      height: h, time: parseTime(block.header.time), nextValidatorsHash: bytesOfHex(block.header.next_validators_hash),
      proposerAddress: bytesOfHex(block.header.proposer_address),
    };
    const response = app.finalizeBlock(request);
    await app.commit();
    const want = blocks.get(h + 1n)!.header.app_hash;
    if (hex(response.appHash) !== want) hashMismatches.push(`height ${h}: replay ${hex(response.appHash)}, header ${h + 1n} ${want}`);
    block.txs.forEach((tx, index) => {
      const code = inBlocks.get(txHashHex(tx))!.code;
      if (response.txResults[index].code !== code) resultMismatches.push(`height ${h} tx ${index}: replay code ${response.txResults[index].code}, node ${code}`);
    });
  }
  t.same(hashMismatches, [], `replay from genesis matches the node's app hash at all ${last - 1n} heights`);
  t.same(resultMismatches, [], 'replay gives every tx the result the node recorded');
  t.equal(hex(store.lastAppHash), (await node.status()).appHash, 'replayed state hash = the node\'s latest app hash');
  t.comment(`crash test done in ${Date.now() - started} ms, final height ${last}`);
});

// A crash of cometbft alone between FinalizeBlock and Commit makes it send the same block again
// (handshake: app at H-1, block store at H → replay H). The live test above hits that window only by
// luck, so here it is exactly, in process, with the real app over a real store.
t.test('a FinalizeBlock re-sent without Commit (cometbft restarted) gives the same results and app hash', async (t) => {
  const alice = await testKey(1);
  const bob = await testKey(2);
  const once = await startHarness(genesisFor([alice]));
  const twice = await startHarness(genesisFor([alice]));
  t.teardown(() => once.close());
  t.teardown(() => twice.close());
  const request = (height: bigint, txs: Uint8Array[]): RequestFinalizeBlock => ({
    txs, decidedLastCommit: { round: 0, votes: [] }, misbehavior: [], hash: new Uint8Array(32), height,
    time: { seconds: 1_700_000_000n + height, nanos: 0 }, nextValidatorsHash: new Uint8Array(32), proposerAddress: new Uint8Array(20),
  });
  const accountNumber = once.app.auth.getAccount(once.store.working(), decodeAddress(alice.address))?.accountNumber ?? 0n;
  for (let h = 1n; h <= 3n; h++) {
    const tx = await signTx(alice, [msgSend(alice.address, bob.address, '10')], { chainId: once.app.chainId, accountNumber, sequence: h - 1n });
    const single = once.app.finalizeBlock(request(h, [tx]));
    await once.app.commit();
    twice.app.finalizeBlock(request(h, [tx])); // cometbft dies before Commit …
    t.equal(twice.app.info({ version: '', blockVersion: 0n, p2pVersion: 0n, abciVersion: '' }).lastBlockHeight, h - 1n, 'Info still reports the previous height');
    const replayed = twice.app.finalizeBlock(request(h, [tx])); // … and replays the block after its restart
    await twice.app.commit();
    t.same(replayed.txResults.map((r) => r.code), single.txResults.map((r) => r.code), `height ${h}: same tx results`);
    t.equal(hex(replayed.appHash), hex(single.appHash), `height ${h}: same app hash`);
  }
});

t.test('InitChain re-sent before the first Commit (cometbft restarted) is accepted and yields the same state', async (t) => {
  const alice = await testKey(1);
  const dir = mkdtempSync(join(tmpdir(), 'r3mes-initchain-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const store = await CommitStore.open(join(dir, 'app.db'), { sync: false });
  t.teardown(() => store.close());
  const app = new R3mesApp(store);
  const initChain = {
    time: { seconds: 1_700_000_000n, nanos: 0 }, chainId: 'r3mes-test-1', consensusParams: undefined, validators: [],
    appStateBytes: utf8(JSON.stringify({
      ...genesisFor([alice]),
      auth: { params: {}, accounts: [{ address: alice.address, account_number: '0', sequence: '0', pub_key: null }] },
    })), initialHeight: 1n,
  };
  const first = app.initChain(initChain);
  app.finalizeBlock({
    txs: [], decidedLastCommit: { round: 0, votes: [] }, misbehavior: [], hash: new Uint8Array(32), height: 1n,
    time: { seconds: 1_700_000_001n, nanos: 0 }, nextValidatorsHash: new Uint8Array(32), proposerAddress: new Uint8Array(20),
  });
  // cometbft dies before Commit of block 1; on restart Info says height 0, so it sends InitChain again.
  let again: ReturnType<R3mesApp['initChain']> | undefined;
  t.doesNotThrow(() => { again = app.initChain(initChain); }, 'second InitChain does not throw (a throw makes cometbft stop)');
  t.equal(again === undefined ? '' : hex(again.appHash), hex(first.appHash), 'same genesis app hash');
});
