// Learning benchmark (issue 17): held-out nats/byte after N steps of the integer step against a
// float64 replica of the same model (bench/float-replica.ts) trained with float signum (the
// integer optimizer's rule in reals: β = 7/8 EMA, p −= lr·sign(m), clamp ±1) and with AdamW, on the
// same backbone, initial adapter, Brown training chunks and held-out chunks. Also reports, per
// layer, the RMS of the q / k projections and of their LoRA part, and the mean (over heads and
// rows) of the largest attention probability of a row: attention saturation shows as maxP → 1.
// With --gradcheck it compares the integer step's gradient with the float gradient at the same
// parameters (cosine and sign agreement per tensor), which shows any term the integer backward
// misses.
//
// Run: npx tsx worker/bench/learning.ts [--steps 64] [--seeds 1,2,3] [--methods int,float-signum,float-adamw]
//        [--lr 256] [--adam-lr 0.0039] [--eval-chunks 4] [--eval-every 16] [--json out.json]
//        [--gradcheck [--gradcheck-steps 4]]
// Methods: int (this checkout's integer step), float-signum, float-adamw, float-signum-norad (float
// signum with the radial RMSNorm term dropped, i.e. the old SPEC §4.1 backward in floats).
// Config: the devnet model, D64 L2 H2 F128 T64 r8, backbone seed = 32 bytes of the run's seed.

import { writeFileSync } from 'node:fs';
import { crossEntropy } from '../src/kernels/cpu/xent.ts';
import { type AdapterState, initAdapter, newGrads } from '../src/model/adapter.ts';
import { generateBackbone } from '../src/model/backbone.ts';
import type { ModelConfig } from '../src/model/config.ts';
import { backward } from '../src/model/backward.ts';
import { forward, quantizeAdapter } from '../src/model/forward.ts';
import { chunkAt, chunkCount } from '../src/data/corpus.ts';
import { evaluate } from '../src/train/evaluate.ts';
import { nextByteTargets, splitSequences } from '../src/train/sequences.ts';
import { trainStep } from '../src/train/step.ts';
import { type FloatModel, type FloatParams, type FloatStats, PROJ, StatsAcc, floatModel, floatParams, floatSeq, zeroGrads } from './float-replica.ts';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const STEPS = Number(opt('steps', '64'));
const SEEDS = opt('seeds', '1,2,3').split(',').map(Number);
const METHODS = opt('methods', 'int,float-signum,float-adamw').split(',');
const LR = Number(opt('lr', '256'));
const ADAM_LR = Number(opt('adam-lr', String(LR / 65536)));
const EVAL_CHUNKS = Number(opt('eval-chunks', '4'));
const EVAL_EVERY = Number(opt('eval-every', '16'));
const GRADCHECK = args.includes('--gradcheck');
const GRADCHECK_STEPS = Number(opt('gradcheck-steps', '4'));
const JSON_OUT = opt('json', '');
const T = 64;

const cfgOf = (seed: number): ModelConfig => ({ vocab: 256, dModel: 64, nLayers: 2, nHeads: 2, dFF: 128, seqLen: T, loraRank: 8, seed: new Uint8Array(32).fill(seed) });
/** data order of a seed: step i trains chunk (seed·1009 + i·37) mod count */
const trainChunk = (seed: number, i: number): Uint8Array => chunkAt((seed * 1009 + i * 37) % chunkCount('train'), 'train').tokens;
const heldout = (() => {
  const parts = Array.from({ length: EVAL_CHUNKS }, (_, i) => chunkAt(i, 'heldout').tokens);
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
})();

interface Run { method: string; seed: number; curve: [number, number][]; stats: FloatStats; secs: number }

// ---- integer ----
function intStats(bb: ReturnType<typeof generateBackbone>, state: AdapterState): FloatStats {
  const lq = quantizeAdapter(state);
  const acc = new StatsAcc(bb.cfg.nLayers);
  const { dModel: D, nHeads: H, loraRank: r } = bb.cfg;
  for (const seq of splitSequences(heldout.subarray(0, 2048), T)) {
    const c = forward(bb, lq, seq);
    c.layers.forEach((L, l) => {
      for (const [p, x] of [['q', L.qr], ['k', L.kr]] as const) {
        // RoPE rotates pairs: the RMS of qr equals the RMS of the projection (up to toq8's clamp)
        let ss = 0;
        for (const v of x) ss += (v / 256) ** 2;
        const b10 = lq[l][p]!.b10;
        const u = L.u[p]!;
        let sa = 0;
        for (let t = 0; t < T; t++) {
          for (let n = 0; n < D; n++) {
            let s = 0;
            for (let j = 0; j < r; j++) s += b10[n * r + j] * u[t * r + j];
            sa += (s / 2 ** 18) ** 2;
          }
        }
        acc.add(l, p, ss, sa, x.length);
      }
      for (let h = 0; h < H; h++) {
        for (let t = 1; t < T; t++) {
          let m = 0;
          for (let u = 0; u <= t; u++) m = Math.max(m, L.att.p[h * T * T + t * T + u]);
          acc.addP(l, m / 32768);
        }
      }
    });
  }
  return acc.stats();
}

