// SPEC v2 (the BitNet b1.58 2B4T family) on the CPU reference: each new op against an independent
// statement of its definition, the stored v2 op vectors, and a whole v2 training job (GQA, gated
// FFN, gains, tied bf16 head, rotate_half RoPE at θ = 500000, every LoRA target, alpha ≠ r) whose
// state hashes are stored and whose clamps and gradient joins are asserted to fire.
import t from 'tap';
import { bytesToHex } from '@noble/hashes/utils.js';
import { readFileSync } from 'node:fs';
import { attention, attentionBackward } from '../src/kernels/cpu/attention.ts';
import { bf16Block, bf16ToQ16, q16ToBf16 } from '../src/kernels/cpu/bf16.ts';
import { fired, narrow, resetFired, satG } from '../src/kernels/cpu/int.ts';
import { loraForward } from '../src/kernels/cpu/lora.ts';
import { normquant, normquantBackward } from '../src/kernels/cpu/normquant.ts';
import { iln, LN2_Q16, LOG2_10000_Q16 } from '../src/kernels/cpu/poly.ts';
import { log2Q16, ropeApply, ropeBackward, ropeTable } from '../src/kernels/cpu/rope.ts';
import { tiedHead } from '../src/kernels/cpu/v2ops.ts';
import { packTernary } from '../src/kernels/cpu/ternary-pack.ts';
import { ternlinBackward, ternlinBackwardJs } from '../src/kernels/cpu/ternlin.ts';
import { initAdapter } from '../src/model/adapter.ts';
import { generatedGamma, generateBackbone, refuseV2 } from '../src/model/backbone.ts';
import { isV2, type ModelConfig, v2Features, validateConfig } from '../src/model/config.ts';
import { forward, quantizeAdapter } from '../src/model/forward.ts';
import { stateBytes } from '../src/train/hash.ts';
import { runJob } from '../src/train/job.ts';
import { trainStep } from '../src/train/step.ts';
import { ints, xorshift } from './vectors/cases.ts';
import { v2CaseHashes } from './vectors/v2/cases.ts';

const G = 1048575;

t.test('bf16 → fixed point (SPEC §1.1) by hand', async (t) => {
  // 1.0 = 0x3F80, −0.5 = 0xBF00, 0.875 = 0x3F60, 2^−3 = 0x3E00
  const b = bf16Block(Uint16Array.from([0x3f80, 0xbf00, 0x3f60, 0x3e00, 0x0000, 0x8000]), 15, 'g');
  t.equal(b.shift, 14, 'max |x| = 1 → shift 14 (1.0 ↦ 2^14)');
  t.strictSame(Array.from(b.q), [16384, -8192, 14336, 2048, 0, 0]);
  const c = bf16Block(Uint16Array.from([0x3b80, 0x3c01]), 15, 'e'); // 2^−8, 2^−7·(1 + 1/128)
  t.equal(c.shift, 21);
  t.strictSame(Array.from(c.q), [8192, 16512]);
  const d = bf16Block(Uint16Array.from([0x4000, 0x0001]), 15, 'e'); // 2, smallest subnormal → 0
  t.strictSame([d.shift, ...d.q], [13, 16384, 0]);
  t.throws(() => bf16Block(Uint16Array.from([0x7fc0]), 15, 'layer.3.attn_norm'), /layer\.3\.attn_norm: bf16 value 0x7fc0 is NaN/);
  t.throws(() => bf16Block(Uint16Array.from([0xff80]), 15, 'embed'), /embed: .*infinite/);
  t.equal(bf16ToQ16(0x3f80, 1 << 20, 's'), 65536);
  t.equal(bf16ToQ16(0x3c24, 1 << 20, 's'), 656, '(128+36)·2^(120−134+16) = 164·4');
  t.equal(bf16ToQ16(0x3ac1, 1 << 20, 's'), 97, '(128+65)·2^(117−134+16) = 96.5: a tie, rounded away from zero');
  t.throws(() => bf16ToQ16(0xbf80, 1 << 20, 'layer.0.wq weight_scale'), /layer\.0\.wq weight_scale: scale must be positive/);
  t.throws(() => bf16ToQ16(0x4200, 1 << 20, 'head weight_scale'), /outside \(0, 1048576\]/);
  // generated v2 γ: q16ToBf16 of the v1 rule, read back: within bf16's half-ulp of the v1 γ
  for (const K of [16, 64, 96, 2560, 6912, 32768]) {
    const g1 = generatedGamma(K);
    const g2 = bf16ToQ16(q16ToBf16(g1), 1 << 20, 'γ');
    t.ok(Math.abs(g2 - g1) <= g1 / 256, `K ${K}: ${g1} → ${g2}`);
  }
});

