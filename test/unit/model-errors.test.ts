import t from 'tap';
import { ChainError } from '../../app/core/errors.ts';
import type { Context } from '../../app/core/context.ts';
import { fromUtf8, toHex, utf8 } from '../../app/core/bytes.ts';
import type { CacheStore } from '../../app/core/store/cache.ts';
import type { KVStore } from '../../app/core/store/types.ts';
import { AuthKeeper } from '../../modules/auth/keeper.ts';
import { encodeAddress } from '../../app/core/address.ts';
import { BankKeeper } from '../../modules/bank/keeper.ts';
import { EventLog } from '../../app/core/events.ts';
import type { ParamsRouter, StakeReader } from '../../modules/model/expected-keepers.ts';
import { ModelKeeper } from '../../modules/model/keeper.ts';
import { modelModule } from '../../modules/model/module.ts';
import { defaultModelGenesis } from '../../modules/model/genesis.ts';
import { MsgSubmitProposal, MsgVote } from '../../proto/gen/r3mes/model/v1/tx.ts';
import { type NewVersionContent, VoteOption } from '../../proto/gen/r3mes/model/v1/types.ts';
import {
  DENOM, addr, PROPOSER, VAL_A, VAL_B, VAL_C, FUNDS, MIN_DEPOSIT, FAKE_KEY, setup, seedHex, newVersionContent, submitMsg, voteMsg, eventsOf,
} from '../helpers/model-fixture.ts';
import { emptyState, testContext } from '../helpers/module-context.ts';
import { modelErrors } from '../../modules/model/errors.ts';
import { defaultModelParams, paramsToJson } from '../../modules/model/params.ts';
import { ProposalStatus } from '../../proto/gen/r3mes/model/v1/types.ts';
import { QueryProposalRequest, QueryVersionRequest } from '../../proto/gen/r3mes/model/v1/query.ts';

const SUBMIT = '/r3mes.model.v1.MsgSubmitProposal';
const VOTE = '/r3mes.model.v1.MsgVote';
const versionContent = (overrides: Partial<NewVersionContent> = {}) => ({ newVersion: newVersionContent(overrides), paramChange: undefined });
const model = (code: number) => ({ name: 'ChainError', codespace: 'model', code });
const sdk = (code: number) => ({ name: 'ChainError', codespace: 'sdk', code });

