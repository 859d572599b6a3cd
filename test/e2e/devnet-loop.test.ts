/**
 * `npm run devnet` mines: the devnet entry (scripts/devnet, in a temp home on free ports) runs a
 * node, the content store, a miner and an aggregator; within a bounded time a window is finalized
 * with a model update built from the miner's accepted submission, the miner is paid the miners'
 * budget, and the supply is exact: genesis + minted − burned. Checked against the chain itself
 * (REST, and every block's results through CometBFT RPC), not against the devnet's story lines.
 * Prometheus metrics (issue 16 item 2): the node's /metrics (REST) and the miner's and verifier's
 * /metrics (their stats servers, from the banner) are scraped and parsed; the node's height and
 * txs by result code equal what the chain's block results say up to that height.
 * Proof-of-Compute (`--poc`, modules/poc README): the miner's `poc-mine` claims nonces, the
 * validators' verify roles commit and reveal the checks, and a PoC epoch ends with compute weight
 * for the miner, which raises its chunk quota above that of a miner without weight.
 * Teardown stops the devnet with SIGTERM (as Ctrl-C) and checks that nothing it started survives.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { rpcCall } from '../helpers/localnet.ts';
import { ROOT } from '../helpers/devnode.ts';
import { bytesToHex } from '@noble/hashes/utils.js';
import { initAdapter } from '../../worker/src/model/adapter.ts';
import { decodeDelta } from '../../worker/src/output/delta.ts';
import { decodeHeadCheckpoint } from '../../worker/src/output/head-checkpoint.ts';
import { stateHash } from '../../worker/src/train/hash.ts';
import { type AbciEvent, DENOM, amountOf, attrs, processesMentioning, sleep, startDevnetRun } from '../helpers/devnet-run.ts';
import { parseExposition, type Exposition } from '../../worker/test/helpers/prometheus.ts';

const BOUND_MS = 4 * 60_000;

t.test('npm run devnet: windows open and close, the miner is paid, supply is exact', async (t) => {
  const started = Date.now();
  const run = await startDevnetRun(t, ['--poc'], 'r3mes-devnet-');
  const { devnet, home, rpcUrl, rest } = run;
  const height = async () => BigInt((await rpcCall<{ sync_info: { latest_block_height: string } }>(rpcUrl, 'status')).sync_info.latest_block_height);

  // --- Wait (bounded) for a finalized window whose rewards were paid.
  let rewardedWindow: string | undefined;
  while (rewardedWindow === undefined) {
    if (devnet.exitCode !== null) throw new Error(`the devnet exited (${devnet.exitCode}):\n${run.output}`);
    if (Date.now() - started > BOUND_MS) throw new Error(`no window was finalized and paid within ${BOUND_MS / 1000} s:\n${run.output}`);
    rewardedWindow = /rewards for window (\d+):/.exec(run.output)?.[1];
    await sleep(1000);
  }
  const finalizedAfter = (Date.now() - started) / 1000;
  const addresses = Object.fromEntries(['validator', 'miner', 'verifier'].map((role) =>
    [role, (JSON.parse(readFileSync(join(home, `${role}.json`), 'utf8')) as { address: string }).address])) as Record<string, string>;
  const miner = addresses.miner!;

  // --- The window: finalized, with a model update, from the miner's accepted submission.
  const { window } = await rest<{ window: { status: string; resultCid?: string; acceptedCount?: string } }>(`/r3mes/training/v1/windows/${rewardedWindow}`);
  t.equal(window.status, 'WINDOW_STATUS_FINALIZED', `window ${rewardedWindow} finalized`);
  t.match(window.resultCid, /^bafk/, 'with a model update CID');
  const update = await fetch(`${run.gatewayUrl}/ipfs/${window.resultCid}`);
  t.equal(update.status, 200, 'the model update is fetchable from the devnet content store');

  // --- Metrics: scraped now, checked against the block results scanned below (up to the scraped height).
  const scrape = async (url: string): Promise<Exposition> => {
    const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    if (!response.ok) throw new Error(`GET ${url}: ${response.status}`);
    t.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/, `${url}: Prometheus text format`);
    return parseExposition(await response.text());
  };
  const banner = /metrics +node (\S+); miner (\S+); verifier (\S+)/.exec(run.output);
  if (banner === null) throw new Error(`the banner names no metrics URLs:\n${run.output}`);
  const [, nodeMetricsUrl, minerMetricsUrl, verifierMetricsUrl] = banner as unknown as [string, string, string, string];
  t.equal(nodeMetricsUrl, `${run.restUrl}/metrics`, 'the node\'s metrics are on the REST listener');
  const nodeMetrics = await scrape(nodeMetricsUrl);
  const metricsHeight = BigInt(nodeMetrics.value('r3mes_block_height'));

  // --- A consistent snapshot: balance and supply read at one height, and every block up to it scanned.
  let snapshot: { h: bigint; balance: bigint; supply: bigint } | undefined;
  for (let tries = 0; snapshot === undefined && tries < 20; tries++) {
    const h = await height();
    const [balances, supply] = await Promise.all([
      rest<{ balances: Array<{ denom: string; amount: string }> }>(`/cosmos/bank/v1beta1/balances/${miner}`),
      rest<{ supply: Array<{ denom: string; amount: string }> }>('/cosmos/bank/v1beta1/supply'),
    ]);
    if ((await height()) === h) {
      snapshot = { h, balance: BigInt(balances.balances.find((c) => c.denom === DENOM)?.amount ?? '0'), supply: BigInt(supply.supply.find((c) => c.denom === DENOM)?.amount ?? '0') };
    }
  }
  if (snapshot === undefined) throw new Error('could not read balance and supply at one height');
  t.ok(snapshot.h >= metricsHeight, 'the snapshot is at or after the scraped height');

  let minted = 0n;
  let burned = 0n;
  let minerStake = 0n;
  let minerFees = 0n;
  let minerRewards = 0n;
  const minerSubmissions: Array<{ id: string; window: string }> = [];
  /** Up to the scraped height: txs by "codespace/code" (the beacon tx left out, as the metric does), slash events. */
  const txsByCode = new Map<string, number>();
  let slashEvents = 0;
  for (let h = 1n; h <= snapshot.h; h++) {
    const results = await rpcCall<{ finalize_block_events?: AbciEvent[]; txs_results?: Array<{ code: number; codespace?: string; info?: string; events?: AbciEvent[] }> | null }>(rpcUrl, 'block_results', { height: h.toString() });
    if (h <= metricsHeight) {
      for (const [i, tx] of (results.txs_results ?? []).entries()) {
        if (i === 0 && tx.code === 0 && tx.info === 'beacon') continue;
        const key = `${tx.codespace ?? ''}/${tx.code}`;
        txsByCode.set(key, (txsByCode.get(key) ?? 0) + 1);
      }
      slashEvents += [...(results.finalize_block_events ?? []), ...(results.txs_results ?? []).flatMap((tx) => tx.events ?? [])].filter((e) => e.type === 'slash').length;
    }
    const txEvents = (results.txs_results ?? []).filter((tx) => tx.code === 0).flatMap((tx) => tx.events ?? []);
    // Fees are charged even when a tx fails in its messages.
    const feeEvents = (results.txs_results ?? []).flatMap((tx) => (tx.events ?? []).filter((e) => e.type === 'tx'));
    for (const e of feeEvents) if (attrs(e).fee_payer === miner) minerFees += amountOf(attrs(e).fee);
    for (const e of [...(results.finalize_block_events ?? []), ...txEvents]) {
      const a = attrs(e);
      if (e.type === 'coinbase') minted += amountOf(a.amount);
      if (e.type === 'burn') burned += amountOf(a.amount);
      if (e.type === 'register_miner' && a.miner === miner) minerStake += amountOf(a.stake);
      if (e.type === 'reward_payout' && a.recipient === miner) minerRewards += amountOf(a.amount);
      if (e.type === 'submission' && a.miner === miner) minerSubmissions.push({ id: a.id!, window: a.window! });
    }
  }

  const inWindow = minerSubmissions.filter((s) => s.window === rewardedWindow);
  t.ok(inWindow.length >= 1, `the miner submitted to window ${rewardedWindow}`);
  for (const s of inWindow) {
    const { submission } = await rest<{ submission: { status: string; miner: string } }>(`/r3mes/training/v1/submissions/${s.id}`);
    t.equal(submission.status, 'SUBMISSION_STATUS_ACCEPTED', `submission ${s.id} accepted`);
  }
  t.equal(window.acceptedCount, String(inWindow.length), 'the window aggregated the miner\'s accepted submission(s)');

  // --- Rewards: the miners' budget of the window went to the (only) miner.
  const { window: paid } = await rest<{ window: { minted: string; minersPaid: string } }>(`/r3mes/rewards/v1/windows/${rewardedWindow}`);
  const { params } = await rest<{ params: { rewardPerWindow: string; minersShareBps: number } }>('/r3mes/rewards/v1/params');
  t.equal(BigInt(paid.minersPaid), (BigInt(params.rewardPerWindow) * BigInt(params.minersShareBps)) / 10_000n, 'miners paid: reward_per_window × miners share');
  t.ok(minerRewards >= BigInt(paid.minersPaid), `the miner received the miners' budget (${minerRewards} ur3mes in all)`);
  const genesis = JSON.parse(readFileSync(join(home, 'config', 'genesis.json'), 'utf8')) as {
    app_state: { bank: { balances: Array<{ address: string; coins: Array<{ denom: string; amount: string }> }> } };
  };
  const genesisBalance = (address: string) => BigInt(genesis.app_state.bank.balances.find((b) => b.address === address)?.coins.find((c) => c.denom === DENOM)?.amount ?? '0');
  const genesisSupply = genesis.app_state.bank.balances.flatMap((b) => b.coins).filter((c) => c.denom === DENOM).reduce((s, c) => s + BigInt(c.amount), 0n);
  t.ok(minerStake > 0n, 'the miner registered (stake bonded)');
  t.equal(snapshot.balance, genesisBalance(miner) - minerStake - minerFees + minerRewards,
    'miner balance = genesis − stake − fees + rewards (increased by exactly the rewards paid)');

  // --- Supply accounting, exact.
  t.ok(minted >= BigInt(paid.minted), 'the window\'s rewards were minted');
  t.equal(snapshot.supply, genesisSupply + minted - burned, `total supply = genesis ${genesisSupply} + minted ${minted} − burned ${burned}`);

  // --- The metrics scraped above, against the chain.
  t.ok(metricsHeight >= 2n, `node r3mes_block_height ${metricsHeight}`);
  const committed = [...txsByCode.values()].reduce((a, b) => a + b, 0);
  t.ok(committed > 0, `${committed} txs in blocks 1…${metricsHeight}`);
  t.equal(nodeMetrics.sum('r3mes_txs_committed_total'), committed, 'node: txs committed = the txs of blocks 1…height (block_results)');
  for (const [key, count] of txsByCode) {
    const [codespace, code] = key.split('/') as [string, string];
    t.equal(nodeMetrics.value('r3mes_txs_committed_total', { codespace, code }), count, `node: txs with result ${key}`);
  }
  t.ok(nodeMetrics.value('r3mes_checktx_duration_seconds_count') >= committed, 'node: CheckTx histogram count ≥ txs committed (one node: every tx passed its CheckTx)');
  t.ok(nodeMetrics.value('r3mes_finalize_block_duration_seconds_count') >= Number(metricsHeight), 'node: a FinalizeBlock timed per block');
  t.ok(nodeMetrics.value('r3mes_block_interval_seconds_count') >= Number(metricsHeight) - 2, 'node: block intervals from the header times');
  t.equal(nodeMetrics.sum('r3mes_slashes_total'), slashEvents, 'node: slashes = slash events');
  t.equal(nodeMetrics.sum('r3mes_invariant_failures_total'), 0, 'node: no invariant failure');
  t.ok(nodeMetrics.sum('r3mes_training_windows_open') >= 1, 'node: an open window (collecting or aggregating)');
  t.ok(nodeMetrics.value('process_cpu_user_seconds_total') > 0, 'node: process metrics');

  // The workers' counters count since their process started (the devnet restarts a worker that
  // exits): wait (bounded) for the miner's process to have an accepted submission of its own.
  const scrapeWhen = async (url: string, what: string, ready: (m: Exposition) => boolean): Promise<Exposition> => {
    let last = '';
    for (const deadline = Date.now() + 3 * 60_000; Date.now() < deadline; await sleep(1000)) {
      try {
        const m = await scrape(url);
        if (ready(m)) return m;
        last = 'not yet';
      } catch (error) {
        last = (error as Error).message; // between restarts
      }
    }
    throw new Error(`${url}: ${what} never showed (${last}):\n${run.output}`);
  };
  await scrapeWhen(minerMetricsUrl, 'an accepted submission', (m) => m.value('r3mes_worker_submissions_total', { outcome: 'accepted' }) >= 1);
  const minerStats = await (await fetch(minerMetricsUrl.replace(/metrics$/, 'stats'))).json() as { steps: number; tokens: number; submissionOutcomes: Record<string, number> };
  const minerMetrics = await scrape(minerMetricsUrl);
  t.equal(minerMetrics.value('r3mes_worker_info', { role: 'train' }), 1, 'miner: r3mes_worker_info{role="train"}');
  t.ok(minerStats.steps >= 1 && minerStats.tokens >= 1, `miner /stats: ${minerStats.steps} steps, ${minerStats.tokens} tokens`);
  t.ok(minerMetrics.value('r3mes_worker_training_steps_total') >= minerStats.steps, 'miner: training steps ≥ /stats read just before');
  t.ok(minerMetrics.value('r3mes_worker_training_tokens_total') >= minerStats.tokens, 'miner: tokens trained ≥ /stats read just before');
  t.ok(minerMetrics.value('r3mes_worker_submissions_total', { outcome: 'accepted' }) >= Math.max(1, minerStats.submissionOutcomes.accepted ?? 0), 'miner: accepted submissions');
  t.ok(minerMetrics.value('r3mes_worker_training_tokens_per_second') >= 0, 'miner: tokens/s');
  // The verifier's duty process starts once the first submission is in.
  const verifierMetrics = await scrapeWhen(verifierMetricsUrl, 'the verify role', (m) => m.samples('r3mes_worker_info', { role: 'verify' }).length === 1);
  t.equal(verifierMetrics.value('r3mes_worker_info', { role: 'verify' }), 1, 'verifier: r3mes_worker_info{role="verify"}');
  t.equal(verifierMetrics.families.get('r3mes_worker_reexecution_duration_seconds')?.type, 'histogram', 'verifier: re-execution histogram');
  t.equal(verifierMetrics.samples('r3mes_worker_duties_missed_total').length, 3, 'verifier: duties missed by kind (l1, l2, l3)');

  // --- The story the user reads.
  t.match(run.output, /window \d+ opened/, 'story: windows open');
  t.match(run.output, /submitted chunk \d+ to window \d+ \(submission \d+, cid bafk\w+, loss [\d.]+→[\d.]+/, 'story: who submitted what');
  t.match(run.output, new RegExp(`window ${rewardedWindow} finalized: model update bafk`), 'story: the model update of the window');
  t.match(run.output, /miner r3mes1\S+ \+70 R3MES \(miner\)/, 'story: what the miner was paid');
  t.match(run.output, /supply: .* ✓ chain agrees/, 'story: supply accounting');
  t.match(run.output, /verifier: started/, 'the verifier roles are started');

  // --- The next windows start from the model updates: a job whose first state (stateHash_0 of
  // its trace) is the initial adapter plus the finalized aggregates, not the initial adapter.
  let based: RegExpExecArray | null = null;
  for (const deadline = Date.now() + 3 * 60_000; based === null; await sleep(1000)) {
    if (Date.now() > deadline) throw new Error(`no job started from a base with model updates:\n${run.output}`);
    based = /miner +window (\d+): training chunk \d+ \(ordinal 0\) on \w+ from the base of (\d+) finalized window update/.exec(run.output);
  }
  const basedWindow = based[1]!;
  t.ok(Number(based[2]) >= 1, `window ${basedWindow} trains from the base of ${based[2]} window update(s)`);
  let basedSub: { gradientCid: string } | undefined;
  for (const deadline = Date.now() + 2 * 60_000; basedSub === undefined; await sleep(1000)) {
    if (Date.now() > deadline) throw new Error(`no submission in window ${basedWindow}:\n${run.output}`);
    const subs = await rest<{ submissions?: Array<{ gradientCid: string; miner: string }> }>(`/r3mes/training/v1/windows/${basedWindow}/submissions`).catch(() => ({ submissions: [] }));
    basedSub = subs.submissions?.find((x) => x.miner === miner);
  }
  const deltaBytes = new Uint8Array(await (await fetch(`${run.gatewayUrl}/ipfs/${basedSub.gradientCid}`)).arrayBuffer());
  const delta = await decodeDelta(deltaBytes, { cid: basedSub.gradientCid });
  const initialHash = bytesToHex(stateHash(0, initAdapter(delta.info.model.cfg)));
  t.not(bytesToHex(delta.info.stepHashes[0]!), initialHash, `window ${basedWindow}'s job did not start from the initial adapter`);

  // --- The README's "From another terminal" commands, as a user types them, against this devnet
  // (its ports and home instead of the defaults; the long-running `train` with --once).
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = /From another terminal[^\n]*\n+```bash\n([\s\S]*?)```/.exec(readme);
  t.ok(section, 'the README has a "From another terminal" bash block');
  const commands = (section?.[1] ?? '').split('\n').map((line) => line.replace(/\s+#.*$/, '').trim()).filter((line) => line !== '');
  t.ok(commands.length >= 5, `${commands.length} commands`);
  let yourAddress = '';
  for (const command of commands) {
    const subst = (word: string) => word
      .replace('<your-address>', yourAddress)
      .replace(/^\.devnet$/, home)
      .replace('http://127.0.0.1:4080', run.gatewayUrl)
      .replace('http://127.0.0.1:1317', run.restUrl)
      .replace('http://127.0.0.1:26657', rpcUrl)
      .replace('http://127.0.0.1:8080/v1', run.modelUrl);
    const [program, ...args] = command.split(/\s+/).map(subst);
    if (program === 'curl') {
      const response = await fetch(args[args.length - 1]!, { signal: AbortSignal.timeout(10_000) });
      t.equal(response.status, 200, `README: ${command}`);
      await response.json();
      continue;
    }
    const isWorker = program!.endsWith('r3mes-worker');
    const extra = [...(args.includes('--node') ? [] : ['--node', rpcUrl]), ...(isWorker && args[0] === 'train' ? ['--once'] : [])];
    const isKeys = args[0] === 'keys';
    const argv = [...args, ...(isKeys ? [] : extra), ...(isKeys || isWorker ? [] : ['--output', 'json'])];
    const { NODE_OPTIONS: _tapLoader, ...env } = process.env;
    const exec = () => new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
      execFile(join(ROOT, program!), argv, { cwd: ROOT, env, timeout: 4 * 60_000 }, (err, stdout, stderr) => done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
    });
    let out = await exec();
    // `tx … send miner …` signs with the key the devnet's miner (train, and poc-mine with --poc) is
    // using at the same moment: an account-sequence race (code 32, in the tx result or already in
    // the CLI's simulation) is what a user would see too, and sending again fixes it.
    const sequenceRace = (o: { code: number | null; stdout: string; stderr: string }) => /^tx /.test(args.join(' '))
      && (o.code === 0 ? (JSON.parse(o.stdout) as { code: number }).code === 32 : /account sequence mismatch/.test(o.stderr));
    for (let retry = 0; retry < 5 && sequenceRace(out); retry++) {
      await sleep(2000);
      out = await exec();
    }
    t.equal(out.code, 0, `README: ${command}`, out.code === 0 ? {} : { stderr: out.stderr });
    if (isKeys && args[1] === 'add') yourAddress = /r3mes1[02-9ac-hj-np-z]{38}/.exec(out.stdout + out.stderr)?.[0] ?? '';
    if (/^tx /.test(args.join(' '))) {
      const tx = JSON.parse(out.stdout) as { code: number; raw_log?: string };
      t.equal(tx.code, 0, `README: ${command}: the tx is included with code 0 ${tx.raw_log ?? ''}`);
      await sleep(1500); // the next command spends what this one did (sequence, balance)
    }
    if (isWorker) t.match(out.stdout, /"kind": "(submitted|window-closed|window-full)"/, `README: ${command}: one window handled`);
  }
  t.match(yourAddress, /^r3mes1/, 'keys add printed the new address');

  // --- The serving node: a stock OpenAI client streams a chat completion from the devnet's model
  // head (the active version plus the finalized window updates), and its receipt verifies against
  // the chain with `r3mes-worker verify-receipt`.
  const openaiEntry = createRequire(join(ROOT, 'worker', 'package.json')).resolve('openai');
  const { default: OpenAI } = (await import(pathToFileURL(openaiEntry).href)) as { default: new (o: { baseURL: string; apiKey: string; maxRetries: number }) => {
    models: { list(): Promise<{ data: Array<{ id: string }> }> };
    chat: { completions: { create(body: Record<string, unknown>): Promise<AsyncIterable<{ choices: Array<{ delta?: { content?: string } }>; r3mes_receipt?: Record<string, unknown> }>> } };
  } };
  const client = new OpenAI({ baseURL: run.modelUrl, apiKey: 'unused', maxRetries: 0 });
  let modelId = '';
  for (const deadline = Date.now() + 60_000; !/@w[1-9]/.test(modelId); await sleep(1000)) {
    if (Date.now() > deadline) throw new Error(`the serving node never served a head with window updates (last: ${modelId || 'none'}):\n${run.output}`);
    modelId = (await client.models.list().catch(() => ({ data: [] }))).data[0]?.id ?? '';
  }
  t.match(modelId, /^r3mes-v1@w\d+$/, `the serving node serves the model head ${modelId}`);
  const chatRequest = { model: modelId, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 6, temperature: 0, seed: 7 };
  let streamed = '';
  let receipt: Record<string, unknown> | undefined;
  for await (const chunk of await client.chat.completions.create({ ...chatRequest, stream: true })) {
    streamed += chunk.choices[0]?.delta?.content ?? '';
    receipt = chunk.r3mes_receipt ?? receipt;
  }
  t.ok(receipt, 'the stream ends with a receipt');
  t.equal(receipt?.model, modelId, 'the receipt names the head it was served from');
  const scratch = mkdtempSync(join(tmpdir(), 'r3mes-receipt-'));
  t.teardown(() => rmSync(scratch, { recursive: true, force: true }));
  writeFileSync(join(scratch, 'receipt.json'), JSON.stringify(receipt));
  writeFileSync(join(scratch, 'request.json'), JSON.stringify(chatRequest));
  const verified = await new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
    const { NODE_OPTIONS: _tapLoader, ...env } = process.env;
    execFile(join(ROOT, 'worker', 'bin', 'r3mes-worker'), ['verify-receipt', join(scratch, 'receipt.json'), '--request', join(scratch, 'request.json'), '--node', rpcUrl, '--gateway', run.gatewayUrl, '--home', scratch],
      { cwd: ROOT, env, timeout: 3 * 60_000 }, (err, stdout, stderr) => done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
  t.equal(verified.code, 0, 'verify-receipt re-runs the generation from the chain and agrees', verified.code === 0 ? {} : { stderr: verified.stderr, stdout: verified.stdout });
  t.equal((JSON.parse(verified.stdout || '{}') as { recomputed?: { text?: string } }).recomputed?.text, streamed, 'the recomputed text is the streamed text');

  // --- Proof-of-Compute: an epoch ends with compute weight for the miner (bounded: the first epoch
  // ends at height 91, a second one 90 blocks later if the miner's batch missed the first).
  let weights: Array<{ miner: string; weight: string }> = [];
  for (const deadline = Date.now() + 4 * 60_000; !weights.some((w) => w.miner === miner); await sleep(2000)) {
    if (Date.now() > deadline) throw new Error(`no PoC epoch gave the miner compute weight:\n${run.output}`);
    weights = (await rest<{ weights?: Array<{ miner: string; weight: string }> }>('/r3mes/poc/v1/weights')).weights ?? [];
  }
  const minerWeight = BigInt(weights.find((w) => w.miner === miner)!.weight);
  t.ok(minerWeight > 0n, `a PoC epoch ended: the miner holds compute weight ${minerWeight}`);
  t.match(run.output, /PoC epoch \d+ ended: \d+ miner\(s\), compute weight \d+ in force/, 'the story tells the epoch end');
  const { batches } = await rest<{ batches?: Array<{ claimCount: string }> }>(`/r3mes/poc/v1/epochs/${/PoC: \S+ claimed \d+ nonce\(s\) below r_target in epoch (\d+)/.exec(run.output)?.[1] ?? '1'}/batches/${miner}`);
  t.ok((batches ?? []).length > 0, 'from the claims of its poc-mine batch');
  // More chunks: its quota in the collecting window is the window's cap; a key without weight (the
  // verifier's, never a miner) gets unweighted_chunk_quota.
  let current: { id: string; maxSubmissionsPerMiner: string } | undefined;
  for (const deadline = Date.now() + 60_000; current === undefined; await sleep(1000)) {
    if (Date.now() > deadline) throw new Error('no window collecting within 60 s');
    current = (await rest<{ window?: { id: string; maxSubmissionsPerMiner: string } }>('/r3mes/training/v1/current_window')).window;
  }
  const quota = async (who: string) => {
    const a = await rest<{ nextOrdinal?: string; remaining?: string }>(`/r3mes/training/v1/windows/${current!.id}/assignment/${who}`);
    return BigInt(a.nextOrdinal ?? '0') + BigInt(a.remaining ?? '0');
  };
  const pocParams = (await rest<{ params: { unweightedChunkQuota: string } }>('/r3mes/poc/v1/params')).params;
  const [minerQuota, otherQuota] = [await quota(miner), await quota(addresses.verifier!)];
  t.equal(minerQuota, BigInt(current.maxSubmissionsPerMiner), `with compute weight the miner may train the window's cap: ${minerQuota} chunks`);
  t.equal(otherQuota, BigInt(pocParams.unweightedChunkQuota), `a key without weight: ${otherQuota}`);
  t.ok(minerQuota > otherQuota, 'compute weight buys more chunks');

  // --- Checkpoints (training README "Checkpoints"; the devnet's checkpoint_interval is 2): after two
  // applied windows a carrier window's aggregator publishes the head by CID and the chain records
  // it; its bytes match the CID and the state hash, and `checkpoint export` makes a PEFT directory.
  type CheckpointJson = { modelVersion: string; throughWindow: string; cid: string; stateHash: string; appliedWindows: string; carrierWindow: string };
  let checkpoint: CheckpointJson | undefined;
  for (const deadline = Date.now() + 5 * 60_000; checkpoint === undefined; await sleep(2000)) {
    if (Date.now() > deadline) throw new Error(`no checkpoint was recorded within 5 minutes:\n${run.output}`);
    checkpoint = (await rest<{ checkpoints?: CheckpointJson[] }>('/r3mes/training/v1/checkpoints?model_version=1').catch(() => ({ checkpoints: [] }))).checkpoints?.[0];
  }
  const latest = await rest<{ checkpoint: CheckpointJson }>('/r3mes/training/v1/models/1/latest_checkpoint');
  t.ok(BigInt(latest.checkpoint.throughWindow) >= BigInt(checkpoint.throughWindow), 'LatestCheckpoint answers');
  const headBytes = new Uint8Array(await (await fetch(`${run.gatewayUrl}/ipfs/${checkpoint.cid}`)).arrayBuffer());
  const headFile = await decodeHeadCheckpoint(headBytes, { cid: checkpoint.cid, stateHash: Buffer.from(checkpoint.stateHash, 'base64') });
  t.equal(headFile.throughWindow.toString(), checkpoint.throughWindow, `checkpoint through window ${checkpoint.throughWindow} (carried by window ${checkpoint.carrierWindow}): served, its CID and state hash check`);
  t.equal(String(headFile.windows.length), checkpoint.appliedWindows, 'it holds the applied windows the chain counted');
  const peftDir = mkdtempSync(join(tmpdir(), 'r3mes-peft-'));
  t.teardown(() => rmSync(peftDir, { recursive: true, force: true }));
  const exported = await new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
    const { NODE_OPTIONS: _tapLoader, ...env } = process.env;
    execFile(join(ROOT, 'worker', 'bin', 'r3mes-worker'), ['checkpoint', 'export', '--cid', checkpoint!.cid, '--gateway', run.gatewayUrl, '--out', join(peftDir, 'out'), '--home', peftDir],
      { cwd: ROOT, env, timeout: 2 * 60_000 }, (err, stdout, stderr) => done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
  t.equal(exported.code, 0, 'checkpoint export --cid', exported.code === 0 ? {} : { stderr: exported.stderr });
  t.match(JSON.parse(readFileSync(join(peftDir, 'out', 'adapter_config.json'), 'utf8')), { peft_type: 'LORA' }, 'a PEFT adapter directory');

  // --- Ctrl-C: everything stops, nothing survives.
  const stopAt = Date.now();
  const code = await run.stop();
  t.equal(code, 0, 'the devnet exits 0 on SIGTERM');
  await sleep(500);
  t.same(processesMentioning(home), [], 'no process of the devnet survives');
  t.comment(`window ${rewardedWindow} finalized and paid after ${finalizedAfter.toFixed(0)} s (height ${snapshot.h}); stopped in ${((Date.now() - stopAt) / 1000).toFixed(1)} s`);
});
