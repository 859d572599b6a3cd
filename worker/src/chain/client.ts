// The worker's view of the chain: the generic ABCI queries of the training and model modules
// (`/r3mes.<module>.v1.Query/<Method>` with the generated proto types) and signed messages
// through a stock CosmJS SigningStargateClient (`connectSigningClient` from @r3mes/client).
// Roles depend on the small interfaces below, never on CosmJS, so tests can fake the chain.

import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { calculateFee, GasPrice, SigningStargateClient } from '@cosmjs/stargate';
import { Comet38Client } from '@cosmjs/tendermint-rpc';
import { TxRaw } from 'cosmjs-types/cosmos/tx/v1beta1/tx';
import { TxMsgData } from 'cosmjs-types/cosmos/base/abci/v1beta1/abci';
import type { OfflineDirectSigner } from '@cosmjs/proto-signing';
import {
  type AggregationCommit, type CommittedCheckpoint, type TrainingCheckpoint, type CommittedLosses, DEFAULT_GAS_PRICE, type Dispute, type Exclusion, type L1Check, modelQuery, type ModelVersion, r3mesRegistry, type Submission,
  pocQuery, type pocTypes, stakingQuery, type TrainingParams, trainingQuery, trainingTx, verificationQuery, verificationTx, verificationTypes, type Window, type modelTypes,
} from '@r3mes/client';
import { ChainError, ChainErrorCode, describeError, isConnectionError, isNetworkError } from './errors.ts';
import { DEFAULT_RPC_TIMEOUT_MS, HttpRpcClient } from './rpc.ts';

const {
  QueryAggregationRequest, QueryAggregationResponse, QueryAssignmentRequest, QueryAssignmentResponse,
  QueryParamsRequest, QueryParamsResponse, QueryCurrentWindowRequest, QueryCurrentWindowResponse, QueryWindowRequest, QueryWindowResponse,
  QueryWindowSubmissionsRequest, QueryWindowSubmissionsResponse, QuerySubmissionRequest, QuerySubmissionResponse,
  QueryCheckpointsRequest, QueryCheckpointsResponse,
} = trainingQuery;
const { MsgSubmitGradientResponse } = trainingTx;
const { QueryVersionRequest, QueryVersionResponse, QueryActiveVersionRequest, QueryActiveVersionResponse, QueryDatasetRequest, QueryDatasetResponse } = modelQuery;
const {
  QueryChecksByVerifierRequest: VQueryChecksByVerifierRequest, QueryChecksByVerifierResponse: VQueryChecksByVerifierResponse,
  QueryDisputeRequest: VQueryDisputeRequest, QueryDisputeResponse: VQueryDisputeResponse,
  QueryOpenDisputesRequest: VQueryOpenDisputesRequest, QueryOpenDisputesResponse: VQueryOpenDisputesResponse,
  QuerySubmissionRequest: VQuerySubmissionRequest, QuerySubmissionResponse: VQuerySubmissionResponse,
  QueryParamsRequest: VQueryParamsRequest, QueryParamsResponse: VQueryParamsResponse,
} = verificationQuery;
const { MsgChallengeResponse } = verificationTx;

export type { AggregationCommit, Dispute, Exclusion, L1Check, ModelVersion, Submission, TrainingParams, Window };
export type VerificationParams = verificationTypes.Params;
/** A registered dataset (model module README "Datasets"). */
export type Dataset = modelTypes.Dataset;
export type Assignment = trainingQuery.QueryAssignmentResponse;
export type GradientFields = Omit<trainingTx.MsgSubmitGradient, 'miner'>;

export const TYPE_SUBMIT_GRADIENT = '/r3mes.training.v1.MsgSubmitGradient';
export const TYPE_COMMIT_AGGREGATION = '/r3mes.training.v1.MsgCommitAggregation';
export const TYPE_REVEAL_AGGREGATION = '/r3mes.training.v1.MsgRevealAggregation';
export const TYPE_SUBMIT_VERIFICATION = '/r3mes.verification.v1.MsgSubmitVerification';
export const TYPE_CHALLENGE = '/r3mes.verification.v1.MsgChallenge';
export const TYPE_ARBITER_VOTE = '/r3mes.verification.v1.MsgArbiterVote';
export const TYPE_REPORT_UNAVAILABLE = '/r3mes.verification.v1.MsgReportUnavailable';
export const TYPE_SET_CONTENT_LOCATIONS = '/r3mes.staking.v1.MsgSetContentLocations';
export const TYPE_SUBMIT_POC_BATCH = '/r3mes.poc.v1.MsgSubmitPocBatch';
export const TYPE_POC_VERDICT = '/r3mes.poc.v1.MsgPocVerdict';
export const TYPE_POC_ARBITER_VOTE = '/r3mes.poc.v1.MsgPocArbiterVote';
export const TYPE_POC_COMMIT = '/r3mes.poc.v1.MsgPocCommit';
/** Gas headroom per PoC reveal: settling a check and opening a dispute with its panel draw. */
export const POC_REVEAL_EXTRA_GAS = 400_000;

/** Where operators announced their content (staking's MsgSetContentLocations). */
export interface ContentLocationReader {
  /** Every owner's announced list, in owner address order. */
  allContentLocations(): Promise<Array<{ address: string; locations: string[] }>>;
}

