/**
 * The dashboard in a real browser: Debian's headless Chromium, driven by playwright-core, loads
 * `GET /` of a real node's REST server while the node runs short training windows. The node's
 * funded key is the genesis validator (the only aggregation proposer); a second key registers as
 * miner and submits one gradient; the validator commits and reveals. The page must show the
 * height moving, that window's row appearing and reaching `finalized`, its submission, the loss
 * chart point, and the validator and miner with their stakes — with no script errors and no
 * Content-Security-Policy violations. A second test serves the page beside a scripted API (the
 * verification module's disputes, which a devnet cannot produce on demand, and a loss history).
 */
import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { OfflineDirectSigner } from '@cosmjs/proto-signing';
import { calculateFee, GasPrice, type SigningStargateClient } from '@cosmjs/stargate';
import { TxRaw } from 'cosmjs-types/cosmos/tx/v1beta1/tx';
import { Keyring } from '../../app/keys/index.ts';
import { connectSigningClient, DEFAULT_GAS_PRICE } from '../../app/client/index.ts';
import type { ModuleInterface } from '../../app/core/module.ts';
import { stakingInterface } from '../../modules/staking/interface.ts';
import { trainingInterface } from '../../modules/training/interface.ts';
import { commitHash } from '../../modules/training/assignment.ts';
import { cidOf } from '../../worker/src/storage/cid.ts';
import Fastify from 'fastify';
import { registerDashboardRoutes } from '../../app/rest/dashboard/routes.ts';
import { startDevNode, type DevNode } from '../helpers/devnode.ts';
import { DEVNET_VERSION_JSON } from '../../worker/test/helpers/serve.ts';

const WORKER_BIN = fileURLToPath(new URL('../../worker/bin/r3mes-worker', import.meta.url));

/** A free TCP port on 127.0.0.1 (listened on, then released). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A real serving node (`r3mes-worker serve-model`, offline on the devnet-size model): its base URL once it listens. */
async function startServingNode(dir: string, corsOrigin: string): Promise<{ url: string; proc: ChildProcess }> {
  const versionFile = join(dir, 'model-version.json');
  writeFileSync(versionFile, JSON.stringify(DEVNET_VERSION_JSON));
  const proc = spawn(WORKER_BIN, ['serve-model', '--model-version-file', versionFile, '--listen', '127.0.0.1:0', '--backend', 'cpu', '--cors-origin', corsOrigin], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const url = await new Promise<string>((resolve, reject) => {
    proc.stderr!.on('data', (b: Buffer) => {
      log += b.toString();
      const m = /OpenAI-compatible API at (http:\/\/[^\s]+)\/v1/.exec(log);
      if (m) resolve(m[1]);
    });
    proc.stdout!.resume();
    proc.on('exit', (code) => reject(new Error(`serve-model exited ${code}: ${log}`)));
  });
  return { url, proc };
}

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
  '--no-first-run', '--disable-component-update', '--disable-sync'];
const FUNDS = 1_000_000_000_000n;
const SELF_STAKE = 100_000_000_000n;
const MINER_STAKE = 2_000_000n;
// Short windows (training README, "Params"); each tx here is signed in-process and lands in the
// next block, so four blocks of commit and of reveal leave room to spare.
const TRAINING = { windowBlocks: '8', challengePeriodBlocks: '1', commitPeriodBlocks: '4', revealPeriodBlocks: '4' };
const LOSS_BEFORE = 5 * 65536; // Q16 nats/byte (worker/SPEC.md 4.8): 5.0
const LOSS_AFTER = 3 * 65536 + 32768; // 3.5

type Json = Record<string, any>;

async function getJson(base: string, path: string): Promise<{ status: number; body: Json }> {
  const response = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(5000) });
  return { status: response.status, body: (await response.json()) as Json };
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, everyMs = 150): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = ` (last error: ${(error as Error).message})`;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** The message a CLI command of `module` would build: the same ModuleInterface description. */
function msg(module: ModuleInterface, name: string, signer: string, args: Record<string, string>, options: Record<string, string> = {}) {
  const spec = module.txs.find((tx) => tx.name === name);
  if (spec === undefined) throw new Error(`${module.module} has no tx ${name}`);
  return { typeUrl: spec.typeUrl, value: spec.build(signer, args, options) };
}

