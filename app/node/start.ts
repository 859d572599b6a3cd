import { createWriteStream, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { AbciServer } from '../abci/server.ts';
import { R3mesApp } from '../app.ts';
import { CommitStore } from '../store/commit-store.ts';
import { buildRestServer } from '../rest/server.ts';
import { NodeMetrics } from '../metrics/node-metrics.ts';
import { moduleRoutes } from '../rest/module-routes.ts';
import { moduleInterfaces } from '../interfaces.ts';
import { findCometbft, startCometbft } from './cometbft.ts';
import { nodeHome, startAbciAddress } from './home.ts';
import { vrfKeyPath } from './validator-keys.ts';
import { publicKeyFromSecret } from '../../modules/randomness/vrf.ts';

export interface StartOptions {
  home: string;
  /**
   * Where the ABCI server listens; must match `proxy_app` in config.toml. Default: that
   * proxy_app, else `unix://<home>/abci.sock` (app/node/home.ts, startAbciAddress).
   */
  abci?: string;
  /** host:port of the REST server, or '' for none. */
  rest: string;
  /** CometBFT RPC that REST talks to. */
  rpc: string;
  /** Start and supervise `cometbft start` for this home. */
  withComet: boolean;
  /** The VRF key file (`r3mesd start --vrf-key`); default `<home>/config/vrf_key.json` when that exists. */
  vrfKey?: string;
  /** A serving node's API base URL (`--model-api`) for the dashboard's prompt box; none: no prompt box. */
  modelApi?: string;
  /** Tests only: propose beacon txs with a forged proof (`--test-forge-vrf`, or R3MES_TEST_FORGE_VRF=1). */
  forgeVrf?: boolean;
  log: (line: string) => void;
}

export interface RunningNode {
  app: R3mesApp;
  metrics: NodeMetrics;
  stop(): Promise<void>;
}

/**
 * Opens the state, serves ABCI (and REST), and optionally runs CometBFT
 * beside it. If CometBFT exits on its own, the node stops too: a validator
 * should never run half a node.
 */
export async function startNode(options: StartOptions): Promise<RunningNode> {
  const home = nodeHome(options.home);
  mkdirSync(dirname(home.appDb), { recursive: true });
  const store = await CommitStore.open(home.appDb);
  const proposer = proposerKeys(options, home.root);
  const app = new R3mesApp(store, { logger: options.log, ...proposer });
  // Metrics of this node (GET /metrics on the REST listener): recorded around the app's ABCI calls.
  const metrics = new NodeMetrics(app, { log: options.log });
  options.log(`state at height ${store.lastHeight}, app hash ${Buffer.from(store.lastAppHash).toString('hex').toUpperCase()}`);

  const say = (level: string) => (message: string, fields?: Record<string, unknown>) =>
    options.log(`abci ${level}: ${message}${fields === undefined ? '' : ' ' + JSON.stringify(fields)}`);
  const abci = new AbciServer(metrics.instrument(app), { logger: { info: say('info'), warn: say('warn'), error: say('error') } });
  const abciAddress = options.abci ?? startAbciAddress(home);
  await abci.listen(abciAddress);
  options.log(`ABCI listening on ${abci.address() ?? abciAddress}`);

  let rest: Awaited<ReturnType<typeof buildRestServer>> | undefined;
  if (options.rest !== '') {
    const [host, port] = splitHostPort(options.rest);
    rest = await buildRestServer({ rpcUrl: options.rpc, logger: false, modules: [moduleRoutes(moduleInterfaces())], metrics, modelApi: options.modelApi });
    await rest.listen({ host, port });
    options.log(`REST listening on http://${host}:${port} (OpenAPI at /openapi.json, Prometheus metrics at /metrics)`);
  }

  let comet: ChildProcess | undefined;
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    if (comet !== undefined && comet.exitCode === null) {
      const exited = new Promise((resolve) => comet?.once('exit', resolve));
      comet.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
      if (comet.exitCode === null) comet.kill('SIGKILL');
    }
    await rest?.close();
    await abci.close();
    await store.close();
  };

  if (options.withComet) {
    const binary = findCometbft();
    const logPath = join(options.home, 'cometbft.log');
    comet = startCometbft(binary, options.home, createWriteStream(logPath, { flags: 'a' }));
    options.log(`cometbft started (pid ${comet.pid}), log: ${logPath}, RPC ${options.rpc}`);
    comet.once('exit', (code, signal) => {
      if (stopping) return;
      options.log(`cometbft exited (code ${code}, signal ${signal}); see ${logPath}. Stopping.`);
      void stop().then(() => process.exit(1));
    });
  }
  return { app, metrics, stop };
}

/**
 * What this node needs to put the beacon tx in its proposals: its VRF secret key and its
 * consensus address (the proposer address CometBFT will give PrepareProposal). A node without a
 * VRF key proposes no beacon tx; if staking has a VRF key for it, its proposals are rejected.
 */
function proposerKeys(options: StartOptions, home: string): { vrfSecretKey?: Uint8Array; consensusAddress?: Uint8Array; forgeBeacon?: boolean } {
  const out: { vrfSecretKey?: Uint8Array; consensusAddress?: Uint8Array; forgeBeacon?: boolean } = {};
  const validatorKeyPath = join(home, 'config', 'priv_validator_key.json');
  if (existsSync(validatorKeyPath)) {
    const file = JSON.parse(readFileSync(validatorKeyPath, 'utf8')) as { address?: string };
    if (typeof file.address === 'string' && /^[0-9A-Fa-f]{40}$/.test(file.address)) out.consensusAddress = new Uint8Array(Buffer.from(file.address, 'hex'));
  }
  const path = options.vrfKey ?? vrfKeyPath(home);
  if (options.vrfKey !== undefined || existsSync(path)) {
    const file = JSON.parse(readFileSync(path, 'utf8')) as { secret_key?: string };
    if (typeof file.secret_key !== 'string' || !/^[0-9a-f]{64}$/.test(file.secret_key)) throw new Error(`${path}: secret_key must be 64 hex characters`);
    out.vrfSecretKey = new Uint8Array(Buffer.from(file.secret_key, 'hex'));
    options.log(`VRF key ${path} (public key ${Buffer.from(publicKeyFromSecret(out.vrfSecretKey)).toString('hex')}): this node's proposals carry the beacon`);
  } else {
    options.log(`no VRF key (${path}): this node's proposals carry no beacon tx`);
  }
  if (options.forgeVrf === true) {
    out.forgeBeacon = true;
    options.log('TEST ONLY: --test-forge-vrf: this node proposes forged beacon proofs; the others will reject its blocks');
  }
  return out;
}

export function splitHostPort(address: string): [string, number] {
  const match = /^(?:tcp:\/\/|https?:\/\/)?([^:]+):(\d+)$/.exec(address);
  if (match === null) throw new Error(`"${address}" is not host:port`);
  return [match[1], Number(match[2])];
}