export const TYPE_BISECT_REVEAL = '/r3mes.verification.v1.MsgBisectReveal';
export const TYPE_BISECT_RESPOND = '/r3mes.verification.v1.MsgBisectRespond';

/** Bisection moves (verification README "Bisection"): the miner's reveal, the disputer's answer. */
/** The disputer's own stateHash at the answered step, its own trace root, and the proof of one in the other. */
export interface OwnTraceAnswer {
  readonly hash: Uint8Array;
  readonly root: Uint8Array;
  /** siblings from the leaf up (directions follow from the step and the n + 1 leaves) */
  readonly proof: readonly Uint8Array[];
  /** the steps of the disputer's own re-execution (its trace has steps + 1 states) */
  readonly steps: number;
}

export interface BisectionWriter {
  readonly address: string;
  signBisectReveal(move: { disputeId: bigint; step: bigint; steps: bigint; stateHash: Uint8Array; proof: readonly Uint8Array[]; stateCid: string }): Promise<SignedTx>;
  /** own: the disputer's own stateHash at the step, proved against its own trace root (chain README "Bisection"). */
  signBisectRespond(disputeId: bigint, step: bigint, agree: boolean, own: OwnTraceAnswer): Promise<SignedTx>;
  broadcast(tx: SignedTx): Promise<TxOutcome>;
}

/** What the roles read. */
export interface ChainReader {
  height(): Promise<bigint>;
  currentWindow(): Promise<Window | undefined>;
  window(windowId: bigint): Promise<Window>;
  assignment(windowId: bigint, miner: string): Promise<Assignment>;
  windowSubmissions(windowId: bigint): Promise<Submission[]>;
  submission(submissionId: bigint): Promise<Submission>;
  aggregation(windowId: bigint): Promise<AggregationCommit[]>;
  /** the training module's params now (the aggregation rule among them) */
  trainingParams(): Promise<TrainingParams>;
  modelVersion(version: bigint): Promise<ModelVersion>;
  /** code of an indexed tx, or undefined when the node does not know it */
  txResult(txhash: string): Promise<{ code: number; height: bigint; rawLog: string } | undefined>;
}

/** What the verifier and arbiter read: training's submissions and verification's duties. */
export interface VerificationReader {
  height(): Promise<bigint>;
  /** a training submission, or undefined when no submission has this id (yet) */
  findSubmission(submissionId: bigint): Promise<Submission | undefined>;
  /**
   * The PENDING L1 checks drawn to `verifier`, ascending by submission id (the verification
   * module's ChecksByVerifier query, every page). A check past its deadline may still be listed
   * until the chain marks it missed.
   */
  pendingL1Checks(verifier: string): Promise<L1Check[]>;
  openDisputes(): Promise<Dispute[]>;
  modelVersion(version: bigint): Promise<ModelVersion>;
  txResult(txhash: string): Promise<{ code: number; height: bigint; rawLog: string } | undefined>;
}

/** A signed transaction, not yet broadcast: its bytes and hash (upper-case hex, as CometBFT). */
export interface SignedTx {
  readonly txBytes: Uint8Array;
  readonly txhash: string;
}

export interface TxOutcome {
  readonly txhash: string;
  readonly height: bigint;
  readonly code: number;
  readonly rawLog: string;
  /** decoded MsgSubmitGradientResponse, for a gradient submission */
  readonly submissionId?: bigint;
  readonly ordinal?: bigint;
  /** decoded MsgChallengeResponse, for a challenge */
  readonly disputeId?: bigint;
}

/** What the roles send. Signing and broadcasting are separate so a journal can sit between. */
export interface ChainWriter {
  readonly address: string;
  signSubmitGradient(fields: GradientFields): Promise<SignedTx>;
  signCommitAggregation(windowId: bigint, commitment: Uint8Array): Promise<SignedTx>;
  /** `excluded`: the committed exclusions, ascending by submission id (none: every input included). */
  /** `losses`: the held-out losses committed with the result (absent: both 0, a window without evaluation). */
  /** `checkpoint`: the committed checkpoint of a window that carries one (absent: none). */
  signRevealAggregation(
    windowId: bigint, resultCid: string, resultHash: Uint8Array, nonce: Uint8Array, excluded?: readonly Exclusion[], losses?: CommittedLosses, checkpoint?: CommittedCheckpoint,
  ): Promise<SignedTx>;
  broadcast(tx: SignedTx): Promise<TxOutcome>;
}

/** What the verifier, arbiter and challenger send (the verification module's four messages). */
export interface VerificationWriter {
  readonly address: string;
  /** MsgSubmitVerification, commit: the commitment only (README "Commit, then reveal"). */
  signCommitVerification(submissionId: bigint, commitment: Uint8Array): Promise<SignedTx>;
  /** MsgSubmitVerification, reveal: the result hash and the salt of the commitment. */
  signRevealVerification(submissionId: bigint, resultHash: Uint8Array, salt: Uint8Array): Promise<SignedTx>;
  signReportUnavailable(submissionId: bigint): Promise<SignedTx>;
  /** MsgArbiterVote, commit: the commitment only. */
  signCommitArbiterVote(disputeId: bigint, commitment: Uint8Array): Promise<SignedTx>;
  /** MsgArbiterVote, reveal: the vote and the salt of the commitment. */
  signRevealArbiterVote(disputeId: bigint, vote: { resultHash: Uint8Array } | { unavailable: true }, salt: Uint8Array): Promise<SignedTx>;
  signChallenge(submissionId: bigint, bondUr3mes: bigint): Promise<SignedTx>;
  broadcast(tx: SignedTx): Promise<TxOutcome>;
}

