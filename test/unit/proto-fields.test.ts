/**
 * The unknown-field walker (app/core/proto-fields.ts, ADR-020) on its own, and the field tables
 * the tx decoder uses: complete for every message handler, and declaring everything the CosmJS
 * encoders write. The tx pipeline's view (every level of a tx, code 2) is in ante.test.ts.
 */
import t from 'tap';
import { AuthInfo, TxBody } from 'cosmjs-types/cosmos/tx/v1beta1/tx';
import { MsgSend } from 'cosmjs-types/cosmos/bank/v1beta1/tx';
import { PubKey } from 'cosmjs-types/cosmos/crypto/secp256k1/keys';
import { SignMode } from 'cosmjs-types/cosmos/tx/signing/v1beta1/signing';
import { type ProtoFields, unknownFieldProblem } from '../../app/core/proto-fields.ts';
import { TX_FIELDS } from '../../app/tx/decode.ts';
import { buildModules } from '../../app/modules.ts';
import { MSG_SEND_FIELDS } from '../../modules/bank/msgs.ts';

const TABLE: ProtoFields = {
  Outer: { 1: 'len', 2: 'varint', 3: 'Inner', 4: 'repeated-varint', 5: 'fixed64', 6: 'fixed32' },
  Inner: { 1: 'len' },
};
const problem = (bytes: number[], options = {}) => unknownFieldProblem(new Uint8Array(bytes), 'Outer', TABLE, options);

t.test('the walker', (t) => {
  t.equal(problem([]), undefined, 'empty message');
  t.equal(problem([0x0a, 0x01, 0x41, 0x10, 0x05, 0x1a, 0x03, 0x0a, 0x01, 0x42]), undefined, 'declared fields, nested');
  t.equal(problem([0x20, 0x01, 0x20, 0x02]), undefined, 'repeated varint, unpacked');
  t.equal(problem([0x22, 0x02, 0x01, 0x02]), undefined, 'repeated varint, packed');
  t.equal(problem([0x29, 1, 2, 3, 4, 5, 6, 7, 8, 0x35, 1, 2, 3, 4]), undefined, 'fixed64 and fixed32');
  t.equal(problem([0x38, 0x01]), 'has unknown field 7');
  t.equal(problem([0x1a, 0x02, 0x10, 0x01]), 'has unknown field 2 inside field 3 (Inner)', 'nested unknown field');
  t.equal(problem([0x12, 0x01, 0x41]), 'has field 2 with wire type 2, declared 0', 'wrong wire type for a scalar');
  t.equal(problem([0x18, 0x01]), 'has field 3 with wire type 0, declared 2', 'wrong wire type for a message');
  t.equal(problem([0x00, 0x01]), 'has field number 0');
  t.match(problem([0x0b, 0x0c]), /wire type 3 \(groups are not supported\)/, 'groups');
  t.match(problem([0x0a, 0x05, 0x41]), /does not decode/, 'truncated length');
  t.match(problem([0x10]), /does not decode/, 'truncated varint');
  t.match(problem([0x29, 1, 2]), /does not decode/, 'truncated fixed64');
  const nonCritical = [0xb0, 0x40, 0x01]; // field 1030, varint 1
  t.equal(problem(nonCritical), 'has unknown field 1030', 'non-critical refused by default');
  t.equal(problem(nonCritical, { allowNonCriticalAtTop: true }), undefined, 'allowed at the top when asked');
  t.equal(problem([0x1a, 0x03, ...nonCritical], { allowNonCriticalAtTop: true }), 'has unknown field 1030 inside field 3 (Inner)', 'never below the top');
  t.throws(() => unknownFieldProblem(new Uint8Array(), 'Missing', TABLE), /no field table for Missing/, 'a missing table is a programming error');
  t.end();
});

/** Every message type `type` reaches in `fields`, or the names it reaches that have no table. */
function missingTypes(type: string, fields: ProtoFields): string[] {
  const missing: string[] = [];
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    const table = fields[name];
    if (table === undefined) return void missing.push(name);
    for (const kind of Object.values(table)) if (/^[a-z]\w*\.[\w.]+$/i.test(kind) && kind.includes('.')) visit(kind);
  };
  visit(type);
  return missing;
}

t.test('every message handler has a complete field table for its type', (t) => {
  for (const module of buildModules().modules) {
    for (const handler of module.msgs) {
      t.same(missingTypes(handler.typeUrl.slice(1), handler.fields), [], `${handler.typeUrl}: its type and every nested type have a table`);
    }
  }
  t.same(missingTypes('cosmos.tx.v1beta1.TxBody', TX_FIELDS), [], 'TxBody');
  t.same(missingTypes('cosmos.tx.v1beta1.AuthInfo', TX_FIELDS), [], 'AuthInfo');
  t.end();
});

t.test('the hand-written Cosmos tables declare every field the CosmJS encoders write', (t) => {
  const coin = { denom: 'ur3mes', amount: '1' };
  const any = { typeUrl: '/x.Y', value: new Uint8Array([1]) };
  const body = TxBody.encode(TxBody.fromPartial({
    messages: [any], memo: 'm', timeoutHeight: 1n, unordered: true, timeoutTimestamp: { seconds: 1n, nanos: 1 },
    extensionOptions: [any], nonCriticalExtensionOptions: [any],
  })).finish();
  t.equal(unknownFieldProblem(body, 'cosmos.tx.v1beta1.TxBody', TX_FIELDS), undefined, 'TxBody with every field set');
  const single = { single: { mode: SignMode.SIGN_MODE_DIRECT } };
  const authInfo = AuthInfo.encode(AuthInfo.fromPartial({
    signerInfos: [
      { publicKey: any, modeInfo: single, sequence: 1n },
      { modeInfo: { multi: { bitarray: { extraBitsStored: 1, elems: new Uint8Array([1]) }, modeInfos: [single] } }, sequence: 2n },
    ],
    fee: { amount: [coin], gasLimit: 1n, payer: 'p', granter: 'g' },
    tip: { amount: [coin], tipper: 't' },
  })).finish();
  t.equal(unknownFieldProblem(authInfo, 'cosmos.tx.v1beta1.AuthInfo', TX_FIELDS), undefined, 'AuthInfo with every field set');
  t.equal(unknownFieldProblem(PubKey.encode({ key: new Uint8Array(33).fill(2) }).finish(), 'cosmos.crypto.secp256k1.PubKey', TX_FIELDS), undefined, 'PubKey');
  const send = MsgSend.encode({ fromAddress: 'a', toAddress: 'b', amount: [coin, coin] }).finish();
  t.equal(unknownFieldProblem(send, 'cosmos.bank.v1beta1.MsgSend', MSG_SEND_FIELDS), undefined, 'MsgSend');
  t.end();
});
