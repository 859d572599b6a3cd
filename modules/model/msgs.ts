import type { MsgHandler } from '../../app/core/module.ts';
import { protoFields } from '../../proto/gen/fields.ts';
import { sdkErrors } from '../../app/core/errors.ts';
import {
  MsgSubmitProposal, MsgSubmitProposalResponse, MsgVote, MsgVoteResponse,
} from '../../proto/gen/r3mes/model/v1/tx.ts';
import { decodeAddress } from '../../app/core/address.ts';
import { parseCoins } from '../../app/core/coins.ts';
import { modelErrors } from './errors.ts';
import { type ModelKeeper, MODULE_NAME, voteOptionNames } from './keeper.ts';
import { validateProposalContent, validateProposalText } from './validate.ts';

export const MSG_SUBMIT_PROPOSAL = '/r3mes.model.v1.MsgSubmitProposal';
export const MSG_VOTE = '/r3mes.model.v1.MsgVote';

export function msgSubmitProposalHandler(keeper: ModelKeeper): MsgHandler<MsgSubmitProposal> {
  return {
    typeUrl: MSG_SUBMIT_PROPOSAL,
    module: MODULE_NAME,
    fields: protoFields,
    decode: (bytes) => MsgSubmitProposal.decode(bytes),
    signers(msg) {
      const proposer = decodeAddress(msg.proposer, 'proposer');
      validateProposalText(msg.title, msg.summary);
      validateProposalContent(msg.content);
      if (msg.initialDeposit.length === 0) throw sdkErrors.invalidCoins('initial_deposit is empty');
      parseCoins(msg.initialDeposit, { what: 'initial_deposit' });
      return [proposer];
    },
    execute(ctx, msg) {
      const proposalId = keeper.submitProposal(ctx, msg);
      return { typeUrl: `${MSG_SUBMIT_PROPOSAL}Response`, value: MsgSubmitProposalResponse.encode({ proposalId }).finish() };
    },
  };
}

export function msgVoteHandler(keeper: ModelKeeper): MsgHandler<MsgVote> {
  return {
    typeUrl: MSG_VOTE,
    module: MODULE_NAME,
    fields: protoFields,
    decode: (bytes) => MsgVote.decode(bytes),
    signers(msg) {
      const voter = decodeAddress(msg.voter, 'voter');
      if (voteOptionNames[msg.option] === undefined) throw modelErrors.invalidVoteOption(`option ${msg.option} is not yes, abstain, no or no_with_veto`);
      return [voter];
    },
    execute(ctx, msg) {
      keeper.vote(ctx, msg);
      return { typeUrl: `${MSG_VOTE}Response`, value: MsgVoteResponse.encode({}).finish() };
    },
  };
}
