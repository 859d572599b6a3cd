/**
 * `npm run devnet` (through scripts/devnet, which installs what is missing first): a one-machine
 * R3MES network that mines. One node (ABCI app + REST + CometBFT) whose genesis validator is the
 * aggregation proposer, short windows and a tiny model version (CPU training of a chunk takes
 * seconds), the embedded content store behind a gateway, one miner and one aggregator
 * (r3mes-worker). Every process's output goes to <home>/logs/<role>.log; the terminal shows the
 * workers' lines prefixed with their role and one story line per chain event (windows, submissions,
 * aggregation, rewards, supply, verification). Ctrl-C (or SIGTERM) stops every process it started.
 * Metrics: the node's at <REST>/metrics; the miner, one verifier and (--cheater) the watcher run
 * a stats server on a free port (/stats, /health, /metrics), printed in the banner's `metrics` line.
 *
 * Verification: a second genesis validator `verifier` (1% of the voting power, no node of its own:
 * CometBFT goes on with `validator`'s 99%) so that disputes have someone to draw besides whoever
 * is excluded; once the first submission is in, both validator keys run `r3mes-worker verify --key` (L1 checks, L2 answers) and
 * `arbitrate --key` (L3 seats), and `verifier` also runs an aggregator in case it is drawn.
 * --cheater: a second miner `cheater` runs `train --cheat` (a tampered delta only re-execution
 * exposes) and a watcher (key `watcher`) runs `r3mes-worker watch --share 100%`: it re-executes
 * every submission (the honest miner's match) within its challenge period and challenges each
 * mismatch with the bond the chain asks; the dispute goes L2 → L3 → the cheater is slashed and
 * jailed, the watcher gets its bond back plus the bounty (L1 sampling is off in this mode so the
 * challenge, not an L1 flag, opens the dispute). Before L3 the dispute bisects (verification README
 * "Bisection"): the cheater reveals state hashes from its trace, the watcher agrees or disagrees.
 * --cheat-mode delta|middle-step (with --cheater): `delta` (default) tampers the delta, the trace
 * stays honest, so the watcher agrees with the last state and the panel re-executes the whole
 * chunk; `middle-step` tampers the state after the middle step of the job (`train --cheat
 * middle-step`), so the bisection narrows to that step and the panel re-executes just it.
 *
 * --poc: Proof-of-Compute (modules/poc README): every miner also runs `r3mes-worker poc-mine`
 * (32 nonces an epoch of the template's small PoC model, a few CPU-seconds); the validators'
 * `verify --key` commit and reveal the sampled claims and traps, and at each epoch's end the
 * miners' claims become compute weight: more chunks per window than a miner without it.
 * Flags: --keep (restart on the existing state), --home DIR (default .devnet), --rpc-port,
 * --rest-port, --abci-port, --p2p-port, --gateway-port, --model-port (the model API, default 8080), --block-time (CometBFT timeout_commit,
 * default 1s), --window-blocks (default 20; ≥ 19 so that the template's 45/6/6-block challenge, commit and
 * reveal periods fit in 3 windows), --verbose (node output on the terminal too), --cheater,
 * --backend cpu|webgpu|auto (the miners' training backend, default cpu; the verifiers use auto:
 * a hardware GPU when there is one, else the CPU — the bytes are the same either way).
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { cpSync, createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, type WriteStream } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { readGenesis, writeGenesis } from '../genesis/file.ts';
import { addGenesisValidator } from '../genesis/validator.ts';
import { readValidatorKeys } from '../app/node/validator-keys.ts';
import { nodeHome } from '../app/node/home.ts';
import { buildModules } from '../app/modules.ts';
import { validateAppState } from '../genesis/app-state.ts';
import { applyDevnetTemplate, DEVNET_ARCHITECTURE } from '../genesis/devnet.ts';

const ROOT = resolve(import.meta.dirname, '..');
const R3MESD = join(ROOT, 'bin', 'r3mesd');
const WORKER = join(ROOT, 'worker', 'bin', 'r3mes-worker');
const CHAIN_ID = 'r3mes-devnet-1';
const DENOM = 'ur3mes';
const FUNDS = 1_000_000_000_000n; // per key: 1,000,000 R3MES
const SELF_STAKE = 100_000_000_000n;
const VERIFIER_STAKE = 1_000_000_000n; // 1% of the voting power: the chain never waits for it
const MINER_STAKE = 1_000_000n;
const ROLES = ['validator', 'miner', 'verifier', 'cheater', 'watcher'] as const;
type Role = (typeof ROLES)[number];
/** A model version CPU training handles in seconds: 2 layers of width 64, 64-token sequences. */

