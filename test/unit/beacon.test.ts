/**
 * The VRF beacon through the real R3mesApp (LevelDB CommitStore in temp dirs), no CometBFT:
 * genesis validators with registered VRF keys (written by the same function as
 * `r3mesd genesis add-validator`), several app instances as the nodes of one network, and
 * PrepareProposal / ProcessProposal / FinalizeBlock / Commit driven by hand.
 */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha512 } from '@noble/hashes/sha2.js';
import {
  ResponseProcessProposal_ProposalStatus as Status, type ResponseFinalizeBlock,
} from 'cosmjs-types/tendermint/abci/types';
import { R3mesApp, type AppOptions } from '../../app/app.ts';
import { CommitStore } from '../../app/store/commit-store.ts';
import { concatBytes, toHex, u64be, utf8 } from '../../app/core/bytes.ts';
import { buildModules } from '../../app/modules.ts';
import { defaultAppState, validateAppState } from '../../genesis/app-state.ts';
import { addGenesisAccount, type GenesisDoc } from '../../genesis/file.ts';
import { addGenesisValidator } from '../../genesis/validator.ts';
import { msgSend, signTx, testKey, type TestKey } from '../helpers/txs.ts';
import { testContext } from '../helpers/module-context.ts';
import { beaconDrawer } from '../../modules/randomness/drawer.ts';
import { BEACON_TX_LENGTH, decodeBeaconTx, encodeBeaconTx, isBeaconFormat } from '../../modules/randomness/beacon-tx.ts';
import { beaconAlpha, defaultGenesisBeacon, derivedBeacon } from '../../modules/randomness/keeper.ts';
import { prove, proofToHash, publicKeyFromSecret, VRF_SUITE_ELL2, VRF_SUITE_TAI } from '../../modules/randomness/vrf.ts';
import { QueryBeaconRequest, QueryBeaconResponse } from '../../proto/gen/r3mes/randomness/v1/query.ts';
import type { RandomnessGenesisJson } from '../../modules/randomness/module.ts';

const CHAIN_ID = 'r3mes-beacon-test';
const FUNDS = 1_000_000_000_000n;

interface Validator {
  index: number;
  operator: TestKey;
  consensusPubkey: Uint8Array;
  consensusAddress: Uint8Array;
  vrfSecret: Uint8Array;
  vrfPubkey: Uint8Array;
}

const seed = (text: string) => new Uint8Array(createHash('sha256').update(text).digest());

async function makeValidator(index: number): Promise<Validator> {
  const consensusPubkey = ed25519.getPublicKey(seed(`consensus-${index}`));
  const vrfSecret = seed(`vrf-${index}`);
  return {
    index, operator: await testKey(100 + index), consensusPubkey,
    consensusAddress: new Uint8Array(createHash('sha256').update(consensusPubkey).digest().subarray(0, 20)),
    vrfSecret, vrfPubkey: publicKeyFromSecret(vrfSecret),
  };
}

/** Genesis app state: every validator bonded with its VRF key, plus funded users. */
function appState(validators: Validator[], users: TestKey[], randomness?: RandomnessGenesisJson): Record<string, unknown> {
  const doc: GenesisDoc = { genesis_time: '2024-01-01T00:00:00Z', chain_id: CHAIN_ID, initial_height: '1', app_hash: '', app_state: defaultAppState(buildModules().modules) };
  for (const key of [...validators.map((v) => v.operator), ...users]) addGenesisAccount(doc, key.address, [{ denom: 'ur3mes', amount: FUNDS }]);
  for (const v of validators) {
    addGenesisValidator(doc, v.operator.address, 100_000_000_000n, `v${v.index}`, {
      consensusPubkey: v.consensusPubkey, consensusAddressHex: toHex(v.consensusAddress).toUpperCase(), vrfPubkey: v.vrfPubkey,
    });
  }
  if (randomness !== undefined) doc.app_state!.randomness = randomness;
  return doc.app_state!;
}

