// r3mes-worker's commands (train, verify, arbitrate, challenge, watch, aggregate, serve); main.ts runs them.
// Every failure ends in one line on stderr, `error [codespace/code]: message`, and exit code 1;
// a re-execution that disagrees exits 3. Nothing is signed before every input has been checked.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { bytesToHex } from '@noble/hashes/utils.js';
import { aggregateDeltas, DEFAULT_RULE } from '../aggregate/file.ts';
import { parseRule, ruleName } from '../aggregate/rules.ts';
import { BACKEND_CHOICES, type BackendChoice, chooseBackend, cpuBackend, type TrainBackend } from '../backend.ts';
import type { KeyringBackend } from '../chain/keys.ts';
import { decodeDelta } from '../output/delta.ts';
import { decodeState } from '../output/state.ts';
import { decodeTrace, type Trace } from '../output/trace.ts';
import { decodeSafetensors } from '../storage/safetensors.ts';
import type { ContentStore } from '../storage/content-store.ts';
import { Journal } from '../roles/journal.ts';
import { DEFAULT_LR, DEFAULT_STEPS } from '../roles/job.ts';
import type { LoadedModel, ModelSource } from '../roles/model.ts';
import { parseListen, startWorkerServer, uploadPolicyFor } from '../roles/server.ts';
import { WorkerStats } from '../roles/stats.ts';
import { runRoleLoop } from '../roles/loop.ts';
import { ChainError, ChainErrorCode } from '../chain/errors.ts';
import { reexecuteSubmission, verifyStep } from '../roles/verify.ts';
import { BaseStates } from '../roles/base-state.ts';
import { initAdapter } from '../model/adapter.ts';
import { stateHash } from '../train/hash.ts';
import type { ModelIdentity } from '../output/metadata.ts';
import { workerBundle } from '../bundle.ts';
import {
  announceLocations, corpusChunk, DEFAULT_HOME, DEFAULT_NODE, formatError, openStore, parseAnnounce, parseUint, readChunkFile, readFileOrCid,
  type StoreOptions, withAnnouncedLocations,
} from './common.ts';
import { ProgressBar } from './progress.ts';
import type { ChunkTokens } from '../data/chunk.ts';
import { type DatasetChain, type WindowChunk, windowChunks } from '../data/window-chunks.ts';
import { writeFile } from 'node:fs/promises';
import { cidOf } from '../storage/cid.ts';
import { addPocCheckCommand, addPocCommand, pocMinerOnDevices, trainBackendOnDevices } from './poc.ts';
import { defaultThreads, MAX_THREADS } from '../train/pool.ts';

const log = (line: string) => process.stderr.write(`${line}\n`);
/** One chunk source per chain connection, so a role loop's passes share its opened datasets and shards. */
const chunkSources = new WeakMap<object, WindowChunk>();
const chunksFor = (chain: DatasetChain, store: ContentStore): WindowChunk => {
  let source = chunkSources.get(chain);
  if (source === undefined) chunkSources.set(chain, (source = windowChunks(chain, store)));
  return source;
};
/** A call to the node whose connection broke, about to be tried again on a fresh one. */
const retryLog = (what: string, attempt: number, error: string, waitMs: number) => log(`node: ${what} failed (${error}); retry ${attempt} in ${waitMs} ms`);
const print = (value: unknown) =>
  process.stdout.write(`${JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? bytesToHex(v) : v), 2)}\n`);

const nodeOption = () => new Option('--node <url>', 'CometBFT RPC of a node').default(DEFAULT_NODE);
const homeOption = () => new Option('--home <dir>', 'home directory: keyring-<backend>/ (as r3mesd keys) and worker/ (journal, checkpoints, store)').default(DEFAULT_HOME);
const keyOption = () => new Option('--key <name>', 'key name in the keyring').makeOptionMandatory();
const keyringOption = () => new Option('--keyring-backend <backend>', "'file' (passphrase from $R3MES_KEYRING_PASSPHRASE) or 'test'").choices(['file', 'test']).default('file');
const backendOption = (def = 'auto') => new Option('--backend <backend>', 'cpu, webgpu or auto').choices(BACKEND_CHOICES as string[]).default(def);
const threadsOption = () => new Option('--threads <n>', 'CPU backend: compute threads; a step splits the chunk\'s sequences between them (the same bytes for any count)').default(String(defaultThreads()), 'the available cores');
/** --threads: 1..MAX_THREADS. */
const parseThreads = (text: string): number => {
  const n = parseUint(text, '--threads', MAX_THREADS);
  if (n < 1) throw new Error('--threads must be at least 1');
  return n;
};
const storeOptions = (c: Command) =>
  c.option('--store <dir>', 'embedded blockstore directory (default <home>/worker/store)')
    .option('--ipfs-api <url>', 'use a Kubo RPC endpoint instead of the embedded store')
    .option('--gateway <url>', 'read (and write) through another worker\'s gateway');

interface StoreOpts extends StoreOptions { home?: string }
const ANNOUNCE_HELP = 'comma-separated places where this key\'s content can be fetched: http(s) gateway URLs (e.g. this worker\'s --gateway-listen, as others reach it) and Kubo multiaddrs ending /p2p/<peer id>; sent once as MsgSetContentLocations when the chain lists something else ("" removes them). Every chain-reading role falls back to the announced locations for a CID its own store lacks';
const storeFrom = (o: StoreOpts) => openStore(o, o.home ? join(o.home, 'worker', 'store') : undefined);

/** Checks a --model file is readable safetensors before anything else happens. */
async function readModelFile(path: string | undefined): Promise<Uint8Array | undefined> {
  if (path === undefined) return undefined;
  const { bytes } = await readFileOrCid(path);
  try {
    decodeSafetensors(bytes);
  } catch (cause) {
    throw new Error(`model file ${path} is corrupt: ${(cause as Error).message}`, { cause });
  }
  return bytes;
}

async function modelFor(identity: ModelIdentity, source: ModelSource): Promise<LoadedModel> {
  const { loadModel } = await import('../roles/model.ts');
  return loadModel(identity, source);
}
/** Where model directories fetched from the store are kept. */
const modelCache = (home: string) => join(home, 'worker', 'models');
const MODEL_DIR_HELP = 'model directory (Hugging Face layout) of a model version that names one by manifest_cid: checked against the version\'s manifest CID and architecture hash (default: fetched by CID from the store into <home>/worker/models)';

/** Errors no retry can fix, which end a long-running role: the key is gone from the keyring. */
const isFatal = (err: unknown) => err instanceof ChainError && err.code === ChainErrorCode.KeyUnavailable;

/** The chain side (CosmJS, the app's registry) is loaded only by commands that talk to a node. */
const chainModules = async () => ({
  ...(await import('../chain/client.ts')),
  ...(await import('../chain/keys.ts')),
  ...(await import('../roles/model.ts')),
  ...(await import('../roles/train.ts')),
  ...(await import('../roles/aggregate.ts')),
  ...(await import('../roles/challenge.ts')),
  ...(await import('../roles/arbitrate.ts')),
});

function progressHook(label: string, stats?: WorkerStats) {
  const bar = new ProgressBar(label);
  return (s: number, n: number, tokens: number, seconds: number) => {
    const tps = seconds > 0 ? tokens / seconds : 0;
    if (stats) stats.tokensPerSecond = tps;
    bar.update(s, n, tps);
  };
}

export interface ProgramIo {
  writeOut?: (s: string) => void;
  writeErr?: (s: string) => void;
  /** throw a CommanderError instead of exiting (for tests) */
  exitOverride?: boolean;
}