// ---- flags ---------------------------------------------------------------------------------
interface Options {
  keep: boolean; verbose: boolean; cheater: boolean; poc: boolean; cheatMode: 'delta' | 'middle-step'; home: string; rpcPort: number; restPort: number; abciPort: number; p2pPort: number;
  gatewayPort: number; modelPort: number; blockTime: string; windowBlocks: number;
  /** the miners' training backend: cpu (default; the devnet's timings assume it), webgpu or auto */
  backend: 'cpu' | 'webgpu' | 'auto';
}
function parseArgs(argv: string[]): Options {
  const o: Options = {
    keep: false, verbose: false, cheater: false, poc: false, cheatMode: 'delta', home: join(ROOT, '.devnet'), rpcPort: 26657, restPort: 1317, abciPort: 26658, p2pPort: 26656,
    gatewayPort: 4080, modelPort: 8080, blockTime: '1s', windowBlocks: 0, backend: 'cpu',
  };
  const ports: Record<string, keyof Options> = {
    '--rpc-port': 'rpcPort', '--rest-port': 'restPort', '--abci-port': 'abciPort', '--p2p-port': 'p2pPort', '--gateway-port': 'gatewayPort', '--model-port': 'modelPort', '--window-blocks': 'windowBlocks',
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) fail(`${arg} needs a value`);
      return v!;
    };
    if (arg === '--keep') o.keep = true;
    else if (arg === '--verbose') o.verbose = true;
    else if (arg === '--cheater') o.cheater = true;
    else if (arg === '--poc') o.poc = true;
    else if (arg === '--cheat-mode') {
      const v = value();
      if (v !== 'delta' && v !== 'middle-step') fail(`--cheat-mode must be delta or middle-step, got "${v}"`);
      o.cheatMode = v as Options['cheatMode'];
    }
    else if (arg === '--home') o.home = resolve(value());
    else if (arg === '--block-time') o.blockTime = value();
    else if (arg === '--backend') {
      const v = value();
      if (v !== 'cpu' && v !== 'webgpu' && v !== 'auto') fail(`--backend must be cpu, webgpu or auto, got "${v}"`);
      o.backend = v as Options['backend'];
    }
    else if (arg in ports) {
      const v = value();
      if (!/^[1-9][0-9]*$/.test(v)) fail(`${arg} must be a positive integer, got "${v}"`);
      (o as unknown as Record<string, number>)[ports[arg]!] = Number(v);
    } else if (arg === '-h' || arg === '--help') {
      process.stdout.write(`${readFileSync(import.meta.filename, 'utf8').split('*/')[0]!.replace(/^\/\*\*\n/, '').replace(/^ \* ?/gm, '')}\n`);
      process.exit(0);
    } else fail(`unknown option ${arg} (see --help)`);
  }
  if (o.windowBlocks === 0) o.windowBlocks = 20; // two miners and the duties share the CPU
  return o;
}
function fail(message: string): never {
  process.stderr.write(`devnet: ${message}\n`);
  process.exit(2);
}

// ---- output ----------------------------------------------------------------------------------
const COLORS: Record<string, string> = {
  node: '90', serve: '36', miner: '33', aggregator: '35', story: '1;32', devnet: '1', cheater: '31', watcher: '1;31',
  verifier: '34', arbiter: '34', 'val-verify': '34', 'val-arbit': '34', 'ver-aggr': '35',
};
const useColor = Boolean(process.stdout.isTTY) && process.env.NO_COLOR === undefined;
function say(role: string, line: string): void {
  const tag = role.padEnd(10);
  process.stdout.write(useColor ? `\x1b[${COLORS[role] ?? '0'}m${tag}\x1b[0m ${line}\n` : `${tag} ${line}\n`);
}
const story = (line: string) => say('story', line);
/** A Q16 loss (worker/SPEC.md §4.8) as nats per byte, for the story lines. */
const nats = (q16: string | undefined) => (Number(q16 ?? '0') / 65536).toFixed(4);
const r3mes = (amount: bigint) => {
  const whole = amount / 1_000_000n;
  const frac = (amount % 1_000_000n).toString().padStart(6, '0').replace(/0+$/, '');
  return `${whole}${frac ? `.${frac}` : ''} R3MES`;
};

// ---- processes -------------------------------------------------------------------------------
const children: Array<{ role: string; child: ChildProcess }> = [];
let stopping = false;
const cleanEnv = (): NodeJS.ProcessEnv => {
  const { NODE_OPTIONS: _drop, ...env } = process.env; // tap's loader would cost every child a second
  return env;
};

