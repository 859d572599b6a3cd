/**
 * The operators' lists over REST against a real in-process app (R3mesApp over LevelDB, state
 * imported by InitChain and committed by a block): the real REST server talks JSON-RPC to a
 * small bridge that answers `abci_query` with `app.query`, as CometBFT would. Covers the windows
 * list with its status filter, a miner's submissions, resolved disputes, pagination round trips,
 * and refusals (400) for a bad key or filter.
 */
import t from 'tap';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { CID } from 'multiformats/cid';
import { create as createDigest } from 'multiformats/hashes/digest';
import { buildRestServer } from '../../app/rest/index.ts';
import { moduleRoutes } from '../../app/rest/module-routes.ts';
import { moduleInterfaces } from '../../app/interfaces.ts';
import { genesisFor, type Harness, startHarness } from '../helpers/app-harness.ts';
import type { TestKey } from '../helpers/txs.ts';
import { toBech32 } from '@cosmjs/encoding';
import { defaultGenesis as trainingGenesis } from '../../modules/training/genesis.ts';
import { defaultGenesis as verificationGenesis } from '../../modules/verification/genesis.ts';
import { GenesisState as TrainingGenesis } from '../../proto/gen/r3mes/training/v1/genesis.ts';
import { GenesisState as VerificationGenesis } from '../../proto/gen/r3mes/verification/v1/genesis.ts';
import { type Submission, SubmissionStatus, type Window, WindowStatus } from '../../proto/gen/r3mes/training/v1/types.ts';
import { type Dispute, DisputeOrigin, DisputeOutcome, DisputeStage } from '../../proto/gen/r3mes/verification/v1/types.ts';

const account = (n: number) => ({ address: toBech32('r3mes', new Uint8Array(20).fill(n)) });
const alice = account(1);
const bob = account(2);
const FAR = 100_000n;

const sha = (text: string) => createHash('sha256').update(text).digest();
const cidOf = (text: string) => CID.createV1(0x55, createDigest(0x12, sha(text))).toString();

const STATUSES = [WindowStatus.WINDOW_STATUS_FINALIZED, WindowStatus.WINDOW_STATUS_FAILED, WindowStatus.WINDOW_STATUS_FINALIZED, WindowStatus.WINDOW_STATUS_AGGREGATING, WindowStatus.WINDOW_STATUS_COLLECTING];

function window(id: bigint, status: WindowStatus, submissionCount: bigint): Window {
  const open = 1n + (id - 1n) * 10n;
  // Open windows keep their phases far ahead, so the block that commits the genesis moves nothing.
  const late = status === WindowStatus.WINDOW_STATUS_COLLECTING || status === WindowStatus.WINDOW_STATUS_AGGREGATING;
  const collectEnd = status === WindowStatus.WINDOW_STATUS_COLLECTING ? FAR : open + 10n;
  const commitStart = late ? FAR + 10n : open + 12n;
  return {
    id, status, openHeight: open, seed: Buffer.alloc(32, Number(id)), modelVersion: 1n, subnetCount: 4n, datasetId: 1n, chunkCount: 1024n,
    maxSubmissionsPerMiner: 4n, collectEndHeight: collectEnd, commitStartHeight: commitStart, revealStartHeight: commitStart + 5n,
    revealEndHeight: commitStart + 10n, baseReward: '1000000', submissionCount, acceptedCount: 0n, proposers: [], resultCid: '',
    resultHash: Buffer.alloc(0), failureReason: status === WindowStatus.WINDOW_STATUS_FAILED ? 'no accepted submissions' : '', closedHeight: late ? 0n : open + 22n, excludedCount: 0n,
    evalChunkCount: 0n, heldoutChunkCount: 303n, minImprovement: 0n, evalChunks: [], lossBase: 0n, lossAggregate: 0n, rolledBackHeight: 0n, checkpointThrough: 0n,
  };
}

