import { MsgSend, MsgSendResponse } from 'cosmjs-types/cosmos/bank/v1beta1/tx';
import type { MsgHandler } from '../../app/core/module.ts';
import type { ProtoFields } from '../../app/core/proto-fields.ts';
import { sdkErrors } from '../../app/core/errors.ts';
import { decodeAddressShared } from '../../app/core/address.ts';
import { parseCoins } from '../../app/core/coins.ts';
import type { BankKeeper } from './keeper.ts';

/**
 * Field table of cosmos.bank.v1beta1.MsgSend and the Coin it nests (cosmos-sdk's bank/v1beta1/tx.proto,
 * base/v1beta1/coin.proto): a MsgSend carrying another field is refused (sdk/2, ADR-020).
 */
export const MSG_SEND_FIELDS: ProtoFields = {
  'cosmos.bank.v1beta1.MsgSend': { 1: 'len' /* from_address */, 2: 'len' /* to_address */, 3: 'cosmos.base.v1beta1.Coin' /* amount */ },
  'cosmos.base.v1beta1.Coin': { 1: 'len' /* denom */, 2: 'len' /* amount */ },
};

export function msgSendHandler(bank: BankKeeper): MsgHandler<MsgSend> {
  return {
    typeUrl: '/cosmos.bank.v1beta1.MsgSend',
    module: 'bank',
    fields: MSG_SEND_FIELDS,
    decode: (bytes) => MsgSend.decode(bytes),
    signers(msg) {
      // Shared arrays (not copies): nothing downstream changes an address's bytes.
      const from = decodeAddressShared(msg.fromAddress, 'from_address');
      decodeAddressShared(msg.toAddress, 'to_address');
      if (msg.amount.length === 0) throw sdkErrors.invalidCoins('MsgSend amount is empty');
      parseCoins(msg.amount, { what: 'MsgSend amount' });
      return [from];
    },
    execute(ctx, msg) {
      const from = decodeAddressShared(msg.fromAddress, 'from_address');
      const to = decodeAddressShared(msg.toAddress, 'to_address');
      // Module accounts hold exactly what their module accounts for (bank README "Blocked addresses").
      if (bank.isBlocked(to)) throw sdkErrors.unauthorized(`${msg.toAddress} is not allowed to receive funds`);
      bank.send(ctx.store, ctx.events, from, to, parseCoins(msg.amount, { what: 'MsgSend amount' }));
      return { typeUrl: '/cosmos.bank.v1beta1.MsgSendResponse', value: MsgSendResponse.encode({}).finish() };
    },
  };
}
