// `r3mes-worker poc`: Proof-of-Compute for one epoch (SPEC.md §14) on the CPU or on WebGPU device
// groups. Prints the memory profile it applied, a progress line per second (nonces/min, per group),
// and at the end the claim batch (claims below r_target, ascending nonce, root) as JSON on stdout.
// /stats, /metrics: nonces/min per group and per device, the devices' adapter info and memory.
// (Submitting the batch to the chain's `poc` module — `--chain` — comes with that module.)

import { bytesToHex } from '@noble/hashes/utils.js';
import { type Command, Option } from 'commander';
import { BACKEND_CHOICES, type BackendChoice } from '../backend.ts';
import { readFileSync } from 'node:fs';
import { buildClaimBatch, type Claim, claimsRoot } from '../poc/claims.ts';
import { buildPocModel, DEFAULT_POC_DIMS, parseSeedHex, PocError, type PocDims, pocConfig } from '../poc/compute.ts';
import { openDevices, type OpenedGpuDevice, parseDeviceMemory, parseDevices } from '../poc/devices.ts';
import { describeProfile, mib, planPoc, type PocProfile } from '../poc/profile.ts';
import { checkClaims, cpuPocUnit, gpuPocUnit, noncesPerMinute, type PocUnit, runPoc, type UnitProgress } from '../poc/runner.ts';
import { startWorkerServer } from '../roles/server.ts';
import { WorkerStats } from '../roles/stats.ts';
import { sharedComputeThread } from '../train/thread.ts';
import { parseUint } from './common.ts';
import type { MineFn } from '../roles/poc.ts';

/** Default r_target (Q16 squared distance of unit vectors): SPEC §14.4 gives the measured share. */
export const DEFAULT_R_TARGET = 110000n;

interface PocOpts {
  seed: string; dModel: string; nLayers: string; nHeads: string; dFf: string; seqLen: string; rTarget: string;
  nodeId: string; nNodes: string; devices: string; deviceMemory?: string; microBatch?: string; groupSize?: string;
  backend: BackendChoice; count?: string; duration?: string; listen?: string; quiet?: boolean;
}


interface UnitOpts { backend: BackendChoice; devices: string; deviceMemory?: string; microBatch?: string; groupSize?: string }

/**
 * The compute units the options name: WebGPU device groups from the memory profile (logged), or
 * the CPU compute thread (`cpu`, or `auto` without a hardware adapter). Fills /stats' devices.
 * On an error the devices it opened are closed.
 */
async function openPocUnits(o: UnitOpts, seed: Uint8Array, dims: PocDims, stats: WorkerStats, log: (line: string) => void): Promise<{ units: PocUnit[]; devices: OpenedGpuDevice[]; profile?: PocProfile }> {
  const microBatch = o.microBatch === undefined ? undefined : Math.max(1, parseUint(o.microBatch, '--micro-batch', 4096));
  const groupSize = o.groupSize === undefined ? undefined : parseUint(o.groupSize, '--group-size', 8);
  const ids = parseDevices(o.devices);
  let devices: OpenedGpuDevice[] = [];
  let units: PocUnit[] = [];
  let profile: PocProfile | undefined;
  try {
    if (o.backend !== 'cpu') {
      try {
        const n = ids === 'all' ? 1 : ids.length;
        devices = await openDevices(ids, { preferHardware: true, allowSoftware: o.backend === 'webgpu', memory: parseDeviceMemory(o.deviceMemory, n) });
      } catch (err) {
        if (o.backend === 'webgpu') throw err;
        log('poc: no hardware WebGPU adapter; computing on the CPU (the same distances)');
      }
    }
    if (devices.length > 0) {
      for (const dv of devices) {
        log(`detected device #${dv.id}: ${dv.adapter}; memory ${mib(dv.memoryBytes)} (${dv.memorySource}), maxBufferSize ${mib(dv.maxBufferSize)}, maxStorageBufferBindingSize ${mib(dv.maxStorageBufferBindingSize)}`);
      }
      profile = planPoc(devices, dims, { microBatch, groupSize });
      log(describeProfile(profile));
      const model = buildPocModel(seed, dims); // the CPU path builds it on the compute thread instead
      const byId = new Map(devices.map((dv) => [dv.id, dv]));
      units = profile.groups.map((g) => gpuPocUnit(g.deviceIds.map((i) => byId.get(i) as OpenedGpuDevice), model, g.microBatch));
      stats.backend = 'webgpu';
      stats.adapter = devices[0].adapter;
      stats.devices = devices.map((dv) => {
        const g = profile!.groups.find((gp) => gp.deviceIds.includes(dv.id));
        return {
          id: dv.id, adapter: dv.adapter, ...dv.info, memoryBytes: dv.memoryBytes, memorySource: dv.memorySource, maxBufferSize: dv.maxBufferSize,
          maxStorageBufferBindingSize: dv.maxStorageBufferBindingSize, group: g ? g.groupId : null, plannedBytes: g ? g.peakDeviceBytes : 0,
          nonces: 0, noncesPerMinute: 0, tokensPerSecond: 0,
        };
      });
    } else {
      units = [cpuPocUnit(sharedComputeThread(), seed, dims, microBatch ?? 8)];
      stats.backend = 'cpu';
      stats.adapter = `cpu (TypeScript reference kernels, node ${process.version}, on a worker thread)`;
      log(`poc on the CPU: 1 group, micro-batch ${units[0].microBatch}`);
    }
    return { units, devices, profile };
  } catch (err) {
    for (const u of units) u.close();
    for (const dv of devices) dv.ctx.destroy();
    throw err;
  }
}