function runInt(seed: number): Run {
  const bb = generateBackbone(cfgOf(seed));
  let state = initAdapter(bb.cfg);
  const curve: [number, number][] = [[0, evaluate(bb, state, heldout).meanQ16 / 65536]];
  const t0 = Date.now();
  for (let i = 0; i < STEPS; i++) {
    state = trainStep(bb, state, trainChunk(seed, i), i + 1, { lr: LR }).state;
    if ((i + 1) % EVAL_EVERY === 0 || i + 1 === STEPS) curve.push([i + 1, evaluate(bb, state, heldout).meanQ16 / 65536]);
  }
  return { method: 'int', seed, curve, stats: intStats(bb, state), secs: (Date.now() - t0) / 1000 };
}

// ---- float ----
function floatEval(m: FloatModel, P: FloatParams, withStats: boolean): { nats: number; stats?: FloatStats } {
  let loss = 0;
  let n = 0;
  for (const seq of splitSequences(heldout, T)) {
    loss += floatSeq(m, P, seq as Uint8Array, null);
    n += T - 1;
  }
  if (!withStats) return { nats: loss / n };
  const acc = new StatsAcc(P.length);
  for (const seq of splitSequences(heldout.subarray(0, 2048), T)) floatSeq(m, P, seq as Uint8Array, null, true, acc);
  return { nats: loss / n, stats: acc.stats() };
}

function chunkGrads(m: FloatModel, P: FloatParams, chunk: Uint8Array, radial: boolean): FloatParams {
  const G = zeroGrads(P);
  for (const seq of splitSequences(chunk, T)) floatSeq(m, P, seq as Uint8Array, G, radial);
  return G;
}

function runFloat(seed: number, method: string): Run {
  const bb = generateBackbone(cfgOf(seed));
  const m = floatModel(bb);
  const P = floatParams(initAdapter(bb.cfg));
  const M1 = zeroGrads(P);
  const M2 = zeroGrads(P);
  const lr = LR / 65536;
  const radial = method !== 'float-signum-norad';
  const curve: [number, number][] = [[0, floatEval(m, P, false).nats]];
  const t0 = Date.now();
  const tokens = (2048 / T) * (T - 1);
  for (let i = 0; i < STEPS; i++) {
    const G = chunkGrads(m, P, trainChunk(seed, i), radial);
    for (let l = 0; l < P.length; l++) {
      for (const p of PROJ) {
        for (const key of ['a', 'b'] as const) {
          const w = P[l][p][key];
          const g = G[l][p][key];
          const m1 = M1[l][p][key];
          const m2 = M2[l][p][key];
          if (method === 'float-adamw') {
            const b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.01, step = i + 1;
            for (let e = 0; e < w.length; e++) {
              const ge = g[e] / tokens;
              m1[e] = b1 * m1[e] + (1 - b1) * ge;
              m2[e] = b2 * m2[e] + (1 - b2) * ge * ge;
              const mh = m1[e] / (1 - b1 ** step);
              const vh = m2[e] / (1 - b2 ** step);
              w[e] = w[e] * (1 - ADAM_LR * wd) - (ADAM_LR * mh) / (Math.sqrt(vh) + eps);
            }
          } else {
            for (let e = 0; e < w.length; e++) {
              m1[e] += (g[e] - m1[e]) / 8;
              w[e] = Math.max(-1, Math.min(1, w[e] - lr * Math.sign(m1[e])));
            }
          }
        }
      }
    }
    if ((i + 1) % EVAL_EVERY === 0 || i + 1 === STEPS) curve.push([i + 1, floatEval(m, P, false).nats]);
  }
  const fin = floatEval(m, P, true);
  return { method, seed, curve, stats: fin.stats!, secs: (Date.now() - t0) / 1000 };
}

