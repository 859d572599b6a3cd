/**
 * Consensus order at the ABCI edge (issue 12, item 2: "a stray ABCI Commit corrupts a node"):
 * the real R3mesApp over a real store behind the AbciServer, driven by a client that plays
 * CometBFT, while other connections send what a stray local process could: a 3-byte Commit, an
 * HTTP OPTIONS request, garbage, a FinalizeBlock for the wrong height. Each is refused on its own
 * connection, the app's height and hash stay put, and the chain goes on with the same app hashes
 * as an app that never saw them.
 */
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Request, type Response } from 'cosmjs-types/tendermint/abci/types';
import { AbciServer } from '../../app/abci/server.ts';
import { ConsensusGate, ConsensusOrderError } from '../../app/abci/consensus-gate.ts';
import { encodeFrames } from '../../app/abci/framing.ts';
import { R3mesApp } from '../../app/app.ts';
import { CommitStore } from '../../app/store/commit-store.ts';
import { utf8 } from '../../app/core/bytes.ts';
import { decodeAddress } from '../../app/core/address.ts';
import { CHAIN_ID, genesisFor, startHarness } from '../helpers/app-harness.ts';
import { MemoryLogger, TestClient } from '../helpers/abci-client.ts';
import { msgSend, signTx, testKey } from '../helpers/txs.ts';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const kindOf = (r: Response): string => Object.entries(r).find(([, v]) => v !== undefined)?.[0] ?? 'none';

/** The bytes of a framed Request.commit: length 2, field 11 (length-delimited), length 0. */
const STRAY_COMMIT = Uint8Array.of(0x02, 0x5a, 0x00);
const HTTP_OPTIONS = 'OPTIONS / HTTP/1.1\r\nHost: 127.0.0.1:26658\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n';

const initChainRequest = (appState: unknown): Request => Request.fromPartial({
  initChain: {
    time: { seconds: 1_700_000_000n, nanos: 0 }, chainId: CHAIN_ID, validators: [],
    appStateBytes: utf8(JSON.stringify(appState)), initialHeight: 1n,
  },
});

/** The same block fields app-harness's block() uses, so app hashes compare with it. */
const finalizeRequest = (height: bigint, txs: Uint8Array[]): Request => Request.fromPartial({
  finalizeBlock: {
    txs, decidedLastCommit: { round: 0, votes: [] }, misbehavior: [], hash: new Uint8Array(32), height,
    time: { seconds: 1_700_000_000n + height, nanos: 0 }, nextValidatorsHash: new Uint8Array(32), proposerAddress: new Uint8Array(20),
  },
});

/** Sends one request and a Flush, as CometBFT's sync calls do; returns the request's response. */
async function call(client: TestClient, req: Request): Promise<Response> {
  const before = client.responses.length;
  client.send(req, { flush: {} });
  const got = await client.waitFor(before + 2);
  if (got.length < before + 1) throw new Error(`connection closed without an answer to ${Object.keys(req).find((k) => req[k as keyof Request] !== undefined)}`);
  return got[before];
}

/** Whether the server closed `client` within `ms` (a connection left open is then closed here). */
async function closedWithin(client: TestClient, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const closed = await Promise.race([
    client.closed.then(() => true),
    new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), ms); }),
  ]);
  clearTimeout(timer);
  if (!closed) client.close();
  return closed;
}

