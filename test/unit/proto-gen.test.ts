import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { ROOT } from '../helpers/devnode.ts';

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
}

t.test('npm run proto reproduces the committed proto/gen byte for byte', (t) => {
  const scratch = mkdtempSync(join(tmpdir(), 'r3mes-proto-'));
  t.teardown(() => rmSync(scratch, { recursive: true, force: true }));
  const out = join(scratch, 'gen');
  execFileSync('bash', [join(ROOT, 'scripts', 'proto-gen'), out], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  const committed = join(ROOT, 'proto', 'gen');
  const fresh = listFiles(out).map((path) => relative(out, path)).sort();
  t.same(fresh, listFiles(committed).map((path) => relative(committed, path)).sort(), 'same file list');
  for (const file of fresh) {
    t.ok(readFileSync(join(out, file)).equals(readFileSync(join(committed, file))), `${file} identical`);
  }
  t.end();
});
