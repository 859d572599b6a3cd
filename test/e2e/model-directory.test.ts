/**
 * A file-backed model version through the worker's roles on a real node (CometBFT + r3mesd): the
 * test writes a tiny 2B4T-layout checkpoint in the Hugging Face layout (packed 2-bit weights) and
 * a dataset tokenized with its own tokenizer.json (uint32 ids, vocabulary 300), puts both into a
 * content store, and governance registers them: a dataset proposal and a new-version proposal
 * (manifest_cid + architecture_hash + the 2B4T fields), both voted through by the validator.
 * Once the version is active, a miner trains its window through `r3mes-worker train` (the model
 * directory fetched by CID from the store, checked against the chain), a verifier re-executes the
 * submission with `verify --submission --model-dir DIR`, and the proposer's `aggregate` role
 * (the held-out chunks of the window's dataset, on the same model) finalizes the window.
 */
import t from 'tap';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { R3MESD, cometbftBinary, startDevNode, type DevNode } from '../helpers/devnode.ts';
import { waitFor } from '../helpers/localnet.ts';
import type { BitNetArchitecture } from '../../worker/src/checkpoint/config.ts';
import { buildManifest } from '../../worker/src/checkpoint/manifest.ts';
import { writeCheckpoint } from '../../worker/src/checkpoint/write.ts';
import { buildDataset } from '../../worker/src/data/build.ts';
import { publishDataset } from '../../worker/src/data/dataset.ts';
import { loadTokenizer } from '../../worker/src/data/tokenizer.ts';
import { RpcChainReader } from '../../worker/src/chain/client.ts';
import { FileBlockstore } from '../../worker/src/storage/blockstore.ts';

const run = promisify(execFile);
const { NODE_OPTIONS: _tapLoader, ...cleanEnv } = process.env;
const WORKER = fileURLToPath(new URL('../../worker/bin/r3mes-worker', import.meta.url));