t.test('dashboard in headless Chromium: live height, a window row that reaches finalized, submissions, loss chart, stakes', async (t) => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run scripts/install-browser`);
  const keep = process.env.R3MES_KEEP_TEST_HOMES !== undefined;
  const scratch = mkdtempSync(join(tmpdir(), 'r3mes-dashboard-'));
  t.teardown(() => { if (!keep) rmSync(scratch, { recursive: true, force: true }); });

  const keyring = Keyring.open(join(scratch, 'keys'), 'test');
  const validator = await keyring.add('val');
  const miner = await keyring.add('miner');

  let node: DevNode | undefined;
  let browser: Browser | undefined;
  const clients: SigningStargateClient[] = [];
  // Teardowns run in reverse order: clients, then the browser, then the node.
  t.teardown(async () => node?.stop());
  t.teardown(async () => browser?.close());
  t.teardown(() => { for (const client of clients) client.disconnect(); });

  node = await startDevNode({
    accounts: [{ address: validator.address, coins: `${FUNDS}ur3mes` }, { address: miner.address, coins: `${FUNDS}ur3mes` }],
    validator: { address: validator.address, selfStake: `${SELF_STAKE}ur3mes`, moniker: 'dash-validator' },
    moduleParams: { training: TRAINING },
    timeoutCommit: '500ms',
  });
  const rest = node.restUrl;
  await waitFor('the REST server', 30_000, async () => ((await getJson(rest, '/health')).status === 200 ? true : undefined));

  // --- The page itself, over plain HTTP.
  for (const path of ['/', '/dashboard']) {
    const response = await fetch(`${rest}${path}`, { signal: AbortSignal.timeout(5000) });
    t.equal(response.status, 200, `GET ${path}`);
    t.match(response.headers.get('content-type') ?? '', /^text\/html; charset=utf-8/, `${path}: HTML`);
    t.match(response.headers.get('content-security-policy') ?? '', /default-src 'none'.*script-src 'sha256-.*connect-src 'self'/, `${path}: CSP with script hashes, same-origin fetches only`);
    const html = await response.text();
    t.match(html, /<title>R3MES dashboard<\/title>/);
    // The one URL in the page is the SVG namespace, a name that is never fetched.
    t.notMatch(html.replaceAll('http://www.w3.org/2000/svg', ''), /<script[^>]+src=|<link[^>]+href=|https?:\/\//, `${path}: self-contained (no external script, stylesheet or URL)`);
  }
  const openapi = await getJson(rest, '/openapi.json');
  t.notOk(Object.keys(openapi.body.paths as Json).some((p) => p === '/' || p === '/dashboard'), 'the page is not part of the JSON API description');

  // --- Chromium opens the dashboard.
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30_000 });
  const page: Page = await browser.newPage({ viewport: { width: 1400, height: 1300 } });
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    // A 404 of an optional route (a module this node does not have) is logged by Chromium as a
    // failed resource; the page shows "—" for it. Anything else is a problem.
    if (message.type() === 'error' && !/Failed to load resource: the server responded with a status of 404/.test(message.text())) {
      problems.push(`console: ${message.text()}`);
    }
  });
  page.setDefaultTimeout(20_000);
  await page.goto(`${rest}/`, { waitUntil: 'load', timeout: 20_000 });
  await page.waitForSelector('[data-testid="connection"][data-state="live"]');
  t.equal(await page.textContent('[data-testid="chain-id"]'), node.chainId, 'header: chain id');

  const shownHeight = async () => BigInt((await page.getAttribute('[data-testid="height"]', 'data-height')) || '0');
  const firstHeight = await shownHeight();
  t.ok(firstHeight >= 2n, `header: height ${firstHeight}`);
  const laterHeight = await waitFor('the shown height to move', 15_000, async () => {
    const h = await shownHeight();
    return h > firstHeight ? h : undefined;
  }, 250);
  t.ok(laterHeight > firstHeight, `height updates live (${firstHeight} → ${laterHeight}) without a reload`);
  await page.waitForSelector(`[data-testid="validator-row-${validator.address}"][data-status="bonded"]`);
  t.equal(await page.textContent(`[data-testid="validator-stake-${validator.address}"]`), '100,000', 'validator stake in R3MES');

  // --- A window with one submission, committed and revealed by the only validator.
  const sign = async (signer: OfflineDirectSigner) => {
    const client = await connectSigningClient(node!.rpcUrl, signer);
    clients.push(client);
    return client;
  };
  const minerClient = await sign(await keyring.signer('miner'));
  const validatorClient = await sign(await keyring.signer('val'));
  /** Sign, broadcast through REST (CheckTx), then poll the REST tx lookup until a block has it (no 3 s CosmJS poll). */
  const send = async (client: SigningStargateClient, from: string, message: ReturnType<typeof msg>, what: string): Promise<Json> => {
    const gas = await client.simulate(from, [message], undefined);
    const signed = await client.sign(from, [message], calculateFee(Math.ceil(gas * 1.5), GasPrice.fromString(DEFAULT_GAS_PRICE)), '');
    const txBytes = Buffer.from(TxRaw.encode(signed).finish()).toString('base64');
    const response = await fetch(`${rest}/cosmos/tx/v1beta1/txs`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tx_bytes: txBytes, mode: 'BROADCAST_MODE_SYNC' }), signal: AbortSignal.timeout(10_000),
    });
    const checked = (await response.json()) as Json;
    if (checked.tx_response?.code !== 0) throw new Error(`${what}: CheckTx refused it: ${JSON.stringify(checked)}`);
    const hash = checked.tx_response.txhash as string;
    const found = await waitFor(`${what} (${hash}) in a block`, 20_000, async () => {
      const answer = await getJson(rest, `/cosmos/tx/v1beta1/txs/${hash}`);
      return answer.status === 200 ? answer.body : undefined;
    });
    t.equal(found.tx_response.code, 0, `${what}: ${found.tx_response.raw_log}`);
    return found;
  };
  const windowOf = async (id: bigint): Promise<Json> => (await getJson(rest, `/r3mes/training/v1/windows/${id}`)).body.window as Json;

  await send(minerClient, miner.address, msg(stakingInterface, 'register-miner', miner.address, { stake: `${MINER_STAKE}ur3mes`, backend: 'webgpu', 'gpu-arch': 'sm_90' }), 'register-miner');
  await page.waitForSelector(`[data-testid="miner-row-${miner.address}"][data-status="active"]`);
  t.equal(await page.textContent(`[data-testid="miner-stake-${miner.address}"]`), '2', 'miner stake in R3MES');

  // The next window, so its whole collect phase is ahead.
  const current = (await getJson(rest, '/r3mes/training/v1/current_window')).body.window as Json | undefined;
  if (current === undefined) throw new Error('no window is collecting');
  const windowId = BigInt(current.id) + 1n;
  const opened = await waitFor(`window ${windowId} to open`, 30_000, async () => {
    const answer = await getJson(rest, `/r3mes/training/v1/windows/${windowId}`);
    return answer.status === 200 ? (answer.body.window as Json) : undefined;
  }, 200);
  await page.waitForSelector(`[data-testid="window-row-${windowId}"][data-status="collecting"]`);
  t.pass(`window ${windowId}'s row appears as collecting`);

  const assignment = (await getJson(rest, `/r3mes/training/v1/windows/${windowId}/assignment/${miner.address}`)).body;
  const gradient = randomBytes(4096);
  const gradientCid = (await cidOf(gradient)).toString();
  await send(minerClient, miner.address, msg(trainingInterface, 'submit-gradient', miner.address, {
    'window-id': String(windowId), subnet: assignment.subnet ?? '0', 'model-version': opened.modelVersion, 'gradient-cid': gradientCid,
    'gradient-hash': createHash('sha256').update(gradient).digest('hex'), 'trace-root': randomBytes(32).toString('hex'), 'chunk-index': assignment.chunkIndex ?? '0',
  }, { 'loss-before': String(LOSS_BEFORE), 'loss-after': String(LOSS_AFTER), backend: 'webgpu' }), 'submit-gradient');

  const aggregating = await waitFor(`window ${windowId} to draw its proposers`, 30_000, async () => {
    const w = await windowOf(windowId);
    return w.status === 'WINDOW_STATUS_AGGREGATING' && (w.proposers ?? []).length > 0 ? w : undefined;
  }, 100);
  t.same(aggregating.proposers, [validator.address], 'the genesis validator is the proposer');
  await page.waitForSelector(`[data-testid="window-row-${windowId}"][data-status="aggregating"]`);

  const result = randomBytes(2048);
  const resultCid = (await cidOf(result)).toString();
  const resultHash = createHash('sha256').update(result).digest();
  const nonce = randomBytes(32);
  await send(validatorClient, validator.address, msg(trainingInterface, 'commit-aggregation', validator.address, {
    'window-id': String(windowId), commitment: Buffer.from(commitHash(resultCid, resultHash, nonce)).toString('hex'),
  }), 'commit-aggregation');
  // Sent once block reveal_start is committed: CometBFT reports a height before the app has
  // committed it, so at reveal_start − 1 the fee simulation could still run at reveal_start − 1
  // (a loaded machine showed it). It lands in a later block, still inside the reveal phase.
  await node.waitForHeight(BigInt(opened.revealStartHeight), 30_000);
  await send(validatorClient, validator.address, msg(trainingInterface, 'reveal-aggregation', validator.address, {
    'window-id': String(windowId), 'result-cid': resultCid, 'result-hash': resultHash.toString('hex'), nonce: nonce.toString('hex'),
  }), 'reveal-aggregation');

  // --- The row reaches finalized in the page, with the model update.
  const row = `[data-testid="window-row-${windowId}"]`;
  await page.waitForSelector(`${row}[data-status="finalized"]`, { timeout: 30_000 });
  t.pass(`window ${windowId}'s row reaches finalized`);
  t.equal(await page.textContent(`[data-testid="window-status-${windowId}"]`), 'finalized', 'status badge');
  t.equal(await page.textContent(`[data-testid="window-result-${windowId}"]`), resultCid, 'model update CID in the row');
  t.equal(await page.textContent(`[data-testid="window-submissions-${windowId}"]`), '1', 'submission count in the row');
  t.equal(await page.getAttribute(`[data-testid="submissions-window-${windowId}"] tr[data-testid^="submission-row-"]`, 'data-status'), 'accepted', 'the submission, accepted');
  const point = await page.getAttribute(`[data-testid="loss-point-${windowId}"]`, 'data-loss-after');
  t.equal(Number(point), LOSS_AFTER / 65536, 'loss chart: mean loss after of the window, in nats/byte');
  t.equal(await page.getAttribute('[data-testid="beacon"]', 'data-available') !== null, true, 'beacon shown (a value, or "—" when the node has no beacon route)');

  const shot = join(scratch, 'dashboard.png');
  await page.screenshot({ path: shot, fullPage: true });
  t.ok(existsSync(shot), `screenshot ${shot}${keep ? '' : ' (set R3MES_KEEP_TEST_HOMES to keep it)'}`);
  t.same(problems, [], 'no script errors or CSP violations in the page');
});