export function txHashOf(txBytes: Uint8Array): string {
  return bytesToHex(sha256(txBytes)).toUpperCase();
}

/**
 * Retries of a call whose connection broke (errors.ts isConnectionError): `attempts` tries in all,
 * waiting baseMs, 2·baseMs, … (at most maxMs) between them. `onRetry` is told each time.
 */
export interface RetryPolicy {
  readonly attempts: number;
  readonly baseMs: number;
  readonly maxMs: number;
  readonly onRetry?: (what: string, attempt: number, error: string, waitMs: number) => void;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseMs: 500, maxMs: 8_000 };

const backoffMs = (policy: RetryPolicy, attempt: number) => Math.min(policy.maxMs, policy.baseMs * 2 ** (attempt - 1));
const wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function unreachable(rpcUrl: string, what: string, cause: unknown, attempts = 1): ChainError {
  const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
  return new ChainError(ChainErrorCode.Unreachable, `chain node ${rpcUrl} is unreachable (${what})${tries}: ${describeError(cause)}`, {}, { cause });
}

/**
 * Wraps a call to the node so that a dead node is a clear ChainError, not a stack trace; with a
 * policy, a call whose connection broke is tried again (only for calls that are safe to repeat:
 * queries, simulation, signing; never a broadcast, see RpcChainWriter.broadcast).
 */
async function reach<T>(rpcUrl: string, what: string, fn: () => Promise<T>, policy?: RetryPolicy, beforeRetry?: () => Promise<void> | void): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (cause) {
      if (cause instanceof ChainError) throw cause;
      if (policy && attempt < policy.attempts && isConnectionError(cause)) {
        const ms = backoffMs(policy, attempt);
        policy.onRetry?.(what, attempt, describeError(cause), ms);
        await wait(ms);
        await beforeRetry?.();
        continue;
      }
      if (isNetworkError(cause)) throw unreachable(rpcUrl, what, cause, attempt);
      throw new ChainError(ChainErrorCode.QueryFailed, `${what} failed: ${describeError(cause)}`, {}, { cause });
    }
  }
}

export interface ConnectOptions {
  /** retries of a call whose connection broke (default DEFAULT_RETRY) */
  retry?: RetryPolicy;
  /** per-request timeout of the HTTP transport (default 30 s) */
  rpcTimeoutMs?: number;
}

/** A Comet38Client over the fresh-connection transport (rpc.ts). */
export function connectComet(rpcUrl: string, rpcTimeoutMs = DEFAULT_RPC_TIMEOUT_MS): Comet38Client {
  return Comet38Client.create(new HttpRpcClient(rpcUrl, rpcTimeoutMs));
}

export class RpcChainReader implements ChainReader, VerificationReader {
  private constructor(readonly rpcUrl: string, private readonly comet: Comet38Client, private readonly retry: RetryPolicy) {}

  static async connect(rpcUrl: string, options: ConnectOptions = {}): Promise<RpcChainReader> {
    const comet = await reach(rpcUrl, 'connect', async () => connectComet(rpcUrl, options.rpcTimeoutMs));
    const reader = new RpcChainReader(rpcUrl, comet, options.retry ?? DEFAULT_RETRY);
    await reader.height(); // fail now, with a clear message, if nobody answers
    return reader;
  }

  disconnect(): void {
    this.comet.disconnect();
  }

  private async query<T>(path: string, data: Uint8Array, decode: (b: Uint8Array) => T): Promise<T> {
    const answer = await reach(this.rpcUrl, path, () => this.comet.abciQuery({ path, data }), this.retry);
    if (answer.code !== 0) {
      throw new ChainError(ChainErrorCode.QueryFailed, `query ${path} failed (${answer.codespace ?? ''}/${answer.code}): ${answer.log ?? ''}`, { codespace: answer.codespace, abciCode: answer.code });
    }
    try {
      return decode(answer.value);
    } catch (cause) {
      throw new ChainError(ChainErrorCode.QueryFailed, `query ${path}: answer does not decode: ${(cause as Error).message}`, {}, { cause });
    }
  }

  /**
   * Every item of a paged list query (Cosmos PageRequest/PageResponse): pages of 1000 (the chain's
   * maximum), each continuing at the previous page's next_key, until a page has none. Each page
   * reads the latest state, so items added meanwhile may appear; none present throughout is missed.
   */
  private async allPages<R extends { pagination?: { nextKey: Uint8Array } | undefined }, T>(
    path: string,
    encode: (pagination: { key: Buffer; offset: bigint; limit: bigint; countTotal: boolean; reverse: boolean }) => Uint8Array,
    decode: (b: Uint8Array) => R,
    items: (response: R) => T[],
  ): Promise<T[]> {
    const out: T[] = [];
    let key = Buffer.alloc(0);
    for (;;) {
      const page = await this.query(path, encode({ key, offset: 0n, limit: 1000n, countTotal: false, reverse: false }), decode);
      out.push(...items(page));
      const next = page.pagination?.nextKey;
      if (next === undefined || next.length === 0) return out;
      if (Buffer.from(next).equals(key)) throw new ChainError(ChainErrorCode.QueryFailed, `query ${path}: the next page starts where this one did (next_key ${key.toString('base64')})`);
      key = Buffer.from(next);
    }
  }

