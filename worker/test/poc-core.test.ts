// Proof-of-Compute, the parts without a device (SPEC.md §14): collision-free nonce iterators
// (seed 004), the claim leaf and batch root, the pure batch builder, device groups by memory
// (table-driven, seed 004's cases and more), memory profiles, and the CPU reference's vectors,
// recomputed here from an independent reading of §14 (Python's hashlib gave the same values).

import t from 'tap';
import { bytesToHex } from '@noble/hashes/utils.js';
import { NonceError, NonceIterator, U64_MAX } from '../src/poc/nonce.ts';
import { buildClaimBatch, claimLeaf, claimsRoot } from '../src/poc/claims.ts';
import { formGroups } from '../src/poc/groups.ts';
import { describeProfile, planPoc, pocNeedBytes } from '../src/poc/profile.ts';
import { pocLayerBytes, pocPerNonceBytes, pocScratchBytes } from '../src/poc/gpu.ts';
import {
  buildPocModel, DEFAULT_POC_DIMS, isqrtBig, parseSeedHex, PocError, pocConfig, pocDistance, pocDistanceFromOutput, pocInput, pocOutput, pocTarget,
} from '../src/poc/compute.ts';
import { parseDeviceMemory, parseDevices } from '../src/poc/devices.ts';
import { ComputeThread } from '../src/train/thread.ts';
import { checkClaims, cpuPocUnit } from '../src/poc/runner.ts';
import { rng } from './helpers/gpu.ts';

t.test('nonce iterators: value = node_id + group_id·n_nodes + i·n_nodes·n_groups, no collision across nodes × groups', async (t) => {
  const it = new NonceIterator({ nodeId: 2, nNodes: 5, groupId: 3, nGroups: 4 });
  t.same(it.take(4), [17n, 37n, 57n, 77n], 'offset 2 + 3·5 = 17, step 20');
  t.equal(it.index, 4n);
  const next = rng(4);
  let cases = 0;
  for (let c = 0; c < 300; c++) {
    const nNodes = 1 + (next() % 13);
    const nGroups = 1 + (next() % 9);
    const k = 1 + (next() % 12);
    const seen = new Set<bigint>();
    let total = 0;
    for (let node = 0; node < nNodes; node++) {
      for (let g = 0; g < nGroups; g++) {
        for (const v of new NonceIterator({ nodeId: node, nNodes, groupId: g, nGroups }).take(k)) {
          seen.add(v);
          total++;
        }
      }
    }
    // Distinct, and together exactly 0 .. k·step − 1: no collision, no gap.
    if (seen.size !== total || total !== k * nNodes * nGroups || ![...seen].every((v) => v < BigInt(total))) {
      t.fail(`collision or gap at n_nodes ${nNodes}, n_groups ${nGroups}`);
    }
    cases++;
  }
  t.equal(cases, 300, '300 random (n_nodes, n_groups) layouts: every nonce distinct, none missing');
  // Far along an iterator: still the layout's residue class.
  const far = new NonceIterator({ nodeId: 6, nNodes: 7, groupId: 1, nGroups: 3 }, 1n << 50n);
  const v = far.next().value;
  t.equal(v % 21n, 13n);
  t.equal(v, 13n + (1n << 50n) * 21n);
  t.throws(() => new NonceIterator({ nodeId: 3, nNodes: 3, groupId: 0, nGroups: 1 }), NonceError, 'node_id must be < n_nodes');
  t.throws(() => new NonceIterator({ nodeId: 0, nNodes: 1, groupId: 2, nGroups: 2 }), NonceError, 'group_id must be < n_groups');
  t.throws(() => new NonceIterator({ nodeId: 0, nNodes: 0, groupId: 0, nGroups: 1 }), /n_nodes must be an integer ≥ 1/);
  t.throws(() => new NonceIterator({ nodeId: 0, nNodes: 2, groupId: 0, nGroups: 1 }, U64_MAX).next(), /passes 2\^64/);
});

