import type { MsgHandler } from '../../app/core/module.ts';
import { decodeAddress } from '../../app/core/address.ts';
import { protoFields } from '../../proto/gen/fields.ts';
import {
  MsgPocArbiterVote, MsgPocArbiterVoteResponse, MsgPocCommit, MsgPocCommitResponse, MsgPocVerdict, MsgPocVerdictResponse, MsgSubmitPocBatch, MsgSubmitPocBatchResponse,
} from '../../proto/gen/r3mes/poc/v1/tx.ts';
import { type PocKeeper, validateCommit, validateSubmitBatch, validateVerdict } from './keeper.ts';

export const SUBMIT_POC_BATCH_TYPE_URL = '/r3mes.poc.v1.MsgSubmitPocBatch';
export const POC_VERDICT_TYPE_URL = '/r3mes.poc.v1.MsgPocVerdict';
export const POC_ARBITER_VOTE_TYPE_URL = '/r3mes.poc.v1.MsgPocArbiterVote';
export const POC_COMMIT_TYPE_URL = '/r3mes.poc.v1.MsgPocCommit';

export function pocMsgHandlers(poc: PocKeeper): MsgHandler[] {
  const submit: MsgHandler<MsgSubmitPocBatch> = {
    typeUrl: SUBMIT_POC_BATCH_TYPE_URL,
    module: 'poc',
    fields: protoFields,
    decode: (bytes) => MsgSubmitPocBatch.decode(bytes),
    signers: (msg) => [validateSubmitBatch(msg)],
    execute(ctx, msg) {
      const { index, root } = poc.submitBatch(ctx, msg);
      return { typeUrl: `${SUBMIT_POC_BATCH_TYPE_URL}Response`, value: MsgSubmitPocBatchResponse.encode({ index, root: Buffer.from(root) }).finish() };
    },
  };
  const verdict: MsgHandler<MsgPocVerdict> = {
    typeUrl: POC_VERDICT_TYPE_URL,
    module: 'poc',
    fields: protoFields,
    decode: (bytes) => MsgPocVerdict.decode(bytes),
    signers: (msg) => [validateVerdict(msg)],
    execute(ctx, msg) {
      const result = poc.verdict(ctx, msg);
      return { typeUrl: `${POC_VERDICT_TYPE_URL}Response`, value: MsgPocVerdictResponse.encode(result).finish() };
    },
  };
  const vote: MsgHandler<MsgPocArbiterVote> = {
    typeUrl: POC_ARBITER_VOTE_TYPE_URL,
    module: 'poc',
    fields: protoFields,
    decode: (bytes) => MsgPocArbiterVote.decode(bytes),
    signers: (msg) => [decodeAddress(msg.arbiter, 'arbiter')],
    execute(ctx, msg) {
      poc.arbiterVote(ctx, msg);
      return { typeUrl: `${POC_ARBITER_VOTE_TYPE_URL}Response`, value: MsgPocArbiterVoteResponse.encode({}).finish() };
    },
  };
  const commit: MsgHandler<MsgPocCommit> = {
    typeUrl: POC_COMMIT_TYPE_URL,
    module: 'poc',
    fields: protoFields,
    decode: (bytes) => MsgPocCommit.decode(bytes),
    signers: (msg) => [validateCommit(msg)],
    execute(ctx, msg) {
      poc.commit(ctx, msg);
      return { typeUrl: `${POC_COMMIT_TYPE_URL}Response`, value: MsgPocCommitResponse.encode({}).finish() };
    },
  };
  return [submit, verdict, vote, commit] as MsgHandler[];
}