  async height(): Promise<bigint> {
    const status = await reach(this.rpcUrl, 'status', () => this.comet.status(), this.retry);
    return BigInt(status.syncInfo.latestBlockHeight);
  }

  async currentWindow(): Promise<Window | undefined> {
    return (await this.query('/r3mes.training.v1.Query/CurrentWindow', QueryCurrentWindowRequest.encode({}).finish(), (b) => QueryCurrentWindowResponse.decode(b))).window;
  }

  async window(windowId: bigint): Promise<Window> {
    const w = (await this.query('/r3mes.training.v1.Query/Window', QueryWindowRequest.encode({ windowId }).finish(), (b) => QueryWindowResponse.decode(b))).window;
    if (!w) throw new ChainError(ChainErrorCode.QueryFailed, `window ${windowId} not found`);
    return w;
  }

  assignment(windowId: bigint, miner: string): Promise<Assignment> {
    return this.query('/r3mes.training.v1.Query/Assignment', QueryAssignmentRequest.encode({ windowId, miner }).finish(), (b) => QueryAssignmentResponse.decode(b));
  }

  async windowSubmissions(windowId: bigint): Promise<Submission[]> {
    return this.allPages('/r3mes.training.v1.Query/WindowSubmissions', (pagination) => QueryWindowSubmissionsRequest.encode({ windowId, pagination }).finish(),
      (b) => QueryWindowSubmissionsResponse.decode(b), (r) => r.submissions);
  }

  async submission(submissionId: bigint): Promise<Submission> {
    const s = (await this.query('/r3mes.training.v1.Query/Submission', QuerySubmissionRequest.encode({ submissionId }).finish(), (b) => QuerySubmissionResponse.decode(b))).submission;
    if (!s) throw new ChainError(ChainErrorCode.QueryFailed, `submission ${submissionId} not found`);
    return s;
  }

  async aggregation(windowId: bigint): Promise<AggregationCommit[]> {
    return this.allPages('/r3mes.training.v1.Query/Aggregation', (pagination) => QueryAggregationRequest.encode({ windowId, pagination }).finish(),
      (b) => QueryAggregationResponse.decode(b), (r) => r.commits);
  }

  /** Every checkpoint of a model version (training README "Checkpoints"), by through window. */
  async checkpoints(modelVersion: bigint): Promise<TrainingCheckpoint[]> {
    return this.allPages('/r3mes.training.v1.Query/Checkpoints', (pagination) => QueryCheckpointsRequest.encode({ modelVersion, pagination }).finish(),
      (b) => QueryCheckpointsResponse.decode(b), (r) => r.checkpoints);
  }

  async trainingParams(): Promise<TrainingParams> {
    const p = (await this.query('/r3mes.training.v1.Query/Params', QueryParamsRequest.encode({}).finish(), (b) => QueryParamsResponse.decode(b))).params;
    if (!p) throw new ChainError(ChainErrorCode.QueryFailed, 'the training module answered no params');
    return p;
  }

  async modelVersion(version: bigint): Promise<ModelVersion> {
    const v = (await this.query('/r3mes.model.v1.Query/Version', QueryVersionRequest.encode({ number: version }).finish(), (b) => QueryVersionResponse.decode(b))).version;
    if (!v) throw new ChainError(ChainErrorCode.QueryFailed, `model version ${version} not found`);
    return v;
  }

  /** A registered dataset (model module `Dataset`). */
  async dataset(id: bigint): Promise<Dataset> {
    const d = (await this.query('/r3mes.model.v1.Query/Dataset', QueryDatasetRequest.encode({ id }).finish(), (b) => QueryDatasetResponse.decode(b))).dataset;
    if (!d) throw new ChainError(ChainErrorCode.QueryFailed, `dataset ${id} not found`);
    return d;
  }

  /** The version training runs on now (model module `ActiveVersion`). */
  async activeVersion(): Promise<ModelVersion> {
    const v = (await this.query('/r3mes.model.v1.Query/ActiveVersion', QueryActiveVersionRequest.encode({}).finish(), (b) => QueryActiveVersionResponse.decode(b))).active;
    if (!v) throw new ChainError(ChainErrorCode.QueryFailed, 'the model module answered no active version');
    return v;
  }

  async findSubmission(submissionId: bigint): Promise<Submission | undefined> {
    const answer = await reach(this.rpcUrl, 'training submission', () =>
      this.comet.abciQuery({ path: '/r3mes.training.v1.Query/Submission', data: QuerySubmissionRequest.encode({ submissionId }).finish() }), this.retry);
    if (answer.code !== 0) return undefined; // not found (the module answers an error for an unknown id)
    return QuerySubmissionResponse.decode(answer.value).submission;
  }