interface Node {
  app: R3mesApp;
  store: CommitStore;
  dir: string;
}

async function openNode(state: Record<string, unknown>, options: AppOptions = {}): Promise<Node> {
  const dir = mkdtempSync(join(tmpdir(), 'r3mes-beacon-'));
  const store = await CommitStore.open(join(dir, 'app.db'));
  const app = new R3mesApp(store, options);
  app.initChain({
    time: { seconds: 1_700_000_000n, nanos: 0 }, chainId: CHAIN_ID, consensusParams: undefined, validators: [],
    appStateBytes: utf8(JSON.stringify(state)), initialHeight: 1n,
  });
  return { app, store, dir };
}

const time = (height: bigint) => ({ seconds: 1_700_000_000n + height, nanos: 0 });

function prepare(node: Node, height: bigint, proposer: Uint8Array, txs: Uint8Array[] = [], maxTxBytes = 1_048_576n): Uint8Array[] {
  return node.app.prepareProposal({
    maxTxBytes, txs, localLastCommit: { round: 0, votes: [] }, misbehavior: [], height, time: time(height),
    nextValidatorsHash: new Uint8Array(32), proposerAddress: proposer,
  }).txs;
}

function processProposal(node: Node, height: bigint, proposer: Uint8Array, txs: Uint8Array[]): Status {
  return node.app.processProposal({
    txs, proposedLastCommit: { round: 0, votes: [] }, misbehavior: [], hash: new Uint8Array(32), height, time: time(height),
    nextValidatorsHash: new Uint8Array(32), proposerAddress: proposer,
  }).status;
}

async function finalize(node: Node, height: bigint, proposer: Uint8Array, txs: Uint8Array[]): Promise<ResponseFinalizeBlock> {
  const response = node.app.finalizeBlock({
    txs, decidedLastCommit: { round: 0, votes: [] }, misbehavior: [], hash: seed(`block-${height}`), height, time: time(height),
    nextValidatorsHash: new Uint8Array(32), proposerAddress: proposer,
  });
  await node.app.commit();
  return response;
}

async function closeNode(node: Node): Promise<void> {
  await node.store.close();
  rmSync(node.dir, { recursive: true, force: true });
}

/** The beacon tx `v` would make for `height` over `previous`, by hand (independent of the keeper). */
function beaconTxBy(v: Validator, height: bigint, previous: Uint8Array): Uint8Array {
  return encodeBeaconTx(height, prove(v.vrfSecret, concatBytes(previous, u64be(height)), VRF_SUITE_ELL2));
}

function storedBeacon(node: Node, height: bigint) {
  return node.app.randomness.beacon(node.store.committed(), height);
}

const hx = (bytes: Uint8Array | undefined): string | undefined => (bytes === undefined ? undefined : toHex(bytes));

const flipBit = (bytes: Uint8Array, index: number): Uint8Array => {
  const out = bytes.slice();
  out[index] ^= 0x01;
  return out;
};

let validators: Validator[];
let user: TestKey;

t.before(async () => {
  validators = await Promise.all([0, 1, 2].map(makeValidator));
  user = await testKey(1);
});

