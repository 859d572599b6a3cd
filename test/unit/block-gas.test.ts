/**
 * block.max_gas (app/block-gas.ts): learnt from InitChain's consensus params, kept in state (so a
 * restarted node enforces it), PrepareProposal stops before the tx that would pass it,
 * ProcessProposal rejects a proposal above it; a tx that does not decode counts 0; -1 means
 * unlimited and leaves the state (and app hash) as without the limit.
 */
import t from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ResponseProcessProposal_ProposalStatus as Status } from 'cosmjs-types/tendermint/abci/types';
import { genesisFor, startHarness, type Harness, CHAIN_ID } from '../helpers/app-harness.ts';
import { msgSend, signTx, testKey } from '../helpers/txs.ts';
import { readMaxGas } from '../../app/block-gas.ts';

const [alice, bob] = await Promise.all([1, 2].map((i) => testKey(i)));
const consensus = (maxGas: bigint) => ({
  consensusParams: { block: { maxBytes: 22_020_096n, maxGas }, evidence: undefined, validator: undefined, version: undefined, abci: undefined },
});
const time = (height: bigint) => ({ seconds: 1_700_000_000n + height, nanos: 0 });
const proposer = new Uint8Array(20);

function prepare(h: Harness, txs: Uint8Array[]): Uint8Array[] {
  const height = h.height + 1n;
  return h.app.prepareProposal({
    maxTxBytes: 1_048_576n, txs, localLastCommit: { round: 0, votes: [] }, misbehavior: [], height, time: time(height),
    nextValidatorsHash: new Uint8Array(32), proposerAddress: proposer,
  }).txs;
}

function processProposal(h: Harness, txs: Uint8Array[]): Status {
  const height = h.height + 1n;
  return h.app.processProposal({
    txs, proposedLastCommit: { round: 0, votes: [] }, misbehavior: [], hash: new Uint8Array(32), height, time: time(height),
    nextValidatorsHash: new Uint8Array(32), proposerAddress: proposer,
  }).status;
}

/** Three sends by alice (sequences 0, 1, 2), each with a gas limit of 200,000. */
async function sends(): Promise<Uint8Array[]> {
  return Promise.all([0n, 1n, 2n].map((sequence) => signTx(alice, [msgSend(alice.address, bob.address, '1')], { chainId: CHAIN_ID, accountNumber: 0n, sequence, gasLimit: 200_000n })));
}

t.test('max_gas 500,000: two 200k txs fit, three do not', async (t) => {
  const h = await startHarness(genesisFor([alice]), undefined, consensus(500_000n));
  t.teardown(() => h.close());
  const txs = await sends();
  t.equal(readMaxGas(h.store.working()), 500_000n, 'InitChain stored block.max_gas');
  t.same(prepare(h, txs), txs.slice(0, 2), 'PrepareProposal stops before the tx that would pass max_gas');
  t.equal(processProposal(h, txs), Status.REJECT, 'ProcessProposal: 600,000 > 500,000 is rejected');
  t.equal(processProposal(h, txs.slice(0, 2)), Status.ACCEPT, '400,000 is accepted');
  const junk = new Uint8Array([1, 2, 3]);
  t.equal(processProposal(h, [...txs.slice(0, 2), junk, junk]), Status.ACCEPT, 'txs that do not decode count 0');
  t.same(prepare(h, [junk, ...txs]), [junk, ...txs.slice(0, 2)], 'PrepareProposal counts them 0 too');

  // A restarted node (no InitChain again) still enforces it: the limit is in committed state.
  const block = await h.block(txs.slice(0, 2));
  t.same(block.txResults.map((r) => r.code), [0, 0]);
  await h.reopen();
  t.equal(readMaxGas(h.store.committed()), 500_000n, 'committed');
  t.equal(processProposal(h, [txs[2], txs[2], txs[2]]), Status.REJECT, 'after a restart: rejected');
  t.equal(processProposal(h, [txs[2]]), Status.ACCEPT, 'after a restart: accepted');
});

t.test('max_gas -1 (CometBFT\'s unlimited) stores nothing: same app hash as no consensus params', async (t) => {
  const unlimited = await startHarness(genesisFor([alice]), mkdtempSync(join(tmpdir(), 'r3mes-gas-')), consensus(-1n));
  const none = await startHarness(genesisFor([alice]));
  t.teardown(async () => {
    await unlimited.close();
    await none.close();
  });
  t.equal(readMaxGas(unlimited.store.working()), undefined);
  const txs = await sends();
  t.same(prepare(unlimited, txs), txs, 'no limit: every tx');
  t.equal(processProposal(unlimited, txs), Status.ACCEPT);
  t.same((await unlimited.block(txs)).appHash, (await none.block(txs)).appHash, 'same app hash');
});
