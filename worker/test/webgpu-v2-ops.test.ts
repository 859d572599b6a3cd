// SPEC v2 ops on WebGPU against the CPU reference, bit for bit: GQA attention forward and backward
// (group sizes 1–8, operands at ±2047, saturating gradients) and RoPE for any θ in both layouts,
// over random seeds and shapes.
import t from 'tap';
import * as cpuAtt from '../src/kernels/cpu/attention.ts';
import * as cpuRope from '../src/kernels/cpu/rope.ts';
import * as gpuAtt from '../src/kernels/webgpu/attention.ts';
import * as gpuRope from '../src/kernels/webgpu/rope.ts';
import { openTestGpu, rng } from './helpers/gpu.ts';

const ctx = await openTestGpu();
const G = 1048575;

t.test('GQA attention forward and backward: WebGPU = CPU over 24 seeds, groups 1–8', async (t) => {
  for (let seed = 0; seed < 24; seed++) {
    const next = rng(9000 + seed);
    const group = 1 + (seed % 8);
    const Hkv = 1 + (next() % 2);
    const H = Hkv * group;
    const dh = 2 * (1 + (next() % 8));
    const T = 1 + (next() % 13);
    const op = (n: number): Int32Array => Int32Array.from({ length: n }, () => (next() % 6 === 0 ? (next() & 1 ? 2047 : -2047) : (next() % 4095) - 2047));
    const qr = op(T * H * dh), kr = op(T * Hkv * dh), v8 = op(T * Hkv * dh);
    const dout = Int32Array.from({ length: T * H * dh }, () => (next() % 5 === 0 ? (next() & 1 ? G : -G) : (next() % (2 * G + 1)) - G));
    const c = cpuAtt.attention(qr, kr, v8, T, H, dh, Hkv);
    const g = await gpuAtt.attention(ctx, qr, kr, v8, T, H, dh, Hkv);
    t.strictSame([g.o, g.p], [c.o, c.p], `seed ${seed}: forward (T ${T}, H ${H}, Hkv ${Hkv}, dh ${dh})`);
    const cb = cpuAtt.attentionBackward(dout, c, qr, kr, v8, T, H, dh, Hkv);
    const gb = await gpuAtt.attentionBackward(ctx, dout, g, qr, kr, v8, T, H, dh, Hkv);
    t.strictSame([gb.dq, gb.dk, gb.dv], [cb.dq, cb.dk, cb.dv], `seed ${seed}: backward`);
  }
});

t.test('RoPE tables for any θ and the rotate_half layout: WebGPU = CPU', async (t) => {
  for (let seed = 0; seed < 20; seed++) {
    const next = rng(9100 + seed);
    const theta = [10000, 500000, 2, 2 ** 31 - 1, 1000000][seed % 5];
    const layout = seed % 2 ? 'half' : 'adjacent';
    const dh = 2 * (1 + (next() % 64));
    const T = 1 + (next() % 40);
    const H = 1 + (next() % 3);
    const lg = cpuRope.log2Q16(theta);
    const ct = cpuRope.ropeTable(T, dh, lg);
    const gt = await gpuRope.ropeTable(ctx, T, dh, lg);
    t.strictSame([gt.cos, gt.sin], [ct.cos, ct.sin], `seed ${seed}: table θ ${theta}`);
    const x = Int32Array.from({ length: T * H * dh }, () => (next() % 4095) - 2047);
    const gr = Int32Array.from({ length: T * H * dh }, () => (next() | 0));
    t.strictSame(await gpuRope.ropeApply(ctx, x, gt, T, H, dh, layout), cpuRope.ropeApply(x, ct, T, H, dh, layout), `seed ${seed}: apply ${layout}`);
    t.strictSame(await gpuRope.ropeBackward(ctx, gr, gt, T, H, dh, layout), cpuRope.ropeBackward(gr, ct, T, H, dh, layout), `seed ${seed}: backward ${layout}`);
  }
});

