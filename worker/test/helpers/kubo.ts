// Real Kubo daemons for tests: each in its own temporary IPFS_PATH, initialised with Kubo's
// `test` profile (no bootstrap peers, no mDNS, no NAT port mapping, no AutoTLS/AutoConf, no
// delegated routers; API, gateway and swarm on 127.0.0.1 with port 0, so the kernel picks free
// ports and no two tests race for one), started with `ipfs daemon`, stopped at teardown.
// Nothing reaches outside the machine. Kubo is installed by scripts/install-kubo (npm test does
// it; $KUBO names the binary): a missing binary fails the test file, it never skips it.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';

export const KUBO_VERSION = '0.43.1';

/** The `ipfs` binary: $KUBO, then PATH, then Go's bin directory; throws naming the installer. */
export function findKubo(): string {
  const candidates = [process.env.KUBO, 'ipfs'];
  try {
    candidates.push(join(execFileSync('go', ['env', 'GOPATH'], { encoding: 'utf8' }).trim(), 'bin', 'ipfs'));
  } catch {
    // no Go toolchain: $KUBO and PATH only
  }
  for (const candidate of candidates) {
    if (!candidate) continue;
    try {
      const version = execFileSync(candidate, ['version', '--number'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
      if (version === KUBO_VERSION) return candidate;
    } catch {
      // not there: next candidate
    }
  }
  throw new Error(`kubo v${KUBO_VERSION} not found: run \`bash scripts/install-kubo\` (npm test does) or set $KUBO`);
}

export interface KuboNode {
  name: string;
  /** RPC API base URL, e.g. http://127.0.0.1:40123 (what `--ipfs-api` takes). */
  api: string;
  /** The node's read-only HTTP gateway, e.g. http://127.0.0.1:40124. */
  gateway: string;
  /** Peer id (12D3Koo…). */
  peerId: string;
  /** Swarm multiaddrs on loopback, each ending in /p2p/<peer id>. */
  swarm: string[];
  repo: string;
}

function run(binary: string, repo: string, args: string[]): string {
  return execFileSync(binary, args, { encoding: 'utf8', env: { ...process.env, IPFS_PATH: repo }, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** POSTs an RPC command and returns its JSON answer (throws with Kubo's message on failure). */
export async function kuboRpc<T = unknown>(api: string, command: string, params: Record<string, string | string[]> = {}): Promise<T> {
  const url = new URL(`/api/v0/${command}`, api);
  for (const [key, value] of Object.entries(params)) for (const v of [value].flat()) url.searchParams.append(key, v);
  const response = await fetch(url, { method: 'POST', signal: AbortSignal.timeout(30_000) });
  const text = await response.text();
  if (!response.ok) throw new Error(`kubo ${command}: HTTP ${response.status} ${text.slice(0, 300)}`);
  return (text ? JSON.parse(text) : {}) as T;
}

export interface StartKuboOptions {
  /** Config profiles applied after `test`, e.g. 'unixfs-v1-2025'. */
  profiles?: string[];
  /** More config, key → JSON value, e.g. {'Routing.Type': '"dhtserver"'}. */
  config?: Record<string, string>;
}

/**
 * Starts a Kubo daemon in a fresh repo, initialised with the `test` profile (and `profiles`);
 * stopped and removed at `t`'s teardown.
 */
export async function startKubo(t: Test, name: string, options: StartKuboOptions = {}): Promise<KuboNode> {
  const binary = findKubo();
  const repo = mkdtempSync(join(tmpdir(), `r3mes-kubo-${name}-`));
  run(binary, repo, ['init', '--profile', ['test', ...(options.profiles ?? [])].join(',')]);
  // Only TCP on loopback (the test profile's swarm address); no relays, no AutoNAT service.
  for (const [key, value] of Object.entries({
    'Swarm.RelayClient.Enabled': 'false', 'Swarm.RelayService.Enabled': 'false', 'AutoNAT.ServiceMode': '"disabled"', ...options.config,
  })) run(binary, repo, ['config', '--json', key, value]);

  const child: ChildProcess = spawn(binary, ['daemon'], { env: { ...process.env, IPFS_PATH: repo, GOLOG_LOG_LEVEL: 'error' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(repo, { recursive: true, force: true });
  });

  const addresses = await new Promise<{ api: string; gateway: string }>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (!output.includes('Daemon is ready')) return;
      const api = /RPC API server listening on \/ip4\/([\d.]+)\/tcp\/(\d+)/.exec(output);
      const gateway = /Gateway server listening on \/ip4\/([\d.]+)\/tcp\/(\d+)/.exec(output);
      if (!api || !gateway) return reject(new Error(`kubo ${name}: ready, but no API/gateway address in its output:\n${output}`));
      resolve({ api: `http://${api[1]}:${api[2]}`, gateway: `http://${gateway[1]}:${gateway[2]}` });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => reject(new Error(`kubo ${name} exited (code ${code}) before it was ready:\n${output}`)));
  });

  const id = await kuboRpc<{ ID: string; Addresses: string[] | null }>(addresses.api, 'id');
  const swarm = (id.Addresses ?? []).filter((a) => a.startsWith('/ip4/127.0.0.1/tcp/'));
  if (swarm.length === 0) throw new Error(`kubo ${name} listens on no loopback TCP address: ${JSON.stringify(id.Addresses)}`);
  return { name, ...addresses, peerId: id.ID, swarm, repo };
}

/** Connects `a` to `b` over the loopback swarm (`ipfs swarm connect`). */
export async function connectKubo(a: KuboNode, b: KuboNode): Promise<void> {
  await kuboRpc(a.api, 'swarm/connect', { arg: b.swarm[0] });
}

/**
 * The providers of `cid` that `node` finds through content routing (`ipfs routing findprovs`):
 * peer id and the addresses the record carries.
 */
export async function kuboFindProviders(node: KuboNode, cid: string): Promise<Array<{ id: string; addrs: string[] }>> {
  const url = new URL('/api/v0/routing/findprovs', node.api);
  url.searchParams.set('arg', cid);
  url.searchParams.set('num-providers', '20');
  const response = await fetch(url, { method: 'POST', signal: AbortSignal.timeout(60_000) });
  const text = await response.text();
  if (!response.ok) throw new Error(`kubo findprovs: HTTP ${response.status} ${text.slice(0, 300)}`);
  const found: Array<{ id: string; addrs: string[] }> = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    // Routing events: Type 4 is "provider", its Responses the peers with their addresses.
    const event = JSON.parse(line) as { Type?: number; Responses?: Array<{ ID: string; Addrs: string[] | null }> | null };
    if (event.Type === 4) for (const r of event.Responses ?? []) found.push({ id: r.ID, addrs: r.Addrs ?? [] });
  }
  return found;
}

/** The peer ids `node` is connected to. */
export async function kuboPeers(node: KuboNode): Promise<string[]> {
  const answer = await kuboRpc<{ Peers: Array<{ Peer: string }> | null }>(node.api, 'swarm/peers');
  return (answer.Peers ?? []).map((p) => p.Peer);
}

