import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { getTomlString } from './comet-config.ts';
import { homedir } from 'node:os';

/**
 * One directory holds a node: CometBFT's config/ and data/ (as `cometbft
 * init` lays them out) plus the app's own state database and keyrings.
 */
export interface NodeHome {
  root: string;
  configToml: string;
  genesisJson: string;
  appDb: string;
  /** The unix socket the app serves ABCI on by default (absolute: CometBFT may run elsewhere). */
  abciSocket: string;
  keyringDir: (backend: string) => string;
}

export const DEFAULT_HOME = process.env.R3MES_HOME ?? join(homedir(), '.r3mes');

export function nodeHome(root: string): NodeHome {
  return {
    root,
    configToml: join(root, 'config', 'config.toml'),
    genesisJson: join(root, 'config', 'genesis.json'),
    appDb: join(root, 'data', 'application.db'),
    abciSocket: join(resolve(root), 'abci.sock'),
    keyringDir: (backend) => join(root, `keyring-${backend}`),
  };
}

/** `r3mesd init`'s default proxy_app: the node's unix socket. */
export function defaultAbciAddress(home: NodeHome): string {
  return `unix://${home.abciSocket}`;
}

/**
 * Where `r3mesd start` serves ABCI when no --abci is given: CometBFT's proxy_app from the home's
 * config.toml when it is a unix:// or tcp:// address (so the app and CometBFT meet without
 * flags, whatever `init --abci` chose), else the node's unix socket.
 */
export function startAbciAddress(home: NodeHome): string {
  if (existsSync(home.configToml)) {
    const proxyApp = getTomlString(readFileSync(home.configToml, 'utf8'), '', 'proxy_app');
    if (proxyApp !== undefined && /^(unix|tcp):\/\/./.test(proxyApp)) return proxyApp;
  }
  return defaultAbciAddress(home);
}
