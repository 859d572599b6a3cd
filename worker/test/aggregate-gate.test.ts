// Proof of Learning (SPEC §14) with the real integer training on the devnet-size model: a window
// whose miners trained honestly on train-split chunks, and one whose miners trained on the same
// chunks with their targets scrambled (every byte through a fixed permutation). The proposer
// aggregates each, evaluates base and base + aggregate on the window's held-out sample on the
// compute thread, and commits and reveals the two losses; the chain's gate (gateApplies, the
// function the training keeper runs at the tally) applies the honest update and not the other.
import t from 'tap';
import { join } from 'node:path';
import { bytesToHex } from '@noble/hashes/utils.js';
import {
  type AggregationCommit, commitHash, defaultTrainingParams, gateApplies, type ModelVersion, type Submission, SubmissionStatus, type Window, WindowStatus,
} from '@r3mes/client';
import { heldOutLoss } from '../src/aggregate/evaluate.ts';
import { cpuBackend } from '../src/backend.ts';
import { type ChainReader, type SignedTx, txHashOf } from '../src/chain/client.ts';
import { chunkHash } from '../src/data/chunk.ts';
import { chunkAt } from '../src/data/corpus.ts';
import { initAdapter } from '../src/model/adapter.ts';
import { generateBackbone } from '../src/model/backbone.ts';
import type { ModelConfig } from '../src/model/config.ts';
import { adapterDelta, encodeDelta } from '../src/output/delta.ts';
import { heldOutEvaluator, proposerDutyForWindow } from '../src/roles/aggregate.ts';
import { BaseStates } from '../src/roles/base-state.ts';
import { runTrainingJob } from '../src/roles/job.ts';
import { Journal } from '../src/roles/journal.ts';
import type { LoadedModel } from '../src/roles/model.ts';
import { WorkerStats } from '../src/roles/stats.ts';
import { FileBlockstore } from '../src/storage/blockstore.ts';

const ME = 'r3mes1proposer';
// The devnet model (genesis/devnet.ts DEVNET_ARCHITECTURE, genesis LoRA rank 8).
const cfg: ModelConfig = { vocab: 256, dModel: 64, nLayers: 2, nHeads: 2, dFF: 128, seqLen: 64, loraRank: 8, seed: new Uint8Array(32).fill(9) };
const VERSION: ModelVersion = {
  number: 1n, modelCid: '', backboneSeed: bytesToHex(cfg.seed),
  architecture: { dModel: cfg.dModel, nLayers: cfg.nLayers, nHeads: cfg.nHeads, dFf: cfg.dFF, vocabSize: 256, seqLen: cfg.seqLen, nKvHeads: 0, ffn: '', ropeTheta: 0, ropeLayout: '', normGains: false, embedding: '' },
  lora: { rank: cfg.loraRank, alpha: 16, targets: ['q', 'k', 'v', 'o'] }, status: 1, activationHeight: 0n, migrationBlocks: 0n,
  migrationEndHeight: 0n, deprecatedHeight: 0n, proposalId: 0n, manifestCid: '', architectureHash: '',
};
const model: LoadedModel = { identity: { version: 1n, backbone: { seed: cfg.seed }, cfg }, backbone: generateBackbone(cfg) } as LoadedModel;
const EVAL_CHUNKS = [17n, 140n];
const STEPS = 2;
const LR = 256;

/** Scrambled targets: every byte through the bijection b → (151·b + 89) mod 256. */
const scramble = (chunk: Uint8Array) => chunk.map((b) => (151 * b + 89) % 256);

function windowOf(id: bigint): Window {
  return {
    id, status: WindowStatus.WINDOW_STATUS_AGGREGATING, openHeight: 1n, seed: Buffer.alloc(32), modelVersion: 1n, subnetCount: 1n, chunkCount: 1024n,
    maxSubmissionsPerMiner: 4n, collectEndHeight: 100n, commitStartHeight: 120n, revealStartHeight: 130n, revealEndHeight: 140n, baseReward: '1',
    submissionCount: 3n, acceptedCount: 3n, proposers: [ME], resultCid: '', resultHash: Buffer.alloc(0), failureReason: '', closedHeight: 0n, excludedCount: 0n,
    evalChunkCount: BigInt(EVAL_CHUNKS.length), heldoutChunkCount: 303n, minImprovement: 0n, evalChunks: EVAL_CHUNKS, lossBase: 0n, lossAggregate: 0n, rolledBackHeight: 0n, datasetId: 0n, checkpointThrough: 0n,
  };
}