/** on exit: 'stop' the devnet (default), 'ignore' it, or 'restart' the process (duties: their journal never signs twice). */
function startProcess(role: string, command: string, args: string[], logDir: string, show: (line: string) => boolean, onExit: 'stop' | 'ignore' | 'restart' = 'stop'): ChildProcess {
  const log: WriteStream = createWriteStream(join(logDir, `${role}.log`), { flags: 'a' });
  const child = spawn(command, args, { cwd: ROOT, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  children.push({ role, child });
  for (const stream of [child.stdout!, child.stderr!]) {
    let rest = '';
    stream.on('data', (data: Buffer) => {
      log.write(data);
      const lines = (rest + data.toString('utf8')).split(/\r?\n|\r/);
      rest = lines.pop() ?? '';
      for (const line of lines) if (line.trim() !== '' && show(line)) say(role, line);
    });
  }
  child.on('exit', (code, signal) => {
    log.end();
    // Ctrl-C in a terminal signals the whole process group: the children may exit before this
    // process handles its own SIGINT, so an exit is called unexpected only a moment later.
    setTimeout(() => {
      if (stopping) return;
      if (onExit === 'ignore') {
        say('devnet', `${role} exited (${signal ?? `code ${code}`}); the rest of the devnet goes on (see ${join(logDir, `${role}.log`)})`);
        return;
      }
      if (onExit === 'restart') {
        say('devnet', `${role} exited (${signal ?? `code ${code}`}); restarting it in 2 s`);
        setTimeout(() => { if (!stopping) startProcess(role, command, args, logDir, show, onExit); }, 2000);
        return;
      }
      say('devnet', `${role} exited (${signal ?? `code ${code}`}); see ${join(logDir, `${role}.log`)}. Stopping the devnet.`);
      void shutdown(1);
    }, 300);
  });
  return child;
}

async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    // Workers first, the node last (it stops CometBFT itself).
    const order = [...children].reverse();
    for (const { child } of order) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const deadline = Date.now() + 10_000;
    for (const { child } of order) {
      while (child.exitCode === null && child.signalCode === null && Date.now() < deadline) await sleep(100);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    say('devnet', 'stopped');
  }
  process.exit(code);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const run = promisify(execFile);
async function cli(args: string[]): Promise<string> {
  try {
    return (await run(R3MESD, args, { cwd: ROOT, env: cleanEnv(), timeout: 120_000 })).stdout;
  } catch (error) {
    const e = error as { stderr?: string; stdout?: string; message: string };
    throw new Error(`r3mesd ${args.slice(0, 3).join(' ')}: ${(e.stderr || e.stdout || e.message).trim()}`);
  }
}

// ---- chain access ----------------------------------------------------------------------------
interface Attr { key: string; value: string }
interface AbciEvent { type: string; attributes: Attr[] }
function makeRpc(url: string) {
  return async <T>(method: string, params: Record<string, unknown> = {}): Promise<T> => {
    const response = await fetch(url, { method: 'POST', body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }), signal: AbortSignal.timeout(10_000) });
    const body = (await response.json()) as { result?: T; error?: { message: string; data?: string } };
    if (body.error !== undefined) throw new Error(`${method}: ${body.error.message} ${body.error.data ?? ''}`);
    return body.result as T;
  };
}
const attrsOf = (event: AbciEvent) => Object.fromEntries(event.attributes.map((a) => [a.key, a.value])) as Record<string, string | undefined>;
/** The ur3mes amount in a coins string ("70000000ur3mes") or a bare integer. */
const coinAmount = (coins: string | undefined) => BigInt(new RegExp(`^(\\d+)$|(\\d+)${DENOM}`).exec(coins ?? '')?.slice(1).find((x) => x !== undefined) ?? '0');