/** A headless Chromium page that records script errors and CSP violations. */
async function openPage(browser: Browser, url: string, problems: string[]): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1300 } });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && !/Failed to load resource: the server responded with a status of 404/.test(message.text())) problems.push(`console: ${message.text()}`);
  });
  page.setDefaultTimeout(15_000);
  await page.goto(url, { waitUntil: 'load', timeout: 15_000 });
  return page;
}

t.test('dashboard against a scripted API: disputes with panels and votes, a resolved dispute, loss history, jailed validator, beacon', async (t) => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run scripts/install-browser`);
  const keep = process.env.R3MES_KEEP_TEST_HOMES !== undefined;
  const scratch = mkdtempSync(join(tmpdir(), 'r3mes-dashboard-stub-'));
  t.teardown(() => { if (!keep) rmSync(scratch, { recursive: true, force: true }); });

  const addr = (n: number) => `r3mes1${String(n).repeat(38).slice(0, 38)}`;
  const b64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64');
  const expectedHash = b64('aa'.repeat(32));
  let height = 100;
  let disputeTwoOpen = true;
  const windowJson = (id: number, status: string, extra: Json = {}) => ({
    id: String(id), status: `WINDOW_STATUS_${status}`, openHeight: String(id * 10), collectEndHeight: String(id * 10 + 10),
    commitStartHeight: String(id * 10 + 12), revealStartHeight: String(id * 10 + 14), revealEndHeight: String(id * 10 + 16), ...extra,
  });
  const windows = new Map<number, Json>([
    [1, windowJson(1, 'FINALIZED', { submissionCount: '2', acceptedCount: '2', proposers: [addr(1)], resultCid: 'bafkreiaaaa1', lossBase: String(5 * 65536), lossAggregate: String(4.5 * 65536) })],
    [2, windowJson(2, 'FAILED', { failureReason: 'no majority', submissionCount: '1', acceptedCount: '1', proposers: [addr(1)] })],
    // Proof of Learning: window 3's update made the held-out loss worse, so the head kept its base.
    [3, windowJson(3, 'NOT_APPLIED', { submissionCount: '2', acceptedCount: '1', proposers: [addr(1)], resultCid: 'bafkreiaaaa3', lossBase: String(4.5 * 65536), lossAggregate: String(4.75 * 65536) })],
    [4, windowJson(4, 'FINALIZED', { submissionCount: '1', acceptedCount: '1', proposers: [addr(1)], resultCid: 'bafkreiaaaa4', lossBase: String(4.5 * 65536), lossAggregate: String(4 * 65536) })],
    [5, windowJson(5, 'AGGREGATING', { submissionCount: '1', acceptedCount: '1', proposers: [addr(1)] })],
    [6, windowJson(6, 'COLLECTING')],
  ]);
  let submissionId = 0;
  const submission = (window: number, lossBefore: number, lossAfter: number, status = 'ACCEPTED') => ({
    id: String(++submissionId), miner: addr(2), windowId: String(window), subnet: '1', chunkIndex: String(7 * submissionId), lossBefore: String(lossBefore),
    lossAfter: String(lossAfter), backend: 'webgpu', status: `SUBMISSION_STATUS_${status}`, gradientCid: `bafkreigradient${submissionId}`,
  });
  const Q = 65536;
  const submissions = new Map<number, Json[]>([
    [1, [submission(1, 6 * Q, 5 * Q), submission(1, 6 * Q, 4 * Q)]], // mean after 4.5
    [2, [submission(2, 5 * Q, 4 * Q)]],
    // The rejected one does not count in the mean.
    [3, [submission(3, 4 * Q, 3 * Q), submission(3, 4 * Q, 9 * Q, 'REJECTED')]],
    [4, [submission(4, 3 * Q, 2 * Q)]],
    [5, [submission(5, 2 * Q, Q + Q / 2)]],
    [6, []],
  ]);
  const seat = (arbiter: string, extra: Json = {}) => ({ arbiter, round: '1', ...extra });
  const disputeOne = {
    id: '1', submissionId: '3', windowId: '3', miner: addr(2), challenger: addr(3), bond: '10000000', origin: 'DISPUTE_ORIGIN_CHALLENGE',
    stage: 'DISPUTE_STAGE_L3_VOTING', outcome: 'DISPUTE_OUTCOME_UNSPECIFIED', openedHeight: '40', nextActionHeight: '150', expectedHash,
    panel: [seat(addr(4), { voted: true, resultHash: expectedHash, voteHeight: '95' }), seat(addr(5), { voted: true, resultHash: b64('bb'.repeat(32)), voteHeight: '97' }), seat(addr(6))],
  };
  const disputeTwo = { id: '2', submissionId: '4', windowId: '4', miner: addr(2), challenger: addr(3), bond: '10000000', origin: 'DISPUTE_ORIGIN_CHALLENGE', stage: 'DISPUTE_STAGE_L2_ANSWER', openedHeight: '60', nextActionHeight: '105', expectedHash };
  const disputeTwoResolved = { ...disputeTwo, stage: 'DISPUTE_STAGE_RESOLVED', outcome: 'DISPUTE_OUTCOME_CHALLENGE_REJECTED', resolvedHeight: '104', resolution: 'verifier agreed with the miner' };
  // Bisection (verification README "Bisection"), as the chain's JSON has it (proto3 JSON: defaults left out).
  const h32 = (c: string) => b64(c.repeat(64));
  const move = (party: string, step: string, height: string, deadlineHeight: string, extra: Json = {}) => ({ party, step, height, deadlineHeight, hash: h32(party === 'miner' ? 'c' : 'd'), ...extra });
  const disputeThree = {
    id: '3', submissionId: '5', windowId: '5', miner: addr(8), challenger: addr(3), bond: '10000000', origin: 'DISPUTE_ORIGIN_CHALLENGE', stage: 'DISPUTE_STAGE_BISECTION',
    openedHeight: '70', nextActionHeight: '140', expectedHash, bisectDisputer: addr(3), bisectSteps: '8', bisectHi: '8', bisectHiHash: h32('c'), bisectLoHash: h32('e'),
    bisectMoves: '4', bisectDisputerRoot: h32('f'),
    bisectHistory: [
      move('miner', '8', '72', '80'), move('disputer', '8', '74', '82', { hi: '8' }),
      move('miner', '0', '76', '84', { hi: '8' }), move('disputer', '0', '78', '86', { agree: true, hi: '8' }),
    ],
  };
  const disputeFour = {
    id: '4', submissionId: '6', windowId: '5', miner: addr(9), challenger: addr(3), bond: '10000000', origin: 'DISPUTE_ORIGIN_CHALLENGE', stage: 'DISPUTE_STAGE_RESOLVED',
    outcome: 'DISPUTE_OUTCOME_MINER_AT_FAULT', openedHeight: '50', resolvedHeight: '99', expectedHash, resolution: 'a majority of fault votes',
    bisectDisputer: addr(3), bisectSteps: '2', bisectLo: '1', bisectHi: '2', bisectHiHash: h32('c'), bisectLoHash: h32('e'), bisectMoves: '6', bisectOneStep: true, bisectDisputerRefuted: true,
    bisectHistory: [
      move('miner', '2', '52', '60'), move('disputer', '2', '53', '62', { hi: '2' }), move('miner', '0', '54', '63', { hi: '2' }),
      move('disputer', '0', '55', '64', { agree: true, hi: '2' }), move('miner', '1', '56', '65', { hi: '2' }), move('disputer', '1', '57', '66', { agree: true, lo: '1', hi: '2' }),
    ],
    panel: [seat(addr(4), { voted: true, resultHash: h32('a'), voteHeight: '90' })],
  };
  const disputeFive = {
    id: '5', submissionId: '7', windowId: '5', miner: addr(9), challenger: addr(3), bond: '10000000', origin: 'DISPUTE_ORIGIN_CHALLENGE', stage: 'DISPUTE_STAGE_RESOLVED',
    outcome: 'DISPUTE_OUTCOME_CHALLENGE_REJECTED', openedHeight: '30', resolvedHeight: '45', expectedHash, resolution: 'bisection: the disputer did not answer step 4 by height 44',
    bisectDisputer: addr(3), bisectSteps: '4', bisectMoves: '1',
    bisectHistory: [move('miner', '4', '34', '40'), { party: 'disputer', step: '4', height: '45', deadlineHeight: '44', missed: true }],
  };

  // A real serving node beside the page (issue 14: the prompt box), allowing exactly the page's origin.
  const pagePort = await freePort();
  const pageOrigin = `http://127.0.0.1:${pagePort}`;
  const serving = await startServingNode(scratch, pageOrigin);
  t.teardown(() => { serving.proc.kill('SIGTERM'); });
  const api = Fastify();
  registerDashboardRoutes(api, { modelApi: `${serving.url}/v1/` });
  api.get('/health', async () => ({ status: 'ok', network: 'r3mes-stub-1', latest_block_height: String(++height), latest_block_time: '2026-01-01T12:00:00Z', catching_up: false }));
  api.get('/openapi.json', async () => ({ paths: Object.fromEntries(['/health', '/r3mes/randomness/v1/beacons/latest', '/r3mes/randomness/v1/beacons/{height}', '/r3mes/verification/v1/disputes', '/r3mes/verification/v1/disputes/{dispute_id}'].map((p) => [p, { get: {} }])) }));
  api.get('/r3mes/randomness/v1/beacons/latest', async () => ({ beacon: { height: String(height), value: 'c0ffee'.repeat(10) + 'abcd', proposer: 'AB'.repeat(20), proof: '00'.repeat(80) } }));
  api.get('/r3mes/training/v1/current_window', async () => ({ window: windows.get(6) }));
  api.get<{ Params: { id: string } }>('/r3mes/training/v1/windows/:id', async (request, reply) => {
    const window = windows.get(Number(request.params.id));
    return window === undefined ? reply.code(404).send({ code: 5, message: 'window not found', details: [] }) : { window };
  });
  api.get<{ Params: { id: string } }>('/r3mes/training/v1/windows/:id/submissions', async (request) => ({ submissions: submissions.get(Number(request.params.id)) ?? [] }));
  api.get('/r3mes/staking/v1/validators', async () => ({ validators: [
    { validator: { operatorAddress: addr(1), moniker: 'alpha', commissionRate: '0.1', tokens: '100000000000' }, power: '100000' },
    { validator: { operatorAddress: addr(7), moniker: 'beta <b>bold</b>', commissionRate: '0.05', tokens: '1500000', jailed: true } },
  ] }));
  api.get('/r3mes/staking/v1/miners', async () => ({ miners: [{ address: addr(2), stake: '1000000', backend: 'BACKEND_CLASS_WEBGPU', gpuArch: 'sm_90', registeredHeight: '12' }] }));
  // The chain keeps resolved disputes: status=all lists them with the open ones (newest first).
  const disputeQueries: Array<Record<string, string>> = [];
  api.get<{ Querystring: Record<string, string> }>('/r3mes/verification/v1/disputes', async (request) => {
    disputeQueries.push(request.query);
    const all = [disputeOne, disputeTwoOpen ? disputeTwo : disputeTwoResolved, disputeThree, disputeFour, disputeFive];
    const listed = request.query.status === 'all' ? all : all.filter((d) => d.stage !== 'DISPUTE_STAGE_RESOLVED');
    return { disputes: request.query['pagination.reverse'] === 'true' ? listed.reverse() : listed, pagination: { next_key: null, total: String(listed.length) } };
  });
  const url = await api.listen({ host: '127.0.0.1', port: pagePort });
  t.teardown(() => api.close());
  const csp = (await fetch(`${url}/dashboard`)).headers.get('content-security-policy') ?? '';
  t.match(csp, new RegExp(`connect-src 'self' ${serving.url.replace(/[.]/g, '\\.')}(;|$)`), 'the CSP lets the page reach exactly the serving node\'s origin besides its own');

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30_000 });
  t.teardown(() => browser.close());
  const problems: string[] = [];
  const page = await openPage(browser, `${url}/dashboard`, problems);
  await page.waitForSelector('[data-testid="connection"][data-state="live"]');

  t.equal(await page.textContent('[data-testid="chain-id"]'), 'r3mes-stub-1');
  t.match(await page.textContent('[data-testid="beacon"]'), /^c0ffeec0ffee…eeabcd @\d+$/, 'beacon value (hex, shortened) and its height');
  for (const [id, status] of [[1, 'finalized'], [2, 'failed'], [3, 'not-applied'], [4, 'finalized'], [5, 'aggregating'], [6, 'collecting']] as const) {
    t.equal(await page.getAttribute(`[data-testid="window-row-${id}"]`, 'data-status'), status, `window ${id} ${status}`);
  }
  t.equal(await page.textContent('[data-testid="window-result-2"]'), 'no majority', 'failure reason of a failed window');
  t.equal(await page.textContent('[data-testid="window-result-5"]'), 'reveal phase', 'phase of an aggregating window from the height');

  // Loss chart: one point per window with counted submissions, mean loss_after / 65536, rejected ones left out.
  t.equal(await page.getAttribute('[data-testid="loss-chart"]', 'data-points'), '5');
  const means = await Promise.all([1, 2, 3, 4, 5].map(async (id) => Number(await page.getAttribute(`[data-testid="loss-point-${id}"]`, 'data-loss-after'))));
  t.same(means, [4.5, 4, 3, 2, 1.5], 'mean loss after per window');
  const ys = await Promise.all([1, 5].map(async (id) => Number(await page.getAttribute(`[data-testid="loss-point-${id}"]`, 'cy'))));
  t.ok(ys[1] > ys[0], 'a lower loss is drawn lower');
  t.equal(await page.locator('[data-testid^="submissions-window-"]').count(), 3, 'submissions of the three latest windows that have any');

  // Model head chart: the held-out loss after each evaluated window; a not-applied window keeps the base's.
  t.equal(await page.getAttribute('[data-testid="head-chart"]', 'data-points'), '3', 'one point per evaluated, closed window');
  const head = await Promise.all([1, 3, 4].map(async (id) => [await page.getAttribute(`[data-testid="head-point-${id}"]`, 'data-applied'), Number(await page.getAttribute(`[data-testid="head-point-${id}"]`, 'data-loss'))]));
  t.same(head, [['true', 4.5], ['false', 4.5], ['true', 4]], 'applied: loss with the update; not applied: the base\'s loss');
  t.match(await page.textContent('[data-testid="window-result-3"]'), /^not applied: bafkreiaaaa3 \(held-out 4\.5000 → 4\.7500\)$/, 'the not-applied window shows both losses');

  // Disputes: stage, panel seats and their votes.
  t.equal(await page.getAttribute('[data-testid="dispute-row-1"]', 'data-stage'), 'l3-voting');
  t.same(await page.locator('[data-testid="dispute-panel-1"] tbody tr').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-vote'))),
    ["miner's result", 'other result bbbbbbbb…bbbb', '—'], 'each arbiter seat with its vote');
  t.equal(await page.getAttribute('[data-testid="dispute-row-2"]', 'data-stage'), 'l2-answer');
  disputeTwoOpen = false;
  await page.waitForSelector('[data-testid="dispute-row-2"][data-stage="resolved"]');
  t.equal(await page.textContent('[data-testid="dispute-outcome-2"]'), 'challenge rejected', 'a dispute that left the open list shows how it ended');
  t.ok(disputeQueries.some((q) => q.status === 'all' && q['pagination.reverse'] === 'true'), 'the page reads open and resolved disputes from chain state, newest first');
  // A page opened after the dispute ended still shows it: the history is the chain's, not the page's.
  const later = await openPage(browser, `${url}/dashboard`, problems);
  await later.waitForSelector('[data-testid="dispute-row-2"][data-stage="resolved"]');
  t.equal(await later.textContent('[data-testid="dispute-outcome-2"]'), 'challenge rejected', 'a page opened after the fact shows the resolved dispute');
  await later.close();

  // Staking, with user-written text shown as text.
  t.equal(await page.getAttribute(`[data-testid="validator-row-${addr(7)}"]`, 'data-status'), 'jailed');
  t.equal(await page.textContent(`[data-testid="validator-stake-${addr(7)}"]`), '1.5');
  t.equal(await page.locator(`[data-testid="validator-row-${addr(7)}"] b`).count(), 0, 'a moniker with markup is not parsed as HTML');
  t.equal(await page.getAttribute(`[data-testid="miner-row-${addr(2)}"]`, 'data-status'), 'challenged', 'a miner with an open dispute shows as challenged, not active');

  // Bisection view: the rounds from chain state — stage, whose move is due by when, each move, the outcome.
  t.equal(await page.getAttribute('[data-testid="dispute-row-3"]', 'data-stage'), 'bisection');
  t.same(await page.locator('[data-testid="dispute-rounds-3"] tbody tr').evaluateAll((rows) => rows.map((row) => [row.getAttribute('data-party'), row.getAttribute('data-action'), row.getAttribute('data-step'), row.getAttribute('data-interval')])),
    [['miner', 'revealed', '8', '—'], ['disputer', 'disputed', '8', '[0, 8]'], ['miner', 'revealed', '0', '[0, 8]'], ['disputer', 'agreed', '0', '[0, 8]']], 'each move: who, what, which step, the interval it left');
  t.same([await page.getAttribute('[data-testid="dispute-waiting-3"]', 'data-party'), await page.getAttribute('[data-testid="dispute-waiting-3"]', 'data-step')], ['miner', '4'], 'the miner must reveal the midpoint 4 next');
  t.match(await page.textContent('[data-testid="dispute-waiting-3"]'), /reveal stateHash_4 by height 140/, 'with its deadline');
  t.match(await page.textContent('[data-testid="dispute-3-move-1"]'), /74.*82/, 'a move shows its height and the deadline it met');
  t.match(await page.textContent('[data-testid="dispute-bisection-facts-3"]'), /steps n = 8 · interval \[0, 8\] · 4 moves · bisecting/);
  t.equal(await page.getAttribute('[data-testid="dispute-bisection-4"]', 'data-one-step'), 'true');
  t.equal(await page.getAttribute('[data-testid="dispute-bisection-4"]', 'data-refuted'), 'true');
  t.match(await page.textContent('[data-testid="dispute-bisection-facts-4"]'), /one step 1 → 2: the L3 panel re-executes it · the panel refuted the disputer's own hash too/);
  t.equal(await page.textContent('[data-testid="dispute-outcome-4"]'), 'miner at fault');
  t.equal(await page.getAttribute('[data-testid="dispute-5-move-1"]', 'data-action'), 'missed', 'a missed move ends the rounds');
  t.equal(await page.textContent('[data-testid="dispute-outcome-5"]'), 'challenge rejected');
  t.equal(await page.locator('[data-testid="dispute-bisection-1"]').count(), 0, 'a dispute that never bisected has no bisection view');

  // The prompt box: a streamed chat completion from the real serving node, with its receipt.
  t.equal(await page.getAttribute('[data-testid="prompt-section"]', 'data-available'), 'true');
  const prompt = 'Say hi';
  await page.fill('[data-testid="prompt-input"]', prompt);
  await page.fill('[data-testid="prompt-max-tokens"]', '12');
  await page.fill('[data-testid="prompt-temperature"]', '0.9');
  await page.fill('[data-testid="prompt-seed"]', '1234');
  await page.click('[data-testid="prompt-send"]');
  await page.waitForSelector('[data-testid="prompt-output"][data-state="done"]', { timeout: 120_000 });
  const streamed = (await page.textContent('[data-testid="prompt-output"]')) ?? '';
  t.equal(await page.getAttribute('[data-testid="prompt-output"]', 'data-finish'), 'length', 'finished at max_tokens');
  const receipt = JSON.parse((await page.textContent('[data-testid="receipt-json"]')) ?? '{}') as Json;
  t.match(receipt, { format: 'r3mes/receipt/v1', model: 'r3mes-v1@init', endpoint: 'chat.completions', completion_tokens: 12, seed: '1234', temperature_q16: 58982, backend: 'cpu' }, 'the receipt, shown in the page');
  t.equal(await page.textContent('[data-testid="receipt-model"]'), 'r3mes-v1@init');
  // The same request straight to the serving node, not streamed: the same text and output hash.
  const direct = await fetch(`${serving.url}/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'r3mes-v1@init', messages: [{ role: 'user', content: prompt }], max_tokens: 12, temperature: 0.9, seed: 1234 }),
  }).then(async (r) => (await r.json()) as Json);
  t.equal(streamed, direct.choices[0].message.content, 'the page shows the text the serving node generates for that request');
  t.equal(receipt.output_hash, direct.r3mes_receipt.output_hash, 'and its receipt\'s output hash');

  // The API going away shows in the header; coming back, the page goes on by itself.
  await api.close();
  await page.waitForSelector('[data-testid="connection"][data-state="down"]');
  t.pass('node unreachable is shown');

  const shot = join(scratch, 'dashboard-stub.png');
  await page.screenshot({ path: shot, fullPage: true });
  t.ok(existsSync(shot), `screenshot ${shot}`);
  t.same(problems.filter((p) => !/Failed to fetch|ERR_CONNECTION_REFUSED/.test(p)), [], 'no script errors or CSP violations in the page');
});
