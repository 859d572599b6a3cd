// `r3mes-worker poc` end to end: the claim batch it prints is the one computed in process from the
// seed 004 nonce layout, on the CPU and on two WebGPU devices; while it runs, /stats and /metrics
// show nonces/min per group and per device with the adapter's info; bad input → one clear error.

import t from 'tap';
import { execFile, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { bytesToHex } from '@noble/hashes/utils.js';
import { buildClaimBatch } from '../src/poc/claims.ts';
import { pocDistance } from '../src/poc/compute.ts';
import { NonceIterator } from '../src/poc/nonce.ts';
import type { StatsSnapshot } from '../src/roles/stats.ts';

const BIN = fileURLToPath(new URL('../bin/r3mes-worker', import.meta.url));
const run = async (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
  try {
    const r = await promisify(execFile)(BIN, args, { timeout: 120_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
};

const seed = new Uint8Array(32).fill(0x33);
const SEED = bytesToHex(seed);
const dims = { dModel: 32, nLayers: 2, nHeads: 2, dFF: 64, seqLen: 16 };
const dimArgs = ['--d-model', '32', '--n-layers', '2', '--n-heads', '2', '--d-ff', '64', '--seq-len', '16'];

t.test('the printed batch is the in-process one: node 1 of 2, CPU (1 group) and WebGPU (2 groups)', async (t) => {
  for (const [backend, groups] of [['cpu', 1], ['webgpu', 2]] as const) {
    const r = await run(['poc', '--seed', SEED, ...dimArgs, '--count', '10', '--node-id', '1', '--n-nodes', '2', '--r-target', '131072', '--backend', backend, '--devices', '0,1']);
    t.equal(r.code, 0, `${backend}: exit 0 (${r.stderr.split('\n').filter((l) => l.startsWith('error')).join(' ')})`);
    const out = JSON.parse(r.stdout) as { root: string; claims: Array<{ nonce: string; distance: string }>; computed: number };
    // What the groups compute: group g of G takes count/G nonces of its iterator.
    const nonces: bigint[] = [];
    for (let g = 0; g < groups; g++) nonces.push(...new NonceIterator({ nodeId: 1, nNodes: 2, groupId: g, nGroups: groups }).take(10 / groups));
    const want = buildClaimBatch(nonces.map((nonce) => ({ nonce, distance: pocDistance(seed, dims, nonce) })), 131072n);
    t.equal(out.computed, 10);
    t.equal(out.root, bytesToHex(want.root), `${backend}: root`);
    t.same(out.claims, want.claims.map((c) => ({ nonce: c.nonce.toString(), distance: c.distance.toString() })), `${backend}: claims`);
    if (backend === 'webgpu') t.match(r.stderr, /detected device #0: .*memory .*\(maxBufferSize\)[\s\S]*applied profile 2x1-resident-mb\d+/, 'the profile is logged');
    t.match(r.stderr, /poc: done: 10 nonces in [\d.]+ s, \d+ nonces\/min/);
  }
});

t.test('poc-check: a validator recomputes a printed batch (exit 0) and catches one forged distance (exit 3)', async (t) => {
  const dir = t.testdir();
  const r = await run(['poc', '--seed', SEED, ...dimArgs, '--count', '12', '--r-target', '131072', '--backend', 'cpu']);
  t.equal(r.code, 0);
  const batch = JSON.parse(r.stdout) as { claims: Array<{ nonce: string; distance: string }>; root: string };
  t.ok(batch.claims.length >= 2, `${batch.claims.length} claims`);
  writeFileSync(join(dir, 'batch.json'), r.stdout);
  const ok = await run(['poc-check', '--seed', SEED, ...dimArgs, '--r-target', '131072', '--claims', join(dir, 'batch.json'), '--backend', 'webgpu', '--devices', '0,1']);
  t.equal(ok.code, 0, 'honest batch, recomputed on 2 devices: exit 0');
  t.same(JSON.parse(ok.stdout), { checked: batch.claims.length, ascending: true, root: batch.root, root_ok: true, mismatches: [] });
  // One distance lowered by 1 (still below r_target): the exact recomputation finds it.
  const forged = structuredClone(batch);
  forged.claims[1].distance = String(BigInt(forged.claims[1].distance) - 1n);
  writeFileSync(join(dir, 'forged.json'), JSON.stringify(forged));
  const bad = await run(['poc-check', '--seed', SEED, ...dimArgs, '--r-target', '131072', '--claims', join(dir, 'forged.json'), '--backend', 'cpu']);
  t.equal(bad.code, 3, 'forged batch: exit 3');
  const out = JSON.parse(bad.stdout) as { root_ok: boolean; mismatches: Array<{ nonce: string; claimed: string; recomputed: string }> };
  t.equal(out.root_ok, false, 'the root no longer matches the claims');
  t.same(out.mismatches, [{ nonce: batch.claims[1].nonce, claimed: forged.claims[1].distance, recomputed: batch.claims[1].distance, below_r_target: true }]);
  const garbage = await run(['poc-check', '--seed', SEED, '--claims', join(dir, 'batch.json'), '--backend', 'cpu', '--r-target', 'x']);
  t.equal(garbage.code, 1);
  t.match(garbage.stderr, /--r-target must be a u64/);
});

t.test('/stats and /metrics while it runs: nonces/min per group and device, adapter info', async (t) => {
  const child = spawn(BIN, ['poc', '--seed', SEED, ...dimArgs, '--duration', '120', '--backend', 'webgpu', '--devices', '0,1', '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGTERM');
  });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  let address: string | undefined;
  for (let i = 0; i < 600 && !address; i++) {
    address = /serving \/stats, \/health and \/metrics at (http:\/\/\S+)/.exec(stderr)?.[1];
    if (!address) await new Promise((r) => setTimeout(r, 100));
  }
  if (!address) {
    t.fail(`no server address in: ${stderr}`);
    return;
  }
  let snap: StatsSnapshot | undefined;
  for (let i = 0; i < 600; i++) {
    snap = (await (await fetch(`${address}/stats`)).json()) as StatsSnapshot;
    if (snap.poc && snap.poc.groups.every((g) => g.nonces > 0)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  t.equal(snap?.role, 'poc');
  t.equal(snap?.poc?.groups.length, 2);
  t.ok(snap!.poc!.noncesPerMinute > 0, `${snap!.poc!.noncesPerMinute} nonces/min`);
  t.same(snap!.devices.map((d) => [d.id, d.group, d.memorySource]), [[0, 0, 'maxBufferSize'], [1, 1, 'maxBufferSize']]);
  t.ok(snap!.devices.every((d) => d.noncesPerMinute > 0 && d.tokensPerSecond > 0 && d.maxBufferSize > 0 && /WebGPU/.test(d.adapter)), 'per-device rates and limits');
  const metrics = await (await fetch(`${address}/metrics`)).text();
  t.match(metrics, /r3mes_worker_poc_nonces_per_minute\{group="all"\} \d/);
  t.match(metrics, /r3mes_worker_device_nonces_per_minute\{device="1"\} \d/);
  t.match(metrics, /r3mes_worker_device_info\{device="0",adapter="WebGPU[^"]*",memory_source="maxBufferSize"\} 1/);
});

t.test('bad input: one clear error, exit 1', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['poc', '--seed', 'abc', '--count', '1'], /epoch seed must be 64 hex digits/],
    [['poc', '--seed', SEED, '--count', '1', '--n-heads', '5'], /PoC dims: model config: nHeads must divide dModel/],
    [['poc', '--seed', SEED], /give --count N or --duration SECONDS/],
    [['poc', '--seed', SEED, '--count', '1', '--node-id', '2', '--n-nodes', '2'], /--node-id 2 must be below --n-nodes 2/],
    [['poc', '--seed', SEED, '--count', '1', '--backend', 'webgpu', '--devices', '0,0'], /--devices lists device 0 twice/],
    [['poc', '--seed', SEED, '--count', '1', '--backend', 'webgpu', '--devices', '0', '--device-memory', '1', '--d-model', '1024', '--n-layers', '8', '--d-ff', '2048'], /needs [\d.]+ MiB on one group .* no group fits/],
  ];
  for (const [args, msg] of cases) {
    const r = await run(args);
    t.equal(r.code, 1, args.join(' '));
    t.match(r.stderr, msg);
  }
});