/**
 * `poc-mine --devices`: the miner's compute on the device groups the options name (as `poc`):
 * the groups are opened for an epoch's model (seed, dims) on first use and reopened when the
 * epoch changes; `mine` runs every group on its own nonce iterator (runPoc).
 */
export function pocMinerOnDevices(o: UnitOpts, stats: WorkerStats, log: (line: string) => void): { mine: MineFn; groups(): number; close(): void } {
  let current: { key: string; units: PocUnit[]; devices: OpenedGpuDevice[] } | undefined;
  const close = () => {
    for (const u of current?.units ?? []) u.close();
    for (const dv of current?.devices ?? []) dv.ctx.destroy();
    current = undefined;
  };
  const mine: MineFn = async (seed, dims, { nodeId, nNodes, count, rTarget }) => {
    const key = `${bytesToHex(seed)}/${dims.dModel}/${dims.nLayers}/${dims.nHeads}/${dims.dFF}/${dims.seqLen}`;
    if (current?.key !== key) {
      close();
      const opened = await openPocUnits(o, seed, dims, stats, log);
      current = { key, units: opened.units, devices: opened.devices };
    }
    const { computed, progress } = await runPoc({ units: current.units, nodeId, nNodes, rTarget, count });
    log(`poc: ${computed.length} nonces on ${progress.length} group(s): ${progress.map((p) => `g${p.groupId} ${p.unit.name} ${p.nonces} (${Math.round(noncesPerMinute(p))}/min)`).join(', ')}`);
    return computed;
  };
  return { mine, groups: () => current?.units.length ?? 0, close };
}

