/**
 * Chain throughput in-process: signed MsgSend txs through the real R3mesApp on a real LevelDB
 * CommitStore (test/helpers/app-harness.ts), block by block, without CometBFT or sockets.
 * Reports tx/s for CheckTx alone, FinalizeBlock alone, Commit alone and end to end, a "cold"
 * FinalizeBlock (txs CheckTx never saw: block sync / replay, every signature verified in the
 * block), the state size, and the signature verifier against @noble/curves (the baseline).
 *
 *   npx tsx bench/chain-inprocess.ts [accounts=2000] [txsPerBlock=2000] [blocks=5]
 *
 * Txs are pre-signed before any timing with libsecp256k1 (the `secp256k1` package; signing
 * through CosmJS costs ~1 ms a tx). Commit runs with the store's default `sync: true` (one
 * fsync a block), as the node does.
 */
import { createRequire } from 'node:module';
import { createHash } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { cpus, loadavg } from 'node:os';
import { writeFileSync } from 'node:fs';
import { Session as InspectorSession } from 'node:inspector';
import { secp256k1 as nobleSecp256k1 } from '@noble/curves/secp256k1.js';
import { AuthInfo, SignDoc, TxBody, TxRaw } from 'cosmjs-types/cosmos/tx/v1beta1/tx';
import { SignMode } from 'cosmjs-types/cosmos/tx/signing/v1beta1/signing';
import { PubKey } from 'cosmjs-types/cosmos/crypto/secp256k1/keys';
import { MsgSend } from 'cosmjs-types/cosmos/bank/v1beta1/tx';
import { addressFromPubkey, encodeAddress } from '../app/core/address.ts';
import { SECP256K1_PUBKEY_TYPE } from '../app/core/address.ts';
import { verifierName, verifySecp256k1 } from '../app/tx/signature.ts';
import { sharedVerifyPool } from '../app/tx/verify-pool.ts';
import { CHAIN_ID, genesisFor, startHarness } from '../test/helpers/app-harness.ts';

interface NativeSecp256k1 {
  publicKeyCreate(privateKey: Uint8Array, compressed?: boolean): Uint8Array;
  ecdsaSign(messageHash: Uint8Array, privateKey: Uint8Array): { signature: Uint8Array; recid: number };
  signatureNormalize(signature: Uint8Array): Uint8Array;
}
const native = createRequire(import.meta.url)('secp256k1') as NativeSecp256k1;

export interface BenchKey {
  privkey: Uint8Array;
  pubkey: Uint8Array;
  addressBytes: Uint8Array;
  address: string;
}

/** Deterministic bench key `index`: sha256("r3mes-bench-key-" + index). */
export function benchKey(index: number): BenchKey {
  const privkey = new Uint8Array(createHash('sha256').update(`r3mes-bench-key-${index}`).digest());
  const pubkey = native.publicKeyCreate(privkey, true);
  const addressBytes = addressFromPubkey(pubkey);
  return { privkey, pubkey, addressBytes, address: encodeAddress(addressBytes) };
}

export interface SendSpec {
  from: BenchKey;
  to: string;
  amount: string;
  accountNumber: bigint;
  sequence: bigint;
  chainId: string;
  /** Coin denomination of the amounts and the fee (default ur3mes; the simd peer of chain-comet.ts uses stake). */
  denom?: string;
}

/**
 * A signed MsgSend tx: the same bytes CosmJS's SigningStargateClient produces (SIGN_MODE_DIRECT,
 * pubkey in the signer info, 200k gas, 5000ur3mes fee), signed with libsecp256k1. libsecp256k1
 * already signs low-S; signatureNormalize makes that explicit.
 */
export function signedSend(spec: SendSpec): Uint8Array {
  return signedSends({ ...spec, sends: [{ to: spec.to, amount: spec.amount }] });
}

