// Output files: the adapter delta (canonical safetensors + metadata + CID), state checkpoints
// and traces. Same inputs give the same bytes and CID; any altered byte is caught.
import t from 'tap';
import { bytesToHex } from '@noble/hashes/utils.js';
import { initAdapter } from '../src/model/adapter.ts';
import { generateBackbone } from '../src/model/backbone.ts';
import type { ModelConfig } from '../src/model/config.ts';
import { adapterDelta, applyDelta, decodeDelta, type DeltaInfo, encodeDelta, gradientHash } from '../src/output/delta.ts';
import { OutputErrorCode } from '../src/output/errors.ts';
import type { ModelIdentity } from '../src/output/metadata.ts';
import { decodeState, encodeState } from '../src/output/state.ts';
import { decodeTrace, encodeTrace, firstDivergence, makeTrace, traceProof, verifyTraceProof } from '../src/output/trace.ts';
import { FileBlockstore } from '../src/storage/blockstore.ts';
import { cidOf } from '../src/storage/cid.ts';
import { StorageErrorCode } from '../src/storage/errors.ts';
import { decodeSafetensors, encodeSafetensors } from '../src/storage/safetensors.ts';
import { stateBytes, stateHash } from '../src/train/hash.ts';
import { runJob } from '../src/train/job.ts';
import { sha256 } from '@noble/hashes/sha2.js';
import { writeFile } from 'node:fs/promises';

const seed = new Uint8Array(32).fill(7);
const cfg: ModelConfig = { vocab: 256, dModel: 16, nLayers: 1, nHeads: 2, dFF: 16, seqLen: 16, loraRank: 4, seed };
const model: ModelIdentity = { version: 1n, backbone: { seed }, cfg };
const bb = generateBackbone(cfg);
const chunk = new TextEncoder().encode('It was the best of times, it was the worst of times, it was the age of wisdom, it was th');
const job = chunk.subarray(0, 64);

function train() {
  const initial = initAdapter(cfg);
  const r = runJob(bb, initial, [job, job], { lr: 256 });
  return { initial, ...r };
}

function infoOf(stepHashes: Uint8Array[], over: Partial<DeltaInfo> = {}): DeltaInfo {
  return {
    model, miner: 'r3mes1miner', window: 3n, ordinal: 0n, chunkIndex: 42n,
    chunkHash: bytesToHex(sha256(job)), backend: 'cpu', lr: 256, stepHashes, lossBefore: 360000, lossAfter: 350000, ...over,
  };
}

t.test('same inputs give the same bytes and CID; the file round-trips', async (t) => {
  const a = train();
  const b = train();
  const ea = await encodeDelta(adapterDelta(a.initial, a.state), infoOf(a.stepHashes));
  const eb = await encodeDelta(adapterDelta(b.initial, b.state), infoOf(b.stepHashes));
  t.equal(Buffer.compare(ea.bytes, eb.bytes), 0, 'byte-identical files');
  t.equal(ea.cid.toString(), eb.cid.toString());
  t.match(ea.cid.toString(), /^bafkrei[a-z2-7]{52}$/);
  t.equal(ea.cid.toString(), (await cidOf(ea.bytes)).toString());
  t.equal(bytesToHex(ea.traceRoot), bytesToHex(a.traceRoot));

  const file = await decodeDelta(ea.bytes, { cid: ea.cid.toString() });
  t.equal(file.steps, 2);
  t.equal(file.info.window, 3n);
  t.equal(file.info.chunkIndex, 42n);
  t.equal(file.info.backend, 'cpu');
  t.equal(file.info.lossBefore, 360000);
  t.equal(bytesToHex(file.traceRoot), bytesToHex(a.traceRoot));
  t.equal(bytesToHex(gradientHash(file.delta, cfg)), bytesToHex(ea.gradientHash));
  // Applying the delta to the initial state gives back the trained parameters.
  const applied = applyDelta(a.initial, file.delta);
  const digest = (s: typeof applied) => bytesToHex(sha256(stateBytes({ params: s.params, momentum: a.state.momentum })));
  t.equal(digest(applied), digest(a.state));

  const meta = decodeSafetensors(ea.bytes).metadata;
  for (const key of ['model_version', 'window', 'chunk_index', 'chunk_hash', 'backend', 'steps', 'trace_root', 'loss_before', 'loss_after', 'step_hashes', 'miner', 'ordinal']) {
    t.ok(meta.has(key), `metadata has ${key}`);
  }
});

t.test('the gradient hash ignores who trained and how; the CID does not', async (t) => {
  const a = train();
  const delta = adapterDelta(a.initial, a.state);
  const x = await encodeDelta(delta, infoOf(a.stepHashes));
  const y = await encodeDelta(delta, infoOf(a.stepHashes, { miner: 'r3mes1other', backend: 'webgpu' }));
  t.equal(bytesToHex(x.gradientHash), bytesToHex(y.gradientHash));
  t.not(x.cid.toString(), y.cid.toString(), 'two miners never publish the same CID');
});