t.test('log2 θ for RoPE (SPEC v2 §4.5): θ = 10000 reproduces the v1 constant', async (t) => {
  t.equal(log2Q16(10000), LOG2_10000_Q16);
  t.equal(log2Q16(500000), 1240699, 'log2(500000)·2^16 = 1240699.28');
  t.equal(log2Q16(65536), 16 * 65536);
  t.strictSame(ropeTable(20, 16, log2Q16(10000)), ropeTable(20, 16), 'same table');
  t.throws(() => log2Q16(1), /ropeTheta/);
});

t.test('normquant with a unit gain is v1 normquant; a gain scales x̂ and dv', async (t) => {
  const rng = xorshift(7);
  for (const K of [16, 100, 4096, 6912]) {
    const T = 3;
    const v = Int32Array.from([...ints(rng, K, -(2 ** 30), 2 ** 30), ...ints(rng, K, -3, 3), ...ints(rng, K, -(2 ** 12), 2 ** 12)]);
    const one = bf16Block(new Uint16Array(K).fill(0x3f80), 15, 'g');
    const a = normquant(v, T, K);
    const b = normquant(v, T, K, one);
    t.strictSame([a.x8, a.sx, a.rinv, a.z], [b.x8, b.sx, b.rinv, b.z], `K ${K}: forward`);
    const dxn = Int32Array.from(ints(rng, T * K, -G, G));
    t.strictSame(normquantBackward(dxn, v, a, T, K), normquantBackward(dxn, v, b, T, K, one), `K ${K}: backward`);
    // gain 2 everywhere: the same x8, twice sx (±1 rounding), twice dv (before satG)
    const two = bf16Block(new Uint16Array(K).fill(0x4000), 15, 'g');
    const c = normquant(v, T, K, two);
    t.strictSame(c.x8, a.x8);
    for (let r = 0; r < T; r++) t.ok(Math.abs(c.sx[r] - 2 * a.sx[r]) <= 1, `sx doubles (${a.sx[r]} → ${c.sx[r]})`);
    const small = Int32Array.from(ints(rng, T * K, -1000, 1000));
    const d1 = normquantBackward(small, v, a, T, K);
    const d2 = normquantBackward(small, v, c, T, K, two);
    // μ (the radial term's mean) is rounded once per row, so the doubling holds to that rounding:
    // ‖d2 − 2·d1‖ within 1% of ‖d2‖ over the unclamped entries
    let err = 0;
    let norm = 0;
    let checked = 0;
    // (row 1, |v| ≤ 3, is left out: its 1/rms multiplies one Q16 unit of the tangential gradient
    // by 2^15, so its few unclamped entries carry that rounding, not the gain)
    for (let i = 0; i < d1.length; i++) {
      if (Math.floor(i / K) === 1) continue;
      if (Math.abs(d2[i]) >= G || Math.abs(d1[i]) >= G) continue; // satG fired
      checked++;
      err += (d2[i] - 2 * d1[i]) ** 2;
      norm += d2[i] ** 2;
    }
    t.ok(Math.sqrt(err) <= 0.01 * Math.sqrt(norm) && checked > K / 2, `dv doubles (${checked} unclamped entries, rel. err ${(Math.sqrt(err / norm)).toExponential(2)})`);
  }
});

