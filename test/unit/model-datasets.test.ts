// The dataset registry of the model module: genesis (the Brown corpus), registration by
// governance (proposal → vote → registered), validation with its error codes, the default
// dataset of a version, queries with pagination, the CLI command.
import t from 'tap';
import { ChainError } from '../../app/core/errors.ts';
import { encodeAddress, moduleAddress } from '../../app/core/address.ts';
import { Dataset, ProposalStatus, type RegisterDatasetContent, VoteOption } from '../../proto/gen/r3mes/model/v1/types.ts';
import { MsgSubmitProposalResponse } from '../../proto/gen/r3mes/model/v1/tx.ts';
import {
  QueryDatasetRequest, QueryDatasetResponse, QueryDatasetsRequest, QueryDatasetsResponse, QueryVersionDatasetRequest, QueryVersionDatasetResponse,
} from '../../proto/gen/r3mes/model/v1/query.ts';
import { defaultModelGenesis, GENESIS_DATASET } from '../../modules/model/genesis.ts';
import { modelInterface } from '../../modules/model/interface.ts';
import { emptyState } from '../helpers/module-context.ts';
import {
  DENOM, FUNDS, MIN_DEPOSIT, PROPOSER, VAL_A, eventsOf, newVersionContent, seedHex, setup, submitMsg, voteMsg,
} from '../helpers/model-fixture.ts';

const SUBMIT = '/r3mes.model.v1.MsgSubmitProposal';
const VOTE = '/r3mes.model.v1.MsgVote';
const MANIFEST = 'bafkreida2vgbqgohdtw4feywqw4tcyr7tumep6d2yeh7wcl3dbt4djqj2u';
const TOKENIZER = 'bafkreihtbolpjqls4ornehl27pm2bgwcgk4hco3eg752binmxh6oh7s7r4';
const OTHER_MANIFEST = 'bafkreiakoe34ifttnkwj4gaj7uvnx5rdv6me5yqtg4wtwpznlq2fqbvb7i';

function content(overrides: Partial<RegisterDatasetContent> = {}) {
  const registerDataset: RegisterDatasetContent = {
    manifestCid: MANIFEST, tokenizerCid: '', modelVersion: 1n, vocabSize: 256, chunkCount: 23n, heldOutChunkCount: 1n, ...overrides,
  };
  return { newVersion: undefined, paramChange: undefined, registerDataset };
}

/** Submits at `height`, VAL_A (60 of 100) votes yes, the period (10 blocks) ends: returns the proposal id. */
function pass(f: ReturnType<typeof setup>, height: bigint, c = content()): bigint {
  f.deliver(height, SUBMIT, submitMsg(c));
  const id = MsgSubmitProposalResponse.decode(f.response()!.value).proposalId;
  f.deliver(height + 1n, VOTE, voteMsg(id, VAL_A, VoteOption.VOTE_OPTION_YES));
  return id;
}

t.test('genesis: the Brown corpus is dataset 1, the default of the byte-level genesis version', (t) => {
  const f = setup();
  t.same(f.keeper.datasets(f.store), [GENESIS_DATASET]);
  t.equal(GENESIS_DATASET.manifestCid, 'bafkreic6s42hokkcmasjqv3mwkmtioy6frj3khpvb6tak3sgh2ggryzr6q', 'the CID worker/test/data-dataset.test.ts pins');
  t.same([GENESIS_DATASET.chunkCount, GENESIS_DATASET.heldOutChunkCount], [2688n, 303n], 'the Brown train / held-out chunk counts (worker/src/data/README.md)');
  t.equal(f.keeper.datasetForVersion(f.store, 1n)?.id, 1n);
  t.equal(f.keeper.datasetForVersion(f.store, 9n), undefined, 'no such version');
  t.same(f.module.exportGenesis!(f.store).datasets, [Dataset.toJSON(GENESIS_DATASET)], 'exported as it was given');
  t.end();
});

