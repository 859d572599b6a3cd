import { MsgSend, MsgSendResponse } from 'cosmjs-types/cosmos/bank/v1beta1/tx';
import type { MsgHandler } from '../../app/core/module.ts';
import { sdkErrors } from '../../app/core/errors.ts';
import { decodeAddressShared } from '../../app/core/address.ts';
import { parseCoins } from '../../app/core/coins.ts';
import type { BankKeeper } from './keeper.ts';

export function msgSendHandler(bank: BankKeeper): MsgHandler<MsgSend> {
  return {
    typeUrl: '/cosmos.bank.v1beta1.MsgSend',
    module: 'bank',
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