t.test('RoPE rotate_half = adjacent RoPE on permuted dims', async (t) => {
  const rng = xorshift(8);
  const T = 11, H = 3, dh = 16, half = dh / 2;
  const tab = ropeTable(T, dh, log2Q16(500000));
  const x = Int32Array.from(ints(rng, T * H * dh, -2047, 2047));
  const g = Int32Array.from(ints(rng, T * H * dh, -G, G));
  // position of dim j of the half layout in the adjacent layout: i → 2i, i + half → 2i + 1
  const perm = (src: Int32Array): Int32Array => {
    const out = new Int32Array(src.length);
    for (let r = 0; r < T * H; r++) for (let i = 0; i < half; i++) {
      out[r * dh + 2 * i] = src[r * dh + i];
      out[r * dh + 2 * i + 1] = src[r * dh + i + half];
    }
    return out;
  };
  t.strictSame(perm(ropeApply(x, tab, T, H, dh, 'half')), ropeApply(perm(x), tab, T, H, dh, 'adjacent'));
  t.strictSame(perm(ropeBackward(g, tab, T, H, dh, 'half')), ropeBackward(perm(g), tab, T, H, dh, 'adjacent'));
});

t.test('GQA: forward = MHA on repeated key/value heads; dk, dv = one exact sum over the group', async (t) => {
  for (const group of [1, 2, 3, 4, 5, 6, 7, 8]) {
    const rng = xorshift(100 + group);
    const Hkv = group === 5 || group === 7 || group === 3 ? 1 : 2;
    const H = Hkv * group, dh = 6, T = 7;
    const r8 = (n: number) => Int32Array.from(ints(rng, n, -2047, 2047));
    const qr = r8(T * H * dh), kr = r8(T * Hkv * dh), v8 = r8(T * Hkv * dh);
    const rep = (x: Int32Array): Int32Array => {
      const out = new Int32Array(T * H * dh);
      for (let tt = 0; tt < T; tt++) for (let h = 0; h < H; h++) for (let d = 0; d < dh; d++) {
        out[(tt * H + h) * dh + d] = x[(tt * Hkv + Math.floor(h / group)) * dh + d];
      }
      return out;
    };
    const a = attention(qr, kr, v8, T, H, dh, Hkv);
    const m = attention(qr, rep(kr), rep(v8), T, H, dh);
    t.strictSame([a.o, a.p], [m.o, m.p], `group ${group}: forward`);
    const dout = Int32Array.from(ints(rng, T * H * dh, -G, G));
    const ga = attentionBackward(dout, a, qr, kr, v8, T, H, dh, Hkv);
    const gm = attentionBackward(dout, m, qr, rep(kr), rep(v8), T, H, dh);
    t.strictSame(ga.dq, gm.dq, `group ${group}: dq as MHA`);
    // dv by its definition: satG(narrow(Σ_{h ∈ group} Σ_{t ≥ u} P_h[t,u]·do[t,h,d], 15))
    let ok = true;
    for (let j = 0; j < Hkv; j++) for (let u = 0; u < T; u++) for (let d = 0; d < dh; d++) {
      let s = 0;
      for (let h = j * group; h < (j + 1) * group; h++) for (let tt = u; tt < T; tt++) s += a.p[(h * T + tt) * T + u] * dout[(tt * H + h) * dh + d];
      if (ga.dv[(u * Hkv + j) * dh + d] !== satG(narrow(s, 15))) ok = false;
    }
    t.ok(ok, `group ${group}: dv`);
    if (group === 1) t.strictSame([ga.dk, ga.dv], [gm.dk, gm.dv], 'group 1 is v1');
  }
});

