/**
 * CLI start time: `r3mesd version` and `r3mesd --help` as a user runs them (bin/r3mesd: the
 * compiled module dist/r3mesd.mjs), against the baseline of running the TypeScript sources through
 * tsx's loader (how bin/r3mesd ran before), and plain `node -e 0` (Node's own floor).
 * Each command runs `runs` times after one warm-up; the table gives median wall time and median
 * CPU time (user + sys of the child, from its rusage), and the ratio to the tsx baseline.
 * Usage: npx tsx bench/cli-start.ts [runs=9]
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const runs = Number(process.argv[2] ?? 9);
const tsxLoader = `file://${join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')}`;

interface Case { readonly name: string; readonly cmd: string; readonly args: string[] }
const cases: Case[] = [
  { name: 'node -e 0 (floor)', cmd: 'node', args: ['-e', '0'] },
  { name: 'tsx sources: version', cmd: 'node', args: ['--no-warnings', '--import', tsxLoader, join(ROOT, 'app/cli/main.ts'), 'version'] },
  { name: 'bin/r3mesd version', cmd: join(ROOT, 'bin/r3mesd'), args: ['version'] },
  { name: 'tsx sources: --help', cmd: 'node', args: ['--no-warnings', '--import', tsxLoader, join(ROOT, 'app/cli/main.ts'), '--help'] },
  { name: 'bin/r3mesd --help', cmd: join(ROOT, 'bin/r3mesd'), args: ['--help'] },
  { name: 'tsx sources: worker --version', cmd: 'node', args: ['--no-warnings', '--conditions=r3mes-source', '--import', tsxLoader, join(ROOT, 'worker/src/cli/main.ts'), '--version'] },
  { name: 'r3mes-worker --version', cmd: join(ROOT, 'worker/bin/r3mes-worker'), args: ['--version'] },
  { name: 'tsx sources: worker --help', cmd: 'node', args: ['--no-warnings', '--conditions=r3mes-source', '--import', tsxLoader, join(ROOT, 'worker/src/cli/main.ts'), '--help'] },
  { name: 'r3mes-worker --help', cmd: join(ROOT, 'worker/bin/r3mes-worker'), args: ['--help'] },
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];


function runOnce(c: Case): { wall: number; cpu: number } {
  const script = `start=$(date +%s%N); "$@" >/dev/null 2>&1 || exit 1; end=$(date +%s%N); echo $(( (end-start)/1000 )); times`;
  const out = spawnSync('bash', ['-c', script, 'bench', c.cmd, ...c.args], { encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`${c.name} failed: ${out.stderr}`);
  const lines = out.stdout.trim().split('\n');
  const wall = Number(lines[0]) / 1e6;
  // `times` prints the shell's own line, then the children's: "0m0.412s 0m0.051s".
  const [user, sys] = lines[2].trim().split(/\s+/).map((t) => {
    const m = /^(\d+)m([\d.]+)s$/.exec(t);
    return m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
  });
  return { wall, cpu: user + sys };
}

console.log(`CLI start, ${runs} runs each (median), load average ${(await import('node:os')).loadavg()[0].toFixed(2)}`);
console.log('| command | wall s | CPU s | CPU vs tsx |');
console.log('|---|---|---|---|');
const results = new Map<string, { wall: number; cpu: number }>();
for (const c of cases) {
  runOnce(c); // warm-up (page cache; bin/r3mesd builds dist/ if stale)
  const samples = Array.from({ length: runs }, () => runOnce(c));
  results.set(c.name, { wall: median(samples.map((s) => s.wall)), cpu: median(samples.map((s) => s.cpu)) });
}
for (const c of cases) {
  const r = results.get(c.name)!;
  const worker = c.name.includes('worker');
  const base = results.get(c.name.endsWith('--help') ? (worker ? 'tsx sources: worker --help' : 'tsx sources: --help') : (worker ? 'tsx sources: worker --version' : 'tsx sources: version'))!;
  console.log(`| ${c.name} | ${r.wall.toFixed(3)} | ${r.cpu.toFixed(3)} | ${c.name.startsWith('node -e') ? '—' : (r.cpu / base.cpu).toFixed(2)} |`);
}