export function addPocCommand(program: Command, io: { log: (line: string) => void; print: (v: unknown) => void }): void {
  const d = DEFAULT_POC_DIMS;
  program.command('poc')
    .description('Proof-of-Compute for one epoch (worker/SPEC.md §14): distances of this node\'s nonces on the CPU or WebGPU device groups; prints the claim batch (nonce, distance < r_target; root)')
    .requiredOption('--seed <hex>', 'the epoch seed (64 hex digits, from the chain\'s PoC epoch)')
    .option('--d-model <n>', 'PoC model d_model (chain param)', String(d.dModel))
    .option('--n-layers <n>', 'PoC model layers (chain param)', String(d.nLayers))
    .option('--n-heads <n>', 'PoC model heads (chain param)', String(d.nHeads))
    .option('--d-ff <n>', 'PoC model d_ff (chain param)', String(d.dFF))
    .option('--seq-len <n>', 'PoC input length (chain param)', String(d.seqLen))
    .option('--r-target <n>', 'distance threshold (chain param r_target, u64)', DEFAULT_R_TARGET.toString())
    .option('--node-id <n>', 'this node\'s index among the epoch\'s nodes', '0')
    .option('--n-nodes <n>', 'number of nodes sharing the nonce space', '1')
    .option('--devices <list>', 'WebGPU devices: "all" or ids like 0,2,3 (ids past the adapters are further devices of the adapter)', 'all')
    .option('--device-memory <mib>', 'memory per device in MiB (one value, or one per device): WebGPU reports none; default the adapter\'s maxBufferSize')
    .option('--micro-batch <n>', 'nonces per command buffer (default: from memory)')
    .option('--group-size <n>', 'force groups of 1, 2, 4 or 8 devices (layer sharding within a group)')
    .addOption(new Option('--backend <backend>', 'cpu, webgpu or auto (a hardware GPU, else the CPU)').choices(BACKEND_CHOICES as string[]).default('auto'))
    .option('--count <n>', 'nonces to compute in all (split over the groups)')
    .option('--duration <seconds>', 'compute for this long')
    .option('--listen <host:port>', 'serve /stats, /health and /metrics while computing')
    .option('--quiet', 'no progress lines')
    .action(async (o: PocOpts) => {
      const seed = parseSeedHex(o.seed);
      const dims: PocDims = {
        dModel: parseUint(o.dModel, '--d-model', 1 << 20), nLayers: parseUint(o.nLayers, '--n-layers', 1 << 20), nHeads: parseUint(o.nHeads, '--n-heads', 1 << 20),
        dFF: parseUint(o.dFf, '--d-ff', 1 << 20), seqLen: parseUint(o.seqLen, '--seq-len', 1 << 20),
      };
      pocConfig(seed, dims); // dims within SPEC §5's limits, or a clear error before any device opens
      if (!/^\d{1,20}$/.test(o.rTarget) || BigInt(o.rTarget) >= 1n << 64n) throw new PocError(`--r-target must be a u64, got "${o.rTarget}"`);
      const rTarget = BigInt(o.rTarget);
      const nodeId = parseUint(o.nodeId, '--node-id', 1 << 30);
      const nNodes = parseUint(o.nNodes, '--n-nodes', 1 << 30);
      if (nNodes < 1 || nodeId >= nNodes) throw new PocError(`--node-id ${nodeId} must be below --n-nodes ${nNodes}`);
      if (o.count === undefined && o.duration === undefined) throw new PocError('give --count N or --duration SECONDS');
      const count = o.count === undefined ? undefined : parseUint(o.count, '--count', 1e12);
      const durationMs = o.duration === undefined ? undefined : parseUint(o.duration, '--duration', 1e9) * 1000;

      const stats = new WorkerStats();
      Object.assign(stats, { role: 'poc', status: 'starting' });
      let devices: OpenedGpuDevice[] = [];
      let units: PocUnit[] = [];
      let profile: PocProfile | undefined;
      try {
        ({ units, devices, profile } = await openPocUnits(o, seed, dims, stats, io.log));
        stats.poc = {
          seed: bytesToHex(seed), profile: profile?.name ?? 'cpu', rTarget: rTarget.toString(), nonces: 0, claims: 0, noncesPerMinute: 0,
          groups: units.map((u, i) => ({ group: i, devices: [...u.deviceIds], nonces: 0, noncesPerMinute: 0, tokensPerSecond: 0 })),
        };
        stats.status = 'computing';
        const server = o.listen ? await startWorkerServer(o.listen, { stats }) : undefined;
        if (server) io.log(`serving /stats, /health and /metrics at ${server.address}`);
        const started = Date.now();
        let lastLine = 0;
        const update = (progress: readonly UnitProgress[]) => {
          const poc = stats.poc!;
          poc.nonces = progress.reduce((s, p) => s + p.nonces, 0);
          poc.claims = progress.reduce((s, p) => s + p.claims, 0);
          const ms = Date.now() - started;
          poc.noncesPerMinute = ms > 0 ? (poc.nonces * 60000) / ms : 0;
          for (const p of progress) {
            const g = poc.groups[p.groupId];
            g.nonces = p.nonces;
            g.noncesPerMinute = noncesPerMinute(p);
            g.tokensPerSecond = (g.noncesPerMinute * dims.seqLen) / 60;
            for (const id of p.unit.deviceIds) {
              const dv = stats.devices.find((x) => x.id === id);
              if (dv) Object.assign(dv, { nonces: p.nonces, noncesPerMinute: g.noncesPerMinute, tokensPerSecond: g.tokensPerSecond });
            }
          }
          stats.tokens = poc.nonces * dims.seqLen;
          stats.tokensPerSecond = (poc.noncesPerMinute * dims.seqLen) / 60;
          if (!o.quiet && Date.now() - lastLine >= 1000) {
            lastLine = Date.now();
            const per = poc.groups.map((g) => `g${g.group} ${Math.round(g.noncesPerMinute)}/min`).join(', ');
            io.log(`poc: ${poc.nonces} nonces, ${poc.claims} below r_target, ${Math.round(poc.noncesPerMinute)} nonces/min [${per}]`);
          }
        };
        try {
          const r = await runPoc({ units, nodeId, nNodes, rTarget, count, durationMs, onBatch: (p) => update(p) });
          update(r.progress);
          const batch = buildClaimBatch(r.computed, rTarget);
          const poc = stats.poc!;
          io.log(`poc: done: ${poc.nonces} nonces in ${((Date.now() - started) / 1000).toFixed(1)} s, ${Math.round(poc.noncesPerMinute)} nonces/min, ${batch.claims.length} claims`);
          stats.status = 'done';
          io.print({
            seed: bytesToHex(seed), dims, r_target: rTarget, node_id: nodeId, n_nodes: nNodes, profile: profile?.name ?? 'cpu',
            groups: units.map((u, i) => ({ group: i, devices: u.deviceIds, nonces: r.progress[i].nonces })),
            computed: r.computed.length, root: batch.root, claims: batch.claims,
          });
        } finally {
          await server?.app.close();
        }
      } finally {
        for (const u of units) u.close();
        for (const dv of devices) dv.ctx.destroy();
      }
    });
}


