/**
 * A real single-node chain for end-to-end tests: `r3mesd init` in a temp
 * home, funded genesis accounts, then the app (`r3mesd start --no-comet`) and
 * `cometbft start` as two separate processes, so a test can kill -9 either.
 * ABCI runs on r3mesd's default, the unix socket `<home>/abci.sock`, unless
 * `abciTransport: 'tcp'` asks for a TCP port.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readGenesis, writeGenesis } from '../../genesis/file.ts';
import { nodeHome } from '../../app/node/home.ts';
import { cometbftEnv } from '../../app/node/cometbft.ts';
import { buildModules } from '../../app/modules.ts';
import { validateAppState } from '../../genesis/app-state.ts';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const R3MESD = join(ROOT, 'bin', 'r3mesd');
export const E2E_CHAIN_ID = 'r3mes-e2e-1';

export async function freePort(): Promise<number> {
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

let cometbftPath: string | undefined;
export function cometbftBinary(): string {
  cometbftPath ??= execFileSync('bash', [join(ROOT, 'scripts', 'install-cometbft')], { encoding: 'utf8' }).trim();
  return cometbftPath;
}

export function r3mesd(args: string[], env: NodeJS.ProcessEnv = {}): string {
  return execFileSync(R3MESD, args, { encoding: 'utf8', env: { ...process.env, COMETBFT: cometbftBinary(), ...env } });
}

export interface DevNode {
  home: string;
  /** Where the app serves ABCI: `unix://<home>/abci.sock` (r3mesd's default) or `tcp://127.0.0.1:<port>`. */
  abci: string;
  rpcUrl: string;
  restUrl: string;
  chainId: string;
  startApp(): void;
  startComet(): void;
  killApp(signal?: NodeJS.Signals): Promise<void>;
  killComet(signal?: NodeJS.Signals): Promise<void>;
  status(): Promise<{ height: bigint; appHash: string }>;
  waitForHeight(height: bigint, timeoutMs?: number): Promise<void>;
  rpc<T>(method: string, params?: Record<string, unknown>): Promise<T>;
  stop(): Promise<void>;
}

export interface DevNodeOptions {
  accounts: Array<{ address: string; coins: string }>;
  timeoutCommit?: string;
  /**
   * Makes this funded address the node's genesis validator (`r3mesd genesis add-validator`, before
   * start): it bonds `selfStake` (e.g. "100000000ur3mes") of its genesis balance with the node's
   * consensus key, so staking and CometBFT both have it as the only validator.
   */
  validator?: { address: string; selfStake: string; moniker?: string; commissionRate?: string };
  /** Module params merged over the defaults in genesis, e.g. `{ training: { windowBlocks: '5' } }` (keys as in the genesis JSON). */
  moduleParams?: Record<string, Record<string, unknown>>;
  /**
   * The ABCI transport: 'unix' (default) leaves --abci out of `init` and `start`, so the node
   * runs on r3mesd's default, its unix socket; 'tcp' passes `--abci tcp://127.0.0.1:<free port>` to both.
   */
  abciTransport?: 'unix' | 'tcp';
  /** Last edit of the genesis app_state before start (after accounts, validator and params). */
  editAppState?: (appState: Record<string, unknown>) => void;
}

