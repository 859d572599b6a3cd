/**
 * A multi-validator R3MES network on one machine, the way `npm run localnet` runs it and the
 * e2e tests drive it: `cometbft testnet --v N --o DIR` writes the validator homes (keys, one
 * CometBFT genesis); each config.toml is rewritten for 127.0.0.1 (peers, distinct RPC/P2P/ABCI
 * ports, kv tx indexer, short timeouts); the app's genesis `app_state` (default state plus
 * funded accounts) is written into node0's genesis.json and copied to every node; then each node
 * runs as one `r3mesd start --home NODEHOME` process, which supervises that node's cometbft.
 *
 * Every node is a staking genesis validator with its own VRF key (the randomness beacon): for
 * each home, the same function `r3mesd genesis add-validator` uses bonds a funded operator
 * account with that node's consensus key and creates HOME/config/vrf_key.json; CometBFT's genesis
 * validators become exactly the staking ones (equal power), so the two always agree.
 *
 * Each r3mesd is spawned in its own process group (detached), so `kill(-pid)` reaches the app
 * and its cometbft child together: a node can be killed whole, and teardown leaves nothing behind.
 *
 * Also here: small CometBFT JSON-RPC helpers (abci_query of accounts and balances, broadcast,
 * blocks) shared by the e2e tests.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { QueryAccountRequest, QueryAccountResponse } from 'cosmjs-types/cosmos/auth/v1beta1/query';
import { BaseAccount } from 'cosmjs-types/cosmos/auth/v1beta1/auth';
import { QueryBalanceRequest, QueryBalanceResponse } from 'cosmjs-types/cosmos/bank/v1beta1/query';
import { setTomlValues } from '../../app/node/comet-config.ts';
import { addGenesisAccount, readGenesis, writeGenesis, type GenesisDoc } from '../../genesis/file.ts';
import { nodeHome } from '../../app/node/home.ts';
import { buildModules } from '../../app/modules.ts';
import { defaultAppState } from '../../genesis/app-state.ts';
import { addGenesisValidator } from '../../genesis/validator.ts';
import { readValidatorKeys } from '../../app/node/validator-keys.ts';
import { encodeAddress } from '../../app/core/address.ts';
import { parseCoinString } from '../../app/core/coins.ts';
import { cometbftBinary, freePort, R3MESD } from './devnode.ts';

// ---------------------------------------------------------------------------------------------
// CometBFT JSON-RPC helpers

export class RpcError extends Error {}

/** One JSON-RPC call over HTTP POST, bounded in time. Network failures and RPC errors both throw. */
export async function rpcCall<T>(rpcUrl: string, method: string, params: Record<string, unknown> = {}, timeoutMs = 5000): Promise<T> {
  const response = await fetch(rpcUrl, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }), signal: AbortSignal.timeout(timeoutMs),
  });
  const body = (await response.json()) as { result?: T; error?: { message: string; data?: string } };
  if (body.error !== undefined) throw new RpcError(`${method}: ${body.error.message} ${body.error.data ?? ''}`);
  return body.result as T;
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex').toUpperCase();
}

/** CometBFT's tx hash: SHA-256 of the tx bytes, upper-case hex. */
export function txHashHex(tx: Uint8Array): string {
  return createHash('sha256').update(tx).digest('hex').toUpperCase();
}

interface AbciQueryResult {
  response: { code: number; log: string; value: string | null; height: string; codespace: string };
}

export async function abciQuery(rpcUrl: string, path: string, data: Uint8Array): Promise<{ code: number; log: string; value: Uint8Array; height: bigint }> {
  const { response } = await rpcCall<AbciQueryResult>(rpcUrl, 'abci_query', { path, data: hex(data), height: '0', prove: false });
  return { code: response.code, log: response.log, value: Buffer.from(response.value ?? '', 'base64'), height: BigInt(response.height) };
}

/** Account number and sequence from committed state, or undefined when the account does not exist. */
export async function queryAccount(rpcUrl: string, address: string): Promise<{ accountNumber: bigint; sequence: bigint } | undefined> {
  const answer = await abciQuery(rpcUrl, '/cosmos.auth.v1beta1.Query/Account', QueryAccountRequest.encode({ address }).finish());
  if (answer.code !== 0) {
    if (/not found/.test(answer.log)) return undefined;
    throw new RpcError(`account query for ${address}: code ${answer.code} ${answer.log}`);
  }
  const any = QueryAccountResponse.decode(answer.value).account;
  if (any === undefined) return undefined;
  const account = BaseAccount.decode(any.value);
  return { accountNumber: account.accountNumber, sequence: account.sequence };
}

