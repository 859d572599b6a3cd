/**
 * The boundary between the ABCI socket server and the state machine.
 *
 * The server (app/abci/server.ts) knows sockets, framing and protobuf; an
 * AbciApplication knows modules and state and nothing about sockets. Every
 * method may be async; the server awaits each one before reading the next
 * request of the same connection, and runs consensus-connection requests
 * strictly one at a time.
 */
import type {
  RequestInfo, ResponseInfo,
  RequestInitChain, ResponseInitChain,
  RequestQuery, ResponseQuery,
  RequestCheckTx, ResponseCheckTx,
  ResponseCommit,
  RequestPrepareProposal, ResponsePrepareProposal,
  RequestProcessProposal, ResponseProcessProposal,
  RequestExtendVote, ResponseExtendVote,
  RequestVerifyVoteExtension, ResponseVerifyVoteExtension,
  RequestFinalizeBlock, ResponseFinalizeBlock,
  RequestListSnapshots, ResponseListSnapshots,
  RequestOfferSnapshot, ResponseOfferSnapshot,
  RequestLoadSnapshotChunk, ResponseLoadSnapshotChunk,
  RequestApplySnapshotChunk, ResponseApplySnapshotChunk,
} from 'cosmjs-types/tendermint/abci/types';

type MaybePromise<T> = T | Promise<T>;

export interface AbciApplication {
  info(req: RequestInfo): MaybePromise<ResponseInfo>;
  initChain(req: RequestInitChain): MaybePromise<ResponseInitChain>;
  query(req: RequestQuery): MaybePromise<ResponseQuery>;
  checkTx(req: RequestCheckTx): MaybePromise<ResponseCheckTx>;
  /**
   * Optional: several CheckTx requests that arrived together on the mempool connection, answered
   * in order, each exactly as `checkTx` would answer it alone. The server uses it when it has
   * more than one CheckTx queued (CometBFT pipelines them and flushes).
   */
  checkTxBatch?(reqs: RequestCheckTx[]): MaybePromise<ResponseCheckTx[]>;
  prepareProposal(req: RequestPrepareProposal): MaybePromise<ResponsePrepareProposal>;
  processProposal(req: RequestProcessProposal): MaybePromise<ResponseProcessProposal>;
  extendVote(req: RequestExtendVote): MaybePromise<ResponseExtendVote>;
  verifyVoteExtension(req: RequestVerifyVoteExtension): MaybePromise<ResponseVerifyVoteExtension>;
  finalizeBlock(req: RequestFinalizeBlock): MaybePromise<ResponseFinalizeBlock>;
  commit(): MaybePromise<ResponseCommit>;
  listSnapshots?(req: RequestListSnapshots): MaybePromise<ResponseListSnapshots>;
  offerSnapshot?(req: RequestOfferSnapshot): MaybePromise<ResponseOfferSnapshot>;
  loadSnapshotChunk?(req: RequestLoadSnapshotChunk): MaybePromise<ResponseLoadSnapshotChunk>;
  applySnapshotChunk?(req: RequestApplySnapshotChunk): MaybePromise<ResponseApplySnapshotChunk>;
}
