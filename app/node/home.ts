import { join } from 'node:path';
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
  keyringDir: (backend: string) => string;
}

export const DEFAULT_HOME = process.env.R3MES_HOME ?? join(homedir(), '.r3mes');

export function nodeHome(root: string): NodeHome {
  return {
    root,
    configToml: join(root, 'config', 'config.toml'),
    genesisJson: join(root, 'config', 'genesis.json'),
    appDb: join(root, 'data', 'application.db'),
    keyringDir: (backend) => join(root, `keyring-${backend}`),
  };
}