export async function queryBalance(rpcUrl: string, address: string, denom = 'ur3mes'): Promise<bigint> {
  const answer = await abciQuery(rpcUrl, '/cosmos.bank.v1beta1.Query/Balance', QueryBalanceRequest.encode({ address, denom }).finish());
  if (answer.code !== 0) throw new RpcError(`balance query for ${address}: code ${answer.code} ${answer.log}`);
  return BigInt(QueryBalanceResponse.decode(answer.value).balance?.amount ?? '0');
}

export interface BroadcastResult {
  code: number;
  codespace: string;
  log: string;
  hash: string;
}

export async function broadcastTxSync(rpcUrl: string, tx: Uint8Array, timeoutMs = 10_000): Promise<BroadcastResult> {
  return rpcCall<BroadcastResult>(rpcUrl, 'broadcast_tx_sync', { tx: Buffer.from(tx).toString('base64') }, timeoutMs);
}

export interface RpcHeader {
  chain_id: string;
  height: string;
  time: string;
  app_hash: string;
  proposer_address: string;
  next_validators_hash: string;
  last_results_hash: string;
}

export interface RpcBlock {
  block_id: { hash: string };
  block: { header: RpcHeader; data: { txs: string[] | null } };
}

export async function blockAt(rpcUrl: string, height: bigint): Promise<RpcBlock> {
  return rpcCall<RpcBlock>(rpcUrl, 'block', { height: height.toString() });
}

/** Headers of heights min..max (CometBFT returns at most 20 per call, newest first). */
export async function headers(rpcUrl: string, minHeight: bigint, maxHeight: bigint): Promise<Map<bigint, { appHash: string; blockHash: string }>> {
  const out = new Map<bigint, { appHash: string; blockHash: string }>();
  for (let low = minHeight; low <= maxHeight; low += 20n) {
    const high = low + 19n < maxHeight ? low + 19n : maxHeight;
    const result = await rpcCall<{ block_metas: Array<{ block_id: { hash: string }; header: RpcHeader }> }>(
      rpcUrl, 'blockchain', { minHeight: low.toString(), maxHeight: high.toString() });
    for (const meta of result.block_metas) out.set(BigInt(meta.header.height), { appHash: meta.header.app_hash, blockHash: meta.block_id.hash });
  }
  return out;
}