  async l1Check(submissionId: bigint): Promise<L1Check | undefined> {
    const path = '/r3mes.verification.v1.Query/Submission';
    return (await this.query(path, VQuerySubmissionRequest.encode({ submissionId }).finish(), (b) => VQuerySubmissionResponse.decode(b))).l1Check;
  }

  async pendingL1Checks(verifier: string): Promise<L1Check[]> {
    const path = '/r3mes.verification.v1.Query/ChecksByVerifier';
    const out: L1Check[] = [];
    let startAfter = 0n;
    for (;;) {
      const page = await this.query(path, VQueryChecksByVerifierRequest.encode({ verifier, startAfter, limit: 0n }).finish(), (b) => VQueryChecksByVerifierResponse.decode(b));
      out.push(...page.checks);
      if (page.nextStartAfter === 0n || page.nextStartAfter <= startAfter) return out;
      startAfter = page.nextStartAfter;
    }
  }

  async openDisputes(): Promise<Dispute[]> {
    const path = '/r3mes.verification.v1.Query/OpenDisputes';
    return this.allPages(path, (pagination) => VQueryOpenDisputesRequest.encode({ pagination }).finish(), (b) => VQueryOpenDisputesResponse.decode(b), (r) => r.disputes);
  }

  /** The current (or latest: id 0) PoC epoch, or a given one; undefined when there is none. */
  async pocEpoch(id = 0n): Promise<pocTypes.Epoch | undefined> {
    const { QueryEpochRequest, QueryEpochResponse } = pocQuery;
    try {
      return (await this.query('/r3mes.poc.v1.Query/Epoch', QueryEpochRequest.encode({ epoch: id }).finish(), (b) => QueryEpochResponse.decode(b))).epoch;
    } catch (err) {
      if (err instanceof ChainError && err.detail.codespace === 'poc' && err.detail.abciCode === 6) return undefined; // poc/6 epoch not found
      throw err;
    }
  }

  /** Every sampled claim of a PoC epoch. */
  async pocChecks(epoch: bigint): Promise<pocTypes.Check[]> {
    const { QueryChecksRequest, QueryChecksResponse } = pocQuery;
    return this.allPages('/r3mes.poc.v1.Query/Checks', (pagination) => QueryChecksRequest.encode({ epoch, pagination }).finish(), (b) => QueryChecksResponse.decode(b), (r) => r.checks);
  }

  async pocDispute(id: bigint): Promise<pocTypes.Dispute | undefined> {
    const { QueryDisputeRequest, QueryDisputeResponse } = pocQuery;
    try {
      return (await this.query('/r3mes.poc.v1.Query/Dispute', QueryDisputeRequest.encode({ id }).finish(), (b) => QueryDisputeResponse.decode(b))).dispute;
    } catch (err) {
      if (err instanceof ChainError && err.detail.codespace === 'poc' && err.detail.abciCode === 17) return undefined; // poc/17 dispute not found
      throw err;
    }
  }

  async allContentLocations(): Promise<Array<{ address: string; locations: string[] }>> {
    const { QueryAllContentLocationsRequest, QueryAllContentLocationsResponse } = stakingQuery;
    return this.allPages('/r3mes.staking.v1.Query/AllContentLocations', (pagination) => QueryAllContentLocationsRequest.encode({ pagination }).finish(),
      (b) => QueryAllContentLocationsResponse.decode(b), (r) => r.entries);
  }

  async verificationParams(): Promise<VerificationParams> {
    const path = '/r3mes.verification.v1.Query/Params';
    const p = (await this.query(path, VQueryParamsRequest.encode({}).finish(), (b) => VQueryParamsResponse.decode(b))).params;
    if (!p) throw new ChainError(ChainErrorCode.QueryFailed, 'the verification module answered no params');
    return p;
  }

  async dispute(disputeId: bigint): Promise<Dispute | undefined> {
    const path = '/r3mes.verification.v1.Query/Dispute';
    return (await this.query(path, VQueryDisputeRequest.encode({ disputeId }).finish(), (b) => VQueryDisputeResponse.decode(b))).dispute;
  }

  async txResult(txhash: string): Promise<{ code: number; height: bigint; rawLog: string } | undefined> {
    const r = await lookupTx(this.rpcUrl, () => this.comet, txhash, this.retry);
    return r && { code: r.code, height: r.height, rawLog: r.rawLog };
  }
}

/** A tx the node has indexed, decoded as the writer reports it. */
function outcomeOf(txhash: string, r: Awaited<ReturnType<Comet38Client['tx']>>): TxOutcome {
  const out: TxOutcome = { txhash, height: BigInt(r.height), code: r.result.code, rawLog: r.result.log ?? '' };
  if (r.result.code !== 0 || !r.result.data) return out;
  const responses = TxMsgData.decode(r.result.data).msgResponses;
  const submit = responses.find((m) => m.typeUrl === `${TYPE_SUBMIT_GRADIENT}Response`);
  if (submit) {
    const decoded = MsgSubmitGradientResponse.decode(submit.value);
    return { ...out, submissionId: decoded.submissionId, ordinal: decoded.ordinal };
  }
  const challenge = responses.find((m) => m.typeUrl === `${TYPE_CHALLENGE}Response`);
  if (challenge) return { ...out, disputeId: MsgChallengeResponse.decode(challenge.value).disputeId };
  return out;
}

