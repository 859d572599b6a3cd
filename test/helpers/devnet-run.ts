/**
 * Runs the real `scripts/devnet` for an end-to-end test: a temp home, free ports, its output
 * collected, and a teardown that stops it like Ctrl-C and kills anything it left behind.
 * Shared by test/e2e/devnet-loop.test.ts and devnet-cheater.test.ts.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, freePort } from './devnode.ts';

export const DENOM = 'ur3mes';
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface AbciEvent { type: string; attributes: Array<{ key: string; value: string }> }
export const attrs = (e: AbciEvent) => Object.fromEntries(e.attributes.map((a) => [a.key, a.value])) as Record<string, string | undefined>;
export const amountOf = (coins: string | undefined) => BigInt(/^(\d+)$/.exec(coins ?? '')?.[1] ?? new RegExp(`(\\d+)${DENOM}`).exec(coins ?? '')?.[1] ?? '0');

/** Pids of live processes whose command line mentions `needle` (processes this test started). */
export function processesMentioning(needle: string): number[] {
  const out = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return out.split('\n').filter((line) => line.includes(needle)).map((line) => Number(line.trim().split(/\s+/)[0]));
}

export interface DevnetRun {
  devnet: ChildProcess;
  home: string;
  rpcUrl: string;
  restUrl: string;
  gatewayUrl: string;
  /** The serving node's OpenAI-compatible API base, http://127.0.0.1:<port>/v1. */
  modelUrl: string;
  /** Everything the devnet printed so far (stdout and stderr). */
  readonly output: string;
  exited: Promise<number | null>;
  rest<T>(path: string): Promise<T>;
  /** SIGTERM (Ctrl-C), then the exit code, or 'timeout' after 20 s. */
  stop(): Promise<number | null | 'timeout'>;
}

interface Teardown { teardown(fn: () => Promise<void>): void }

export async function startDevnetRun(t: Teardown, args: string[], homePrefix: string): Promise<DevnetRun> {
  const home = join(mkdtempSync(join(tmpdir(), homePrefix)), 'net');
  const [rpcPort, restPort, abciPort, p2pPort, gatewayPort, modelPort] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
  const rpcUrl = `http://127.0.0.1:${rpcPort}`;
  const restUrl = `http://127.0.0.1:${restPort}`;
  // tap's loader in NODE_OPTIONS would slow every process the devnet starts.
  const { NODE_OPTIONS: _tapLoader, ...env } = process.env;
  const devnet = spawn('bash', [join(ROOT, 'scripts', 'devnet'), ...args, '--home', home, '--rpc-port', String(rpcPort), '--rest-port', String(restPort),
    '--abci-port', String(abciPort), '--p2p-port', String(p2pPort), '--gateway-port', String(gatewayPort), '--model-port', String(modelPort)],
  { cwd: ROOT, env: { ...env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  devnet.stdout?.on('data', (d: Buffer) => { output += d.toString(); });
  devnet.stderr?.on('data', (d: Buffer) => { output += d.toString(); });
  const exited = new Promise<number | null>((done) => devnet.once('exit', (code) => done(code)));
  let stopped = false;
  const stop = async () => {
    stopped = true;
    devnet.kill('SIGTERM');
    return Promise.race([exited, sleep(20_000).then(() => 'timeout' as const)]);
  };
  t.teardown(async () => {
    if (!stopped) await stop();
    for (const pid of processesMentioning(home)) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    }
    try { process.kill(-devnet.pid!, 'SIGKILL'); } catch { /* group already empty */ }
    if (process.env.R3MES_KEEP_TEST_HOMES === undefined) rmSync(join(home, '..'), { recursive: true, force: true });
  });
  return {
    devnet, home, rpcUrl, restUrl, gatewayUrl: `http://127.0.0.1:${gatewayPort}`, modelUrl: `http://127.0.0.1:${modelPort}/v1`, exited, stop,
    get output() { return output; },
    async rest<T>(path: string): Promise<T> {
      const response = await fetch(restUrl + path, { signal: AbortSignal.timeout(10_000) });
      if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`);
      return response.json() as Promise<T>;
    },
  };
}