t.test('stray and out-of-order consensus requests are refused; state untouched; consensus goes on', async (t) => {
  const alice = await testKey(1);
  const bob = await testKey(2);
  const appState = genesisFor([alice]);

  // The reference: the same blocks on an app nobody attacks.
  const reference = await startHarness(appState);
  t.teardown(() => reference.close());
  const accountNumber = reference.app.auth.getAccount(reference.store.working(), decodeAddress(alice.address))?.accountNumber ?? 0n;
  const txs: Uint8Array[] = [];
  for (let i = 0n; i < 3n; i++) txs.push(await signTx(alice, [msgSend(alice.address, bob.address, '1000')], { chainId: CHAIN_ID, accountNumber, sequence: i }));
  const referenceHashes: string[] = [];
  for (const tx of txs) {
    const response = await reference.block([tx]);
    t.equal(response.txResults[0].code, 0, 'reference tx ok');
    referenceHashes.push(hex(response.appHash));
  }

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'r3mes-abci-order-'));
  const store = await CommitStore.open(path.join(dir, 'app.db'), { sync: false });
  const app = new R3mesApp(store);
  const logger = new MemoryLogger();
  const server = new AbciServer(app, { logger });
  await server.listen('tcp://127.0.0.1:0');
  const clients: TestClient[] = [];
  t.teardown(async () => {
    for (const c of clients) c.close();
    await server.close();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const connect = async () => {
    const c = await TestClient.connect(server.address()!);
    clients.push(c);
    return c;
  };
  const state = () => ({ height: store.lastHeight, appHash: hex(store.lastAppHash) });
  const balance = (address: string) => app.bank.balance(store.committed(), decodeAddress(address), 'ur3mes');

  /** Writes `bytes` on a fresh connection; the server must answer an exception (or nothing) and close it. */
  const strayRefused = async (what: string, bytes: Uint8Array) => {
    const before = state();
    const stray = await connect();
    stray.socket.write(bytes);
    t.ok(await closedWithin(stray, 3000), `${what}: connection closed`);
    t.same(stray.responses.map(kindOf), ['exception'], `${what}: answered with an exception`);
    t.same(state(), before, `${what}: height and app hash unchanged`);
    return stray.responses[0]?.exception?.error ?? '';
  };

  // Before CometBFT has connected: a stray Commit must not commit an empty height 1.
  t.match(await strayRefused('3-byte Commit before InitChain', STRAY_COMMIT), /Commit refused: no FinalizeBlock/);
  t.equal(server.consensusConnectionId, null, 'a refused request claims no consensus role');

  // CometBFT: Info on the query connection, then InitChain and block 1 on the consensus connection.
  const query = await connect();
  const comet = await connect();
  t.equal((await call(query, Request.fromPartial({ info: {} }))).info?.lastBlockHeight, 0n);
  t.equal(kindOf(await call(comet, initChainRequest(appState))), 'initChain');
  t.equal(hex((await call(comet, finalizeRequest(1n, [txs[0]]))).finalizeBlock!.appHash), referenceHashes[0]);
  t.equal(kindOf(await call(comet, { commit: {} })), 'commit');
  t.same(state(), { height: 1n, appHash: referenceHashes[0] });

  // Between blocks.
  t.match(await strayRefused('3-byte Commit between blocks', STRAY_COMMIT), /not the consensus connection/);

  // Block 2 finalized, not yet committed: the window the race hits.
  t.equal(hex((await call(comet, finalizeRequest(2n, [txs[1]]))).finalizeBlock!.appHash), referenceHashes[1]);
  t.match(await strayRefused('3-byte Commit while block 2 waits for Commit', STRAY_COMMIT), /not the consensus connection/);
  t.match(await strayRefused('HTTP OPTIONS', new TextEncoder().encode(HTTP_OPTIONS)), /.+/);
  t.match(await strayRefused('garbage bytes', Uint8Array.of(0x05, 0xff, 0xff, 0xff, 0xff, 0xff)), /.+/);
  t.match(await strayRefused('a varint prefix of 11 bytes', new Uint8Array(11).fill(0xff)), /.+/);
  t.match(await strayRefused('a Request with two request types (Echo and Commit)', encodeFrames([Uint8Array.of(0x0a, 0x00, 0x5a, 0x00)])), /more than one request type/);
  t.match(await strayRefused('FinalizeBlock of block 2 on another connection', encodeFrames([Request.encode(finalizeRequest(2n, [])).finish()])), /not the consensus connection/);
  t.match(await strayRefused('PrepareProposal on another connection', encodeFrames([Request.encode(Request.fromPartial({ prepareProposal: { height: 2n, maxTxBytes: 1000n } })).finish()])), /not the consensus connection/);
  t.equal((await call(query, Request.fromPartial({ info: {} }))).info?.lastBlockHeight, 1n, 'the query connection still answers');
  t.equal(kindOf(await call(comet, { commit: {} })), 'commit', 'CometBFT\'s own Commit goes through');
  t.same(state(), { height: 2n, appHash: referenceHashes[1] }, 'block 2 committed with the reference app hash');

  // A Commit with no FinalizeBlock before it, even on the consensus connection: refused, and
  // the connection closed (CometBFT would stop on the exception; nothing was written).
  comet.send({ commit: {} }, { flush: {} });
  t.ok(await closedWithin(comet, 3000), 'consensus connection closed');
  t.match(comet.responses.at(-1)?.exception?.error, /Commit refused: no FinalizeBlock since the last Commit \(height 2\)/);
  t.same(state(), { height: 2n, appHash: referenceHashes[1] }, 'second Commit: nothing committed');
  t.equal(server.consensusConnectionId, null, 'the closed consensus connection gave up its role');

  // No consensus connection now (CometBFT restarting): a FinalizeBlock for a wrong height is refused and claims nothing.
  t.match(await strayRefused('FinalizeBlock for height 5', encodeFrames([Request.encode(finalizeRequest(5n, [])).finish()])), /height 5, expected 3/);
  t.match(await strayRefused('FinalizeBlock for the committed height 2', encodeFrames([Request.encode(finalizeRequest(2n, [])).finish()])), /height 2, expected 3/);
  t.match(await strayRefused('InitChain after height 2', encodeFrames([Request.encode(initChainRequest(appState)).finish()])), /InitChain refused/);
  t.equal(server.consensusConnectionId, null);

  // CometBFT's new consensus connection carries on; the stray ones got their exception and nothing else.
  const comet2 = await connect();
  t.equal(hex((await call(comet2, finalizeRequest(3n, [txs[2]]))).finalizeBlock!.appHash), referenceHashes[2]);
  t.equal(kindOf(await call(comet2, { commit: {} })), 'commit');
  t.same(state(), { height: 3n, appHash: referenceHashes[2] }, 'block 3 committed with the reference app hash');
  t.equal(balance(bob.address), 3000n, 'all three transfers committed, none lost');
  t.ok(logger.lines.some((l) => /refused/.test(String(l.fields?.error))), 'refusals are logged');
});