t.test('claims: leaf, root (SPEC §6 construction), batch builder', async (t) => {
  t.equal(bytesToHex(claimLeaf({ nonce: 5n, distance: 7n })), 'c5c73988c509b39dc51378440cdb08127f3ae7b9f6741b59f37c22b90ded0cb4');
  t.equal(bytesToHex(claimsRoot([])), '0'.repeat(64));
  // SPEC §14.7 (checked with Python's hashlib): one claim, and three (the third carried up unpaired).
  const three = [{ nonce: 0n, distance: 123212n }, { nonce: 1n, distance: 127681n }, { nonce: 2n, distance: 108806n }];
  t.equal(bytesToHex(claimsRoot(three.slice(0, 1))), 'bf8581c4bb81203e48ebc57e41b5a8b81e4f0211d8d324da00d33cfccd36a16a');
  t.equal(bytesToHex(claimsRoot(three)), 'e3c8e6dbb2d0acc4e7ba8419446eb420f475f39c0806d817e547142ab9b37351');
  t.same(claimsRoot([{ nonce: 1n, distance: 2n }]), (await import('../src/train/trace.ts')).traceRoot([claimLeaf({ nonce: 1n, distance: 2n })]));
  const computed = [
    { nonce: 9n, distance: 100n }, { nonce: 2n, distance: 50n }, { nonce: 4n, distance: 200n }, { nonce: 7n, distance: 99n }, { nonce: 2n, distance: 50n },
  ];
  const b = buildClaimBatch(computed, 100n);
  t.same(b.claims, [{ nonce: 2n, distance: 50n }, { nonce: 7n, distance: 99n }], 'filtered (< r_target), ascending, duplicates once');
  t.equal(b.rejected, 2);
  t.same(b.root, claimsRoot(b.claims));
  t.same(buildClaimBatch([...computed].reverse(), 100n), b, 'order of computation does not matter');
  t.throws(() => buildClaimBatch([{ nonce: 1n, distance: 1n }, { nonce: 1n, distance: 2n }], 10n), /computed twice/);
  t.throws(() => claimLeaf({ nonce: U64_MAX + 1n, distance: 0n }), /not a u64/);
});

t.test('device groups by memory: greedy 1/2/4/8, sorted by id, reproducible (table)', async (t) => {
  const G = 1 << 30;
  const dev = (gbs: number[], ids?: number[]) => gbs.map((gb, i) => ({ id: ids?.[i] ?? i, memoryBytes: gb * G }));
  const cases: Array<[string, ReturnType<typeof dev>, number, number[][], number[]]> = [
    ['4×24 GB, need 23: four single groups', dev([24, 24, 24, 24]), 23, [[0], [1], [2], [3]], []],
    ['4×24 GB, need 40: two pairs', dev([24, 24, 24, 24]), 40, [[0, 1], [2, 3]], []],
    ['8×24 GB, need 80: two quads', dev([24, 24, 24, 24, 24, 24, 24, 24]), 80, [[0, 1, 2, 3], [4, 5, 6, 7]], []],
    ['8×12 GB, need 90: one group of 8', dev([12, 12, 12, 12, 12, 12, 12, 12]), 90, [[0, 1, 2, 3, 4, 5, 6, 7]], []],
    ['1×80 GB, need 40', dev([80]), 40, [[0]], []],
    ['3×24 GB, need 40: a pair, the third unused', dev([24, 24, 24]), 40, [[0, 1]], [2]],
    ['80, 24, 24, 16, need 40', dev([80, 24, 24, 16]), 40, [[0], [1, 2]], [3]],
    ['16, 48, 24, 24, need 40: pairs from the first device', dev([16, 48, 24, 24]), 40, [[0, 1], [2, 3]], []],
    ['2×8 GB, need 40: nothing fits', dev([8, 8]), 40, [], [0, 1]],
    ['ids out of order are sorted first (0:24, 1:8, 2:8, 3:24)', dev([24, 8, 24, 8], [3, 1, 0, 2]), 20, [[0], [2, 3]], [1]],
    ['no devices', dev([]), 40, [], []],
    ['24, 8, 8, 8, 8, 24, need 30: a pair then a quad', dev([24, 8, 8, 8, 8, 24]), 30, [[0, 1], [2, 3, 4, 5]], []],
    ['ids 0, 2, 5: consecutive in id order, not in number', dev([24, 24, 24], [0, 2, 5]), 40, [[0, 2]], [5]],
    ['16×5 GB, need 40: two groups of 8', dev(new Array(16).fill(5)), 40, [[0, 1, 2, 3, 4, 5, 6, 7], [8, 9, 10, 11, 12, 13, 14, 15]], []],
    ['9×5 GB, need 41: no block reaches it', dev(new Array(9).fill(5)), 41, [], [0, 1, 2, 3, 4, 5, 6, 7, 8]],
    ['3 devices of 20: a size-3 block is never formed', dev([20, 20, 20]), 60, [], [0, 1, 2]],
  ];
  for (const [name, devices, needGb, groups, unused] of cases) {
    const got = formGroups(devices, needGb * G);
    t.same(got, { groups, unused }, name);
    t.same(formGroups([...devices].reverse(), needGb * G), got, `${name} (input order irrelevant)`);
  }
  t.throws(() => formGroups(dev([1, 1], [0, 0]), 1), /listed twice/);
});