t.test('the model codespace registers codes 2..20, each once', (t) => {
  const codes = Object.values(modelErrors).map((kind) => kind.code);
  t.same(codes, [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
  t.ok(Object.values(modelErrors).every((kind) => kind.codespace === 'model'));
  t.end();
});

t.test('model/2 invalid params: ModuleParams.set rejects a bad value and changes nothing', (t) => {
  const f = setup();
  const before = f.module.params!.get(f.store);
  const good = paramsToJson(defaultModelParams());
  t.throws(() => f.module.params!.set(f.store, { ...good, thresholdBp: 10_001 }), model(2));
  t.throws(() => f.module.params!.set(f.store, { ...good, minDeposit: '0' }), model(2), 'zero deposit');
  t.throws(() => f.module.params!.set(f.store, { ...good, votingPeriodBlocks: 5 }), model(2), 'bigint as number');
  t.throws(() => f.module.params!.set(f.store, { ...good, extra: 1 }), model(2), 'unknown field');
  const { quorumBp: _dropped, ...missing } = good;
  t.throws(() => f.module.params!.set(f.store, missing), model(2), 'missing field');
  t.throws(() => f.module.params!.set(f.store, 'x'), model(2), 'not an object');
  t.same(f.module.params!.get(f.store), before);
  t.end();
});

t.test('model/3 invalid architecture', (t) => {
  const f = setup();
  const architecture = { dModel: 96, nLayers: 2, nHeads: 5, dFf: 512, vocabSize: 256, seqLen: 128, nKvHeads: 0, ffn: '', ropeTheta: 0, ropeLayout: '', normGains: false, embedding: '' };
  t.throws(() => f.deliver(2n, SUBMIT, submitMsg(versionContent({ architecture }))), model(3), 'n_heads does not divide d_model');
  t.throws(() => f.deliver(2n, SUBMIT, submitMsg(versionContent({ architecture: { ...architecture, nHeads: 2, vocabSize: 300_000 } }))), model(3), 'vocab above 2^18');
  t.throws(() => f.deliver(2n, SUBMIT, submitMsg(versionContent({ architecture: { ...architecture, nHeads: 2, seqLen: 100 } }))), model(3), 'seq_len does not divide 2048');
  t.throws(() => f.deliver(2n, SUBMIT, submitMsg(versionContent({ architecture: { ...architecture, nHeads: 2, dModel: 2048 } }))), model(3), 'the byte-level family keeps d_model ≤ 1024');
  // The 2B4T family (SPEC v2 §5.2): 2B4T's own shape with a 2048-token sequence is accepted …
  const b2t4 = { dModel: 2560, nLayers: 30, nHeads: 20, dFf: 6912, vocabSize: 128_256, seqLen: 2048, nKvHeads: 5, ffn: 'gated', ropeTheta: 500_000, ropeLayout: 'half', normGains: true, embedding: 'bf16-tied' };
  f.deliver(2n, SUBMIT, submitMsg(versionContent({ architecture: b2t4, lora: { rank: 16, alpha: 32, targets: ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] } })));
  t.equal(f.keeper.proposal(f.store, 1n)?.content?.newVersion?.architecture?.nKvHeads, 5, 'a 2B4T-shape architecture is accepted');
  // … and its limits hold.
  t.throws(() => f.deliver(2n, SUBMIT, submitMsg(versionContent({ architecture: { ...b2t4, nKvHeads: 2 } }))), model(3), 'a GQA group above 8');
  t.throws(() => f.deliver(2n, SUBMIT, submitMsg(versionContent({ architecture: { ...b2t4, nKvHeads: 3 } }))), model(3), 'n_kv_heads not dividing n_heads');
  t.throws(() => f.deliver(2n, SUBMIT, submitMsg(versionContent({ architecture: { ...b2t4, ffn: 'swiglu' } }))), model(3), 'an unknown ffn');
  t.throws(() => f.deliver(2n, SUBMIT, submitMsg(versionContent({ architecture: { ...b2t4, ropeLayout: 'interleaved' } }))), model(3), 'an unknown rope layout');
  t.throws(() => f.deliver(2n, SUBMIT, submitMsg(versionContent({ architecture: { ...b2t4, embedding: 'ternary' } }))), model(3), 'a ternary embedding above 2^16 tokens');
  t.throws(() => f.deliver(2n, SUBMIT, submitMsg(versionContent({ architecture: { ...b2t4, dModel: 10_240, nHeads: 40, nKvHeads: 5 } }))), model(3), 'd_model above 8192');
  t.throws(() => f.deliver(2n, SUBMIT, submitMsg(versionContent({ architecture: { ...b2t4, dFf: 40_000 } }))), model(3), 'd_ff above 32768');
  t.throws(() => f.deliver(2n, SUBMIT, submitMsg(versionContent({ architecture: { ...b2t4, ropeTheta: 1 } }))), model(3), 'rope_theta 1');
  t.end();
});

t.test('model/4 invalid LoRA config', (t) => {
  const f = setup();
  t.throws(() => f.deliver(2n, SUBMIT, submitMsg(versionContent({ lora: { rank: 2, alpha: 4, targets: ['q'] } }))), model(4), 'rank below 4');
  t.throws(() => f.deliver(2n, SUBMIT, submitMsg(versionContent({ lora: { rank: 65, alpha: 4, targets: ['q'] } }))), model(4), 'rank above 64');
  t.throws(() => f.deliver(2n, SUBMIT, submitMsg(versionContent({ lora: { rank: 8, alpha: 4, targets: ['v', 'q'] } }))), model(4), 'targets out of order');
  t.throws(() => f.deliver(2n, SUBMIT, submitMsg(versionContent({ lora: { rank: 8, alpha: 4, targets: ['mlp'] } }))), model(4), 'unknown target');
  t.throws(() => f.deliver(2n, SUBMIT, submitMsg(versionContent({ lora: { rank: 8, alpha: 4, targets: ['q', 'up'] } }))), model(4), 'an FFN target on the byte-level family');
  const gatedLess = { dModel: 256, nLayers: 2, nHeads: 4, dFf: 512, vocabSize: 1000, seqLen: 128, nKvHeads: 2, ffn: 'plain', ropeTheta: 0, ropeLayout: '', normGains: false, embedding: '' };
  t.throws(() => f.deliver(2n, SUBMIT, submitMsg(versionContent({ architecture: gatedLess, lora: { rank: 8, alpha: 4, targets: ['gate'] } }))), model(4), '"gate" without the gated FFN');
  t.end();
});

t.test('model/5 invalid backbone', (t) => {
  const f = setup();
  const cid = 'bafkreibnoelefnzgwbcacyt4vh52ymxvzbjq7mmqhtcnwarfq4lzegsiqe';
  t.throws(() => f.deliver(2n, SUBMIT, submitMsg(versionContent({ modelCid: cid }))), model(5), 'both seed and CID');
  t.throws(() => f.deliver(2n, SUBMIT, submitMsg(versionContent({ backboneSeed: '' }))), model(5), 'neither');
  t.throws(() => f.deliver(2n, SUBMIT, submitMsg(versionContent({ backboneSeed: 'AB'.repeat(32) }))), model(5), 'uppercase seed');
  t.throws(() => f.deliver(2n, SUBMIT, submitMsg(versionContent({ backboneSeed: '', modelCid: 'QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG' }))), model(5), 'CIDv0');
  const hash = 'ab'.repeat(32);
  t.throws(() => f.deliver(2n, SUBMIT, submitMsg(versionContent({ backboneSeed: '', manifestCid: cid }))), model(5), 'a manifest without its architecture hash');
  t.throws(() => f.deliver(2n, SUBMIT, submitMsg(versionContent({ architectureHash: hash }))), model(5), 'an architecture hash without a manifest');
  t.throws(() => f.deliver(2n, SUBMIT, submitMsg(versionContent({ manifestCid: cid, architectureHash: hash }))), model(5), 'a manifest beside a seed');
  t.throws(() => f.deliver(2n, SUBMIT, submitMsg(versionContent({ backboneSeed: '', manifestCid: cid, architectureHash: 'AB'.repeat(32) }))), model(5), 'an uppercase architecture hash');
  f.deliver(2n, SUBMIT, submitMsg(versionContent({ backboneSeed: '', modelCid: cid })));
  t.equal(f.keeper.proposal(f.store, 1n)?.content?.newVersion?.modelCid, cid, 'a canonical CIDv1 is accepted');
  f.deliver(3n, SUBMIT, submitMsg(versionContent({ backboneSeed: '', manifestCid: cid, architectureHash: hash })));
  t.equal(f.keeper.proposal(f.store, 2n)?.content?.newVersion?.manifestCid, cid, 'a Hugging Face directory\'s manifest CID and architecture hash are accepted');
  t.end();
});

t.test('model/6 invalid proposal content', (t) => {
  const f = setup();
  t.throws(() => f.deliver(2n, SUBMIT, submitMsg(undefined)), model(6), 'no content');
  t.throws(() => f.deliver(2n, SUBMIT, submitMsg({ newVersion: newVersionContent(), paramChange: { module: 'model', paramsJson: '{}' } })), model(6), 'both kinds');
  t.throws(() => f.deliver(2n, SUBMIT, submitMsg(versionContent({ migrationBlocks: 0n }))), model(6), 'zero migration window');
  t.throws(() => f.deliver(2n, SUBMIT, submitMsg({ newVersion: undefined, paramChange: { module: 'model', paramsJson: '{nope' } })), model(6), 'params not JSON');
  t.end();
});

t.test('model/7 invalid proposal title or summary', (t) => {
  const f = setup();
  t.throws(() => f.deliver(2n, SUBMIT, submitMsg(versionContent(), MIN_DEPOSIT, { title: '' })), model(7), 'empty title');
  t.throws(() => f.deliver(2n, SUBMIT, submitMsg(versionContent(), MIN_DEPOSIT, { summary: 'x'.repeat(10_001) })), model(7), 'long summary');
  t.end();
});

t.test('model/8 unknown params module', (t) => {
  const f = setup();
  t.throws(() => f.deliver(2n, SUBMIT, submitMsg({ newVersion: undefined, paramChange: { module: 'nosuch', paramsJson: '{}' } })), model(8));
  t.equal(f.bank.balance(f.store, PROPOSER, DENOM), FUNDS, 'nothing escrowed');
  t.end();
});

t.test('model/16 invalid parameter change: the params after the change refused at submission, nothing escrowed', (t) => {
  const f = setup();
  t.throws(() => f.deliver(2n, SUBMIT, submitMsg({ newVersion: undefined, paramChange: { module: 'model', paramsJson: JSON.stringify({ ...paramsToJson(defaultModelParams()), thresholdBp: 10_001 }) } })), model(16));
  t.throws(() => f.deliver(2n, SUBMIT, submitMsg({ newVersion: undefined, paramChange: { module: 'staking', paramsJson: '{"unbondingBlocks":0}' } })), model(16));
  t.equal(f.bank.balance(f.store, PROPOSER, DENOM), FUNDS, 'nothing escrowed');
  t.equal(f.keeper.nextProposalId(f.store), 1n, 'no proposal');
  t.end();
});

t.test('model/9 insufficient deposit', (t) => {
  const f = setup();
  t.throws(() => f.deliver(2n, SUBMIT, submitMsg(versionContent(), MIN_DEPOSIT - 1n)), model(9), 'below min_deposit');
  t.throws(() => f.deliver(2n, SUBMIT, submitMsg(versionContent(), MIN_DEPOSIT, { initialDeposit: [{ denom: 'uatom', amount: MIN_DEPOSIT.toString() }] })), model(9), 'wrong denom');
  t.end();
});

t.test('model/10 unknown proposal', (t) => {
  const f = setup();
  t.throws(() => f.deliver(2n, VOTE, voteMsg(99n, VAL_A, VoteOption.VOTE_OPTION_YES)), model(10));
  t.throws(() => f.module.queries['/r3mes.model.v1.Query/Proposal'](f.store, QueryProposalRequest.encode({ proposalId: 99n }).finish()), model(10), 'query too');
  t.end();
});

t.test('model/11 proposal not in voting period', (t) => {
  const f = setup();
  f.deliver(2n, SUBMIT, submitMsg(versionContent()));
  t.throws(() => f.deliver(13n, VOTE, voteMsg(1n, VAL_A, VoteOption.VOTE_OPTION_YES)), model(11), 'after voting_end_height, before the tally');
  f.endBlock(12n);
  t.throws(() => f.deliver(13n, VOTE, voteMsg(1n, VAL_A, VoteOption.VOTE_OPTION_YES)), model(11), 'after the tally');
  t.end();
});

t.test('model/12 invalid vote option', (t) => {
  const f = setup();
  f.deliver(2n, SUBMIT, submitMsg(versionContent()));
  t.throws(() => f.deliver(3n, VOTE, voteMsg(1n, VAL_A, VoteOption.VOTE_OPTION_UNSPECIFIED)), model(12));
  t.throws(() => f.deliver(3n, VOTE, voteMsg(1n, VAL_A, 9 as VoteOption)), model(12), 'unknown number');
  t.end();
});

t.test('model/13 unknown model version', (t) => {
  const f = setup();
  t.throws(() => f.module.queries['/r3mes.model.v1.Query/Version'](f.store, QueryVersionRequest.encode({ number: 2n }).finish()), model(13));
  t.equal(f.keeper.version(f.store, 2n), undefined);
  t.notOk(f.keeper.acceptsVersion(f.store, 0n));
  t.throws(() => new ModelKeeper({ bank: f.bank, stake: { votingStake: () => 0n, totalVotingStake: () => 0n }, params: f.router }).activeVersion(emptyState()), model(13), 'no active version before genesis');
  t.end();
});

t.test('model/14 migration in progress: a second version passing during a migration fails', (t) => {
  const f = setup();
  f.deliver(2n, SUBMIT, submitMsg(versionContent({ migrationBlocks: 50n })));
  f.deliver(2n, SUBMIT, submitMsg(versionContent({ backboneSeed: seedHex(8) })));
  f.deliver(3n, VOTE, voteMsg(1n, VAL_A, VoteOption.VOTE_OPTION_YES));
  f.deliver(3n, VOTE, voteMsg(2n, VAL_A, VoteOption.VOTE_OPTION_YES));
  f.endBlock(12n); // proposal 1 executes first (same end height, lower id), proposal 2 then fails
  const proposal = f.keeper.proposal(f.store, 2n)!;
  t.equal(proposal.status, ProposalStatus.PROPOSAL_STATUS_FAILED);
  t.match(proposal.failureReason, /^model\/14: /);
  t.end();
});

t.test('model/15 invalid genesis', (t) => {
  const f = setup();
  const genesis = defaultModelGenesis();
  const v1 = genesis.versions[0] as Record<string, unknown>;
  t.throws(() => f.module.initGenesis(emptyState(), { ...genesis, versions: [{ ...v1, number: '2' }] }), model(15), 'versions not numbered from 1');
  t.throws(() => f.module.initGenesis(emptyState(), { ...genesis, versions: [] }), model(15), 'no version');
  t.throws(() => f.module.initGenesis(emptyState(), { ...genesis, versions: [{ ...v1, status: 'VERSION_STATUS_DEPRECATED' }] }), model(15), 'no active version');
  t.throws(() => f.module.initGenesis(emptyState(), { ...genesis, versions: [v1, { ...v1, number: '2' }] }), model(15), 'two active versions');
  t.throws(() => f.module.initGenesis(emptyState(), { ...genesis, nextProposalId: 'x' }), model(15), 'bad next id');
  t.throws(() => f.module.initGenesis(emptyState(), { ...genesis, votes: [{ proposalId: '1', voter: encodeAddress(VAL_A), option: 'VOTE_OPTION_YES' }] }), model(15), 'vote without proposal');
  t.throws(() => f.module.initGenesis(emptyState(), { ...genesis, versions: [{ ...v1, activationHeight: 'abc' }] }), model(15), 'malformed number');
  t.end();
});

t.test('sdk errors keep their codes: invalid address (7), invalid coins (10), insufficient funds (5)', (t) => {
  const f = setup();
  t.throws(() => f.deliver(2n, SUBMIT, submitMsg(versionContent(), MIN_DEPOSIT, { proposer: 'cosmos1xyz' })), sdk(7));
  t.throws(() => f.deliver(2n, VOTE, { proposalId: 1n, voter: 'nope', option: VoteOption.VOTE_OPTION_YES }), sdk(7));
  t.throws(() => f.deliver(2n, SUBMIT, submitMsg(versionContent(), MIN_DEPOSIT, { initialDeposit: [] })), sdk(10), 'empty deposit');
  t.throws(() => f.deliver(2n, SUBMIT, submitMsg(versionContent(), MIN_DEPOSIT, { initialDeposit: [{ denom: DENOM, amount: '-5' }] })), sdk(10), 'negative');
  t.throws(() => f.deliver(2n, SUBMIT, submitMsg(versionContent(), FUNDS + 1n)), sdk(5), 'deposit above balance');
  t.end();
});
