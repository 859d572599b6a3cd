/**
 * poc in the real app (R3mesApp over LevelDB, no CometBFT): epochs open from the stored beacon,
 * a miner's batch goes through CheckTx/FinalizeBlock signed with the client registry, the
 * CLI's message builder, the ABCI queries answer the epoch (seed hex) and the stored root, and a
 * refused batch carries its poc code and changes nothing.
 */
import t from 'tap';
import { TxMsgData } from 'cosmjs-types/cosmos/base/abci/v1beta1/abci';
import { r3mesRegistry } from '../../app/client/registry.ts';
import { toHex } from '../../app/core/bytes.ts';
import { pocInterface } from '../../modules/poc/interface.ts';
import { QUERY_PATHS } from '../../modules/poc/module.ts';
import { MsgSubmitPocBatchResponse } from '../../proto/gen/r3mes/poc/v1/tx.ts';
import { QueryBatchesRequest, QueryBatchesResponse, QueryEpochRequest, QueryEpochResponse } from '../../proto/gen/r3mes/poc/v1/query.ts';
import { EpochPhase } from '../../proto/gen/r3mes/poc/v1/types.ts';
import { BackendClass } from '../../proto/gen/r3mes/staking/v1/types.ts';
import { CHAIN_ID, genesisFor, startHarness } from '../helpers/app-harness.ts';
import { signTx, testKey } from '../helpers/txs.ts';

const registry = r3mesRegistry();

t.test('submit-batch through the app; epoch and batches queries', async (t) => {
  const alice = await testKey(1);
  const h = await startHarness(genesisFor([alice]));
  t.teardown(() => h.close());
  const sign = (sequence: bigint, messages: Array<{ typeUrl: string; value: unknown }>) =>
    signTx(alice, messages, { chainId: CHAIN_ID, accountNumber: 0n, sequence, gasLimit: 1_000_000n, feeAmount: '50000', registry });
  await h.block([]);
  const query = (path: string, data: Uint8Array) => {
    const answer = h.app.query({ path, data, height: 0n, prove: false });
    t.equal(answer.code, 0, `${path}: ${answer.log}`);
    return answer.value;
  };
  const epoch = QueryEpochResponse.decode(query(QUERY_PATHS.epoch, QueryEpochRequest.encode({ epoch: 0n }).finish())).epoch!;
  t.equal(epoch.id, 1n);
  t.equal(epoch.phase, EpochPhase.EPOCH_PHASE_SUBMISSION);
  t.equal(epoch.startHeight, 1n);
  const beacon = h.app.randomness.beaconValue(h.store.committed(), CHAIN_ID, 1n)!;
  t.equal(epoch.seed, toHex(beacon.slice(0, 32)), 'the seed is the beacon of the opening height');

  const register = await sign(0n, [{ typeUrl: '/r3mes.staking.v1.MsgRegisterMiner', value: { minerAddress: alice.address, stake: '2000000', backend: BackendClass.BACKEND_CLASS_CPU, gpuArch: 'cpu' } }]);
  const builder = pocInterface.txs.find((x) => x.name === 'submit-batch')!;
  const batch = await sign(1n, [{ typeUrl: builder.typeUrl, value: builder.build(alice.address, { epoch: '1', claims: '0:5,1:17,7:12345' }, {}) }]);
  const checked = h.check(register);
  t.equal(checked.code, 0, checked.log);
  t.equal(h.check(batch).code, 0, 'CheckTx accepts the batch after the registration');
  const block = await h.block([register, batch]);
  t.same(block.txResults.map((r) => r.code), [0, 0], block.txResults.map((r) => r.log).join(' | '));
  const data = TxMsgData.decode(block.txResults[1].data);
  const response = MsgSubmitPocBatchResponse.decode(data.msgResponses[0].value);
  t.equal(toHex(response.root), '407ff68ce30e6753e9f3784039689c1b5479efb35e0bcef673007fbc4a6fd88b', 'the README vector');
  const event = block.txResults[1].events.find((e) => e.type === 'poc_batch');
  t.equal(event?.attributes.find((a) => a.key === 'root')?.value, toHex(response.root), 'poc_batch event names the root');
  const batches = QueryBatchesResponse.decode(query(QUERY_PATHS.batches, QueryBatchesRequest.encode(QueryBatchesRequest.fromPartial({ epoch: 1n, miner: alice.address })).finish()));
  t.equal(toHex(batches.batches[0].root), toHex(response.root), 'stored root');

  const again = await sign(2n, [{ typeUrl: builder.typeUrl, value: builder.build(alice.address, { epoch: '1', claims: '7:12345' }, {}) }]);
  const refused = await h.block([again]);
  t.equal(refused.txResults[0].codespace, 'poc');
  t.equal(refused.txResults[0].code, 11, refused.txResults[0].log);
  const after = QueryBatchesResponse.decode(query(QUERY_PATHS.batches, QueryBatchesRequest.encode(QueryBatchesRequest.fromPartial({ epoch: 1n, miner: alice.address })).finish()));
  t.equal(after.batches.length, 1, 'nothing stored');
});
