import type { MsgHandler } from '../../app/core/module.ts';
import { protoFields } from '../../proto/gen/fields.ts';
import { decodeAddress } from '../../app/core/address.ts';
import {
  MsgArbiterVote, MsgArbiterVoteResponse, MsgChallenge, MsgChallengeResponse, MsgReportUnavailable,
  MsgReportUnavailableResponse, MsgSubmitVerification, MsgSubmitVerificationResponse,
  MsgBisectReveal, MsgBisectRevealResponse, MsgBisectRespond, MsgBisectRespondResponse,
} from '../../proto/gen/r3mes/verification/v1/tx.ts';
import { validateRespondShape, validateRevealShape } from './bisection.ts';
import { MODULE_NAME, parseBond, type VerificationKeeper, verificationPhase, votePhase } from './keeper.ts';

export const TYPE_URLS = {
  submitVerification: '/r3mes.verification.v1.MsgSubmitVerification',
  challenge: '/r3mes.verification.v1.MsgChallenge',
  arbiterVote: '/r3mes.verification.v1.MsgArbiterVote',
  reportUnavailable: '/r3mes.verification.v1.MsgReportUnavailable',
  bisectReveal: '/r3mes.verification.v1.MsgBisectReveal',
  bisectRespond: '/r3mes.verification.v1.MsgBisectRespond',
} as const;

/** Stateless checks, run before the ante handler (and again at execution by the keeper). */
export const statelessChecks = {
  submitVerification(msg: MsgSubmitVerification): Uint8Array {
    const signer = decodeAddress(msg.verifier, 'verifier');
    verificationPhase(msg);
    return signer;
  },
  challenge(msg: MsgChallenge): Uint8Array {
    const signer = decodeAddress(msg.challenger, 'challenger');
    parseBond(msg.bond);
    return signer;
  },
  arbiterVote(msg: MsgArbiterVote): Uint8Array {
    const signer = decodeAddress(msg.arbiter, 'arbiter');
    votePhase(msg);
    return signer;
  },
  reportUnavailable: (msg: MsgReportUnavailable): Uint8Array => decodeAddress(msg.reporter, 'reporter'),
  bisectReveal(msg: MsgBisectReveal): Uint8Array {
    const signer = decodeAddress(msg.miner, 'miner');
    validateRevealShape(msg);
    return signer;
  },
  bisectRespond(msg: MsgBisectRespond): Uint8Array {
    const signer = decodeAddress(msg.disputer, 'disputer');
    validateRespondShape(msg);
    return signer;
  },
};

export function verificationMsgHandlers(keeper: VerificationKeeper): MsgHandler[] {
  const submitVerification: MsgHandler<MsgSubmitVerification> = {
    typeUrl: TYPE_URLS.submitVerification,
    module: MODULE_NAME,
    fields: protoFields,
    decode: (bytes) => MsgSubmitVerification.decode(bytes),
    signers: (msg) => [statelessChecks.submitVerification(msg)],
    execute(ctx, msg) {
      const { result, disputeId } = keeper.submitVerification(ctx, msg);
      return { typeUrl: `${TYPE_URLS.submitVerification}Response`, value: MsgSubmitVerificationResponse.encode({ result, disputeId }).finish() };
    },
  };
  const challenge: MsgHandler<MsgChallenge> = {
    typeUrl: TYPE_URLS.challenge,
    module: MODULE_NAME,
    fields: protoFields,
    decode: (bytes) => MsgChallenge.decode(bytes),
    signers: (msg) => [statelessChecks.challenge(msg)],
    execute(ctx, msg) {
      const disputeId = keeper.challenge(ctx, msg);
      return { typeUrl: `${TYPE_URLS.challenge}Response`, value: MsgChallengeResponse.encode({ disputeId }).finish() };
    },
  };
  const arbiterVote: MsgHandler<MsgArbiterVote> = {
    typeUrl: TYPE_URLS.arbiterVote,
    module: MODULE_NAME,
    fields: protoFields,
    decode: (bytes) => MsgArbiterVote.decode(bytes),
    signers: (msg) => [statelessChecks.arbiterVote(msg)],
    execute(ctx, msg) {
      const outcome = keeper.arbiterVote(ctx, msg);
      return { typeUrl: `${TYPE_URLS.arbiterVote}Response`, value: MsgArbiterVoteResponse.encode({ outcome }).finish() };
    },
  };
  const reportUnavailable: MsgHandler<MsgReportUnavailable> = {
    typeUrl: TYPE_URLS.reportUnavailable,
    module: MODULE_NAME,
    fields: protoFields,
    decode: (bytes) => MsgReportUnavailable.decode(bytes),
    signers: (msg) => [statelessChecks.reportUnavailable(msg)],
    execute(ctx, msg) {
      const disputeId = keeper.reportUnavailable(ctx, msg);
      return { typeUrl: `${TYPE_URLS.reportUnavailable}Response`, value: MsgReportUnavailableResponse.encode({ disputeId }).finish() };
    },
  };
  const bisectReveal: MsgHandler<MsgBisectReveal> = {
    typeUrl: TYPE_URLS.bisectReveal,
    module: MODULE_NAME,
    fields: protoFields,
    decode: (bytes) => MsgBisectReveal.decode(bytes),
    signers: (msg) => [statelessChecks.bisectReveal(msg)],
    execute(ctx, msg) {
      const step = keeper.bisectReveal(ctx, msg);
      return { typeUrl: `${TYPE_URLS.bisectReveal}Response`, value: MsgBisectRevealResponse.encode({ step }).finish() };
    },
  };
  const bisectRespond: MsgHandler<MsgBisectRespond> = {
    typeUrl: TYPE_URLS.bisectRespond,
    module: MODULE_NAME,
    fields: protoFields,
    decode: (bytes) => MsgBisectRespond.decode(bytes),
    signers: (msg) => [statelessChecks.bisectRespond(msg)],
    execute(ctx, msg) {
      const status = keeper.bisectRespond(ctx, msg);
      return { typeUrl: `${TYPE_URLS.bisectRespond}Response`, value: MsgBisectRespondResponse.encode({ status }).finish() };
    },
  };
  return [submitVerification, challenge, arbiterVote, reportUnavailable, bisectReveal, bisectRespond] as MsgHandler[];
}