export async function startDevNode(options: DevNodeOptions): Promise<DevNode> {
  const home = mkdtempSync(join(tmpdir(), 'r3mes-node-'));
  const [rpcPort, p2pPort, restPort] = [await freePort(), await freePort(), await freePort()];
  const abciFlag = options.abciTransport === 'tcp' ? ['--abci', `tcp://127.0.0.1:${await freePort()}`] : [];
  const abci = abciFlag[1] ?? `unix://${nodeHome(home).abciSocket}`;
  const rpcUrl = `http://127.0.0.1:${rpcPort}`;
  r3mesd(['init', 'e2e', '--home', home, '--chain-id', E2E_CHAIN_ID, ...abciFlag,
    '--rpc-laddr', `tcp://127.0.0.1:${rpcPort}`, '--p2p-laddr', `tcp://127.0.0.1:${p2pPort}`,
    '--timeout-commit', options.timeoutCommit ?? '300ms']);
  for (const account of options.accounts) r3mesd(['genesis', 'add-account', account.address, account.coins, '--home', home]);
  if (options.validator !== undefined) {
    const { address, selfStake, moniker, commissionRate } = options.validator;
    r3mesd(['genesis', 'add-validator', address, selfStake, '--home', home, '--moniker', moniker ?? 'e2e-validator',
      ...(commissionRate === undefined ? [] : ['--commission-rate', commissionRate])]);
  }
  if (options.moduleParams !== undefined || options.editAppState !== undefined) {
    const genesisPath = nodeHome(home).genesisJson;
    const doc = readGenesis(genesisPath);
    const appState = (doc.app_state ??= {}) as Record<string, unknown>;
    for (const [module, params] of Object.entries(options.moduleParams ?? {})) {
      const state = appState[module] as { params?: Record<string, unknown> } | undefined;
      if (state?.params === undefined) throw new Error(`genesis has no params for module "${module}"`);
      for (const key of Object.keys(params)) if (!(key in state.params)) throw new Error(`module "${module}" has no param "${key}"`);
      Object.assign(state.params, params);
    }
    options.editAppState?.(appState);
    validateAppState(buildModules().modules, appState); // what InitChain will check, with a clear error here rather than a node that does not start
    writeGenesis(genesisPath, doc);
  }

  let app: ChildProcess | undefined;
  let comet: ChildProcess | undefined;
  const appLog = createWriteStream(join(home, 'app.log'), { flags: 'a' });
  const cometLog = createWriteStream(join(home, 'cometbft.log'), { flags: 'a' });
  const exited = (child: ChildProcess | undefined) =>
    child === undefined || child.exitCode !== null || child.signalCode !== null
      ? Promise.resolve()
      : new Promise<void>((done) => child.once('exit', () => done()));

  const node: DevNode = {
    home, abci, rpcUrl, restUrl: `http://127.0.0.1:${restPort}`, chainId: E2E_CHAIN_ID,
    startApp() {
      app = spawn(R3MESD, ['start', '--home', home, '--no-comet', ...abciFlag, '--rest', `127.0.0.1:${restPort}`, '--rpc', rpcUrl], { stdio: ['ignore', 'pipe', 'pipe'] });
      app.stdout?.pipe(appLog, { end: false });
      app.stderr?.pipe(appLog, { end: false });
    },
    startComet() {
      comet = spawn(cometbftBinary(), ['start', '--home', home], { stdio: ['ignore', 'pipe', 'pipe'], env: cometbftEnv() });
      comet.stdout?.pipe(cometLog, { end: false });
      comet.stderr?.pipe(cometLog, { end: false });
    },
    async killApp(signal = 'SIGKILL') {
      const done = exited(app);
      app?.kill(signal);
      await done;
    },
    async killComet(signal = 'SIGKILL') {
      const done = exited(comet);
      comet?.kill(signal);
      await done;
    },
    async rpc<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
      const response = await fetch(rpcUrl, { method: 'POST', body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }), signal: AbortSignal.timeout(5000) });
      const body = (await response.json()) as { result?: T; error?: { message: string; data?: string } };
      if (body.error !== undefined) throw new Error(`${method}: ${body.error.message} ${body.error.data ?? ''}`);
      return body.result as T;
    },
    async status() {
      const result = await node.rpc<{ sync_info: { latest_block_height: string; latest_app_hash: string } }>('status');
      return { height: BigInt(result.sync_info.latest_block_height), appHash: result.sync_info.latest_app_hash };
    },
    async waitForHeight(height, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      let last = 'no answer';
      while (Date.now() < deadline) {
        try {
          const status = await node.status();
          if (status.height >= height) return;
          last = `height ${status.height}`;
        } catch (error) {
          last = (error as Error).message;
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error(`node did not reach height ${height} within ${timeoutMs} ms (last: ${last}); logs in ${home}`);
    },
    async stop() {
      await node.killComet('SIGTERM');
      await node.killApp('SIGTERM');
      appLog.end();
      cometLog.end();
      if (process.env.R3MES_KEEP_TEST_HOMES === undefined) rmSync(home, { recursive: true, force: true });
    },
  };
  node.startApp();
  node.startComet();
  await node.waitForHeight(2n);
  return node;
}