/** The indexed tx with this hash, or undefined when the node does not know it ("tx … not found"). */
async function lookupTx(rpcUrl: string, comet: () => Comet38Client, txhash: string, policy?: RetryPolicy, beforeRetry?: () => Promise<void> | void): Promise<TxOutcome | undefined> {
  return reach(rpcUrl, `look up tx ${txhash}`, async () => {
    try {
      return outcomeOf(txhash, await comet().tx({ hash: Buffer.from(txhash, 'hex') }));
    } catch (cause) {
      if (isConnectionError(cause)) throw cause;
      return undefined; // "tx (…) not found" (as before: any answer that is not the tx)
    }
  }, policy, beforeRetry);
}

export interface WriterOptions {
  gasPrice?: string;
  /** multiplier on simulated gas */
  gasAdjustment?: number;
  /** how long broadcast waits for inclusion */
  timeoutMs?: number;
  /** how often broadcast asks the node whether the tx is in a block */
  pollMs?: number;
  /** retries of a connection that broke, each on a fresh client (default DEFAULT_RETRY) */
  retry?: RetryPolicy;
  /** per-request timeout of the HTTP transport (default 30 s) */
  rpcTimeoutMs?: number;
}

/** Signing attempts when the account sequence moved under us, and the wait between them. */
const SEQUENCE_RETRIES = 5;
const SEQUENCE_RETRY_MS = 1500;

/**
 * Signs and broadcasts through a stock SigningStargateClient over a Comet38Client of our own
 * (rpc.ts: a fresh connection per request). A call whose connection breaks (refused, reset, hang
 * up, timeout) is tried again on a new client, with backoff, up to `retry.attempts` times:
 *   - signing (account query, simulation, chain id) is only queries: nothing is sent, so it is
 *     simply done again;
 *   - a broadcast is never signed again: the same signed bytes are sent again (same account
 *     sequence, same hash: at most one copy can land), and only after asking the node for the tx
 *     by hash: a tx already in a block is reported, not re-sent; one already in the mempool makes
 *     the node answer "tx already exists in cache", and the writer then waits for its block.
 */
export class RpcChainWriter implements ChainWriter, VerificationWriter, BisectionWriter {
  private comet: Comet38Client;
  private client: SigningStargateClient;

  private constructor(
    readonly rpcUrl: string,
    readonly address: string,
    private readonly signer: OfflineDirectSigner,
    private readonly options: Required<Omit<WriterOptions, 'retry'>> & { retry: RetryPolicy },
  ) {
    [this.comet, this.client] = this.fresh();
  }

  static async connect(rpcUrl: string, signer: OfflineDirectSigner, options: WriterOptions = {}): Promise<RpcChainWriter> {
    const [account] = await signer.getAccounts();
    if (!account) throw new ChainError(ChainErrorCode.KeyUnavailable, 'the signer has no account');
    const opts = {
      gasPrice: options.gasPrice ?? DEFAULT_GAS_PRICE, gasAdjustment: options.gasAdjustment ?? 1.4, timeoutMs: options.timeoutMs ?? 60_000,
      pollMs: options.pollMs ?? 1_000, retry: options.retry ?? DEFAULT_RETRY, rpcTimeoutMs: options.rpcTimeoutMs ?? DEFAULT_RPC_TIMEOUT_MS,
    };
    GasPrice.fromString(opts.gasPrice); // a bad --gas-price fails here, not at the first signature
    return reach(rpcUrl, 'connect', async () => new RpcChainWriter(rpcUrl, account.address, signer, opts));
  }

  /** A new transport, Comet38Client and SigningStargateClient: nothing of the old connection is reused. */
  private fresh(): [Comet38Client, SigningStargateClient] {
    const comet = connectComet(this.rpcUrl, this.options.rpcTimeoutMs);
    const client = SigningStargateClient.createWithSigner(comet, this.signer, { gasPrice: GasPrice.fromString(this.options.gasPrice), registry: r3mesRegistry() });
    return [comet, client];
  }

  private readonly reconnect = (): void => {
    this.client.disconnect();
    [this.comet, this.client] = this.fresh();
  };

  disconnect(): void {
    this.client.disconnect();
  }

  private sign(typeUrl: string, value: object, what: string): Promise<SignedTx> {
    return this.signMany([{ typeUrl, value }], what);
  }