t.test('LoRA alpha: alpha = r is v1; otherwise y += roundHalfAway(S·alpha / 4r)', async (t) => {
  const rng = xorshift(9);
  const T = 2, K = 40, N = 12, r = 4;
  const a12 = Int32Array.from(ints(rng, r * K, -4096, 4096));
  const b10 = Int32Array.from(ints(rng, N * r, -1024, 1024));
  const x8 = Int8Array.from(ints(rng, T * K, -127, 127));
  const sx = Int32Array.from([3000000, 7000000]);
  const y0 = new Int32Array(T * N);
  const y1 = new Int32Array(T * N);
  const y2 = new Int32Array(T * N);
  const u = loraForward(a12, b10, x8, sx, y0, T, N, K, r);
  loraForward(a12, b10, x8, sx, y1, T, N, K, r, r);
  loraForward(a12, b10, x8, sx, y2, T, N, K, r, 3 * r);
  t.strictSame(y1, y0);
  for (let tt = 0; tt < T; tt++) for (let n = 0; n < N; n++) {
    let S = 0;
    for (let j = 0; j < r; j++) S += b10[n * r + j] * u[tt * r + j];
    const q = Math.floor((2 * Math.abs(S * 3 * r) + 4 * r) / (8 * r));
    t.equal(y2[tt * N + n], S < 0 ? -q : q);
  }
});

t.test('tied head against a BigInt statement of §4.11; iln past 2^32', async (t) => {
  const rng = xorshift(10);
  const V = 70, D = 24, T = 3;
  const E = bf16Block(Uint16Array.from({ length: V * D }, () => ((rng() & 1) << 15) | ((118 + (rng() % 6)) << 7) | (rng() & 0x7f)), 15, 'embed');
  const x8 = Int8Array.from(ints(rng, T * D, -127, 127));
  const sx = Int32Array.from([2 ** 31 - 1, 1, 8000000]);
  const y = tiedHead(E, V, D, x8, sx, T);
  for (let tt = 0; tt < T; tt++) for (let v = 0; v < V; v++) {
    let acc = 0n;
    for (let k = 0; k < D; k++) acc += BigInt(E.q[v * D + k]) * BigInt(x8[tt * D + k]);
    const p = acc * BigInt(sx[tt]);
    const s = BigInt(8 + E.shift);
    const half = 1n << (s - 1n);
    let q = p >= 0n ? (p + half) >> s : -((-p + half) >> s);
    if (q > 2147483647n) q = 2147483647n;
    if (q < -2147483647n) q = -2147483647n;
    if (y[tt * V + v] !== Number(q)) t.fail(`logit ${tt},${v}`);
  }
  t.equal(iln(2 ** 33), 18 * LN2_Q16, 'ln(2^33/2^15)');
  t.equal(iln(2 ** 31), 16 * LN2_Q16);
});

t.test('ternlin backward past N = 2048: the Σ is an acc64 (an i32 would wrap), γ up to 2^20', async (t) => {
  const rng = xorshift(11);
  const N = 3000, K = 8, T = 2, gamma = 1 << 20;
  const w = Int8Array.from({ length: N * K }, (_, i) => (i % K === 0 ? 1 : [0, 1, -1][rng() % 3]));
  const dy = Int32Array.from({ length: T * N }, (_, i) => (i < N ? G : (rng() % (2 * G + 1)) - G));
  const dx = ternlinBackward(packTernary(w, N, K), gamma, dy, T);
  for (let tt = 0; tt < T; tt++) for (let k = 0; k < K; k++) {
    let s = 0n;
    for (let n = 0; n < N; n++) s += BigInt(w[n * K + k]) * BigInt(dy[tt * N + n]);
    const p = s * BigInt(gamma);
    let q = p >= 0n ? (p + 32768n) >> 16n : -((-p + 32768n) >> 16n);
    if (q > 2147483647n) q = 2147483647n;
    if (q < -2147483647n) q = -2147483647n;
    if (dx[tt * K + k] !== Number(q)) t.fail(`dx ${tt},${k}: ${dx[tt * K + k]} vs ${q}`);
  }
  t.equal(dx[0], 2147483647, 'column 0 of token 0 sums 3000·G > 2^31: saturates, does not wrap');
  const wrapped = ternlinBackwardJs(packTernary(w, N, K), gamma, dy, T);
  t.not(wrapped[0], dx[0], 'the v1 i32 kernel would have wrapped here');
});

t.test('stored v2 op vectors (SPEC §9, v2/ops.json)', async (t) => {
  const stored = JSON.parse(readFileSync(new URL('./vectors/v2/ops.json', import.meta.url), 'utf8')) as Record<string, Record<string, string>>;
  t.strictSame(v2CaseHashes(), stored);
});