t.test('beacon tx format: magic, version, height, proof; never a protobuf TxRaw', async (t) => {
  const proof = prove(validators[0].vrfSecret, utf8('x'), VRF_SUITE_ELL2);
  const tx = encodeBeaconTx(42n, proof);
  t.equal(tx.length, 95);
  t.equal(BEACON_TX_LENGTH, 95);
  t.same([...tx.subarray(0, 7)], [0x00, 0x52, 0x33, 0x56, 0x52, 0x46, 0x01], '0x00 "R3VRF" 0x01');
  t.same([...tx.subarray(7, 15)], [...u64be(42n)], 'height u64 big-endian');
  t.same(decodeBeaconTx(tx), { height: 42n, proof });
  t.ok(isBeaconFormat(tx));
  t.ok(isBeaconFormat(tx.subarray(0, 6)), 'the magic alone is beacon-format');
  t.equal(decodeBeaconTx(tx.subarray(0, 94)), undefined, 'short: not a beacon tx');
  t.equal(decodeBeaconTx(concatBytes(tx, Uint8Array.of(0))), undefined, 'long: not a beacon tx');
  t.equal(decodeBeaconTx(flipBit(tx, 6)), undefined, 'other version: not a beacon tx');
  const userTx = await signTx(user, [msgSend(user.address, user.address, '1')], { chainId: CHAIN_ID, accountNumber: 0n, sequence: 0n });
  t.notOk(isBeaconFormat(userTx), 'a signed TxRaw is not beacon-format');
  t.notOk(isBeaconFormat(new Uint8Array()), 'empty');
});

t.test('a valid beacon is proposed, accepted by every node, stored and identical everywhere', async (t) => {
  const state = appState(validators, [user]);
  const nodes = await Promise.all(validators.map((v) => openNode(state, { vrfSecretKey: v.vrfSecret, consensusAddress: v.consensusAddress })));
  t.teardown(() => Promise.all(nodes.map(closeNode)));
  let previous = defaultGenesisBeacon(CHAIN_ID);
  t.same(previous, sha512(concatBytes(utf8('r3mes-genesis-beacon'), utf8(CHAIN_ID))), 'default genesis beacon = SHA-512("r3mes-genesis-beacon" ‖ chain_id)');
  let sequence = 0n;
  for (let height = 1n; height <= 6n; height++) {
    const proposer = validators[Number(height) % validators.length];
    const userTx = await signTx(user, [msgSend(user.address, validators[0].operator.address, '7')], {
      chainId: CHAIN_ID, accountNumber: BigInt(validators.length), sequence,
    });
    sequence++;
    const userBeacon = flipBit(beaconTxBy(proposer, height, previous), 40);
    const txs = prepare(nodes[proposer.index], height, proposer.consensusAddress, [userTx, userBeacon]);
    t.equal(txs.length, 2, `height ${height}: beacon tx + the user tx; the user's beacon-format tx dropped`);
    t.same(txs[0], beaconTxBy(proposer, height, previous), `height ${height}: first tx is the beacon tx over previous ‖ u64be(height), proved by the proposer's key (deterministic)`);
    t.same(txs[1], userTx);
    for (const node of nodes) t.equal(processProposal(node, height, proposer.consensusAddress, txs), Status.ACCEPT, `height ${height}: ACCEPT`);
    const responses = await Promise.all(nodes.map((node) => finalize(node, height, proposer.consensusAddress, txs)));
    const expected = proofToHash(decodeBeaconTx(txs[0])!.proof, VRF_SUITE_ELL2);
    for (const [i, response] of responses.entries()) {
      t.equal(response.txResults.length, 2, 'one result per tx');
      t.equal(response.txResults[0].code, 0, 'beacon tx: code 0');
      t.equal(response.txResults[1].code, 0, `user tx: ${response.txResults[1].log}`);
      const beacon = storedBeacon(nodes[i], height);
      t.equal(hx(beacon?.value), hx(expected), `node ${i}: beacon(${height}) = proof_to_hash(proof)`);
      t.equal(hx(beacon?.proposer), hx(proposer.consensusAddress));
      const event = response.events.find((e) => e.type === 'beacon');
      t.same(Object.fromEntries(event?.attributes.map((a) => [a.key, a.value]) ?? []), {
        height: height.toString(), value: toHex(expected), proposer: toHex(proposer.consensusAddress).toUpperCase(), source: 'vrf',
      }, 'event beacon{height, value, proposer, source}');
    }
    t.same(new Set(responses.map((r) => toHex(r.appHash))).size, 1, `height ${height}: same app hash on every node`);
    previous = expected;
  }
  t.same(nodes[0].app.randomness.latest(nodes[0].store.committed())?.height, 6n, 'latest is height 6');

  // Queries: by height, latest, and a height without a beacon.
  const answer = nodes[1].app.query({ path: '/r3mes.randomness.v1.Query/Beacon', data: QueryBeaconRequest.encode({ height: 3n }).finish(), height: 0n, prove: false });
  t.equal(answer.code, 0);
  t.equal(hx(QueryBeaconResponse.decode(answer.value).beacon?.value), hx(storedBeacon(nodes[0], 3n)?.value), 'query beacon/3');
  const missing = nodes[1].app.query({ path: '/r3mes.randomness.v1.Query/Beacon', data: QueryBeaconRequest.encode({ height: 99n }).finish(), height: 0n, prove: false });
  t.same([missing.codespace, missing.code], ['randomness', 13], 'beacon not found');
  const latest = nodes[2].app.query({ path: '/r3mes.randomness.v1.Query/LatestBeacon', data: new Uint8Array(), height: 0n, prove: false });
  t.equal(QueryBeaconResponse.decode(latest.value).beacon?.height, 6n, 'query latest');

  // The drawer reads the beacon of the block being executed (first 32 bytes).
  const working = nodes[0].store.working();
  const ctx = testContext(working, { height: 6n });
  t.equal(hx(beaconDrawer(nodes[0].app.randomness).seed({ ...ctx, chainId: CHAIN_ID })), hx(previous.slice(0, 32)), 'draw seed in block 6 = beacon(6)[0..32]');
  nodes[0].store.discard();
});

