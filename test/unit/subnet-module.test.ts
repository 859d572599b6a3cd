/**
 * subnet: the layer split, the per-window assignment, MsgSubmitActivation (happy path and one
 * test per error code), queries, params, genesis. Windows come from the real training keeper;
 * staking and model are fakes (test/helpers/training-testbed.ts).
 */
import t, { type Test } from 'tap';
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex, utf8 } from '../../app/core/bytes.ts';
import { ChainError, type ErrorKind } from '../../app/core/errors.ts';
import type { Context } from '../../app/core/context.ts';
import { emptyState, testContext } from '../helpers/module-context.ts';
import { decodeAddress } from '../../app/core/address.ts';
import { GenesisState } from '../../proto/gen/r3mes/subnet/v1/genesis.ts';
import {
  QueryActivationsRequest, QueryActivationsResponse, QueryAssignmentRequest, QueryAssignmentResponse,
  QueryParamsResponse, QuerySubnetsRequest, QuerySubnetsResponse,
} from '../../proto/gen/r3mes/subnet/v1/query.ts';
import { MsgSubmitActivation } from '../../proto/gen/r3mes/subnet/v1/tx.ts';
import { GenesisState as TrainingGenesis } from '../../proto/gen/r3mes/training/v1/genesis.ts';
import { assignedSubnet, effectiveSubnetCount, subnetLayerRanges } from '../../modules/subnet/assignment.ts';
import { subnetErrors } from '../../modules/subnet/errors.ts';
import { subnetInterface } from '../../modules/subnet/interface.ts';
import { QUERY_PATHS } from '../../modules/subnet/module.ts';
import { SUBMIT_ACTIVATION_TYPE_URL } from '../../modules/subnet/msgs.ts';
import { defaultGenesis as trainingDefaultGenesis } from '../../modules/training/genesis.ts';
import { defaultParams as trainingDefaultParams } from '../../modules/training/params.ts';
import { testAddress, testCid, trainingTestbed } from '../helpers/training-testbed.ts';

const MINERS = Array.from({ length: 40 }, (_, i) => testAddress(`subnet-miner-${i}`));

function setup(subnetCount = 4n) {
  const bed = trainingTestbed();
  const store = emptyState();
  bed.subnetModule.initGenesis(store, GenesisState.toJSON({ params: { subnetCount }, activations: [] }));
  bed.trainingModule.initGenesis(store, TrainingGenesis.toJSON({
    ...trainingDefaultGenesis(), params: { ...trainingDefaultParams(), windowBlocks: 10n, challengePeriodBlocks: 2n },
  }));
  for (const miner of MINERS) bed.staking.minersByAddress.set(miner, { stake: 10_000_000n, jailed: false, backend: 'webgpu' });
  let height = 0n;
  const runTo = (target: bigint): Context => {
    while (height < target) {
      height += 1n;
      bed.training.beginBlock(testContext(store, { height }));
    }
    return testContext(store, { height: target });
  };
  const handler = bed.subnetModule.msgs[0];
  const submit = (ctx: Context, msg: MsgSubmitActivation) => {
    handler.signers(msg);
    return handler.execute(ctx, msg);
  };
  /** A miner the window assigns to a subnet satisfying `which`. */
  const minerWhere = (windowId: bigint, which: (subnet: bigint, count: bigint) => boolean): string => {
    const window = bed.training.window(store, windowId)!;
    const found = MINERS.find((miner) => which(assignedSubnet(window.seed, miner, window.subnetCount), window.subnetCount));
    if (found === undefined) throw new Error('no such miner among the test miners');
    return found;
  };
  return { ...bed, store, runTo, submit, minerWhere, handler };
}
type Setup = ReturnType<typeof setup>;

