import type { MsgHandler } from '../../app/core/module.ts';
import { protoFields } from '../../proto/gen/fields.ts';
import {
  MsgCommitAggregation, MsgCommitAggregationResponse, MsgRevealAggregation, MsgRevealAggregationResponse,
  MsgSubmitGradient, MsgSubmitGradientResponse,
} from '../../proto/gen/r3mes/training/v1/tx.ts';
import type { TrainingKeeper } from './keeper.ts';
import { validateCommitAggregation, validateRevealAggregation, validateSubmitGradient } from './validate.ts';

export const TYPE_URLS = {
  submitGradient: '/r3mes.training.v1.MsgSubmitGradient',
  commitAggregation: '/r3mes.training.v1.MsgCommitAggregation',
  revealAggregation: '/r3mes.training.v1.MsgRevealAggregation',
} as const;

export function msgSubmitGradientHandler(training: TrainingKeeper): MsgHandler<MsgSubmitGradient> {
  return {
    typeUrl: TYPE_URLS.submitGradient,
    module: 'training',
    fields: protoFields,
    decode: (bytes) => MsgSubmitGradient.decode(bytes),
    signers: (msg) => [validateSubmitGradient(msg)],
    execute(ctx, msg) {
      const { submissionId, ordinal } = training.submitGradient(ctx, msg);
      return { typeUrl: `${TYPE_URLS.submitGradient}Response`, value: MsgSubmitGradientResponse.encode({ submissionId, ordinal }).finish() };
    },
  };
}

export function msgCommitAggregationHandler(training: TrainingKeeper): MsgHandler<MsgCommitAggregation> {
  return {
    typeUrl: TYPE_URLS.commitAggregation,
    module: 'training',
    fields: protoFields,
    decode: (bytes) => MsgCommitAggregation.decode(bytes),
    signers: (msg) => [validateCommitAggregation(msg)],
    execute(ctx, msg) {
      training.commitAggregation(ctx, msg);
      return { typeUrl: `${TYPE_URLS.commitAggregation}Response`, value: MsgCommitAggregationResponse.encode({}).finish() };
    },
  };
}

export function msgRevealAggregationHandler(training: TrainingKeeper): MsgHandler<MsgRevealAggregation> {
  return {
    typeUrl: TYPE_URLS.revealAggregation,
    module: 'training',
    fields: protoFields,
    decode: (bytes) => MsgRevealAggregation.decode(bytes),
    signers: (msg) => [validateRevealAggregation(msg)],
    execute(ctx, msg) {
      training.revealAggregation(ctx, msg);
      return { typeUrl: `${TYPE_URLS.revealAggregation}Response`, value: MsgRevealAggregationResponse.encode({}).finish() };
    },
  };
}
