import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { AbciServer } from '../abci/server.ts';
import { R3mesApp } from '../app.ts';
import { CommitStore } from '../store/commit-store.ts';
import { buildRestServer } from '../rest/server.ts';
import { moduleRoutes } from '../rest/module-routes.ts';
import { moduleInterfaces } from '../interfaces.ts';
import { findCometbft, startCometbft } from './cometbft.ts';
import { nodeHome } from './home.ts';

export interface StartOptions {
  home: string;
  /** Where the ABCI server listens; must match `proxy_app` in config.toml. */
  abci: string;
  /** host:port of the REST server, or '' for none. */
  rest: string;
  /** CometBFT RPC that REST talks to. */
  rpc: string;
  /** Start and supervise `cometbft start` for this home. */
  withComet: boolean;
  log: (line: string) => void;
}

export interface RunningNode {
  app: R3mesApp;
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
  const app = new R3mesApp(store, { logger: options.log });
  options.log(`state at height ${store.lastHeight}, app hash ${Buffer.from(store.lastAppHash).toString('hex').toUpperCase()}`);

  const say = (level: string) => (message: string, fields?: Record<string, unknown>) =>
    options.log(`abci ${level}: ${message}${fields === undefined ? '' : ' ' + JSON.stringify(fields)}`);
  const abci = new AbciServer(app, { logger: { info: say('info'), warn: say('warn'), error: say('error') } });
  await abci.listen(options.abci);
  options.log(`ABCI listening on ${options.abci}`);

  let rest: Awaited<ReturnType<typeof buildRestServer>> | undefined;
  if (options.rest !== '') {
    const [host, port] = splitHostPort(options.rest);
    rest = await buildRestServer({ rpcUrl: options.rpc, logger: false, modules: [moduleRoutes(moduleInterfaces())] });
    await rest.listen({ host, port });
    options.log(`REST listening on http://${host}:${port} (OpenAPI at /openapi.json)`);
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
  return { app, stop };
}

export function splitHostPort(address: string): [string, number] {
  const match = /^(?:tcp:\/\/|https?:\/\/)?([^:]+):(\d+)$/.exec(address);
  if (match === null) throw new Error(`"${address}" is not host:port`);
  return [match[1], Number(match[2])];
}