function activation(s: Setup, miner: string, windowId = 1n, overrides: Partial<MsgSubmitActivation> = {}): MsgSubmitActivation {
  const window = s.training.window(s.store, windowId)!;
  return MsgSubmitActivation.fromPartial({
    miner, windowId, subnet: assignedSubnet(window.seed, miner, window.subnetCount),
    activationCid: testCid(`activation/${miner}/${windowId}`), activationHash: Buffer.from(sha256(utf8(`act/${miner}`))), ...overrides,
  });
}

const covered = new Set<number>();
function rejects(t: Test, fn: () => unknown, kind: ErrorKind, what: string): void {
  try {
    fn();
    t.fail(`${what}: expected ${kind.codespace}/${kind.code}`);
  } catch (error) {
    t.ok(error instanceof ChainError, `${what}: a ChainError`);
    const chain = error as ChainError;
    t.equal(`${chain.codespace}/${chain.code}`, `${kind.codespace}/${kind.code}`, `${what}: ${chain.message}`);
    if (chain.codespace === 'subnet') covered.add(chain.code);
  }
}

t.test('layer split: subnet k of S over n layers is [floor(k·n/S), floor((k+1)·n/S))', (t) => {
  const ranges = (n: bigint, s: bigint) => subnetLayerRanges(n, s).map((r) => [r.firstLayer, r.endLayer]);
  t.same(ranges(30n, 4n), [[0n, 7n], [7n, 15n], [15n, 22n], [22n, 30n]]);
  t.same(ranges(8n, 4n), [[0n, 2n], [2n, 4n], [4n, 6n], [6n, 8n]]);
  t.same(ranges(5n, 1n), [[0n, 5n]]);
  t.same(ranges(3n, 3n), [[0n, 1n], [1n, 2n], [2n, 3n]]);
  t.equal(effectiveSubnetCount(2n, 4n), 2n, 'capped at the layer count');
  t.equal(effectiveSubnetCount(24n, 4n), 4n);
  t.throws(() => subnetLayerRanges(3n, 4n), 'more subnets than layers');
  for (let n = 1n; n <= 40n; n++) {
    for (let s = 1n; s <= n; s++) {
      const r = subnetLayerRanges(n, s);
      const contiguous = r.every((x, i) => x.firstLayer < x.endLayer && (i === 0 ? x.firstLayer === 0n : x.firstLayer === r[i - 1].endLayer));
      if (!contiguous || r[r.length - 1].endLayer !== n) t.fail(`split of ${n} into ${s}`);
    }
  }
  t.end();
});

t.test('assignedSubnet: the README formula, deterministic, every subnet used', (t) => {
  const seed = sha256(utf8('window-seed'));
  const miner = MINERS[0];
  const len = Buffer.alloc(4);
  len.writeUInt32BE(Buffer.byteLength(miner));
  const digest = sha256(Buffer.concat([Buffer.from('r3mes/subnet/assignment/v1'), seed, len, Buffer.from(miner)]));
  t.equal(assignedSubnet(seed, miner, 4n), BigInt(`0x${toHex(digest)}`) % 4n);
  t.equal(assignedSubnet(seed, miner, 1n), 0n);
  const used = new Set(MINERS.map((m) => assignedSubnet(seed, m, 4n)));
  t.same([...used].sort(), [0n, 1n, 2n, 3n]);
  const otherSeed = sha256(utf8('another window'));
  t.ok(MINERS.some((m) => assignedSubnet(seed, m, 4n) !== assignedSubnet(otherSeed, m, 4n)), 'assignments change per window');
  t.throws(() => assignedSubnet(seed.slice(0, 16), miner, 4n));
  t.end();
});

