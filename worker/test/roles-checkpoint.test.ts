// Checkpoints of the model head (training README "Checkpoints"): a carrier window's proposer
// builds and stores the head through a window; a worker that rebuilds a base starts from the
// latest checkpoint it can fetch and verify plus the windows after it, and gets the same bytes as
// one that replays every window.
import t from 'tap';
import { join } from 'node:path';
import { bytesToHex } from '@noble/hashes/utils.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { type TrainingCheckpoint, WindowStatus, type Window } from '@r3mes/client';
import type { CID } from 'multiformats/cid';
import { aggregateDeltas } from '../src/aggregate/file.ts';
import { initAdapter } from '../src/model/adapter.ts';
import { generateBackbone } from '../src/model/backbone.ts';
import type { ModelConfig } from '../src/model/config.ts';
import { decodeDelta, encodeDelta, type LoraPairs } from '../src/output/delta.ts';
import { checkpointStateHash, decodeHeadCheckpoint, encodeHeadCheckpoint } from '../src/output/head-checkpoint.ts';
import { shapeOfModel } from '../src/output/delta.ts';
import type { ModelIdentity } from '../src/output/metadata.ts';
import { headCheckpointer } from '../src/roles/aggregate.ts';
import { BaseStates } from '../src/roles/base-state.ts';
import type { LoadedModel } from '../src/roles/model.ts';
import { FileBlockstore } from '../src/storage/blockstore.ts';
import type { ContentStore } from '../src/storage/content-store.ts';
import { stateBytes } from '../src/train/hash.ts';

const cfg: ModelConfig = { vocab: 256, dModel: 16, nLayers: 2, nHeads: 2, dFF: 16, seqLen: 16, loraRank: 4, seed: new Uint8Array(32).fill(5) };
const identity: ModelIdentity = { version: 1n, backbone: { seed: cfg.seed }, cfg };
const model: LoadedModel = { identity, backbone: generateBackbone(cfg) } as LoadedModel;

/** A deterministic delta for window `w` (values large enough that the ±2^16 clamp bites in later windows). */
function syntheticDelta(w: number): LoraPairs {
  const init = initAdapter(cfg);
  let x = w * 7919;
  const next = () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return (x % 60001) - 30000;
  };
  return init.params.map((layer) => Object.fromEntries(Object.entries(layer).map(([p, pair]) => [p, { a: pair!.a.map(next), b: pair!.b.map(next) }]))) as LoraPairs;
}

function win(id: bigint, over: Partial<Window>): Window {
  return {
    id, status: WindowStatus.WINDOW_STATUS_FINALIZED, openHeight: 10n * id, closedHeight: 10n * id + 25n, modelVersion: 1n,
    resultCid: '', resultHash: Buffer.alloc(0), rolledBackHeight: 0n, checkpointThrough: 0n, commitStartHeight: 10n * id + 15n, ...over,
  } as Window;
}

/**
 * Windows 1..9 of version 1, each finalized with a real aggregate file (window 4 NOT_APPLIED, window 6
 * with a result but rolled back at height 150); window 10 opens at 200. `reads`/`gets` count what
 * a BaseStates asks the chain and the store.
 */