t.test('ProcessProposal rejects every bad beacon, and never throws', async (t) => {
  const state = appState(validators, [user]);
  const [a, b] = validators;
  const node = await openNode(state);
  t.teardown(() => closeNode(node));
  // Height 1 by a, so that height 2 has a previous VRF beacon.
  const genesisBeacon = defaultGenesisBeacon(CHAIN_ID);
  const first = beaconTxBy(a, 1n, genesisBeacon);
  t.equal(processProposal(node, 1n, a.consensusAddress, [first]), Status.ACCEPT);
  await finalize(node, 1n, a.consensusAddress, [first]);
  const previous = storedBeacon(node, 1n)!.value;

  const good = beaconTxBy(a, 2n, previous);
  const userTx = await signTx(user, [msgSend(user.address, a.operator.address, '1')], { chainId: CHAIN_ID, accountNumber: BigInt(validators.length), sequence: 0n });
  const cases: Array<[string, Uint8Array[]]> = [
    ['empty block (no beacon)', []],
    ['user tx only (no beacon)', [userTx]],
    ['beacon after a user tx', [userTx, good]],
    ['forged proof (one bit of c flipped)', [flipBit(good, 15 + 40)]],
    ['forged proof (one bit of Gamma flipped)', [flipBit(good, 15 + 3)]],
    ['forged proof (s flipped)', [flipBit(good, 15 + 70)]],
    ['wrong height in the tx (proof for 2, header says 3)', [encodeBeaconTx(3n, decodeBeaconTx(good)!.proof)]],
    ['proof for another height', [encodeBeaconTx(2n, decodeBeaconTx(beaconTxBy(a, 3n, previous))!.proof)]],
    ['proof over the wrong previous beacon (genesis)', [beaconTxBy(a, 2n, genesisBeacon)]],
    ["wrong key (b's proof, a proposes)", [beaconTxBy(b, 2n, previous)]],
    ['TAI suite instead of ELL2', [encodeBeaconTx(2n, prove(a.vrfSecret, beaconAlpha(previous, 2n), VRF_SUITE_TAI))]],
    ['truncated beacon tx', [good.subarray(0, 60)]],
    ['beacon tx with a trailing byte', [concatBytes(good, Uint8Array.of(0))]],
    ['extra beacon tx (a copy)', [good, good]],
    ['extra beacon-format tx later', [good, userTx, good.subarray(0, 6)]],
  ];
  for (const [name, txs] of cases) t.equal(processProposal(node, 2n, a.consensusAddress, txs), Status.REJECT, `REJECT: ${name}`);
  t.equal(processProposal(node, 2n, a.consensusAddress, [good, userTx]), Status.ACCEPT, 'the good one is accepted');
  t.equal(processProposal(node, 2n, new Uint8Array(), [good]), Status.REJECT, 'empty proposer address: REJECT (no key registered, beacon tx present)');
  t.equal(processProposal(node, 2n, new Uint8Array(), []), Status.ACCEPT, 'empty proposer address, no beacon tx: ACCEPT (derived)');
  t.equal(processProposal(node, 0n, a.consensusAddress, [encodeBeaconTx(0n, decodeBeaconTx(good)!.proof)]), Status.REJECT, 'height 0');

  // A node started with forgeBeacon proposes a proof the others refuse.
  const forger = await openNode(state, { vrfSecretKey: a.vrfSecret, consensusAddress: a.consensusAddress, forgeBeacon: true });
  t.teardown(() => closeNode(forger));
  const forged = prepare(forger, 1n, a.consensusAddress);
  t.equal(forged.length, 1);
  t.notSame(forged[0], first, 'forged tx differs from the honest one');
  t.equal(forged[0].length, BEACON_TX_LENGTH);
  const fresh = await openNode(state);
  t.teardown(() => closeNode(fresh));
  t.equal(processProposal(fresh, 1n, a.consensusAddress, forged), Status.REJECT, 'forged proposal rejected');
  t.equal(processProposal(fresh, 1n, a.consensusAddress, [first]), Status.ACCEPT, 'honest one accepted');

  // A node that is not the proposer (consensus address differs) or has no key proposes no beacon.
  const other = await openNode(state, { vrfSecretKey: b.vrfSecret, consensusAddress: b.consensusAddress });
  t.teardown(() => closeNode(other));
  t.same(prepare(other, 1n, a.consensusAddress, [userTx]), [userTx], 'not our block: no beacon tx');
  t.same(prepare(fresh, 1n, a.consensusAddress, [userTx]), [userTx], 'no VRF key: no beacon tx');
  const wrongKey = await openNode(state, { vrfSecretKey: b.vrfSecret, consensusAddress: a.consensusAddress });
  t.teardown(() => closeNode(wrongKey));
  t.equal(processProposal(fresh, 1n, a.consensusAddress, prepare(wrongKey, 1n, a.consensusAddress)), Status.REJECT, 'proposing with a key other than the registered one: REJECT');
});