t.test('MsgSubmitActivation: hands an activation from k to k+1', (t) => {
  const s = setup();
  const ctx = s.runTo(2n);
  const miner = s.minerWhere(1n, (k, count) => k + 1n < count);
  const msg = activation(s, miner);
  const response = s.submit(ctx, msg);
  t.equal(response.typeUrl, '/r3mes.subnet.v1.MsgSubmitActivationResponse');
  const stored = s.subnet.activation(s.store, 1n, miner)!;
  t.equal(stored.fromSubnet, msg.subnet);
  t.equal(stored.toSubnet, msg.subnet + 1n);
  t.equal(stored.activationCid, msg.activationCid);
  t.equal(stored.height, 2n);
  const event = ctx.events.events.find((e) => e.type === 'activation')!;
  const attrs = Object.fromEntries(event.attributes.map((a) => [a.key, a]));
  t.match(attrs, { window: { value: '1', index: true }, miner: { value: miner, index: true }, cid: { value: msg.activationCid, index: true } });
  t.equal(attrs.to_subnet.value, (msg.subnet + 1n).toString());
  const listed = QueryActivationsResponse.decode(s.subnetModule.queries[QUERY_PATHS.activations](s.store, QueryActivationsRequest.encode({ windowId: 1n, pagination: undefined }).finish()));
  t.same(listed.activations.map((a) => a.miner), [miner]);
  t.same(toHex(s.handler.signers(msg)[0]), toHex(decodeAddress(miner)), 'signer: the miner');
  t.end();
});

t.test('2 invalid params', (t) => {
  const s = setup();
  const params = s.subnetModule.params!;
  t.same(params.get(s.store), { subnetCount: '4' });
  rejects(t, () => params.set(s.store, { subnetCount: '0' }), subnetErrors.invalidParams, 'zero');
  rejects(t, () => params.set(s.store, { subnetCount: '4', other: 1 }), subnetErrors.invalidParams, 'unknown key');
  rejects(t, () => params.set(s.store, {}), subnetErrors.invalidParams, 'missing');
  params.set(s.store, { subnetCount: 2 });
  t.same(params.get(s.store), { subnetCount: '2' });
  t.end();
});

t.test('3 invalid genesis', (t) => {
  const s = setup();
  const good = { windowId: 1n, miner: MINERS[0], fromSubnet: 0n, toSubnet: 1n, activationCid: testCid('a'), activationHash: Buffer.alloc(32), height: 2n };
  rejects(t, () => s.subnetModule.initGenesis(emptyState(), { activations: [] }), subnetErrors.invalidGenesis, 'no params');
  rejects(t, () => s.subnetModule.initGenesis(emptyState(), GenesisState.toJSON({ params: { subnetCount: 4n }, activations: [{ ...good, toSubnet: 3n }] })), subnetErrors.invalidGenesis, 'to != from + 1');
  rejects(t, () => s.subnetModule.initGenesis(emptyState(), GenesisState.toJSON({ params: { subnetCount: 4n }, activations: [good, good] })), subnetErrors.invalidGenesis, 'duplicate');
  rejects(t, () => s.subnetModule.initGenesis(emptyState(), GenesisState.toJSON({ params: { subnetCount: 4n }, activations: [{ ...good, activationCid: 'x' }] })), subnetErrors.invalidGenesis, 'bad cid');
  t.end();
});

t.test('4 model version not found (subnets query)', (t) => {
  const s = setup();
  rejects(t, () => s.subnetModule.queries[QUERY_PATHS.subnets](s.store, QuerySubnetsRequest.encode({ modelVersion: 9n, pagination: undefined }).finish()), subnetErrors.modelVersionNotFound, 'version 9');
  s.models.versions = [];
  rejects(t, () => s.subnetModule.queries[QUERY_PATHS.subnets](s.store, QuerySubnetsRequest.encode({ modelVersion: 0n, pagination: undefined }).finish()), subnetErrors.modelVersionNotFound, 'no active version');
  t.end();
});

t.test('5 window not found', (t) => {
  const s = setup();
  const ctx = s.runTo(2n);
  rejects(t, () => s.submit(ctx, { ...activation(s, MINERS[0]), windowId: 7n }), subnetErrors.windowNotFound, 'window 7');
  rejects(t, () => s.subnetModule.queries[QUERY_PATHS.assignment](s.store, QueryAssignmentRequest.encode({ windowId: 7n, miner: MINERS[0] }).finish()), subnetErrors.windowNotFound, 'assignment query');
  t.end();
});