t.test('an update trained on scrambled targets is not applied, an honest one is', async (t) => {
  const dir = t.testdir();
  const store = await FileBlockstore.open(join(dir, 'store'));
  const backend = cpuBackend(); // the compute thread: the event loop stays free
  const windows = new Map<bigint, Window>([[1n, windowOf(1n)], [2n, windowOf(2n)]]);
  const subs = new Map<bigint, Submission[]>();
  // Three miners per window, each one train-split chunk: window 1 honest, window 2 scrambled.
  for (const [w, corrupt] of [[1n, false], [2n, true]] as const) {
    const list: Submission[] = [];
    for (let k = 0; k < 3; k++) {
      const index = 3 * Number(w) + k;
      const tokens = chunkAt(index).tokens;
      const chunk = corrupt ? scramble(tokens) : tokens;
      const job = await runTrainingJob({ model, chunk, steps: STEPS, lr: LR, backend });
      const enc = await encodeDelta(adapterDelta(job.initial, job.final), {
        model: model.identity, miner: `r3mes1m${k}`, window: w, ordinal: 0n, chunkIndex: BigInt(index), chunkHash: chunkHash(chunk), backend: 'cpu', lr: LR,
        stepHashes: job.stepHashes, lossBefore: job.lossBefore, lossAfter: job.lossAfter,
      });
      await store.put(enc.bytes);
      list.push({
        id: w * 10n + BigInt(k), miner: `r3mes1m${k}`, windowId: w, subnet: 0n, modelVersion: 1n, gradientCid: enc.cid.toString(), gradientHash: Buffer.from(enc.gradientHash),
        traceRoot: Buffer.from(enc.traceRoot), chunkIndex: BigInt(index), ordinal: 0n, lossBefore: BigInt(job.lossBefore), lossAfter: BigInt(job.lossAfter), backend: 'cpu',
        height: 3n, status: SubmissionStatus.SUBMISSION_STATUS_ACCEPTED, rejectReason: '', exclusionReason: 0,
      });
    }
    subs.set(w, list);
  }
  const commits: AggregationCommit[] = [];
  const sent: Array<Record<string, string>> = [];
  const chain: ChainReader = {
    height: async () => 0n, currentWindow: async () => undefined, window: async (id) => windows.get(id)!, assignment: async () => { throw new Error('unused'); },
    windowSubmissions: async (id) => subs.get(id) ?? [], submission: async () => { throw new Error('unused'); }, aggregation: async () => commits,
    trainingParams: async () => defaultTrainingParams(), modelVersion: async () => VERSION, txResult: async () => undefined,
  };
  const sign = (body: Record<string, string>): SignedTx => {
    const txBytes = new TextEncoder().encode(JSON.stringify(body));
    return { txBytes, txhash: txHashOf(txBytes) };
  };
  const writer = {
    address: ME,
    signSubmitGradient: async () => { throw new Error('unused'); },
    signCommitAggregation: async (w: bigint, c: Uint8Array) => sign({ kind: 'commit', window: w.toString(), commitment: bytesToHex(c) }),
    signRevealAggregation: async (w: bigint, cid: string, h: Uint8Array, n: Uint8Array, _x: unknown, l = { lossBase: 0n, lossAggregate: 0n }) => sign({
      kind: 'reveal', window: w.toString(), cid, hash: bytesToHex(h), nonce: bytesToHex(n), lossBase: l.lossBase.toString(), lossAggregate: l.lossAggregate.toString(),
    }),
    broadcast: async (tx: SignedTx) => {
      sent.push(JSON.parse(new TextDecoder().decode(tx.txBytes)) as Record<string, string>);
      return { txhash: tx.txhash, height: 125n, code: 0, rawLog: '' };
    },
  };
  const lines: string[] = [];
  const evaluator = heldOutEvaluator({
    bases: new BaseStates(chain, store), loadModel: async () => model, evaluate: backend.evaluate,
    heldoutChunk: (i) => chunkAt(Number(i), 'heldout').tokens, log: (l) => lines.push(l),
  });
  const deps = { chain, writer, store, journal: await Journal.open(join(dir, 'journal.json')), stats: new WorkerStats(), log: (l: string) => lines.push(l), evaluator };

  const revealed = new Map<bigint, Record<string, string>>();
  for (const w of [1n, 2n]) {
    t.equal((await proposerDutyForWindow(deps, windows.get(w)!, 121n)).action, 'committed', `window ${w}: committed`);
    const commit = sent.at(-1)!;
    commits.push({
      windowId: w, proposer: ME, commitment: Buffer.from(commit.commitment, 'hex'), commitHeight: 121n, revealed: false, resultCid: '', resultHash: Buffer.alloc(0),
      revealHeight: 0n, excluded: [], lossBase: 0n, lossAggregate: 0n, checkpointCid: '', checkpointHash: Buffer.alloc(0),
    });
    t.equal((await proposerDutyForWindow(deps, windows.get(w)!, 131n)).action, 'revealed');
    const reveal = sent.at(-1)!;
    revealed.set(w, reveal);
    commits.length = 0;
    const losses = { lossBase: BigInt(reveal.lossBase), lossAggregate: BigInt(reveal.lossAggregate) };
    t.ok(losses.lossBase > 0n && losses.lossAggregate > 0n, `window ${w}: both losses revealed (${losses.lossBase} → ${losses.lossAggregate})`);
    t.equal(bytesToHex(commitHash(reveal.cid, Buffer.from(reveal.hash, 'hex'), Buffer.from(reveal.nonce, 'hex'), [], losses)), commit.commitment, 'the commitment covers the losses');
  }
  const [honest, bad] = [revealed.get(1n)!, revealed.get(2n)!];
  t.equal(honest.lossBase, bad.lossBase, 'both windows start from the same base (the initial adapter) on the same sample');
  // The base's loss, computed here in process: the thread's integers are the same.
  const direct = await heldOutLoss(async (bb, s, bytes) => (await import('../src/train/evaluate.ts')).evaluate(bb, s, bytes), model.backbone, initAdapter(cfg), EVAL_CHUNKS.map((i) => chunkAt(Number(i), 'heldout').tokens));
  t.equal(honest.lossBase, direct.loss.toString(), 'the compute thread and the in-process forward agree exactly');
  t.equal(direct.tokens, EVAL_CHUNKS.length * 32 * 63, 'each held-out chunk: 32 sequences of 64 bytes, 63 predictions each');
  t.ok(gateApplies(BigInt(honest.lossBase), BigInt(honest.lossAggregate), 0n), `honest update applied: ${honest.lossBase} → ${honest.lossAggregate}`);
  t.notOk(gateApplies(BigInt(bad.lossBase), BigInt(bad.lossAggregate), 0n), `scrambled-target update not applied: ${bad.lossBase} → ${bad.lossAggregate}`);
  t.comment(`held-out loss (Q16 nats/byte): honest ${honest.lossBase} → ${honest.lossAggregate}, scrambled ${bad.lossBase} → ${bad.lossAggregate}`);
  t.ok(lines.some((l) => /held-out loss on chunks 17,140: base \d+, base \+ aggregate \d+/.test(l)), 'the proposer logs both losses');
});

t.test('the held-out split is never trained on: no train chunk (what assignment indexes) equals a held-out chunk', async (t) => {
  const { chunkCount } = await import('../src/data/corpus.ts');
  const { corpusChunk, corpusHeldoutChunk } = await import('../src/cli/common.ts');
  const heldout = new Set(Array.from({ length: chunkCount('heldout') }, (_, i) => chunkAt(i, 'heldout').hash));
  t.equal(heldout.size, 303, 'the 303 held-out chunks (heldoutChunkCount) are distinct');
  const train = Array.from({ length: chunkCount('train') }, (_, i) => chunkHash(corpusChunk(BigInt(i))));
  t.equal(train.filter((h) => heldout.has(h)).length, 0, `none of the ${train.length} train chunks is a held-out chunk`);
  t.equal(chunkHash(corpusHeldoutChunk(5n)), chunkAt(5, 'heldout').hash);
  t.throws(() => corpusHeldoutChunk(303n), /outside the local corpus's held-out split \(0\.\.302\)/);
  t.throws(() => corpusChunk(2688n), /outside the local corpus/, 'assignment indices past the train split are refused, never wrapped into held-out data');
});
