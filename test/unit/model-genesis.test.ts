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
import { ProposalStatus } from '../../proto/gen/r3mes/model/v1/types.ts';
import { moduleAddress } from '../../app/core/address.ts';

const SUBMIT = '/r3mes.model.v1.MsgSubmitProposal';
const VOTE = '/r3mes.model.v1.MsgVote';

/** Every key and value under the model prefix, hex, in key order. */
function modelState(store: KVStore): Array<[string, string]> {
  return [...store.iterate(utf8('model/'))].map(([key, value]) => [toHex(key), toHex(value)]);
}

t.test('genesis: the default has version 1 active and round-trips', (t) => {
  const f = setup();
  const genesis = defaultModelGenesis();
  t.equal(genesis.versions.length, 1);
  t.match(genesis.versions[0], { number: '1', status: 'VERSION_STATUS_ACTIVE' });
  const store = emptyState();
  f.module.initGenesis(store, genesis);
  t.same(f.module.exportGenesis(store), genesis, 'exportGenesis(initGenesis(g)) = g');
  t.equal(f.keeper.activeVersion(store).number, 1n);
  t.ok(f.keeper.acceptsVersion(store, 1n));
  t.same(JSON.parse(JSON.stringify(genesis)), genesis, 'plain JSON (no bigints)');
  t.end();
});

t.test('genesis: a chain mid-flight (migration, finished and open proposals, votes) exports and re-imports identically', (t) => {
  const f = setup();
  f.deliver(2n, SUBMIT, submitMsg({ newVersion: newVersionContent({ migrationBlocks: 50n }), paramChange: undefined }));
  f.deliver(3n, VOTE, voteMsg(1n, VAL_A, VoteOption.VOTE_OPTION_YES));
  f.deliver(4n, SUBMIT, submitMsg({ newVersion: newVersionContent({ backboneSeed: seedHex(3) }), paramChange: undefined }));
  f.deliver(5n, VOTE, voteMsg(2n, VAL_A, VoteOption.VOTE_OPTION_YES));
  f.endBlock(12n); // proposal 1 passes: version 2 migrating until 62
  f.endBlock(14n); // proposal 2 passes, fails at execution: version 2 is still migrating (model/14)
  f.deliver(15n, SUBMIT, submitMsg({ newVersion: newVersionContent({ backboneSeed: seedHex(4) }), paramChange: undefined }));
  f.deliver(16n, VOTE, voteMsg(3n, VAL_C, VoteOption.VOTE_OPTION_NO_WITH_VETO));
  f.deliver(16n, VOTE, voteMsg(3n, VAL_A, VoteOption.VOTE_OPTION_ABSTAIN));

  const exported = f.module.exportGenesis(f.store);
  const escrow = f.bank.balance(f.store, moduleAddress('model'), DENOM);
  t.equal(escrow, MIN_DEPOSIT, "the open proposal's deposit is escrowed");
  t.equal(exported.versions.length, 2);
  t.equal(exported.proposals.length, 3);
  t.equal(exported.votes.length, 2);
  t.equal(exported.nextProposalId, '4');
  t.match(exported.proposals[1], { status: 'PROPOSAL_STATUS_FAILED', failureReason: /^model\/14/ });

  const fresh = emptyState();
  f.module.initGenesis(fresh, JSON.parse(JSON.stringify(exported)));
  t.same(f.module.exportGenesis(fresh), exported, 'export of the import equals the export');
  t.same(modelState(fresh), modelState(f.store), 'byte-identical module state, pointers and queue included');

  // The imported chain carries on the same way: the open proposal is tallied, the migration completes.
  f.endBlock(25n);
  const g = setup();
  g.module.initGenesis(g.store, JSON.parse(JSON.stringify(exported)));
  // Escrowed deposits live in the bank's genesis (the module account's balance), not the model's.
  g.bank.mint(g.store, new EventLog(), moduleAddress('model'), [{ denom: DENOM, amount: escrow }]);
  g.endBlock(25n);
  t.equal(g.keeper.proposal(g.store, 3n)?.status, f.keeper.proposal(f.store, 3n)?.status);
  t.equal(g.keeper.proposal(g.store, 3n)?.status, ProposalStatus.PROPOSAL_STATUS_REJECTED, "10 of 70 vetoing is below 33.40%; no yes");
  g.endBlock(62n);
  t.equal(g.keeper.activeVersion(g.store).number, 2n);
  t.end();
});

t.test('genesis: params come back exactly as given, including zero basis points', (t) => {
  const f = setup();
  const genesis = defaultModelGenesis();
  genesis.params = { ...genesis.params, quorumBp: 0, vetoThresholdBp: 10_000, minDeposit: '1', depositDenom: 'uother' };
  const store = emptyState();
  f.module.initGenesis(store, genesis);
  t.same(f.module.exportGenesis(store), genesis);
  t.same(f.module.params!.get(store), genesis.params);
  t.end();
});

t.test('genesis: a version in migration needs a consistent window', (t) => {
  const f = setup();
  const genesis = defaultModelGenesis();
  const v1 = genesis.versions[0] as Record<string, unknown>;
  const v2 = { ...v1, number: '2', status: 'VERSION_STATUS_MIGRATION', activationHeight: '10', migrationBlocks: '5', migrationEndHeight: '15', proposalId: '1' };
  const store = emptyState();
  const ok = { ...genesis, versions: [v1, v2] };
  f.module.initGenesis(store, ok);
  t.same(f.module.exportGenesis(store), ok);
  t.equal(f.keeper.migratingVersion(store)?.number, 2n);
  t.throws(() => f.module.initGenesis(emptyState(), { ...genesis, versions: [v1, { ...v2, migrationEndHeight: '16' }] }), { codespace: 'model', code: 15 });
  t.throws(() => f.module.initGenesis(emptyState(), { ...genesis, versions: [{ ...v2, number: '1' }, { ...v1, number: '2' }] }), { codespace: 'model', code: 15 }, 'migration before active');
  t.end();
});