async function exec(bin: string, args: string[], timeout = 120_000): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(bin, args, { env: { ...cleanEnv, COMETBFT: cometbftBinary() }, timeout, maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : 1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}
async function cliJson<T>(args: string[]): Promise<T> {
  const r = await exec(R3MESD, [...args, '-o', 'json']);
  if (r.code !== 0) throw new Error(`r3mesd ${args.slice(0, 3).join(' ')} failed (${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
  return JSON.parse(r.stdout) as T;
}

const ARCH: BitNetArchitecture = {
  architecture: 'BitNetForCausalLM', hiddenSize: 64, intermediateSize: 96, numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 16,
  vocabSize: 300, maxPositions: 64, ropeTheta: 500000, rmsNormEps: 1e-5, tieWordEmbeddings: true, hiddenAct: 'relu2',
};
const FUNDS = '1000000000000ur3mes';
const DEPOSIT = '10000000ur3mes';
// Blocks 1 s apart; the collect phase (window_blocks) covers the miner's start, the model fetch and the job.
const TRAINING = { windowBlocks: '25', challengePeriodBlocks: '2', commitPeriodBlocks: '8', revealPeriodBlocks: '8', evalChunks: '1' };

t.test('a 2B4T-layout model directory registered by governance trains, verifies and aggregates through the roles', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'r3mes-modeldir-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const keyHome = join(root, 'keys');
  const keyArgs = ['--home', keyHome, '--keyring-backend', 'test'];
  const val = await cliJson<{ address: string }>(['keys', 'add', 'val', ...keyArgs]);
  const miner = await cliJson<{ address: string }>(['keys', 'add', 'miner', ...keyArgs]);
  // One worker home per role (journals), each with the keyring.
  const homes = Object.fromEntries(['miner', 'val', 'verifier'].map((r) => {
    const h = join(root, `home-${r}`);
    cpSync(join(keyHome, 'keyring-test'), join(h, 'keyring-test'), { recursive: true });
    return [r, h];
  })) as Record<'miner' | 'val' | 'verifier', string>;

  // The model directory and the dataset, in one shared content store.
  const modelDir = join(root, 'model');
  await writeCheckpoint(modelDir, ARCH, { form: 'packed', seed: 21 });
  const { cid: manifestCid, bytes: manifestBytes, manifest } = await buildManifest(modelDir);
  const storeDir = join(root, 'store');
  const store = await FileBlockstore.open(storeDir);
  await store.put(manifestBytes);
  for (const f of manifest.files) t.equal((await store.put(new Uint8Array(readFileSync(join(modelDir, f.name))))).toString(), f.cid, `${f.name} published`);
  const tokenizer = await loadTokenizer(modelDir);
  const docs = Array.from({ length: 400 }, (_, i) => JSON.stringify({ text: `document ${i}: the quick brown fox ${i * 7} jumps over the lazy dog ${i % 13} times, again.` }));
  writeFileSync(join(root, 'docs.jsonl'), docs.join('\n'));
  const ds = await buildDataset({ tokenizer, files: [join(root, 'docs.jsonl')], outDir: join(root, 'dataset'), heldoutPermille: 300, shardTokens: 4096 });
  await publishDataset(join(root, 'dataset'), store);
  t.ok(ds.manifest.train.chunks >= 2 && ds.manifest.heldout.chunks >= 1, `dataset ${ds.cid}: ${ds.manifest.train.chunks} train, ${ds.manifest.heldout.chunks} held-out chunks of uint32 ids`);

  let node: DevNode | undefined;
  t.teardown(async () => node?.stop());
  node = await startDevNode({
    accounts: [{ address: val.address, coins: FUNDS }, { address: miner.address, coins: FUNDS }],
    validator: { address: val.address, selfStake: '100000000000ur3mes' },
    moduleParams: { training: TRAINING, verification: { l1SampleBps: '0' }, model: { votingPeriodBlocks: '40' } },
    timeoutCommit: '1s',
  });
  const rpc = node.rpcUrl;
  const chain = await RpcChainReader.connect(rpc);
  t.teardown(() => chain.disconnect());
  const tx = async (args: string[]) => {
    const r = await cliJson<{ code: number; txhash: string; events: Array<{ type: string; attributes: Array<{ key: string; value: string }> }> }>(['tx', ...args, ...keyArgs, '--node', rpc]);
    if (r.code !== 0) throw new Error(`tx ${args.slice(0, 2).join(' ')}: code ${r.code}`);
    return r;
  };
  const proposalId = (r: Awaited<ReturnType<typeof tx>>) => r.events.flatMap((e) => e.attributes).find((a) => a.key === 'proposal_id' || a.key === 'id')?.value;

  // The aggregator runs from the start (a drawn proposer in every window).
  const procs: ChildProcess[] = [];
  t.teardown(() => procs.forEach((p) => p.exitCode === null && p.pid !== undefined && process.kill(p.pid, 'SIGTERM')));
  let aggLog = '';
  const agg = spawn(WORKER, ['aggregate', '--key', 'val', '--keyring-backend', 'test', '--home', homes.val, '--store', storeDir, '--node', rpc, '--poll-ms', '1000'], { env: cleanEnv });
  procs.push(agg);
  agg.stdout.on('data', (d) => (aggLog += d));
  agg.stderr.on('data', (d) => (aggLog += d));

  await tx(['staking', 'register-miner', 'miner', '1000000ur3mes', 'cpu', 'cpu']);
  const dsTx = await tx(['model', 'submit-dataset-proposal', 'val', ds.cid, String(ds.manifest.train.chunks), 'a tokenized dataset', DEPOSIT,
    '--tokenizer-cid', tokenizer.cid, '--vocab-size', '300', '--held-out-chunk-count', String(ds.manifest.heldout.chunks)]);
  const vTx = await tx(['model', 'submit-version-proposal', 'val', 'a 2B4T-layout model directory', DEPOSIT,
    '--manifest-cid', manifestCid, '--architecture-hash', manifest.architectureHash, '--vocab-size', '300', '--d-model', '64', '--n-layers', '2', '--n-heads', '4',
    '--d-ff', '96', '--seq-len', '64', '--n-kv-heads', '2', '--ffn', 'gated', '--rope-theta', '500000', '--rope-layout', 'half', '--norm-gains', 'true',
    '--embedding', 'bf16-tied', '--lora-rank', '4', '--lora-alpha', '8', '--lora-targets', 'q,k,v,o,gate,up,down', '--migration-blocks', '1']);
  const ids = [proposalId(dsTx), proposalId(vTx)];
  t.ok(ids.every((x) => x !== undefined), `proposals ${ids.join(', ')}`);
  for (const id of ids) await tx(['model', 'vote', 'val', id!, 'yes']);

  // Governance: the version becomes active (after its one-block migration) with the dataset.
  const active = await waitFor('model version 2 active', 120_000, async () => {
    const v = await chain.activeVersion();
    return v.number === 2n ? v : undefined;
  });
  t.equal(active.manifestCid, manifestCid, 'the active version names the directory by its manifest CID');
  t.equal(active.architectureHash, manifest.architectureHash);

  // A window of version 2 that has just opened: the miner trains it through `train`.
  const first = await waitFor('a window of version 2', 120_000, async () => {
    const w = await chain.currentWindow();
    return w !== undefined && w.modelVersion === 2n ? w : undefined;
  });
  const window = await waitFor(`a fresh window after ${first.id}`, 120_000, async () => {
    const w = await chain.currentWindow();
    return w !== undefined && w.id > first.id ? w : undefined;
  });
  t.equal(window.modelVersion, 2n);
  const datasets = await cliJson<{ datasets?: Array<{ id: string; manifestCid: string }> }>(['query', 'model', 'datasets', '--node', rpc]);
  const registered = datasets.datasets?.find((d) => d.manifestCid === ds.cid);
  t.ok(registered, 'the dataset is registered');
  t.equal(String(window.datasetId), registered?.id, `window ${window.id} trains dataset ${registered?.id}`);

  const mined = await exec(WORKER, ['train', '--key', 'miner', '--keyring-backend', 'test', '--home', homes.miner, '--store', storeDir, '--node', rpc,
    '--once', '--backend', 'cpu', '--steps', '2', '--poll-ms', '1000'], 300_000);
  t.equal(mined.code, 0, `train: ${mined.stderr.slice(-2000)}`);
  t.ok(readdirSync(join(homes.miner, 'worker', 'models', manifestCid)).includes('model.safetensors'), 'the miner fetched the model directory by CID');
  const subs = await chain.windowSubmissions(window.id);
  t.equal(subs.length, 1, `one submission to window ${window.id}`);
  const sub = subs[0]!;
  t.equal(sub.miner, miner.address);

  // The verifier re-executes it on its own copy of the directory (checked against the chain).
  const verified = await exec(WORKER, ['verify', '--submission', String(sub.id), '--model-dir', modelDir, '--home', homes.verifier, '--store', storeDir, '--node', rpc, '--backend', 'cpu'], 300_000);
  t.equal(verified.code, 0, `verify: ${verified.stderr.slice(-2000)}`);
  t.match(JSON.parse(verified.stdout), { match: true, vote: 'miner' }, 'the re-execution matches the submission');
  // A directory that is not the version's is refused by name.
  const otherDir = join(root, 'other');
  await writeCheckpoint(otherDir, { ...ARCH, ropeTheta: 10000 }, { form: 'packed', seed: 21 });
  const refused = await exec(WORKER, ['verify', '--submission', String(sub.id), '--model-dir', otherDir, '--home', homes.verifier, '--store', storeDir, '--node', rpc, '--backend', 'cpu']);
  t.equal(refused.code, 1);
  t.match(refused.stderr, /config\.json: architecture hash \w+, but model version 2 records/);

  // The window aggregates: the proposer commits and reveals, and the window is finalized.
  const closed = await waitFor(`window ${window.id} closed`, 180_000, async () => {
    const w = await chain.window(window.id);
    return w.status === 3 || w.status === 4 ? w : undefined;
  });
  t.equal(closed.status, 3, `window ${window.id} FINALIZED${closed.status !== 3 ? `\n${aggLog.slice(-3000)}` : ''}`);
  t.match(closed.resultCid, /^baf/, 'with the aggregate\'s CID');
  t.equal(closed.acceptedCount, 1n, 'from the accepted submission');
  t.match(aggLog, new RegExp(`window ${window.id}: held-out loss on chunks`), 'the proposer evaluated the held-out chunks of the window\'s dataset');
});