function appState(): Record<string, unknown> {
  // Alice submits once in every window, Bob in windows 2 and 4: submission ids in window order.
  const submissions: Submission[] = [];
  const counts = new Map<bigint, bigint>();
  for (let w = 1n; w <= 5n; w++) {
    for (const miner of w % 2n === 0n ? [alice.address, bob.address] : [alice.address]) {
      const id = BigInt(submissions.length + 1);
      counts.set(w, (counts.get(w) ?? 0n) + 1n);
      submissions.push({
        id, miner, windowId: w, subnet: 0n, modelVersion: 1n, gradientCid: cidOf(`delta ${id}`), gradientHash: sha(`hash ${id}`),
        traceRoot: sha(`trace ${id}`), chunkIndex: 0n, ordinal: 0n, lossBefore: 0n, lossAfter: 0n, backend: 'cpu', height: w * 10n,
        status: w >= 4n ? SubmissionStatus.SUBMISSION_STATUS_PENDING : SubmissionStatus.SUBMISSION_STATUS_ACCEPTED, rejectReason: '', exclusionReason: 0,
      });
    }
  }
  const training = trainingGenesis();
  Object.assign(training, {
    windows: STATUSES.map((status, i) => window(BigInt(i + 1), status, counts.get(BigInt(i + 1)) ?? 0n)),
    submissions, nextWindowId: 6n, nextSubmissionId: BigInt(submissions.length + 1), nextOpenHeight: FAR,
  });
  // Disputes 1-3 resolved (they stay in state), 4 open; L1 flags (no bond to fund).
  const dispute = (id: bigint, submissionId: bigint, outcome: DisputeOutcome): Dispute => ({
    ...VerificationGenesis.fromJSON({ disputes: [{}] }).disputes[0],
    id, submissionId, miner: alice.address, origin: DisputeOrigin.DISPUTE_ORIGIN_L1_FLAG, bond: '0', baseReward: '1000000', slashed: '0', bounty: '0',
    stage: outcome === DisputeOutcome.DISPUTE_OUTCOME_UNSPECIFIED ? DisputeStage.DISPUTE_STAGE_L3_VOTING : DisputeStage.DISPUTE_STAGE_RESOLVED,
    outcome, expectedHash: sha(`hash ${submissionId}`), submissionSeed: Buffer.alloc(32, 7), openedHeight: 5n, nextActionHeight: outcome === DisputeOutcome.DISPUTE_OUTCOME_UNSPECIFIED ? FAR : 0n,
    resolvedHeight: outcome === DisputeOutcome.DISPUTE_OUTCOME_UNSPECIFIED ? 0n : 9n,
  });
  const verification = verificationGenesis();
  Object.assign(verification, {
    nextDisputeId: 5n, nextScanSubmissionId: BigInt(submissions.length + 1),
    disputes: [
      dispute(1n, 1n, DisputeOutcome.DISPUTE_OUTCOME_MINER_AT_FAULT), dispute(2n, 2n, DisputeOutcome.DISPUTE_OUTCOME_NO_FAULT),
      dispute(3n, 4n, DisputeOutcome.DISPUTE_OUTCOME_VOID), dispute(4n, 6n, DisputeOutcome.DISPUTE_OUTCOME_UNSPECIFIED),
    ],
  });
  return { ...genesisFor([alice, bob] as TestKey[]), training: TrainingGenesis.toJSON(training), verification: VerificationGenesis.toJSON(verification) };
}

let harness: Harness;
let bridge: Server;
let rest: FastifyInstance;

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

t.before(async () => {
  harness = await startHarness(appState());
  await harness.block([]); // commits the imported state
  // CometBFT's JSON-RPC abci_query, answered by the real app.
  bridge = createServer((req, res) => {
    void readBody(req).then((text) => {
      const request = JSON.parse(text) as { id: number; method: string; params: { path: string; data: string; height?: string; prove?: boolean } };
      res.setHeader('content-type', 'application/json');
      if (request.method !== 'abci_query') return res.end(JSON.stringify({ jsonrpc: '2.0', id: request.id, error: { code: -32601, message: 'Method not found' } }));
      const answer = harness.app.query({ path: request.params.path, data: Buffer.from(request.params.data ?? '', 'hex'), height: BigInt(request.params.height ?? '0'), prove: false });
      res.end(JSON.stringify({ jsonrpc: '2.0', id: request.id, result: { response: {
        code: answer.code, log: answer.log, info: '', index: '0', key: null, value: Buffer.from(answer.value).toString('base64'),
        proofOps: null, height: answer.height.toString(), codespace: answer.codespace,
      } } }));
    });
  });
  await new Promise<void>((resolve) => bridge.listen(0, '127.0.0.1', resolve));
  const address = bridge.address();
  rest = await buildRestServer({ rpcUrl: `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`, modules: [moduleRoutes(moduleInterfaces())] });
});
t.teardown(async () => {
  await rest.close();
  await new Promise<void>((resolve) => bridge.close(() => resolve()));
  await harness.close();
});

