/**
 * A full training window on a real CometBFT, driven through the CLI: a single node whose funded
 * key is the genesis validator (so it is the only aggregation proposer), short windows; a second
 * key registers as miner, asks for its assignment and submits a gradient; the validator commits
 * and reveals the aggregate in the right phases; the window finalizes with the revealed result,
 * rewards pays exactly what modules/rewards/README.md says, and the submission is found by
 * tx_search (its events are indexed).
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { R3MESD, cometbftBinary, startDevNode, type DevNode } from '../helpers/devnode.ts';
import { rpcCall, waitFor } from '../helpers/localnet.ts';
import { assignedChunk, commitHash } from '../../modules/training/assignment.ts';
import { cidOf } from '../../worker/src/storage/cid.ts';

const run = promisify(execFile);
// Without tap's NODE_OPTIONS (its process-info loader costs every r3mesd process a second).
const { NODE_OPTIONS: _tapLoader, ...cleanEnv } = process.env;

/** Runs r3mesd and returns stdout, or the error's stderr and exit code. */
async function r3mesd(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(R3MESD, args, { env: { ...cleanEnv, COMETBFT: cometbftBinary() }, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : 1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/** `r3mesd ... -o json`, parsed; a non-zero exit is an error carrying stderr. */
async function cliJson<T>(args: string[]): Promise<T> {
  const result = await r3mesd([...args, '-o', 'json']);
  if (result.code !== 0) throw new Error(`r3mesd ${args.slice(0, 3).join(' ')} failed (${result.code}): ${result.stderr.trim() || result.stdout.trim()}`);
  return JSON.parse(result.stdout) as T;
}

const FUNDS = 1_000_000_000_000n;
const SELF_STAKE = 100_000_000_000n;
const MINER_STAKE = 1_000_000n;
const COMMISSION = { numerator: 1n, denominator: 10n }; // --commission-rate 0.1
// Short windows (training README, "Params"), yet every phase must outlast the CLI calls that act in
// it: an r3mesd process takes ~2 s to start, and a tx adds simulate, broadcast, inclusion and
// CosmJS's 3 s poll for the result; on a two-core machine also running other e2e tests that is
// 5-10 s. So blocks are 2 s apart and each phase a CLI tx must hit spans 10 s or more.
const BLOCK_INTERVAL = '2s';
const TRAINING = { windowBlocks: '8', challengePeriodBlocks: '2', commitPeriodBlocks: '6', revealPeriodBlocks: '6', aggregationProposers: '3' };

interface WindowJson {
  id: string;
  status: string;
  openHeight: string;
  seed: string;
  modelVersion: string;
  chunkCount: string;
  datasetId?: string;
  collectEndHeight: string;
  commitStartHeight: string;
  revealStartHeight: string;
  revealEndHeight: string;
  submissionCount?: string;
  acceptedCount?: string;
  proposers?: string[];
  resultCid?: string;
  resultHash?: string;
  failureReason?: string;
  closedHeight?: string;
}

interface TxJson {
  txhash: string;
  height: string;
  code: number;
  events: Array<{ type: string; attributes: Array<{ key: string; value: string }> }>;
}

interface RpcTx {
  hash: string;
  height: string;
  tx_result: { code: number; events: Array<{ type: string; attributes: Array<{ key: string; value: string }> }> };
}

t.test('a full window on a real CometBFT, through the CLI: open → submission → commit → reveal → finalized → rewards paid', async (t) => {
  const started = Date.now();
  const keyHome = mkdtempSync(join(tmpdir(), 'r3mes-train-keys-'));
  t.teardown(() => rmSync(keyHome, { recursive: true, force: true }));
  const keyArgs = ['--home', keyHome, '--keyring-backend', 'test'];
  const [validator, miner] = await Promise.all(['val', 'miner'].map((name) => cliJson<{ address: string }>(['keys', 'add', name, ...keyArgs])));

  let node: DevNode | undefined;
  t.teardown(async () => node?.stop());
  node = await startDevNode({
    accounts: [{ address: validator.address, coins: `${FUNDS}ur3mes` }, { address: miner.address, coins: `${FUNDS}ur3mes` }],
    validator: { address: validator.address, selfStake: `${SELF_STAKE}ur3mes`, commissionRate: '0.1' },
    // L1 sampling off: nobody runs verification duties here, so a sampled submission (10% by
    // default) would end in a missed-check penalty, a burn that this test's exact supply
    // accounting would have to chase. L1 is tested in the verification and devnet tests.
    moduleParams: { training: TRAINING, verification: { l1SampleBps: '0' } },
    timeoutCommit: BLOCK_INTERVAL,
  });
  const rpcUrl = node.rpcUrl;
  // Seconds since start and chain height at each step, printed at the end (where the time goes).
  const timeline: string[] = [];
  const mark = async (step: string) => { timeline.push(`${((Date.now() - started) / 1000).toFixed(1)}s h${await node!.status().then((s) => s.height, () => '?')} ${step}`); };
  await mark('node up');
  const txArgs = [...keyArgs, '--node', rpcUrl];
  const q = ['--node', rpcUrl];
  const height = async () => (await node!.status()).height;
  const waitHeight = (target: bigint, what: string) => waitFor(`height ${target} (${what})`, 60_000, async () => ((await height()) >= target ? true : undefined));
  const windowOf = async (id: bigint | string) => (await cliJson<{ window: WindowJson }>(['query', 'training', 'window', String(id), ...q])).window;

  /** Fee paid by a committed tx, from its `tx` event (the ante handler's `fee` attribute). */
  const feeOf = async (hash: string): Promise<bigint> => {
    const found = await rpcCall<RpcTx>(rpcUrl, 'tx', { hash: Buffer.from(hash, 'hex').toString('base64') });
    const fee = found.tx_result.events.find((e) => e.type === 'tx')?.attributes.find((a) => a.key === 'fee')?.value ?? '';
    const match = /^(\d+)ur3mes$/.exec(fee);
    if (match === null) throw new Error(`tx ${hash}: unexpected fee "${fee}"`);
    return BigInt(match[1]);
  };
  const fees = new Map<string, bigint>([[validator.address, 0n], [miner.address, 0n]]);
  const sendTx = async (who: string, args: string[]): Promise<TxJson> => {
    const sent = await r3mesd(['tx', ...args, ...txArgs, '-o', 'json']);
    const result = (sent.stdout.trim().startsWith('{') ? JSON.parse(sent.stdout) : undefined) as TxJson | undefined;
    if (result?.txhash !== undefined) fees.set(who, fees.get(who)! + (await feeOf(result.txhash)));
    if (sent.code !== 0 || result === undefined || result.code !== 0) {
      // The CLI prints no log for a failed tx: read it from the node.
      const log = result?.txhash === undefined ? '' : (await rpcCall<{ tx_result: { log: string } }>(rpcUrl, 'tx', { hash: Buffer.from(result.txhash, 'hex').toString('base64') })).tx_result.log;
      throw new Error(`r3mesd tx ${args.slice(0, 2).join(' ')} failed: ${sent.stderr.trim() || log} (height ${result?.height ?? '?'})`);
    }
    return result;
  };
  const balance = async (address: string) =>
    BigInt((await cliJson<{ balances: Array<{ denom: string; amount: string }> }>(['query', 'bank', 'balances', address, ...q])).balances.find((c) => c.denom === 'ur3mes')?.amount ?? '0');
  const supply = async () =>
    BigInt((await cliJson<{ supply: Array<{ denom: string; amount: string }> }>(['query', 'bank', 'total', ...q])).supply.find((c) => c.denom === 'ur3mes')?.amount ?? '0');

  // The miner registers while the rest of the starting state is read.
  const [registered, supplyBefore, trainingParams, rewardsParams, validators] = await Promise.all([
    sendTx(miner.address, ['staking', 'register-miner', 'miner', `${MINER_STAKE}ur3mes`, 'webgpu', 'ampere']),
    supply(),
    cliJson<{ params: Record<string, string> }>(['query', 'training', 'params', ...q]),
    cliJson<{ params: { rewardPerWindow: string; minersShareBps: number; verifiersShareBps: number; validatorsShareBps: number } }>(['query', 'rewards', 'params', ...q]),
    cliJson<{ validators: unknown[] }>(['query', 'staking', 'validators', ...q]),
  ]);
  await mark('miner registered');
  t.equal(supplyBefore, 2n * FUNDS, 'genesis supply is the two funded accounts');
  const params = trainingParams.params;
  t.match(params, TRAINING, 'the short windows are in force');
  t.equal(validators.validators.length, 1, 'one staking validator: the genesis one');

  t.equal(registered.code, 0, 'register-miner');

  // --- A window that opened after the registration, so the whole collect phase is ahead of us.
  const current = (await cliJson<{ window?: WindowJson }>(['query', 'training', 'current-window', ...q])).window;
  if (current === undefined) throw new Error('no window is collecting');
  const windowId = BigInt(current.id) + 1n;
  await waitHeight(BigInt(current.collectEndHeight), `window ${windowId} opens`);
  await mark('window opened');
  // The window record and the assignment are read together, and the gradient is submitted at once:
  // it must land in this window's collect phase. The answers are checked afterwards.
  const [opened, assignment] = await Promise.all([
    windowOf(windowId),
    cliJson<{ windowId: string; subnet?: string; nextOrdinal?: string; chunkIndex?: string; remaining: string }>(
      ['query', 'training', 'assignment', String(windowId), miner.address, ...q]),
  ]);
  await mark('window and assignment read');
  const gradient = randomBytes(4096);
  const gradientCid = (await cidOf(gradient)).toString();
  const gradientHash = createHash('sha256').update(gradient).digest('hex');
  const traceRoot = randomBytes(32).toString('hex');
  const submitted = await sendTx(miner.address, ['training', 'submit-gradient', 'miner', String(windowId), assignment.subnet ?? '0', opened.modelVersion,
    gradientCid, gradientHash, traceRoot, assignment.chunkIndex ?? '0', '--loss-before', '5000', '--loss-after', '4000', '--backend', 'webgpu']);
  await mark('submitted');

  t.equal(opened.status, 'WINDOW_STATUS_COLLECTING', `window ${windowId} is collecting`);
  t.equal(opened.datasetId, '1', 'the window names the genesis dataset (the Brown corpus) of the genesis version');
  t.equal(BigInt(opened.collectEndHeight) - BigInt(opened.openHeight), BigInt(TRAINING.windowBlocks), 'collect phase of window_blocks');
  t.equal(BigInt(opened.commitStartHeight) - BigInt(opened.collectEndHeight), BigInt(TRAINING.challengePeriodBlocks), 'challenge period');
  t.equal(BigInt(opened.revealStartHeight) - BigInt(opened.commitStartHeight), BigInt(TRAINING.commitPeriodBlocks), 'commit period');
  t.equal(BigInt(opened.revealEndHeight) - BigInt(opened.revealStartHeight), BigInt(TRAINING.revealPeriodBlocks), 'reveal period');
  // The assignment, checked against the worker's formula.
  const chunk = BigInt(assignment.chunkIndex ?? '0');
  t.equal(assignment.nextOrdinal ?? '0', '0', 'first submission of the miner');
  t.equal(chunk, assignedChunk(Buffer.from(opened.seed, 'base64'), miner.address, 0n, BigInt(opened.chunkCount)), 'the chunk is assignedChunk(seed, miner, 0, chunk_count)');
  t.equal(assignment.remaining, params.maxSubmissionsPerMinerPerWindow, 'all submissions of the window left');

  t.equal(submitted.code, 0, 'submit-gradient');
  t.ok(BigInt(submitted.height) < BigInt(opened.collectEndHeight), 'the submission landed in the collect phase');
  const submissionEvent = submitted.events.find((e) => e.type === 'submission');
  const attr = (key: string) => submissionEvent?.attributes.find((a) => a.key === key)?.value;
  t.same([attr('miner'), attr('window'), attr('cid'), attr('chunk'), attr('ordinal')], [miner.address, String(windowId), gradientCid, chunk.toString(), '0'], 'submission event');
  const submissionId = attr('id') ?? '';

  // --- Aggregation start: the only bonded validator is drawn. The result it will commit to is
  // made first: the commit must land in the commit phase.
  const result = randomBytes(2048);
  const resultCid = (await cidOf(result)).toString();
  const resultHash = createHash('sha256').update(result).digest();
  const nonce = randomBytes(32);
  const commitment = Buffer.from(commitHash(resultCid, resultHash, nonce)).toString('hex');
  // Proposers are drawn in the first block of the commit phase: the validator watches the window
  // through the CLI from the block before, and commits as soon as it sees itself drawn.
  await waitHeight(BigInt(opened.commitStartHeight) - 1n, 'the block before aggregation start');
  const aggregating = await waitFor(`window ${windowId} to draw its proposers`, 30_000, async () => {
    const w = await windowOf(windowId);
    return (w.proposers ?? []).length > 0 ? w : undefined;
  }, 0);
  await mark('proposers seen');
  const committed = await sendTx(validator.address, ['training', 'commit-aggregation', 'val', String(windowId), commitment]);
  await mark('committed');
  t.equal(aggregating.status, 'WINDOW_STATUS_AGGREGATING', 'the window is aggregating');
  t.same(aggregating.proposers, [validator.address], 'the genesis validator is the one proposer');
  t.equal(aggregating.acceptedCount, '1', 'the submission was accepted');

  t.equal(committed.code, 0, 'commit-aggregation');
  t.ok(BigInt(committed.height) >= BigInt(opened.commitStartHeight) && BigInt(committed.height) < BigInt(opened.revealStartHeight), `commit at ${committed.height} is in the commit phase`);

  await waitHeight(BigInt(opened.revealStartHeight) - 1n, 'reveal phase');
  await mark('reveal phase');
  const revealed = await sendTx(validator.address, ['training', 'reveal-aggregation', 'val', String(windowId), resultCid, resultHash.toString('hex'), nonce.toString('hex')]);
  await mark('revealed');
  t.equal(revealed.code, 0, 'reveal-aggregation');
  t.ok(BigInt(revealed.height) >= BigInt(opened.revealStartHeight) && BigInt(revealed.height) < BigInt(opened.revealEndHeight), `reveal at ${revealed.height} is in the reveal phase`);

  // --- Tally: finalized with the revealed result.
  const finalized = await waitFor(`window ${windowId} to close`, 30_000, async () => {
    const w = await windowOf(windowId);
    return w.status === 'WINDOW_STATUS_AGGREGATING' ? undefined : w;
  }, 500);
  await mark('finalized seen');
  t.equal(finalized.status, 'WINDOW_STATUS_FINALIZED', `window finalized (${finalized.failureReason ?? ''})`);
  t.equal(finalized.resultCid, resultCid, 'model update CID is the revealed one');
  t.equal(Buffer.from(finalized.resultHash ?? '', 'base64').toString('hex'), resultHash.toString('hex'), 'model update hash is the revealed one');
  t.equal(finalized.closedHeight, opened.revealEndHeight, 'tallied at reveal_end_height');

  // --- Rewards: the README's split of reward_per_window over one miner and one bonded validator
  // whose only delegation is its own. The verifiers' share pays confirmed L1 checks; L1 sampling is
  // off here, so nobody is credited and that share goes to the community pool.
  const minted = BigInt(rewardsParams.params.rewardPerWindow);
  const minersBudget = (minted * BigInt(rewardsParams.params.minersShareBps)) / 10_000n;
  const verifiersBudget = (minted * BigInt(rewardsParams.params.verifiersShareBps)) / 10_000n; // unpaid: to the community pool
  const validatorsBudget = (minted * BigInt(rewardsParams.params.validatorsShareBps)) / 10_000n;
  const commission = (validatorsBudget * COMMISSION.numerator) / COMMISSION.denominator;
  const community = minted - minersBudget - validatorsBudget;
  t.ok(verifiersBudget > 0n && community >= verifiersBudget, "the verifiers' share went to the community pool");
  const [recorded, minerBalance, validatorBalance, supplyAfter, submission, aggregation] = await Promise.all([
    cliJson<{ window: Record<string, string> }>(['query', 'rewards', 'window', String(windowId), ...q]),
    balance(miner.address), balance(validator.address), supply(),
    cliJson<{ submission: { status: string; gradientCid: string } }>(['query', 'training', 'submission', submissionId, ...q]),
    cliJson<{ commits?: Array<{ proposer: string; revealed?: boolean; resultCid?: string }> }>(['query', 'training', 'aggregation', String(windowId), ...q]),
  ]);
  t.equal(submission.submission.status, 'SUBMISSION_STATUS_ACCEPTED', 'the submission was accepted');
  t.match(aggregation.commits, [{ proposer: validator.address, revealed: true, resultCid }], 'the commitment and its reveal are recorded');
  t.same(recorded.window, {
    windowId: String(windowId), height: opened.revealEndHeight, minted: minted.toString(), minersPaid: minersBudget.toString(),
    verifiersPaid: '0', validatorsPaid: validatorsBudget.toString(), communityPool: community.toString(),
  }, 'rewards recorded the distribution of the window');

  // Balances: genesis funds − bonded stake − fees of the account's own txs + rewards.
  t.equal(minerBalance, FUNDS - MINER_STAKE - fees.get(miner.address)! + minersBudget, 'miner: + the miners budget');
  t.equal(validatorBalance, FUNDS - SELF_STAKE - fees.get(validator.address)! + commission + (validatorsBudget - commission),
    'validator: + the validators budget (commission, then the rest to its self-delegation); aggregating is not paid from the verifiers\' share');
  t.equal(supplyAfter, supplyBefore + minted, 'supply grew by exactly the minted amount (fees are moved, not burned)');

  // --- Indexed events: the submission by miner and by window.
  const search = (query: string) => rpcCall<{ txs: RpcTx[]; total_count: string }>(rpcUrl, 'tx_search', { query, prove: false, page: '1', per_page: '30', order_by: 'asc' });
  const byMiner = await search(`submission.miner='${miner.address}'`);
  t.same(byMiner.txs.map((tx) => tx.hash), [submitted.txhash], 'tx_search by submission.miner');
  const byWindow = await search(`submission.window='${windowId}'`);
  t.same(byWindow.txs.map((tx) => tx.hash), [submitted.txhash], 'tx_search by submission.window');
  const byReveal = await search(`aggregation_reveal.window='${windowId}'`);
  t.same(byReveal.txs.map((tx) => tx.hash), [revealed.txhash], 'tx_search by aggregation_reveal.window');
  await mark('done');
  t.comment(`window ${windowId}: opened at ${opened.openHeight}, finalized at ${finalized.closedHeight}\n${timeline.join('\n')}`);
});
