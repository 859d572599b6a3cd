/**
 * poc from the command line against a running node: `r3mesd query poc epoch` answers the open
 * epoch (seed hex, phase, heights), a registered miner's `r3mesd tx poc submit-batch` is included
 * and its root is the README vector, `r3mesd query poc batches` reads it back, and a batch that
 * repeats a nonce is refused with poc code 11.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { R3MESD, cometbftBinary, startDevNode } from '../helpers/devnode.ts';

const run = promisify(execFile);

async function r3mesd(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(R3MESD, args, { env: { ...process.env, COMETBFT: cometbftBinary() } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? 1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

t.test('r3mesd tx poc submit-batch and r3mesd query poc epoch|batches', async (t) => {
  const keyHome = mkdtempSync(join(tmpdir(), 'r3mes-poc-cli-'));
  t.teardown(() => rmSync(keyHome, { recursive: true, force: true }));
  const added = await r3mesd(['keys', 'add', 'miner', '--home', keyHome, '--keyring-backend', 'test', '--output', 'json']);
  t.equal(added.code, 0, added.stderr);
  const miner = (JSON.parse(added.stdout) as { address: string }).address;
  const node = await startDevNode({ accounts: [{ address: miner, coins: '100000000ur3mes' }] });
  t.teardown(() => node.stop());
  const tx = (args: string[]) => r3mesd(['tx', ...args, '--home', keyHome, '--keyring-backend', 'test', '--node', node.rpcUrl, '-o', 'json']);

  const epochOut = await r3mesd(['query', 'poc', 'epoch', '--node', node.rpcUrl, '-o', 'json']);
  t.equal(epochOut.code, 0, epochOut.stderr);
  const { epoch } = JSON.parse(epochOut.stdout) as { epoch: { id: string; phase: string; seed: string; startHeight: string; submitEndHeight: string } };
  t.equal(epoch.phase, 'EPOCH_PHASE_SUBMISSION');
  t.match(epoch.seed, /^[0-9a-f]{64}$/, 'seed in hex');
  t.ok(BigInt(epoch.submitEndHeight) > BigInt(epoch.startHeight));

  const registered = await tx(['staking', 'register-miner', 'miner', '1000000ur3mes', 'webgpu', 'sm_90']);
  t.equal(registered.code, 0, registered.stderr);
  t.equal((JSON.parse(registered.stdout) as { code: number }).code, 0, registered.stdout);

  const submitted = await tx(['poc', 'submit-batch', 'miner', epoch.id, '0:5,1:17,7:12345']);
  t.equal(submitted.code, 0, submitted.stderr);
  t.equal((JSON.parse(submitted.stdout) as { code: number }).code, 0, submitted.stdout);

  const batchesOut = await r3mesd(['query', 'poc', 'batches', epoch.id, miner, '--node', node.rpcUrl, '-o', 'json']);
  t.equal(batchesOut.code, 0, batchesOut.stderr);
  const { batches } = JSON.parse(batchesOut.stdout) as { batches: Array<{ root: string; claimCount: string }> };
  t.equal(batches.length, 1);
  t.equal(batches[0].claimCount, '3');
  t.equal(Buffer.from(batches[0].root, 'base64').toString('hex'), '407ff68ce30e6753e9f3784039689c1b5479efb35e0bcef673007fbc4a6fd88b', 'the README vector');

  const again = await tx(['poc', 'submit-batch', 'miner', epoch.id, '7:12345']);
  const refused = again.code === 0 ? (JSON.parse(again.stdout) as { code: number; raw_log?: string }) : undefined;
  t.ok(again.code !== 0 || refused?.code === 11, `a repeated nonce is refused (poc 11): ${again.stderr}${again.stdout}`);
  t.match(`${again.stderr}${again.stdout}`, /duplicate claim/);
});