t.test('6 window not collecting', (t) => {
  const s = setup();
  s.runTo(2n);
  const miner = s.minerWhere(1n, (k, count) => k + 1n < count);
  const msg = activation(s, miner);
  const ctx = s.runTo(11n);
  rejects(t, () => s.submit(ctx, msg), subnetErrors.windowNotCollecting, 'window 1 aggregating');
  t.end();
});

t.test('7 miner not registered', (t) => {
  const s = setup();
  const ctx = s.runTo(2n);
  const stranger = testAddress('stranger');
  rejects(t, () => s.submit(ctx, activation(s, stranger)), subnetErrors.minerNotRegistered, 'stranger');
  t.end();
});

t.test('8 miner not assigned to the subnet', (t) => {
  const s = setup();
  const ctx = s.runTo(2n);
  const miner = s.minerWhere(1n, (k) => k === 0n);
  rejects(t, () => s.submit(ctx, activation(s, miner, 1n, { subnet: 1n })), subnetErrors.notAssigned, 'assigned 0, claims 1');
  rejects(t, () => s.submit(ctx, activation(s, miner, 1n, { subnet: 9n })), subnetErrors.notAssigned, 'no subnet 9');
  t.end();
});

t.test('9 no next subnet: the last subnet has nobody to hand to', (t) => {
  const s = setup();
  const ctx = s.runTo(2n);
  const miner = s.minerWhere(1n, (k, count) => k === count - 1n);
  rejects(t, () => s.submit(ctx, activation(s, miner)), subnetErrors.noNextSubnet, 'subnet 3 of 4');
  t.end();
});

t.test('10 invalid CID', (t) => {
  const s = setup();
  const ctx = s.runTo(2n);
  const miner = s.minerWhere(1n, (k, count) => k + 1n < count);
  // CIDv0, and a dag-cbor CIDv1 (the same digest as the dag-pb CID below).
  for (const activationCid of ['', 'QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG', 'bafyreigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi']) {
    rejects(t, () => s.submit(ctx, activation(s, miner, 1n, { activationCid })), subnetErrors.invalidCid, JSON.stringify(activationCid));
  }
  // A UnixFS file root (content over 1 MiB) is a content CID.
  const activationCid = 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi';
  t.doesNotThrow(() => s.submit(ctx, activation(s, miner, 1n, { activationCid })), 'dag-pb root accepted');
  t.equal(s.subnet.activation(s.store, 1n, miner)?.activationCid, activationCid);
  t.end();
});

t.test('11 invalid hash', (t) => {
  const s = setup();
  const ctx = s.runTo(2n);
  rejects(t, () => s.submit(ctx, activation(s, MINERS[0], 1n, { activationHash: Buffer.alloc(20) })), subnetErrors.invalidHash, '20 bytes');
  t.end();
});

t.test('12 duplicate activation: same miner again, or same CID from another miner', (t) => {
  const s = setup();
  const ctx = s.runTo(2n);
  const window = s.training.window(s.store, 1n)!;
  const handing = MINERS.filter((m) => assignedSubnet(window.seed, m, window.subnetCount) + 1n < window.subnetCount);
  const first = activation(s, handing[0]);
  s.submit(ctx, first);
  rejects(t, () => s.submit(ctx, activation(s, handing[0], 1n, { activationCid: testCid('another') })), subnetErrors.duplicateActivation, 'same miner');
  rejects(t, () => s.submit(ctx, activation(s, handing[1], 1n, { activationCid: first.activationCid })), subnetErrors.duplicateActivation, 'same CID');
  t.doesNotThrow(() => s.submit(ctx, activation(s, handing[1])), 'another miner with its own activation');
  t.end();
});

t.test('every subnet error code has its test', (t) => {
  t.same([...covered].sort((a, b) => a - b), Object.values(subnetErrors).map((k) => k.code).sort((a, b) => a - b));
  t.end();
});

