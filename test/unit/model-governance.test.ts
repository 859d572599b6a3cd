import t, { type Test } from 'tap';
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
import { moduleAddress } from '../../app/core/address.ts';
import { MsgSubmitProposalResponse } from '../../proto/gen/r3mes/model/v1/tx.ts';
import { ProposalStatus, VersionStatus } from '../../proto/gen/r3mes/model/v1/types.ts';
import {
  QueryActiveVersionResponse, QueryParamsResponse, QueryProposalRequest, QueryProposalResponse, QueryProposalsRequest,
  QueryProposalsResponse, QueryTallyRequest, QueryTallyResponse, QueryVersionRequest, QueryVersionResponse,
  QueryVersionsResponse, QueryVotesRequest, QueryVotesResponse,
} from '../../proto/gen/r3mes/model/v1/query.ts';
import { tallyOutcome } from '../../modules/model/keeper.ts';
import { defaultModelParams, paramsToJson } from '../../modules/model/params.ts';
import { GENESIS_VERSION } from '../../modules/model/genesis.ts';
import { modelInterface } from '../../modules/model/interface.ts';

const SUBMIT = '/r3mes.model.v1.MsgSubmitProposal';
const VOTE = '/r3mes.model.v1.MsgVote';
const MODULE_ADDRESS = moduleAddress('model');

t.test('MsgSubmitProposal: escrows the deposit, opens the voting period, emits proposal_submitted', (t) => {
  const f = setup();
  const ctx = f.deliver(2n, SUBMIT, submitMsg({ newVersion: newVersionContent(), paramChange: undefined }, MIN_DEPOSIT + 5n));
  t.equal(MsgSubmitProposalResponse.decode(f.response()!.value).proposalId, 1n);
  t.equal(f.response()!.typeUrl, '/r3mes.model.v1.MsgSubmitProposalResponse');
  const proposal = f.keeper.proposal(f.store, 1n)!;
  t.equal(proposal.status, ProposalStatus.PROPOSAL_STATUS_VOTING_PERIOD);
  t.equal(proposal.submitHeight, 2n);
  t.equal(proposal.votingEndHeight, 12n);
  t.same(proposal.deposit, { denom: DENOM, amount: (MIN_DEPOSIT + 5n).toString() });
  t.equal(f.bank.balance(f.store, PROPOSER, DENOM), FUNDS - MIN_DEPOSIT - 5n);
  t.equal(f.bank.balance(f.store, MODULE_ADDRESS, DENOM), MIN_DEPOSIT + 5n);
  t.same(eventsOf(ctx, 'proposal_submitted'), [{ id: '1', proposer: encodeAddress(PROPOSER), kind: 'new_version', voting_end_height: '12' }]);
  t.ok(ctx.events.events.find((e) => e.type === 'proposal_submitted')!.attributes.find((a) => a.key === 'id')!.index, 'id indexed');
  t.equal(f.keeper.nextProposalId(f.store), 2n);
  f.deliver(3n, SUBMIT, submitMsg({ newVersion: undefined, paramChange: { module: 'staking', paramsJson: '{"unbondingBlocks":50}' } }));
  t.equal(MsgSubmitProposalResponse.decode(f.response()!.value).proposalId, 2n, 'ids count up');
  t.end();
});

t.test('MsgVote: records the vote, a second vote overwrites the first, emits proposal_vote', (t) => {
  const f = setup();
  f.deliver(2n, SUBMIT, submitMsg({ newVersion: newVersionContent(), paramChange: undefined }));
  const ctx = f.deliver(3n, VOTE, voteMsg(1n, VAL_A, VoteOption.VOTE_OPTION_YES));
  t.equal(f.response()!.typeUrl, '/r3mes.model.v1.MsgVoteResponse');
  t.same(eventsOf(ctx, 'proposal_vote'), [{ id: '1', voter: encodeAddress(VAL_A), option: 'yes' }]);
  t.same(f.keeper.votes(f.store, 1n), [{ proposalId: 1n, voter: encodeAddress(VAL_A), option: VoteOption.VOTE_OPTION_YES }]);
  f.deliver(12n, VOTE, voteMsg(1n, VAL_A, VoteOption.VOTE_OPTION_NO));
  t.same(f.keeper.votes(f.store, 1n), [{ proposalId: 1n, voter: encodeAddress(VAL_A), option: VoteOption.VOTE_OPTION_NO }], 'overwritten, still one vote (last block of the period)');
  const tally = f.keeper.tally(f.store, 1n);
  t.same(tally, { yes: 0n, abstain: 0n, no: 60n, noWithVeto: 0n, totalStake: 100n });
  t.end();
});

