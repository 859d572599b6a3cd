// Bisection, the worker's side (verification README "Bisection"): the trace-proof vector the
// chain checks too, one-step re-execution from a published checkpoint equal to the whole job's
// step, the middle-step cheater, and the miner and disputer playing their rounds to one step.
import t from 'tap';
import { join } from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { bytesToHex } from '@noble/hashes/utils.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { Dispute as DisputeProto, DisputeStage, SubmissionStatus } from '@r3mes/client';
import { cpuBackend } from '../src/backend.ts';
import { type BisectionWriter, type Dispute, type SignedTx, type Submission, txHashOf } from '../src/chain/client.ts';
import { chunkHash } from '../src/data/chunk.ts';
import type { ModelConfig } from '../src/model/config.ts';
import { adapterDelta, encodeDelta } from '../src/output/delta.ts';
import type { ModelIdentity } from '../src/output/metadata.ts';
import { makeTrace, traceProof } from '../src/output/trace.ts';
import { bisectPass, type BisectView, disputerOwnTrace, reexecuteOneStep, STEPS_MISMATCH_RESULT } from '../src/roles/bisect.ts';
import { runTrainingJob } from '../src/roles/job.ts';
import { middleStep } from '../src/roles/miner-cheat.ts';
import { loadModel } from '../src/roles/model.ts';
import { DutyJournal } from '../src/roles/verify.ts';
import { FileBlockstore } from '../src/storage/blockstore.ts';

// The vector of test/unit/verification-bisection.test.ts (the chain's check): stateHash_i =
// SHA-256("r3mes/trace-vector/{i}"), i = 0..5; the worker's generator must produce these siblings.
const VECTOR = {
  root: 'e7005011be19d5604a3143dafee2a6a3514763c522f459f55c98493f22d08ab4',
  proofs: [
    { index: 0, siblings: ['b88128926f0f337bf090419feaa91db03227c2eb31d96d852f7362c6e83c0f94', 'ef0ff829b9025645f50dd999d5e688ee75dad2e203ac69137832135303c2a74f', '10722cfdeecc993eaec97aa86e6bdacdae475eb5424fb35eca75da4744e9f783'] },
    { index: 3, siblings: ['9db6599be50c5caecb2ad72eb9ee60edf65f4b7fde48b0e55b59bad25624bf5e', '508da4fd264e13bb99d4cc49d0f669ae348bd924b24659ffac850bdda323bc14', '10722cfdeecc993eaec97aa86e6bdacdae475eb5424fb35eca75da4744e9f783'] },
    { index: 5, siblings: ['be4d8425bf472823c4393eb891417cac803ee7542aebad01e509106a038ab047', '1395ff8ba5fe7584969a8be3ccf1238595a9c2293aef7823075e8c0203340224'] },
  ],
};

t.test('trace proof vector: the worker generates the siblings the chain verifies', async (t) => {
  const leaves = Array.from({ length: 6 }, (_, i) => sha256(new TextEncoder().encode(`r3mes/trace-vector/${i}`)));
  t.equal(bytesToHex(makeTrace(leaves).root), VECTOR.root);
  for (const p of VECTOR.proofs) t.same(traceProof(leaves, p.index).map((n) => bytesToHex(n.sibling)), p.siblings, `index ${p.index}`);
});

const cfg: ModelConfig = { vocab: 256, dModel: 16, nLayers: 1, nHeads: 2, dFF: 16, seqLen: 16, loraRank: 4, seed: new Uint8Array(32).fill(5) };
const identity: ModelIdentity = { version: 1n, backbone: { seed: cfg.seed }, cfg };
const chunk = Uint8Array.from({ length: 2048 }, (_, i) => 97 + ((i * 7 + (i >> 5)) % 26));
const backend = cpuBackend();
const model = await loadModel(identity);
const STEPS = 4;
const honestJob = await runTrainingJob({ model, chunk, steps: STEPS, lr: 256, backend });
const cheatJob = await runTrainingJob({ model, chunk, steps: STEPS, lr: 256, backend, tamperAfterStep: middleStep(STEPS) });
const info = (job: typeof honestJob) => ({
  model: identity, miner: 'r3mes1miner', window: 1n, ordinal: 0n, chunkIndex: 0n, chunkHash: chunkHash(chunk), backend: 'cpu', lr: 256,
  stepHashes: job.stepHashes, lossBefore: job.lossBefore, lossAfter: job.lossAfter,
});
const honestDelta = await encodeDelta(adapterDelta(honestJob.initial, honestJob.final), info(honestJob));
const cheatDelta = await encodeDelta(adapterDelta(cheatJob.initial, cheatJob.final), info(cheatJob));

