import type { MsgHandler } from '../../app/core/module.ts';
import { protoFields } from '../../proto/gen/fields.ts';
import { MsgSubmitActivation, MsgSubmitActivationResponse } from '../../proto/gen/r3mes/subnet/v1/tx.ts';
import { type ActivationDeps, type SubnetKeeper, validateSubmitActivation } from './keeper.ts';

export const SUBMIT_ACTIVATION_TYPE_URL = '/r3mes.subnet.v1.MsgSubmitActivation';

export function msgSubmitActivationHandler(subnet: SubnetKeeper, deps: ActivationDeps): MsgHandler<MsgSubmitActivation> {
  return {
    typeUrl: SUBMIT_ACTIVATION_TYPE_URL,
    module: 'subnet',
    fields: protoFields,
    decode: (bytes) => MsgSubmitActivation.decode(bytes),
    signers: (msg) => [validateSubmitActivation(msg)],
    execute(ctx, msg) {
      subnet.submitActivation(ctx, msg, deps);
      return { typeUrl: `${SUBMIT_ACTIVATION_TYPE_URL}Response`, value: MsgSubmitActivationResponse.encode({}).finish() };
    },
  };
}