async function fixture(dir: string) {
  const blocks = await FileBlockstore.open(join(dir, 'store'));
  const windows = new Map<bigint, Window>();
  for (let i = 1; i <= 9; i++) {
    const enc = await encodeDelta(syntheticDelta(i), {
      model: identity, miner: 'r3mes1m', window: BigInt(i), ordinal: 0n, chunkIndex: 0n, chunkHash: bytesToHex(sha256(new Uint8Array([i]))), backend: 'cpu', lr: 256,
      stepHashes: [sha256(new Uint8Array([i, 0])), sha256(new Uint8Array([i, 1]))], lossBefore: 100, lossAfter: 90,
    });
    const agg = await aggregateDeltas([{ cid: enc.cid.toString(), file: await decodeDelta(enc.bytes) }], { kind: 'median' }, BigInt(i));
    await blocks.put(agg.bytes);
    const id = BigInt(i);
    windows.set(id, win(id, {
      resultCid: agg.cid.toString(), resultHash: Buffer.from(agg.resultHash),
      ...(i === 4 ? { status: WindowStatus.WINDOW_STATUS_NOT_APPLIED } : {}),
      ...(i === 6 ? { rolledBackHeight: 150n } : {}),
    }));
  }
  windows.set(10n, win(10n, { status: WindowStatus.WINDOW_STATUS_COLLECTING, openHeight: 200n, closedHeight: 0n }));
  const checkpoints: TrainingCheckpoint[] = [];
  const counters = { reads: [] as bigint[], gets: [] as string[] };
  const chain = {
    window: async (id: bigint) => {
      counters.reads.push(id);
      const w = windows.get(id);
      if (!w) throw new Error(`no window ${id}`);
      return w;
    },
    checkpoints: async (version: bigint) => checkpoints.filter((c) => c.modelVersion === version),
  };
  const store: ContentStore = {
    put: (bytes) => blocks.put(bytes),
    has: (cid) => blocks.has(cid),
    get: async (cid: CID) => {
      counters.gets.push(cid.toString());
      return blocks.get(cid);
    },
  };
  const replayChain = { window: chain.window };
  return { blocks, store, windows, checkpoints, chain, replayChain, counters };
}

type Fixture = Awaited<ReturnType<typeof fixture>>;

/** A carrier proposer publishes the checkpoint through `through` (aggregation started at `asOf`); the chain records it at `recorded`. */
async function publish(f: Fixture, through: bigint, asOf: bigint, recorded: bigint): Promise<TrainingCheckpoint> {
  const producer = headCheckpointer({ bases: new BaseStates(f.chain, f.store), loadModel: async () => model, store: f.store });
  const carrier = win(99n, { checkpointThrough: through, commitStartHeight: asOf });
  const { checkpointCid, checkpointHash } = await producer(carrier);
  const c: TrainingCheckpoint = {
    modelVersion: 1n, throughWindow: through, cid: checkpointCid, stateHash: Buffer.from(checkpointHash), height: recorded, carrierWindow: 99n, appliedWindows: 0n, rolledBackHeight: 0n,
  };
  f.checkpoints.push(c);
  return c;
}

t.test('a worker started after 3 checkpoints gets the replayed base bytes, reading only the windows after the last checkpoint', async (t) => {
  const f = await fixture(t.testdir());
  await publish(f, 2n, 50n, 60n);
  await publish(f, 5n, 80n, 90n);
  await publish(f, 8n, 130n, 140n); // before window 6 was rolled back (150): it holds 6
  // The rollback at 150 took window 6 out of the head: the chain marked the checkpoint through 8.
  f.checkpoints[2] = { ...f.checkpoints[2], rolledBackHeight: 150n };
  await publish(f, 9n, 160n, 170n); // after the rollback: without 6

  f.counters.reads.length = 0;
  f.counters.gets.length = 0;
  const replay = await new BaseStates(f.replayChain, f.store).forWindow(10n, model);
  const replayReads = f.counters.reads.length;
  const replayGets = f.counters.gets.length;
  t.same(replay.windows, [1n, 2n, 3n, 5n, 7n, 8n, 9n], 'replay: every applied window still in the head (4 not applied, 6 rolled back)');
  t.equal(replayGets, 7, 'replay fetches 7 aggregates');

  f.counters.reads.length = 0;
  f.counters.gets.length = 0;
  const fresh = await new BaseStates(f.chain, f.store).forWindow(10n, model);
  t.equal(bytesToHex(stateBytes(fresh.state)), bytesToHex(stateBytes(replay.state)), 'the same base bytes');
  t.same(fresh.windows, replay.windows, 'the same windows');
  t.same(f.counters.reads, [10n], 'reads only window 10 itself: nothing after the checkpoint through 9');
  t.same(f.counters.gets, [f.checkpoints[3].cid], 'fetches only the checkpoint');
  t.equal(replayReads, 10, 'the replay read window 10 and every window before it');

  // A window that opened before the last checkpoint was recorded starts from an earlier one.
  f.windows.set(10n, { ...f.windows.get(10n)!, openHeight: 145n });
  const b145 = await new BaseStates(f.replayChain, f.store).forWindow(10n, model);
  f.counters.reads.length = 0;
  f.counters.gets.length = 0;
  const c145 = await new BaseStates(f.chain, f.store).forWindow(10n, model);
  t.equal(bytesToHex(stateBytes(c145.state)), bytesToHex(stateBytes(b145.state)), 'opened at 145: same bytes');
  t.same(c145.windows, [1n, 2n, 3n, 5n, 6n, 7n, 8n, 9n], 'window 6 still in its base (rolled back at 150, after it opened)');
  t.same(f.counters.reads, [10n, 9n], 'from the checkpoint through 8 (rolled back only at 150): reads window 9');
  t.same(f.counters.gets.length, 2, 'the checkpoint and window 9\'s aggregate');
  t.end();
});