t.test('max_tx_bytes: the beacon tx counts, user txs stop at the limit', async (t) => {
  const state = appState(validators, [user]);
  const [a] = validators;
  const node = await openNode(state, { vrfSecretKey: a.vrfSecret, consensusAddress: a.consensusAddress });
  t.teardown(() => closeNode(node));
  const tx = (n: number) => new Uint8Array(100).fill(n + 1);
  const txs = prepare(node, 1n, a.consensusAddress, [tx(0), tx(1), tx(2)], 95n + 200n);
  t.equal(txs.length, 3, 'beacon (95) + two 100-byte txs fit in 295');
  t.ok(isBeaconFormat(txs[0]));
  t.same(prepare(node, 1n, a.consensusAddress, [tx(0)], 100n).map(isBeaconFormat), [true], 'limit 100: the beacon, then the 100-byte tx does not fit');
  const small = new Uint8Array(50).fill(9);
  t.same(prepare(node, 1n, a.consensusAddress, [small], 94n), [small], 'limit 94: the beacon does not fit and is left out (the block will be rejected), the 50-byte tx fits');
});

t.test('CheckTx refuses beacon-format txs from users with a clear code', async (t) => {
  const state = appState(validators, [user]);
  const node = await openNode(state);
  t.teardown(() => closeNode(node));
  const tx = beaconTxBy(validators[0], 1n, defaultGenesisBeacon(CHAIN_ID));
  for (const bytes of [tx, tx.subarray(0, 6), concatBytes(tx, utf8('junk'))]) {
    const checked = node.app.checkTx({ tx: bytes, type: 0 });
    t.same([checked.codespace, checked.code], ['randomness', 11]);
    t.match(checked.log, /beacon txs are added by the block proposer/);
  }
});