const view = (over: Partial<BisectView>): BisectView => ({
  bisectSteps: BigInt(STEPS), bisectLo: 0n, bisectHi: 1n, bisectLoHash: new Uint8Array(), bisectHiHash: new Uint8Array(), bisectLoCid: '',
  bisectPendingHash: new Uint8Array(), bisectPendingStep: 0n, ...over,
});

t.test('one step re-executed from the published checkpoint of step s gives the whole job\'s stateHash_{s+1}', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'r3mes-bisect-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const store = await FileBlockstore.open(join(dir, 'store'));
  await store.put(honestDelta.bytes);
  for (let s = 0; s < STEPS; s++) {
    const cid = await store.put(honestJob.checkpoints[s]);
    const r = await reexecuteOneStep({
      dispute: view({ bisectLo: BigInt(s), bisectHi: BigInt(s + 1), bisectLoHash: honestJob.stepHashes[s], bisectLoCid: cid.toString() }),
      gradientCid: honestDelta.cid.toString(), store, model, chunk, backend,
    });
    t.equal(r.kind, 'hash');
    if (r.kind === 'hash') t.equal(bytesToHex(r.resultHash), bytesToHex(honestJob.stepHashes[s + 1]), `step ${s} → ${s + 1}`);
  }
  // The state served is not the agreed one (another step's checkpoint): unavailable, the data-availability rule.
  const wrong = await store.put(honestJob.checkpoints[2]);
  const r = await reexecuteOneStep({
    dispute: view({ bisectLo: 1n, bisectHi: 2n, bisectLoHash: honestJob.stepHashes[1], bisectLoCid: wrong.toString() }),
    gradientCid: honestDelta.cid.toString(), store, model, chunk, backend,
  });
  t.equal(r.kind, 'unavailable', 'a checkpoint that is not the agreed state');
  // Not in the store at all.
  const missing = await reexecuteOneStep({
    dispute: view({ bisectLoHash: honestJob.stepHashes[0], bisectLoCid: 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy' }),
    gradientCid: honestDelta.cid.toString(), store, model, chunk, backend,
  });
  t.equal(missing.kind, 'unavailable', 'a CID nobody serves');
  // The miner declared other steps on chain than its job file names.
  const cid0 = await store.put(honestJob.checkpoints[0]);
  const steps = await reexecuteOneStep({
    dispute: view({ bisectSteps: 3n, bisectLoHash: honestJob.stepHashes[0], bisectLoCid: cid0.toString() }),
    gradientCid: honestDelta.cid.toString(), store, model, chunk, backend,
  });
  t.ok(steps.kind === 'hash' && bytesToHex(steps.resultHash) === bytesToHex(STEPS_MISMATCH_RESULT), 'steps mismatch: never the miner\'s hash');
});

t.test('the middle-step cheater: a consistent trace with exactly one wrong transition', async (t) => {
  const m = middleStep(STEPS);
  t.equal(m, 2);
  for (let s = 0; s < m; s++) t.equal(bytesToHex(cheatJob.stepHashes[s]), bytesToHex(honestJob.stepHashes[s]), `step ${s} honest`);
  for (let s = m; s <= STEPS; s++) t.not(bytesToHex(cheatJob.stepHashes[s]), bytesToHex(honestJob.stepHashes[s]), `step ${s} differs`);
  // Every later transition of the cheater is honest training from its tampered state: only step m is wrong.
  for (let s = m; s < STEPS; s++) {
    const r = await backend.step(model.backbone, (await import('../src/output/state.ts').then((x) => x.decodeState(cheatJob.checkpoints[s]))).state, chunk, s + 1, { lr: 256 });
    t.equal(bytesToHex(r.hash), bytesToHex(cheatJob.stepHashes[s + 1]), `transition ${s} → ${s + 1} reproduces`);
  }
  t.throws(() => middleStep(1), /at least 2 steps/);
});

/**
 * A chain for the rounds: applies MsgBisectReveal / MsgBisectRespond as the verification module
 * does (n, then 0, then midpoints; agree → lo, disagree → hi), checks each reveal's siblings
 * against the submitted trace root's proof, and records every move.
 */
function roundsChain(sub: Submission, traceHashes: Uint8Array[], start: Partial<Dispute>) {
  let height = 10n;
  const d = DisputeProto.fromPartial({
    id: 7n, submissionId: sub.id, miner: sub.miner, challenger: 'r3mes1disputer', bisectDisputer: 'r3mes1disputer', stage: DisputeStage.DISPUTE_STAGE_BISECTION,
    nextActionHeight: 100n, expectedHash: Buffer.from(sub.gradientHash), ...start,
  });
  const moves: string[] = [];
  const writer = (address: string): BisectionWriter => ({
    address,
    signBisectReveal: async (m) => {
      const bytes = new TextEncoder().encode(JSON.stringify({ type: 'reveal', step: m.step.toString(), steps: m.steps.toString(), hash: bytesToHex(m.stateHash), proof: m.proof.map(bytesToHex), cid: m.stateCid }));
      return { txBytes: bytes, txhash: txHashOf(bytes) } satisfies SignedTx;
    },
    signBisectRespond: async (id, step, agree, own) => {
      const bytes = new TextEncoder().encode(JSON.stringify({ type: 'respond', step: step.toString(), agree, ownHash: bytesToHex(own.hash) }));
      return { txBytes: bytes, txhash: txHashOf(bytes) } satisfies SignedTx;
    },
    broadcast: async (tx) => {
      const msg = JSON.parse(new TextDecoder().decode(tx.txBytes)) as { type: string; step: string; steps?: string; hash?: string; proof?: string[]; cid?: string; agree?: boolean; ownHash?: string };
      const step = BigInt(msg.step);
      if (msg.type === 'reveal') {
        const want = d.bisectSteps === 0n ? BigInt(msg.steps!) : d.bisectHiHash.length === 0 ? d.bisectSteps : d.bisectLoHash.length === 0 ? 0n : (d.bisectLo + d.bisectHi) / 2n;
        const proofOk = JSON.stringify(traceProof(traceHashes, Number(step)).map((p) => bytesToHex(p.sibling))) === JSON.stringify(msg.proof)
          && msg.hash === bytesToHex(traceHashes[Number(step)]);
        if (step !== want || !proofOk || d.bisectPendingHash.length !== 0) return { txhash: tx.txhash, height, code: 42, rawLog: `bad reveal of ${step}` };
        Object.assign(d, { bisectSteps: BigInt(msg.steps!) || d.bisectSteps, bisectPendingStep: step, bisectPendingHash: Buffer.from(msg.hash!, 'hex'), bisectPendingCid: msg.cid });
        moves.push(`reveal ${step}`);
      } else {
        if (step !== d.bisectPendingStep || d.bisectPendingHash.length === 0) return { txhash: tx.txhash, height, code: 42, rawLog: 'bad answer' };
        // The chain's rule: agree exactly where the disputer's own stateHash is the miner's.
        if (msg.agree !== (msg.ownHash === bytesToHex(d.bisectPendingHash))) return { txhash: tx.txhash, height, code: 44, rawLog: 'an answer its own hash contradicts' };
        const hash = Buffer.from(d.bisectPendingHash);
        if (d.bisectHiHash.length === 0) Object.assign(d, { bisectHi: step, bisectHiHash: hash });
        else if (d.bisectLoHash.length === 0) Object.assign(d, { bisectLo: 0n, bisectLoHash: hash, bisectLoCid: d.bisectPendingCid });
        else if (msg.agree) Object.assign(d, { bisectLo: step, bisectLoHash: hash, bisectLoCid: d.bisectPendingCid });
        else Object.assign(d, { bisectHi: step, bisectHiHash: hash });
        Object.assign(d, { bisectPendingHash: Buffer.alloc(0), bisectPendingCid: '' });
        moves.push(`${msg.agree ? 'agree' : 'disagree'} ${step}`);
        if (d.bisectLoHash.length > 0 && d.bisectHi - d.bisectLo === 1n) Object.assign(d, { bisectOneStep: true, stage: DisputeStage.DISPUTE_STAGE_L3_VOTING });
      }
      d.bisectMoves += 1n;
      height += 1n;
      return { txhash: tx.txhash, height, code: 0, rawLog: '' };
    },
  });
  const chain = { height: async () => height, openDisputes: async () => [d], findSubmission: async (id: bigint) => (id === sub.id ? sub : undefined) };
  return { d, moves, writer, chain };
}

t.test('miner and disputer play the rounds: the middle-step cheater is narrowed to its tampered step, and the panel\'s one step shows it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'r3mes-bisect-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const store = await FileBlockstore.open(join(dir, 'store'));
  await store.put(cheatDelta.bytes);
  const sub: Submission = {
    id: 3n, miner: 'r3mes1miner', windowId: 1n, subnet: 0n, modelVersion: 1n, gradientCid: cheatDelta.cid.toString(), gradientHash: Buffer.from(cheatDelta.gradientHash),
    traceRoot: Buffer.from(cheatDelta.traceRoot), chunkIndex: 0n, ordinal: 0n, lossBefore: 0n, lossAfter: 0n, backend: 'cpu', height: 2n,
    status: SubmissionStatus.SUBMISSION_STATUS_PENDING, rejectReason: '', exclusionReason: 0,
  };
  const c = roundsChain(sub, cheatJob.stepHashes, {});
  const common = { store, backend, loadModel: async () => model, chunkAt: () => chunk, log: () => {} };
  // The miner serves its own (tampered) states from its job directory (train's workDir): recomputing would give the honest ones.
  const jobsDir = join(dir, 'jobs');
  await runTrainingJob({ model, chunk, steps: STEPS, lr: 256, backend, tamperAfterStep: middleStep(STEPS), workDir: join(jobsDir, 'w1-o0') });
  const minerDeps = { ...common, chain: c.chain, writer: c.writer('r3mes1miner'), journal: await DutyJournal.open(join(dir, 'miner-journal.json')), jobsDir };
  const disputerDeps = { ...common, chain: c.chain, writer: c.writer('r3mes1disputer'), journal: await DutyJournal.open(join(dir, 'disputer-journal.json')) };
  for (let i = 0; i < 20 && c.d.stage === DisputeStage.DISPUTE_STAGE_BISECTION; i++) {
    const a = await bisectPass(minerDeps);
    const b = await bisectPass(disputerDeps);
    t.ok(a.length + b.length > 0, `pass ${i}: someone moved`);
  }
  t.same(c.moves, ['reveal 4', 'disagree 4', 'reveal 0', 'agree 0', 'reveal 2', 'disagree 2', 'reveal 1', 'agree 1']);
  t.ok(c.d.bisectOneStep);
  t.equal(c.d.bisectLo, 1n);
  t.equal(c.d.bisectHi, 2n);
  // A pass with nothing to do signs nothing (and a journaled move is never signed twice).
  t.same(await bisectPass(minerDeps), []);
  // The panel: one step from the miner's state of step 1, by the CID it revealed.
  const r = await reexecuteOneStep({ dispute: c.d, gradientCid: sub.gradientCid, store, model, chunk, backend });
  t.equal(r.kind, 'hash');
  if (r.kind === 'hash') {
    t.equal(bytesToHex(r.resultHash), bytesToHex(honestJob.stepHashes[2]), 'the honest stateHash_2');
    t.not(bytesToHex(r.resultHash), bytesToHex(c.d.bisectHiHash), 'not the miner\'s: a fault vote');
  }
});

