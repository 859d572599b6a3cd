// Content exchange through real Kubo daemons (installed by scripts/install-kubo) peered on
// loopback: our CIDs are the ones Kubo gives, content over one block travels as UnixFS over
// bitswap, and every fetch is verified here against its CID.
import t from 'tap';
import { createHash } from 'node:crypto';
import { bytesToHex } from '@noble/hashes/utils.js';
import { initAdapter } from '../src/model/adapter.ts';
import type { ModelConfig } from '../src/model/config.ts';
import { adapterDelta, decodeDelta, type DeltaInfo, encodeDelta, gradientHash } from '../src/output/delta.ts';
import type { ModelIdentity } from '../src/output/metadata.ts';
import { openStore } from '../src/cli/common.ts';
import { FileBlockstore } from '../src/storage/blockstore.ts';
import { cidOf } from '../src/storage/cid.ts';
import { buildGateway } from '../src/storage/gateway.ts';
import { GatewayClient, KuboClient } from '../src/storage/remote.ts';
import { CHUNK_BYTES, importFile } from '../src/storage/unixfs.ts';
import { connectKubo, kuboFindProviders, kuboPeers, startKubo } from './helpers/kubo.ts';

/** Deterministic test inputs: sha256 counter stream. */
function inputOf(length: number, label: string): Uint8Array {
  const out = new Uint8Array(length);
  for (let block = 0; block * 32 < length; block++) {
    out.set(createHash('sha256').update(`${label}/${block}`).digest().subarray(0, Math.min(32, length - block * 32)), block * 32);
  }
  return out;
}

/** `ipfs add --only-hash` over RPC with the given options (none: the node's configured defaults). */
async function kuboHash(api: string, bytes: Uint8Array, options: Record<string, string> = {}): Promise<string> {
  const url = new URL('/api/v0/add', api);
  for (const [k, v] of Object.entries({ 'only-hash': 'true', ...options })) url.searchParams.set(k, v);
  const form = new FormData();
  form.append('file', new Blob([Uint8Array.from(bytes)]), 'file');
  const response = await fetch(url, { method: 'POST', body: form });
  const text = await response.text();
  if (!response.ok) throw new Error(`add: HTTP ${response.status} ${text}`);
  return (JSON.parse(text.trim().split('\n').at(-1)!) as { Hash: string }).Hash;
}

/** A real adapter delta file of a model whose LoRA adapter is `rank` × 256 × 4 projections × 6 layers. */
async function deltaFile(rank: number, miner: string) {
  const model = (seedByte: number): ModelConfig => ({ vocab: 256, dModel: 256, nLayers: 6, nHeads: 4, dFF: 256, seqLen: 16, loraRank: rank, seed: new Uint8Array(32).fill(seedByte) });
  const cfg = model(3);
  const identity: ModelIdentity = { version: 1n, backbone: { seed: cfg.seed }, cfg };
  const delta = adapterDelta(initAdapter(cfg), initAdapter(model(4)));
  const info: DeltaInfo = {
    model: identity, miner, window: 7n, ordinal: 0n, chunkIndex: 3n, chunkHash: '00'.repeat(32), backend: 'cpu', lr: 256,
    stepHashes: [new Uint8Array(32).fill(1), new Uint8Array(32).fill(2)], lossBefore: 360000, lossAfter: 350000,
  };
  return { ...(await encodeDelta(delta, info)), delta, cfg };
}

t.test('our CIDs are the ones Kubo gives, and Kubo\'s unixfs-v1-2025 profile gives them by default', async (t) => {
  const plain = await startKubo(t, 'plain');
  const profiled = await startKubo(t, 'ipip499', { profiles: ['unixfs-v1-2025'] });
  const client = new KuboClient(plain.api);
  for (const length of [0, 1, CHUNK_BYTES, CHUNK_BYTES + 1, 2.5 * CHUNK_BYTES, 3 * CHUNK_BYTES + 5]) {
    const bytes = inputOf(length, `kubo-${length}`);
    const ours = (await cidOf(bytes)).toString();
    // KuboClient.put itself refuses a CID other than ours (IntegrityMismatch).
    t.equal((await client.put(bytes)).toString(), ours, `${length} bytes: add with our options gives ${ours.slice(0, 12)}…`);
    t.equal(await kuboHash(profiled.api, bytes), ours, `${length} bytes: plain add on a unixfs-v1-2025 node gives the same`);
  }
  // The balanced layout beyond one level, with a small chunk and fan-out so the input stays small.
  for (const length of [70, 100, 7 * 27 + 1]) {
    const bytes = inputOf(length, `deep-${length}`);
    const ours = (await importFile(bytes, { chunkBytes: 7, maxLinks: 3 })).root.toString();
    t.equal(await kuboHash(plain.api, bytes, { 'cid-version': '1', 'raw-leaves': 'true', chunker: 'size-7', 'max-file-links': '3', trickle: 'false' }), ours, `${length} bytes in 7-byte chunks, 3 links a node`);
  }
});