t.test('proposers without a registered VRF key: no beacon tx, the value is derived and not stored', async (t) => {
  const state = appState(validators, [user]);
  const node = await openNode(state);
  t.teardown(() => closeNode(node));
  const stranger = new Uint8Array(20).fill(7);
  const genesisBeacon = defaultGenesisBeacon(CHAIN_ID);
  t.equal(processProposal(node, 1n, stranger, []), Status.ACCEPT, 'no beacon needed');
  t.equal(processProposal(node, 1n, stranger, [beaconTxBy(validators[0], 1n, genesisBeacon)]), Status.REJECT, 'a beacon tx is refused');
  const response = await finalize(node, 1n, stranger, []);
  const hashBefore = toHex(node.store.lastAppHash);
  const empty = await finalize(node, 2n, stranger, []);
  t.equal(toHex(empty.appHash), hashBefore, 'an empty block with a derived beacon writes nothing');
  t.equal(storedBeacon(node, 1n), undefined, 'not stored');
  const derived = derivedBeacon(genesisBeacon, 1n);
  t.same(derived, sha512(concatBytes(utf8('r3mes-derived-beacon'), genesisBeacon, u64be(1n))), 'derived = SHA-512("r3mes-derived-beacon" ‖ previous ‖ u64be(H))');
  const event = response.events.find((e) => e.type === 'beacon');
  t.equal(event?.attributes.find((a) => a.key === 'value')?.value, toHex(derived));
  t.equal(event?.attributes.find((a) => a.key === 'source')?.value, 'derived');

  // In the next block (derived again) the drawer sees derived(genesis, 3): derived values do not chain.
  const working = node.store.working();
  t.equal(hx(node.app.randomness.beaconValue(working, CHAIN_ID, 3n)), hx(derivedBeacon(genesisBeacon, 3n)));
  t.equal(node.app.randomness.beaconValue(working, CHAIN_ID, 2n) === undefined, false, 'a derived height after the latest stored one is recomputed');
  node.store.discard();

  // A registered proposer at height 3 proves over the latest VRF beacon, i.e. still the genesis one.
  const a = validators[0];
  const tx = beaconTxBy(a, 3n, genesisBeacon);
  t.equal(processProposal(node, 3n, a.consensusAddress, [tx]), Status.ACCEPT, 'VRF over the latest stored beacon (genesis), height 3');
  await finalize(node, 3n, a.consensusAddress, [tx]);
  t.equal(hx(storedBeacon(node, 3n)?.value), hx(proofToHash(decodeBeaconTx(tx)!.proof, VRF_SUITE_ELL2)));
  t.equal(node.app.randomness.beaconValue(node.store.committed(), CHAIN_ID, 2n), undefined, 'a derived height before the latest stored one: unknown');
});