/** A signed tx of several MsgSends from one key (funding many accounts at once). */
export function signedSends(spec: Omit<SendSpec, 'to' | 'amount'> & { sends: Array<{ to: string; amount: string }>; gasLimit?: bigint; feeAmount?: string }): Uint8Array {
  const bodyBytes = TxBody.encode(TxBody.fromPartial({
    messages: spec.sends.map(({ to, amount }) => ({
      typeUrl: '/cosmos.bank.v1beta1.MsgSend',
      value: MsgSend.encode({ fromAddress: spec.from.address, toAddress: to, amount: [{ denom: spec.denom ?? 'ur3mes', amount }] }).finish(),
    })),
  })).finish();
  const authInfoBytes = AuthInfo.encode(AuthInfo.fromPartial({
    signerInfos: [{
      publicKey: { typeUrl: SECP256K1_PUBKEY_TYPE, value: PubKey.encode({ key: spec.from.pubkey }).finish() },
      modeInfo: { single: { mode: SignMode.SIGN_MODE_DIRECT } },
      sequence: spec.sequence,
    }],
    fee: { amount: [{ denom: spec.denom ?? 'ur3mes', amount: spec.feeAmount ?? '5000' }], gasLimit: spec.gasLimit ?? 200_000n },
  })).finish();
  const signBytes = SignDoc.encode({ bodyBytes, authInfoBytes, chainId: spec.chainId, accountNumber: spec.accountNumber }).finish();
  const digest = createHash('sha256').update(signBytes).digest();
  const signature = native.signatureNormalize(native.ecdsaSign(digest, spec.from.privkey).signature);
  return TxRaw.encode({ bodyBytes, authInfoBytes, signatures: [signature] }).finish();
}

function postInspector(session: InspectorSession, method: string): Promise<unknown> {
  return new Promise((resolve, reject) => session.post(method, (error, result) => (error === null ? resolve(result) : reject(error))));
}

const nowMs = (): number => performance.now();
/** CPU ms of this process (user + system, all threads): less disturbed than wall time on a shared machine. */
const cpuMs = (): number => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
};

/** Wall and CPU ms of one phase. */
interface Phase { wall: number; cpu: number }
function phase<T>(run: () => T): [T, Phase] {
  const wall0 = nowMs();
  const cpu0 = cpuMs();
  const result = run();
  return [result, { wall: nowMs() - wall0, cpu: cpuMs() - cpu0 }];
}
async function phaseAsync<T>(run: () => Promise<T>): Promise<[T, Phase]> {
  const wall0 = nowMs();
  const cpu0 = cpuMs();
  const result = await run();
  return [result, { wall: nowMs() - wall0, cpu: cpuMs() - cpu0 }];
}

/** Verifies per second of `verify` over `items`, best of `rounds` rounds of ~roundMs each. */
function verifiesPerSecond(items: Array<{ sig: Uint8Array; hash: Uint8Array; pub: Uint8Array }>, verify: (s: Uint8Array, h: Uint8Array, p: Uint8Array) => boolean, rounds = 3, roundMs = 400): number {
  let best = 0;
  let n = 0;
  for (let r = 0; r < rounds; r++) {
    const start = nowMs();
    let count = 0;
    while (nowMs() - start < roundMs) {
      const item = items[n++ % items.length];
      if (!verify(item.sig, item.hash, item.pub)) throw new Error('bench: signature did not verify');
      count++;
    }
    best = Math.max(best, (count * 1000) / (nowMs() - start));
  }
  return best;
}

function rate(txs: number, ms: number): string {
  return Math.round((txs * 1000) / ms).toLocaleString('en');
}

function minMax(xs: number[]): string {
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  const fmt = (x: number) => Math.round(x).toLocaleString('en');
  return lo === hi ? fmt(lo) : `${fmt(lo)}–${fmt(hi)}`;
}