t.test('a miner adds deltas to its own node; a proposer and a verifier on another node fetch them over bitswap and verify them', async (t) => {
  const minerNode = await startKubo(t, 'miner');
  const otherNode = await startKubo(t, 'validator');
  await connectKubo(otherNode, minerNode);
  t.ok((await kuboPeers(otherNode)).includes(minerNode.peerId), 'the nodes are peered over loopback');

  const miner = new KuboClient(minerNode.api);
  const proposer = new KuboClient(otherNode.api);
  const verifier = new KuboClient(otherNode.api);
  const id = await miner.identity();
  t.equal(id.peerId, minerNode.peerId, 'identity: the peer id other operators see');
  t.ok(id.addresses.some((a) => a.startsWith('/ip4/127.0.0.1/tcp/')) && id.peers === 1, 'its addresses, and one peer');
  const opened = await openStore({ ipfsApi: minerNode.api });
  t.match(opened.describe, new RegExp(`^kubo ${minerNode.api} \\(peer ${minerNode.peerId}, 1 peer\\(s\\) now\\)$`), '--ipfs-api says who the node is');

  for (const [label, rank] of [['a delta over one block', 64], ['a small delta', 4]] as const) {
    const file = await deltaFile(rank, 'r3mes1miner');
    const cid = await miner.put(file.bytes);
    t.ok(cid.equals(file.cid), `${label} (${file.bytes.length} bytes): the miner's node stores it under the delta's CID ${cid}`);
    t.equal(cid.code, file.bytes.length > CHUNK_BYTES ? 0x70 : 0x55, file.bytes.length > CHUNK_BYTES ? 'a UnixFS root' : 'a raw block');
    t.equal(await proposer.has(cid), false, 'the other node does not hold it yet');

    const fetched = await proposer.get(cid);
    const decoded = await decodeDelta(fetched, { cid: cid.toString() });
    t.equal(decoded.info.miner, 'r3mes1miner', 'the proposer fetched and decoded it');
    t.equal(await proposer.has(cid), true, 'now the other node holds it (fetched over bitswap)');
    const again = await decodeDelta(await verifier.get(cid), { cid: cid.toString() });
    t.equal(bytesToHex(gradientHash(again.delta, file.cfg)), bytesToHex(file.gradientHash), 'the verifier gets the same delta');
  }

  // Any IPFS gateway serves the content; our gateway client re-imports it against the CID.
  const big = await deltaFile(64, 'r3mes1miner');
  t.same(Buffer.from(await new GatewayClient(minerNode.gateway).get(big.cid)), Buffer.from(big.bytes), "through the miner node's own gateway, verified here");
  // Our gateway in front of the other node serves the same root, and so does the embedded store.
  const ours = await buildGateway({ store: proposer, upload: false });
  const base = await ours.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => ours.close());
  t.same(Buffer.from(await new GatewayClient(base).get(big.cid)), Buffer.from(big.bytes), 'through our gateway backed by the other node');
  const embedded = await FileBlockstore.open(t.testdir());
  t.ok((await embedded.put(big.bytes)).equals(big.cid), 'the embedded store names it with the same CID');
});

t.test('operators who share no gateway, and are never told of each other, find each other through the DHT', async (t) => {
  // Each node joins the same DHT through one common peer (what the public IPFS network's
  // bootstrap nodes are; here a third daemon on loopback). On `add`, the miner's node announces
  // the root CID with its peer id and addresses (a provider record, Import.FastProvideRoot); the
  // validator's node finds the miner's node through the DHT (the provider record, or the DHT's
  // own peer discovery, which may connect the two first) and fetches over bitswap. The test
  // never gives either node the other's address.
  const dht = { 'Routing.Type': '"dhtserver"' };
  const rendezvous = await startKubo(t, 'rendezvous', { config: dht });
  const minerNode = await startKubo(t, 'miner', { config: dht });
  const validatorNode = await startKubo(t, 'validator', { config: dht });
  await connectKubo(minerNode, rendezvous);
  await connectKubo(validatorNode, rendezvous);

  const file = await deltaFile(64, 'r3mes1miner');
  const cid = await new KuboClient(minerNode.api).put(file.bytes);
  t.equal(cid.code, 0x70, 'a UnixFS delta over one block');
  t.equal(await new KuboClient(rendezvous.api).has(cid), false, 'the rendezvous node holds none of it');
  const fetched = await new KuboClient(validatorNode.api, { timeoutMs: 120_000 }).get(cid);
  t.same(Buffer.from(fetched), Buffer.from(file.bytes), 'the validator node fetched it by CID alone, verified here');
  t.ok((await kuboPeers(validatorNode)).includes(minerNode.peerId), 'from the miner node, to which it is now connected');

  // The announcement itself: the validator node's DHT lookup names the miner node as a provider,
  // with the addresses to dial. (Wait for it: the miner node provides the root asynchronously.)
  const deadline = Date.now() + 90_000;
  let providers = await kuboFindProviders(validatorNode, cid.toString());
  while (!providers.some((p) => p.id === minerNode.peerId) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    providers = await kuboFindProviders(validatorNode, cid.toString());
  }
  const miner = providers.find((p) => p.id === minerNode.peerId);
  t.ok(miner, `the DHT names the miner node (${minerNode.peerId}) as a provider of ${cid}`);
  t.ok(miner?.addrs.some((a) => minerNode.swarm.some((s) => s.startsWith(a))) ?? false, 'with its swarm address');
});
