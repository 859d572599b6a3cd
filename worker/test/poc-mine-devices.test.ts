// `poc-mine --devices` (src/cli/poc.ts pocMinerOnDevices, src/roles/poc.ts pocMinerPass): the
// miner's epoch on WebGPU device groups (several devices of one adapter: Mesa's llvmpipe where
// there is no GPU), each group on its own nonce iterator, submits the same claims as the CPU on one
// iterator when the count is a multiple of the groups; a new epoch's seed reopens the groups.
// The chain here is an in-memory epoch and a recording writer; the e2e test/e2e/poc-roles.test.ts
// runs pocMinerPass against a real node.

import t from 'tap';
import { pocTypes } from '@r3mes/client';
import { pocMinerOnDevices } from '../src/cli/poc.ts';
import { pocDistance } from '../src/poc/compute.ts';
import type { Claim } from '../src/poc/claims.ts';
import { type PocDeps, type PocJournalEntry, pocMinerPass } from '../src/roles/poc.ts';
import { WorkerStats } from '../src/roles/stats.ts';

const epochWith = (id: bigint, seedByte: number): pocTypes.Epoch => pocTypes.Epoch.fromPartial({
  id, phase: 1, startHeight: 1n, submitEndHeight: 100n, endHeight: 200n, seed: Buffer.alloc(32, seedByte).toString('hex'), rTarget: 131072n, maxClaimsPerBatch: 100n,
  model: { dModel: 32n, nLayers: 2n, nHeads: 2n, dFf: 64n, seqLen: 16n, vocabSize: 256n },
});

/** A miner's deps against one epoch; returns what it signed. */
function depsFor(epoch: pocTypes.Epoch) {
  const sent: Claim[][] = [];
  const journal = new Map<string, PocJournalEntry>();
  const deps: PocDeps = {
    chain: { height: async () => 5n, pocEpoch: async () => epoch, pocChecks: async () => [], pocDispute: async () => undefined },
    writer: {
      address: 'r3mes1miner',
      signSubmitPocBatch: async (_e, claims) => { sent.push([...claims]); return { txBytes: new Uint8Array(), txhash: `tx${sent.length}` }; },
      signPocCommits: async () => { throw new Error('unused'); },
      signPocVerdicts: async () => { throw new Error('unused'); },
      signPocArbiterVote: async () => { throw new Error('unused'); },
      broadcast: async (tx) => ({ code: 0, txhash: tx.txhash, height: 5n, rawLog: '' }) as never,
    },
    journal: { get: (k) => journal.get(k), put: async (k, e) => void journal.set(k, e) },
    distances: async (seed, dims, nonces) => nonces.map((n) => pocDistance(seed, dims, n)),
    log: () => {},
  };
  return { deps, sent };
}

t.test('poc-mine on 4 device groups submits the claims the CPU submits; a new epoch reopens the groups', async (t) => {
  const lines: string[] = [];
  const onDevices = pocMinerOnDevices({ backend: 'webgpu', devices: '0,1,2,3', groupSize: '1' }, new WorkerStats(), (l) => lines.push(l));
  t.teardown(() => onDevices.close());
  for (const [id, seedByte] of [[1n, 0x21], [2n, 0x22]] as const) {
    const cpu = depsFor(epochWith(id, seedByte));
    const gpu = depsFor(epochWith(id, seedByte));
    const opts = { nodeId: 1, nNodes: 3, count: 12 };
    t.match(await pocMinerPass(cpu.deps, opts), { kind: 'submitted', computed: 12 });
    t.match(await pocMinerPass(gpu.deps, { ...opts, mine: onDevices.mine }), { kind: 'submitted', computed: 12 });
    t.equal(onDevices.groups(), 4, `epoch ${id}: four groups of one device`);
    t.ok(gpu.sent[0]!.length > 0, `epoch ${id}: ${gpu.sent[0]!.length} claims below r_target`);
    t.same(gpu.sent, cpu.sent, `epoch ${id}: the same claims on 4 groups (each its own iterator) as on the CPU`);
    t.ok(gpu.sent[0]!.every((c) => c.nonce % 3n === 1n), 'node 1 of 3: its own nonces only');
  }
  t.equal(lines.filter((l) => /^detected device #0/.test(l)).length, 2, 'the groups were opened once per epoch');
  t.match(lines.join('\n'), /12 nonces on 4 group\(s\)/);
});