t.test('the issue\'s race: a stray Commit between CometBFT\'s FinalizeBlock and Commit', async (t) => {
  const alice = await testKey(1);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'r3mes-abci-order-'));
  const store = await CommitStore.open(path.join(dir, 'app.db'), { sync: false });
  const server = new AbciServer(new R3mesApp(store), { logger: new MemoryLogger() });
  await server.listen('tcp://127.0.0.1:0');
  const comet = await TestClient.connect(server.address()!);
  const stray = await TestClient.connect(server.address()!);
  t.teardown(async () => {
    comet.close();
    stray.close();
    await server.close();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  await call(comet, initChainRequest(genesisFor([alice])));
  await call(comet, finalizeRequest(1n, []));
  await call(comet, { commit: {} });
  await call(comet, finalizeRequest(2n, []));
  stray.socket.write(STRAY_COMMIT);
  t.ok(await closedWithin(stray, 3000), 'the stray connection is closed');
  t.equal(stray.responses[0]?.exception !== undefined, true, 'the stray Commit is answered with an exception');
  t.equal(store.lastHeight, 1n, 'block 2 is not committed by the stray Commit');
  t.equal(kindOf(await call(comet, { commit: {} })), 'commit');
  t.equal(store.lastHeight, 2n, 'CometBFT\'s Commit commits block 2, not an empty height 3');
  t.equal(kindOf(await call(comet, finalizeRequest(3n, []))), 'finalizeBlock');
  t.equal(kindOf(await call(comet, { commit: {} })), 'commit', 'block 3 commits (before the fix: "commit height 3 must exceed last height 3")');
  t.equal(store.lastHeight, 3n);
});