export async function latestHeight(rpcUrl: string, timeoutMs = 3000): Promise<bigint> {
  const status = await rpcCall<{ sync_info: { latest_block_height: string } }>(rpcUrl, 'status', {}, timeoutMs);
  return BigInt(status.sync_info.latest_block_height);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it returns a value other than undefined; throws after `timeoutMs` with the last failure. */
export async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
      last = 'not yet';
    } catch (error) {
      last = (error as Error).message;
    }
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last})`);
    await sleep(intervalMs);
  }
}

// ---------------------------------------------------------------------------------------------
// The network

export interface LocalnetOptions {
  /** Where node0..nodeN-1 are written; created by `cometbft testnet` (must not hold a network yet). */
  dir: string;
  validators?: number;
  chainId?: string;
  /** Block interval and the round timeouts; short values keep tests fast, and a dead proposer costs one timeout_propose. */
  timeoutCommit?: string;
  timeoutPropose?: string;
  timeoutVote?: string;
  /** Fixed ports: node i uses P2P base+10i, RPC base+10i+1, ABCI base+10i+2, REST restBase+i. Default: free ports. */
  basePort?: number;
  restBasePort?: number;
  /** Addresses funded at genesis (written in-process with the same function `genesis add-account` uses). */
  accounts?: Array<{ address: string; coins: string }>;
  /** Keys created with `r3mesd keys add` in node0's test keyring and funded with `r3mesd genesis add-account`. */
  keys?: Array<{ name: string; coins: string }>;
  log?: (line: string) => void;
}

/** Each validator's operator account is funded with this and bonds VALIDATOR_SELF_STAKE of it (power 100000 each). */
export const VALIDATOR_FUNDS = 1_000_000_000_000n;
export const VALIDATOR_SELF_STAKE = 100_000_000_000n;

export interface LocalnetKey {
  name: string;
  address: string;
  mnemonic: string;
}

export interface LocalnetNode {
  index: number;
  name: string;
  home: string;
  nodeId: string;
  rpcUrl: string;
  restUrl: string;
  abci: string;
  p2pPort: number;
  /** CometBFT address of the node's consensus key, upper-case hex (as in block headers' proposer_address). */
  consensusAddress: string;
  /** Bech32 operator address of its staking validator. */
  operatorAddress: string;
  /** Its VRF public key, hex, registered in staking genesis. */
  vrfPubkey: string;
  /** The r3mesd process while it runs (its cometbft is its child, in the same process group). */
  process: ChildProcess | undefined;
  running(): boolean;
  /** Spawns `r3mesd start` (app + supervised cometbft) with `extraArgs` appended (e.g. `--test-forge-vrf`); output appends to HOME/app.log and HOME/cometbft.log. */
  start(extraArgs?: string[]): void;
  /** Signals the whole process group (app and cometbft). SIGTERM waits for a clean stop, then escalates to SIGKILL. */
  kill(signal?: NodeJS.Signals, timeoutMs?: number): Promise<void>;
  height(): Promise<bigint>;
}

export interface Localnet {
  dir: string;
  chainId: string;
  genesis: GenesisDoc;
  nodes: LocalnetNode[];
  keys: LocalnetKey[];
  startAll(): void;
  stopAll(signal?: NodeJS.Signals): Promise<void>;
  /** Waits until each of `nodes` (default all running) reports at least `height`. */
  waitForHeight(height: bigint, timeoutMs: number, nodes?: LocalnetNode[]): Promise<void>;
}

function cli(args: string[], cometbft: string): string {
  return execFileSync(R3MESD, args, { encoding: 'utf8', env: { ...process.env, COMETBFT: cometbft } });
}

/** The process group still has a member (kill(-pgid, 0) probes without signalling). */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function createLocalnet(options: LocalnetOptions): Promise<Localnet> {
  const count = options.validators ?? 4;
  const chainId = options.chainId ?? 'r3mes-localnet-1';
  const log = options.log ?? (() => {});
  const cometbft = cometbftBinary();
  if (existsSync(join(options.dir, 'node0'))) throw new Error(`${options.dir} already holds a network; remove it first`);

  execFileSync(cometbft, ['testnet', '--v', String(count), '--o', options.dir], { stdio: 'ignore' });
  const homes = Array.from({ length: count }, (_, i) => join(options.dir, `node${i}`));
  const nodeIds = homes.map((home) => execFileSync(cometbft, ['show-node-id', '--home', home], { encoding: 'utf8' }).trim());

  const ports: Array<{ p2p: number; rpc: number; abci: number; rest: number }> = [];
  for (let i = 0; i < count; i++) {
    if (options.basePort !== undefined) {
      const base = options.basePort + 10 * i;
      ports.push({ p2p: base, rpc: base + 1, abci: base + 2, rest: (options.restBasePort ?? 1317) + i });
    } else {
      ports.push({ p2p: await freePort(), rpc: await freePort(), abci: await freePort(), rest: await freePort() });
    }
  }

  // Genesis: CometBFT's validators and consensus params, the app's default state, funded accounts.
  const genesisPath = nodeHome(homes[0]).genesisJson;
  const genesis = readGenesis(genesisPath);
  genesis.chain_id = chainId;
  genesis.app_state = defaultAppState(buildModules().modules);
  writeGenesis(genesisPath, genesis);
  const keys: LocalnetKey[] = [];
  for (const key of options.keys ?? []) {
    const made = JSON.parse(cli(['keys', 'add', key.name, '--home', homes[0], '--keyring-backend', 'test', '--output', 'json'], cometbft)) as { address: string; mnemonic: string };
    cli(['genesis', 'add-account', key.name, key.coins, '--home', homes[0], '--keyring-backend', 'test'], cometbft);
    keys.push({ name: key.name, address: made.address, mnemonic: made.mnemonic });
  }
  const funded = readGenesis(genesisPath);
  for (const account of options.accounts ?? []) addGenesisAccount(funded, account.address, parseCoinString(account.coins));
  // One staking validator per node: its consensus key (cometbft testnet wrote it), a fresh VRF key, a funded operator.
  const validatorKeys = homes.map((home) => readValidatorKeys(home));
  const operators = homes.map((_, i) => encodeAddress(new Uint8Array(createHash('sha256').update(`${chainId}/operator/${i}`).digest().subarray(0, 20))));
  homes.forEach((_, i) => {
    addGenesisAccount(funded, operators[i], [{ denom: 'ur3mes', amount: VALIDATOR_FUNDS }]);
    addGenesisValidator(funded, operators[i], VALIDATOR_SELF_STAKE, `node${i}`, validatorKeys[i]);
  });
  writeGenesis(genesisPath, funded);
  for (const home of homes.slice(1)) copyFileSync(genesisPath, nodeHome(home).genesisJson);

  const vote = options.timeoutVote ?? '1s';
  homes.forEach((home, i) => {
    const peers = nodeIds.map((id, j) => (j === i ? '' : `${id}@127.0.0.1:${ports[j].p2p}`)).filter((p) => p !== '').join(',');
    const configPath = nodeHome(home).configToml;
    writeFileSync(configPath, setTomlValues(readFileSync(configPath, 'utf8'), [
      ['', 'moniker', `node${i}`],
      ['', 'proxy_app', `tcp://127.0.0.1:${ports[i].abci}`], // TCP on purpose (r3mesd's default is <home>/abci.sock); start gets the same --abci
      ['rpc', 'laddr', `tcp://127.0.0.1:${ports[i].rpc}`],
      ['p2p', 'laddr', `tcp://127.0.0.1:${ports[i].p2p}`],
      ['p2p', 'persistent_peers', peers],
      ['p2p', 'addr_book_strict', false],
      ['p2p', 'allow_duplicate_ip', true],
      ['consensus', 'timeout_commit', options.timeoutCommit ?? '500ms'],
      ['consensus', 'timeout_propose', options.timeoutPropose ?? '2s'],
      ['consensus', 'timeout_prevote', vote],
      ['consensus', 'timeout_precommit', vote],
      ['tx_index', 'indexer', 'kv'],
    ]));
  });

  const nodes: LocalnetNode[] = homes.map((home, i) => {
    const rpcUrl = `http://127.0.0.1:${ports[i].rpc}`;
    const node: LocalnetNode = {
      index: i, name: `node${i}`, home, nodeId: nodeIds[i], rpcUrl,
      consensusAddress: validatorKeys[i].consensusAddressHex.toUpperCase(), operatorAddress: operators[i],
      vrfPubkey: Buffer.from(validatorKeys[i].vrfPubkey).toString('hex'),
      restUrl: `http://127.0.0.1:${ports[i].rest}`, abci: `tcp://127.0.0.1:${ports[i].abci}`, p2pPort: ports[i].p2p,
      process: undefined,
      running: () => node.process !== undefined && node.process.exitCode === null && node.process.signalCode === null,
      start(extraArgs = []) {
        if (node.running()) throw new Error(`${node.name} is already running`);
        const out = openSync(join(home, 'app.log'), 'a');
        const child = spawn(R3MESD, ['start', '--home', home, '--abci', node.abci, '--rest', `127.0.0.1:${ports[i].rest}`, '--rpc', rpcUrl, ...extraArgs], {
          detached: true, stdio: ['ignore', out, out], env: { ...process.env, COMETBFT: cometbft },
        });
        closeSync(out);
        node.process = child;
        log(`${node.name}: r3mesd pid ${child.pid}, RPC ${rpcUrl}`);
      },
      async kill(signal = 'SIGKILL', timeoutMs = 15_000) {
        const child = node.process;
        const pgid = child?.pid;
        if (child === undefined || pgid === undefined) return;
        if (groupAlive(pgid)) {
          try {
            process.kill(-pgid, signal);
          } catch {
            // exited in between
          }
        }
        // r3mesd (the group leader) and cometbft (its child) must both be gone.
        const deadline = Date.now() + timeoutMs;
        while (groupAlive(pgid) && Date.now() < deadline) await sleep(50);
        if (groupAlive(pgid)) {
          log(`${node.name}: still running ${timeoutMs} ms after ${signal}; SIGKILL`);
          try {
            process.kill(-pgid, 'SIGKILL');
          } catch {
            // gone
          }
          while (groupAlive(pgid)) await sleep(50);
        }
        if (child.exitCode === null && child.signalCode === null) await new Promise((resolve) => child.once('exit', resolve));
      },
      height: () => latestHeight(rpcUrl),
    };
    return node;
  });

  const net: Localnet = {
    dir: options.dir, chainId, genesis: readGenesis(genesisPath), nodes, keys,
    startAll() {
      for (const node of nodes) node.start();
    },
    async stopAll(signal = 'SIGTERM') {
      await Promise.all(nodes.map((node) => node.kill(signal)));
    },
    async waitForHeight(height, timeoutMs, which = nodes.filter((node) => node.running())) {
      await Promise.all(which.map((node) =>
        waitFor(`${node.name} at height ${height} (logs: ${node.home}/app.log, cometbft.log)`, timeoutMs, async () => ((await node.height()) >= height ? true : undefined))));
    },
  };
  return net;
}

/** Removes a network directory (after stopAll). */
export function removeLocalnet(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