t.test('a tampered file is caught: CID mismatch, store integrity, metadata and shape checks', async (t) => {
  const a = train();
  const enc = await encodeDelta(adapterDelta(a.initial, a.state), infoOf(a.stepHashes));
  const tampered = enc.bytes.slice();
  tampered[tampered.length - 3] ^= 1;
  await t.rejects(decodeDelta(tampered, { cid: enc.cid }), { code: OutputErrorCode.CidMismatch, message: /altered/ });

  const store = await FileBlockstore.open(t.testdir());
  await store.put(enc.bytes);
  await writeFile(store.pathOf(enc.cid), tampered);
  await t.rejects(store.get(enc.cid), { code: StorageErrorCode.IntegrityMismatch });

  // Re-encoded with a trace root that does not match the step hashes.
  const file = decodeSafetensors(enc.bytes);
  const meta = new Map(file.metadata);
  meta.set('trace_root', '00'.repeat(32));
  await t.rejects(decodeDelta(encodeSafetensors(file.tensors, meta)), { code: OutputErrorCode.BadMetadata, message: /trace_root/ });
  // Metadata claims two layers; the tensors hold one.
  const meta2 = new Map(file.metadata);
  meta2.set('n_layers', '2');
  await t.rejects(decodeDelta(encodeSafetensors(file.tensors, meta2)), { code: OutputErrorCode.BadTensors, message: /missing/ });
  // A tensor of the wrong shape.
  const tensors = new Map(file.tensors);
  tensors.set('lora.0.q.A', { dtype: 'I32', shape: [16, 4], data: new Int32Array(64) });
  await t.rejects(decodeDelta(encodeSafetensors(tensors, file.metadata)), { code: OutputErrorCode.BadTensors, message: /shape/ });
  // The format tag is missing.
  const missing = new Map(file.metadata);
  missing.delete('format');
  await t.rejects(decodeDelta(encodeSafetensors(file.tensors, missing)), { code: OutputErrorCode.BadMetadata, message: /format/ });
});

t.test('state checkpoints round-trip and re-check their hash', async (t) => {
  const a = train();
  const enc = await encodeState(model, 2, a.state, 256);
  const again = await encodeState(model, 2, a.state, 256);
  t.equal(enc.cid.toString(), again.cid.toString());
  t.equal(bytesToHex(enc.hash), bytesToHex(a.stepHashes[2]), 'state_hash is the step-2 trace entry');
  const back = await decodeState(enc.bytes, { cid: enc.cid });
  t.equal(back.step, 2);
  t.equal(back.lr, 256);
  t.equal(bytesToHex(stateHash(2, back.state)), bytesToHex(a.stepHashes[2]));
  const file = decodeSafetensors(enc.bytes);
  const meta = new Map(file.metadata);
  meta.set('step', '1');
  await t.rejects(decodeState(encodeSafetensors(file.tensors, meta)), { code: OutputErrorCode.BadMetadata, message: /state_hash/ });
  const bad = enc.bytes.slice();
  bad[bad.length - 1] ^= 0x40;
  await t.rejects(decodeState(bad, { cid: enc.cid }), { code: OutputErrorCode.CidMismatch });
});

t.test('traces: JSON round trip, proofs for every step, first divergence', async (t) => {
  for (let n = 1; n <= 7; n++) {
    const hashes = Array.from({ length: n }, (_, i) => sha256(new Uint8Array([i, n])));
    const trace = makeTrace(hashes);
    const back = decodeTrace(encodeTrace(trace));
    t.equal(bytesToHex(back.root), bytesToHex(trace.root));
    for (let i = 0; i < n; i++) {
      const proof = traceProof(hashes, i);
      t.ok(verifyTraceProof(hashes[i], proof, trace.root), `n=${n} step ${i} opens`);
    }
    if (n > 1) t.notOk(verifyTraceProof(sha256(new Uint8Array([99])), traceProof(hashes, 0), trace.root), 'a wrong hash does not open');
  }
  const a = [1, 2, 3, 4].map((i) => sha256(new Uint8Array([i])));
  const b = [...a.slice(0, 2), sha256(new Uint8Array([9])), a[3]];
  t.equal(firstDivergence(a, b), 2);
  t.equal(firstDivergence(a, a), -1);
  t.equal(firstDivergence(a, a.slice(0, 3)), 3);
  t.throws(() => decodeTrace('{"format":"r3mes/trace/v1","root":"00","step_hashes":[]}'), { code: OutputErrorCode.BadTrace });
});