// ---- configs ----

const seed = new Uint8Array(32).fill(0x2b);
export const V2_CFG: ModelConfig = {
  vocab: 300, dModel: 64, nLayers: 2, nHeads: 8, nKvHeads: 2, dFF: 96, seqLen: 16, loraRank: 4, seed,
  ffn: 'gated', ropeTheta: 500000, ropeLayout: 'half', normGains: true, embedding: 'bf16-tied',
  loraTargets: ['q', 'k', 'v', 'o', 'gate', 'up', 'down'], loraAlpha: 8,
};
/** token i of the vector's chunk: (7919·i + 13) mod 300, i < 64 (4 sequences of 16) */
const chunk = Uint32Array.from({ length: 64 }, (_, i) => (i * 7919 + 13) % 300);

t.test('config: v1 stays v1, v2 limits and errors name their cause', async (t) => {
  const v1: ModelConfig = { vocab: 256, dModel: 32, nLayers: 2, nHeads: 2, dFF: 64, seqLen: 16, loraRank: 4, seed };
  t.notOk(isV2(v1));
  t.notOk(isV2({ ...v1, nKvHeads: 2, ropeTheta: 10000, loraAlpha: 4, loraTargets: ['q', 'k', 'v', 'o'] }), 'v1 values spelled out are v1');
  t.strictSame(v2Features({ ...v1, nKvHeads: 1, loraAlpha: 16 }), ['grouped-query attention (nKvHeads 1)', 'LoRA alpha 16 ≠ rank']);
  validateConfig(V2_CFG);
  validateConfig({ ...V2_CFG, dModel: 8192, nHeads: 64, nKvHeads: 8, dFF: 32768, nLayers: 128, vocab: 262144, seqLen: 4096 });
  const bad = (c: Partial<ModelConfig>, re: RegExp) => t.throws(() => validateConfig({ ...V2_CFG, ...c }), re);
  bad({ nKvHeads: 3 }, /nKvHeads must divide nHeads/);
  bad({ nHeads: 16, nKvHeads: 1 }, /group size .* ≤ 8/);
  bad({ vocab: 262145 }, /vocab must be in \[2, 2\^18\]/);
  bad({ dFF: 32769 }, /dFF must be in \[16, 32768\]/);
  bad({ loraTargets: ['k', 'q'] }, /order q, k, v, o, gate, up, down/);
  bad({ loraTargets: [] }, /must not be empty/);
  bad({ ffn: 'plain' }, /'gate' needs ffn 'gated'/);
  bad({ loraAlpha: 65537 }, /loraAlpha/);
  t.throws(() => refuseV2(V2_CFG, 'the WebGPU training step'), /the WebGPU training step implements SPEC v1 configs only; this model uses vocab 300, grouped-query attention \(nKvHeads 2\), gated FFN, ropeTheta 500000, rotate_half RoPE layout, learned norm gains, bf16 tied embedding\/LM head, LoRA targets q,k,v,o,gate,up,down, LoRA alpha 8 ≠ rank/);
  refuseV2(v1, 'x');
});

t.test('generated v2 backbone: shapes, names, determinism; tokens outside the vocabulary refused', async (t) => {
  const bb = generateBackbone(V2_CFG);
  const L = bb.layers[0];
  t.strictSame([L.wq.rows, L.wk.rows, L.wv.rows, L.wo.rows, L.wgate!.rows, L.wup!.rows, L.wdown!.rows, L.wdown!.cols], [64, 16, 16, 64, 96, 96, 64, 96]);
  t.equal(L.w1, undefined);
  t.equal(bb.head, undefined, 'tied: no ternary head');
  t.equal(bb.embedBf16!.q.length, 300 * 64);
  t.equal(L.gains!.ffnSubNorm.q.length, 96);
  const s = initAdapter(V2_CFG);
  t.strictSame(Object.keys(s.params[0]), ['q', 'k', 'v', 'o', 'gate', 'up', 'down']);
  t.strictSame([s.params[0].k.a.length, s.params[0].k.b.length, s.params[0].down!.a.length, s.params[0].down!.b.length], [4 * 64, 16 * 4, 4 * 96, 64 * 4]);
  t.throws(() => forward(bb, quantizeAdapter(s), Uint32Array.from([1, 300])), /token 300 at position 1 is outside the vocabulary \(300\)/);
  const sub = initAdapter({ ...V2_CFG, loraTargets: ['v', 'down'] });
  t.strictSame(Object.keys(sub.params[1]), ['v', 'down']);
  t.equal(stateBytes(sub).length, 2 * 2 * 4 * (4 * 64 + 16 * 4 + 4 * 96 + 64 * 4), 'state bytes hold only the targets');
});