async function main(): Promise<void> {
  const [accounts, txsPerBlock, blocks] = [2000, 2000, 5].map((d, i) => Number(process.argv[2 + i] ?? d));
  const pipelined = process.env.BENCH_CHECKTX !== 'sequential';
  const pool = sharedVerifyPool();
  console.log(`node ${process.version}, ${cpus().length} cpus, load average ${loadavg()[0].toFixed(1)}; ` +
    `${accounts} accounts, ${blocks} blocks of ${txsPerBlock} MsgSend txs + 1 cold block`);
  console.log(pipelined
    ? `CheckTx: pipelined (R3mesApp.checkTxBatch, as the ABCI server answers a burst of CheckTx before a Flush), signature workers: ${pool?.size ?? 0}`
    : 'CheckTx: one request at a time (BENCH_CHECKTX=sequential), signatures verified inline');

  // --- signature verifier alone, against the pure-JS baseline
  const sample = Array.from({ length: 64 }, (_, i) => {
    const key = benchKey(1_000_000 + i);
    const hash = new Uint8Array(createHash('sha256').update(`msg-${i}`).digest());
    return { sig: native.ecdsaSign(hash, key.privkey).signature, hash, pub: key.pubkey };
  });
  const verifierRate = verifiesPerSecond(sample, verifySecp256k1);
  const nobleRate = verifiesPerSecond(sample, (s, h, p) => nobleSecp256k1.verify(s, h, p, { prehash: false, lowS: true }), 3, 300);

  // --- chain: genesis with every account funded, then pre-signed blocks
  const t0 = nowMs();
  const keys = Array.from({ length: accounts }, (_, i) => benchKey(i));
  const harness = await startHarness(genesisFor(keys.map((k) => ({ privkey: k.privkey, pubkey: k.pubkey, address: k.address })), 10n ** 15n));
  await harness.block([]); // genesis state committed at height 1
  const accountNumbers = keys.map((k) => {
    const account = harness.app.auth.getAccount(harness.store.committed(), k.addressBytes);
    if (account === undefined) throw new Error(`bench: genesis account ${k.address} missing`);
    return account.accountNumber;
  });
  const sequences = new Array<bigint>(accounts).fill(0n);
  const totalBlocks = blocks + 1;
  const blockTxs: Uint8Array[][] = [];
  let cursor = 0;
  for (let b = 0; b < totalBlocks; b++) {
    const txs: Uint8Array[] = [];
    for (let i = 0; i < txsPerBlock; i++, cursor++) {
      const from = cursor % accounts;
      const to = (from * 7 + 1 + Math.floor(cursor / accounts)) % accounts; // existing accounts: state size stays put
      txs.push(signedSend({ from: keys[from], to: keys[to].address, amount: '1', accountNumber: accountNumbers[from], sequence: sequences[from]++, chainId: CHAIN_ID }));
    }
    blockTxs.push(txs);
  }
  const setupMs = nowMs() - t0;
  const keysBefore = harness.store.committedKeys().length;

  // --- warm blocks: CheckTx every tx (as the mempool does), then FinalizeBlock + Commit
  const rows: Array<{ check: Phase; finalize: Phase; commit: Phase }> = [];
  const profiler = process.env.BENCH_PROFILE === undefined ? undefined : new InspectorSession();
  for (let b = 0; b < blocks; b++) {
    // BENCH_PROFILE=<file.cpuprofile>: a V8 CPU profile of the main thread over blocks 2.. (after warm-up).
    if (b === 1 && profiler !== undefined) {
      profiler.connect();
      await postInspector(profiler, 'Profiler.enable');
      await postInspector(profiler, 'Profiler.start');
    }
    const txs = blockTxs[b];
    const [, check] = await phaseAsync(async () => {
      const results = pipelined
        ? await harness.app.checkTxBatch(txs.map((tx) => ({ tx, type: 0 })))
        : txs.map((tx) => harness.check(tx));
      for (const res of results) {
        if (res.code !== 0) throw new Error(`bench: CheckTx failed: ${res.codespace}/${res.code} ${res.log}`);
      }
    });
    const height = harness.height + 1n;
    const [response, finalize] = phase(() => harness.app.finalizeBlock({
      txs, decidedLastCommit: { round: 0, votes: [] }, misbehavior: [], hash: new Uint8Array(32),
      height, time: { seconds: 1_700_000_000n + height, nanos: 0 }, nextValidatorsHash: new Uint8Array(32), proposerAddress: new Uint8Array(20),
    }));
    const [, commit] = await phaseAsync(() => harness.app.commit());
    harness.height = height;
    const failed = response.txResults.find((r) => r.code !== 0);
    if (failed !== undefined) throw new Error(`bench: tx failed in block: ${failed.codespace}/${failed.code} ${failed.log}`);
    rows.push({ check, finalize, commit });
  }

  if (profiler !== undefined && blocks > 1) {
    const { profile } = await postInspector(profiler, 'Profiler.stop') as { profile: unknown };
    writeFileSync(process.env.BENCH_PROFILE ?? '', JSON.stringify(profile));
    profiler.disconnect();
  }

  const { worker: verifiedByWorker, ahead: verifiedAhead } = harness.app.batchSignatureCounts;
  const signatureShare = { worker: verifiedByWorker, ahead: verifiedAhead, inline: blocks * txsPerBlock - verifiedByWorker - verifiedAhead };

  // --- cold block: no CheckTx first (a syncing node), so decode and verify happen in FinalizeBlock
  const [cold, coldTotal] = await phaseAsync(() => harness.block(blockTxs[blocks]));
  if (cold.txResults.some((r) => r.code !== 0)) throw new Error('bench: cold block tx failed');
  const keysAfter = harness.store.committedKeys().length;
  await harness.close();

  console.log(`setup (keys, genesis, pre-signing ${totalBlocks * txsPerBlock} txs): ${(setupMs / 1000).toFixed(1)} s`);
  console.log('wall ms per phase (CPU ms of the process in brackets)');
  console.log('| block | CheckTx ms | FinalizeBlock ms | Commit ms | CheckTx tx/s | FinalizeBlock tx/s | Commit tx/s | end-to-end tx/s |');
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|');
  const both = (p: Phase) => `${p.wall.toFixed(0)} (${p.cpu.toFixed(0)})`;
  rows.forEach((r, i) => {
    const total = r.check.wall + r.finalize.wall + r.commit.wall;
    console.log(`| ${i + 1} | ${both(r.check)} | ${both(r.finalize)} | ${both(r.commit)} | ${rate(txsPerBlock, r.check.wall)} | ${rate(txsPerBlock, r.finalize.wall)} | ${rate(txsPerBlock, r.commit.wall)} | ${rate(txsPerBlock, total)} |`);
  });
  const per = (f: (r: (typeof rows)[number]) => number) => rows.map((r) => (txsPerBlock * 1000) / f(r));
  const wallAndCpu = (f: (p: Phase) => number) => (pick: (r: (typeof rows)[number]) => Phase[]) =>
    minMax(per((r) => pick(r).reduce((sum, p) => sum + f(p), 0)));
  const wall = wallAndCpu((p) => p.wall);
  const cpu = wallAndCpu((p) => p.cpu);
  const endToEnd = (r: (typeof rows)[number], f: 'wall' | 'cpu'): number => r.check[f] + r.finalize[f] + r.commit[f];
  /** Median and range of the end-to-end rate over blocks 2.. (the target is about these). */
  const steady = (f: 'wall' | 'cpu'): string => {
    const rates = rows.slice(1).map((r) => (txsPerBlock * 1000) / endToEnd(r, f)).sort((a, b) => a - b);
    if (rates.length === 0) return 'n/a (one block)';
    const middle = rates.length % 2 === 1 ? rates[(rates.length - 1) / 2] : (rates[rates.length / 2 - 1] + rates[rates.length / 2]) / 2;
    return `${Math.round(middle).toLocaleString('en')} [${minMax(rates)}]`;
  };
  const summary: Array<[string, string, string]> = [
    ['CheckTx tx/s', wall((r) => [r.check]), cpu((r) => [r.check])],
    ['FinalizeBlock tx/s (after CheckTx)', wall((r) => [r.finalize]), cpu((r) => [r.finalize])],
    ['Commit tx/s (LevelDB batch, fsync)', wall((r) => [r.commit]), cpu((r) => [r.commit])],
    ['end-to-end tx/s (CheckTx + FinalizeBlock + Commit)', wall((r) => [r.check, r.finalize, r.commit]), cpu((r) => [r.check, r.finalize, r.commit])],
    [`end-to-end tx/s, block 1 (JIT warm-up)`, rate(txsPerBlock, endToEnd(rows[0], 'wall')), rate(txsPerBlock, endToEnd(rows[0], 'cpu'))],
    [`end-to-end tx/s, steady state (blocks 2–${blocks}): median [min–max]`, steady('wall'), steady('cpu')],
    ...(pipelined ? [[
      'CheckTx signatures verified: worker / main thread ahead (while waiting) / main thread inline',
      `${signatureShare.worker.toLocaleString('en')} / ${signatureShare.ahead.toLocaleString('en')} / ${signatureShare.inline.toLocaleString('en')}`, '',
    ] as [string, string, string]] : []),
    ['cold FinalizeBlock + Commit tx/s (no CheckTx before)', rate(txsPerBlock, coldTotal.wall), rate(txsPerBlock, coldTotal.cpu)],
    ['state keys before / after', `${keysBefore.toLocaleString('en')} / ${keysAfter.toLocaleString('en')}`, ''],
    [`verifier: ${verifierName}, verifies/s`, `${Math.round(verifierRate).toLocaleString('en')} (${(verifierRate / nobleRate).toFixed(1)}× baseline)`, ''],
    ['baseline: @noble/curves secp256k1 verifies/s', `${Math.round(nobleRate).toLocaleString('en')} (1.0×)`, ''],
  ];
  console.log(`\nranges over the ${blocks} blocks; CPU tx/s = txs / process CPU time (what an idle core would give)`);
  console.log('| measure | wall | CPU |');
  console.log('|---|---:|---:|');
  for (const [name, value, cpuValue] of summary) console.log(`| ${name} | ${value} | ${cpuValue} |`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