interface CheckOpts extends UnitOpts { seed: string; dModel: string; nLayers: string; nHeads: string; dFf: string; seqLen: string; rTarget: string; claims: string }

/** Claims from a file: the JSON `poc` prints ({claims, root}) or a bare array of {nonce, distance}. */
export function readClaimsJson(text: string, what: string): { claims: Claim[]; root?: string } {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (cause) {
    throw new PocError(`${what}: not JSON (${(cause as Error).message})`);
  }
  const obj = Array.isArray(v) ? { claims: v } : (v as { claims?: unknown; root?: unknown });
  if (!obj || !Array.isArray(obj.claims)) throw new PocError(`${what}: expected {"claims": [...]} or an array of {nonce, distance}`);
  const u64 = (x: unknown, field: string, i: number): bigint => {
    const str = typeof x === 'number' && Number.isSafeInteger(x) ? String(x) : x;
    if (typeof str !== 'string' || !/^\d{1,20}$/.test(str) || BigInt(str) >= 1n << 64n) throw new PocError(`${what}: claim ${i}: ${field} must be a u64 (decimal), got ${JSON.stringify(x)}`);
    return BigInt(str);
  };
  const claims = obj.claims.map((c: unknown, i: number) => {
    const r = c as { nonce?: unknown; distance?: unknown };
    return { nonce: u64(r?.nonce, 'nonce', i), distance: u64(r?.distance, 'distance', i) };
  });
  return { claims, root: typeof obj.root === 'string' ? obj.root : undefined };
}