t.test('a FinalizeBlock re-sent before Commit and an InitChain re-sent before block 1 are accepted (restart replay)', async (t) => {
  const alice = await testKey(1);
  const appState = genesisFor([alice]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'r3mes-abci-order-'));
  const store = await CommitStore.open(path.join(dir, 'app.db'), { sync: false });
  const server = new AbciServer(new R3mesApp(store), { logger: new MemoryLogger() });
  await server.listen('tcp://127.0.0.1:0');
  const clients: TestClient[] = [];
  t.teardown(async () => {
    for (const c of clients) c.close();
    await server.close();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const connect = async () => {
    const c = await TestClient.connect(server.address()!);
    clients.push(c);
    return c;
  };
  const first = await connect();
  t.equal(kindOf(await call(first, initChainRequest(appState))), 'initChain');
  const block1 = hex((await call(first, finalizeRequest(1n, []))).finalizeBlock!.appHash);
  first.close(); // CometBFT crashes before Commit
  await first.closed;
  const second = await connect();
  t.equal(kindOf(await call(second, initChainRequest(appState))), 'initChain', 'InitChain again: nothing was committed');
  t.equal(hex((await call(second, finalizeRequest(1n, []))).finalizeBlock!.appHash), block1);
  t.equal(hex((await call(second, finalizeRequest(1n, []))).finalizeBlock!.appHash), block1, 'the same block again on the same connection');
  t.equal(kindOf(await call(second, { commit: {} })), 'commit');
  t.equal(store.lastHeight, 1n);
  second.close();
  await second.closed;
  const third = await connect();
  t.equal(hex((await call(third, finalizeRequest(2n, []))).finalizeBlock!.appHash).length, 64);
  third.close(); // crash between FinalizeBlock and Commit of block 2
  await third.closed;
  const fourth = await connect();
  const stray = await connect();
  stray.send({ commit: {} });
  t.ok(await closedWithin(stray, 3000), 'stray connection closed');
  t.match(stray.responses[0]?.exception?.error, /Commit refused/, 'a Commit on a new connection needs its own FinalizeBlock');
  t.equal(kindOf(await call(fourth, finalizeRequest(2n, []))), 'finalizeBlock');
  t.equal(kindOf(await call(fourth, { commit: {} })), 'commit');
  t.equal(store.lastHeight, 2n);
});

t.test('ConsensusGate: initial_height, proposals only at the next height and not between FinalizeBlock and Commit', async (t) => {
  let height = 0n;
  const gate = new ConsensusGate(() => height);
  const conn = { id: 1 };
  const other = { id: 2 };
  const ok = () => 'ok';
  const run = (c: { id: number }, req: Request) => {
    const kind = Object.keys(req).find((k) => req[k as keyof Request] !== undefined) as Parameters<typeof gate.run>[1];
    return gate.run(c, kind, req, ok);
  };
  await t.rejects(run(conn, Request.fromPartial({ processProposal: { height: 1n } })), ConsensusOrderError, 'nothing before InitChain');
  await run(conn, Request.fromPartial({ initChain: { initialHeight: 5n } }));
  await t.rejects(run(conn, Request.fromPartial({ finalizeBlock: { height: 1n } })), /height 1, expected 5/);
  await run(conn, Request.fromPartial({ prepareProposal: { height: 5n } }));
  await run(conn, Request.fromPartial({ processProposal: { height: 5n } }));
  await run(conn, Request.fromPartial({ extendVote: { height: 5n } }));
  await run(conn, Request.fromPartial({ verifyVoteExtension: { height: 5n } }));
  await t.rejects(run(other, Request.fromPartial({ processProposal: { height: 5n } })), /not the consensus connection/);
  await run(conn, Request.fromPartial({ finalizeBlock: { height: 5n } }));
  await t.rejects(run(conn, Request.fromPartial({ processProposal: { height: 5n } })), /finalized and not committed/);
  await t.rejects(run(conn, Request.fromPartial({ processProposal: { height: 6n } })), /finalized and not committed/);
  await run(conn, { commit: {} });
  height = 5n;
  await t.rejects(run(conn, { commit: {} }), /no FinalizeBlock/);
  await t.rejects(run(conn, Request.fromPartial({ processProposal: { height: 5n } })), /height 5, expected 6/);
  await run(conn, Request.fromPartial({ processProposal: { height: 6n } }));
  gate.release(conn);
  await t.rejects(run(conn, Request.fromPartial({ processProposal: { height: 6n } })), /has closed/);
  await run(other, Request.fromPartial({ processProposal: { height: 6n } }));
  t.equal(gate.ownerId, 2, 'the next connection took the role');
  // An app call that throws: the gate asks the app's height again.
  await t.rejects(gate.run(other, 'finalizeBlock', Request.fromPartial({ finalizeBlock: { height: 6n } }), () => { throw new Error('boom'); }), /boom/);
  height = 6n; // say the app got further than the gate saw
  await run(other, Request.fromPartial({ processProposal: { height: 7n } }));
});

t.test('a unix socket is created with mode 0600', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'abci-mode-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const sock = path.join(dir, 'abci.sock');
  const store = await CommitStore.open(path.join(dir, 'app.db'), { sync: false });
  const server = new AbciServer(new R3mesApp(store), { logger: new MemoryLogger() });
  const umask = process.umask(0o022);
  t.teardown(() => { process.umask(umask); });
  await server.listen(`unix://${sock}`);
  t.teardown(async () => { await server.close(); await store.close(); });
  t.equal(fs.statSync(sock).mode & 0o777, 0o600);
  t.equal(process.umask(0o022), 0o022, 'the process umask is restored');
  await t.rejects(new AbciServer(new R3mesApp(store), { logger: new MemoryLogger() }).listen(`unix://${dir}/${'x'.repeat(120)}.sock`), /over 103/);
});