t.test('genesis dataset 1 is what the worker builds from the Brown corpus', async (t) => {
  const { brownDataset } = await import('../../worker/src/data/brown-dataset.ts');
  const brown = await brownDataset();
  t.equal(GENESIS_DATASET.manifestCid, brown.cid);
  t.equal(GENESIS_DATASET.chunkCount, BigInt(brown.manifest.train.chunks));
  t.equal(GENESIS_DATASET.heldOutChunkCount, BigInt(brown.manifest.heldout.chunks));
  t.equal(GENESIS_DATASET.vocabSize, brown.manifest.vocab_size);
  t.equal(GENESIS_DATASET.tokenizerCid, '', 'byte vocabulary: no tokenizer');
});

t.test('genesis: datasets are checked before anything is written', (t) => {
  const f = setup();
  const base = defaultModelGenesis();
  const brown = Dataset.toJSON(GENESIS_DATASET) as Record<string, unknown>;
  const bad = (datasets: unknown[], code: number, message: RegExp) => {
    const store = emptyState();
    t.throws(() => f.module.initGenesis(store, { ...base, datasets }), { codespace: 'model', code, message });
    t.equal([...store.iterate(new Uint8Array())].length, 0, 'nothing written');
  };
  bad([{ ...brown, id: '2' }], 15, /numbered 1, 2/);
  bad([brown, { ...brown, id: '2' }], 15, /registered twice/);
  bad([{ ...brown, modelVersion: '7' }], 15, /model version 7 does not exist/);
  bad([{ ...brown, vocabSize: 300, tokenizerCid: TOKENIZER, modelVersion: '1' }], 15, /vocab_size differs/);
  bad([{ ...brown, manifestCid: 'Qm123' }], 17, /manifest_cid/);
  bad([{ ...brown, chunkCount: '0' }], 17, /chunk_count/);
  const { datasets: _omitted, ...without } = base;
  t.throws(() => f.module.initGenesis(emptyState(), without as typeof base), { codespace: 'model', code: 15, message: /datasets must be a list/ });
  t.end();
});

t.test('a dataset is registered by a passed proposal and becomes its version\'s default', (t) => {
  const f = setup();
  const id = pass(f, 2n, content({ tokenizerCid: '', vocabSize: 256 }));
  t.same(eventsOf(f.endBlock(11n), 'dataset_registered'), [], 'nothing before the voting period ends');
  t.equal(f.keeper.dataset(f.store, 2n), undefined);
  const ctx = f.endBlock(12n);
  const proposal = f.keeper.proposal(f.store, id)!;
  t.equal(proposal.status, ProposalStatus.PROPOSAL_STATUS_PASSED);
  t.equal(proposal.createdDataset, 2n);
  t.equal(proposal.createdVersion, 0n);
  t.same(f.keeper.dataset(f.store, 2n), {
    id: 2n, manifestCid: MANIFEST, tokenizerCid: '', modelVersion: 1n, vocabSize: 256, chunkCount: 23n, heldOutChunkCount: 1n,
    proposalId: id, registeredHeight: 12n,
  });
  t.same(eventsOf(ctx, 'dataset_registered'), [{ id: '2', manifest_cid: MANIFEST, model_version: '1', proposal_id: id.toString() }]);
  t.same(eventsOf(ctx, 'proposal_finished'), [{ id: id.toString(), outcome: 'passed', deposit: 'refunded' }]);
  t.equal(f.keeper.datasetForVersion(f.store, 1n)?.id, 2n, 'a dataset for exactly this version beats the generic Brown corpus');
  t.equal(f.bank.balance(f.store, PROPOSER, DENOM), FUNDS, 'deposit refunded');
  t.end();
});