t.test('whole v2 job (SPEC §9 vector): hashes, micro-batch invariance, clamps and joins fire', async (t) => {
  const stored = JSON.parse(readFileSync(new URL('./vectors/v2/train-step.json', import.meta.url), 'utf8')) as Record<string, string>;
  const bb = generateBackbone(V2_CFG);
  const lr = 16384;
  const counts: (typeof fired)[] = [];
  let s = initAdapter(V2_CFG);
  const hashes: string[] = [];
  for (let k = 1; k <= 4; k++) {
    resetFired();
    const r = trainStep(bb, s, chunk, k, { lr });
    counts.push({ ...fired });
    hashes.push(bytesToHex(r.hash));
    if (k === 1) t.equal(r.lossSumQ16, Number(stored.step1LossSumQ16), 'step-1 loss sum');
    s = r.state;
  }
  t.strictSame(hashes, [stored.step1, stored.step2, stored.step3, stored.step4]);
  const total = counts.reduce((a, c) => ({ satG: a.satG + c.satG, join: a.join + c.join, residual: a.residual + c.residual, toq8: a.toq8 + c.toq8, loraU: a.loraU + c.loraU }));
  t.comment(`clamps fired over 4 steps: ${JSON.stringify(total)}`);
  // (with the full RMSNorm gradient the first steps stay inside G; steps 3 and 4 clamp)
  t.ok(total.satG > 0 && total.join > 0, 'satG and the gradient joins clamp within the 4 steps');
  t.ok(total.toq8 > 0, 'toq8 clamp fires');
  t.ok(total.loraU > 0, 'LoRA u clamp fires');
  // micro-batch invariance over the 4 sequences, and the trace root of the 4-step job
  const job = (mb: number) => runJob(bb, initAdapter(V2_CFG), [chunk, chunk, chunk.subarray(16), chunk], { lr, microBatch: mb });
  const roots = [1, 2, 4].map((mb) => bytesToHex(job(mb).traceRoot));
  t.strictSame(roots, [stored.traceRoot, stored.traceRoot, stored.traceRoot]);
});