/** `r3mes-worker poc-check`: a validator's recomputation of a claim batch (exit 3 on any mismatch). */
export function addPocCheckCommand(program: Command, io: { log: (line: string) => void; print: (v: unknown) => void }): void {
  const d = DEFAULT_POC_DIMS;
  program.command('poc-check')
    .description('recompute the distances of a PoC claim batch (a validator\'s check, SPEC §14): prints every claim whose distance differs or is not below r_target; exit 3 if any, or if the batch is not ascending or its root differs')
    .requiredOption('--seed <hex>', 'the epoch seed (64 hex digits)')
    .requiredOption('--claims <file>', 'the batch: the JSON `poc` prints, or an array of {nonce, distance}')
    .option('--d-model <n>', 'PoC model d_model', String(d.dModel))
    .option('--n-layers <n>', 'PoC model layers', String(d.nLayers))
    .option('--n-heads <n>', 'PoC model heads', String(d.nHeads))
    .option('--d-ff <n>', 'PoC model d_ff', String(d.dFF))
    .option('--seq-len <n>', 'PoC input length', String(d.seqLen))
    .option('--r-target <n>', 'distance threshold (u64)', DEFAULT_R_TARGET.toString())
    .option('--devices <list>', 'WebGPU devices: "all" or ids like 0,2,3', 'all')
    .option('--device-memory <mib>', 'memory per device in MiB')
    .option('--micro-batch <n>', 'nonces per command buffer')
    .option('--group-size <n>', 'force groups of 1, 2, 4 or 8 devices')
    .addOption(new Option('--backend <backend>', 'cpu, webgpu or auto').choices(BACKEND_CHOICES as string[]).default('auto'))
    .action(async (o: CheckOpts) => {
      const seed = parseSeedHex(o.seed);
      const dims: PocDims = {
        dModel: parseUint(o.dModel, '--d-model', 1 << 20), nLayers: parseUint(o.nLayers, '--n-layers', 1 << 20), nHeads: parseUint(o.nHeads, '--n-heads', 1 << 20),
        dFF: parseUint(o.dFf, '--d-ff', 1 << 20), seqLen: parseUint(o.seqLen, '--seq-len', 1 << 20),
      };
      pocConfig(seed, dims);
      if (!/^\d{1,20}$/.test(o.rTarget) || BigInt(o.rTarget) >= 1n << 64n) throw new PocError(`--r-target must be a u64, got "${o.rTarget}"`);
      const rTarget = BigInt(o.rTarget);
      const { claims, root } = readClaimsJson(readFileSync(o.claims, 'utf8'), o.claims);
      const ascending = claims.every((c, i) => i === 0 || claims[i - 1].nonce < c.nonce);
      const computedRoot = bytesToHex(claimsRoot(claims));
      const stats = new WorkerStats();
      const { units, devices } = await openPocUnits(o, seed, dims, stats, io.log);
      try {
        const { mismatches } = await checkClaims(units, claims, rTarget);
        const rootOk = root === undefined ? null : root.toLowerCase() === computedRoot;
        io.print({
          checked: claims.length, ascending, root: computedRoot, root_ok: rootOk,
          mismatches: mismatches.map((m) => ({ nonce: m.nonce, claimed: m.claimed, recomputed: m.recomputed, below_r_target: m.claimed < rTarget })),
        });
        io.log(`poc-check: ${claims.length} claims, ${mismatches.length} mismatching${ascending ? '' : ', not in ascending nonce order'}${rootOk === false ? ', root differs' : ''}`);
        if (mismatches.length > 0 || !ascending || rootOk === false) process.exitCode = 3;
      } finally {
        for (const u of units) u.close();
        for (const dv of devices) dv.ctx.destroy();
      }
    });
}

/**
 * `train --devices`: the training backend data-parallel over several WebGPU devices
 * (src/train/multi-device.ts; the same bytes as one device or the CPU). `attach` fills /stats'
 * devices and keeps their tokens/s (each device's share of the last step) current.
 */
export async function trainBackendOnDevices(spec: string, choice: BackendChoice, log: (line: string) => void): Promise<{ backend: import('../backend.ts').TrainBackend; attach: (stats: WorkerStats) => void }> {
  if (choice === 'cpu') throw new PocError('--devices needs --backend webgpu or auto (the CPU backend has no devices)');
  const { webgpuDevicesBackend } = await import('../train/multi-device.ts');
  const devices = await openDevices(parseDevices(spec), { preferHardware: true, allowSoftware: choice === 'webgpu' });
  for (const dv of devices) log(`detected device #${dv.id}: ${dv.adapter}; maxBufferSize ${mib(dv.maxBufferSize)}, maxStorageBufferBindingSize ${mib(dv.maxStorageBufferBindingSize)}`);
  log(`training data-parallel on ${devices.length} device(s): each takes a contiguous part of a chunk's sequences; gradient sums added exactly on the host`);
  let stats: WorkerStats | undefined;
  const backend = webgpuDevicesBackend(devices.map((dv) => dv.ctx), {
    onDevice: (i, t) => {
      const d = stats?.devices[i];
      if (d && t.ms > 0) d.tokensPerSecond = (t.tokens * 1000) / t.ms;
    },
  });
  return {
    backend,
    attach: (s) => {
      stats = s;
      s.devices = devices.map((dv) => ({
        id: dv.id, adapter: dv.adapter, ...dv.info, memoryBytes: dv.memoryBytes, memorySource: dv.memorySource, maxBufferSize: dv.maxBufferSize,
        maxStorageBufferBindingSize: dv.maxStorageBufferBindingSize, group: null, plannedBytes: 0, nonces: 0, noncesPerMinute: 0, tokensPerSecond: 0,
      }));
    },
  };
}