t.test('dataset proposals are validated at submission; a refused tx changes nothing', (t) => {
  const f = setup();
  const refuse = (c: ReturnType<typeof content>, code: number, message: RegExp) => {
    const before = [...f.store.iterate(new Uint8Array())].length;
    t.throws(() => f.deliver(2n, SUBMIT, submitMsg(c)), { codespace: 'model', code, message });
    t.equal([...f.store.iterate(new Uint8Array())].length, before);
    t.equal(f.keeper.nextProposalId(f.store), 1n, 'no proposal id used');
    t.equal(f.bank.balance(f.store, PROPOSER, DENOM), FUNDS, 'no deposit moved');
  };
  refuse(content({ manifestCid: '' }), 17, /manifest_cid is required/);
  refuse(content({ manifestCid: 'not-a-cid' }), 17, /manifest_cid "not-a-cid" is not a CID/);
  refuse(content({ manifestCid: MANIFEST.toUpperCase() }), 17, /canonical base32|not a CID/);
  refuse(content({ tokenizerCid: 'xyz' }), 17, /tokenizer_cid/);
  refuse(content({ tokenizerCid: '', vocabSize: 1000, modelVersion: 0n }), 17, /byte-level: vocab_size must be 256/);
  refuse(content({ tokenizerCid: TOKENIZER, vocabSize: (1 << 18) + 1, modelVersion: 0n }), 17, /vocab_size must be in \[2, 262144\]/);
  refuse(content({ chunkCount: 0n }), 17, /chunk_count/);
  refuse(content({ heldOutChunkCount: 1n << 40n }), 17, /held_out_chunk_count/);
  refuse(content({ modelVersion: 5n }), 17, /model_version 5 does not exist/);
  refuse(content({ tokenizerCid: TOKENIZER, vocabSize: 278, modelVersion: 1n }), 17, /vocab_size 278 differs from model version 1's vocab_size 256/);
  refuse(content({ manifestCid: GENESIS_DATASET.manifestCid }), 18, /already dataset 1/);
  const both = { ...content(), newVersion: newVersionContent() } as unknown as ReturnType<typeof content>;
  refuse(both, 6, /exactly one of new_version, param_change, register_dataset and head_rollback/);
  // A generic dataset (model_version 0) of another vocabulary is accepted: no version needs to match.
  f.deliver(2n, SUBMIT, submitMsg(content({ tokenizerCid: TOKENIZER, vocabSize: 278, modelVersion: 0n })));
  t.equal(f.keeper.nextProposalId(f.store), 2n);
  t.end();
});

t.test('execution checks again: the second of two proposals for one manifest fails, deposit refunded', (t) => {
  const f = setup();
  const first = pass(f, 2n);
  const second = pass(f, 3n);
  f.endBlock(12n);
  t.equal(f.keeper.proposal(f.store, first)!.status, ProposalStatus.PROPOSAL_STATUS_PASSED);
  const ctx = f.endBlock(13n);
  const failed = f.keeper.proposal(f.store, second)!;
  t.equal(failed.status, ProposalStatus.PROPOSAL_STATUS_FAILED);
  t.match(failed.failureReason, /^model\/18: .*already dataset 2/);
  t.equal(failed.createdDataset, 0n);
  t.same(eventsOf(ctx, 'dataset_registered'), []);
  t.equal(f.keeper.datasets(f.store).length, 2);
  t.equal(f.bank.balance(f.store, PROPOSER, DENOM), FUNDS, 'both deposits back');
  t.equal(f.bank.balance(f.store, moduleAddress('model'), DENOM), 0n);

  // A version deprecated between submission and execution fails the registration too.
  const g = setup();
  g.deliver(2n, SUBMIT, submitMsg({ newVersion: newVersionContent({ backboneSeed: seedHex(3) }), paramChange: undefined }));
  g.deliver(3n, VOTE, voteMsg(1n, VAL_A, VoteOption.VOTE_OPTION_YES));
  g.endBlock(12n); // version 2 migrates until 17
  pass(g, 13n, content({ modelVersion: 1n }));
  g.endBlock(17n); // version 1 deprecated
  g.endBlock(23n);
  t.match(g.keeper.proposal(g.store, 2n)!.failureReason, /^model\/17: model_version 1 is deprecated/);
  t.equal(g.keeper.datasetForVersion(g.store, 2n)?.id, 1n, 'the new byte-level version trains the Brown corpus');
  t.end();
});

t.test('queries: datasets (paginated), dataset, version-dataset', (t) => {
  const f = setup();
  pass(f, 2n);
  pass(f, 3n, content({ manifestCid: OTHER_MANIFEST, modelVersion: 0n, tokenizerCid: TOKENIZER, vocabSize: 278 }));
  f.endBlock(12n);
  f.endBlock(13n);
  const q = (path: string, bytes: Uint8Array) => f.module.queries[`/r3mes.model.v1.Query/${path}`](f.store, bytes);
  const all = QueryDatasetsResponse.decode(q('Datasets', QueryDatasetsRequest.encode({ pagination: undefined }).finish()));
  t.same(all.datasets.map((d) => d.id), [1n, 2n, 3n]);
  const first = QueryDatasetsResponse.decode(q('Datasets', QueryDatasetsRequest.encode({
    pagination: { key: Buffer.alloc(0), offset: 0n, limit: 2n, countTotal: true, reverse: false },
  }).finish()));
  t.same(first.datasets.map((d) => d.id), [1n, 2n]);
  t.equal(first.pagination?.total, 3n);
  const rest = QueryDatasetsResponse.decode(q('Datasets', QueryDatasetsRequest.encode({
    pagination: { key: first.pagination!.nextKey, offset: 0n, limit: 2n, countTotal: false, reverse: false },
  }).finish()));
  t.same(rest.datasets.map((d) => d.id), [3n]);
  t.equal(rest.pagination?.nextKey.length, 0, 'last page');
  const reversed = QueryDatasetsResponse.decode(q('Datasets', QueryDatasetsRequest.encode({
    pagination: { key: Buffer.alloc(0), offset: 0n, limit: 1n, countTotal: false, reverse: true },
  }).finish()));
  t.same(reversed.datasets.map((d) => d.id), [3n]);
  t.equal(QueryDatasetResponse.decode(q('Dataset', QueryDatasetRequest.encode({ id: 3n }).finish())).dataset?.vocabSize, 278);
  t.throws(() => q('Dataset', QueryDatasetRequest.encode({ id: 4n }).finish()), { codespace: 'model', code: 19 });
  t.equal(QueryVersionDatasetResponse.decode(q('VersionDataset', QueryVersionDatasetRequest.encode({ number: 1n }).finish())).dataset?.id, 2n);
  t.throws(() => q('VersionDataset', QueryVersionDatasetRequest.encode({ number: 8n }).finish()), { codespace: 'model', code: 13 });
  t.end();
});

t.test('CLI: submit-dataset-proposal builds the registration; queries have REST paths', (t) => {
  const tx = modelInterface.txs.find((c) => c.name === 'submit-dataset-proposal')!;
  const msg = tx.build(encodeAddress(PROPOSER), { manifest_cid: MANIFEST, chunk_count: '23', title: 'Wiki', deposit: `${MIN_DEPOSIT}${DENOM}` }, {
    'tokenizer-cid': TOKENIZER, 'model-version': '0', 'vocab-size': '278', 'held-out-chunk-count': '1',
  }) as { content: ReturnType<typeof content> };
  t.same(msg.content.registerDataset, { manifestCid: MANIFEST, tokenizerCid: TOKENIZER, modelVersion: 0n, vocabSize: 278, chunkCount: 23n, heldOutChunkCount: 1n });
  t.throws(() => tx.build(encodeAddress(PROPOSER), { manifest_cid: 'bad', chunk_count: '1', title: 'x', deposit: `1${DENOM}` }, {}), ChainError);
  const rest = Object.fromEntries(modelInterface.queries.map((q) => [q.name, q.rest]));
  t.equal(rest.datasets, '/r3mes/model/v1/datasets');
  t.equal(rest.dataset, '/r3mes/model/v1/datasets/{id}');
  t.equal(rest['version-dataset'], '/r3mes/model/v1/versions/{number}/dataset');
  t.end();
});