t.test('v2 adapter files: only the targets, their shapes, the v2 identity; state checkpoint and aggregate round trips', async (t) => {
  const { adapterDelta, applyDelta, decodeDelta, encodeDelta } = await import('../src/output/delta.ts');
  const { decodeState, encodeState } = await import('../src/output/state.ts');
  const { flatten, unflatten } = await import('../src/aggregate/file.ts');
  const { decodeSafetensors } = await import('../src/storage/safetensors.ts');
  const { stateHash } = await import('../src/train/hash.ts');
  const cfg: ModelConfig = { ...V2_CFG, nLayers: 1, loraTargets: ['k', 'gate', 'down'] };
  const bb = generateBackbone(cfg);
  const initial = initAdapter(cfg);
  const job = runJob(bb, initial, [chunk, chunk], { lr: 4096 });
  const delta = adapterDelta(initial, job.state);
  const model = { version: 2n, backbone: { seed } as const, cfg };
  const enc = await encodeDelta(delta, {
    model, miner: 'r3mes1miner', window: 1n, ordinal: 0n, chunkIndex: 0n, chunkHash: '00'.repeat(32), backend: 'cpu', lr: 4096,
    stepHashes: job.stepHashes, lossBefore: 1, lossAfter: 1,
  });
  const file = decodeSafetensors(enc.bytes);
  t.strictSame([...file.tensors.keys()].sort(), ['lora.0.down.A', 'lora.0.down.B', 'lora.0.gate.A', 'lora.0.gate.B', 'lora.0.k.A', 'lora.0.k.B']);
  t.strictSame(file.tensors.get('lora.0.k.B')!.shape, [16, 4]);
  t.strictSame(file.tensors.get('lora.0.down.A')!.shape, [4, 96]);
  t.equal(file.metadata.get('lora_targets'), 'k,gate,down');
  t.equal(file.metadata.get('rope_layout'), 'half');
  const back = await decodeDelta(enc.bytes, { cid: enc.cid });
  t.strictSame(back.info.model.cfg.loraTargets, ['k', 'gate', 'down']);
  t.equal(back.info.model.cfg.loraAlpha, 8);
  t.equal(back.info.model.cfg.nKvHeads, 2);
  t.strictSame(back.delta[0].gate!.a, delta[0].gate!.a);
  const applied = applyDelta(initial, back.delta);
  t.strictSame(applied.params[0].down!.b, job.state.params[0].down!.b, 'base + delta = the trained parameters');
  t.strictSame(unflatten(flatten(delta), 1, cfg.loraTargets), delta);
  const st = await decodeState((await encodeState(model, 2, job.state, 4096)).bytes);
  t.equal(bytesToHex(stateHash(2, st.state)), bytesToHex(job.stepHashes[2]), 'checkpoint holds the v2 state');
});

t.test("a chain model version's LoRA targets reach the config; its alpha does not change a byte-level model", async (t) => {
  const { identityOfVersion } = await import('../src/roles/model.ts');
  const mv = (targets: string[]) => ({
    number: 1n, modelCid: '', backboneSeed: '2b'.repeat(32),
    architecture: { dModel: 32, nLayers: 1, nHeads: 2, dFf: 64, seqLen: 16 }, lora: { rank: 8, alpha: 16, targets },
  }) as unknown as Parameters<typeof identityOfVersion>[0];
  const all = identityOfVersion(mv(['q', 'k', 'v', 'o'])).cfg;
  t.notOk(isV2(all), 'q,k,v,o with alpha 16 ≠ rank 8 stays a v1 config (alpha not applied to v1 architectures)');
  t.equal(all.loraAlpha, undefined);
  const qv = identityOfVersion(mv(['q', 'v'])).cfg;
  t.strictSame(qv.loraTargets, ['q', 'v']);
  t.strictSame(Object.keys(initAdapter(qv).params[0]), ['q', 'v'], 'only the targeted adapters exist');
});

t.test('KV-cached CPU decoder on a v2 model: logits of every position = the whole-sequence forward, any block sizes', async (t) => {
  const { CpuDecoder } = await import('../src/model/decode.ts');
  const cfg: ModelConfig = { ...V2_CFG, seqLen: 24 };
  const bb = generateBackbone(cfg);
  // a trained adapter, so every LoRA term (all seven targets, alpha 8) is nonzero
  const s = runJob(bb, initAdapter(cfg), [chunk.subarray(0, 48)], { lr: 8192 }).state;
  const lq = quantizeAdapter(s);
  const toks = Uint32Array.from({ length: 24 }, (_, i) => (i * 131 + 7) % 300);
  const full = forward(bb, lq, toks).logits;
  for (const blocks of [[24], [1, 23], [5, 1, 1, 10, 7], Array<number>(24).fill(1)]) {
    const dec = new CpuDecoder(bb, lq);
    let n = 0;
    let ok = true;
    for (const b of blocks) {
      const out = dec.appendSync(toks.subarray(n, n + b), true);
      const want = full.subarray(n * 300, (n + b) * 300);
      for (let i = 0; i < want.length; i++) if (out[i] !== want[i]) ok = false;
      n += b;
    }
    t.ok(ok, `blocks ${blocks.length === 24 ? '24×1' : blocks.join('+')}`);
  }
});