t.test('tallyOutcome: quorum (>=), veto and threshold (strictly more) in basis points', (t) => {
  const params = defaultModelParams(); // quorum 3340, threshold 5000, veto 3340
  const tally = (yes: bigint, no: bigint, abstain: bigint, veto: bigint, totalStake: bigint) => tallyOutcome({ yes, no, abstain, noWithVeto: veto, totalStake }, params);
  t.equal(tally(334n, 0n, 0n, 0n, 1000n), ProposalStatus.PROPOSAL_STATUS_PASSED, 'exactly 33.40% turnout meets quorum');
  t.equal(tally(333n, 0n, 0n, 0n, 1000n), ProposalStatus.PROPOSAL_STATUS_QUORUM_NOT_MET);
  t.equal(tally(0n, 0n, 0n, 0n, 0n), ProposalStatus.PROPOSAL_STATUS_QUORUM_NOT_MET, 'no stake at all: quorum not met');
  t.equal(tally(50n, 50n, 0n, 0n, 100n), ProposalStatus.PROPOSAL_STATUS_REJECTED, 'exactly 50% yes is not more than the threshold');
  t.equal(tally(51n, 49n, 0n, 0n, 100n), ProposalStatus.PROPOSAL_STATUS_PASSED);
  t.equal(tally(10n, 5n, 80n, 0n, 100n), ProposalStatus.PROPOSAL_STATUS_PASSED, 'abstain counts for quorum, not for the threshold');
  t.equal(tally(0n, 0n, 100n, 0n, 100n), ProposalStatus.PROPOSAL_STATUS_REJECTED, 'all abstain: rejected');
  t.equal(tally(666n, 0n, 0n, 334n, 1000n), ProposalStatus.PROPOSAL_STATUS_PASSED, 'veto of exactly 33.40% does not veto');
  t.equal(tally(665n, 0n, 0n, 335n, 1000n), ProposalStatus.PROPOSAL_STATUS_VETOED, 'veto above 33.40% vetoes even with a yes majority');
  t.end();
});