t.test('queries: params, subnets of a version, assignment agrees with training', (t) => {
  const s = setup();
  s.runTo(2n);
  const q = s.subnetModule.queries;
  t.equal(QueryParamsResponse.decode(q[QUERY_PATHS.params](s.store, new Uint8Array())).params!.subnetCount, 4n);
  const subnets = QuerySubnetsResponse.decode(q[QUERY_PATHS.subnets](s.store, QuerySubnetsRequest.encode({ modelVersion: 0n, pagination: undefined }).finish()));
  t.equal(subnets.modelVersion, 1n);
  t.equal(subnets.nLayers, 8n);
  t.same(subnets.subnets.map((x) => [x.index, x.firstLayer, x.endLayer]), [[0n, 0n, 2n], [1n, 2n, 4n], [2n, 4n, 6n], [3n, 6n, 8n]]);
  for (const miner of MINERS.slice(0, 5)) {
    const answer = QueryAssignmentResponse.decode(q[QUERY_PATHS.assignment](s.store, QueryAssignmentRequest.encode({ windowId: 1n, miner }).finish()));
    t.equal(answer.subnetCount, 4n);
    t.equal(answer.subnet!.index, s.training.assignment(s.store, 1n, miner).subnet, 'training checks the same subnet');
    t.equal(answer.subnet!.endLayer - answer.subnet!.firstLayer, 2n);
  }
  t.end();
});

t.test('SubnetReader for training: subnet count = min(param, n_layers), fixed per window', (t) => {
  const s = setup(16n);
  t.equal(s.subnet.subnetCount(s.store, 1n), 8n, '16 capped at 8 layers');
  s.runTo(1n);
  t.equal(s.training.window(s.store, 1n)!.subnetCount, 8n);
  s.subnetModule.params!.set(s.store, { subnetCount: '2' });
  t.equal(s.training.window(s.store, 1n)!.subnetCount, 8n, 'an open window keeps its count');
  s.runTo(11n);
  t.equal(s.training.window(s.store, 2n)!.subnetCount, 2n, 'the next window uses the new param');
  t.end();
});

t.test('genesis round trip with activations; interface', (t) => {
  const s = setup();
  const ctx = s.runTo(2n);
  const window = s.training.window(s.store, 1n)!;
  for (const miner of MINERS.filter((m) => assignedSubnet(window.seed, m, window.subnetCount) + 1n < window.subnetCount).slice(0, 5)) {
    s.submit(ctx, activation(s, miner));
  }
  const g = JSON.parse(JSON.stringify(s.subnetModule.exportGenesis(s.store)));
  t.equal(g.activations.length, 5);
  const copy = emptyState();
  s.subnetModule.initGenesis(copy, g);
  t.same(s.subnetModule.exportGenesis(copy), g, 'exportGenesis(initGenesis(g)) = g');
  const defaults = emptyState();
  s.subnetModule.initGenesis(defaults, s.subnetModule.defaultGenesis());
  t.same(s.subnetModule.exportGenesis(defaults), s.subnetModule.defaultGenesis(), 'default genesis round trip');

  const spec = subnetInterface.txs[0];
  const msg = activation(s, MINERS[0]);
  const built = spec.build(MINERS[0], { 'window-id': '1', subnet: msg.subnet.toString(), 'activation-cid': msg.activationCid, 'activation-hash': toHex(msg.activationHash) }, {});
  t.same(MsgSubmitActivation.encode(built as MsgSubmitActivation).finish(), MsgSubmitActivation.encode(msg).finish());
  t.equal(spec.typeUrl, SUBMIT_ACTIVATION_TYPE_URL);
  for (const route of subnetInterface.queries) t.ok(s.subnetModule.queries[route.path], `${route.path} served`);
  const route = subnetInterface.queries.find((r) => r.name === 'subnets')!;
  t.match(route.decodeResponse(s.subnetModule.queries[route.path](s.store, route.encodeRequest({ model_version: '0' }))), { modelVersion: '1', nLayers: '8' });
  t.end();
});
