// The worker's view of the chain: the generic ABCI queries of the training and model modules
// (`/r3mes.<module>.v1.Query/<Method>` with the generated proto types) and signed messages
// through a stock CosmJS SigningStargateClient (`connectSigningClient` from @r3mes/client).
// Roles depend on the small interfaces below, never on CosmJS, so tests can fake the chain.

import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { calculateFee, GasPrice, type SigningStargateClient } from '@cosmjs/stargate';
import { Comet38Client } from '@cosmjs/tendermint-rpc';
import { TxRaw } from 'cosmjs-types/cosmos/tx/v1beta1/tx';
import type { OfflineDirectSigner } from '@cosmjs/proto-signing';
import {
  type AggregationCommit, connectSigningClient, DEFAULT_GAS_PRICE, type Dispute, type L1Check, modelQuery, type ModelVersion, type Submission,
  type TrainingParams, trainingQuery, trainingTx, verificationQuery, verificationTx, type Window,
} from '@r3mes/client';
import { ChainError, ChainErrorCode, isNetworkError } from './errors.ts';

const {
  QueryAggregationRequest, QueryAggregationResponse, QueryAssignmentRequest, QueryAssignmentResponse,
  QueryParamsRequest, QueryParamsResponse, QueryCurrentWindowRequest, QueryCurrentWindowResponse, QueryWindowRequest, QueryWindowResponse,
  QueryWindowSubmissionsRequest, QueryWindowSubmissionsResponse, QuerySubmissionRequest, QuerySubmissionResponse,
} = trainingQuery;
const { MsgSubmitGradientResponse } = trainingTx;
const { QueryVersionRequest, QueryVersionResponse } = modelQuery;
const {
  QueryChecksByVerifierRequest: VQueryChecksByVerifierRequest, QueryChecksByVerifierResponse: VQueryChecksByVerifierResponse,
  QueryDisputeRequest: VQueryDisputeRequest, QueryDisputeResponse: VQueryDisputeResponse,
  QueryOpenDisputesRequest: VQueryOpenDisputesRequest, QueryOpenDisputesResponse: VQueryOpenDisputesResponse,
  QuerySubmissionRequest: VQuerySubmissionRequest, QuerySubmissionResponse: VQuerySubmissionResponse,
} = verificationQuery;
const { MsgChallengeResponse } = verificationTx;

export type { AggregationCommit, Dispute, L1Check, ModelVersion, Submission, TrainingParams, Window };
export type Assignment = trainingQuery.QueryAssignmentResponse;
export type GradientFields = Omit<trainingTx.MsgSubmitGradient, 'miner'>;

export const TYPE_SUBMIT_GRADIENT = '/r3mes.training.v1.MsgSubmitGradient';
export const TYPE_COMMIT_AGGREGATION = '/r3mes.training.v1.MsgCommitAggregation';
export const TYPE_REVEAL_AGGREGATION = '/r3mes.training.v1.MsgRevealAggregation';
export const TYPE_SUBMIT_VERIFICATION = '/r3mes.verification.v1.MsgSubmitVerification';
export const TYPE_CHALLENGE = '/r3mes.verification.v1.MsgChallenge';
export const TYPE_ARBITER_VOTE = '/r3mes.verification.v1.MsgArbiterVote';
export const TYPE_REPORT_UNAVAILABLE = '/r3mes.verification.v1.MsgReportUnavailable';

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
  signRevealAggregation(windowId: bigint, resultCid: string, resultHash: Uint8Array, nonce: Uint8Array): Promise<SignedTx>;
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

/** Wraps a call to the node so that a dead node is a clear ChainError, not a stack trace. */
async function reach<T>(rpcUrl: string, what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (cause) {
    if (cause instanceof ChainError) throw cause;
    if (isNetworkError(cause)) throw new ChainError(ChainErrorCode.Unreachable, `chain node ${rpcUrl} is unreachable (${what}): ${(cause as Error).message}`, {}, { cause });
    throw new ChainError(ChainErrorCode.QueryFailed, `${what} failed: ${(cause as Error).message}`, {}, { cause });
  }
}

export class RpcChainReader implements ChainReader, VerificationReader {
  private constructor(readonly rpcUrl: string, private readonly comet: Comet38Client) {}