t.test('memory profiles: micro-batch and residency from the limits; refusal names the need', async (t) => {
  const dims = { dModel: 256, nLayers: 4, nHeads: 4, dFF: 512, seqLen: 64 };
  const need = pocNeedBytes(dims);
  const lim = (id: number, memoryBytes: number) => ({ id, memoryBytes, maxBufferSize: memoryBytes, maxStorageBufferBindingSize: 134217728 });
  const big = planPoc([lim(0, 1 << 30), lim(1, 1 << 30)], dims);
  t.same(big.groups.map((g) => g.deviceIds), [[0], [1]]);
  t.equal(big.groups[0].residency, 'resident');
  t.equal(big.groups[0].microBatch, 64, 'plenty of memory: the largest micro-batch');
  t.match(describeProfile(big), /applied profile 2x1-resident-mb64/);
  // Memory for the model and a few nonces only: a smaller micro-batch.
  const tight = planPoc([lim(0, Math.ceil((need + 4 * 2 * 4 * dims.seqLen * dims.dModel) / 0.9) + 1024)], dims);
  t.ok(tight.groups[0].microBatch >= 1 && tight.groups[0].microBatch < 64, `tight memory: micro-batch ${tight.groups[0].microBatch}`);
  // A device too small alone: two of them form a sharded group.
  // Each device of a pair holds half the layers, its own scratch and one nonce; one alone cannot hold all.
  const half = Math.ceil((2 * pocLayerBytes(dims) + pocScratchBytes(dims) + pocPerNonceBytes(dims)) / 0.9) + 4096;
  t.ok(half * 0.9 < need, 'one such device is too small for the model');
  const sharded = planPoc([lim(0, half), lim(1, half)], dims);
  t.same(sharded.groups.map((g) => g.deviceIds), [[0, 1]]);
  t.equal(sharded.groups[0].residency, 'sharded');
  t.same(sharded.groups[0].shards.map((s) => [s.from, s.to, s.last]), [[0, 2, false], [2, 4, true]]);
  t.throws(() => planPoc([lim(0, 1 << 20), lim(1, 1 << 20), lim(2, 1 << 20)], dims), PocError);
  t.throws(() => planPoc([lim(0, 1 << 20)], dims), /needs [\d.]+ MiB on one group of 1, 2, 4 or 8 consecutive devices .*#0 0\.90 MiB: no group fits/);
  const forced = planPoc([lim(0, 1 << 30), lim(1, 1 << 30), lim(2, 1 << 30), lim(3, 1 << 30)], dims, { groupSize: 4, microBatch: 3 });
  t.same(forced.groups.map((g) => [g.deviceIds, g.microBatch]), [[[0, 1, 2, 3], 3]]);
  t.same(parseDevices('all'), 'all');
  t.same(parseDevices('3,0,2'), [0, 2, 3]);
  t.throws(() => parseDevices('0,x'), /--devices must be/);
  t.throws(() => parseDevices('1,1'), /twice/);
  t.same(parseDeviceMemory('8,4', 2), [8 << 20, 4 << 20]);
  t.throws(() => parseDeviceMemory('8,4', 3), /2 values for 3 devices/);
});

t.test('PoC on the CPU reference: SPEC §14 vectors', async (t) => {
  const seed = new Uint8Array(32).fill(0x11);
  const dims = { dModel: 32, nLayers: 2, nHeads: 2, dFF: 64, seqLen: 16 };
  const m = buildPocModel(seed, dims);
  t.equal(bytesToHex(pocInput(seed, 16, 0n)), '410659aca64c97e5dd9bf74edcea1796');
  const target = [-88, -30, -99, 101, 111, 59, -71, 42, 91, 89, -123, -5, 33, -80, -18, -5, 78, -60, -20, -52, -9, -13, 57, 115, -41, -3, -56, 120, 46, -45, -34, -13];
  t.same(Array.from(pocTarget(seed, 32)), target);
  const out0 = [-62, 75, -19, -8, -22, -27, 52, -95, -48, 40, 32, -26, -27, -29, -50, -61, 10, 58, -12, -8, 24, 4, 127, 24, 15, -49, -37, 56, -23, -47, 54, -18];
  t.same(Array.from(pocOutput(m, 0n)), out0);
  const want = [123212n, 127681n, 108806n, 136313n, 140539n, 129069n, 168445n, 162087n];
  const got = want.map((_, i) => pocDistance(seed, dims, BigInt(i)));
  t.same(got, want, 'distances of nonces 0..7');
  const b = buildClaimBatch(got.map((distance, i) => ({ nonce: BigInt(i), distance })), 131072n);
  t.same(b.claims.map((c) => c.nonce), [0n, 1n, 2n, 5n]);
  t.equal(bytesToHex(b.root), 'f252cde70f92dc495d928a6258facc07d4b0fb91cddeba9af3c9fc65aa8e9216');
  // The distance formula on its own.
  const same = Int8Array.from(target);
  t.equal(pocDistanceFromOutput(same, same), 0n, 'x = t: distance 0');
  t.equal(pocDistanceFromOutput(Int8Array.from(target, (v) => -v), same), 262144n, 'x = −t: 2^18');
  t.equal(pocDistanceFromOutput(new Int8Array(32), same), 131072n, 'no direction: 2^17');
  t.equal(pocDistanceFromOutput(Int8Array.from([1, 0]), Int8Array.from([0, 1])), 131072n, 'orthogonal: 2^17');
  // 45°: P = 10^4, isqrt(X·Tn) = isqrt(2·10^8) = 14142, ⌊2^17·10^4/14142⌋ = 92682.
  t.equal(pocDistanceFromOutput(Int8Array.from([100, 100]), Int8Array.from([100, 0])), 131072n - 92682n, '45°');
  t.equal(pocDistanceFromOutput(Int8Array.from([-100, 100]), Int8Array.from([100, 0])), 131072n + 92683n, '135°: ⌊−92682.7⌋ = −92683 (floor, not truncation)');
  for (const n of [0n, 1n, 2n, 3n, 99n, 1n << 60n, (1n << 54n) - 1n]) {
    const s = isqrtBig(n);
    if (!(s * s <= n && (s + 1n) * (s + 1n) > n)) t.fail(`isqrtBig(${n})`);
  }
  t.throws(() => parseSeedHex('abc'), /64 hex digits/);
  t.throws(() => pocConfig(seed, { ...DEFAULT_POC_DIMS, nHeads: 3 }), /PoC dims: model config: nHeads must divide dModel/);
});

t.test('the compute thread computes the same distances off the event loop', async (t) => {
  const thread = new ComputeThread({ name: 'poc test thread' });
  t.teardown(() => thread.close());
  const seed = new Uint8Array(32).fill(0x11);
  const dims = { dModel: 32, nLayers: 2, nHeads: 2, dFF: 64, seqLen: 16 };
  const r = await thread.poc(seed, dims, [0n, 1n, 2n, 7n]);
  t.same(r.distances, [123212n, 127681n, 108806n, 162087n]);
  // A validator's check of claims: one forged distance, one over r_target, found exactly.
  const { mismatches, checks } = await checkClaims([cpuPocUnit(thread, seed, dims, 2)], [
    { nonce: 0n, distance: 123212n }, { nonce: 1n, distance: 127680n }, { nonce: 2n, distance: 108806n }, { nonce: 6n, distance: 168445n },
  ], 131072n);
  t.equal(checks.length, 4);
  t.same(mismatches.map((m) => [m.nonce, m.claimed, m.recomputed]), [[1n, 127680n, 127681n], [6n, 168445n, 168445n]]);
  await t.rejects(thread.poc(seed, { ...dims, nHeads: 5 }, [0n]), { name: 'PocError', codespace: 'poc' }, 'an error crosses back with its name and codespace');
});