// ---- gradient check: the integer gradient against the float one at the same parameters ----
function gradCheck(seed: number, trainSteps: number): void {
  const bb = generateBackbone(cfgOf(seed));
  let state = initAdapter(bb.cfg);
  for (let i = 0; i < trainSteps; i++) state = trainStep(bb, state, trainChunk(seed, i), i + 1, { lr: LR }).state;
  const chunk = trainChunk(seed, trainSteps);
  const grads = newGrads(bb.cfg);
  const lq = quantizeAdapter(state);
  for (const seq of splitSequences(chunk, T)) {
    const cache = forward(bb, lq, seq);
    const dl = new Int32Array(T * 256);
    crossEntropy(cache.logits, nextByteTargets(seq), T, dl, 256);
    backward(bb, lq, cache, dl, grads);
  }
  const m = floatModel(bb);
  // the float model at the integer forward's quantized adapter copies (A12, B10), so both
  // gradients are taken at the same point
  const P: FloatParams = lq.map((rec) => Object.fromEntries(PROJ.map((p) => [p, {
    a: Float64Array.from(rec[p]!.a12, (x) => x / 4096), b: Float64Array.from(rec[p]!.b10, (x) => x / 1024),
  }])) as FloatParams[number]);
  const Gf = chunkGrads(m, P, chunk, true);
  const rows: string[] = [];
  for (let l = 0; l < P.length; l++) {
    for (const p of PROJ) {
      for (const key of ['a', 'b'] as const) {
        const gi = grads.layers[l][p][key];
        const gf = Gf[l][p][key];
        let dot = 0, ni = 0, nf = 0, agree = 0, nz = 0;
        for (let e = 0; e < gf.length; e++) {
          const x = Number(gi[e]);
          dot += x * gf[e]; ni += x * x; nf += gf[e] * gf[e];
          if (gf[e] !== 0) { nz++; if (Math.sign(x) === Math.sign(gf[e])) agree++; }
        }
        rows.push(`L${l}.${p}.${key.toUpperCase()} cos ${(dot / Math.sqrt(ni * nf)).toFixed(4)} sign-agree ${(agree / nz).toFixed(3)}`);
      }
    }
  }
  console.log(`gradcheck seed ${seed} after ${trainSteps} integer steps (integer vs float gradient on chunk ${trainSteps}):\n  ${rows.join('\n  ')}`);
}

const runs: Run[] = [];
if (GRADCHECK) {
  for (const s of SEEDS) gradCheck(s, GRADCHECK_STEPS);
} else {
  for (const seed of SEEDS) {
    for (const method of METHODS) {
      const r = method === 'int' ? runInt(seed) : runFloat(seed, method);
      runs.push(r);
      const f = (x: number[]) => x.map((v) => v.toFixed(2)).join('/');
      console.log(`${method} seed ${seed}: ${r.curve.map(([s, v]) => `${s}:${v.toFixed(4)}`).join(' ')}  `
        + `qRms ${f(r.stats.qRms)} kRms ${f(r.stats.kRms)} qAd ${f(r.stats.qAdRms)} kAd ${f(r.stats.kAdRms)} maxP ${f(r.stats.maxP)}  (${r.secs.toFixed(0)} s)`);
    }
  }
  const by = (m: string) => runs.filter((r) => r.method === m);
  const drop = (r: Run) => r.curve[0][1] - r.curve[r.curve.length - 1][1];
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  console.log(`\nmean over seeds ${SEEDS.join(',')}: start → after ${STEPS} steps (reduction)`);
  for (const m of METHODS) {
    const rs = by(m);
    if (rs.length) console.log(`  ${m}: ${mean(rs.map((r) => r.curve[0][1])).toFixed(4)} → ${mean(rs.map((r) => r.curve[r.curve.length - 1][1])).toFixed(4)} (${mean(rs.map(drop)).toFixed(4)})`);
  }
  const ints = by('int');
  for (const m of ['float-signum', 'float-adamw']) {
    const fs = by(m);
    if (ints.length && fs.length) console.log(`  int reduction / ${m} reduction: ${(mean(ints.map(drop)) / mean(fs.map(drop))).toFixed(3)}`);
  }
  if (JSON_OUT) writeFileSync(JSON_OUT, JSON.stringify({ steps: STEPS, lr: LR, adamLr: ADAM_LR, evalChunks: EVAL_CHUNKS, runs }, null, 1));
}