  static async connect(rpcUrl: string): Promise<RpcChainReader> {
    const comet = await reach(rpcUrl, 'connect', () => Comet38Client.connect(rpcUrl));
    const reader = new RpcChainReader(rpcUrl, comet);
    await reader.height(); // fail now, with a clear message, if nobody answers
    return reader;
  }

  disconnect(): void {
    this.comet.disconnect();
  }

  private async query<T>(path: string, data: Uint8Array, decode: (b: Uint8Array) => T): Promise<T> {
    const answer = await reach(this.rpcUrl, path, () => this.comet.abciQuery({ path, data }));
    if (answer.code !== 0) {
      throw new ChainError(ChainErrorCode.QueryFailed, `query ${path} failed (${answer.codespace ?? ''}/${answer.code}): ${answer.log ?? ''}`, { codespace: answer.codespace, abciCode: answer.code });
    }
    try {
      return decode(answer.value);
    } catch (cause) {
      throw new ChainError(ChainErrorCode.QueryFailed, `query ${path}: answer does not decode: ${(cause as Error).message}`, {}, { cause });
    }
  }

  async height(): Promise<bigint> {
    const status = await reach(this.rpcUrl, 'status', () => this.comet.status());
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
    return (await this.query('/r3mes.training.v1.Query/WindowSubmissions', QueryWindowSubmissionsRequest.encode({ windowId }).finish(), (b) => QueryWindowSubmissionsResponse.decode(b))).submissions;
  }

  async submission(submissionId: bigint): Promise<Submission> {
    const s = (await this.query('/r3mes.training.v1.Query/Submission', QuerySubmissionRequest.encode({ submissionId }).finish(), (b) => QuerySubmissionResponse.decode(b))).submission;
    if (!s) throw new ChainError(ChainErrorCode.QueryFailed, `submission ${submissionId} not found`);
    return s;
  }

  async aggregation(windowId: bigint): Promise<AggregationCommit[]> {
    return (await this.query('/r3mes.training.v1.Query/Aggregation', QueryAggregationRequest.encode({ windowId }).finish(), (b) => QueryAggregationResponse.decode(b))).commits;
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

  async findSubmission(submissionId: bigint): Promise<Submission | undefined> {
    const answer = await reach(this.rpcUrl, 'training submission', () =>
      this.comet.abciQuery({ path: '/r3mes.training.v1.Query/Submission', data: QuerySubmissionRequest.encode({ submissionId }).finish() }));
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
    return (await this.query(path, VQueryOpenDisputesRequest.encode({}).finish(), (b) => VQueryOpenDisputesResponse.decode(b))).disputes;
  }

  async dispute(disputeId: bigint): Promise<Dispute | undefined> {
    const path = '/r3mes.verification.v1.Query/Dispute';
    return (await this.query(path, VQueryDisputeRequest.encode({ disputeId }).finish(), (b) => VQueryDisputeResponse.decode(b))).dispute;
  }

  async txResult(txhash: string): Promise<{ code: number; height: bigint; rawLog: string } | undefined> {
    try {
      const r = await this.comet.tx({ hash: Buffer.from(txhash, 'hex') });
      return { code: r.result.code, height: BigInt(r.height), rawLog: r.result.log ?? '' };
    } catch (cause) {
      if (isNetworkError(cause)) throw new ChainError(ChainErrorCode.Unreachable, `chain node ${this.rpcUrl} is unreachable (tx ${txhash}): ${(cause as Error).message}`, {}, { cause });
      return undefined; // "tx not found"
    }
  }
}

export interface WriterOptions {
  gasPrice?: string;
  /** multiplier on simulated gas */
  gasAdjustment?: number;
  /** how long broadcastTx waits for inclusion */
  timeoutMs?: number;
}

/** Signing attempts when the account sequence moved under us, and the wait between them. */
const SEQUENCE_RETRIES = 5;
const SEQUENCE_RETRY_MS = 1500;

export class RpcChainWriter implements ChainWriter, VerificationWriter {
  private constructor(
    readonly rpcUrl: string,
    readonly address: string,
    private readonly client: SigningStargateClient,
    private readonly options: Required<WriterOptions>,
  ) {}