// ---- main --------------------------------------------------------------------------------------
async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const home = o.home;
  const rpcUrl = `http://127.0.0.1:${o.rpcPort}`;
  const restUrl = `http://127.0.0.1:${o.restPort}`;
  const gatewayUrl = `http://127.0.0.1:${o.gatewayPort}`;
  // The stats servers (/stats, /health, /metrics) of the miner, a verifier and the watcher: free ports, printed in the banner.
  const statsPort = { miner: await freePort(), verifier: await freePort(), watcher: o.cheater ? await freePort() : 0 };
  const metricsUrl = (port: number) => `http://127.0.0.1:${port}/metrics`;
  // ABCI over TCP on purpose (--abci-port, printed below for people who attach tools); passed to
  // both init and start. r3mesd's own default is the unix socket <home>/abci.sock.
  const abci = `tcp://127.0.0.1:${o.abciPort}`;
  const keyring = ['--keyring-backend', 'test'];
  process.once('SIGINT', () => void shutdown(0));
  process.once('SIGTERM', () => void shutdown(0));

  const fresh = !o.keep || !existsSync(join(home, 'config', 'genesis.json'));
  if (fresh) {
    say('devnet', `initializing ${home} (chain ${CHAIN_ID}, ${o.windowBlocks}-block windows, tiny model d_model ${DEVNET_ARCHITECTURE.dModel} × ${DEVNET_ARCHITECTURE.nLayers} layers)`);
    rmSync(home, { recursive: true, force: true });
    await cli(['init', 'devnet', '--home', home, '--chain-id', CHAIN_ID, '--abci', abci, '--rpc-laddr', `tcp://127.0.0.1:${o.rpcPort}`,
      '--p2p-laddr', `tcp://127.0.0.1:${o.p2pPort}`, '--timeout-commit', o.blockTime]);
    say('devnet', `node home written; creating keys ${ROLES.join(', ')} (keyring-backend test)`);
    await Promise.all(ROLES.map((role) => cli(['keys', 'add', role, '--home', home, ...keyring, '--output', 'json']).then((out) =>
      import('node:fs').then((fs) => fs.writeFileSync(join(home, `${role}.json`), out)))));
    say('devnet', 'funding the keys in genesis; adding the genesis validators');
    for (const role of ROLES) await cli(['genesis', 'add-account', role, `${FUNDS}${DENOM}`, '--home', home, ...keyring]);
    await cli(['genesis', 'add-validator', 'validator', `${SELF_STAKE}${DENOM}`, '--moniker', 'devnet-validator', '--commission-rate', '0.1', '--home', home, ...keyring]);
    // A second genesis validator with a consensus key of its own that no node runs (1% of the power).
    const verifierHome = join(home, 'validators', 'verifier');
    await cli(['init', 'devnet-verifier', '--home', verifierHome, '--chain-id', CHAIN_ID]);
    // Short windows, a tiny model, quick disputes (genesis/devnet.ts).
    const genesisPath = nodeHome(home).genesisJson;
    const doc = readGenesis(genesisPath);
    const appState = (doc.app_state ??= {});
    applyDevnetTemplate(appState, { windowBlocks: o.windowBlocks, cheater: o.cheater });
    const verifierAddress = (JSON.parse(readFileSync(join(home, 'verifier.json'), 'utf8')) as { address: string }).address;
    addGenesisValidator(doc, verifierAddress, VERIFIER_STAKE, 'devnet-verifier', readValidatorKeys(verifierHome), '0.1');
    validateAppState(buildModules().modules, appState);
    writeGenesis(genesisPath, doc);
    say('devnet', 'genesis written and validated (devnet template: short windows, tiny model, quick disputes)');
    // Each worker has its own home (journal, checkpoints) with a copy of the devnet keyring.
    for (const role of ROLES) cpSync(join(home, 'keyring-test'), join(home, 'workers', role, 'keyring-test'), { recursive: true });
  }
  const logDir = join(home, 'logs');
  mkdirSync(logDir, { recursive: true });
  const address = Object.fromEntries(ROLES.map((role) => [role, (JSON.parse(readFileSync(join(home, `${role}.json`), 'utf8')) as { address: string }).address])) as Record<Role, string>;
  const nameOf = (addr: string | undefined) => {
    const role = ROLES.find((r) => address[r] === addr);
    return role === undefined ? (addr ?? '?') : `${role} ${addr!.slice(0, 12)}…${addr!.slice(-4)}`;
  };
  const genesisSupply = (() => {
    const doc = readGenesis(nodeHome(home).genesisJson) as { app_state: { bank: { balances: Array<{ coins: Array<{ denom: string; amount: string }> }> } } };
    return doc.app_state.bank.balances.flatMap((b) => b.coins).filter((c) => c.denom === DENOM).reduce((sum, c) => sum + BigInt(c.amount), 0n);
  })();

  process.stdout.write(`R3MES devnet (${CHAIN_ID}), home ${home}
  CometBFT RPC   ${rpcUrl}
  REST           ${restUrl}   (OpenAPI: /openapi.json; dashboard: ${restUrl}/ with a prompt box to the model API)
  ABCI           ${abci.replace('tcp://', 'tcp://')}
  content store  ${gatewayUrl}/ipfs/{cid}   (embedded blockstore ${join(home, 'store')}; /stats, /health)
  model API      http://127.0.0.1:${o.modelPort}/v1   (OpenAI-compatible: /v1/models, /v1/completions, /v1/chat/completions; r3mes-worker serve-model, the model head with receipts)
  metrics        node ${restUrl}/metrics; miner ${metricsUrl(statsPort.miner)}; verifier ${metricsUrl(statsPort.verifier)}${o.cheater ? `; watcher ${metricsUrl(statsPort.watcher)}` : ''}   (Prometheus; Grafana: ops/grafana/r3mes.json)
  validator      validator ${address.validator} (${r3mes(SELF_STAKE)} bonded; the aggregation proposer)
  miner          miner     ${address.miner}
  verifier       verifier  ${address.verifier} (${r3mes(VERIFIER_STAKE)} bonded, no node; verifies and arbitrates)
${o.cheater ? `  cheater        cheater   ${address.cheater} (a miner that submits tampered deltas)
  watcher        watcher   ${address.watcher} (r3mes-worker watch: re-executes every submission, challenges mismatches)
` : ''}  keys           keyring-backend test in ${home}; mnemonics in ${home}/<name>.json
  logs           ${logDir}/<role>.log
Try, in another terminal:
  bin/r3mesd query training current-window --node ${rpcUrl}
  bin/r3mesd query bank balances ${address.miner} --node ${rpcUrl}
  curl ${restUrl}/r3mes/training/v1/params
`);
  say('devnet', 'verifier: started. validator and verifier each run `r3mes-worker verify --key` (L1 checks, L2 answers) and `arbitrate --key` (L3 seats).');

  // ---- node ----
  const nodeShow = o.verbose ? () => true : (line: string) => /error|panic|exception|[1-9][0-9]* failed/i.test(line);
  say('devnet', 'starting the node (app + REST + CometBFT); waiting for its first blocks');
  // --model-api: the dashboard's prompt box talks to the serving node started below (which allows the dashboard's origin: --cors-origin).
  startProcess('node', R3MESD, ['start', '--home', home, '--abci', abci, '--rest', `127.0.0.1:${o.restPort}`, '--rpc', rpcUrl, '--model-api', `http://127.0.0.1:${o.modelPort}/v1`], logDir, nodeShow);
  const rpc = makeRpc(rpcUrl);
  const height = async () => BigInt((await rpc<{ sync_info: { latest_block_height: string } }>('status')).sync_info.latest_block_height);
  for (const deadline = Date.now() + 120_000; ;) {
    const h = await height().catch(() => 0n);
    if (h >= 2n) break;
    if (Date.now() > deadline) throw new Error(`the node produced no blocks in 120 s; see ${logDir}/node.log`);
    await sleep(300);
  }
  say('devnet', `blocks are being produced (every ~${o.blockTime})`);

  // ---- content store, miner registration, workers ----
  const workerShow = (line: string) => !/^(train|verify|arbitrate|watch) \[/.test(line) || /100%/.test(line);
  startProcess('serve', WORKER, ['serve', '--home', join(home, 'workers', 'validator'), '--store', join(home, 'store'), '--listen', `127.0.0.1:${o.gatewayPort}`], logDir, workerShow);
  for (const who of o.cheater ? (['miner', 'cheater'] as const) : (['miner'] as const)) {
    const registered = await fetch(`${restUrl}/r3mes/staking/v1/miners/${address[who]}`).then((r) => r.ok, () => false);
    if (registered) continue;
    const out = await cli(['tx', 'staking', 'register-miner', who, `${MINER_STAKE}${DENOM}`, o.backend === 'webgpu' ? 'webgpu' : 'cpu', 'x86_64', '--home', home, ...keyring, '--node', rpcUrl, '-o', 'json']);
    const tx = JSON.parse(out) as { code: number; height: string; txhash: string; raw_log?: string };
    if (tx.code !== 0) throw new Error(`register-miner ${who} failed (code ${tx.code}): ${tx.raw_log ?? out}`);
  }
  for (const deadline = Date.now() + 20_000; ;) {
    if (await fetch(gatewayUrl + '/health').then((r) => r.ok, () => false)) break;
    if (Date.now() > deadline) throw new Error(`the content store did not answer at ${gatewayUrl}; see ${logDir}/serve.log`);
    await sleep(200);
  }
  const common = (role: Role) => ['--home', join(home, 'workers', role), ...keyring, '--node', rpcUrl, '--gateway', gatewayUrl, '--poll-ms', '1000'];
  // Restarted, not fatal, when they exit (e.g. a chunk finished after its window closed): their
  // journals never sign the same duty twice, so a restart resumes instead of double-submitting.
  startProcess('miner', WORKER, ['train', '--key', 'miner', '--backend', o.backend, '--listen', `127.0.0.1:${statsPort.miner}`, ...common('miner')], logDir, workerShow, 'restart');
  // The serving node: the active model version plus every finalized window update, behind an
  // OpenAI-compatible API (worker/README.md, serve-model). The head moves as windows finalize.
  startProcess('model-api', WORKER, ['serve-model', '--home', join(home, 'workers', 'validator'), '--node', rpcUrl, '--gateway', gatewayUrl, '--backend', 'cpu',
    '--listen', `127.0.0.1:${o.modelPort}`, '--poll-ms', '5000', '--cors-origin', `http://127.0.0.1:${o.restPort},http://localhost:${o.restPort}`], logDir, workerShow, 'restart');
  startProcess('aggregator', WORKER, ['aggregate', '--key', 'validator', ...common('validator')], logDir, workerShow, 'restart');
  // The second validator can be drawn as aggregation proposer too (stake-weighted): its aggregator runs from the start.
  startProcess('ver-aggr', WORKER, ['aggregate', '--key', 'verifier', ...common('verifier')], logDir, workerShow, 'restart');
  if (o.cheater) {
    startProcess('cheater', WORKER, ['train', '--key', 'cheater', '--cheat', o.cheatMode, '--backend', o.backend, ...common('cheater')], logDir, workerShow, 'ignore'); // exits once jailed
    // The watcher: anyone can be one. It knows no key to suspect: it re-executes every submission
    // (the cheater tampers each delta, so 100% catches it every time; a real watcher takes a share)
    // and challenges what does not match. Its journal never challenges twice across restarts.
    startProcess('watcher', WORKER, ['watch', '--key', 'watcher', '--share', '100%', '--listen', `127.0.0.1:${statsPort.watcher}`, ...common('watcher')], logDir, workerShow, 'restart');
  }
  // Proof-of-Compute mining (--poc): each miner computes its share of the nonce space every epoch.
  if (o.poc) {
    const pocMiners = o.cheater ? (['miner', 'cheater'] as const) : (['miner'] as const);
    pocMiners.forEach((who, i) => startProcess(`poc-${who}`, WORKER, ['poc-mine', '--key', who, '--home', join(home, 'workers', who), ...keyring, '--node', rpcUrl,
      '--count', '32', '--node-id', String(i), '--n-nodes', String(pocMiners.length), '--poll-ms', '2000'], logDir, workerShow, 'restart'));
  }
  // Verification duties: both bonded validators can be drawn (L1, L2, L3 seats). Started once the
  // miners have a first submission in (or after 40 blocks): a 2-core machine starting every worker
  // at once trains too slowly for the first windows.
  const duty = (role: Role) => [...common(role).slice(0, -2), '--poll-ms', '2000'];
  let dutiesStarted = false;
  const startDuties = () => {
    if (dutiesStarted) return;
    dutiesStarted = true;
    startProcess('val-verify', WORKER, ['verify', '--key', 'validator', ...duty('validator')], logDir, workerShow, 'restart');
    startProcess('val-arbit', WORKER, ['arbitrate', '--key', 'validator', ...duty('validator')], logDir, workerShow, 'restart');
    startProcess('verifier', WORKER, ['verify', '--key', 'verifier', '--listen', `127.0.0.1:${statsPort.verifier}`, ...duty('verifier')], logDir, workerShow, 'restart');
    startProcess('arbiter', WORKER, ['arbitrate', '--key', 'verifier', ...duty('verifier')], logDir, workerShow, 'restart');
  };
  const dutiesBy = (await height()) + 40n;

  // ---- the story: one line per chain event, from each block's results ----
  let minted = 0n;
  let burned = 0n;
  let next = 1n;
  const lossOf = async (id: string | undefined) => {
    if (id === undefined) return '';
    const sub = await fetch(`${restUrl}/r3mes/training/v1/submissions/${id}`).then((r) => r.json() as Promise<{ submission?: { lossBefore?: string; lossAfter?: string } }>, () => undefined);
    const q16 = (v: string | undefined) => (Number(v ?? '0') / 65536).toFixed(2);
    return sub?.submission ? `, loss ${q16(sub.submission.lossBefore)}→${q16(sub.submission.lossAfter)} nats/byte` : '';
  };
  // With --keep the chain is replayed from block 1 to count what was minted and burned, silently.
  const quietUntil = await height();
  const tell = async (h: bigint, event: AbciEvent) => {
    const a = attrsOf(event);
    if (event.type === 'coinbase') minted += coinAmount(a.amount);
    if (event.type === 'burn') burned += coinAmount(a.amount);
    if (h <= quietUntil && !fresh) return;
    switch (event.type) {
      case 'coinbase': return;
      case 'burn': story(`burned ${r3mes(coinAmount(a.amount))} from ${nameOf(a.burner)}`); return;
      case 'register_miner': story(`${nameOf(a.miner)} registered as a miner (${a.backend}, stake ${r3mes(coinAmount(a.stake))})`); return;
      case 'window_opened': story(`window ${a.window} opened at height ${h} (seed ${a.seed?.slice(0, 12)}…, model v${a.model_version}, collecting until ${a.collect_end_height})`); return;
      case 'submission':
        story(`${nameOf(a.miner)} submitted chunk ${a.chunk} to window ${a.window} (submission ${a.id}, cid ${a.cid}${await lossOf(a.id)})`);
        startDuties();
        return;
      case 'submission_rejected': story(`submission ${a.id} of ${nameOf(a.miner)} rejected in window ${a.window}: ${a.reason}`); return;
      case 'window_collected': story(`window ${a.window} stopped collecting: ${a.submissions} submission(s); challenge period`); return;
      case 'aggregation_started': story(`window ${a.window} aggregating: ${a.accepted} accepted, ${a.rejected} rejected; proposer(s) ${(a.proposers ?? '').split(',').map(nameOf).join(', ')}`); return;
      case 'aggregation_commit': story(`${nameOf(a.proposer)} committed to an aggregate of window ${a.window}`); return;
      case 'aggregation_reveal':
        story(`${nameOf(a.proposer)} revealed the aggregate of window ${a.window}: ${a.result_cid || 'nothing to aggregate'}${a.excluded ? ` (excluded: ${a.excluded})` : ''}`);
        return;
      case 'submission_excluded': story(`submission ${a.submission} of ${nameOf(a.miner)} excluded from window ${a.window}: ${a.reason} (no reward for it)`); return;
      case 'aggregator_penalized': story(`${nameOf(a.proposer)} penalized in window ${a.window}: ${a.fault}`); return;
      case 'window_finalized': story(`window ${a.window} finalized: model update ${a.result_cid} (${a.accepted} accepted submission(s)${a.loss_base && a.loss_base !== '0' ? `, held-out loss ${nats(a.loss_base)} → ${nats(a.loss_aggregate)} nats/byte` : ''}) → ${gatewayUrl}/ipfs/${a.result_cid}`); return;
      case 'window_not_applied': story(`window ${a.window} NOT applied (Proof of Learning): held-out loss ${nats(a.loss_base)} → ${nats(a.loss_aggregate)} nats/byte does not improve by ${nats(a.min_improvement)}; the model head keeps its base`); return;
      case 'head_rolled_back': story(`governance rolled the model head back to window ${a.to_window} (proposal ${a.proposal_id}); windows ${a.windows || 'none'} leave the head`); return;
      case 'window_failed': story(`window ${a.window} failed (${a.phase ?? ''}): ${a.reason}`); return;
      case 'window_rewards':
        story(`rewards for window ${a.window_id}: minted ${r3mes(coinAmount(a.minted))} (miners ${r3mes(coinAmount(a.miners_paid))}, verifiers ${r3mes(coinAmount(a.verifiers_paid))}, validators ${r3mes(coinAmount(a.validators_paid))}, community pool ${r3mes(coinAmount(a.community_pool))})`);
        return;
      case 'reward_payout': story(`  ${nameOf(a.recipient)} +${r3mes(coinAmount(a.amount))} (${a.role})`); return;
      case 'l1_sampled': story(`L1: submission ${a.submission} of ${nameOf(a.miner)} sampled; ${nameOf(a.verifier)} re-executes it by height ${a.deadline_height}`); return;
      case 'l1_skipped': story(`L1: submission ${a.submission} sampled but not checked: ${a.reason}`); return;
      case 'l1_verification': story(`L1: ${nameOf(a.verifier)} re-executed submission ${a.submission}: ${a.result}`); return;
      case 'l1_missed': story(`L1: ${nameOf(a.verifier)} missed the check of submission ${a.submission}`); return;
      case 'dispute_opened': story(`dispute ${a.dispute} opened on submission ${a.submission} of ${nameOf(a.miner)} (${a.origin}${a.challenger ? ` by ${nameOf(a.challenger)}` : ''}${a.bond ? `, bond ${r3mes(coinAmount(a.bond))}` : ''})`); return;
      case 'verifier_drawn': story(`L2: dispute ${a.dispute}: ${nameOf(a.verifier)} drawn to re-execute submission ${a.submission} (round ${a.round}, answer by height ${a.deadline_height})`); return;
      case 'verifier_answer': story(`L2: dispute ${a.dispute}: ${nameOf(a.verifier)} re-executed and agrees with the ${a.agrees_with}`); return;
      case 'verifier_missed': story(`L2: dispute ${a.dispute}: ${nameOf(a.verifier)} missed its answer (round ${a.round})`); return;
      case 'dispute_escalated': story(`dispute ${a.dispute} escalated to L3 (${a.reason ?? ''})`); return;
      case 'bisection_started': story(`bisection: dispute ${a.dispute}: ${nameOf(a.miner)} reveals state hashes, ${nameOf(a.disputer)} agrees or disagrees (moves due by height ${a.deadline_height})`); return;
      case 'bisect_reveal': story(`bisection: dispute ${a.dispute}: stateHash_${a.step} of ${a.steps} revealed with its trace proof`); return;
      case 'bisect_answer': story(`bisection: dispute ${a.dispute}: stateHash_${a.step} ${a.agree === 'true' ? 'agreed' : 'disputed'}${a.status === 'one-step' ? ': narrowed to one step' : a.status === 'whole-chunk' ? ': the whole chunk goes to the panel' : ''}`); return;
      case 'bisect_missed': story(`bisection: dispute ${a.dispute}: ${nameOf(a.party)} (${a.role}) missed its move at step ${a.step}`); return;
      case 'panel_drawn': story(`L3: dispute ${a.dispute}: panel ${(a.arbiters ?? '').split(',').map(nameOf).join(', ')} (round ${a.round}, votes by height ${a.deadline_height})`); return;
      case 'unavailability_reported': story(`dispute ${a.dispute}: ${nameOf(a.reporter)} reports the delta of submission ${a.submission} unavailable`); return;
      case 'arbiter_vote': story(`L3: dispute ${a.dispute}: ${nameOf(a.arbiter)} voted ${a.vote}`); return;
      case 'arbiter_missed': story(`L3: dispute ${a.dispute}: ${nameOf(a.arbiter)} missed its vote (round ${a.round})`); return;
      case 'dispute_resolved':
        story(`dispute ${a.dispute} resolved: ${a.outcome} (${a.reason ?? ''}); slashed ${r3mes(coinAmount(a.slashed))}, bounty ${r3mes(coinAmount(a.bounty))}${a.challenger ? ` to ${nameOf(a.challenger)}` : ''}, submission rejected: ${a.submission_rejected}`);
        return;
      case 'slash': story(`slashed ${a.role ?? ''} ${nameOf(a.address)}: burned ${r3mes(coinAmount(a.burned))} (${a.fraction ?? ''})${a.jailed === 'true' ? ', jailed' : ''}: ${a.reason ?? ''}`); return;
      case 'poc_epoch_opened': story(`PoC epoch ${a.epoch} opened: claims until height ${a.submit_end_height}, verified until ${a.end_height}`); return;
      case 'poc_batch': story(`PoC: ${nameOf(a.miner)} claimed ${a.claims} nonce(s) below r_target in epoch ${a.epoch}`); return;
      case 'poc_verification_started': story(`PoC epoch ${a.epoch}: ${a.checks} check(s) drawn (sampled claims and traps, two verifiers each: commit, then reveal)`); return;
      case 'poc_dispute_resolved': story(`PoC dispute ${a.dispute} (${nameOf(a.miner)}): ${a.outcome}`); return;
      case 'poc_epoch_ended': story(`PoC epoch ${a.epoch} ended: ${a.miners} miner(s), compute weight ${a.weight_total} in force (more chunks per window for the miners that hold it)`); return;
      case 'verification_penalty': story(`penalty: ${nameOf(a.address)} ${a.fault} (${a.subject}), burned ${r3mes(coinAmount(a.burned))}`); return;
      default:
        if (/verification|dispute|challenge|arbit/.test(event.type)) story(`${event.type}: ${event.attributes.map((x) => `${x.key}=${x.value}`).join(' ')}`);
    }
  };
  for (;;) {
    // The app's committed height (CometBFT's status runs ahead of it while a block is applied): its
    // results are stored and REST reads the state after it.
    const top = await rpc<{ response: { last_block_height?: string } }>('abci_info').then((r) => BigInt(r.response.last_block_height ?? '0'), () => next - 1n);
    if (top >= dutiesBy) startDuties();
    for (; next <= top; next++) {
      // The status may name a height whose results CometBFT has not stored yet: try again later.
      const results = await rpc<{ finalize_block_events?: AbciEvent[]; txs_results?: Array<{ code: number; log?: string; events?: AbciEvent[] }> | null }>('block_results', { height: next.toString() })
        .catch(() => undefined);
      if (results === undefined) break;
      // Block order: begin-block events, then txs, then end-block events (CometBFT gives the block's events in one list, in emission order).
      const blockEvents = results.finalize_block_events ?? [];
      const txEvents = (results.txs_results ?? []).flatMap((tx) => (tx.code === 0 ? tx.events ?? [] : []));
      let rewarded = false;
      for (const event of [...blockEvents, ...txEvents]) {
        await tell(next, event);
        if (event.type === 'window_rewards') rewarded = true;
      }
      for (const tx of results.txs_results ?? []) if (tx.code !== 0) story(`a tx failed at height ${next} (code ${tx.code}): ${tx.log ?? ''}`);
      if (rewarded && (fresh || next > quietUntil)) {
        const supply = await fetch(`${restUrl}/cosmos/bank/v1beta1/supply`).then((r) => r.json() as Promise<{ supply?: Array<{ denom: string; amount: string }> }>, () => undefined);
        const expected = genesisSupply + minted - burned;
        const actual = supply?.supply?.find((c) => c.denom === DENOM)?.amount;
        const note = actual === undefined ? '' : BigInt(actual) === expected ? ' ✓ chain agrees' : ` ✗ chain says ${r3mes(BigInt(actual))} (later blocks may have moved it)`;
        story(`supply: genesis ${r3mes(genesisSupply)} + minted ${r3mes(minted)} − burned ${r3mes(burned)} = ${r3mes(expected)}${note}`);
      }
    }
    await sleep(500);
  }
}

main().catch((error: unknown) => {
  say('devnet', `error: ${(error as Error).message}`);
  void shutdown(1);
});

/** A TCP port free on 127.0.0.1 right now (the OS picks it). */
function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}