t.test('a checkpoint that does not verify (altered state hash, or unserved) is skipped for the next older one: same bytes', async (t) => {
  const f = await fixture(t.testdir());
  await publish(f, 2n, 50n, 60n);
  await publish(f, 5n, 80n, 90n);
  const last = await publish(f, 7n, 110n, 120n);
  const replay = await new BaseStates(f.replayChain, f.store).forWindow(10n, model);
  f.checkpoints[2] = { ...last, stateHash: Buffer.alloc(32, 1) };
  const lines: string[] = [];
  f.counters.reads.length = 0;
  const fresh = await new BaseStates(f.chain, f.store, (l) => lines.push(l)).forWindow(10n, model);
  t.equal(bytesToHex(stateBytes(fresh.state)), bytesToHex(stateBytes(replay.state)));
  t.same(f.counters.reads, [10n, 6n, 7n, 8n, 9n], 'from the checkpoint through 5');
  t.match(lines.join('\n'), /checkpoint through window 7 .* not usable.*state_hash/);

  f.checkpoints[2] = { ...last, cid: 'bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bz44yhu3gpbjh3nq' }; // a CID nobody serves
  const again = await new BaseStates(f.chain, f.store, () => {}).forWindow(10n, model);
  t.equal(bytesToHex(stateBytes(again.state)), bytesToHex(stateBytes(replay.state)), 'unserved: the older one');
  t.end();
});

t.test('the serving head starts from the latest checkpoint not rolled back; the file round-trips with its state hash', async (t) => {
  const f = await fixture(t.testdir());
  const c = await publish(f, 5n, 80n, 90n);
  const replay = await new BaseStates(f.replayChain, f.store).head(model, 9n);
  f.counters.reads.length = 0;
  const head = await new BaseStates(f.chain, f.store).head(model, 9n);
  t.equal(bytesToHex(stateBytes(head.state)), bytesToHex(stateBytes(replay.state)));
  t.same(head.windows, replay.windows);
  t.same(f.counters.reads, [6n, 7n, 8n, 9n]);

  const file = await decodeHeadCheckpoint(await f.blocks.get((await import('../src/storage/cid.ts')).parseCid(c.cid)), { cid: c.cid, stateHash: c.stateHash });
  t.same(file.windows, [1n, 2n, 3n, 5n]);
  t.equal(file.throughWindow, 5n);
  t.equal(bytesToHex(checkpointStateHash(file.params, shapeOfModel(identity))), bytesToHex(c.stateHash));
  const again = await encodeHeadCheckpoint(file.params, { model: identity, throughWindow: 5n, windows: file.windows });
  t.equal(again.cid.toString(), c.cid, 'the same head → the same CID (every honest proposer agrees)');
  await t.rejects(decodeHeadCheckpoint(again.bytes, { stateHash: Buffer.alloc(32) }), /state_hash/);
  t.end();
});

t.test('a chain that cannot list checkpoints: the base is replayed from every window, with a log line', async (t) => {
  const f = await fixture(t.testdir());
  const replay = await new BaseStates(f.replayChain, f.store).forWindow(10n, model);
  const lines: string[] = [];
  const failing = { window: f.chain.window, checkpoints: async () => { throw new Error('unknown query path'); } };
  const b = await new BaseStates(failing, f.store, (l) => lines.push(l)).forWindow(10n, model);
  t.equal(bytesToHex(stateBytes(b.state)), bytesToHex(stateBytes(replay.state)));
  t.match(lines.join('\n'), /checkpoints could not be listed \(unknown query path\); replaying every window/);
  t.end();
});