async function get(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const reply = await rest.inject({ method: 'GET', url });
  return { status: reply.statusCode, body: reply.json() as Record<string, unknown> };
}
const ids = (list: unknown) => ((list ?? []) as Array<{ id: string }>).map((item) => Number(item.id));

t.test('GET /r3mes/training/v1/windows: every window by id, a status filter, newest first with reverse', async (t) => {
  const all = await get('/r3mes/training/v1/windows');
  t.equal(all.status, 200);
  t.same(ids(all.body.windows), [1, 2, 3, 4, 5]);
  t.same(all.body.pagination, { next_key: null, total: '5' }, 'Cosmos PageResponse: no next page, total counted by default');
  t.same(ids((await get('/r3mes/training/v1/windows?status=finalized')).body.windows), [1, 3]);
  t.same(ids((await get('/r3mes/training/v1/windows?status=collecting')).body.windows), [5]);
  t.same(ids((await get('/r3mes/training/v1/windows?status=aggregating')).body.windows), [4]);
  t.same(ids((await get('/r3mes/training/v1/windows?pagination.reverse=true&pagination.limit=2')).body.windows), [5, 4], 'newest first');
  t.end();
});

t.test('pagination over REST: limit and next_key round trip, count_total, offset', async (t) => {
  const seen: number[] = [];
  let url = '/r3mes/training/v1/windows?pagination.limit=2&pagination.count_total=true';
  for (let pages = 0; pages < 10; pages++) {
    const page = await get(url);
    t.equal(page.status, 200);
    seen.push(...ids(page.body.windows));
    const next = (page.body.pagination as { next_key: string | null }).next_key;
    if (next === null) break;
    url = `/r3mes/training/v1/windows?pagination.limit=2&pagination.key=${encodeURIComponent(next)}`;
  }
  t.same(seen, [1, 2, 3, 4, 5], 'every window exactly once');
  const first = await get('/r3mes/training/v1/windows?pagination.limit=2&pagination.count_total=true');
  t.same(first.body.pagination, { next_key: Buffer.from([0, 0, 0, 0, 0, 0, 0, 3]).toString('base64'), total: '5' });
  t.same(ids((await get('/r3mes/training/v1/windows?pagination.offset=3')).body.windows), [4, 5]);
  t.end();
});

t.test('GET /r3mes/training/v1/miners/{address}/submissions: a miner\'s submissions in every window', async (t) => {
  const mine = await get(`/r3mes/training/v1/miners/${alice.address}/submissions`);
  t.equal(mine.status, 200);
  const submissions = mine.body.submissions as Array<{ id: string; windowId: string; miner: string }>;
  t.same(submissions.map((s) => Number(s.windowId)), [1, 2, 3, 4, 5]);
  t.ok(submissions.every((s) => s.miner === alice.address));
  t.same((await get(`/r3mes/training/v1/miners/${bob.address}/submissions`)).body.submissions && ((await get(`/r3mes/training/v1/miners/${bob.address}/submissions`)).body.submissions as Array<{ windowId: string }>).map((s) => Number(s.windowId)), [2, 4]);
  const paged = await get(`/r3mes/training/v1/miners/${alice.address}/submissions?pagination.limit=2&pagination.reverse=true`);
  t.same((paged.body.submissions as Array<{ windowId: string }>).map((s) => Number(s.windowId)), [5, 4]);
  const none = await get(`/r3mes/training/v1/miners/${account(3).address}/submissions`);
  t.equal(none.status, 200);
  t.same(none.body.pagination, { next_key: null, total: '0' });
  t.equal((await get('/r3mes/training/v1/miners/not-an-address/submissions')).status, 400, 'a bad address is a 400');
  t.end();
});

