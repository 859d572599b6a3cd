import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** Finds the `cometbft` binary: $COMETBFT, then PATH, then Go's bin directory. */
export function findCometbft(): string {
  const candidates = [process.env.COMETBFT, 'cometbft'];
  try {
    const gopath = execFileSync('go', ['env', 'GOPATH'], { encoding: 'utf8' }).trim();
    candidates.push(join(gopath, 'bin', 'cometbft'));
  } catch {
    // no Go toolchain: PATH only
  }
  for (const candidate of candidates) {
    if (candidate === undefined) continue;
    try {
      execFileSync(candidate, ['version'], { stdio: 'ignore' });
      return candidate;
    } catch {
      // try the next
    }
  }
  throw new Error('cometbft not found: run `bash scripts/install-cometbft` (installs v0.38.25 with `go install`) or set $COMETBFT');
}

export function cometbftInit(binary: string, home: string): void {
  if (existsSync(join(home, 'config', 'genesis.json'))) throw new Error(`${home} is already initialised (config/genesis.json exists); use --overwrite or another --home`);
  execFileSync(binary, ['init', '--home', home], { stdio: 'ignore' });
}

/** Starts `cometbft start` for a home; its output goes to `logFile`-bound stream. */
export function startCometbft(binary: string, home: string, output: NodeJS.WritableStream): ChildProcess {
  const child = spawn(binary, ['start', '--home', home], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.pipe(output, { end: false });
  child.stderr?.pipe(output, { end: false });
  return child;
}