  static async connect(rpcUrl: string, signer: OfflineDirectSigner, options: WriterOptions = {}): Promise<RpcChainWriter> {
    const [account] = await signer.getAccounts();
    if (!account) throw new ChainError(ChainErrorCode.KeyUnavailable, 'the signer has no account');
    const opts = { gasPrice: options.gasPrice ?? DEFAULT_GAS_PRICE, gasAdjustment: options.gasAdjustment ?? 1.4, timeoutMs: options.timeoutMs ?? 60_000 };
    const client = await reach(rpcUrl, 'connect', () => connectSigningClient(rpcUrl, signer, opts.gasPrice));
    return new RpcChainWriter(rpcUrl, account.address, client, opts);
  }

  disconnect(): void {
    this.client.disconnect();
  }

  private async sign(typeUrl: string, value: object, what: string): Promise<SignedTx> {
    const msgs = [{ typeUrl, value }];
    // Several processes may sign with one key (the devnet's validator key aggregates, verifies
    // and arbitrates): a tx of another one still in the mempool makes the simulation refuse our
    // account sequence. Nothing is journaled or sent yet, so waiting a block and signing again
    // with the sequence read afresh is safe.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.signOnce(msgs, what);
      } catch (err) {
        if (attempt >= SEQUENCE_RETRIES || !/account sequence mismatch/.test((err as Error).message)) throw err;
        await new Promise((resolve) => setTimeout(resolve, SEQUENCE_RETRY_MS));
      }
    }
  }

  private async signOnce(msgs: Array<{ typeUrl: string; value: object }>, what: string): Promise<SignedTx> {
    return reach(this.rpcUrl, what, async () => {
      const gas = await this.client.simulate(this.address, msgs, '');
      const fee = calculateFee(Math.ceil(gas * this.options.gasAdjustment), GasPrice.fromString(this.options.gasPrice));
      const raw = await this.client.sign(this.address, msgs, fee, '');
      const txBytes = TxRaw.encode(raw).finish();
      return { txBytes, txhash: txHashOf(txBytes) };
    });
  }

  signSubmitGradient(fields: GradientFields): Promise<SignedTx> {
    return this.sign(TYPE_SUBMIT_GRADIENT, { ...fields, miner: this.address }, 'sign MsgSubmitGradient');
  }

  signCommitAggregation(windowId: bigint, commitment: Uint8Array): Promise<SignedTx> {
    return this.sign(TYPE_COMMIT_AGGREGATION, { proposer: this.address, windowId, commitment: Buffer.from(commitment) }, 'sign MsgCommitAggregation');
  }

  signRevealAggregation(windowId: bigint, resultCid: string, resultHash: Uint8Array, nonce: Uint8Array): Promise<SignedTx> {
    return this.sign(TYPE_REVEAL_AGGREGATION, { proposer: this.address, windowId, resultCid, resultHash: Buffer.from(resultHash), nonce: Buffer.from(nonce) }, 'sign MsgRevealAggregation');
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

  signChallenge(submissionId: bigint, bondUr3mes: bigint): Promise<SignedTx> {
    return this.sign(TYPE_CHALLENGE, { challenger: this.address, submissionId, bond: bondUr3mes.toString() }, 'sign MsgChallenge');
  }

  async broadcast(tx: SignedTx): Promise<TxOutcome> {
    const r = await reach(this.rpcUrl, `broadcast ${tx.txhash}`, () => this.client.broadcastTx(tx.txBytes, this.options.timeoutMs));
    const out: TxOutcome = { txhash: r.transactionHash, height: BigInt(r.height), code: r.code, rawLog: r.rawLog ?? '' };
    const resp = r.msgResponses.find((m) => m.typeUrl === `${TYPE_SUBMIT_GRADIENT}Response`);
    if (r.code === 0 && resp) {
      const decoded = MsgSubmitGradientResponse.decode(resp.value);
      return { ...out, submissionId: decoded.submissionId, ordinal: decoded.ordinal };
    }
    const challenge = r.msgResponses.find((m) => m.typeUrl === `${TYPE_CHALLENGE}Response`);
    if (r.code === 0 && challenge) return { ...out, disputeId: MsgChallengeResponse.decode(challenge.value).disputeId };
    return out;
  }
}