t.test('lifecycle: a version proposal passes, migrates, then the old version is deprecated', (t) => {
  const f = setup();
  t.equal(f.keeper.activeVersion(f.store).number, 1n);
  f.deliver(2n, SUBMIT, submitMsg({ newVersion: newVersionContent({ migrationBlocks: 5n }), paramChange: undefined }));
  f.deliver(3n, VOTE, voteMsg(1n, VAL_A, VoteOption.VOTE_OPTION_YES));
  f.deliver(4n, VOTE, voteMsg(1n, VAL_B, VoteOption.VOTE_OPTION_NO));
  t.same(eventsOf(f.endBlock(11n), 'proposal_finished'), [], 'still voting at height 11');

  const end = f.endBlock(12n);
  t.same(eventsOf(end, 'proposal_finished'), [{ id: '1', outcome: 'passed', deposit: 'refunded' }]);
  t.same(eventsOf(end, 'model_version'), [{ number: '2', status: 'migration', proposal_id: '1' }]);
  const proposal = f.keeper.proposal(f.store, 1n)!;
  t.equal(proposal.status, ProposalStatus.PROPOSAL_STATUS_PASSED);
  t.equal(proposal.createdVersion, 2n);
  t.same(proposal.finalTally, { yes: '60', abstain: '0', no: '30', noWithVeto: '0', totalStake: '100' });
  t.same(f.keeper.votes(f.store, 1n), [], 'votes are deleted once tallied');
  t.equal(f.bank.balance(f.store, PROPOSER, DENOM), FUNDS, 'deposit refunded in full');
  t.equal(f.bank.balance(f.store, MODULE_ADDRESS, DENOM), 0n);

  const v2 = f.keeper.version(f.store, 2n)!;
  t.equal(v2.status, VersionStatus.VERSION_STATUS_MIGRATION);
  t.equal(v2.activationHeight, 12n);
  t.equal(v2.migrationEndHeight, 17n);
  t.equal(v2.proposalId, 1n);
  t.equal(v2.backboneSeed, seedHex(7));
  t.equal(f.keeper.activeVersion(f.store).number, 1n, 'the old version stays active during migration');
  t.equal(f.keeper.migratingVersion(f.store)?.number, 2n);
  t.ok(f.keeper.acceptsVersion(f.store, 1n), 'training accepts the active version');
  t.ok(f.keeper.acceptsVersion(f.store, 2n), 'and the migrating one');
  t.notOk(f.keeper.acceptsVersion(f.store, 3n), 'not an unknown one');

  t.same(eventsOf(f.endBlock(16n), 'model_version'), [], 'window not over at 16');
  const done = f.endBlock(17n);
  t.same(eventsOf(done, 'model_version'), [{ number: '1', status: 'deprecated' }, { number: '2', status: 'active' }]);
  t.equal(f.keeper.activeVersion(f.store).number, 2n);
  t.equal(f.keeper.migratingVersion(f.store), undefined);
  const v1 = f.keeper.version(f.store, 1n)!;
  t.equal(v1.status, VersionStatus.VERSION_STATUS_DEPRECATED);
  t.equal(v1.deprecatedHeight, 17n);
  t.notOk(f.keeper.acceptsVersion(f.store, 1n), 'deprecated versions are refused');
  t.ok(f.keeper.acceptsVersion(f.store, 2n));
  t.same(f.keeper.versions(f.store).map((v) => [v.number, v.status]), [[1n, VersionStatus.VERSION_STATUS_DEPRECATED], [2n, VersionStatus.VERSION_STATUS_ACTIVE]]);
  t.end();
});