t.test('LoRA with alpha ≠ r (SPEC v2 §4.3): WebGPU = CPU, forward and backward, edges included', async (t) => {
  const cpuLora = await import('../src/kernels/cpu/lora.ts');
  const gpuLora = await import('../src/kernels/webgpu/lora.ts');
  for (let seed = 0; seed < 20; seed++) {
    const next = rng(9200 + seed);
    const r = 4 + (next() % 61);
    const alpha = [1, 3, 16, 65536, r + 1, 2 * r, 7777][seed % 7];
    const T = 1 + (next() % 9), K = 1 + (next() % 300), N = 1 + (next() % 200);
    const edge = seed % 4 === 0;
    const a12 = Int32Array.from({ length: r * K }, () => (edge ? (next() & 1 ? 4096 : -4096) : (next() % 8193) - 4096));
    const b10 = Int32Array.from({ length: N * r }, () => (edge ? (next() & 1 ? 1024 : -1024) : (next() % 2049) - 1024));
    const x8 = Int8Array.from({ length: T * K }, () => (edge ? (next() & 1 ? 127 : -127) : (next() % 255) - 127));
    const sx = Int32Array.from({ length: T }, () => (edge ? 2 ** 23 : next() % 2 ** 23));
    const y0 = Int32Array.from({ length: T * N }, () => next() | 0);
    const dy = Int32Array.from({ length: T * N }, () => (edge ? (next() & 1 ? G : -G) : (next() % (2 * G + 1)) - G));
    const y1 = y0.slice();
    const y2 = y0.slice();
    const u1 = cpuLora.loraForward(a12, b10, x8, sx, y1, T, N, K, r, alpha);
    const u2 = await gpuLora.loraForward(ctx, a12, b10, x8, sx, y2, T, N, K, r, alpha);
    t.strictSame([u2, y2], [u1, y1], `seed ${seed}: forward r ${r} alpha ${alpha}`);
    const [gA1, gB1, gA2, gB2] = [new BigInt64Array(r * K), new BigInt64Array(N * r), new BigInt64Array(r * K), new BigInt64Array(N * r)];
    const [d1, d2] = [new Int32Array(T * K), new Int32Array(T * K)];
    cpuLora.loraBackward(a12, b10, x8, sx, u1, dy, gA1, gB1, d1, T, N, K, r, alpha);
    await gpuLora.loraBackward(ctx, a12, b10, x8, sx, u1, dy, gA2, gB2, d2, T, N, K, r, alpha);
    t.strictSame([gA2, gB2, d2], [gA1, gB1, d1], `seed ${seed}: backward`);
  }
});

t.test('gated product (SPEC v2 §4.12): WebGPU = CPU at the sat32 edges', async (t) => {
  const cpu = await import('../src/kernels/cpu/v2ops.ts');
  const gpu = await import('../src/kernels/webgpu/gated.ts');
  for (let seed = 0; seed < 20; seed++) {
    const next = rng(9300 + seed);
    const n = 1 + (next() % 700);
    const I32 = 2147483647;
    const pick = (): number => (next() % 5 === 0 ? [I32, -I32, 0, 1, -1, 65536][next() % 6] : next() | 0);
    const a = Int32Array.from({ length: n }, () => Math.abs(pick()));
    const u = Int32Array.from({ length: n }, pick);
    const dm = Int32Array.from({ length: n }, () => (next() % (2 * G + 1)) - G);
    t.strictSame(await gpu.gatedMul(ctx, a, u), cpu.gatedMul(a, u), `seed ${seed}: m`);
    const c = cpu.gatedMulBackward(a, u, dm);
    const g = await gpu.gatedMulBackward(ctx, a, u, dm);
    t.strictSame([g.da, g.du], [c.da, c.du], `seed ${seed}: da, du`);
  }
});

t.test('cross-entropy over V ≠ 256 (not multiples of the 256-wide workgroup): WebGPU = CPU', async (t) => {
  const cpu = await import('../src/kernels/cpu/xent.ts');
  const gpu = await import('../src/kernels/webgpu/xent.ts');
  for (let seed = 0; seed < 20; seed++) {
    const next = rng(9400 + seed);
    const V = [2, 77, 255, 257, 300, 1000, 4097, 32768][seed % 8];
    const T = 1 + (next() % 5);
    const uniform = seed % 5 === 0;
    const logits = Int32Array.from({ length: T * V }, () => (uniform ? 12345 : next() % 5 === 0 ? (next() & 1 ? 2147483647 : -2147483647) : (next() % 2 ** 22) - 2 ** 21));
    const targets = Int32Array.from({ length: T }, (_, i) => (i === T - 1 ? -1 : next() % V));
    const d1 = new Int32Array(T * V);
    const d2 = new Int32Array(T * V);
    const l1 = cpu.crossEntropy(logits, targets, T, d1, V);
    const l2 = await gpu.crossEntropy(ctx, logits, targets, T, d2, V);
    t.strictSame([l2, d2], [l1, d1], `seed ${seed}: V ${V}`);
  }
  t.throws(() => gpu.encodeCrossEntropy(ctx, null as never, null as never, null as never, null as never, null as never, 1, 32769), /vocab 32769 not in \[1, 32768\]/);
});