t.test('an honest miner against a disputer that disputes everything: narrowed to [0, 1], the panel reproduces the miner', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'r3mes-bisect-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const store = await FileBlockstore.open(join(dir, 'store'));
  await store.put(honestDelta.bytes);
  const sub: Submission = {
    id: 4n, miner: 'r3mes1miner', windowId: 1n, subnet: 0n, modelVersion: 1n, gradientCid: honestDelta.cid.toString(), gradientHash: Buffer.from(honestDelta.gradientHash),
    traceRoot: Buffer.from(honestDelta.traceRoot), chunkIndex: 0n, ordinal: 0n, lossBefore: 0n, lossAfter: 0n, backend: 'cpu', height: 2n,
    status: SubmissionStatus.SUBMISSION_STATUS_PENDING, rejectReason: '', exclusionReason: 0,
  };
  const c = roundsChain(sub, honestJob.stepHashes, {});
  // No job directory: the miner recomputes its states from the base (deterministic) and publishes them.
  const minerDeps = { store, backend, loadModel: async () => model, chunkAt: () => chunk, log: () => {}, chain: c.chain, writer: c.writer('r3mes1miner'), journal: await DutyJournal.open(join(dir, 'j.json')) };
  const w = c.writer('r3mes1disputer');
  for (let i = 0; i < 20 && c.d.stage === DisputeStage.DISPUTE_STAGE_BISECTION; i++) {
    await bisectPass(minerDeps);
    if (c.d.bisectPendingHash.length > 0) {
      // Disagree with everything but step 0 (whose disagreement would leave bisection): a made-up
      // own trace equal to the miner's at step 0 only (the chain binds the answers to it).
      const made = honestJob.stepHashes.map((h, i) => (i === 0 ? h : sha256(new TextEncoder().encode(`made-up/${i}`))));
      await w.broadcast(await w.signBisectRespond(c.d.id, c.d.bisectPendingStep, c.d.bisectPendingStep === 0n, disputerOwnTrace(c.d, made)));
    }
  }
  t.equal(c.d.bisectLo, 0n);
  t.equal(c.d.bisectHi, 1n);
  const r = await reexecuteOneStep({ dispute: c.d, gradientCid: sub.gradientCid, store, model, chunk, backend });
  t.ok(r.kind === 'hash' && bytesToHex(r.resultHash) === bytesToHex(c.d.bisectHiHash), 'a clean vote: the miner wins');
});

t.test('the disputer\'s own trace answer: its hash, root and proof at the pending step; another n than the miner declared → own_steps only', async (t) => {
  const hashes = honestJob.stepHashes;
  const n = BigInt(hashes.length - 1);
  const view = DisputeProto.fromPartial({ bisectSteps: n, bisectPendingStep: 1n, bisectPendingHash: Buffer.from(hashes[1]) });
  const own = disputerOwnTrace(view, hashes);
  t.equal(bytesToHex(own.hash), bytesToHex(hashes[1]));
  t.equal(bytesToHex(own.root), bytesToHex(makeTrace(hashes).root), 'the root of its own trace');
  t.same(own.proof.map(bytesToHex), traceProof(hashes, 1).map((p) => bytesToHex(p.sibling)), 'the proof of step 1');
  t.equal(own.steps, hashes.length - 1);
  const other = disputerOwnTrace(DisputeProto.fromPartial({ bisectSteps: n + 3n, bisectPendingStep: n + 3n }), hashes);
  t.same([other.hash.length, other.root.length, other.proof.length, other.steps], [0, 0, 0, hashes.length - 1], 'another n: only its own steps (the chain takes the whole-chunk panel)');
});