t.test('lifecycle: a parameter change passes and router.set gets the value; one valid at submission that an earlier proposal makes invalid fails at execution and changes nothing', (t) => {
  const f = setup();
  const modelParamsJson = { ...paramsToJson(defaultModelParams()), votingPeriodBlocks: '20', quorumBp: 5000 };
  f.deliver(2n, SUBMIT, submitMsg({ newVersion: undefined, paramChange: { module: 'model', paramsJson: JSON.stringify(modelParamsJson) } }));
  // Valid now (15 ≥ the voting period 10), but not once proposal 1 raises the voting period to 20.
  f.deliver(2n, SUBMIT, submitMsg({ newVersion: undefined, paramChange: { module: 'staking', paramsJson: '{"unbondingBlocks":15}' } }));
  t.same(f.setCalls, [{ module: 'model', value: modelParamsJson }, { module: 'staking', value: { unbondingBlocks: 15 } }], 'each change dry-run at submission');
  t.equal(f.store.get(utf8('fake-staking/params')), undefined, 'the dry run wrote nothing');
  t.equal(f.keeper.getParams(f.store).votingPeriodBlocks, 10n, 'nor changed the model params');
  f.deliver(3n, VOTE, voteMsg(1n, VAL_A, VoteOption.VOTE_OPTION_YES));
  f.deliver(3n, VOTE, voteMsg(2n, VAL_A, VoteOption.VOTE_OPTION_YES));
  const stakingBefore = f.router.get(f.store, 'staking');
  const end = f.endBlock(12n);

  t.same(f.setCalls.slice(2), [{ module: 'model', value: modelParamsJson }, { module: 'staking', value: { unbondingBlocks: 15 } }], 'router.set called at execution with the parsed JSON, in id order');
  t.same(f.module.params!.get(f.store), modelParamsJson, 'model params replaced');
  t.equal(f.keeper.getParams(f.store).votingPeriodBlocks, 20n);
  t.same(eventsOf(end, 'params_changed'), [{ module: 'model', proposal_id: '1' }]);

  const failed = f.keeper.proposal(f.store, 2n)!;
  t.equal(failed.status, ProposalStatus.PROPOSAL_STATUS_FAILED);
  t.match(failed.failureReason, /^staking\/2: unbondingBlocks 15 is below the model's votingPeriodBlocks 20/);
  t.same(f.router.get(f.store, 'staking'), stakingBefore, 'the write made before the throw was dropped');
  t.equal(f.store.get(utf8('fake-staking/params')), undefined);
  t.same(eventsOf(end, 'proposal_finished'), [
    { id: '1', outcome: 'passed', deposit: 'refunded' },
    { id: '2', outcome: 'failed', deposit: 'refunded', reason: failed.failureReason },
  ]);
  t.equal(f.bank.balance(f.store, PROPOSER, DENOM), FUNDS, 'both deposits refunded');

  // The new voting period applies to the next proposal, and to the validation of the next change.
  rejects(t, () => f.deliver(13n, SUBMIT, submitMsg({ newVersion: undefined, paramChange: { module: 'staking', paramsJson: '{"unbondingBlocks":15}' } })),
    /^staking params refused: staking\/2: unbondingBlocks 15 is below the model's votingPeriodBlocks 20: invalid parameter change$/);
  f.deliver(13n, SUBMIT, submitMsg({ newVersion: undefined, paramChange: { module: 'staking', paramsJson: '{"unbondingBlocks":70}' } }));
  t.equal(f.keeper.proposal(f.store, 3n)!.votingEndHeight, 33n);
  t.end();
});

/** Runs `fn`, expecting a model/16 refusal whose message matches `message`. */
function rejects(t: Test, fn: () => unknown, message: RegExp): void {
  try {
    fn();
    t.fail(`expected model/16 ${message}`);
  } catch (error) {
    t.ok(error instanceof ChainError, 'a ChainError');
    t.match({ codespace: (error as ChainError).codespace, code: (error as ChainError).code }, { codespace: 'model', code: 16 }, 'model/16 invalid parameter change');
    t.match((error as ChainError).message, message);
  }
}

t.test('a parameter change with an invalid value is refused at submission (model/16): no deposit taken, no proposal, params untouched', (t) => {
  const f = setup();
  const before = f.module.params!.get(f.store);
  const bad = { ...paramsToJson(defaultModelParams()), quorumBp: 10_001 };
  rejects(t, () => f.deliver(2n, SUBMIT, submitMsg({ newVersion: undefined, paramChange: { module: 'model', paramsJson: JSON.stringify(bad) } })),
    /^model params refused: model\/2: quorumBp must be an integer in \[0, 10000\], got 10001: invalid model params: invalid parameter change$/);
  rejects(t, () => f.deliver(2n, SUBMIT, submitMsg({ newVersion: undefined, paramChange: { module: 'model', paramsJson: '{"quorumBp":5000}' } })),
    /^model params refused: model\/2: missing field "minDeposit"/);
  // Another module's own validator, through the router: the same `set` execution would run.
  rejects(t, () => f.deliver(2n, SUBMIT, submitMsg({ newVersion: undefined, paramChange: { module: 'staking', paramsJson: '{"unbondingBlocks":0}' } })),
    /^staking params refused: staking\/2: unbondingBlocks must be a positive integer: invalid parameter change$/);
  t.equal(f.keeper.nextProposalId(f.store), 1n, 'no proposal id used');
  t.same(f.keeper.proposals(f.store), []);
  t.equal(f.bank.balance(f.store, PROPOSER, DENOM), FUNDS, 'no deposit taken');
  t.equal(f.bank.balance(f.store, MODULE_ADDRESS, DENOM), 0n);
  t.same(f.module.params!.get(f.store), before, 'model params as they were');
  t.equal(f.store.get(utf8('fake-staking/params')), undefined, 'nothing written by the dry run');
  t.end();
});

t.test('lifecycle: rejected → deposit refunded exactly', (t) => {
  const f = setup();
  const deposit = MIN_DEPOSIT + 1234n;
  f.deliver(2n, SUBMIT, submitMsg({ newVersion: newVersionContent(), paramChange: undefined }, deposit));
  t.equal(f.bank.balance(f.store, PROPOSER, DENOM), FUNDS - deposit);
  f.deliver(3n, VOTE, voteMsg(1n, VAL_A, VoteOption.VOTE_OPTION_NO));
  f.deliver(3n, VOTE, voteMsg(1n, VAL_B, VoteOption.VOTE_OPTION_YES));
  const end = f.endBlock(12n);
  t.equal(f.keeper.proposal(f.store, 1n)!.status, ProposalStatus.PROPOSAL_STATUS_REJECTED);
  t.same(eventsOf(end, 'proposal_finished'), [{ id: '1', outcome: 'rejected', deposit: 'refunded' }]);
  t.same(eventsOf(end, 'transfer'), [{ recipient: encodeAddress(PROPOSER), sender: encodeAddress(MODULE_ADDRESS), amount: `${deposit}${DENOM}` }]);
  t.equal(f.bank.balance(f.store, PROPOSER, DENOM), FUNDS);
  t.equal(f.bank.balance(f.store, MODULE_ADDRESS, DENOM), 0n);
  t.equal(f.bank.supplyOf(f.store, DENOM), FUNDS, 'supply unchanged');
  t.equal(f.keeper.versions(f.store).length, 1, 'no version created');
  t.end();
});

t.test('lifecycle: vetoed → deposit burned exactly, supply reduced exactly', (t) => {
  const f = setup();
  const deposit = MIN_DEPOSIT + 99n;
  f.deliver(2n, SUBMIT, submitMsg({ newVersion: newVersionContent(), paramChange: undefined }, deposit));
  f.deliver(3n, VOTE, voteMsg(1n, VAL_A, VoteOption.VOTE_OPTION_YES));
  f.deliver(3n, VOTE, voteMsg(1n, VAL_B, VoteOption.VOTE_OPTION_NO_WITH_VETO)); // 30 of 90 voted = 33.33% ≤ 33.40%
  f.deliver(3n, VOTE, voteMsg(1n, VAL_C, VoteOption.VOTE_OPTION_NO_WITH_VETO)); // 40 of 100 = 40% > 33.40%
  const end = f.endBlock(12n);
  t.equal(f.keeper.proposal(f.store, 1n)!.status, ProposalStatus.PROPOSAL_STATUS_VETOED);
  t.same(eventsOf(end, 'proposal_finished'), [{ id: '1', outcome: 'vetoed', deposit: 'burned' }]);
  t.same(eventsOf(end, 'burn'), [{ burner: encodeAddress(MODULE_ADDRESS), amount: `${deposit}${DENOM}` }]);
  t.equal(f.bank.balance(f.store, PROPOSER, DENOM), FUNDS - deposit);
  t.equal(f.bank.balance(f.store, MODULE_ADDRESS, DENOM), 0n);
  t.equal(f.bank.supplyOf(f.store, DENOM), FUNDS - deposit, 'supply reduced by the deposit exactly');
  t.equal(f.keeper.versions(f.store).length, 1);
  t.end();
});

t.test('lifecycle: quorum not met → deposit burned', (t) => {
  const f = setup();
  f.deliver(2n, SUBMIT, submitMsg({ newVersion: newVersionContent(), paramChange: undefined }));
  f.deliver(3n, VOTE, voteMsg(1n, VAL_B, VoteOption.VOTE_OPTION_YES)); // 30 of 100 < 33.40%
  f.deliver(3n, VOTE, voteMsg(1n, PROPOSER, VoteOption.VOTE_OPTION_YES)); // no voting stake: weight 0
  const end = f.endBlock(12n);
  const proposal = f.keeper.proposal(f.store, 1n)!;
  t.equal(proposal.status, ProposalStatus.PROPOSAL_STATUS_QUORUM_NOT_MET);
  t.same(proposal.finalTally, { yes: '30', abstain: '0', no: '0', noWithVeto: '0', totalStake: '100' });
  t.same(eventsOf(end, 'proposal_finished'), [{ id: '1', outcome: 'quorum_not_met', deposit: 'burned' }]);
  t.equal(f.bank.supplyOf(f.store, DENOM), FUNDS - MIN_DEPOSIT);
  t.equal(f.bank.balance(f.store, PROPOSER, DENOM), FUNDS - MIN_DEPOSIT);
  t.end();
});

t.test('the tally reads voting stake at tally time, not when the vote was cast', (t) => {
  const f = setup();
  f.deliver(2n, SUBMIT, submitMsg({ newVersion: newVersionContent(), paramChange: undefined }));
  f.deliver(3n, VOTE, voteMsg(1n, VAL_A, VoteOption.VOTE_OPTION_YES)); // 60 when cast
  f.deliver(3n, VOTE, voteMsg(1n, VAL_B, VoteOption.VOTE_OPTION_NO)); // 30 when cast
  f.stakes.set(toHex(VAL_A), 5n); // A unbonds most of its stake before the end
  f.endBlock(12n);
  const proposal = f.keeper.proposal(f.store, 1n)!;
  t.same(proposal.finalTally, { yes: '5', abstain: '0', no: '30', noWithVeto: '0', totalStake: '45' });
  t.equal(proposal.status, ProposalStatus.PROPOSAL_STATUS_REJECTED);
  t.end();
});

t.test('a version passing while another migrates fails (model/14) and is refunded; after the window a new one passes', (t) => {
  const f = setup();
  f.deliver(2n, SUBMIT, submitMsg({ newVersion: newVersionContent({ migrationBlocks: 100n }), paramChange: undefined }));
  f.deliver(3n, SUBMIT, submitMsg({ newVersion: newVersionContent({ backboneSeed: seedHex(9) }), paramChange: undefined }));
  f.deliver(4n, VOTE, voteMsg(1n, VAL_A, VoteOption.VOTE_OPTION_YES));
  f.deliver(4n, VOTE, voteMsg(2n, VAL_A, VoteOption.VOTE_OPTION_YES));
  f.endBlock(12n);
  t.equal(f.keeper.version(f.store, 2n)?.status, VersionStatus.VERSION_STATUS_MIGRATION);
  const end = f.endBlock(13n);
  const second = f.keeper.proposal(f.store, 2n)!;
  t.equal(second.status, ProposalStatus.PROPOSAL_STATUS_FAILED);
  t.match(second.failureReason, /^model\/14: version 2 migrates until height 112/);
  t.equal(second.createdVersion, 0n);
  t.same(eventsOf(end, 'model_version'), [], 'no version created');
  t.equal(f.keeper.versions(f.store).length, 2);
  t.equal(f.bank.balance(f.store, PROPOSER, DENOM), FUNDS, 'both deposits back');

  // The window ends at 112; a proposal ending in that same block sees it finished first.
  f.deliver(102n, SUBMIT, submitMsg({ newVersion: newVersionContent({ backboneSeed: seedHex(9) }), paramChange: undefined }));
  f.deliver(103n, VOTE, voteMsg(3n, VAL_A, VoteOption.VOTE_OPTION_YES));
  const both = f.endBlock(112n);
  t.same(eventsOf(both, 'model_version'), [
    { number: '1', status: 'deprecated' }, { number: '2', status: 'active' }, { number: '3', status: 'migration', proposal_id: '3' },
  ]);
  t.equal(f.keeper.proposal(f.store, 3n)!.status, ProposalStatus.PROPOSAL_STATUS_PASSED);
  t.end();
});

t.test('queries answer over the module query paths', (t) => {
  const f = setup();
  f.deliver(2n, SUBMIT, submitMsg({ newVersion: newVersionContent(), paramChange: undefined }));
  f.deliver(3n, VOTE, voteMsg(1n, VAL_B, VoteOption.VOTE_OPTION_ABSTAIN));
  const q = (path: string, bytes: Uint8Array = new Uint8Array()) => f.module.queries[`/r3mes.model.v1.Query/${path}`](f.store, bytes);
  t.same(QueryParamsResponse.decode(q('Params')).params, defaultModelParams2('10'));
  t.same(QueryVersionsResponse.decode(q('Versions')).versions.map((v) => v.number), [1n]);
  t.equal(QueryVersionResponse.decode(q('Version', QueryVersionRequest.encode({ number: 1n }).finish())).version?.backboneSeed, GENESIS_VERSION.backboneSeed);
  const active = QueryActiveVersionResponse.decode(q('ActiveVersion'));
  t.equal(active.active?.number, 1n);
  t.equal(active.migrating, undefined);
  t.same(QueryProposalsResponse.decode(q('Proposals', QueryProposalsRequest.encode({ status: 0, pagination: undefined }).finish())).proposals.map((p) => p.id), [1n]);
  t.same(QueryProposalsResponse.decode(q('Proposals', QueryProposalsRequest.encode({ status: ProposalStatus.PROPOSAL_STATUS_PASSED, pagination: undefined }).finish())).proposals, []);
  t.equal(QueryProposalResponse.decode(q('Proposal', QueryProposalRequest.encode({ proposalId: 1n }).finish())).proposal?.title, 'Proposal');
  t.same(QueryVotesResponse.decode(q('Votes', QueryVotesRequest.encode({ proposalId: 1n, pagination: undefined }).finish())).votes.map((v) => v.voter), [encodeAddress(VAL_B)]);
  t.same(QueryTallyResponse.decode(q('Tally', QueryTallyRequest.encode({ proposalId: 1n }).finish())).tally,
    { yes: '0', abstain: '30', no: '0', noWithVeto: '0', totalStake: '100' }, 'live tally during voting');
  f.endBlock(12n);
  t.same(QueryTallyResponse.decode(q('Tally', QueryTallyRequest.encode({ proposalId: 1n }).finish())).tally,
    f.keeper.proposal(f.store, 1n)!.finalTally, 'final tally afterwards');
  t.end();
});

t.test('ModuleInterface: CLI builds valid messages, REST paths name every argument', (t) => {
  t.equal(modelInterface.module, 'model');
  const signer = encodeAddress(PROPOSER);
  const byName = Object.fromEntries(modelInterface.txs.map((tx) => [tx.name, tx]));
  const defaults = (name: string) => Object.fromEntries((byName[name].options ?? []).map((o) => [o.name, o.default ?? '']));
  const version = byName['submit-version-proposal'].build(signer, { title: 'v2', deposit: '10000000ur3mes' }, { ...defaults('submit-version-proposal'), 'backbone-seed': seedHex(3) });
  const encoded = MsgSubmitProposal.encode(MsgSubmitProposal.fromPartial(version as MsgSubmitProposal)).finish();
  const decoded = MsgSubmitProposal.decode(encoded);
  t.equal(decoded.content?.newVersion?.architecture?.dModel, GENESIS_VERSION.architecture!.dModel);
  t.same(decoded.initialDeposit, [{ denom: DENOM, amount: '10000000' }]);
  t.throws(() => byName['submit-version-proposal'].build(signer, { title: 'v2', deposit: '1ur3mes' }, defaults('submit-version-proposal')), { codespace: 'model', code: 5 }, 'no backbone given');
  const change = byName['submit-param-change-proposal'].build(signer, { module: 'model', params_json: '{}', title: 't', deposit: '5ur3mes' }, {}) as MsgSubmitProposal;
  t.equal(change.content?.paramChange?.module, 'model');
  t.same(byName.vote.build(signer, { proposal_id: '4', option: 'veto' }, {}), { proposalId: 4n, voter: signer, option: VoteOption.VOTE_OPTION_NO_WITH_VETO });
  t.throws(() => byName.vote.build(signer, { proposal_id: '4', option: 'maybe' }, {}), { codespace: 'model', code: 12 });
  t.throws(() => byName.vote.build(signer, { proposal_id: 'x', option: 'yes' }, {}), { codespace: 'sdk', code: 18 });
  for (const tx of modelInterface.txs) t.ok(modelInterface.registryTypes.some(([url]) => url === tx.typeUrl), `${tx.name} type registered`);
  for (const route of modelInterface.queries) {
    t.match(route.rest, /^\/r3mes\/model\/v1\//);
    for (const arg of route.args) t.ok(route.rest.includes(`{${arg}}`), `${route.name}: {${arg}} in ${route.rest}`);
  }
  // A query route round-trips against the module's handler.
  const f = setup();
  const route = modelInterface.queries.find((r) => r.name === 'version')!;
  const answer = route.decodeResponse(f.module.queries[route.path](f.store, route.encodeRequest({ number: '1' }))) as { version: { number: string; status: string } };
  t.equal(answer.version.number, '1');
  t.equal(answer.version.status, 'VERSION_STATUS_ACTIVE');
  t.end();
});

function defaultModelParams2(votingPeriodBlocks: string) {
  return { ...defaultModelParams(), votingPeriodBlocks: BigInt(votingPeriodBlocks) };
}

t.test('head rollback: checked at submission (model/20), executed on a layer when passed, a failing execution fails the proposal', (t) => {
  const calls: Array<{ toWindow: bigint; height: bigint; proposalId: bigint }> = [];
  let allowed = new Set([0n, 3n]);
  const head = {
    check(_store: KVStore, toWindow: bigint) {
      if (!allowed.has(toWindow)) throw new ChainError('training', 32, `window ${toWindow} is not applied: invalid head rollback`);
    },
    rollback(store: KVStore, events: EventLog, height: bigint, toWindow: bigint, proposalId: bigint) {
      this.check(store, toWindow);
      store.set(utf8('rolled'), utf8(String(toWindow)));
      events.emit('head_rolled_back', [['to_window', toWindow.toString()]]);
      calls.push({ toWindow, height, proposalId });
    },
  };
  const rollback = (toWindow: bigint) => ({ newVersion: undefined, paramChange: undefined, headRollback: { toWindow } });
  const f = setup({ head });
  t.throws(() => f.deliver(2n, SUBMIT, submitMsg(rollback(2n))), { codespace: 'model', code: 20, message: /rollback to window 2 refused: training\/32/ });
  t.equal(f.keeper.nextProposalId(f.store), 1n, 'a refused submission uses no id');
  t.equal(f.bank.balance(f.store, PROPOSER, DENOM), FUNDS, 'and moves no deposit');
  t.throws(() => f.deliver(2n, SUBMIT, submitMsg({ newVersion: newVersionContent(), paramChange: undefined, headRollback: { toWindow: 1n } })), { codespace: 'model', code: 6 }, 'two kinds');

  const ctx = f.deliver(2n, SUBMIT, submitMsg(rollback(3n)));
  t.same(eventsOf(ctx, 'proposal_submitted').map((e) => e.kind), ['head_rollback']);
  f.deliver(3n, VOTE, voteMsg(1n, VAL_A, VoteOption.VOTE_OPTION_YES));
  const end = f.endBlock(12n);
  t.same(eventsOf(end, 'proposal_finished'), [{ id: '1', outcome: 'passed', deposit: 'refunded' }]);
  t.same(calls, [{ toWindow: 3n, height: 12n, proposalId: 1n }]);
  t.same(eventsOf(end, 'head_rolled_back'), [{ to_window: '3' }]);
  t.equal(fromUtf8(f.store.get(utf8('rolled'))!), '3');

  // Passed, but the head changed during the vote: execution fails, nothing written.
  f.deliver(13n, SUBMIT, submitMsg(rollback(0n)));
  f.deliver(14n, VOTE, voteMsg(2n, VAL_A, VoteOption.VOTE_OPTION_YES));
  allowed = new Set([3n]);
  f.endBlock(23n);
  const failed = f.keeper.proposal(f.store, 2n)!;
  t.equal(failed.status, ProposalStatus.PROPOSAL_STATUS_FAILED);
  t.match(failed.failureReason, /training\/32/);
  t.equal(fromUtf8(f.store.get(utf8('rolled'))!), '3', 'the failed execution wrote nothing');
  t.equal(calls.length, 1);

  const bare = setup();
  t.throws(() => bare.deliver(2n, SUBMIT, submitMsg(rollback(0n))), { codespace: 'model', code: 20, message: /no training module/ });
  const cli = modelInterface.txs.find((c) => c.name === 'submit-rollback-proposal')!;
  t.same((cli.build(encodeAddress(PROPOSER), { to_window: '4', title: 'back', deposit: `${MIN_DEPOSIT}${DENOM}` }, {}) as MsgSubmitProposal).content, rollback(4n));
  t.end();
});