t.test('normquant with a learned gain (SPEC v2 §4.1g): WebGPU = CPU, edges included', async (t) => {
  const cpu = await import('../src/kernels/cpu/normquant.ts');
  const gpu = await import('../src/kernels/webgpu/normquant.ts');
  const { bf16Block } = await import('../src/kernels/cpu/bf16.ts');
  for (let seed = 0; seed < 20; seed++) {
    const next = rng(9500 + seed);
    const K = [1, 5, 64, 300, 1000, 4096][seed % 6];
    const T = 1 + (next() % 5);
    const bound = [2 ** 31 - 1, 2 ** 20, 1000, 3][seed % 4];
    const v = Int32Array.from({ length: T * K }, (_, i) => (i < K && seed % 5 === 0 ? 0 : next() % 7 === 0 ? (next() & 1 ? bound : -bound) : (next() % (2 * bound + 1)) - bound));
    // gains: |g| in [2^−26, 64), both signs, some zero
    const lo = 101 + (next() % 20);
    const hi = Math.min(132, lo + (next() % 12));
    const bits = Uint16Array.from({ length: K }, () => (next() % 9 === 0 ? 0 : ((next() & 1) << 15) | ((lo + (next() % (hi - lo + 1))) << 7) | (next() & 0x7f)));
    const gain = bf16Block(bits, 15, 'gain');
    const c = cpu.normquant(v, T, K, gain);
    const g = await gpu.normquant(ctx, v, T, K, gain);
    t.strictSame([g.x8, g.sx, g.rinv, g.z], [c.x8, c.sx, c.rinv, c.z], `seed ${seed}: forward K ${K} |v| ≤ ${bound} shift ${gain.shift}`);
    const dxn = Int32Array.from({ length: T * K }, () => (next() % 5 === 0 ? (next() & 1 ? G : -G) : (next() % (2 * G + 1)) - G));
    t.strictSame(await gpu.normquantBackward(ctx, dxn, v, c, T, K, gain), cpu.normquantBackward(dxn, v, c, T, K, gain), `seed ${seed}: backward`);
  }
});

t.test('tied LM head (SPEC v2 §4.11): WebGPU = CPU, V not a multiple of the workgroup', async (t) => {
  const cpu = await import('../src/kernels/cpu/v2ops.ts');
  const gpu = await import('../src/kernels/webgpu/tied-head.ts');
  const { bf16Block } = await import('../src/kernels/cpu/bf16.ts');
  for (let seed = 0; seed < 20; seed++) {
    const next = rng(9600 + seed);
    const V = [2, 77, 300, 1001][seed % 4];
    const D = [16, 48, 1024, 100][seed % 4];
    const T = 1 + (next() % 4);
    const lo = 100 + (next() % 30);
    const E = bf16Block(Uint16Array.from({ length: V * D }, () => ((next() & 1) << 15) | ((lo + (next() % 12)) << 7) | (next() & 0x7f)), 15, 'embed');
    const edge = seed % 3 === 0;
    const x8 = Int8Array.from({ length: T * D }, () => (edge ? (next() & 1 ? 127 : -127) : (next() % 255) - 127));
    const sx = Int32Array.from({ length: T }, () => (edge ? 2 ** 31 - 1 : next() % 2 ** 24));
    t.strictSame(await gpu.tiedHead(ctx, E, V, D, x8, sx, T), cpu.tiedHead(E, V, D, x8, sx, T), `seed ${seed}: logits V ${V} D ${D} shift ${E.shift}`);
    const dy = Int32Array.from({ length: T * V }, () => (edge ? (next() & 1 ? 65536 : -65536) : (next() % 131073) - 65536));
    t.strictSame(await gpu.tiedHeadBackward(ctx, E, V, D, dy, T), cpu.tiedHeadBackward(E, V, D, dy, T), `seed ${seed}: dx`);
  }
});