t.test('FinalizeBlock without ProcessProposal (replay, in-process harness): deterministic, never throws', async (t) => {
  const state = appState(validators, [user]);
  const [a] = validators;
  const nodes = await Promise.all([openNode(state), openNode(state)]);
  t.teardown(() => Promise.all(nodes.map(closeNode)));
  const good = beaconTxBy(a, 1n, defaultGenesisBeacon(CHAIN_ID));
  // Only node 0 saw ProcessProposal (its check is cached); both must end identical.
  t.equal(processProposal(nodes[0], 1n, a.consensusAddress, [good]), Status.ACCEPT);
  const responses = await Promise.all(nodes.map((node) => finalize(node, 1n, a.consensusAddress, [good, good.subarray(0, 10)])));
  for (const response of responses) {
    t.same(response.txResults.map((r) => [r.codespace, r.code]), [['', 0], ['randomness', 12]], 'the beacon tx succeeds, a second beacon-format tx fails with code 12');
  }
  t.equal(toHex(responses[0].appHash), toHex(responses[1].appHash), 'same app hash with and without the cached check');

  // A block that reached FinalizeBlock without a valid beacon (never with > 2/3 honest): derived, txs fail alone.
  const bad = flipBit(beaconTxBy(a, 2n, storedBeacon(nodes[0], 1n)!.value), 50);
  const second = await Promise.all(nodes.map((node) => finalize(node, 2n, a.consensusAddress, [bad])));
  for (const [i, response] of second.entries()) {
    t.same(response.txResults.map((r) => r.code), [12], 'invalid beacon tx: code 12');
    t.equal(storedBeacon(nodes[i], 2n), undefined, 'no VRF beacon stored');
  }
  t.equal(toHex(second[0].appHash), toHex(second[1].appHash));
});

t.test('genesis: explicit genesis beacon, retention and pruning, export → import round trip', async (t) => {
  const genesisBeacon = sha512(utf8('my genesis'));
  const randomness: RandomnessGenesisJson = { params: { beaconRetentionBlocks: '3' }, genesisBeacon: toHex(genesisBeacon), beacons: [] };
  const state = appState(validators, [user], randomness);
  const node = await openNode(state);
  t.teardown(() => closeNode(node));
  let previous: Uint8Array = genesisBeacon;
  for (let height = 1n; height <= 6n; height++) {
    const proposer = validators[Number(height) % validators.length];
    const tx = beaconTxBy(proposer, height, previous);
    t.equal(processProposal(node, height, proposer.consensusAddress, [tx]), Status.ACCEPT, `height ${height} over the explicit genesis chain`);
    await finalize(node, height, proposer.consensusAddress, [tx]);
    previous = storedBeacon(node, height)!.value;
  }
  const kept = [...node.app.randomness.beacons(node.store.committed())].map((b) => b.height);
  t.same(kept, [4n, 5n, 6n], 'retention 3: heights ≤ H − 3 pruned');

  const exported = node.app.exportGenesis();
  const json = exported.randomness as RandomnessGenesisJson;
  t.equal(json.genesisBeacon, toHex(genesisBeacon));
  t.same(json.beacons.map((b) => b.height), ['4', '5', '6']);
  const imported = await openNode(exported);
  t.teardown(() => closeNode(imported));
  t.same(imported.app.exportGenesis(imported.store.working()).randomness, json, 'exportGenesis(initGenesis(g)) = g');
  t.equal(hx(imported.app.randomness.previousValue(imported.store.working(), CHAIN_ID)), hx(previous), 'the imported chain continues from the latest beacon');

  const defaults = await openNode(appState(validators, [user]));
  t.teardown(() => closeNode(defaults));
  t.same(defaults.app.exportGenesis(defaults.store.working()).randomness, { params: { beaconRetentionBlocks: '1000' }, genesisBeacon: '', beacons: [] }, 'default genesis');

  const bad: Array<[string, unknown]> = [
    ['short genesis beacon', { ...randomness, genesisBeacon: 'abcd' }],
    ['not hex', { ...randomness, genesisBeacon: 'zz' }],
    ['retention 0', { ...randomness, params: { beaconRetentionBlocks: '0' } }],
    ['unknown field', { ...randomness, extra: 1 }],
    ['unsorted beacons', { ...randomness, beacons: [json.beacons[1], json.beacons[0]] }],
  ];
  for (const [name, value] of bad) {
    t.throws(() => validateAppState(buildModules().modules, { ...state, randomness: value }), /randomness genesis|randomness params/, name);
  }
});