/** This package's version (the bundle's, or package.json beside src/ in the repository and once installed). */
function workerVersion(): string {
  const bundle = workerBundle();
  if (bundle) return bundle.version;
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/** `train --offline`: one job from the initial adapter, no chain (roles/offline.ts). */
async function trainOffline(o: {
  home: string; backend: BackendChoice; steps: string; lr: string; model?: string; modelDir?: string; modelVersionFile?: string; chunkFile?: string;
  seqLen?: string; rank: string; alpha?: string; targets: string; json?: boolean; once?: boolean; key?: string; cheat?: boolean | string; gatewayListen?: string; listen?: string; devices?: string; announce?: string;
}): Promise<void> {
  for (const [flag, given] of [['--key', o.key], ['--once', o.once], ['--cheat', o.cheat], ['--gateway-listen', o.gatewayListen], ['--listen', o.listen], ['--devices', o.devices], ['--announce', o.announce]] as const) {
    if (given !== undefined) throw new Error(`train --offline: ${flag} is for mining on a chain`);
  }
  const steps = parseUint(o.steps, '--steps', 1024);
  if (steps < 1) throw new Error('--steps must be at least 1');
  const lr = parseUint(o.lr, '--lr', 65536);
  if (!o.chunkFile) throw new Error('train --offline: give --chunk-file FILE');
  const { readModelVersionFile } = await import('../serve/head.ts');
  const { identityOfVersion, loadModel } = await import('../roles/model.ts');
  const { offlineTrain, readOfflineChunk, versionOfDirectory } = await import('../roles/offline.ts');
  const { statSync } = await import('node:fs');
  // --model in offline mode: a model version JSON, or a model directory; else (with a version file) a backbone file.
  let versionFile = o.modelVersionFile;
  let modelDir = o.modelDir;
  let modelPath = o.model;
  if (modelPath !== undefined && versionFile === undefined) {
    if (statSync(modelPath, { throwIfNoEntry: false })?.isDirectory()) {
      if (modelDir !== undefined) throw new Error('train --offline: give --model DIR or --model-dir DIR, not both');
      modelDir = modelPath;
    } else {
      versionFile = modelPath;
    }
    modelPath = undefined;
  }
  let version;
  if (versionFile !== undefined) {
    version = await readModelVersionFile(versionFile);
  } else if (modelDir !== undefined) {
    version = await versionOfDirectory(modelDir, {
      seqLen: o.seqLen !== undefined ? parseUint(o.seqLen, '--seq-len', 4096) : undefined,
      rank: parseUint(o.rank, '--rank', 4096), alpha: o.alpha !== undefined ? parseUint(o.alpha, '--alpha', 65536) : undefined,
      targets: o.targets.split(',').map((x) => x.trim()),
    });
  } else {
    throw new Error('train --offline: name the model: --model VERSION.json | DIR, --model-version-file FILE, or --model-dir DIR');
  }
  const model = await loadModel(identityOfVersion(version), { modelFile: await readModelFile(modelPath), modelDir, cacheDir: join(o.home, 'worker', 'models') });
  const chunk = await readOfflineChunk(o.chunkFile, model.identity.cfg.vocab, model.identity.cfg.seqLen);
  const backend = await chooseBackend(o.backend);
  try {
    log(`train --offline: ${steps} step(s) on ${chunk.length} tokens of ${o.chunkFile} (${model.backbone.cfg.nLayers} layers, d_model ${model.backbone.cfg.dModel}, vocab ${model.backbone.cfg.vocab}) on ${backend.adapter}`);
    const r = await offlineTrain(model, chunk, steps, lr, backend, progressHook('train'));
    if (o.json) {
      print(r);
      return;
    }
    const lines = [`backbone ${r.backbone}`, ...(r.chunkHash ? [`chunk ${r.chunkHash}`] : []), ...r.stateHashes.map((h, s) => `state ${s} ${h}${s > 0 ? ` loss_sum_q16 ${r.lossSumsQ16[s - 1]}` : ''}`), `trace_root ${r.traceRoot}`, `gradient_hash ${r.gradientHash}`];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    backend.close();
  }
}

export function buildProgram(io: ProgramIo = {}): Command {
  const program = new Command('r3mes-worker')
    .description('R3MES worker: deterministic integer BitNet b1.58 + LoRA training, verification and aggregation')
    .version(workerVersion(), '-v, --version', 'print the version')
    .showHelpAfterError()
    .configureOutput({ writeOut: io.writeOut ?? ((s) => process.stdout.write(s)), writeErr: io.writeErr ?? ((s) => process.stderr.write(s)) });
  // Set before the commands are added: subcommands inherit both.
  if (io.exitOverride) program.exitOverride();

  // ---- train -------------------------------------------------------------------------------
  storeOptions(program.command('train')
    .description('mine: follow the windows, train the assigned chunk, publish the delta, send MsgSubmitGradient (never twice); or --offline: one job without a chain, printing its hashes')
    .addOption(nodeOption()).addOption(homeOption()).addOption(new Option('--key <name>', 'key name in the keyring (required unless --offline)')).addOption(keyringOption()).addOption(backendOption())
    .option('--gateway-listen <host:port>', 'serve /ipfs/{cid}, /stats, /health and /metrics while mining')
    .option('--listen <host:port>', 'serve /stats, /health and /metrics (Prometheus) while mining, without the content store')
    .option('--once', 'handle one window, then exit')
    .option('--steps <n>', 'training steps per chunk', String(DEFAULT_STEPS))
    .option('--lr <q16>', 'learning rate, Q16 units per sign step', String(DEFAULT_LR))
    .option('--per-window <n>', 'submissions per window', '1')
    .option('--model <file>', "backbone file, for a model version that names one by CID (checked against it)")
    .option('--model-dir <dir>', MODEL_DIR_HELP)
    .option('--poll-ms <ms>', 'how often to look at the chain', '3000')
    .option('--announce <locations>', ANNOUNCE_HELP)
    .option('--devices <list>', 'train data-parallel on several WebGPU devices: "all" or ids like 0,1 (same bytes as one device)')
    .addOption(threadsOption())
    .option('--cheat [mode]', 'DEMO ONLY: "delta" (the default): tamper the delta before upload (consistent CID and hash); "middle-step": tamper the state after the middle step of the job and train on from it (a consistent trace with one wrong step; a bisection narrows to it). Re-execution exposes either')
    .option('--offline', 'no chain: train --steps N on --chunk-file from the initial adapter and print every state hash, the trace root and the gradient hash. The model: --model VERSION.json (or --model-version-file; a model version as serve-model reads it, with --model FILE for a backbone file or --model-dir DIR for a model directory), or --model-dir DIR alone (a version derived from the directory: --seq-len, --rank, --alpha, --targets)')
    .option('--model-version-file <file>', 'offline: the model version (JSON: number, architecture, lora, and backboneSeed | modelCid | manifestCid + architectureHash)')
    .option('--chunk-file <file>', 'offline: the tokens; bytes for a vocabulary ≤ 256, else uint32 LE ids; any positive multiple of seq_len')
    .option('--seq-len <n>', 'offline with --model-dir alone: tokens per sequence (default: the largest power of two ≤ min(2048, max_position_embeddings))')
    .option('--rank <r>', 'offline with --model-dir alone: LoRA rank', '16')
    .option('--alpha <a>', 'offline with --model-dir alone: LoRA alpha (default: the rank)')
    .option('--targets <list>', 'offline with --model-dir alone: LoRA targets, comma-separated of q,k,v,o,gate,up,down', 'q,k,v,o')
    .option('--json', 'offline: print one JSON object (default: one line per hash)'))
    .action(async (o: StoreOpts & {
      node: string; home: string; key: string; keyringBackend: KeyringBackend; backend: BackendChoice; gatewayListen?: string; listen?: string;
      once?: boolean; steps: string; lr: string; perWindow: string; model?: string; modelDir?: string; pollMs: string; cheat?: boolean | string; announce?: string; devices?: string;
      offline?: boolean; modelVersionFile?: string; chunkFile?: string; seqLen?: string; rank: string; alpha?: string; targets: string; json?: boolean;
      threads: string;
    }) => {
      if (o.offline) return trainOffline(o);
      for (const [flag, given] of [['--model-version-file', o.modelVersionFile], ['--chunk-file', o.chunkFile], ['--seq-len', o.seqLen], ['--alpha', o.alpha], ['--json', o.json]] as const) {
        if (given !== undefined) throw new Error(`train: ${flag} is for --offline`);
      }
      if (o.key === undefined) throw new Error("train: required option '--key <name>' not specified (or --offline)");
      const threads = parseThreads(o.threads);
      const announce = o.announce !== undefined ? parseAnnounce(o.announce) : undefined;
      const steps = parseUint(o.steps, '--steps', 1024);
      const lr = parseUint(o.lr, '--lr', 65536);
      const perWindow = parseUint(o.perWindow, '--per-window', 10_000);
      const pollMs = parseUint(o.pollMs, '--poll-ms', 3_600_000);
      if (steps < 1 || perWindow < 1) throw new Error('--steps and --per-window must be at least 1');
      if (o.gatewayListen !== undefined && o.listen !== undefined) throw new Error('give --gateway-listen (store, /stats, /metrics) or --listen (/stats, /metrics only), not both');
      if (o.listen !== undefined) parseListen(o.listen);
      const onDevices = o.devices === undefined ? undefined : await trainBackendOnDevices(o.devices, o.backend, log);
      const backend = onDevices?.backend ?? await chooseBackend(o.backend, { threads });
      const modelFile = await readModelFile(o.model);
      const { store: ownStore, describe } = await storeFrom(o);
      const { openSigner, RpcChainReader, RpcChainWriter, mineOnce, identityOfVersion, DEFAULT_RETRY } = await chainModules();
      const { signer, address } = await openSigner(o.home, o.key, o.keyringBackend);
      const chain = await RpcChainReader.connect(o.node);
      const writer = await RpcChainWriter.connect(o.node, signer, { retry: { ...DEFAULT_RETRY, onRetry: retryLog } });
      if (announce) await announceLocations(chain, writer, announce, log);
      const store = withAnnouncedLocations(ownStore, chain, announce ?? [], log);
      const stats = new WorkerStats();
      Object.assign(stats, { role: 'train', backend: backend.name, adapter: backend.adapter, address, status: 'running' });
      onDevices?.attach(stats);
      const server = o.gatewayListen ? await startWorkerServer(o.gatewayListen, { store: ownStore, stats })
        : o.listen ? await startWorkerServer(o.listen, { stats }) : undefined;
      if (server) log(`serving ${o.gatewayListen ? `${describe}, ` : ''}/stats, /health and /metrics at ${server.address}`);
      const journal = await Journal.open(join(o.home, 'worker', 'journal.json'));
      const { DutyJournal } = await import('../roles/verify.ts');
      const { bisectPass } = await import('../roles/bisect.ts');
      const bisectJournal = await DutyJournal.open(join(o.home, 'worker', 'bisect-journal.json'));
      const bases = new BaseStates(chain, store);
      const models = new Map<bigint, LoadedModel>();
      log(`mining as ${address} on ${backend.adapter}; store: ${describe}`);
      try {
        const loop = await runRoleLoop({
          name: 'train', once: false, pollMs, stats, log, formatError,
          // --once: stop after the first window handled; its error ends the command (exit 1).
          isFatal: (err) => o.once === true || isFatal(err),
          stopAfter: (outcome) => o.once === true && outcome.kind !== 'no-window' && outcome.kind !== 'in-flight',
          pass: async () => {
            // First the bisection rounds of disputes on this miner's submissions: each has a deadline.
            await bisectPass({
              chain, writer, store, journal: bisectJournal, backend, bases, log, chunkAt: chunksFor(chain, store), jobsDir: join(o.home, 'worker', 'jobs'),
              loadModel: async (v) => {
                let m = models.get(v);
                if (!m) models.set(v, (m = await modelFor(identityOfVersion(await chain.modelVersion(v)), { modelFile, modelDir: o.modelDir, store, cacheDir: modelCache(o.home) })));
                return m;
              },
            });
            const outcome = await mineOnce({
              chain, writer, store, journal, backend, steps, lr, perWindow, stats, log, cheat: cheatMode(o.cheat), bases,
              workDir: join(o.home, 'worker', 'jobs'), chunkAt: chunksFor(chain, store),
              loadModel: async (v) => {
                let m = models.get(v);
                if (!m) models.set(v, (m = await modelFor(identityOfVersion(await chain.modelVersion(v)), { modelFile, modelDir: o.modelDir, store, cacheDir: modelCache(o.home) })));
                return m;
              },
              onStep: progressHook('train', stats),
            });
            if (outcome.kind !== 'no-window') stats.status = outcome.kind;
            return outcome;
          },
        });
        if (loop.stoppedBy === 'stopAfter') print(loop.last);
      } finally {
        await server?.app.close();
        chain.disconnect();
        writer.disconnect();
        backend.close();
      }
    });

  /** `--cheat` → undefined (honest), 'delta' or 'middle-step'. */
  function cheatMode(value: boolean | string | undefined): 'delta' | 'middle-step' | undefined {
    if (value === undefined || value === false) return undefined;
    if (value === true || value === 'delta') return 'delta';
    if (value === 'middle-step') return 'middle-step';
    throw new Error(`--cheat must be "delta" or "middle-step", got "${value}"`);
  }

  // ---- verify / arbitrate --------------------------------------------------------------------
  const reexec = (name: 'verify' | 'arbitrate', description: string) =>
    storeOptions(program.command(name).description(description)
      .addOption(backendOption(name === 'arbitrate' ? 'cpu' : 'auto'))
      .addOption(threadsOption())
      .option('--step <k>', 're-execute only step K from the checkpoint of step K−1 (--state)')
      .option('--state <file|cid>', 'state checkpoint of step K−1')
      .option('--trace <file|cid>', 'expected trace: a trace JSON or an adapter delta file')
      .option('--delta <file|cid>', 're-execute the whole job behind an adapter delta file')
      .option('--submission <id>', 're-execute a submission on chain (fetches its delta by CID; its chunk from the window\'s dataset)')
      .option('--chunk-index <n>', 'chunk of the Brown train split, or of --dataset (default: the one the file names)')
      .option('--chunk-file <file>', 'the chunk: 2048 bytes (byte tokens) or 8192 bytes (2048 uint32 LE token ids)')
      .option('--dataset <dir>', 'the dataset directory the chunk index refers to (default: the Brown corpus); for windows of another dataset')
      .option('--model <file>', 'backbone file, for a model that names one by CID')
      .option('--model-dir <dir>', MODEL_DIR_HELP)
      .addOption(new Option('--key <name>', `duty mode: poll for the ${name === 'verify' ? 'L1 checks and L2 answers' : 'L3 panel seats'} drawn to this key, re-execute, send the result`))
      .addOption(keyringOption())
      .option('--once', 'duty mode: one pass, print the outcomes, exit')
      .option('--poll-ms <ms>', 'duty mode: how often to look at the chain', '3000')
      .option('--listen <host:port>', 'duty mode: serve /stats, /health and /metrics (Prometheus)')
      .addOption(nodeOption()).addOption(homeOption()))
      .action(async (o: StoreOpts & {
        backend: BackendChoice; step?: string; state?: string; trace?: string; delta?: string; submission?: string;
        chunkIndex?: string; chunkFile?: string; dataset?: string; model?: string; modelDir?: string; node: string; home: string;
        key?: string; keyringBackend: KeyringBackend; once?: boolean; pollMs: string; listen?: string; threads: string;
      }) => {
        const threads = parseThreads(o.threads);
        if (name === 'arbitrate' && o.backend !== 'cpu') throw new Error('arbitrate re-executes on the CPU reference only (L3); --backend webgpu/auto is refused');
        const modes = [o.step !== undefined, o.delta !== undefined, o.submission !== undefined, o.key !== undefined].filter(Boolean).length;
        if (modes !== 1) throw new Error(`${name}: give exactly one of --key NAME (duties), --step K (with --state), --delta FILE|CID, --submission ID`);
        if (o.listen !== undefined && o.key === undefined) throw new Error(`${name}: --listen serves the duty mode's /stats and /metrics; it needs --key NAME`);
        if (o.listen !== undefined) parseListen(o.listen);
        const backend: TrainBackend = await chooseBackend(o.backend, { threads });
        const modelFile = await readModelFile(o.model);
        const { store: ownStore, describe } = await storeFrom(o);
        const store = ownStore; // offline modes: the store given
        if (o.key !== undefined) {
          const pollMs = parseUint(o.pollMs, '--poll-ms', 3_600_000);
          const { openSigner, RpcChainReader, RpcChainWriter, identityOfVersion, DEFAULT_RETRY } = await chainModules();
          const { DutyJournal, dutyPass } = await import('../roles/verify.ts');
          const { bisectPass } = await import('../roles/bisect.ts');
          const { MissedDuties } = await import('../roles/missed-duties.ts');
          const { signer, address } = await openSigner(o.home, o.key, o.keyringBackend);
          const stats = new WorkerStats();
          Object.assign(stats, { role: name, backend: backend.name, adapter: backend.adapter, address, status: 'running' });
          const missed = new MissedDuties(stats);
          const server = o.listen ? await startWorkerServer(o.listen, { stats }) : undefined;
          if (server) log(`serving /stats, /health and /metrics at ${server.address}`);
          const chain = await RpcChainReader.connect(o.node);
          const writer = await RpcChainWriter.connect(o.node, signer, { retry: { ...DEFAULT_RETRY, onRetry: retryLog } });
          const journal = await DutyJournal.open(join(o.home, 'worker', 'verify-journal.json'));
          const { PocFileJournal, pocArbitratePass, pocVerifyPass, threadDistances } = await import('../roles/poc.ts');
          const pocJournal = await PocFileJournal.open(join(o.home, 'worker', `poc-${name}-journal.json`));
          const store = withAnnouncedLocations(ownStore, chain, [], log);
          const bases = new BaseStates(chain, store);
          const models = new Map<bigint, LoadedModel>();
          log(`${name} duties as ${address} on ${backend.adapter}; store: ${describe}`);
          try {
            const loop = await runRoleLoop({
              name, once: o.once === true, pollMs, stats, log, formatError, isFatal, idleStatus: 'running',
              pass: async () => {
                const loadModel = async (v: bigint) => {
                  let m = models.get(v);
                  if (!m) models.set(v, (m = await modelFor(identityOfVersion(await chain.modelVersion(v)), { modelFile, modelDir: o.modelDir, store, cacheDir: modelCache(o.home) })));
                  return m;
                };
                const outcomes = await dutyPass({
                  chain, writer, store, journal, backend, role: name, chunkAt: chunksFor(chain, store), log, onStep: progressHook(name), bases, stats, missed, loadModel,
                });
                // A flagging L1 verifier disputes the miner's trace in a bisection (verification README "Bisection").
                if (name === 'verify') await bisectPass({ chain, writer, store, journal, backend, bases, log, chunkAt: chunksFor(chain, store), loadModel });
                // Proof-of-Compute duties of this key (modules/poc README): sampled claims and traps, committed then revealed (verify); disputes (arbitrate).
                const poc = { chain, writer, journal: pocJournal, distances: threadDistances, log };
                if (name === 'verify') await pocVerifyPass(poc);
                else await pocArbitratePass(poc);
                return outcomes;
              },
            });
            if (o.once) print(loop.last);
            return;
          } finally {
            await server?.app.close();
            chain.disconnect();
            writer.disconnect();
            backend.close();
          }
        }
        log(`${name}: re-executing on ${backend.adapter}`);
        const chunkOf = async (named?: bigint): Promise<ChunkTokens> => {
          if (o.chunkFile) return readChunkFile(o.chunkFile);
          const index = o.chunkIndex !== undefined ? BigInt(parseUint(o.chunkIndex, '--chunk-index')) : named;
          if (index !== undefined && o.dataset !== undefined) {
            const { ManifestDataset } = await import('../data/dataset.ts');
            const ds = await ManifestDataset.fromDir(o.dataset);
            return ds.manifest.vocab_size > 256 ? ds.chunk(Number(index)) : ds.byteChunk(Number(index));
          }
          if (index !== undefined) return corpusChunk(index);
          throw new Error('name the chunk: --chunk-index N or --chunk-file FILE');
        };
        if (o.step !== undefined) {
          const step = parseUint(o.step, '--step');
          if (step < 1) throw new Error('--step must be at least 1 (step 0 is the initial state)');
          if (!o.state) throw new Error('--step needs --state FILE|CID (the checkpoint of step K−1)');
          const st = await readFileOrCid(o.state, store);
          const checkpoint = await decodeState(st.bytes, { cid: st.cid });
          let expected: Trace | undefined;
          let namedChunk: bigint | undefined;
          if (o.trace) {
            const tr = await readFileOrCid(o.trace, store);
            if (tr.bytes[0] === 0x7b) expected = decodeTrace(new TextDecoder().decode(tr.bytes));
            else {
              const d = await decodeDelta(tr.bytes, { cid: tr.cid });
              expected = { stepHashes: d.info.stepHashes, root: d.traceRoot };
              namedChunk = d.info.chunkIndex;
            }
          }
          const model = await modelFor(checkpoint.model, { modelFile, modelDir: o.modelDir, store, cacheDir: modelCache(o.home) });
          const verdict = await verifyStep({ model, checkpoint, chunk: await chunkOf(namedChunk), step, backend, expected });
          print(verdict);
          if (verdict.match === false) process.exitCode = 3;
          return;
        }
        let deltaBytes: { bytes: Uint8Array; cid?: string };
        let onChain: { gradientHash: Uint8Array; traceRoot: Uint8Array; chunkIndex: bigint } | undefined;
        let windowId: bigint | undefined;
        let windowChunk: ChunkTokens | undefined;
        let chainModel: ModelIdentity | undefined;
        if (o.submission !== undefined) {
          const { RpcChainReader } = await chainModules();
          const chain = await RpcChainReader.connect(o.node);
          try {
            const sub = await chain.submission(BigInt(parseUint(o.submission, '--submission')));
            deltaBytes = await readFileOrCid(sub.gradientCid, store);
            onChain = { gradientHash: sub.gradientHash, traceRoot: sub.traceRoot, chunkIndex: sub.chunkIndex };
            windowId = sub.windowId;
            // The chunk the chain assigned, from the window's dataset (unless --chunk-file/--chunk-index/--dataset say otherwise).
            if (o.chunkFile === undefined && o.chunkIndex === undefined && o.dataset === undefined) windowChunk = await windowChunks(chain, store)(sub.chunkIndex, sub.windowId);
            // The model is the window's version on chain (with its architecture hash), not the file's claim.
            const { identityOfVersion } = await import('../roles/model.ts');
            chainModel = identityOfVersion(await chain.modelVersion((await chain.window(sub.windowId)).modelVersion));
          } finally {
            chain.disconnect();
          }
        } else {
          deltaBytes = await readFileOrCid(o.delta!, store);
        }
        const delta = await decodeDelta(deltaBytes.bytes, { cid: deltaBytes.cid });
        const model = await modelFor(chainModel ?? delta.info.model, { modelFile, modelDir: o.modelDir, store, cacheDir: modelCache(o.home) });
        // The job starts from its window's base. A delta whose first state is the initial adapter
        // needs no chain; any other asks the chain (--node) which window updates make the base.
        let base;
        // (The initial adapter of the file's own lora_seed counts too: a file whose lora_seed is not
        // its backbone's starts from no window base; re-executed, it diverges at step 0.)
        const first = bytesToHex(delta.info.stepHashes[0] ?? new Uint8Array());
        const startsFromInitial = [model.identity.cfg, delta.info.model.cfg].some((c) => bytesToHex(stateHash(0, initAdapter(c))) === first);
        if (!startsFromInitial || windowId !== undefined) {
          const { RpcChainReader } = await chainModules();
          const chain = await RpcChainReader.connect(o.node);
          try {
            const b = await new BaseStates(chain, store).forWindow(windowId ?? delta.info.window, model);
            if (b.windows.length > 0) log(`re-executing from the base of window ${windowId ?? delta.info.window}: updates of windows ${b.windows.join(', ')}`);
            base = b.state;
          } finally {
            chain.disconnect();
          }
        }
        const verdict = await reexecuteSubmission({
          model, delta, chunk: windowChunk ?? await chunkOf(delta.info.chunkIndex), backend, onChain, base, onStep: progressHook(name),
        });
        print({ ...verdict, vote: verdict.match ? 'miner' : 'challenger', note: 'verdict only: use --key NAME to take the duties drawn to a key and send the results' });
        if (!verdict.match) process.exitCode = 3;
      });
  reexec('verify', 'L1/L2: re-execute a submission, a delta file, or one step from a committed state, and compare hashes');
  reexec('arbitrate', 'L3: re-execute on the CPU reference (CPU only) and vote');

  // ---- challenge -----------------------------------------------------------------------------
  program.command('challenge')
    .description('dispute a pending submission (MsgChallenge): bond ≥ challenge_bond_multiplier × the window\'s base reward')
    .addOption(nodeOption()).addOption(homeOption()).addOption(keyOption()).addOption(keyringOption())
    .requiredOption('--submission <id>', 'the submission to challenge')
    .requiredOption('--bond <amount>', 'bond in ur3mes ("5000" or "5000ur3mes")')
    .action(async (o: { node: string; home: string; key: string; keyringBackend: KeyringBackend; submission: string; bond: string }) => {
      const { openSigner, RpcChainWriter, challengeSubmission, parseBond, DEFAULT_RETRY } = await chainModules();
      const submissionId = BigInt(parseUint(o.submission, '--submission'));
      const bond = parseBond(o.bond);
      const { signer } = await openSigner(o.home, o.key, o.keyringBackend);
      const writer = await RpcChainWriter.connect(o.node, signer, { retry: { ...DEFAULT_RETRY, onRetry: retryLog } });
      try {
        const out = await challengeSubmission(writer, submissionId, bond);
        log(`challenged submission ${submissionId} with ${bond}ur3mes → dispute ${out.disputeId ?? '?'} (tx ${out.txhash})`);
        print(out);
      } finally {
        writer.disconnect();
      }
    });

  // ---- watch ---------------------------------------------------------------------------------
  storeOptions(program.command('watch')
    .description('re-execute a share of everyone\'s submissions within their challenge period and challenge mismatches (MsgChallenge with the bond the chain asks)')
    .addOption(nodeOption()).addOption(homeOption()).addOption(keyOption()).addOption(keyringOption()).addOption(backendOption())
    .option('--share <share>', 'share of the submissions to re-execute: percent ("10%", "2.5%") or basis points ("250bps")', '10%')
    .option('--miner <address...>', 'watch only these miners (repeatable; default: every miner)')
    .option('--secret-file <file>', 'the watcher\'s secret that chooses the submissions (created if absent; default <home>/worker/watch-secret)')
    .option('--lookback <n>', 'windows before the current one to look at', '4')
    .addOption(threadsOption())
    .option('--model <file>', 'backbone file, for a model version that names one by CID')
    .option('--model-dir <dir>', MODEL_DIR_HELP)
    .option('--listen <host:port>', 'serve /stats and /health')
    .option('--once', 'one pass, print the outcomes, exit')
    .option('--poll-ms <ms>', 'how often to look at the chain', '3000'))
    .action(async (o: StoreOpts & {
      node: string; home: string; key: string; keyringBackend: KeyringBackend; backend: BackendChoice; share: string; miner?: string[];
      secretFile?: string; lookback: string; model?: string; modelDir?: string; listen?: string; once?: boolean; pollMs: string; threads: string;
    }) => {
      const threads = parseThreads(o.threads);
      const { parseShare, loadWatchSecret, WatchJournal, WatchClock, watchPass } = await import('../roles/watch.ts');
      const shareBps = parseShare(o.share);
      const pollMs = parseUint(o.pollMs, '--poll-ms', 3_600_000);
      const lookbackWindows = parseUint(o.lookback, '--lookback', 1000);
      if (lookbackWindows < 1) throw new Error('--lookback must be at least 1');
      for (const m of o.miner ?? []) if (!/^r3mes1[02-9ac-hj-np-z]{38,}$/.test(m)) throw new Error(`--miner must be an r3mes1… address, got "${m}"`);
      const backend = await chooseBackend(o.backend, { threads });
      const modelFile = await readModelFile(o.model);
      const { store: ownStore, describe } = await storeFrom(o);
      const { openSigner, RpcChainReader, RpcChainWriter, identityOfVersion, DEFAULT_RETRY } = await chainModules();
      const { signer, address } = await openSigner(o.home, o.key, o.keyringBackend);
      const secret = await loadWatchSecret(o.secretFile ?? join(o.home, 'worker', 'watch-secret'));
      const chain = await RpcChainReader.connect(o.node, { retry: { ...DEFAULT_RETRY, onRetry: retryLog } });
      const writer = await RpcChainWriter.connect(o.node, signer, { retry: { ...DEFAULT_RETRY, onRetry: retryLog } });
      const store = withAnnouncedLocations(ownStore, chain, [], log);
      const journal = await WatchJournal.open(join(o.home, 'worker', 'watch-journal.json'));
      const { DutyJournal } = await import('../roles/verify.ts');
      const { bisectPass } = await import('../roles/bisect.ts');
      const bisectJournal = await DutyJournal.open(join(o.home, 'worker', 'bisect-journal.json'));
      const stats = new WorkerStats();
      Object.assign(stats, { role: 'watch', backend: backend.name, adapter: backend.adapter, address, status: 'watching' });
      const server = o.listen ? await startWorkerServer(o.listen, { stats }) : undefined;
      if (server) log(`serving /stats and /health at ${server.address}`);
      const bases = new BaseStates(chain, store);
      const models = new Map<bigint, LoadedModel>();
      const miners = new Set(o.miner ?? []);
      const clock = new WatchClock();
      const told = new Set<string>();
      log(`watching as ${address}: ${shareBps / 100}% of the submissions of ${miners.size > 0 ? [...miners].join(', ') : 'every miner'} on ${backend.adapter}; store: ${describe}`);
      try {
        const loop = await runRoleLoop({
          name: 'watch', once: o.once === true, pollMs, stats, log, formatError, isFatal, idleStatus: 'watching',
          pass: async () => {
            const loadModel = async (v: bigint) => {
              let m = models.get(v);
              if (!m) models.set(v, (m = await modelFor(identityOfVersion(await chain.modelVersion(v)), { modelFile, modelDir: o.modelDir, store, cacheDir: modelCache(o.home) })));
              return m;
            };
            // The challenger disputes the miner's trace in the bisection of its own challenges.
            await bisectPass({ chain, writer, store, journal: bisectJournal, backend, bases, log, chunkAt: chunksFor(chain, store), loadModel });
            return watchPass({
              chain, writer, store, journal, backend, secret, shareBps, miners, clock, lookbackWindows, stats, log, told, bases, chunkAt: chunksFor(chain, store),
              onStep: progressHook('watch', stats), loadModel,
            });
          },
        });
        if (o.once) print(loop.last);
      } finally {
        await server?.app.close();
        chain.disconnect();
        writer.disconnect();
        backend.close();
      }
    });

  // ---- aggregate -----------------------------------------------------------------------------
  storeOptions(program.command('aggregate')
    .description('proposer duty: aggregate the accepted deltas of windows this key was drawn for, commit, then reveal; or --inputs offline')
    .addOption(nodeOption()).addOption(homeOption()).addOption(new Option('--key <name>', 'key name in the keyring')).addOption(keyringOption())
    .option('--rule <rule>', 'median | trimmed-mean:K | krum:F[:M] (worker/SPEC.md §11). Offline (--inputs): default median. Duty mode: the rule comes from the chain\'s training params (aggregation_rule) each window; --rule overrides it, with a warning (a proposer that differs from the others is penalised)')
    .option('--once', 'one pass over the windows, then exit')
    .option('--inputs <files...>', 'offline: aggregate these delta files (in this order)')
    .option('--window <n>', 'offline: window id recorded in the result', '0')
    .option('--out <file>', 'offline: write the aggregate here')
    .option('--poll-ms <ms>', 'how often to look at the chain', '3000')
    .option('--announce <locations>', ANNOUNCE_HELP)
    .option('--fetch-timeout-ms <ms>', 'duty mode: each try to fetch an accepted delta gives up after this long; after 3 tries it is excluded as unavailable (keep 3 × this well inside the commit phase)', '10000')
    .option('--model <file>', 'backbone file, for a model version that names one by CID (the held-out evaluation runs the model)')
    .option('--model-dir <dir>', MODEL_DIR_HELP)
    .addOption(threadsOption()))
    .action(async (o: StoreOpts & {
      node: string; home: string; key?: string; keyringBackend: KeyringBackend; rule?: string; once?: boolean; inputs?: string[]; window: string; out?: string; pollMs: string;
      fetchTimeoutMs: string; announce?: string; model?: string; modelDir?: string; threads: string;
    }) => {
      const threads = parseThreads(o.threads);
      const announce = o.announce !== undefined ? parseAnnounce(o.announce) : undefined;
      const rule = o.rule !== undefined ? parseRule(o.rule) : DEFAULT_RULE;
      if (o.inputs) {
        const inputs = [];
        for (const f of o.inputs) {
          const { bytes, cid } = await readFileOrCid(f);
          const file = await decodeDelta(bytes, { cid });
          inputs.push({ cid: cid ?? (await cidOf(bytes)).toString(), file });
        }
        const agg = await aggregateDeltas(inputs, rule, BigInt(parseUint(o.window, '--window')));
        if (o.out) await writeFile(o.out, agg.bytes);
        print({ cid: agg.cid.toString(), resultHash: bytesToHex(agg.resultHash), rule: ruleName(rule), inputs: inputs.length, selected: agg.result.selected });
        return;
      }
      if (!o.key) throw new Error('aggregate: --key is required (or --inputs for offline aggregation)');
      const pollMs = parseUint(o.pollMs, '--poll-ms', 3_600_000);
      const fetchTimeoutMs = parseUint(o.fetchTimeoutMs, '--fetch-timeout-ms', 3_600_000);
      if (fetchTimeoutMs === 0) throw new Error('--fetch-timeout-ms must be at least 1');
      const { store: ownStore } = await storeFrom(o);
      const { openSigner, RpcChainReader, RpcChainWriter, proposerDuty, heldOutEvaluator, headCheckpointer, identityOfVersion, DEFAULT_RETRY, DEFAULT_FETCH } = await chainModules();
      const fetch = { ...DEFAULT_FETCH, timeoutMs: fetchTimeoutMs };
      const modelFile = await readModelFile(o.model);
      const { signer, address } = await openSigner(o.home, o.key, o.keyringBackend);
      const chain = await RpcChainReader.connect(o.node);
      const writer = await RpcChainWriter.connect(o.node, signer, { retry: { ...DEFAULT_RETRY, onRetry: retryLog } });
      if (announce) await announceLocations(chain, writer, announce, log);
      const store = withAnnouncedLocations(ownStore, chain, announce ?? [], log);
      const journal = await Journal.open(join(o.home, 'worker', 'journal.json'));
      const stats = new WorkerStats();
      Object.assign(stats, { role: 'aggregate', address, status: 'running' });
      const ruleOverride = o.rule !== undefined ? rule : undefined;
      // Proof of Learning: the held-out losses, on the CPU compute thread (off the event loop).
      const models = new Map<bigint, LoadedModel>();
      const bases = new BaseStates(chain, store, log);
      const loadModel = async (v: bigint) => {
        let m = models.get(v);
        if (!m) models.set(v, (m = await modelFor(identityOfVersion(await chain.modelVersion(v)), { modelFile, modelDir: o.modelDir, store, cacheDir: modelCache(o.home) })));
        return m;
      };
      const evaluator = heldOutEvaluator({ bases, evaluate: cpuBackend({ threads }).evaluate, heldoutChunk: windowChunks(chain, store, 'heldout'), log, loadModel });
      // Checkpoints (training README "Checkpoints"): a window that carries one gets it from here.
      const checkpointer = headCheckpointer({ bases, loadModel, store, log });
      if (ruleOverride) log(`warning: --rule ${ruleName(ruleOverride)} overrides the chain's aggregation_rule (training params) in every window; proposers that differ reveal a minority result and are penalised`);
      log(`proposer duty as ${address}, rule ${ruleOverride ? `${ruleName(ruleOverride)} (--rule)` : `from the chain's training params (now ${(await chain.trainingParams()).aggregationRule || 'median'})`}`);
      try {
        const loop = await runRoleLoop({
          name: 'aggregate', once: o.once === true, pollMs, stats, log, formatError, isFatal, idleStatus: 'running',
          pass: () => proposerDuty({ chain, writer, store, journal, ruleOverride, stats, log, fetch, evaluator, checkpointer }),
        });
        if (o.once) print(loop.last);
      } finally {
        chain.disconnect();
        writer.disconnect();
      }
    });

  // ---- serve ---------------------------------------------------------------------------------
  storeOptions(program.command('serve')
    .description('serve the content store over HTTP (GET /ipfs/{cid}, POST /ipfs) with /stats and /health')
    .addOption(homeOption())
    .option('--listen <host:port>', 'address to listen on', '127.0.0.1:4080')
    .option('--upload-token-file <path>', 'uploads need this token (Authorization: Bearer …); required for uploads on a non-loopback address')
    .option('--upload-quota <bytes>', 'bytes all uploads together may add while serving (default: unlimited)'))
    .action(async (o: StoreOpts & { home: string; listen: string; uploadTokenFile?: string; uploadQuota?: string }) => {
      const { store, describe } = await storeFrom(o);
      const stats = new WorkerStats();
      Object.assign(stats, { role: 'serve', status: 'serving' });
      const token = o.uploadTokenFile === undefined ? undefined : readFileSync(o.uploadTokenFile, 'utf8').trim();
      if (token === '') throw new Error(`--upload-token-file ${o.uploadTokenFile} is empty`);
      if (o.uploadQuota !== undefined && !/^\d{1,15}$/.test(o.uploadQuota)) throw new Error(`--upload-quota must be a number of bytes, got "${o.uploadQuota}"`);
      const upload = uploadPolicyFor(parseListen(o.listen).host, { token, quotaBytes: o.uploadQuota === undefined ? undefined : Number(o.uploadQuota) });
      const { address } = await startWorkerServer(o.listen, { store, stats, upload });
      const uploads = upload === false ? 'uploads off (public address, no --upload-token-file)' : `uploads ${upload.token ? 'with a token' : 'open to this machine'}${upload.quotaBytes !== undefined ? `, quota ${upload.quotaBytes} bytes` : ''}`;
      log(`serving ${describe} at ${address} (${uploads})`);
      await new Promise<never>(() => {});
    });

  // ---- serve-model / verify-receipt ---------------------------------------------------------
  storeOptions(program.command('serve-model')
    .description('serve the model head (the active model version + its finalized window updates) with an OpenAI-compatible API and receipts')
    .addOption(nodeOption()).addOption(homeOption()).addOption(backendOption())
    .option('--listen <host:port>', 'address to listen on', '127.0.0.1:8080')
    .option('--model <file>', 'backbone file, for a model version that names one by CID (checked against it)')
    .option('--model-dir <dir>', MODEL_DIR_HELP)
    .option('--model-version-file <file>', 'offline: serve this model version (JSON) with its initial adapter; no chain')
    .option('--tokenizer-config <file>', "the model's tokenizer_config.json: its chat_template renders chat messages (default: the byte-level template)")
    .option('--max-queue <n>', 'requests that may wait while one generates; more get HTTP 429', '16')
    .option('--poll-ms <ms>', 'chain mode: how often to look for newly finalized windows (the head moves between requests)', '10000')
    .option('--cors-origin <origins>', "browser origins allowed to call the API (CORS), comma-separated, e.g. the chain's dashboard http://127.0.0.1:1317; '*' for any", ''))
    .action(async (o: StoreOpts & {
      node: string; home: string; backend: BackendChoice; listen: string; model?: string; modelDir?: string; modelVersionFile?: string; tokenizerConfig?: string; maxQueue: string; pollMs: string; corsOrigin: string;
    }) => {
      const corsOrigins = o.corsOrigin.split(',').map((x) => x.trim()).filter((x) => x !== '');
      for (const origin of corsOrigins) if (origin !== '*' && !/^https?:\/\/[^/\s]+$/.test(origin)) throw new Error(`--cors-origin: ${origin} is not an origin (scheme://host[:port], no path) or '*'`);
      const maxQueue = parseUint(o.maxQueue, '--max-queue', 1_000_000);
      const pollMs = parseUint(o.pollMs, '--poll-ms', 3_600_000);
      parseListen(o.listen);
      const { loadChatTemplate } = await import('../serve/chat.ts');
      const { chooseInference } = await import('../serve/backends.ts');
      const { offlineHead, chainHead } = await import('../serve/head.ts');
      const { buildInferenceServer } = await import('../serve/server.ts');
      const template = await loadChatTemplate(o.tokenizerConfig);
      const modelFile = await readModelFile(o.model);
      const backend = await chooseInference(o.backend);
      let heads;
      let describe = 'none';
      if (o.modelVersionFile) {
        const opened = o.model === undefined && o.modelDir === undefined && (o.store ?? o.ipfsApi ?? o.gateway) !== undefined ? await storeFrom(o) : undefined;
        heads = await offlineHead(o.modelVersionFile, { modelFile, modelDir: o.modelDir, store: opened?.store, cacheDir: modelCache(o.home) });
      } else {
        const opened = await storeFrom(o);
        describe = opened.describe;
        const { RpcChainReader, DEFAULT_RETRY } = await chainModules();
        const chain = await RpcChainReader.connect(o.node, { retry: { ...DEFAULT_RETRY, onRetry: retryLog } });
        heads = chainHead(chain, opened.store, { modelFile, modelDir: o.modelDir, cacheDir: modelCache(o.home) });
      }
      let head = await heads.load();
      const { app } = await buildInferenceServer({ head: () => head, backend, template, maxQueue, log, corsOrigins });
      const { host, port } = parseListen(o.listen);
      const address = await app.listen({ host, port });
      log(`serve-model: ${head.id} (model version ${head.model.identity.version}, base ${head.windows.length === 0 ? 'the initial adapter' : `windows ${head.windows.join(', ')}`}, state ${head.baseStateHash.slice(0, 12)}…) on ${backend.adapter}; chat template ${template.origin}; store: ${describe}`);
      log(`serve-model: OpenAI-compatible API at ${address}/v1 (context ${head.model.identity.cfg.seqLen} tokens, queue ${maxQueue})`);
      let timer: NodeJS.Timeout | undefined;
      if (!o.modelVersionFile) {
        const refresh = async () => {
          try {
            const next = await heads.load();
            if (next !== head) log(`serve-model: the head moved to ${next.id} (windows ${next.windows.join(', ') || 'none'})`);
            head = next;
          } catch (err) {
            log(`serve-model: head refresh failed (${formatError(err)}); still serving ${head.id}`);
          }
          timer = setTimeout(refresh, pollMs);
        };
        timer = setTimeout(refresh, pollMs);
      }
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      clearTimeout(timer);
      await app.close();
      heads.close();
      backend.close();
    });

  storeOptions(program.command('verify-receipt')
    .description('re-run the generation a serve-model receipt names and check its prompt and output hashes (exit 3 on a mismatch)')
    .argument('<receipt>', 'receipt JSON: the receipt, or a whole response / last stream chunk holding r3mes_receipt')
    .option('--prompt <text>', 'the prompt text (completions; for chat: the rendered prompt)')
    .option('--prompt-file <file>', 'the prompt text, from a file')
    .option('--request <file>', 'the whole request body (JSON): the prompt is built as the server builds it (chat: with the chat template)')
    .option('--model <file>', 'backbone file, for a model version that names one by CID')
    .option('--model-dir <dir>', MODEL_DIR_HELP)
    .option('--model-version-file <file>', 'offline: the model version (JSON), for a receipt whose base is the initial adapter')
    .option('--tokenizer-config <file>', "the model's tokenizer_config.json (chat template), as the server was given")
    .addOption(nodeOption()).addOption(homeOption()).addOption(backendOption('cpu')))
    .action(async (receiptPath: string, o: StoreOpts & {
      prompt?: string; promptFile?: string; request?: string; model?: string; modelDir?: string; modelVersionFile?: string; tokenizerConfig?: string; node: string; home: string; backend: BackendChoice;
    }) => {
      const given = [o.prompt, o.promptFile, o.request].filter((x) => x !== undefined).length;
      if (given !== 1) throw new Error('verify-receipt: give exactly one of --prompt TEXT, --prompt-file FILE, --request FILE');
      const { receiptFrom, verifyReceipt } = await import('../serve/verify-receipt.ts');
      const { loadChatTemplate } = await import('../serve/chat.ts');
      const { chooseInference } = await import('../serve/backends.ts');
      const { offlineHead, chainHead } = await import('../serve/head.ts');
      const readJson = (path: string): unknown => {
        try {
          return JSON.parse(readFileSync(path, 'utf8'));
        } catch (cause) {
          throw new Error(`cannot read ${path}: ${(cause as Error).message}`, { cause });
        }
      };
      const receipt = receiptFrom(readJson(receiptPath));
      const prompt = o.request !== undefined ? { request: readJson(o.request) } : { text: o.prompt ?? readFileSync(o.promptFile!, 'utf8') };
      const template = await loadChatTemplate(o.tokenizerConfig);
      const modelFile = await readModelFile(o.model);
      let heads;
      if (o.modelVersionFile) {
        heads = await offlineHead(o.modelVersionFile, { modelFile, modelDir: o.modelDir, store: (o.store ?? o.ipfsApi ?? o.gateway) !== undefined ? (await storeFrom(o)).store : undefined, cacheDir: modelCache(o.home) });
      } else {
        const { store } = await storeFrom(o);
        const { RpcChainReader } = await chainModules();
        heads = chainHead(await RpcChainReader.connect(o.node), store, { modelFile, modelDir: o.modelDir, cacheDir: modelCache(o.home) });
      }
      const backend = await chooseInference(o.backend);
      try {
        const verdict = await verifyReceipt({ receipt, prompt, heads, backend, template });
        print(verdict);
        if (!verdict.match) process.exitCode = 3;
      } finally {
        heads.close();
        backend.close();
      }
    });

  // ---- poc ---------------------------------------------------------------------------------
  addPocCommand(program, { log, print });
  addPocCheckCommand(program, { log, print });
  program.command('poc-mine')
    .description('Proof-of-Compute on chain (modules/poc README): each epoch\'s submission phase, compute this node\'s nonces on the CPU compute thread (SPEC §14) and send the claims below r_target once as MsgSubmitPocBatch; verifiers and arbiters recompute in `verify --key` / `arbitrate --key`')
    .addOption(nodeOption()).addOption(homeOption()).addOption(keyOption()).addOption(keyringOption())
    .option('--count <n>', 'nonces per epoch', '64')
    .option('--node-id <n>', 'this node\'s index among the nodes sharing the nonce space', '0')
    .option('--n-nodes <n>', 'number of nodes sharing the nonce space', '1')
    .option('--poll-ms <ms>', 'how often to look at the chain', '3000')
    .option('--devices <list>', 'compute on WebGPU device groups, as `poc` and `train --devices`: "all" or ids like 0,2,3 (ids past the adapters are further devices of the adapter); each group walks its own nonce iterator; without it, the CPU compute thread')
    .option('--device-memory <mib>', 'memory per device in MiB (with --devices)')
    .option('--micro-batch <n>', 'nonces per command buffer (with --devices)')
    .option('--group-size <n>', 'force groups of 1, 2, 4 or 8 devices (with --devices)')
    .addOption(backendOption('auto'))
    .option('--once', 'one pass, then exit (prints the outcome)')
    .action(async (o: {
      node: string; home: string; key: string; keyringBackend: KeyringBackend; count: string; nodeId: string; nNodes: string; pollMs: string; once?: boolean;
      devices?: string; deviceMemory?: string; microBatch?: string; groupSize?: string; backend: BackendChoice;
    }) => {
      const count = parseUint(o.count, '--count', 1_000_000);
      const nodeId = parseUint(o.nodeId, '--node-id', 1 << 30);
      const nNodes = parseUint(o.nNodes, '--n-nodes', 1 << 30);
      if (count < 1) throw new Error('--count must be at least 1');
      if (nNodes < 1 || nodeId >= nNodes) throw new Error(`--node-id ${nodeId} must be below --n-nodes ${nNodes}`);
      const pollMs = parseUint(o.pollMs, '--poll-ms', 3_600_000);
      const { openSigner, RpcChainReader, RpcChainWriter, DEFAULT_RETRY } = await chainModules();
      const { PocFileJournal, pocMinerPass, threadDistances } = await import('../roles/poc.ts');
      const { signer, address } = await openSigner(o.home, o.key, o.keyringBackend);
      const chain = await RpcChainReader.connect(o.node, { retry: { ...DEFAULT_RETRY, onRetry: retryLog } });
      const writer = await RpcChainWriter.connect(o.node, signer, { retry: { ...DEFAULT_RETRY, onRetry: retryLog } });
      const journal = await PocFileJournal.open(join(o.home, 'worker', 'poc-mine-journal.json'));
      const stats = new WorkerStats();
      Object.assign(stats, { role: 'poc', address, status: 'running' });
      const onDevices = o.devices === undefined ? undefined
        : pocMinerOnDevices({ backend: o.backend, devices: o.devices, deviceMemory: o.deviceMemory, microBatch: o.microBatch, groupSize: o.groupSize }, stats, log);
      log(`PoC mining as ${address}: ${count} nonces an epoch, node ${nodeId} of ${nNodes}${onDevices ? `, on device groups (--devices ${o.devices})` : ', on the CPU compute thread'}`);
      try {
        const loop = await runRoleLoop({
          name: 'poc', once: o.once === true, pollMs, stats, log, formatError, isFatal, idleStatus: 'running',
          pass: () => pocMinerPass({ chain, writer, journal, distances: threadDistances, log }, { nodeId, nNodes, count, mine: onDevices?.mine }),
        });
        if (o.once) print(loop.last);
      } finally {
        onDevices?.close();
        chain.disconnect();
        writer.disconnect();
      }
    });

  // ---- checkpoint export --------------------------------------------------------------------
  const checkpoint = program.command('checkpoint').description('head checkpoints of a model version (training README "Checkpoints")');
  storeOptions(checkpoint.command('export')
    .description('write a head checkpoint as a Hugging Face PEFT LoRA adapter directory: adapter_config.json, adapter_model.safetensors (float32) and adapter_model.int32.safetensors (the exact integers)')
    .option('--cid <cid>', 'the checkpoint\'s CID (fetched from the store, checked against the CID)')
    .option('--file <path>', 'a head-checkpoint file on disk')
    .option('--state-hash <hex>', 'fail unless the tensors hash to this state hash (the chain\'s, from `r3mesd query training checkpoints`)')
    .option('--base-model <name>', 'base_model_name_or_path for adapter_config.json (the Hugging Face name of the backbone, when known)')
    .requiredOption('--out <dir>', 'the directory to write')
    .addOption(homeOption()))
    .action(async (o: StoreOpts & { cid?: string; file?: string; stateHash?: string; baseModel?: string; out: string; home: string }) => {
      if ((o.cid === undefined) === (o.file === undefined)) throw new Error('checkpoint export: give exactly one of --cid CID or --file PATH');
      const { decodeHeadCheckpoint } = await import('../output/head-checkpoint.ts');
      const { writePeftDirectory } = await import('../output/peft-export.ts');
      const { hexToBytes } = await import('@noble/hashes/utils.js');
      const { parseCid } = await import('../storage/cid.ts');
      let bytes: Uint8Array;
      if (o.cid !== undefined) bytes = await (await storeFrom(o)).store.get(parseCid(o.cid));
      else bytes = readFileSync(o.file!);
      const cid = o.cid ?? (await cidOf(bytes)).toString();
      const head = await decodeHeadCheckpoint(bytes, { cid, ...(o.stateHash !== undefined ? { stateHash: hexToBytes(o.stateHash) } : {}) });
      const files = await writePeftDirectory(o.out, head, cid, { baseModel: o.baseModel });
      print({ cid, modelVersion: head.model.version, throughWindow: head.throughWindow, windows: head.windows, stateHash: head.stateHash, files });
    });

  // ---- model inspect ------------------------------------------------------------------------
  const model = program.command('model').description('file-backed models: Hugging Face BitNet checkpoints (src/checkpoint/README.md)');
  model.command('inspect')
    .description('check a BitNet model directory and print its architecture, parameter counts, memory estimates and manifest CID')
    .argument('<dir>', 'model directory: config.json, model.safetensors (or model.safetensors.index.json + shards), tokenizer.json, tokenizer_config.json')
    .option('--json', 'print one JSON object instead of the text report')
    .option('--rank <r>', 'LoRA rank for the adapter parameter count', '16')
    .option('--targets <list>', 'LoRA targets for the count: comma-separated of q,k,v,o,gate,up,down', 'q,k,v,o')
    .option('--manifest-out <file>', 'also write the manifest (canonical JSON; its CID is the manifest CID)')
    .option('--expect <cid>', 'fail (exit 1) unless the directory\'s manifest CID is this one')
    .action(async (dir: string, o: { json?: boolean; rank: string; targets: string; manifestOut?: string; expect?: string }) => {
      const { inspectCheckpoint, formatInspect } = await import('../checkpoint/inspect.ts');
      const { PROJECTIONS } = await import('../checkpoint/loader.ts');
      const rank = Number(parseUint(o.rank, '--rank'));
      if (rank < 1 || rank > 4096) throw new Error(`--rank ${o.rank} is outside 1..4096`);
      const targets = o.targets.split(',').map((t) => t.trim());
      for (const t of targets) {
        if (!(PROJECTIONS as readonly string[]).includes(t)) throw new Error(`--targets: "${t}" is not one of ${PROJECTIONS.join(', ')}`);
      }
      const report = await inspectCheckpoint(dir, rank, [...new Set(targets)] as typeof PROJECTIONS[number][]);
      if (o.manifestOut) await writeFile(o.manifestOut, report.manifestBytes);
      const { manifestBytes: _bytes, ...shown } = report;
      if (o.json) print(shown);
      else process.stdout.write(formatInspect(shown));
      if (o.expect !== undefined && o.expect !== report.manifestCid) {
        const { CheckpointError, CheckpointErrorCode } = await import('../checkpoint/errors.ts');
        throw new CheckpointError(CheckpointErrorCode.CidMismatch, `${dir}: its manifest has CID ${report.manifestCid}, not the expected ${o.expect}`);
      }
    });

  // ---- dataset -----------------------------------------------------------------------------
  const dataset = program.command('dataset').description('build, inspect and publish pre-tokenized datasets (src/data/README.md "Datasets")');
  dataset.command('build')
    .description('tokenize text / JSONL files into a dataset directory: uint32 shards, a held-out split and manifest.json; prints the dataset (manifest) CID')
    .argument('<files...>', 'input files in order: *.jsonl (one JSON object a line, its text field), anything else is one document of UTF-8 text')
    .requiredOption('--tokenizer <dir|file>', "the model's tokenizer.json, or its directory (tokenizer_config.json beside it gives the EOS token); 'bytes' for the byte vocabulary")
    .requiredOption('--out <dir>', 'the dataset directory to write (must be empty or absent)')
    .option('--held-out-permille <n>', 'documents held out per 1000 (by the sha256 of their text)', String(50))
    .option('--shard-tokens <n>', 'tokens per shard file, a multiple of 2048', String(1 << 21))
    .option('--field <name>', 'the JSONL field holding the text', 'text')
    .option('--eos-token <token>', "the document separator token (default: tokenizer_config.json's eos_token)")
    .action(async (files: string[], o: { tokenizer: string; out: string; heldOutPermille: string; shardTokens: string; field: string; eosToken?: string }) => {
      const { buildDataset, BYTE_TOKENIZER } = await import('../data/build.ts');
      const { loadTokenizer } = await import('../data/tokenizer.ts');
      const tokenizer = o.tokenizer === BYTE_TOKENIZER ? BYTE_TOKENIZER : await loadTokenizer(o.tokenizer, { eosToken: o.eosToken });
      const bar = new ProgressBar('dataset build');
      const started = performance.now();
      const result = await buildDataset({
        tokenizer, files, outDir: o.out, field: o.field,
        heldoutPermille: parseUint(o.heldOutPermille, '--held-out-permille', 1000),
        shardTokens: parseUint(o.shardTokens, '--shard-tokens'),
        onProgress: (done, total) => bar.updateCount(done, total, 'bytes'),
      });
      const m = result.manifest;
      print({
        cid: result.cid, dir: o.out, vocabSize: m.vocab_size, tokenizerCid: m.tokenizer?.cid ?? null, separator: m.separator,
        train: { documents: m.train.documents, tokens: m.train.tokens, chunks: m.train.chunks, shards: m.train.shards.length },
        heldout: { documents: m.heldout.documents, tokens: m.heldout.tokens, chunks: m.heldout.chunks, shards: m.heldout.shards.length },
        seconds: Math.round(performance.now() - started) / 1000,
      });
    });
  dataset.command('inspect')
    .description('print a dataset directory\'s manifest summary and check every file against it (size, CID, token range)')
    .argument('<dir>', 'the dataset directory')
    .action(async (dir: string) => {
      const { ManifestDataset } = await import('../data/dataset.ts');
      const ds = await ManifestDataset.fromDir(dir);
      const bar = new ProgressBar('dataset verify');
      await ds.verify((done, total) => bar.updateCount(done, total, 'files'));
      const m = ds.manifest;
      print({
        cid: ds.cid, format: m.format, vocabSize: m.vocab_size, tokenizerCid: m.tokenizer?.cid ?? null, separator: m.separator,
        splitRule: m.split_rule, chunkTokens: m.chunk_tokens, shardTokens: m.shard_tokens,
        train: { documents: m.train.documents, tokens: m.train.tokens, chunks: m.train.chunks, shards: m.train.shards },
        heldout: { documents: m.heldout.documents, tokens: m.heldout.tokens, chunks: m.heldout.chunks, shards: m.heldout.shards },
        verified: true,
      });
    });
  dataset.command('brown')
    .description('write the Brown corpus (the genesis dataset of the byte-level model) as a dataset directory')
    .requiredOption('--out <dir>', 'the dataset directory to write (must be empty or absent)')
    .action(async (o: { out: string }) => {
      const { writeBrownDataset } = await import('../data/brown-dataset.ts');
      print(await writeBrownDataset(o.out));
    });
  storeOptions(dataset.command('publish')
    .description('put a dataset directory (manifest, shards, tokenizer.json) into the content store, checked against its manifest first')
    .argument('<dir>', 'the dataset directory')
    .addOption(homeOption()))
    .action(async (dir: string, o: StoreOpts) => {
      const { publishDataset } = await import('../data/dataset.ts');
      const { store, describe } = await storeFrom(o);
      print({ ...(await publishDataset(dir, store)), store: describe });
    });

  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    process.stderr.write(`${formatError(err)}\n`);
    process.exitCode = 1;
  }
}