  /** One tx carrying `msgs` (all applied or none); `extraGas` on top of the simulated gas × adjustment. */
  private async signMany(msgs: Array<{ typeUrl: string; value: object }>, what: string, extraGas = 0): Promise<SignedTx> {
    // Several processes may sign with one key (the devnet's validator key aggregates, verifies
    // and arbitrates): a tx of another one still in the mempool makes the simulation refuse our
    // account sequence. Nothing is journaled or sent yet, so waiting a block and signing again
    // with the sequence read afresh is safe.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.signOnce(msgs, what, extraGas);
      } catch (err) {
        if (attempt >= SEQUENCE_RETRIES || !/account sequence mismatch/.test((err as Error).message)) throw err;
        await new Promise((resolve) => setTimeout(resolve, SEQUENCE_RETRY_MS));
      }
    }
  }

  private async signOnce(msgs: Array<{ typeUrl: string; value: object }>, what: string, extraGas: number): Promise<SignedTx> {
    // Only queries and local signing: safe to do again on a fresh client when the connection breaks.
    return reach(this.rpcUrl, what, async () => {
      const gas = await this.client.simulate(this.address, msgs, '');
      const fee = calculateFee(Math.ceil(gas * this.options.gasAdjustment) + extraGas, GasPrice.fromString(this.options.gasPrice));
      const raw = await this.client.sign(this.address, msgs, fee, '');
      const txBytes = TxRaw.encode(raw).finish();
      return { txBytes, txhash: txHashOf(txBytes) };
    }, this.options.retry, this.reconnect);
  }

  signSubmitPocBatch(epoch: bigint, claims: ReadonlyArray<{ nonce: bigint; distance: bigint }>): Promise<SignedTx> {
    return this.sign(TYPE_SUBMIT_POC_BATCH, { miner: this.address, epoch, claims: claims.map((c) => ({ nonce: c.nonce, distance: c.distance })) }, 'sign MsgSubmitPocBatch');
  }

  /** Several PoC commitments of this verifier in one tx (a verifier has a commitment per check drawn to it). */
  signPocCommits(items: ReadonlyArray<{ epoch: bigint; miner: string; nonce: bigint; commitment: Uint8Array }>): Promise<SignedTx> {
    return this.signMany(items.map((i) => ({ typeUrl: TYPE_POC_COMMIT, value: { verifier: this.address, ...i } })), `sign ${items.length} MsgPocCommit`);
  }

  /**
   * Several PoC reveals (MsgPocVerdict) of this verifier in one tx. A reveal that comes last for
   * its check settles it and may open a dispute and draw its panel; whether it comes last depends
   * on the co-verifier's reveal landing first, which the simulation cannot know: each reveal
   * carries POC_REVEAL_EXTRA_GAS of headroom for that.
   */
  signPocVerdicts(items: ReadonlyArray<{ epoch: bigint; miner: string; nonce: bigint; distance: bigint; salt: Uint8Array }>): Promise<SignedTx> {
    return this.signMany(items.map(({ distance, ...i }) => ({ typeUrl: TYPE_POC_VERDICT, value: { verifier: this.address, ...i, distanceRecomputed: distance } })),
      `sign ${items.length} MsgPocVerdict`, POC_REVEAL_EXTRA_GAS * items.length);
  }

  signPocArbiterVote(disputeId: bigint, distance: bigint): Promise<SignedTx> {
    return this.sign(TYPE_POC_ARBITER_VOTE, { arbiter: this.address, disputeId, distanceRecomputed: distance }, 'sign MsgPocArbiterVote');
  }

  signSetContentLocations(locations: readonly string[]): Promise<SignedTx> {
    return this.sign(TYPE_SET_CONTENT_LOCATIONS, { owner: this.address, locations: [...locations] }, 'sign MsgSetContentLocations');
  }

  signSubmitGradient(fields: GradientFields): Promise<SignedTx> {
    return this.sign(TYPE_SUBMIT_GRADIENT, { ...fields, miner: this.address }, 'sign MsgSubmitGradient');
  }

  signCommitAggregation(windowId: bigint, commitment: Uint8Array): Promise<SignedTx> {
    return this.sign(TYPE_COMMIT_AGGREGATION, { proposer: this.address, windowId, commitment: Buffer.from(commitment) }, 'sign MsgCommitAggregation');
  }

  signRevealAggregation(
    windowId: bigint, resultCid: string, resultHash: Uint8Array, nonce: Uint8Array, excluded: readonly Exclusion[] = [], losses: CommittedLosses = { lossBase: 0n, lossAggregate: 0n },
    checkpoint: CommittedCheckpoint = { checkpointCid: '', checkpointHash: new Uint8Array(0) },
  ): Promise<SignedTx> {
    return this.sign(TYPE_REVEAL_AGGREGATION, {
      proposer: this.address, windowId, resultCid, resultHash: Buffer.from(resultHash), nonce: Buffer.from(nonce),
      excluded: excluded.map(({ submissionId, reason }) => ({ submissionId, reason })), lossBase: losses.lossBase, lossAggregate: losses.lossAggregate,
      checkpointCid: checkpoint.checkpointCid, checkpointHash: Buffer.from(checkpoint.checkpointHash),
    }, 'sign MsgRevealAggregation');
  }

  signCommitVerification(submissionId: bigint, commitment: Uint8Array): Promise<SignedTx> {
    return this.sign(TYPE_SUBMIT_VERIFICATION, { verifier: this.address, submissionId, commitment: Buffer.from(commitment) }, 'sign MsgSubmitVerification (commit)');
  }

  signRevealVerification(submissionId: bigint, resultHash: Uint8Array, salt: Uint8Array): Promise<SignedTx> {
    return this.sign(TYPE_SUBMIT_VERIFICATION, { verifier: this.address, submissionId, resultHash: Buffer.from(resultHash), salt: Buffer.from(salt) }, 'sign MsgSubmitVerification (reveal)');
  }

  signReportUnavailable(submissionId: bigint): Promise<SignedTx> {
    return this.sign(TYPE_REPORT_UNAVAILABLE, { reporter: this.address, submissionId }, 'sign MsgReportUnavailable');
  }

  signCommitArbiterVote(disputeId: bigint, commitment: Uint8Array): Promise<SignedTx> {
    return this.sign(TYPE_ARBITER_VOTE, { arbiter: this.address, disputeId, commitment: Buffer.from(commitment) }, 'sign MsgArbiterVote (commit)');
  }

  signRevealArbiterVote(disputeId: bigint, vote: { resultHash: Uint8Array } | { unavailable: true }, salt: Uint8Array): Promise<SignedTx> {
    const body = 'unavailable' in vote ? { resultHash: Buffer.alloc(0), unavailable: true } : { resultHash: Buffer.from(vote.resultHash), unavailable: false };
    return this.sign(TYPE_ARBITER_VOTE, { arbiter: this.address, disputeId, ...body, salt: Buffer.from(salt) }, 'sign MsgArbiterVote (reveal)');
  }

  signBisectReveal(move: { disputeId: bigint; step: bigint; steps: bigint; stateHash: Uint8Array; proof: readonly Uint8Array[]; stateCid: string }): Promise<SignedTx> {
    return this.sign(TYPE_BISECT_REVEAL, {
      miner: this.address, disputeId: move.disputeId, step: move.step, steps: move.steps, stateHash: Buffer.from(move.stateHash),
      proof: move.proof.map((p) => Buffer.from(p)), stateCid: move.stateCid,
    }, 'sign MsgBisectReveal');
  }

  signBisectRespond(disputeId: bigint, step: bigint, agree: boolean, own: OwnTraceAnswer): Promise<SignedTx> {
    return this.sign(TYPE_BISECT_RESPOND, {
      disputer: this.address, disputeId, step, agree, ownHash: Buffer.from(own.hash), ownRoot: Buffer.from(own.root), ownProof: own.proof.map((p) => Buffer.from(p)), ownSteps: BigInt(own.steps),
    }, 'sign MsgBisectRespond');
  }

  signChallenge(submissionId: bigint, bondUr3mes: bigint): Promise<SignedTx> {
    return this.sign(TYPE_CHALLENGE, { challenger: this.address, submissionId, bond: bondUr3mes.toString() }, 'sign MsgChallenge');
  }

  /**
   * Hands the signed bytes to the node (broadcast_tx_sync) and waits for their block. A CheckTx
   * refusal is a ChainError TxFailed; a tx not in a block within timeoutMs is a QueryFailed
   * ("sent, not yet in a block": the caller's journal looks it up later); a node that cannot be
   * reached after every retry is Unreachable. Never signs anything.
   */
  async broadcast(tx: SignedTx): Promise<TxOutcome> {
    const { retry } = this.options;
    const what = `broadcast ${tx.txhash}`;
    // 1. Into the mempool. After a broken connection we do not know whether the node got the bytes:
    //    ask for the tx by hash first (in a block → done), then send the very same bytes again.
    // A broken connection in the lookup counts as one attempt, like one in the broadcast.
    for (let attempt = 1; ; attempt++) {
      try {
        if (attempt > 1) {
          const landed = await lookupTx(this.rpcUrl, () => this.comet, tx.txhash);
          if (landed) return landed;
        }
        const r = await this.comet.broadcastTxSync({ tx: tx.txBytes });
        if (r.code !== 0) {
          // Refused by CheckTx. After a lost answer the first copy may have been included meanwhile
          // (its sequence is then spent and this copy refused): that one counts.
          const landed = attempt > 1 ? await lookupTx(this.rpcUrl, () => this.comet, tx.txhash, retry, this.reconnect) : undefined;
          if (landed) return landed;
          throw new ChainError(ChainErrorCode.TxFailed, `${what} refused by CheckTx (${r.codespace ?? ''}/${r.code}): ${r.log ?? ''}`, { codespace: r.codespace, abciCode: r.code, txhash: tx.txhash });
        }
        break;
      } catch (cause) {
        if (cause instanceof ChainError && !(cause.code === ChainErrorCode.Unreachable && isConnectionError(cause.cause))) throw cause;
        if (/tx already exists in cache/i.test((cause as Error)?.message ?? '')) break; // the node has it: wait for the block
        if (!isConnectionError(cause)) throw new ChainError(ChainErrorCode.QueryFailed, `${what} failed: ${describeError(cause)}`, { txhash: tx.txhash }, { cause });
        if (attempt >= retry.attempts) throw unreachable(this.rpcUrl, what, cause, attempt);
        const ms = backoffMs(retry, attempt);
        retry.onRetry?.(what, attempt, describeError(cause), ms);
        await wait(ms);
        this.reconnect();
      }
    }
    // 2. Into a block: poll by hash (a broken connection here only costs a retry of the lookup).
    const deadline = Date.now() + this.options.timeoutMs;
    for (;;) {
      const landed = await lookupTx(this.rpcUrl, () => this.comet, tx.txhash, retry, this.reconnect);
      if (landed) return landed;
      if (Date.now() >= deadline) {
        throw new ChainError(ChainErrorCode.QueryFailed, `${tx.txhash} was sent but is not in a block after ${this.options.timeoutMs / 1000} s; look it up later`, { txhash: tx.txhash });
      }
      await wait(this.options.pollMs);
    }
  }
}