t.test('GET /r3mes/verification/v1/disputes: open by default, resolved disputes stay listable', async (t) => {
  t.same(ids((await get('/r3mes/verification/v1/disputes')).body.disputes), [4], 'open ones by default');
  const resolved = await get('/r3mes/verification/v1/disputes?status=resolved');
  t.same(ids(resolved.body.disputes), [1, 2, 3]);
  t.same((resolved.body.disputes as Array<{ outcome: string }>).map((d) => d.outcome), ['DISPUTE_OUTCOME_MINER_AT_FAULT', 'DISPUTE_OUTCOME_NO_FAULT', 'DISPUTE_OUTCOME_VOID']);
  t.same(ids((await get('/r3mes/verification/v1/disputes?status=all&pagination.limit=3')).body.disputes), [1, 2, 3]);
  t.same(ids((await get('/r3mes/verification/v1/open_disputes')).body.disputes), [4]);
  t.end();
});

t.test('window submissions and other lists take pagination too', async (t) => {
  const page = await get('/r3mes/training/v1/windows/2/submissions?pagination.limit=1&pagination.count_total=true');
  t.equal((page.body.submissions as unknown[]).length, 1);
  t.equal((page.body.pagination as { total: string }).total, '2');
  t.equal((await get('/r3mes/staking/v1/validators?pagination.limit=5')).status, 200);
  t.equal((await get('/r3mes/model/v1/proposals?status=passed')).status, 200);
  const balances = await get(`/cosmos/bank/v1beta1/balances/${alice.address}?pagination.limit=1`);
  t.same(balances.body.pagination, { next_key: null, total: '0' }, 'bank keeps the Cosmos shape');
  t.end();
});

t.test('refusals: a bad key, key with offset, an unknown status → 400 with the cause', async (t) => {
  const short = await get(`/r3mes/training/v1/windows?pagination.key=${encodeURIComponent(Buffer.from('abc').toString('base64'))}`);
  t.equal(short.status, 400);
  t.match(short.body.message, /pagination.key must be 8 bytes \(a u64be window id/);
  const both = await get(`/r3mes/training/v1/windows?pagination.key=AAAAAAAAAAE=&pagination.offset=1`);
  t.equal(both.status, 400);
  t.match(both.body.message, /pagination.key and pagination.offset cannot both be set/);
  const notBase64 = await get('/r3mes/training/v1/windows?pagination.key=%%%');
  t.equal(notBase64.status, 400);
  const status = await get('/r3mes/training/v1/windows?status=done');
  t.equal(status.status, 400);
  t.equal((await get('/r3mes/verification/v1/disputes?status=closed')).status, 400);
  t.end();
});

t.test('the OpenAPI document describes the lists: pagination.* and filters in the query, PageResponse in the answer', async (t) => {
  const doc = JSON.parse((await rest.inject({ method: 'GET', url: '/openapi.json' })).body) as {
    paths: Record<string, Record<string, { parameters?: Array<{ name: string; in: string; schema?: { enum?: string[] } }>; responses: Record<string, { content?: Record<string, { schema: { properties?: Record<string, unknown> } }> }> }>>;
  };
  const windows = doc.paths['/r3mes/training/v1/windows']?.get;
  for (const name of ['pagination.key', 'pagination.offset', 'pagination.limit', 'pagination.count_total', 'pagination.reverse']) {
    t.ok(windows?.parameters?.some((p) => p.in === 'query' && p.name === name), `windows: ${name}`);
  }
  t.same(windows?.parameters?.find((p) => p.name === 'status')?.schema?.enum, ['collecting', 'aggregating', 'finalized', 'failed', 'not_applied', 'all']);
  t.ok(windows?.responses['200']?.content?.['application/json']?.schema.properties?.pagination, 'pagination in the answer');
  t.same(doc.paths['/r3mes/verification/v1/disputes']?.get?.parameters?.find((p) => p.name === 'status')?.schema?.enum, ['open', 'resolved', 'all']);
  t.ok(doc.paths['/r3mes/training/v1/miners/{miner}/submissions']?.get?.parameters?.some((p) => p.name === 'pagination.limit'));
  t.notOk(doc.paths['/r3mes/training/v1/windows/{window_id}']?.get?.parameters?.some((p) => p.name === 'pagination.limit'), 'a single-item query takes no pagination');
  t.end();
});
